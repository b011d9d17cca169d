//! The `webly` binary: its commands, and the errors a user sees for bad input (each names the
//! file it was reading and exits non-zero, never a panic).
use std::process::Command;

fn webly(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_webly"))
        .args(args)
        .output()
        .expect("webly runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_every_command() {
    let (ok, stdout, _) = webly(&["--help"]);
    assert!(ok);
    for cmd in [
        "run", "synth", "text", "train", "extract", "embed", "index", "merge", "export", "eval",
        "query", "tag", "serve",
    ] {
        assert!(stdout.contains(cmd), "{cmd} missing from --help:\n{stdout}");
    }
}

#[test]
fn a_bad_split_or_device_is_refused_before_any_work() {
    // The config does not exist: parsing the flags must fail first, naming the value.
    for (args, bad) in [
        (&["embed", "--split", "tset"][..], "tset"),
        (
            &["export", "--split", "all", "--out", "x.parquet"][..],
            "all",
        ),
        (&["train", "--device", "tpu"][..], "tpu"),
        (&["extract", "--part", "2/2"][..], "2/2"),
        // The old name of --part still parses (and is checked) the same way.
        (&["extract", "--shard", "2/2"][..], "2/2"),
    ] {
        let mut full = args.to_vec();
        full.extend(["--config", "no-such-config.toml"]);
        let (ok, _, err) = webly(&full);
        assert!(!ok, "{args:?}");
        assert!(
            err.contains(bad) && err.contains("expected"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("no-such-config"),
            "{args:?} read the config: {err}"
        );
    }
    let (ok, _, err) = webly(&[
        "train",
        "--device",
        "gpu",
        "--config",
        "no-such-config.toml",
    ]);
    assert!(
        !ok && err.contains("no-such-config"),
        "gpu is a device: {err}"
    );
}

#[test]
fn extract_splits_by_part_and_still_takes_shard() {
    // Its partition differs from embed's --shard (cache shards, not key hash): another name.
    let (ok, stdout, _) = webly(&["extract", "--help"]);
    assert!(ok);
    assert!(stdout.contains("--part <I/N>"), "{stdout}");
    assert!(
        !stdout.contains("--shard <I/N>"),
        "the old name is not advertised: {stdout}"
    );
    let (ok, _, err) = webly(&[
        "extract",
        "--part",
        "0/2",
        "--shard",
        "1/2",
        "--config",
        "no-such-config.toml",
    ]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
    // The old name alone: a note, then the same work (here: the missing config, named).
    let (ok, _, err) = webly(&[
        "extract",
        "--shard",
        "1/2",
        "--config",
        "no-such-config.toml",
    ]);
    assert!(
        !ok && err.contains("--part I/N") && err.contains("no-such-config"),
        "{err}"
    );
}

#[test]
fn missing_and_broken_configs_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let (ok, _, err) = webly(&["run", "--config", missing.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("nope.toml"), "{err}");

    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "run_dir = 'x'\n[text]\nweighting = 'sideways'\n").unwrap();
    let (ok, _, err) = webly(&["train", "--config", broken.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("broken.toml") && err.contains("sideways"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn neighbours_of_an_unknown_word_and_a_bad_vectors_file_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let vectors = dir.path().join("tiny.txt");
    std::fs::write(&vectors, "snow 1 0 0\nski 0.9 0.1 0\ncar 0 0 1\n").unwrap();
    let v = vectors.to_str().unwrap();
    let (ok, stdout, _) = webly(&["text", "neighbors", "snow", "--vectors", v, "-k", "2"]);
    assert!(ok);
    let first = stdout.lines().nth(1).unwrap_or_default();
    assert!(first.contains("ski"), "{stdout}");

    let (ok, _, err) = webly(&["text", "neighbors", "qqxzv", "--vectors", v]);
    assert!(!ok && err.contains("qqxzv"), "{err}");

    // A vector whose first value is negative is the query, not a flag (car is 0,0,1).
    let (ok, stdout, err) = webly(&["text", "neighbors", "-0.1,0,1", "--vectors", v, "-k", "1"]);
    assert!(ok, "{err}");
    assert!(
        stdout.lines().nth(1).unwrap_or_default().contains("car"),
        "{stdout}"
    );

    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "snow 1 0 0\nski 0.9 oops 0\n").unwrap();
    let (ok, _, err) = webly(&[
        "text",
        "neighbors",
        "snow",
        "--vectors",
        bad.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("bad.txt") && err.contains('2'),
        "names file and line: {err}"
    );
}

#[test]
fn synth_writes_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let (ok, stdout, err) = webly(&[
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--images",
        "20",
        "--seed",
        "1",
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("20"), "{stdout}");
    let images = out.join("img_resized_1M/cities_instagram");
    let n: usize = std::fs::read_dir(&images)
        .unwrap()
        .map(|c| std::fs::read_dir(c.unwrap().path()).unwrap().count())
        .sum();
    assert_eq!(n, 20);
    assert!(out.join("ground_truth.tsv").exists());
}

#[test]
fn neighbours_clean_the_word_like_queries() {
    let dir = tempfile::tempdir().unwrap();
    let vectors = dir.path().join("tiny.txt");
    std::fs::write(&vectors, "snow 1 0 0\nski 0.9 0.1 0\ncar 0 0 1\n").unwrap();
    let v = vectors.to_str().unwrap();
    let (ok, stdout, err) = webly(&["text", "neighbors", "Snow!", "--vectors", v, "-k", "1"]);
    assert!(ok, "{err}");
    assert!(
        stdout.lines().nth(1).unwrap_or_default().contains("ski"),
        "{stdout}"
    );
    let (ok, _, err) = webly(&["text", "neighbors", "the", "--vectors", v]);
    assert!(!ok && err.contains("no word left"), "{err}");
}

// A Latin-1 word2vec file is refused by default; the run config's `[text] non_utf8 = "latin1"`
// (which the refusal suggests) reads it, with the file given by the config or by --vectors.
#[test]
fn neighbours_follow_the_configs_non_utf8_policy() {
    let dir = tempfile::tempdir().unwrap();
    let vectors = dir.path().join("latin1.w2v.txt");
    let mut bytes = b"3 3\ncaf".to_vec();
    bytes.extend_from_slice(&[0xe9]);
    bytes.extend_from_slice(b" 0.1 0.2 0.3\nsnow 0.4 0.8 0.3\nski 0.4 0.7 0.3\n");
    std::fs::write(&vectors, bytes).unwrap();
    let v = vectors.to_str().unwrap();
    let config = |policy: &str| {
        let path = dir.path().join(format!("{policy}.toml"));
        let toml = format!(
            "run_dir = {:?}\n[data.dataset]\nroot = {:?}\n[text]\nvectors = {v:?}\nnon_utf8 = {policy:?}\n",
            dir.path().join("run"),
            dir.path().join("data"),
        );
        std::fs::write(&path, toml).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (latin1, refuse) = (config("latin1"), config("refuse"));
    let (ok, _, err) = webly(&["text", "neighbors", "snow", "--config", &refuse]);
    assert!(!ok && err.contains("not UTF-8"), "{err}");
    for args in [
        vec!["text", "neighbors", "snow", "--config", &latin1, "-k", "1"],
        vec![
            "text",
            "neighbors",
            "snow",
            "--vectors",
            v,
            "--config",
            &latin1,
            "-k",
            "1",
        ],
    ] {
        let (ok, stdout, err) = webly(&args);
        assert!(ok, "{args:?}: {err}");
        assert!(stdout.contains("ski"), "{stdout}");
    }
}

#[test]
fn synth_refuses_to_overwrite_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let o = out.to_str().unwrap();
    let args = ["synth", "--out", o, "--images", "6", "--seed", "2"];
    assert!(webly(&args).0);
    let (ok, _, err) = webly(&args);
    assert!(!ok && err.contains("overwrite"), "{err}");
    let (ok, _, err) = webly(&[&args[..], &["--overwrite"]].concat());
    assert!(ok, "{err}");
    let (ok, _, err) = webly(&["synth", "--images", "6"]);
    assert!(!ok && err.contains("--out"), "{err}");
}

#[test]
fn serve_listens_on_loopback_by_default() {
    let (ok, stdout, _) = webly(&["serve", "--help"]);
    assert!(ok);
    assert!(stdout.contains("127.0.0.1:8080"), "{stdout}");
    let (ok, _, err) = webly(&["serve", "--config", "/nonexistent/run.toml"]);
    assert!(!ok && err.contains("/nonexistent/run.toml"), "{err}");
}

/// A folder given where a file is expected is named once, and its cause said once.
#[test]
fn a_folder_given_as_a_file_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("a_folder");
    std::fs::create_dir_all(&folder).unwrap();
    let f = folder.to_str().unwrap();
    for args in [
        &["run", "--config", f][..],
        &["text", "neighbors", "snow", "--vectors", f][..],
    ] {
        let (ok, _, err) = webly(args);
        assert!(!ok, "{args:?}");
        assert_eq!(err.matches(f).count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("os error 21").count(), 1, "{args:?}: {err}");
    }
}

/// `-k 0` asks for nothing: refused with a clear error before the run is opened.
#[test]
fn query_and_tag_refuse_k_zero() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("run.toml");
    let run_dir = dir.path().join("run");
    std::fs::write(
        &cfg,
        format!(
            "run_dir = {:?}\n[data.dataset]\nroot = {:?}\n",
            run_dir.display().to_string(),
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    for args in [
        &["query", "snow", "-k", "0", "--config", c][..],
        &["tag", "x.jpg", "-k", "0", "--config", c][..],
    ] {
        let (ok, stdout, err) = webly(args);
        assert!(!ok, "{args:?}: {stdout}");
        assert!(
            err.contains("-k 0") && err.contains("at least one"),
            "{args:?}: {err}"
        );
    }
    assert!(!run_dir.exists(), "the run folder was touched");
}
