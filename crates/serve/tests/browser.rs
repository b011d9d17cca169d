//! The page in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`, installed by `scripts/setup_browser.sh`, which `make test`
//! runs). Types a query, waits for the grid, checks that the result images loaded and that the
//! first result is the API's, clicks it and waits for the similar-images grid and the nearest
//! words. Saves a screenshot to `target/e2e/serve-page.png`.
mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;

/// How long the page may take to show each step (the server answers in milliseconds; the
/// browser's first start is the slow part).
const STEP: Duration = Duration::from_secs(20);
/// The query typed, and `k` as the page asks it by default.
const QUERY: &str = "snow mountain";
const PAGE_K: usize = 12;

/// chromedriver, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        Command::new(n)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()
            .filter(|s| s.success())
            .map(|_| (*n).to_string())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

async fn start_driver() -> (Driver, String) {
    let driver = find_program(&["chromedriver"]).expect(
        "chromedriver is not installed: run `bash scripts/setup_browser.sh` (make test does)",
    );
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + STEP;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (Driver(child), url)
}

async fn browser(driver_url: &str) -> Client {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"])
        .expect("chromium is not installed: run `bash scripts/setup_browser.sh` (make test does)");
    let binary = which(&chromium).unwrap_or(chromium);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": binary,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--hide-scrollbars"]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver_url)
        .await
        .expect("a chromium session")
}

fn which(program: &str) -> Option<String> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
    })
}

/// Polls `script` (a function body returning a value) until it returns `true`.
async fn wait_true(c: &Client, script: &str, what: &str) {
    let deadline = Instant::now() + STEP;
    loop {
        let v = c.execute(script, vec![]).await.expect("the script runs");
        if v == Value::Bool(true) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn api_first_key(addr: SocketAddr) -> String {
    let url = format!(
        "http://{addr}/api/search?q={}&k={PAGE_K}&mode=hnsw",
        QUERY.replace(' ', "+")
    );
    let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    v["hits"][0]["key"]
        .as_str()
        .expect("a first hit")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_searches_as_you_type_and_finds_similar_images() {
    let addr = common::start().await;
    let expected = api_first_key(addr).await;
    let (_driver, driver_url) = start_driver().await;
    let c = browser(&driver_url).await;
    let outcome = drive(&c, addr, &expected).await;
    let _ = c.close().await;
    outcome.expect("the page works");
}

async fn drive(
    c: &Client,
    addr: SocketAddr,
    expected: &str,
) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&format!("http://{addr}/")).await?;
    assert_eq!(c.title().await?, "webly search");
    let input = c.find(Locator::Id("q")).await?;
    input.send_keys(QUERY).await?;

    // The grid fills (debounced), and every result image has loaded.
    c.wait()
        .at_most(STEP)
        .for_element(Locator::Css("#results .hit img"))
        .await?;
    wait_true(
        c,
        &format!(
            "const imgs = [...document.querySelectorAll('#results .hit img')];
             return imgs.length === {PAGE_K} && imgs.every(i => i.complete && i.naturalWidth > 0);"
        ),
        "result images to load",
    )
    .await;
    let first: Value = c
        .execute(
            "return document.querySelector('#results .hit').dataset.key;",
            vec![],
        )
        .await?;
    assert_eq!(
        first.as_str(),
        Some(expected),
        "the page's first result is the API's"
    );
    let status = c.find(Locator::Id("status")).await?.text().await?;
    assert!(
        status.contains("snow") && status.contains("mountain"),
        "{status}"
    );

    // Click it: a similar-images grid (the image itself left out) and its nearest words.
    c.find(Locator::Css("#results .hit")).await?.click().await?;
    wait_true(
        c,
        "const imgs = [...document.querySelectorAll('#similar .hit img')];
         return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)
                && document.querySelectorAll('#words span').length > 0;",
        "similar images and words",
    )
    .await;
    let similar: Value = c
        .execute(
            "return [...document.querySelectorAll('#similar .hit')].map(h => h.dataset.key);",
            vec![],
        )
        .await?;
    let similar: Vec<&str> = similar
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(similar.len(), PAGE_K, "{similar:?}");
    assert!(!similar.contains(&expected), "{similar:?}");
    // The dataset has a ground truth: the green frame is explained.
    let legend: Value = c
        .execute("return document.getElementById('legend').hidden;", vec![])
        .await?;
    assert_eq!(legend, Value::Bool(false), "the legend of the green frame");
    let title = c.find(Locator::Id("detail-title")).await?.text().await?;
    assert!(title.contains(expected), "{title}");

    // A query with no known word says so on the page.
    let input = c.find(Locator::Id("q")).await?;
    input.clear().await?;
    input.send_keys("qqxzv").await?;
    wait_true(
        c,
        "return document.getElementById('status').textContent.includes('qqxzv')
                && document.getElementById('status').className === 'error';",
        "the no-known-word message",
    )
    .await;
    input.clear().await?;
    input.send_keys(QUERY).await?;
    wait_true(
        c,
        &format!(
            "const imgs = [...document.querySelectorAll('#results .hit img')];
             return imgs.length === {PAGE_K} && imgs.every(i => i.complete && i.naturalWidth > 0);"
        ),
        "result images to load again",
    )
    .await;

    let png = c.screenshot().await?;
    let dir = common::target_dir().join("e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    let path = dir.join("serve-page.png");
    std::fs::write(&path, &png).expect("screenshot written");
    let shot = image::load_from_memory(&png).expect("a PNG screenshot");
    assert!(
        shot.width() >= 800,
        "screenshot {}x{}",
        shot.width(),
        shot.height()
    );
    eprintln!("screenshot: {}", path.display());
    Ok(())
}

/// The page over a collection (issue 24): no ground truth, so no green frame and no legend; a
/// long file name does not widen or lengthen its card; a rare query word gets a warning whose
/// suggestion, clicked, replaces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_over_a_collection() {
    let addr = common::start_collection().await;
    let (_driver, driver_url) = start_driver().await;
    let c = browser(&driver_url).await;
    let outcome = drive_collection(&c, addr).await;
    let _ = c.close().await;
    outcome.expect("the page works over a collection");
}

