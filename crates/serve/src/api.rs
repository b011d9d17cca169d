//! The JSON API handlers and thumbnails. Every client mistake is a 4xx with a reason.
use std::io::Cursor;
use std::sync::Arc;

use crate::keys::{check_key_form, resolve_key, KeyError};
use axum::body::{Body, Bytes};
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Multipart, Query, State};
use axum::http::{header, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use webly_io::error_chain;
use webly_pipeline::{Found, IndexFacts, PipelineError, SearchMode, Tag};

use crate::error::ApiError;
use crate::{AppState, ServeConfig};

type Shared = State<Arc<AppState>>;
type Answer<T> = Result<Json<T>, ApiError>;

/// Query-string parameters of every route (each route reads the ones it needs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Query words.
    q: Option<String>,
    /// A dataset key (`city/id`).
    key: Option<String>,
    /// Results wanted.
    k: Option<String>,
    /// `hnsw` (default) or `exact`.
    mode: Option<String>,
}

/// One result as the API gives it: no server paths, a thumbnail URL instead.
#[derive(Debug, Serialize)]
pub struct Hit {
    pub key: String,
    /// Cosine similarity to the query.
    pub score: f32,
    pub caption: String,
    /// `/thumb/<key>`.
    pub thumb: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevant: Option<bool>,
}

