//! The run's query sets, embedded in the text space.
use webly_eval::{EvalQuery, QuerySet};
use webly_text::TextEmbedder;

use crate::config::RunConfig;
use crate::error::Result;

/// Loads every query set of the run and embeds each query. Unknown words are named on stderr;
/// a query with no known word is an error naming it.
pub fn load(cfg: &RunConfig, embedder: &TextEmbedder) -> Result<Vec<EvalQuery>> {
    let mut out = Vec::new();
    for path in &cfg.eval.queries {
        let set = QuerySet::load(path)?;
        for text in &set.queries {
            out.push(EvalQuery {
                text: text.clone(),
                set: set.name.clone(),
                vector: embed(embedder, text)?,
            });
        }
    }
    Ok(out)
}

/// One query's vector; warns about the words the text space does not know.
pub fn embed(embedder: &TextEmbedder, text: &str) -> Result<Vec<f32>> {
    let q = embedder.embed_query(text)?;
    if !q.unknown.is_empty() {
        eprintln!(
            "[query] {text:?}: unknown words skipped: {}",
            q.unknown.join(", ")
        );
    }
    Ok(q.vector)
}
