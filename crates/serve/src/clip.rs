//! clip-retrieval's back-end API (`clip-back`), so that its `ClipClient` and its web front-end
//! can query `webly serve`: `POST /knn-service`, `POST /metadata`, `GET /indices-list`, with
//! clip-back's request and answer shapes (`clip_retrieval/clip_back.py`, clip-retrieval 2.45).
//!
//! - The one index is named after the model (`/indices-list` is `["triplet"]`, say).
//! - `id` is the image's row in the index (stable while the index is not changed); each result
//!   also carries its `key`, `caption` and `url` (`/thumb/<key>`, relative to the server).
//!   No server paths: clip-back's `image_path` column is left out.
//! - Queries: `text`, `image` (base64 of the encoded file) or `embedding_input` (a vector of the
//!   model's dimension, normalised here), in clip-back's order of precedence. `image_url` is
//!   refused: the server fetches nothing.
//! - `num_result_ids` results are searched (HNSW), deduplicated when `deduplicate` (clip-back's
//!   rule: results whose embeddings have a cosine above 0.94 are linked, and of each connected
//!   group only the best-ranked stays), and the first `num_images` carry their metadata, the
//!   rest only `id` and `similarity` (the front-end asks `/metadata` for those).
//! - Accepted and ignored (webly has no such models): `use_mclip`, `use_safety_model`,
//!   `use_violence_detector`, `aesthetic_score`, `aesthetic_weight`. Refused: `modality`
//!   `"text"` (clip-back's caption index; webly indexes images only), unknown fields.
//! - The API's limits hold: `num_images`, `num_result_ids` and the `ids` of `/metadata` at most
//!   `max_k`; the text at most `max_query_bytes`; the decoded image at most
//!   `image_limits.max_bytes` (413), decoded within the pixel limits after a decoding turn; a
//!   `/metadata` body at most 64 KiB; the request timeout. Bodies are read as JSON whatever their content type (clip-back reads them
//!   with `force=True`, and `ClipClient` sends none).
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webly_io::error_chain;
use webly_pipeline::{Found, PipelineError, SearchMode};

use crate::api::{check_query_len, check_upload_len, embed_upload, no_known_word};
use crate::error::ApiError;
use crate::AppState;

type Shared = State<Arc<AppState>>;

/// clip-back's deduplication threshold: results whose embeddings have a cosine above it are
/// the same picture (`KnnService.get_non_uniques`).
pub const DEDUP_COSINE: f32 = 0.94;

/// A `POST /knn-service` body, as clip-back reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnnRequest {
    /// Query words (used when not empty).
    pub text: Option<String>,
    /// The encoded image file, in base64.
    pub image: Option<String>,
    /// Refused: the server fetches nothing.
    pub image_url: Option<String>,
    /// A query vector of the model's dimension.
    pub embedding_input: Option<Vec<f64>>,
    /// `"image"` (or absent); `"text"` is refused.
    pub modality: Option<String>,
    /// Results with metadata (default: `default_k`).
    pub num_images: Option<Value>,
    /// Results searched (default: `num_images`).
    pub num_result_ids: Option<Value>,
    /// The index's name (absent or null: the only one).
    pub indice_name: Option<String>,
    /// Drop near-duplicate results (default false, as clip-back).
    pub deduplicate: Option<bool>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    pub use_mclip: Option<Value>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    pub use_safety_model: Option<Value>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    pub use_violence_detector: Option<Value>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    pub aesthetic_score: Option<Value>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    pub aesthetic_weight: Option<Value>,
}

/// A `POST /metadata` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataRequest {
    /// Row ids, as `/knn-service` gave them.
    pub ids: Vec<Value>,
    /// The index's name (absent or null: the only one).
    pub indice_name: Option<String>,
}

/// What clip-back's metadata columns hold, for one image.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    /// `/thumb/<key>`.
    pub url: String,
    /// The image's caption.
    pub caption: String,
    /// webly's key of the image.
    pub key: String,
}

/// One `/knn-service` result: clip-back's `id` and `similarity`, with the metadata columns
/// beside them for the first `num_images`.
#[derive(Debug, Serialize)]
pub struct KnnHit {
    /// Row of the image in the index.
    pub id: usize,
    /// Cosine similarity to the query.
    pub similarity: f32,
    /// `url`, `caption`, `key` (the first `num_images` results only).
    #[serde(flatten)]
    pub metadata: Option<Metadata>,
}