impl From<Found> for Hit {
    fn from(f: Found) -> Self {
        Hit {
            thumb: format!("/thumb/{}", f.key),
            key: f.key,
            score: f.score,
            caption: f.caption,
            relevant: f.relevant,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SearchAnswer {
    pub query: String,
    pub tokens: Vec<String>,
    pub unknown: Vec<String>,
    /// Query words that cannot give good results (unknown, or rare in the text space), each
    /// with a message and suggestions.
    pub warnings: Vec<webly_text::WordWarning>,
    pub mode: SearchMode,
    pub k: usize,
    pub hits: Vec<Hit>,
}

#[derive(Debug, Serialize)]
pub struct SimilarAnswer {
    /// The indexed image searched from, or none for an upload.
    pub key: Option<String>,
    pub mode: SearchMode,
    pub k: usize,
    pub hits: Vec<Hit>,
}

#[derive(Debug, Serialize)]
pub struct TagsAnswer {
    pub key: Option<String>,
    /// Size of the vocabulary the words come from (frequent training caption words).
    pub vocabulary: usize,
    pub words: Vec<Tag>,
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub model: String,
}

pub async fn health(State(s): Shared) -> Json<Health> {
    Json(Health {
        status: "ok",
        model: s.searcher.model().to_string(),
    })
}

pub async fn info(State(s): Shared) -> Json<IndexFacts> {
    Json(s.searcher.facts())
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no route {}", uri.path()))
}

/// `GET /api/search?q=&k=&mode=`.
pub async fn search(
    State(s): Shared,
    params: Result<Query<Params>, QueryRejection>,
) -> Answer<SearchAnswer> {
    let p = params_of(params)?;
    let k = k_of(&s.config, &p)?;
    let mode = mode_of(&p)?;
    let q = query_of(&s.config, &p)?.unwrap_or_default();
    if q.is_empty() {
        return Err(ApiError::bad("give the query words as ?q=..."));
    }
    match s.searcher.text(q, k, mode) {
        Ok(r) => Ok(Json(SearchAnswer {
            query: r.query,
            tokens: r.tokens,
            unknown: r.unknown,
            warnings: r.warnings,
            mode,
            k,
            hits: r.hits.into_iter().map(Hit::from).collect(),
        })),
        Err(PipelineError::Text(webly_text::TextError::NoKnownWord { tokens, .. })) => {
            Err(no_known_word(&s, q, tokens))
        }
        Err(e) => Err(ApiError::internal(error_chain(&e))),
    }
}

/// The 400 of a text query none of whose cleaned words (`tokens`) is in the text space: the
/// unknown words, with the nearest frequent spellings.
pub(crate) fn no_known_word(s: &AppState, q: &str, tokens: Vec<String>) -> ApiError {
    let message = if tokens.is_empty() {
        format!("{q:?} has no word left after cleaning (stop words, punctuation)")
    } else {
        let hints = match s.searcher.suggestion_hints(&tokens) {
            h if h.is_empty() => h,
            h => format!("; {h}"),
        };
        format!(
            "no word of {q:?} is in the text space (unknown: {}){hints}",
            tokens.join(", ")
        )
    };
    ApiError {
        tokens: Some(tokens),
        ..ApiError::bad(message)
    }
}

/// `GET /api/similar?key=&k=&mode=`: images like an indexed (or any dataset) image.
pub async fn similar_key(
    State(s): Shared,
    params: Result<Query<Params>, QueryRejection>,
) -> Answer<SimilarAnswer> {
    let p = params_of(params)?;
    let (k, mode) = (k_of(&s.config, &p)?, mode_of(&p)?);
    let key = key_param(&p)?;
    let vector = key_vector(&s, key).await?;
    Ok(Json(SimilarAnswer {
        key: Some(key.to_string()),
        mode,
        k,
        hits: hits(&s, &vector, k, mode),
    }))
}

/// `POST /api/similar?k=&mode=` with a multipart field `image`.
pub async fn similar_upload(
    State(s): Shared,
    params: Result<Query<Params>, QueryRejection>,
    upload: Result<Multipart, MultipartRejection>,
) -> Answer<SimilarAnswer> {
    let p = params_of(params)?;
    let (k, mode) = (k_of(&s.config, &p)?, mode_of(&p)?);
    let vector = upload_vector(&s, upload).await?;
    Ok(Json(SimilarAnswer {
        key: None,
        mode,
        k,
        hits: hits(&s, &vector, k, mode),
    }))
}

/// `GET /api/tags?key=&k=`: nearest caption words of a dataset image.
pub async fn tags_key(
    State(s): Shared,
    params: Result<Query<Params>, QueryRejection>,
) -> Answer<TagsAnswer> {
    let p = params_of(params)?;
    let k = k_of(&s.config, &p)?;
    let key = key_param(&p)?;
    let vector = key_vector(&s, key).await?;
    Ok(Json(TagsAnswer {
        key: Some(key.to_string()),
        vocabulary: s.searcher.tag_vocabulary(),
        words: s.searcher.tags(&vector, k),
    }))
}

/// `POST /api/tags?k=` with a multipart field `image`.
pub async fn tags_upload(
    State(s): Shared,
    params: Result<Query<Params>, QueryRejection>,
    upload: Result<Multipart, MultipartRejection>,
) -> Answer<TagsAnswer> {
    let p = params_of(params)?;
    let k = k_of(&s.config, &p)?;
    let vector = upload_vector(&s, upload).await?;
    Ok(Json(TagsAnswer {
        key: None,
        vocabulary: s.searcher.tag_vocabulary(),
        words: s.searcher.tags(&vector, k),
    }))
}

/// `GET /thumb/<key>`: a JPEG thumbnail. The raw path may not hold percent-encoding (an encoded
/// separator or dot), and the key must resolve inside the image store.
pub async fn thumb(State(s): Shared, uri: Uri) -> Result<Response, ApiError> {
    let raw = uri.path().strip_prefix("/thumb/").unwrap_or_default();
    if raw.contains('%') {
        return Err(ApiError::bad(
            "percent-encoded characters are refused in keys",
        ));
    }
    let key = raw.to_string();
    let state = Arc::clone(&s);
    let jpeg = tokio::task::spawn_blocking(move || thumbnail(&state, &key))
        .await
        .map_err(|e| ApiError::internal(format!("thumbnail task: {e}")))??;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        jpeg,
    )
        .into_response())
}

/// JPEG quality of thumbnails.
const THUMB_QUALITY: u8 = 85;

fn thumbnail(s: &AppState, key: &str) -> Result<Vec<u8>, ApiError> {
    let path = resolve_key(&s.searcher, key).map_err(key_error)?;
    let bytes = webly_data::read_image_bytes(&path)
        .map_err(|e| ApiError::internal(format!("reading the image of {key}: {e}")))?;
    // webly's decoder: bounded work (pixels, allocation, JPEG scans) and the EXIF orientation.
    let img = webly_data::decode_image(&bytes, &webly_data::DecodeLimits::default())
        .map(image::DynamicImage::ImageRgb8)
        .map_err(|e| ApiError::internal(format!("decoding the image of {key}: {e}")))?;
    let side = s.config.thumb_side;
    let small = img.thumbnail(side, side).into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), THUMB_QUALITY)
        .encode_image(&small)
        .map_err(|e| ApiError::internal(format!("encoding the thumbnail of {key}: {e}")))?;
    Ok(out)
}

