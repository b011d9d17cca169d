//! clip-retrieval's back-end API (`/knn-service`, `/metadata`, `/indices-list`) over the
//! miniature run: clip-back's shapes, its queries (text, base64 image, embedding) against webly's
//! own API, the API's limits, and the real `ClipClient` (clip-retrieval's, from its own venv:
//! scripts/setup_clip_client.sh) getting the same top 10 as `/api/search`.
mod common;

use std::net::SocketAddr;

use base64::Engine;
use serde_json::{json, Value};

/// Posts `body` as clip-back's clients do: JSON text with no content type.
async fn post(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    post_raw(addr, path, body.to_string()).await
}

async fn post_raw(addr: SocketAddr, path: &str, body: String) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap_or(Value::Null))
}

async fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let r = reqwest::get(format!("http://{addr}{path}"))
        .await
        .expect("the server answers");
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap_or(Value::Null))
}

/// ClipClient's request, with `query` merged in.
fn knn(query: Value) -> Value {
    let mut body = json!({
        "text": null, "image": null, "image_url": null, "embedding_input": null,
        "deduplicate": false, "use_safety_model": true, "use_violence_detector": true,
        "indice_name": model(), "use_mclip": false, "aesthetic_score": 9,
        "aesthetic_weight": 0.5, "modality": "image", "num_images": 10, "num_result_ids": 10,
    });
    for (k, v) in query.as_object().expect("an object") {
        body[k] = v.clone();
    }
    body
}

fn model() -> String {
    common::state().searcher.model().to_string()
}

fn keys_of(hits: &Value) -> Vec<String> {
    let list = hits
        .as_array()
        .or_else(|| hits["hits"].as_array())
        .expect("a list of results");
    list.iter()
        .map(|h| h["key"].as_str().expect("key").to_string())
        .collect()
}

fn ids_of(hits: &Value) -> Vec<u64> {
    hits.as_array()
        .expect("a list")
        .iter()
        .map(|h| h["id"].as_u64().expect("an integer id"))
        .collect()
}

fn similarities(hits: &Value) -> Vec<f64> {
    hits.as_array()
        .expect("a list")
        .iter()
        .map(|h| h["similarity"].as_f64().expect("similarity"))
        .collect()
}