/// One `/metadata` answer.
#[derive(Debug, Serialize)]
pub struct MetadataAnswer {
    /// The row id asked for.
    pub id: usize,
    /// Its metadata.
    pub metadata: Metadata,
}

/// `GET /indices-list`: the one index, named after the model.
pub async fn indices_list(State(s): Shared) -> Json<Vec<String>> {
    Json(vec![s.searcher.model().to_string()])
}

/// `POST /knn-service`.
pub async fn knn_service(
    State(s): Shared,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<KnnHit>>, ApiError> {
    let r: KnnRequest = json_body(body)?;
    check_index(&s, r.indice_name.as_deref())?;
    match r.modality.as_deref() {
        None | Some("image") => {}
        Some("text") => {
            return Err(ApiError::bad(
                "modality \"text\" searches an index of captions, which webly does not have: \
                 use \"image\" (the images' index)",
            ))
        }
        Some(m) => return Err(ApiError::bad(format!("modality={m:?}: use \"image\""))),
    }
    let max = s.config.max_k;
    let num_images =
        count_of("num_images", r.num_images.as_ref(), max)?.unwrap_or(s.config.default_k.min(max));
    let num_ids = count_of("num_result_ids", r.num_result_ids.as_ref(), max)?.unwrap_or(num_images);
    let found = search(&s, &r, num_ids).await?;
    let found = match r.deduplicate.unwrap_or(false) {
        true => deduplicate(&s, found),
        false => found,
    };
    let hits = found
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let id = s.searcher.row_of(&f.key)?;
            Some(KnnHit {
                id,
                similarity: f.score,
                metadata: (i < num_images).then(|| metadata(&f.key, f.caption)),
            })
        })
        .collect();
    Ok(Json(hits))
}

/// `POST /metadata`: the metadata of rows given by id.
pub async fn metadata_service(
    State(s): Shared,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<MetadataAnswer>>, ApiError> {
    let r: MetadataRequest = json_body(body)?;
    check_index(&s, r.indice_name.as_deref())?;
    let max = s.config.max_k;
    if r.ids.len() > max {
        return Err(ApiError::bad(format!(
            "{} ids asked for, more than the limit of {max}",
            r.ids.len()
        )));
    }
    let size = s.searcher.facts().size;
    r.ids
        .iter()
        .map(|v| {
            let key = v
                .as_u64()
                .and_then(|id| usize::try_from(id).ok())
                .and_then(|id| Some((id, s.searcher.key_at(id)?)));
            let Some((id, key)) = key else {
                return Err(ApiError::bad(format!(
                    "id {v} is not a row of the index (0 to {})",
                    size.saturating_sub(1)
                )));
            };
            let caption = s.searcher.caption_of(key).unwrap_or_default().to_string();
            Ok(MetadataAnswer {
                id,
                metadata: metadata(key, caption),
            })
        })
        .collect::<Result<_, _>>()
        .map(Json)
}

fn metadata(key: &str, caption: String) -> Metadata {
    Metadata {
        url: format!("/thumb/{key}"),
        caption,
        key: key.to_string(),
    }
}

/// The body parsed as JSON, whatever its content type; a body over the route's limit is a 413.
fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        ApiError::new(
            e.status(),
            format!("reading the request body: {}", e.body_text()),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad(format!("bad JSON body: {e}")))
}

/// Refuses an index name other than the model's.
fn check_index(s: &AppState, name: Option<&str>) -> Result<(), ApiError> {
    let model = s.searcher.model();
    match name {
        None => Ok(()),
        Some(n) if n == model => Ok(()),
        Some(n) => Err(ApiError::bad(format!(
            "indice_name={n:?}: this server has one index, {model:?} (GET /indices-list)"
        ))),
    }
}

/// A count field: a whole number from 1 to `max`, or absent (null).
fn count_of(name: &str, v: Option<&Value>, max: usize) -> Result<Option<usize>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=max as u64).contains(&n) => Ok(Some(n as usize)),
            _ => Err(ApiError::bad(format!(
                "{name}={v}: give a whole number from 1 to {max}"
            ))),
        },
    }
}