fn key_error(e: KeyError) -> ApiError {
    let status = match e {
        KeyError::Malformed(_) => StatusCode::BAD_REQUEST,
        KeyError::Unknown | KeyError::Gone => StatusCode::NOT_FOUND,
        KeyError::OutsideStore => StatusCode::FORBIDDEN,
    };
    ApiError::new(status, e.to_string())
}

fn params_of(p: Result<Query<Params>, QueryRejection>) -> Result<Params, ApiError> {
    p.map(|Query(p)| p)
        .map_err(|e| ApiError::bad(format!("bad query string: {}", e.body_text())))
}

fn k_of(config: &ServeConfig, p: &Params) -> Result<usize, ApiError> {
    let max = config.max_k;
    match p.k.as_deref() {
        None | Some("") => Ok(config.default_k.min(max)),
        Some(t) => match t.trim().parse::<usize>() {
            Ok(k) if (1..=max).contains(&k) => Ok(k),
            _ => Err(ApiError::bad(format!(
                "k={t:?}: give a whole number from 1 to {max}"
            ))),
        },
    }
}

/// `q` trimmed, refused over `config.max_query_bytes`.
fn query_of<'a>(config: &ServeConfig, p: &'a Params) -> Result<Option<&'a str>, ApiError> {
    let q = p.q.as_deref().map(str::trim);
    if let Some(q) = q {
        check_query_len(config, q)?;
    }
    Ok(q)
}

/// Refuses a (trimmed) query text over `config.max_query_bytes`.
pub(crate) fn check_query_len(config: &ServeConfig, q: &str) -> Result<(), ApiError> {
    match q.len() > config.max_query_bytes {
        true => Err(ApiError::bad(format!(
            "the query is {} bytes, more than the limit of {}",
            q.len(),
            config.max_query_bytes
        ))),
        false => Ok(()),
    }
}

fn mode_of(p: &Params) -> Result<SearchMode, ApiError> {
    match p.mode.as_deref() {
        None | Some("") | Some("hnsw") => Ok(SearchMode::Hnsw),
        Some("exact") => Ok(SearchMode::Exact),
        Some(m) => Err(ApiError::bad(format!("mode={m:?}: use hnsw or exact"))),
    }
}

fn key_param(p: &Params) -> Result<&str, ApiError> {
    p.key
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bad("give an image key as ?key=city/id"))
}

/// The embedding of a dataset image: stored for indexed images, else computed from its file
/// (on a blocking thread). The key is validated first.
async fn key_vector(s: &Arc<AppState>, key: &str) -> Result<Vec<f32>, ApiError> {
    let path = {
        let state = Arc::clone(s);
        let key = key.to_string();
        tokio::task::spawn_blocking(move || resolve_key(&state.searcher, &key))
            .await
            .map_err(|e| ApiError::internal(format!("key task: {e}")))?
            .map_err(key_error)?
    };
    if let Some(v) = s.searcher.indexed_vector(key) {
        return Ok(v.to_vec());
    }
    let state = Arc::clone(s);
    tokio::task::spawn_blocking(move || state.searcher.embed_file(&path))
        .await
        .map_err(|e| ApiError::internal(format!("embedding task: {e}")))?
        .map_err(|e| ApiError::internal(error_chain(&e)))
}