fn error_of(v: &Value) -> String {
    v["error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knn_service_answers_in_clip_backs_shapes() {
    let addr = common::start().await;
    let state = common::state();
    let (status, list) = get(addr, "/indices-list").await;
    assert_eq!((status, &list), (200, &json!([model()])));

    let (status, hits) = post(
        addr,
        "/knn-service",
        &knn(json!({"text": "snow ski", "num_images": 5, "num_result_ids": 5})),
    )
    .await;
    assert_eq!(status, 200, "{hits}");
    let (_, api) = get(addr, "/api/search?q=snow+ski&k=5").await;
    assert_eq!(keys_of(&hits), keys_of(&api));
    for (h, a) in hits
        .as_array()
        .unwrap()
        .iter()
        .zip(api["hits"].as_array().unwrap())
    {
        let key = h["key"].as_str().unwrap();
        let row = state.searcher.row_of(key).expect("an indexed key");
        assert_eq!(h["id"].as_u64(), Some(row as u64), "{h}");
        assert_eq!(h["similarity"], a["score"], "{h}");
        assert_eq!(h["caption"], a["caption"], "{h}");
        assert_eq!(h["url"], format!("/thumb/{key}"), "{h}");
        let fields: Vec<&str> = h.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(fields.len(), 5, "id, similarity, url, caption, key: {h}");
    }

    // clip-back's split: num_result_ids searched, the first num_images with their metadata,
    // the rest only id and similarity (the front-end asks /metadata for them).
    let (status, more) = post(
        addr,
        "/knn-service",
        &knn(json!({"text": "snow ski", "num_images": 3, "num_result_ids": 8})),
    )
    .await;
    assert_eq!(status, 200, "{more}");
    let more = more.as_array().unwrap().clone();
    assert_eq!(more.len(), 8);
    assert!(more[..3].iter().all(|h| h["url"].is_string()));
    assert!(
        more[3..].iter().all(|h| h.as_object().unwrap().len() == 2),
        "{more:?}"
    );
    let (_, api8) = get(addr, "/api/search?q=snow+ski&k=8").await;
    let rest: Vec<Value> = more[3..].iter().map(|h| h["id"].clone()).collect();
    let (status, metas) = post(
        addr,
        "/metadata",
        &json!({"ids": rest, "indice_name": model()}),
    )
    .await;
    assert_eq!(status, 200, "{metas}");
    let metas = metas.as_array().unwrap();
    assert_eq!(metas.len(), 5);
    for (m, a) in metas.iter().zip(&api8["hits"].as_array().unwrap()[3..]) {
        assert_eq!(m["metadata"]["key"], a["key"], "{m}");
        assert_eq!(m["metadata"]["caption"], a["caption"], "{m}");
        assert_eq!(m["metadata"]["url"], a["thumb"], "{m}");
    }
    let (status, none) = post(
        addr,
        "/metadata",
        &json!({"ids": [], "indice_name": model()}),
    )
    .await;
    assert_eq!((status, none), (200, json!([])));

    // What clip-back defaults when not given: the one index, num_images results.
    let (status, bare) = post(addr, "/knn-service", &json!({"text": "snow ski"})).await;
    assert_eq!(status, 200, "{bare}");
    let default_k = webly_serve::ServeConfig::default().default_k;
    assert_eq!(bare.as_array().map(Vec::len), Some(default_k));
}

// An embedding query is the text query with that embedding; only its direction counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedding_queries_equal_the_text_query() {
    let addr = common::start().await;
    let state = common::state();
    let (_, by_text) = post(addr, "/knn-service", &knn(json!({"text": "snow ski"}))).await;
    let vector = state.searcher.text_vector("snow ski").expect("known words");
    let (status, by_vector) = post(
        addr,
        "/knn-service",
        &knn(json!({"embedding_input": vector})),
    )
    .await;
    assert_eq!(status, 200, "{by_vector}");
    assert_eq!(by_vector, by_text);
    let scaled: Vec<f32> = vector.iter().map(|x| x * 3.0).collect();
    let (_, by_scaled) = post(
        addr,
        "/knn-service",
        &knn(json!({"embedding_input": scaled})),
    )
    .await;
    assert_eq!(ids_of(&by_scaled), ids_of(&by_text));
    // clip-back's precedence: text first, then image, then the embedding.
    let (_, both) = post(
        addr,
        "/knn-service",
        &knn(json!({"text": "city street", "embedding_input": vector})),
    )
    .await;
    let (_, city) = post(addr, "/knn-service", &knn(json!({"text": "city street"}))).await;
    assert_eq!(both, city);
    assert_ne!(ids_of(&city), ids_of(&by_text));
}

// An image in base64 is searched as an upload of the same file is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base64_images_search_as_uploads_do() {
    let addr = common::start().await;
    let state = common::state();
    let (_, found) = get(addr, "/api/search?q=snow&k=1&mode=exact").await;
    let key = keys_of(&found)[0].clone();
    let bytes = std::fs::read(state.searcher.image_of(&key).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let (status, hits) = post(addr, "/knn-service", &knn(json!({"image": b64}))).await;
    assert_eq!(status, 200, "{hits}");
    let part = reqwest::multipart::Part::bytes(bytes).file_name("a.jpg");
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/api/similar?k=10"))
        .multipart(reqwest::multipart::Form::new().part("image", part))
        .send()
        .await
        .unwrap();
    let upload: Value = r.json().await.unwrap();
    assert_eq!(keys_of(&hits), keys_of(&upload));
    assert_eq!(keys_of(&hits)[0], key);
    assert!(similarities(&hits)[0] > 0.99, "{hits}");
}