/// The `n` nearest images to the request's query: its text, else its image, else its
/// embedding (clip-back's precedence).
async fn search(s: &Arc<AppState>, r: &KnnRequest, n: usize) -> Result<Vec<Found>, ApiError> {
    if let Some(text) = r.text.as_deref().filter(|t| !t.is_empty()) {
        let q = text.trim();
        check_query_len(&s.config, q)?;
        return match s.searcher.text(q, n, SearchMode::Hnsw) {
            Ok(found) => Ok(found.hits),
            Err(PipelineError::Text(webly_text::TextError::NoKnownWord { tokens, .. })) => {
                Err(no_known_word(s, q, tokens))
            }
            Err(e) => Err(ApiError::internal(error_chain(&e))),
        };
    }
    let vector = if let Some(b64) = r.image.as_deref() {
        let bytes = decode_image(&s.config, b64)?;
        embed_upload(s, Bytes::from(bytes)).await?
    } else if r.image_url.is_some() {
        return Err(ApiError::bad(
            "image_url is refused: webly serve fetches nothing; send the image file itself, \
             in base64, as \"image\"",
        ));
    } else if let Some(v) = r.embedding_input.as_deref() {
        embedding_of(s, v)?
    } else {
        return Err(ApiError::bad(
            "give one of text, image (base64) or embedding_input",
        ));
    };
    Ok(s.searcher.similar_to_vector(&vector, n, SearchMode::Hnsw))
}

/// The image's bytes from base64 (standard alphabet, padding optional), refused (413) when they
/// would exceed `image_limits.max_bytes`.
fn decode_image(config: &crate::ServeConfig, b64: &str) -> Result<Vec<u8>, ApiError> {
    let b64 = b64.trim();
    // Three bytes to four characters (the last group may pad one or two): refuse before
    // decoding what cannot fit.
    check_upload_len(config, (b64.len() / 4 * 3).saturating_sub(2))?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine
        .decode(b64)
        .map_err(|e| ApiError::bad(format!("image: not base64 ({e})")))?;
    check_upload_len(config, bytes.len())?;
    Ok(bytes)
}

/// A query vector: the model's dimension, finite, not zero.
fn embedding_of(s: &AppState, v: &[f64]) -> Result<Vec<f32>, ApiError> {
    let dim = s.searcher.facts().dimension;
    if v.len() != dim {
        return Err(ApiError::bad(format!(
            "embedding_input has {} values; the model's embeddings have {dim}",
            v.len()
        )));
    }
    let out: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    if out.iter().any(|x| !x.is_finite()) {
        return Err(ApiError::bad(
            "embedding_input holds a value that is not finite",
        ));
    }
    if out.iter().all(|&x| x == 0.0) {
        return Err(ApiError::bad("embedding_input is all zeros"));
    }
    Ok(out)
}

/// clip-back's deduplication: results whose embeddings have a cosine above [`DEDUP_COSINE`]
/// are linked; of each connected group only the first (best-ranked) stays.
fn deduplicate(s: &AppState, found: Vec<Found>) -> Vec<Found> {
    let vectors: Vec<Option<&[f32]>> = found
        .iter()
        .map(|f| s.searcher.indexed_vector(&f.key))
        .collect();
    let keep = first_of_groups(&vectors);
    found
        .into_iter()
        .zip(keep)
        .filter_map(|(f, k)| k.then_some(f))
        .collect()
}

/// For each (unit) vector, whether it is the first of its connected group (cosine above
/// [`DEDUP_COSINE`] links two); a missing vector is a group of its own.
fn first_of_groups(vectors: &[Option<&[f32]>]) -> Vec<bool> {
    let n = vectors.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in 0..i {
            let (Some(a), Some(b)) = (vectors[i], vectors[j]) else {
                continue;
            };
            let cos: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            if cos > DEDUP_COSINE {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                // The smaller index is the root: the group's best-ranked member.
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
    }
    (0..n).map(|i| root(&mut parent, i) == i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_their_best_ranked_member() {
        let a = [1.0f32, 0.0];
        let b = [0.96f32, 0.28]; // cos(a, b) = 0.96
        let c = [0.8f32, 0.6]; // cos(a, c) = 0.8
        let d = [0.0f32, 1.0];
        let v = [Some(&a[..]), Some(&d[..]), Some(&b[..]), None, Some(&a[..])];
        assert_eq!(first_of_groups(&v), [true, true, false, true, false]);
        // A chain links through its middle: c joins a's group through b only when b-c > 0.94.
        let c2 = [0.86f32, 0.51]; // cos(b, c2) = 0.968, cos(a, c2) = 0.86
        let v = [Some(&a[..]), Some(&b[..]), Some(&c2[..]), Some(&c[..])];
        assert_eq!(first_of_groups(&v), [true, false, false, false]);
    }
}