/// Reads the multipart field `image` and embeds it (on a blocking thread, within the limits).
async fn upload_vector(
    s: &Arc<AppState>,
    upload: Result<Multipart, MultipartRejection>,
) -> Result<Vec<f32>, ApiError> {
    let bytes = upload_bytes(&s.config, upload).await?;
    embed_upload(s, bytes).await
}

/// Embeds an uploaded image's bytes (already within `image_limits.max_bytes`) on a blocking
/// thread, after waiting for a decoding turn ([`AppState::upload_slots`]); undecodable bytes,
/// or a picture over the limits, are a 400.
pub(crate) async fn embed_upload(s: &Arc<AppState>, bytes: Bytes) -> Result<Vec<f32>, ApiError> {
    let limits = s.config.image_limits.clone();
    // A turn to decode: waiting for it counts against the request timeout, and a request that
    // times out waiting is dropped here, before any work.
    let slot = Arc::clone(&s.upload_slots)
        .acquire_owned()
        .await
        .map_err(|e| ApiError::internal(format!("upload slots: {e}")))?;
    let state = Arc::clone(s);
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        state.searcher.embed_bytes(&bytes, &limits)
    })
    .await
    .map_err(|e| ApiError::internal(format!("embedding task: {e}")))?
    .map_err(|e| match e {
        PipelineError::Unreadable(m) => ApiError::bad(m),
        other => ApiError::internal(error_chain(&other)),
    })
}

/// The bytes of the multipart field `image`, refused over `config.image_limits.max_bytes`.
async fn upload_bytes(
    config: &ServeConfig,
    upload: Result<Multipart, MultipartRejection>,
) -> Result<Bytes, ApiError> {
    let mut form = upload.map_err(|e| {
        ApiError::new(
            e.status(),
            format!("expected a multipart/form-data upload: {}", e.body_text()),
        )
    })?;
    let mut bytes = None;
    loop {
        let field = form.next_field().await.map_err(|e| {
            ApiError::new(e.status(), format!("reading the upload: {}", e.body_text()))
        })?;
        let Some(field) = field else { break };
        if field.name() == Some("image") {
            let data = field.bytes().await.map_err(|e| {
                ApiError::new(e.status(), format!("reading the upload: {}", e.body_text()))
            })?;
            bytes = Some(data);
            break;
        }
    }
    let bytes = bytes.ok_or_else(|| ApiError::bad("no multipart field named \"image\""))?;
    check_upload_len(config, bytes.len())?;
    Ok(bytes)
}

/// Refuses (413) an image of `len` bytes over `config.image_limits.max_bytes`.
pub(crate) fn check_upload_len(config: &ServeConfig, len: usize) -> Result<(), ApiError> {
    let max_bytes = config.image_limits.max_bytes;
    match len > max_bytes {
        true => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the image is {len} bytes, more than the limit of {max_bytes}"),
        )),
        false => Ok(()),
    }
}

/// What a request to the API asks, as the handlers read it before they search.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    /// `q`, trimmed (a text query; `GET /api/search` needs it).
    pub q: Option<String>,
    /// `key`, checked in form but not looked up (`GET /api/similar`, `GET /api/tags`).
    pub key: Option<String>,
    /// `k`: 1 to `max_k`, or `default_k` when not given.
    pub k: usize,
    /// `mode`: `hnsw` (default) or `exact`.
    pub mode: SearchMode,
    /// Length in bytes of the multipart field `image` of a `POST` (an upload), within
    /// `image_limits.max_bytes`.
    pub upload: Option<usize>,
}

