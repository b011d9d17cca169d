//! Sharded work for a cluster: `webly embed --shard I/N` embeds the images whose key falls in
//! work shard `I` of `N` and writes one output per shard with a manifest; `webly merge` combines
//! the shard outputs after checking that they come from one model and one text space and that no
//! key is missing or repeated. webly ships no scheduler: each shard is one task of GNU
//! parallel, a Slurm job array or a Kubernetes indexed Job (see docs/guide.md, "Sharded work on a cluster").
//!
//! An image's work shard is `webly_data::key_hash(key) % N`: deterministic, independent of the
//! storage shards and of the machine, so every task computes its own part of the same split.
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
pub use webly_data::ShardSpec;
use webly_data::{Item, Split};
use webly_io::{ids_path, read_ids, read_matrix, write_ids, write_matrix};

use crate::config::RunConfig;
use crate::context::Context;
use crate::embed_stage;
use crate::error::{PipelineError, Result};
use crate::fsio::write_atomic;
use crate::index_stage;

/// The `kind` of an image-embedding shard manifest.
pub const EMBED_SHARD_KIND: &str = "webly-embed-shard";
/// The `kind` of a caption-embedding shard manifest (`webly text embed --shard`).
pub const CAPTION_SHARD_KIND: &str = "webly-caption-shard";

/// What one shard task wrote: `<stem>.npy`, `<stem>.ids` and this, `<stem>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardManifest {
    /// [`EMBED_SHARD_KIND`].
    pub kind: String,
    /// The split embedded.
    pub split: Split,
    /// Which shard of how many.
    pub shard: ShardSpec,
    /// The model's name in the run config, and the fingerprints that must agree across shards:
    /// the model (weights and loader) and the text space it embeds into. Caption shards have
    /// no model (empty).
    #[serde(default)]
    pub model: String,
    /// Fingerprint of the model and the data it embedded (empty for caption shards).
    #[serde(default)]
    pub model_fingerprint: String,
    /// Fingerprint of the word space.
    pub text_fingerprint: String,
    /// Values per embedding.
    pub dim: usize,
    /// Rows of the `.npy` (keys of the `.ids`).
    pub rows: usize,
    /// Keys of this shard left without a row: images that could not be read, captions without
    /// a known word.
    pub skipped: Vec<String>,
}

/// The file stem of shard `spec` of `split`: `<split>-shard-<I>-of-<N>`.
pub fn shard_stem(split: Split, spec: ShardSpec) -> String {
    format!("{split}-shard-{:05}-of-{:05}", spec.index, spec.count)
}

/// `webly embed --shard I/N`: embeds the images of `split` in work shard `spec` into
/// `out_dir/<split>-shard-I-of-N.{npy,ids,json}`; returns the manifest's path.
pub fn embed_shard(
    cfg: &RunConfig,
    model: Option<&str>,
    split: Split,
    spec: ShardSpec,
    out_dir: &Path,
) -> Result<PathBuf> {
    let model = cfg.model(model)?;
    // A reader of the run folder: every shard task of a finished run at once, side by side.
    let paths = cfg.layout().model(&model.name)?;
    let (ctx, stamp) = Context::open_model(cfg, webly_io::LockKind::Shared, &paths)?;
    let items: Vec<&Item> = ctx
        .data
        .dataset
        .split(split)
        .into_iter()
        .filter(|i| spec.holds(&i.key))
        .collect();
    let stem = shard_stem(split, spec);
    let npy = out_dir.join(format!("{stem}.npy"));
    // The shard's own activation-cache set: tasks side by side never write one cache file.
    let (rows, skipped) = embed_stage::embed_items(paths.dir(), &items, &stem, &npy)?;
    let dim = read_matrix(&npy)?.2;
    let fp = index_stage::fingerprints(&ctx, &stamp)?;
    let manifest = ShardManifest {
        kind: EMBED_SHARD_KIND.into(),
        split,
        shard: spec,
        model: model.name.clone(),
        model_fingerprint: fp.model,
        text_fingerprint: fp.text,
        dim,
        rows,
        skipped,
    };
    let path = out_dir.join(format!("{stem}.json"));
    let json = serde_json::to_vec_pretty(&manifest).map_err(|source| PipelineError::Json {
        what: path.display().to_string(),
        source,
    })?;
    write_atomic(&path, &json)?;
    Ok(path)
}