async fn drive_collection(c: &Client, addr: SocketAddr) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&format!("http://{addr}/?k=40")).await?;
    let input = c.find(Locator::Id("q")).await?;
    input.send_keys("snow nieve").await?;
    wait_true(
        c,
        "const imgs = [...document.querySelectorAll('#results .hit img')];
         return imgs.length === 40 && imgs.every(i => i.complete && i.naturalWidth > 0);",
        "the collection's images",
    )
    .await;
    let facts: Value = c
        .execute(
            "const hits = [...document.querySelectorAll('#results .hit')];
             const heights = hits.map(h => h.getBoundingClientRect().height);
             const long = hits.find(h => h.dataset.key.length > 100);
             const key = long.querySelector('.key');
             return { relevant: document.querySelectorAll('.hit.relevant').length,
                      legend: document.getElementById('legend').hidden,
                      tallest: Math.max(...heights), shortest: Math.min(...heights),
                      widest: Math.max(...hits.map(h => h.getBoundingClientRect().width)),
                      narrowest: Math.min(...hits.map(h => h.getBoundingClientRect().width)),
                      clipped: key.scrollWidth > key.clientWidth,
                      warning: document.getElementById('warnings').textContent };",
            vec![],
        )
        .await?;
    assert_eq!(facts["relevant"], 0, "{facts}");
    assert_eq!(facts["legend"], Value::Bool(true), "{facts}");
    let f = |k: &str| facts[k].as_f64().unwrap();
    assert!(f("tallest") - f("shortest") < 1.0, "{facts}");
    assert!(f("widest") - f("narrowest") < 1.0, "{facts}");
    assert_eq!(facts["clipped"], Value::Bool(true), "{facts}");
    let warning = facts["warning"].as_str().unwrap();
    assert!(
        warning.contains("nieve") && warning.contains("rare"),
        "{facts}"
    );
    // A suggestion, clicked, takes the rare word's place.
    let first = c.find(Locator::Css("#warnings a")).await?;
    let word = first.text().await?;
    first.click().await?;
    wait_true(
        c,
        &format!("return document.getElementById('q').value === 'snow {word}';"),
        "the suggestion in the query",
    )
    .await;
    let png = c.screenshot().await?;
    let dir = common::target_dir().join("e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    std::fs::write(dir.join("serve-collection.png"), &png).expect("screenshot written");
    Ok(())
}
