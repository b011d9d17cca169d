//! Stage 4: embed a split's images with a trained model (`.npy` + `.ids`), and read them back.
use std::path::{Path, PathBuf};

use webly_data::{Dataset, Item, Split};
use webly_encoder::Encoder;
use webly_index::Embeddings;
use webly_io::{ids_path, read_ids, read_matrix, write_ids, write_matrix};

use crate::context::Context;
use crate::error::{PipelineError, Result};
use crate::layout::ModelLayout;
use crate::stamp;
use crate::wording::count;

/// Images embedded per forward pass at evaluation time.
pub const EMBED_BATCH: usize = 64;

/// Embeds a split's images with the trained model into `out` (`.npy` + `.ids`).
pub fn embed_split(model_dir: &Path, dataset: &Dataset, split: Split, out: &Path) -> Result<usize> {
    let items = dataset.split(split);
    Ok(embed_items(model_dir, &items, &split.to_string(), out)?.0)
}

/// Embeds `items` (named `split` in messages) into `out` (`.npy` + `.ids`, in the items' order):
/// the rows written and the keys of the images that could not be read.
pub fn embed_items(
    model_dir: &Path,
    items: &[&Item],
    split: &str,
    out: &Path,
) -> Result<(usize, Vec<String>)> {
    let encoder = Encoder::load(model_dir)?;
    let paths: Vec<PathBuf> = items.iter().map(|i| i.image.clone()).collect();
    let emb = encoder.embed_set(split, &paths, EMBED_BATCH, webly_encoder::Bar::Show)?;
    for s in &emb.skipped {
        eprintln!("[embed] skipped {s}");
    }
    if !emb.skipped.is_empty() {
        eprintln!(
            "[embed] {split}: {} skipped",
            count(emb.skipped.len(), "unreadable image")
        );
    }
    let keys: Vec<String> = emb.loaded.iter().map(|&i| items[i].key.clone()).collect();
    if keys.is_empty() {
        return Err(PipelineError::Empty(format!(
            "[embed] {split}: none of its {} images could be read{}: nothing to embed or index",
            items.len(),
            emb.skipped
                .first()
                .map_or(String::new(), |s| format!(" (e.g. {s})"))
        )));
    }
    write_matrix(out, keys.len(), emb.dim, &emb.matrix)?;
    write_ids(&ids_path(out), &keys)?;
    let mut skipped: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
    let loaded: std::collections::HashSet<&String> = keys.iter().collect();
    skipped.retain(|k| !loaded.contains(k));
    Ok((keys.len(), skipped))
}

/// Reads embeddings written by [`embed_split`].
pub fn read_embeddings(path: &Path) -> Result<Embeddings> {
    let (matrix, _rows, dim) = read_matrix(path)?;
    let keys = read_ids(&ids_path(path))?;
    Ok(Embeddings::new(matrix, dim, keys)?)
}

/// Whether the test embeddings of the model with `train_stamp` are there for this dataset and
/// verify; `say_why` prints which file is damaged when they do not (once per stage run).
pub fn is_embedded(
    ctx: &Context,
    paths: &ModelLayout,
    train_stamp: &str,
    say_why: bool,
) -> Result<bool> {
    let dir = paths.embed_dir();
    let inputs = embed_stamp(ctx, train_stamp)?;
    let files = ModelLayout::embed_files(Split::Test);
    let files = files.each_ref().map(String::as_str);
    Ok(match say_why {
        true => stamp::is_fresh(&dir, &inputs, &files),
        false => stamp::check(&dir, &inputs, &files) == stamp::Check::Fresh,
    })
}

/// The test embeddings of a trained model.
///
/// Reused when the model and the dataset's content are unchanged: `webly eval` or `index` after
/// test images were edited embeds them again even though the model is not retrained.
pub fn ensure_embedded(ctx: &Context, paths: &ModelLayout, train_stamp: &str) -> Result<PathBuf> {
    let out = paths.embeddings(Split::Test);
    let dir = paths.embed_dir();
    let inputs = embed_stamp(ctx, train_stamp)?;
    if !is_embedded(ctx, paths, train_stamp, true)? {
        stamp::clear(&dir)?;
        let n = embed_split(paths.dir(), &ctx.data.dataset, Split::Test, &out)?;
        eprintln!("[embed] {n} test images -> {}", out.display());
        let files = ModelLayout::embed_files(Split::Test);
        stamp::write(&dir, &inputs, &files.each_ref().map(String::as_str))?;
    }
    Ok(out)
}

/// What the test embeddings depend on: the model, the dataset and its test images.
pub fn embed_stamp(ctx: &Context, train_stamp: &str) -> Result<String> {
    stamp::fingerprint(&(train_stamp, &ctx.data.stamp, &ctx.data.test_stamp))
}