/// `webly text embed --shard I/N`: embeds the captions of every split whose key is in work
/// shard `spec` into `out_dir/captions-<split>-shard-I-of-N.{npy,ids,json}` (the `.npy` and
/// `.ids` formats of the text stage's `captions_<split>` files), without embedding the other
/// captions; returns the manifests' paths. `webly merge` combines one split's shards.
///
/// # Errors
/// [`PipelineError::Missing`] when the run trains GloVe and its text stage has not trained it
/// yet (shard tasks never train); the data stage's and the writers' errors.
pub fn embed_captions_shard(
    cfg: &RunConfig,
    spec: ShardSpec,
    out_dir: &Path,
) -> Result<Vec<PathBuf>> {
    let _lock = crate::context::lock_run(&cfg.run_dir, webly_io::LockKind::Shared)?;
    let data = crate::data_stage::open_existing(cfg)?;
    let space = crate::text_stage::open_existing(cfg, &data.dataset)?;
    // The same on every task of one config and dataset, whether or not the text stage ran.
    let text_fingerprint = crate::stamp::fingerprint(&(&cfg.text, &data.stamp))?;
    std::fs::create_dir_all(out_dir).map_err(PipelineError::io("creating", out_dir))?;
    let mut written = Vec::new();
    for split in crate::text_stage::SPLITS {
        let pairs: Vec<(String, String)> = data
            .dataset
            .split(split)
            .iter()
            .filter(|i| spec.holds(&i.key))
            .map(|i| (i.key.clone(), i.caption.clone()))
            .collect();
        let emb = space.embedder.embed_captions(pairs);
        let stem = format!("captions-{}", shard_stem(split, spec));
        let npy = out_dir.join(format!("{stem}.npy"));
        write_matrix(&npy, emb.keys.len(), emb.dim, &emb.matrix)?;
        write_ids(&ids_path(&npy), &emb.keys)?;
        let manifest = ShardManifest {
            kind: CAPTION_SHARD_KIND.into(),
            split,
            shard: spec,
            model: String::new(),
            model_fingerprint: String::new(),
            text_fingerprint: text_fingerprint.clone(),
            dim: emb.dim,
            rows: emb.keys.len(),
            skipped: emb.skipped.clone(),
        };
        let path = out_dir.join(format!("{stem}.json"));
        let json = serde_json::to_vec_pretty(&manifest).map_err(|source| PipelineError::Json {
            what: path.display().to_string(),
            source,
        })?;
        write_atomic(&path, &json)?;
        written.push(path);
    }
    Ok(written)
}

/// What [`merge`] combined.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeReport {
    /// The shards' kind ([`EMBED_SHARD_KIND`] or [`CAPTION_SHARD_KIND`]).
    pub kind: String,
    /// Shards merged.
    pub shards: usize,
    /// Rows of the merged `.npy`.
    pub rows: usize,
    /// Images the shards could not read (no row).
    pub skipped: usize,
    /// The merged `.npy` (its `.ids` beside it).
    pub out: PathBuf,
}

impl fmt::Display for MergeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, left_out) = match self.kind.as_str() {
            CAPTION_SHARD_KIND => ("caption embeddings", "captions without a known word"),
            _ => ("image embeddings", "unreadable images"),
        };
        write!(
            f,
            "merged {} shards: {} {what} ({} {left_out} left out) into {}",
            self.shards,
            self.rows,
            self.skipped,
            self.out.display()
        )
    }
}