/// Parses `request` as the API's handlers do before any search, with the same extractors and
/// checks: its query string (`q`, `key`, `k`, `mode`; unknown names refused; `key` checked in
/// form: no `..`, absolute path, backslash, control character or percent sign), and for a `POST` its multipart/form-data body (the field
/// `image`, at most `config.image_limits.max_bytes`; the body itself is not limited here, as
/// the router's body limit does that). No searcher is needed: this is what untrusted request
/// bytes reach first (`webly-fuzz` calls it).
///
/// # Errors
/// The status (4xx) and reason the API would answer.
pub async fn parse_request(
    config: &ServeConfig,
    request: Request<Body>,
) -> Result<Asked, (StatusCode, String)> {
    let fail = |e: ApiError| (e.status, e.message);
    let params = Query::<Params>::try_from_uri(request.uri());
    let p = params_of(params).map_err(fail)?;
    let (k, mode) = (k_of(config, &p).map_err(fail)?, mode_of(&p).map_err(fail)?);
    if let Some(key) = p.key.as_deref().filter(|k| !k.is_empty()) {
        check_key_form(key).map_err(|e| fail(key_error(e)))?;
    }
    let q = query_of(config, &p).map_err(fail)?.map(str::to_string);
    let upload = match request.method() == Method::POST {
        true => {
            let form = Multipart::from_request(request, &()).await;
            Some(upload_bytes(config, form).await.map_err(fail)?.len())
        }
        false => None,
    };
    Ok(Asked {
        q,
        key: p.key,
        k,
        mode,
        upload,
    })
}

fn hits(s: &AppState, vector: &[f32], k: usize, mode: SearchMode) -> Vec<Hit> {
    s.searcher
        .similar_to_vector(vector, k, mode)
        .into_iter()
        .map(Hit::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str, content_type: &str, body: &[u8]) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_vec()))
            .unwrap()
    }

    fn upload(field: &str, data: &[u8]) -> Vec<u8> {
        let mut body = format!(
            "--B\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"a.jpg\"\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n--B--\r\n");
        body
    }

    #[tokio::test]
    async fn requests_are_parsed_and_refused_as_the_handlers_do() {
        let config = ServeConfig::default();
        let parse =
            |uri: &str| parse_request(&config, request(Method::GET, uri, "text/plain", b""));
        let asked = parse("/api/search?q=+snow+&k=5&mode=exact").await.unwrap();
        assert_eq!(asked.q.as_deref(), Some("snow"));
        assert_eq!(
            (asked.k, asked.mode, asked.upload),
            (5, SearchMode::Exact, None)
        );
        assert_eq!(parse("/api/search?q=a").await.unwrap().k, config.default_k);
        for bad in [
            "k=0",
            "k=101",
            "mode=fast",
            "key=../etc/passwd",
            "nope=1",
            "k=%FF",
        ] {
            let (status, message) = parse(&format!("/api/search?{bad}")).await.unwrap_err();
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {message}");
        }
        let long = format!("/api/search?q={}", "a".repeat(config.max_query_bytes + 1));
        assert_eq!(parse(&long).await.unwrap_err().0, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn uploads_are_read_within_the_limit() {
        let mut config = ServeConfig::default();
        config.image_limits.max_bytes = 8;
        let form = "multipart/form-data; boundary=B";
        let post = |body: Vec<u8>, ct: &str| request(Method::POST, "/api/similar", ct, &body);
        let asked = parse_request(&config, post(upload("image", b"12345678"), form))
            .await
            .unwrap();
        assert_eq!(asked.upload, Some(8));
        let too_big = parse_request(&config, post(upload("image", b"123456789"), form)).await;
        assert_eq!(too_big.unwrap_err().0, StatusCode::PAYLOAD_TOO_LARGE);
        let other = parse_request(&config, post(upload("file", b"1"), form)).await;
        assert_eq!(other.unwrap_err().0, StatusCode::BAD_REQUEST);
        let not_form = parse_request(&config, post(b"x".to_vec(), "text/plain")).await;
        assert!(not_form.unwrap_err().0.is_client_error());
    }
}
