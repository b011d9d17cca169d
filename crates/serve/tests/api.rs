//! The JSON API over the miniature run, on an ephemeral loopback port: good requests and their
//! JSON, and bad ones (malformed queries, path traversal in keys, broken and oversized uploads),
//! each a 4xx with a reason, the server still answering afterwards.
mod common;

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: SocketAddr, path_and_query: &str) -> (u16, Value) {
    let r = reqwest::get(format!("http://{addr}{path_and_query}"))
        .await
        .expect("the server answers");
    let status = r.status().as_u16();
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Sends the request line exactly as given (no URL normalisation of `..` or `%2e`) and returns
/// the status code and body.
async fn raw_get(addr: SocketAddr, target: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("writes");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("reads");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

async fn upload(addr: SocketAddr, path: &str, field: &str, bytes: Vec<u8>) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("upload.jpg");
    let form = reqwest::multipart::Form::new().part(field.to_string(), part);
    let r = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .multipart(form)
        .send()
        .await
        .expect("the server answers");
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap_or(Value::Null))
}

fn keys(v: &Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["key"].as_str().expect("key").to_string())
        .collect()
}

fn error_of(v: &Value) -> String {
    v["error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_info_and_text_queries() {
    let addr = common::start().await;
    let (status, health) = get(addr, "/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["model"], "triplet");

    let (status, info) = get(addr, "/api/info").await;
    assert_eq!(status, 200);
    let size = info["size"].as_u64().expect("size");
    assert!(size > 50, "{info}");
    assert_eq!(info["dimension"], 50);
    assert_eq!(info["index"]["count"].as_u64(), Some(size));
    assert!(
        info["index"]["recall"]["recall"]
            .as_f64()
            .expect("recall at build")
            > 0.5
    );
    assert!(info["text_space"]
        .as_str()
        .unwrap_or_default()
        .contains("glove.6B.50d"));

    let (status, hnsw) = get(addr, "/api/search?q=Snow%20ski&k=5").await;
    assert_eq!(status, 200, "{hnsw}");
    assert_eq!(hnsw["tokens"], serde_json::json!(["snow", "ski"]));
    assert_eq!(hnsw["unknown"], serde_json::json!([]));
    assert_eq!(hnsw["mode"], "hnsw");
    let hits = hnsw["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 5);
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    for h in hits {
        let key = h["key"].as_str().unwrap();
        assert_eq!(h["thumb"], format!("/thumb/{key}"));
        assert!(h["caption"].is_string());
        assert!(h.get("image_path").is_none(), "no server paths in answers");
    }
    // Relevance comes from the query's words against the ground truth (not from a label).
    assert!(
        hits.iter().any(|h| h["relevant"] == true),
        "no snow+ski hit judged relevant: {hnsw}"
    );
    // On this small index HNSW finds what exact search finds.
    let (status, exact) = get(addr, "/api/search?q=snow+ski&k=5&mode=exact").await;
    assert_eq!(status, 200);
    assert_eq!(exact["mode"], "exact");
    assert_eq!(keys(&exact), keys(&hnsw));

    // Unknown words are named and skipped.
    let (status, partly) = get(addr, "/api/search?q=snow+qqxzv&k=3").await;
    assert_eq!(status, 200);
    assert_eq!(partly["unknown"], serde_json::json!(["qqxzv"]));
    assert_eq!(partly["hits"].as_array().map(Vec::len), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_are_400_with_a_reason() {
    let addr = common::start().await;
    let cases: [(&str, &str); 9] = [
        ("/api/search?q=qqxzv+zzkwq", "qqxzv"),
        ("/api/search?q=the+and", "no word left"),
        ("/api/search", "query words"),
        ("/api/search?q=snow&k=0", "k=\"0\""),
        ("/api/search?q=snow&k=many", "k=\"many\""),
        ("/api/search?q=snow&k=100000", "1 to 100"),
        ("/api/search?q=snow&mode=fast", "hnsw or exact"),
        ("/api/search?q=snow&colour=red", "colour"),
        ("/api/similar", "key"),
    ];
    for (url, reason) in cases {
        let (status, body) = get(addr, url).await;
        assert_eq!(status, 400, "{url}: {body}");
        assert!(error_of(&body).contains(reason), "{url}: {body}");
    }
    let (status, body) = get(addr, "/api/search?q=qqxzv+zzkwq").await;
    assert_eq!(
        (status, &body["tokens"]),
        (400, &serde_json::json!(["qqxzv", "zzkwq"]))
    );
    let long = "snow+".repeat(400);
    let (status, body) = get(addr, &format!("/api/search?q={long}")).await;
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("limit"), "{body}");
    let (status, body) = get(addr, "/api/nothing-here").await;
    assert_eq!(status, 404);
    assert!(error_of(&body).contains("/api/nothing-here"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn similar_images_tags_and_thumbnails_by_key() {
    let addr = common::start().await;
    let (_, found) = get(addr, "/api/search?q=snow&k=3&mode=exact").await;
    let first = keys(&found)[0].clone();

    // An indexed image is its own nearest neighbour.
    let (status, sim) = get(addr, &format!("/api/similar?key={first}&k=4&mode=exact")).await;
    assert_eq!(status, 200, "{sim}");
    assert_eq!(sim["key"], first.as_str());
    assert_eq!(keys(&sim)[0], first);
    assert!(sim["hits"][0]["score"].as_f64().unwrap() > 0.999, "{sim}");
    assert_eq!(keys(&sim).len(), 4);

    let (status, tags) = get(addr, &format!("/api/tags?key={first}&k=6")).await;
    assert_eq!(status, 200, "{tags}");
    assert_eq!(tags["words"].as_array().map(Vec::len), Some(6));
    assert!(tags["vocabulary"].as_u64().unwrap() >= 6);

    let r = reqwest::get(format!("http://{addr}/thumb/{first}"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&r.bytes().await.unwrap()).expect("a JPEG");
    assert!(thumb.width() > 0 && thumb.width() <= 256);

    let (status, body) = get(addr, "/api/similar?key=nowhere/123").await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = raw_get(addr, "/thumb/nowhere/123").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_never_reach_outside_the_image_store() {
    let addr = common::start().await;
    let (_, found) = get(addr, "/api/search?q=snow&k=1").await;
    let key = keys(&found)[0].clone();
    let (city, id) = key.split_once('/').unwrap();
    let thumbs = [
        "/thumb/../../../../etc/passwd".to_string(),
        "/thumb/%2e%2e/%2e%2e/%2e%2e/etc/passwd".to_string(),
        "/thumb/..%2F..%2F..%2Fetc%2Fpasswd".to_string(),
        "/thumb//etc/passwd".to_string(),
        format!("/thumb/{city}/../{city}/{id}"),
        format!("/thumb/{city}%2F{id}"),
        format!("/thumb/{city}\\..\\{id}"),
        "/thumb/./etc/passwd".to_string(),
    ];
    for t in &thumbs {
        let (status, body) = raw_get(addr, t).await;
        assert!(
            status == 400 || status == 404,
            "{t}: status {status} {body}"
        );
        assert!(!body.contains("root:"), "{t} leaked a file");
    }
    let queries = [
        "/api/similar?key=../../etc/passwd",
        "/api/similar?key=%2Fetc%2Fpasswd",
        "/api/similar?key=..%5C..%5Cetc%5Cpasswd",
        "/api/similar?key=london%252F..%252Fx",
        "/api/tags?key=/etc/passwd",
        "/api/tags?key=a/./b",
    ];
    for q in queries {
        let (status, body) = raw_get(addr, q).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert!(body.contains("malformed key"), "{q}: {body}");
    }
    // The plain key still works after all that.
    let (status, _) = raw_get(addr, &format!("/thumb/{key}")).await;
    assert_eq!(status, 200);
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encodes");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_search_by_image_and_bad_uploads_are_refused() {
    let addr = common::start().await;
    let state = common::state();
    let (_, found) = get(addr, "/api/search?q=snow&k=1&mode=exact").await;
    let key = keys(&found)[0].clone();
    let file = state.searcher.image_of(&key).expect("a dataset key");
    let bytes = std::fs::read(file).expect("the image reads");

    // The uploaded file of an indexed image finds that image first.
    let (status, sim) = upload(addr, "/api/similar?k=3&mode=exact", "image", bytes.clone()).await;
    assert_eq!(status, 200, "{sim}");
    assert_eq!(sim["key"], Value::Null);
    assert_eq!(keys(&sim)[0], key);
    let (status, tags) = upload(addr, "/api/tags?k=4", "image", bytes).await;
    assert_eq!(status, 200, "{tags}");
    assert_eq!(tags["words"].as_array().map(Vec::len), Some(4));

    let (status, body) = upload(addr, "/api/similar", "image", b"not an image".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("cannot read the image"), "{body}");
    let (status, body) = upload(addr, "/api/similar", "picture", png(8, 8)).await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("\"image\""), "{body}");
    // 1001 x 1000 pixels: over the pixel limit, though small in bytes.
    let wide = png(1001, 1000);
    assert!(wide.len() < common::MAX_UPLOAD_BYTES);
    let (status, body) = upload(addr, "/api/similar", "image", wide).await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("1001x1000"), "{body}");
    // Over the byte limit but within the body limit (multipart framing room): 413 by the handler.
    let (status, body) = upload(
        addr,
        "/api/similar",
        "image",
        vec![0u8; common::MAX_UPLOAD_BYTES + 1000],
    )
    .await;
    assert_eq!(status, 413, "{body}");
    // Far over the body limit: 413 before the body is read whole.
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/api/similar"))
        .multipart(reqwest::multipart::Form::new().part(
            "image",
            reqwest::multipart::Part::bytes(vec![7u8; 4 * common::MAX_UPLOAD_BYTES]),
        ))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
    }
    // Not multipart at all.
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/api/similar"))
        .body("{}")
        .header("content-type", "application/json")
        .send()
        .await
        .expect("answers");
    assert!(r.status().is_client_error(), "{}", r.status());
    // Still serving.
    let (status, _) = get(addr, "/api/health").await;
    assert_eq!(status, 200);
}

// Uploads take turns to decode (`upload_workers`), and the wait counts against the request
// timeout: with every turn taken, an upload is answered 408 without being decoded (a decode
// cannot be stopped once started, so queued scan bombs used to go on after their 408, all at
// once); once a turn is free, the same upload is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_wait_for_a_decoding_turn_within_the_request_timeout() {
    const WORKERS: usize = 2;
    let (addr, state) = common::start_state(webly_serve::ServeConfig {
        upload_workers: WORKERS,
        request_timeout_ms: 1_000,
        ..common::test_config()
    })
    .await;
    assert_eq!(state.upload_slots.available_permits(), WORKERS);
    let (_, found) = get(addr, "/api/search?q=snow&k=1&mode=exact").await;
    let key = keys(&found)[0].clone();
    let bytes = std::fs::read(state.searcher.image_of(&key).unwrap()).unwrap();

    let held = std::sync::Arc::clone(&state.upload_slots)
        .acquire_many_owned(WORKERS as u32)
        .await
        .expect("the slots are never closed");
    let (status, body) = upload(addr, "/api/similar?k=1&mode=exact", "image", bytes.clone()).await;
    assert_eq!(status, 408, "{body}");
    // Queries need no turn.
    let (status, _) = get(addr, "/api/search?q=snow&k=1").await;
    assert_eq!(status, 200);
    drop(held);
    let (status, sim) = upload(addr, "/api/similar?k=1&mode=exact", "image", bytes).await;
    assert_eq!(status, 200, "{sim}");
    assert_eq!(keys(&sim), vec![key]);
    assert_eq!(state.upload_slots.available_permits(), WORKERS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_state() {
    let addr = common::start().await;
    let (_, one) = get(addr, "/api/search?q=bike+park&k=5").await;
    let (_, found) = get(addr, "/api/search?q=snow&k=1&mode=exact").await;
    let key = keys(&found)[0].clone();
    let bytes = std::fs::read(common::state().searcher.image_of(&key).unwrap()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..48 {
        let bytes = bytes.clone();
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                let (s, v) = upload(addr, "/api/similar?k=1&mode=exact", "image", bytes).await;
                (s, keys(&v), true)
            } else {
                let (s, v) = get(addr, "/api/search?q=bike+park&k=5").await;
                (s, keys(&v), false)
            }
        }));
    }
    for t in tasks {
        let (status, got, is_upload) = t.await.expect("the task finishes");
        assert_eq!(status, 200);
        if is_upload {
            assert_eq!(got, vec![key.clone()]);
        } else {
            assert_eq!(got, keys(&one));
        }
    }
}

// Slow clients (slowloris, issue 25 kind 2): sockets that drip a header byte now and then, and
// sockets that send nothing, are closed by the server once the header timeout has passed, while
// a search on a fresh connection still answers within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_closed_and_searches_still_answer() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const DRIPPING: usize = 300;
    const SILENT: usize = 20;
    const HEADER_TIMEOUT_MS: u64 = 1_500;
    let addr = common::start_with(webly_serve::ServeConfig {
        header_timeout_ms: HEADER_TIMEOUT_MS,
        ..common::test_config()
    })
    .await;
    let mut dripping = Vec::new();
    for _ in 0..DRIPPING {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /api/health HTTP/1.1\r\nX-Slow: ")
            .await
            .expect("first bytes");
        dripping.push(s);
    }
    let mut silent = Vec::new();
    for _ in 0..SILENT {
        silent.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
    }
    let started = Instant::now();
    let (status, body) =
        tokio::time::timeout(Duration::from_secs(1), get(addr, "/api/search?q=red&k=3"))
            .await
            .expect("a search answers within a second while slow clients hold sockets");
    assert_eq!(status, 200, "{body}");
    eprintln!(
        "search answered in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    // Drip a byte on every socket every 250 ms, past the header timeout and a margin.
    let deadline = Duration::from_millis(HEADER_TIMEOUT_MS + 1_000);
    while started.elapsed() < deadline {
        for s in &mut dripping {
            let _ = s.write_all(b"a").await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut open = 0;
    for s in dripping.iter_mut().chain(silent.iter_mut()) {
        let mut buf = [0u8; 256];
        // Closed: end of stream, a reset, or whatever the server wrote before closing.
        match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
            Err(_) => open += 1,
            Ok(Ok(0) | Err(_)) => {}
            Ok(Ok(_)) => {
                if let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await
                {
                    if n > 0 {
                        open += 1;
                    }
                }
            }
        }
    }
    assert_eq!(
        open,
        0,
        "{open} of {} slow sockets still open",
        DRIPPING + SILENT
    );
}