// deduplicate: clip-back's rule (cosine above 0.94 links two results; each linked group keeps
// its best-ranked member), the rest in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deduplicate_keeps_the_first_of_each_near_identical_group() {
    let addr = common::start().await;
    let state = common::state();
    let ask = |dedup: bool| {
        knn(json!({"text": "snow", "num_images": 40, "num_result_ids": 40, "deduplicate": dedup}))
    };
    let (_, all) = post(addr, "/knn-service", &ask(false)).await;
    let (status, kept) = post(addr, "/knn-service", &ask(true)).await;
    assert_eq!(status, 200, "{kept}");
    let (all, kept) = (keys_of(&all), keys_of(&kept));
    assert_eq!(kept[0], all[0]);
    let mut it = all.iter();
    assert!(
        kept.iter().all(|k| it.any(|a| a == k)),
        "kept is a subsequence of all"
    );
    let vec_of = |k: &str| state.searcher.indexed_vector(k).unwrap();
    let cos =
        |a: &str, b: &str| -> f32 { vec_of(a).iter().zip(vec_of(b)).map(|(x, y)| x * y).sum() };
    for (i, a) in kept.iter().enumerate() {
        for b in &kept[..i] {
            assert!(cos(a, b) <= 0.94, "{a} and {b} both kept");
        }
    }
    // Every dropped result is linked, through results with a cosine above 0.94, to one before it.
    for (i, a) in all.iter().enumerate().filter(|(_, a)| !kept.contains(a)) {
        let mut group = vec![i];
        let mut next = 0;
        while next < group.len() {
            let j = group[next];
            next += 1;
            for (k, b) in all.iter().enumerate() {
                if !group.contains(&k) && cos(&all[j], b) > 0.94 {
                    group.push(k);
                }
            }
        }
        assert!(group.iter().any(|&j| j < i), "{a} dropped alone");
    }
    eprintln!("deduplicate: {} of {} kept", kept.len(), all.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_clip_requests_are_refused_with_a_reason() {
    let addr = common::start().await;
    let dim = common::state().searcher.facts().dimension;
    let long = "snow ".repeat(300);
    let cases: Vec<(Value, &str)> = vec![
        (
            knn(json!({"image_url": "http://example.com/a.jpg"})),
            "fetches nothing",
        ),
        (
            knn(json!({"text": "snow", "modality": "text"})),
            "index of captions",
        ),
        (
            knn(json!({"text": "snow", "modality": "audio"})),
            "modality",
        ),
        (
            knn(json!({"text": "snow", "indice_name": "laion5B"})),
            "laion5B",
        ),
        (knn(json!({"text": "snow", "num_images": 0})), "num_images"),
        (knn(json!({"text": "snow", "num_images": 101})), "1 to 100"),
        (
            knn(json!({"text": "snow", "num_images": "ten"})),
            "num_images",
        ),
        (
            knn(json!({"text": "snow", "num_result_ids": 1000})),
            "num_result_ids",
        ),
        (
            knn(json!({"text": "snow", "deduplicate": "yes"})),
            "bad JSON",
        ),
        (knn(json!({"text": "snow", "colour": "red"})), "colour"),
        (knn(json!({})), "give one of text, image"),
        (knn(json!({"text": long})), "limit"),
        (knn(json!({"text": "qqxzv zzkwq"})), "qqxzv"),
        (knn(json!({"image": "not base64!"})), "base64"),
        (
            knn(json!({"image": "bm90IGFuIGltYWdl"})),
            "cannot read the image",
        ),
        (
            knn(json!({"embedding_input": [1.0, 2.0]})),
            "values; the model",
        ),
        (knn(json!({"embedding_input": vec![0.0; dim]})), "all zeros"),
        (
            json!({"ids": [0, 1_000_000], "indice_name": model()}),
            "not a row",
        ),
        (json!({"ids": [-1]}), "not a row"),
        (json!({"ids": (0..101).collect::<Vec<_>>()}), "limit of 100"),
    ];
    for (body, reason) in cases {
        let path = match body.get("ids") {
            Some(_) => "/metadata",
            None => "/knn-service",
        };
        let (status, answer) = post(addr, path, &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            error_of(&answer).contains(reason),
            "{reason:?} not in {answer}"
        );
    }
    // /metadata's body is small: a long list of ids is refused before it is parsed.
    let ids = format!("{{\"ids\": [{}0]}}", "0,".repeat(40_000));
    let (status, answer) = post_raw(addr, "/metadata", ids).await;
    assert_eq!(status, 413, "{answer}");
    let (status, answer) = post_raw(addr, "/knn-service", "{not json".into()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(error_of(&answer).contains("bad JSON"), "{answer}");
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encodes");
    out
}

// The upload limits hold for images in base64: the decoded bytes (413 over `max_bytes`, though
// the body, a third larger, fits the route's limit), the pixels, and a body far over the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base64_images_keep_the_upload_limits() {
    let addr = common::start().await;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let at_limit = vec![7u8; common::MAX_UPLOAD_BYTES];
    let (status, body) = post(addr, "/knn-service", &knn(json!({"image": b64(&at_limit)}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("cannot read the image"), "{body}");
    let over = vec![7u8; common::MAX_UPLOAD_BYTES + 3];
    let (status, body) = post(addr, "/knn-service", &knn(json!({"image": b64(&over)}))).await;
    assert_eq!(status, 413, "{body}");
    let wide = png(1001, 1000);
    let (status, body) = post(addr, "/knn-service", &knn(json!({"image": b64(&wide)}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("1001x1000"), "{body}");
    let huge = "A".repeat(4 * common::MAX_UPLOAD_BYTES);
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/knn-service"))
        .body(format!("{{\"image\": \"{huge}\"}}"))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
    }
    let (status, _) = get(addr, "/api/health").await;
    assert_eq!(status, 200);
}

// clip-retrieval's own ClipClient (its venv: scripts/setup_clip_client.sh) by text gets the top
// 10 of /api/search for the same words, key for key in order; by image file, that of an upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clip_retrieval_client_gets_the_api_top_10() {
    let python = common::venv_python(
        "venv-clip",
        "WEBLY_CLIP_VENV",
        "scripts/setup_clip_client.sh",
    );
    let addr = common::start().await;
    let state = common::state();
    let (_, found) = get(addr, "/api/search?q=snow&k=1&mode=exact").await;
    let image = state
        .searcher
        .image_of(&keys_of(&found)[0])
        .unwrap()
        .to_path_buf();
    for words in ["snow ski", "city street night", "beach"] {
        let args: Vec<std::ffi::OsString> = vec![
            "--url".into(),
            format!("http://{addr}/knn-service").into(),
            "--index".into(),
            model().into(),
            "--text".into(),
            words.into(),
            "--image".into(),
            image.clone().into(),
        ];
        let python = python.clone();
        let out = tokio::task::spawn_blocking(move || {
            let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
            common::run_python(&python, "clip_client_query.py", &refs)
        })
        .await
        .expect("the client ran");
        let (_, api) = get(
            addr,
            &format!("/api/search?q={}&k=10", words.replace(' ', "+")),
        )
        .await;
        let text = &out["text"];
        assert_eq!(keys_of(text), keys_of(&api), "{words}: {out}");
        assert_eq!(keys_of(text).len(), 10);
        let scores: Vec<f64> = api["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["score"].as_f64().unwrap())
            .collect();
        assert_eq!(similarities(text), scores);
        let part =
            reqwest::multipart::Part::bytes(std::fs::read(&image).unwrap()).file_name("a.jpg");
        let r = reqwest::Client::new()
            .post(format!("http://{addr}/api/similar?k=10"))
            .multipart(reqwest::multipart::Form::new().part("image", part))
            .send()
            .await
            .unwrap();
        let upload: Value = r.json().await.unwrap();
        assert_eq!(keys_of(&out["image"]), keys_of(&upload), "{out}");
        eprintln!(
            "clip-retrieval {}: {words:?} top 10 as /api/search",
            out["clip_retrieval"]
        );
    }
}
