//! `webly collection` as a user runs it (issue 24): from another working folder with relative
//! paths; kill -9 during `add` leaves the collection as it was, a second writer is refused
//! meanwhile, and the next `add` reuses what the killed one had embedded.
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Images per saved chunk in the killed `add`: small, so that the kill lands between chunks.
const CHUNK: usize = 4;
/// Copies of each dataset image in the added folder: enough chunks for the kill to land in.
const COPIES: usize = 4;
/// How long the first chunks of the killed `add` may take.
const CHUNKS_WAIT: Duration = Duration::from_secs(300);

fn webly(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_webly"));
    c.current_dir(cwd);
    c
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The tiny run (240 generated images, GloVe on their captions, a two-block CNN), trained.
fn tiny_run(tmp: &Path) -> PathBuf {
    let queries = tmp.join("queries.txt");
    std::fs::write(&queries, "snow\nbeach\n").unwrap();
    let text = format!(
        "run_dir = {run:?}\n\
         [data.dataset]\nroot = {data:?}\n\
         [data.synth]\nimages = 240\nseed = 7\ncontact_sheet = false\n\
         [text]\nweighting = \"mean\"\n\
         [text.glove]\nvector_size = 16\niter = 15\nmin_count = 2\n\
         [eval]\nqueries = [{queries:?}]\n\
         [[models]]\nname = \"tiny\"\n\
         [models.train]\nepochs = 1\nbatch_size = 16\nlr = 0.01\nseed = 1\n\
         progress = false\nplot = false\n\
         loader = {{ resize = 32, crop = 32 }}\n\
         model = {{ arch = \"small_cnn\", small_cnn_widths = [8, 16] }}\n",
        run = tmp.join("run"),
        data = tmp.join("data"),
    );
    let config = tmp.join("tiny.toml");
    std::fs::write(&config, text).unwrap();
    ok(
        webly(tmp)
            .args(["run", "--config"])
            .arg(&config)
            .output()
            .unwrap(),
        "webly run",
    );
    tmp.join("data")
}

fn jpegs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jpg") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn info(cwd: &Path, dir: &str) -> serde_json::Value {
    let out = webly(cwd)
        .args(["collection", "info", dir, "--json"])
        .output()
        .unwrap();
    serde_json::from_str(&ok(out, "collection info")).unwrap()
}

#[test]
fn a_collection_survives_kill_9_during_add_and_the_next_add_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_run(tmp.path());
    let images = jpegs(&data);
    let photos = tmp.path().join("photos");
    let more = tmp.path().join("more");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::create_dir_all(&more).unwrap();
    for (i, src) in images.iter().take(20).enumerate() {
        std::fs::copy(src, photos.join(format!("p{i}.jpg"))).unwrap();
    }
    for copy in 0..COPIES {
        for (i, src) in images.iter().enumerate() {
            std::fs::copy(src, more.join(format!("m{copy}-{i}.jpg"))).unwrap();
        }
    }
    let added = COPIES * images.len();
    // Another working folder, relative paths.
    let here = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&here).unwrap();
    let out = webly(&here)
        .args([
            "collection",
            "create",
            "../c",
            "--model",
            "../run/models/tiny",
            "../photos",
        ])
        .output()
        .unwrap();
    let said = ok(out, "collection create");
    assert!(said.contains("20 images indexed"), "{said}");
    let manifest = tmp.path().join("c/collection.json");
    let before = std::fs::read(&manifest).unwrap();

    let mut child = webly(&here)
        .args(["collection", "add", "../c", "../more"])
        .env("WEBLY_COLLECTION_CHUNK", CHUNK.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let third = tmp.path().join("c/pending/chunk-3.json");
    let started = Instant::now();
    while !third.exists() {
        assert!(started.elapsed() < CHUNKS_WAIT, "no chunk written");
        assert!(child.try_wait().unwrap().is_none(), "add ended too soon");
        std::thread::sleep(Duration::from_millis(2));
    }
    // A second writer is refused while the first works.
    let second = webly(&here)
        .args(["collection", "sync", "../c"])
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed before it finished");

    // The collection is as it was, and readable.
    assert_eq!(std::fs::read(&manifest).unwrap(), before);
    assert_eq!(info(&here, "../c")["images"], 20);
    let out = webly(&here)
        .args(["query", "--collection", "../c", "snow", "-k", "3", "--json"])
        .output()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&ok(out, "query")).unwrap();
    assert_eq!(answer["hits"].as_array().unwrap().len(), 3);

    // The same add again reuses the saved chunks and ends with every image indexed.
    let out = webly(&here)
        .args(["collection", "add", "../c", "../more"])
        .output()
        .unwrap();
    ok(out, "add again");
    let now = info(&here, "../c");
    assert_eq!(now["images"], 20 + added as u64);
    let resumed = now["last_change"]["resumed"].as_u64().unwrap();
    assert!(resumed >= 3 * CHUNK as u64, "resumed {resumed}");
    assert!(!tmp.path().join("c/pending").exists());
}