/// `webly merge`: reads the shard manifests (`.json` files, or folders holding them), checks that
/// they are one split of one model and one text space, that shards `0..N` are each there once,
/// that no key is repeated and that every key of the split is there when `expected` (the
/// split's keys) is given, and writes `out` (`.npy` + `.ids`) with the rows in key order (the
/// dataset's order).
///
/// # Errors
/// [`PipelineError::Mismatch`] naming the manifest that disagrees, the missing shard or the
/// missing or repeated key.
pub fn merge(
    inputs: &[PathBuf],
    split: Option<Split>,
    expected: Option<&[String]>,
    out: &Path,
) -> Result<MergeReport> {
    let manifests = manifest_files(inputs)?;
    let mut loaded: Vec<(PathBuf, ShardManifest)> = Vec::new();
    for path in manifests {
        let bytes = std::fs::read(&path).map_err(PipelineError::io("reading", &path))?;
        let m: ShardManifest =
            serde_json::from_slice(&bytes).map_err(|source| PipelineError::Json {
                what: format!("{}: not a shard manifest", path.display()),
                source,
            })?;
        if split.is_some_and(|s| s != m.split) {
            continue;
        }
        if m.kind != EMBED_SHARD_KIND && m.kind != CAPTION_SHARD_KIND {
            return Err(PipelineError::Mismatch(format!(
                "{}: kind {:?}, expected {EMBED_SHARD_KIND:?} or {CAPTION_SHARD_KIND:?}",
                path.display(),
                m.kind
            )));
        }
        loaded.push((path, m));
    }
    let Some((first_path, first)) = loaded.first().cloned() else {
        let given: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
        return Err(PipelineError::Usage(format!(
            "merge: no shard manifests (of the split asked for) in {}",
            given.join(", ")
        )));
    };
    let mut seen = BTreeSet::new();
    for (path, m) in &loaded {
        let differs = |what: &str, a: &dyn fmt::Display, b: &dyn fmt::Display| {
            PipelineError::Mismatch(format!(
                "{} has {what} {a} but {} has {b}: shards of one split of one model and \
                 text space only (`--split` picks one split's shards from a folder)",
                path.display(),
                first_path.display()
            ))
        };
        if m.kind != first.kind {
            return Err(differs("kind", &m.kind, &first.kind));
        }
        if m.split != first.split {
            return Err(differs("split", &m.split, &first.split));
        }
        if m.shard.count != first.shard.count {
            return Err(differs("shard count", &m.shard.count, &first.shard.count));
        }
        if m.model_fingerprint != first.model_fingerprint {
            return Err(differs(
                "model",
                &m.model_fingerprint,
                &first.model_fingerprint,
            ));
        }
        if m.text_fingerprint != first.text_fingerprint {
            return Err(differs(
                "text space",
                &m.text_fingerprint,
                &first.text_fingerprint,
            ));
        }
        if m.dim != first.dim {
            return Err(differs("dimension", &m.dim, &first.dim));
        }
        if !seen.insert(m.shard.index) {
            return Err(PipelineError::Mismatch(format!(
                "{}: shard {} is given twice",
                path.display(),
                m.shard
            )));
        }
    }
    if let Some(missing) = (0..first.shard.count).find(|i| !seen.contains(i)) {
        return Err(PipelineError::Mismatch(format!(
            "shard {missing}/{} is missing beside {} (given: {})",
            first.shard.count,
            first_path.display(),
            seen.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut rows: Vec<(String, Vec<f32>)> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut keys_seen: HashSet<String> = HashSet::new();
    for (path, m) in &loaded {
        let npy = path.with_extension("npy");
        let (data, n, dim) = read_matrix(&npy)?;
        let keys = read_ids(&ids_path(&npy))?;
        if n != m.rows || keys.len() != n || dim != m.dim {
            return Err(PipelineError::Mismatch(format!(
                "{}: {n} rows of dimension {dim} and {} keys, the manifest says {} of {}",
                npy.display(),
                keys.len(),
                m.rows,
                m.dim
            )));
        }
        for key in keys.iter().chain(&m.skipped) {
            if !m.shard.holds(key) {
                return Err(PipelineError::Mismatch(format!(
                    "{}: key {key} does not belong to shard {}",
                    path.display(),
                    m.shard
                )));
            }
            if !keys_seen.insert(key.clone()) {
                return Err(PipelineError::Mismatch(format!(
                    "{}: key {key} is repeated",
                    path.display()
                )));
            }
        }
        skipped.extend(m.skipped.iter().cloned());
        for (k, row) in keys.into_iter().zip(data.chunks_exact(dim.max(1))) {
            rows.push((k, row.to_vec()));
        }
    }
    if let Some(expected) = expected {
        if let Some(k) = expected.iter().find(|k| !keys_seen.contains(*k)) {
            return Err(PipelineError::Mismatch(format!(
                "key {k} of the {} split is in no shard ({} of its {} keys are)",
                first.split,
                keys_seen.len(),
                expected.len()
            )));
        }
        if keys_seen.len() != expected.len() {
            return Err(PipelineError::Mismatch(format!(
                "the shards hold {} keys, the {} split has {}",
                keys_seen.len(),
                first.split,
                expected.len()
            )));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let keys: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let data: Vec<f32> = rows.iter().flat_map(|r| r.1.iter().copied()).collect();
    write_matrix(out, keys.len(), first.dim, &data)?;
    write_ids(&ids_path(out), &keys)?;
    Ok(MergeReport {
        kind: first.kind.clone(),
        shards: loaded.len(),
        rows: keys.len(),
        skipped: skipped.len(),
        out: out.to_path_buf(),
    })
}

/// `webly merge --config [--split S]`: as [`merge`], with the split's keys from the run's
/// dataset checked (the split given, else the first manifest's).
pub fn merge_checked(
    cfg: &RunConfig,
    inputs: &[PathBuf],
    split: Option<Split>,
    out: &Path,
) -> Result<MergeReport> {
    let split = match split {
        Some(s) => s,
        None => {
            let manifests = manifest_files(inputs)?;
            let first = manifests
                .first()
                .ok_or_else(|| PipelineError::Usage("merge: no shard manifests given".into()))?;
            let bytes = std::fs::read(first).map_err(PipelineError::io("reading", first))?;
            let m: ShardManifest =
                serde_json::from_slice(&bytes).map_err(|source| PipelineError::Json {
                    what: first.display().to_string(),
                    source,
                })?;
            m.split
        }
    };
    let dataset = webly_data::Dataset::open(&cfg.data.dataset)?;
    let keys: Vec<String> = dataset.split(split).iter().map(|i| i.key.clone()).collect();
    merge(inputs, Some(split), Some(&keys), out)
}

/// The manifests named by `inputs`: `.json` files as given, and every `*-shard-*.json` in the
/// folders given, sorted.
fn manifest_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(p).map_err(PipelineError::io("reading", p))? {
                let path = entry.map_err(PipelineError::io("reading", p))?.path();
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                if name.is_some_and(|n| n.contains("-shard-") && n.ends_with(".json")) {
                    found.push(path);
                }
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_shard(dir: &Path, spec: ShardSpec, keys: &[&str], model: &str) -> PathBuf {
        let stem = shard_stem(Split::Test, spec);
        let npy = dir.join(format!("{stem}.npy"));
        let data: Vec<f32> = keys.iter().flat_map(|k| [k.len() as f32, 1.0]).collect();
        write_matrix(&npy, keys.len(), 2, &data).unwrap();
        let ids: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        write_ids(&ids_path(&npy), &ids).unwrap();
        let m = ShardManifest {
            kind: EMBED_SHARD_KIND.into(),
            split: Split::Test,
            shard: spec,
            model: "triplet".into(),
            model_fingerprint: model.into(),
            text_fingerprint: "t".into(),
            dim: 2,
            rows: keys.len(),
            skipped: Vec::new(),
        };
        let path = dir.join(format!("{stem}.json"));
        std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
        path
    }

    #[test]
    fn merge_refuses_other_models_missing_shards_and_missing_keys() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let part = |i: usize| -> Vec<&str> {
            let s = ShardSpec { index: i, count: 2 };
            keys.iter()
                .filter(|k| s.holds(k))
                .map(String::as_str)
                .collect()
        };
        let a = write_shard(dir.path(), ShardSpec { index: 0, count: 2 }, &part(0), "m");
        let out = dir.path().join("merged.npy");
        let e = merge(std::slice::from_ref(&a), None, None, &out).unwrap_err();
        assert!(e.to_string().contains("shard 1/2 is missing"), "{e}");
        // Errors name where the shards were looked for (webly-fuzz's rule for bad input).
        assert!(e.to_string().contains(&a.display().to_string()), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = merge(&[empty.path().to_path_buf()], None, None, &out).unwrap_err();
        assert!(
            e.to_string().contains(&empty.path().display().to_string()),
            "{e}"
        );
        let other = tempfile::tempdir().unwrap();
        let b = write_shard(
            other.path(),
            ShardSpec { index: 1, count: 2 },
            &part(1),
            "m2",
        );
        let e = merge(&[a.clone(), b], None, None, &out).unwrap_err();
        assert!(e.to_string().contains("has model"), "{e}");
        let b = write_shard(dir.path(), ShardSpec { index: 1, count: 2 }, &part(1), "m");
        let r = merge(&[dir.path().to_path_buf()], None, Some(&keys), &out).unwrap();
        assert_eq!((r.shards, r.rows), (2, 40));
        let merged = read_ids(&ids_path(&out)).unwrap();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(merged, sorted);
        let mut more = keys.clone();
        more.push("k999".into());
        let e = merge(&[a.clone(), b.clone()], None, Some(&more), &out).unwrap_err();
        assert!(e.to_string().contains("key k999"), "{e}");
        let e = merge(&[a.clone(), a.clone(), b], None, None, &out).unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
        // A folder with another split's shards too: refused, unless --split picks one.
        let mut train: ShardManifest = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
        train.split = Split::Train;
        let train_json = dir.path().join("train-shard-00000-of-00002.json");
        std::fs::write(&train_json, serde_json::to_vec(&train).unwrap()).unwrap();
        let folder = [dir.path().to_path_buf()];
        let e = merge(&folder, None, None, &out).unwrap_err();
        assert!(e.to_string().contains("--split"), "{e}");
        let r = merge(&folder, Some(Split::Test), Some(&keys), &out).unwrap();
        assert_eq!((r.shards, r.rows), (2, 40));
    }
}
