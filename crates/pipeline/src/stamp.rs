//! Stage reuse: a stage writes `stamp.json` holding a fingerprint of its inputs (its config, the
//! stamps of the stages it read, and a [`content_signature`] of the files it reads) after its
//! outputs; it is skipped when the stamp matches.
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{PipelineError, Result};

/// The file a finished stage leaves in its folder.
pub const STAMP_FILE: &str = "stamp.json";

/// A fingerprint of anything serialisable (its JSON form, hashed).
pub fn fingerprint<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let json = serde_json::to_vec(value).map_err(|source| PipelineError::Json {
        what: "fingerprinting a config".into(),
        source,
    })?;
    Ok(hex::encode(Sha256::digest(&json))[..16].to_string())
}

/// The inputs recorded by the stamp in `dir`, if any (not verified: see [`verified`]).
pub fn read(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(STAMP_FILE)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("inputs")?.as_str().map(str::to_string)
}

/// What the stamp in a stage folder says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Finished with these inputs, and every output holds what was written.
    Fresh,
    /// Not finished, or finished with other inputs.
    Stale,
    /// Finished with these inputs, but an output is missing, cut short or edited.
    Damaged(webly_io::Damage),
}

/// Checks the stage in `dir` against `inputs` and the checksums its stamp recorded of `outputs`
/// (file names relative to `dir`; a stamp that records other files, or none, is damaged).
pub fn check(dir: &Path, inputs: &str, outputs: &[&str]) -> Check {
    let Some(stamp) = read_stamp(dir) else {
        return Check::Stale;
    };
    if stamp.inputs != inputs {
        return Check::Stale;
    }
    match verify_outputs(dir, &stamp, outputs) {
        Ok(()) => Check::Fresh,
        Err(d) => Check::Damaged(d),
    }
}

/// Whether `dir` holds a finished stage with these inputs whose `outputs` verify; when they do
/// not, says which file is damaged and that the stage is rebuilt.
pub fn is_fresh(dir: &Path, inputs: &str, outputs: &[&str]) -> bool {
    match check(dir, inputs, outputs) {
        Check::Fresh => true,
        Check::Stale => false,
        Check::Damaged(d) => {
            eprintln!("[stamp] {d}; rebuilding that stage");
            false
        }
    }
}

/// The inputs of the finished stage in `dir` once its `outputs` verify: what a reader (query,
/// eval, index) checks before it uses them.
///
/// # Errors
/// [`PipelineError::Missing`] without a stamp, [`PipelineError::Damaged`] naming the damaged
/// file; both name `repair`, the command that makes the stage again.
pub fn verified(dir: &Path, outputs: &[&str], what: &'static str, repair: &str) -> Result<String> {
    let stamp = read_stamp(dir).ok_or_else(|| PipelineError::Missing {
        what,
        path: dir.to_path_buf(),
        hint: repair.to_string(),
    })?;
    verify_outputs(dir, &stamp, outputs).map_err(|d| PipelineError::Damaged {
        path: d.path,
        what: d.what,
        repair: repair.to_string(),
    })?;
    Ok(stamp.inputs)
}

/// Marks the stage in `dir` finished with these inputs (atomically), recording the checksum of
/// each of its `outputs` (names relative to `dir`).
pub fn write(dir: &Path, inputs: &str, outputs: &[&str]) -> Result<()> {
    let files = webly_io::checksums(dir, outputs)
        .map_err(PipelineError::io("checksumming the outputs in", dir))?;
    let json = serde_json::json!({ "inputs": inputs, "files": files });
    crate::fsio::write_atomic(&dir.join(STAMP_FILE), json.to_string().as_bytes())
}

/// A parsed `stamp.json`.
struct Stamp {
    inputs: String,
    /// `None`: written before stamps recorded checksums.
    files: Option<BTreeMap<String, String>>,
}

fn read_stamp(dir: &Path) -> Option<Stamp> {
    let text = std::fs::read_to_string(dir.join(STAMP_FILE)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let inputs = value.get("inputs")?.as_str()?.to_string();
    let files = value
        .get("files")
        .and_then(|f| serde_json::from_value(f.clone()).ok());
    Some(Stamp { inputs, files })
}

fn verify_outputs(
    dir: &Path,
    stamp: &Stamp,
    outputs: &[&str],
) -> std::result::Result<(), webly_io::Damage> {
    let damage = |what: String| webly_io::Damage {
        path: dir.join(STAMP_FILE),
        what,
    };
    let Some(files) = &stamp.files else {
        // A stage without outputs of its own (the dataset) has nothing to verify.
        if outputs.is_empty() {
            return Ok(());
        }
        return Err(damage(
            "records no checksums (written by an older webly)".into(),
        ));
    };
    let recorded: Vec<&str> = files.keys().map(String::as_str).collect();
    let mut wanted = outputs.to_vec();
    wanted.sort_unstable();
    if recorded != wanted {
        return Err(damage(format!(
            "records {recorded:?}, not the stage's outputs {wanted:?}"
        )));
    }
    if files.is_empty() {
        return Ok(());
    }
    webly_io::verify(dir, files)
}

/// Forgets a stage's stamp before it is rerun, so an interrupted rerun is never taken as done.
pub fn clear(dir: &Path) -> Result<()> {
    match std::fs::remove_file(dir.join(STAMP_FILE)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(PipelineError::io("removing the stamp in", dir)(e)),
    }
}

/// A file modified less than this before a signature is taken is "racy": a later edit within
/// the same timestamp tick (1-2 s on FAT, some network and older file systems) that keeps the
/// size would leave size and mtime unchanged, so such a file is signed by a hash of its content.
pub const RACY_WINDOW: Duration = Duration::from_secs(3);

/// Signature of what a list of files contains, cheap to recompute on an unchanged tree.
///
/// Each file is signed by its size and modification time (ns), which every edit changes, read
/// with one `stat` and no read of the content. Where those are unreliable the content is hashed
/// (SHA-256): when the mtime lies within [`RACY_WINDOW`] of the time of signing (the same rule as
/// git's "racily clean" entries) or cannot be read. What was signed is kept in `table` (a TSV:
/// path, size, mtime, content hash or `-`), so a file keeps the kind of signature it was first
/// given while its size and mtime stay the same, and a hashed file is not hashed again once its
/// entry is older than the window. A missing file is signed as missing. `table` is rewritten
/// atomically; a table that cannot be read is ignored (everything is signed afresh).
pub fn content_signature(files: &[PathBuf], table: &Path) -> Result<String> {
    let mut sigs = content_signatures(&[files], table)?;
    Ok(sigs.pop().unwrap_or_default())
}

/// As [`content_signature`], one signature per group of files, with one `table` for them all
/// (so that stages can depend on some groups only: training on the training images, the test
/// embeddings on the test images).
pub fn content_signatures(groups: &[&[PathBuf]], table: &Path) -> Result<Vec<String>> {
    let now = SystemTime::now();
    let old = read_table(table);
    let mut new: Vec<(String, Entry)> = Vec::new();
    let mut sigs = Vec::with_capacity(groups.len());
    for files in groups {
        let mut h = Sha256::new();
        for path in *files {
            let key = path.display().to_string();
            let entry = sign_file(path, old.entries.get(&key), old.written, now)?;
            h.update(key.as_bytes());
            h.update([0]);
            h.update(entry.line().as_bytes());
            h.update([b'\n']);
            new.push((key, entry));
        }
        sigs.push(hex::encode(h.finalize())[..16].to_string());
    }
    write_table(table, &new, now)?;
    Ok(sigs)
}

/// One file's signature: size and mtime in ns (`None`: missing), and its content hash when the
/// mtime was not to be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    size: Option<u64>,
    mtime_ns: Option<u128>,
    hash: Option<String>,
}

impl Entry {
    fn line(&self) -> String {
        let num = |v: Option<u128>| v.map_or("-".to_string(), |v| v.to_string());
        format!(
            "{}\t{}\t{}",
            num(self.size.map(u128::from)),
            num(self.mtime_ns),
            self.hash.as_deref().unwrap_or("-")
        )
    }
}

struct Table {
    written: Option<u128>,
    entries: HashMap<String, Entry>,
}

fn ns(t: SystemTime) -> Option<u128> {
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_nanos())
}

fn sign_file(
    path: &Path,
    old: Option<&Entry>,
    table_written: Option<u128>,
    now: SystemTime,
) -> Result<Entry> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Entry {
                size: None,
                mtime_ns: None,
                hash: None,
            })
        }
        Err(e) => return Err(PipelineError::io("reading the metadata of", path)(e)),
    };
    let size = Some(meta.len());
    let mtime_ns = meta.modified().ok().and_then(ns);
    let racy_before = |t: Option<u128>| match (mtime_ns, t) {
        (Some(m), Some(t)) => m + RACY_WINDOW.as_nanos() > t,
        _ => true,
    };
    if let Some(old) = old.filter(|o| o.size == size && o.mtime_ns == mtime_ns) {
        // Same size and mtime: trust the entry unless the file was racy when it was written.
        if !racy_before(table_written) {
            return Ok(old.clone());
        }
        if old.hash.is_some() {
            return Ok(Entry {
                hash: Some(hash_file(path)?),
                ..old.clone()
            });
        }
        // Signed by size and mtime while racy: cannot happen (racy files are hashed), but an
        // edited table could say so; then sign afresh.
    }
    let hash = match racy_before(ns(now)) {
        true => Some(hash_file(path)?),
        false => None,
    };
    Ok(Entry {
        size,
        mtime_ns,
        hash,
    })
}

fn hash_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(PipelineError::io("reading", path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(PipelineError::io("reading", path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// First line `written <ns>`, then `path<TAB>size<TAB>mtime<TAB>hash` lines.
fn read_table(path: &Path) -> Table {
    let mut table = Table {
        written: None,
        entries: HashMap::new(),
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return table;
    };
    let mut lines = text.lines();
    table.written = lines
        .next()
        .and_then(|l| l.strip_prefix("written\t"))
        .and_then(|t| t.parse().ok());
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        if let [p, size, mtime, hash] = f[..] {
            let entry = Entry {
                size: size.parse().ok(),
                mtime_ns: mtime.parse().ok(),
                hash: (hash != "-").then(|| hash.to_string()),
            };
            table.entries.insert(p.to_string(), entry);
        }
    }
    table
}

fn write_table(path: &Path, entries: &[(String, Entry)], now: SystemTime) -> Result<()> {
    let mut text = format!("written\t{}\n", ns(now).unwrap_or(0));
    for (p, e) in entries {
        if !p.contains(['\t', '\n']) {
            text += &format!("{p}\t{}\n", e.line());
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(PipelineError::io("creating", dir))?;
    }
    crate::fsio::write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets a file's mtime `secs` seconds in the past (out of the racy window).
    fn age(path: &Path, secs: u64) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn content_signature_sees_edits_and_does_not_rehash_an_unchanged_tree() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("sig.tsv");
        let a = dir.path().join("a.txt");
        let b = dir.path().join("b.txt");
        std::fs::write(&a, "snow ski").unwrap();
        std::fs::write(&b, "beach").unwrap();
        age(&a, 100);
        age(&b, 100);
        let files = vec![a.clone(), b.clone()];
        let s1 = content_signature(&files, &table).unwrap();
        // Old files are signed by size and mtime: no hash recorded.
        let t = std::fs::read_to_string(&table).unwrap();
        assert!(t.lines().skip(1).all(|l| l.ends_with("\t-")), "{t}");
        assert_eq!(content_signature(&files, &table).unwrap(), s1);
        // An edit in place (same key, same size) with a new mtime changes the signature.
        std::fs::write(&a, "snow sky").unwrap();
        age(&a, 50);
        let s2 = content_signature(&files, &table).unwrap();
        assert_ne!(s2, s1);
        // A fresh edit that keeps size and mtime (a coarse clock): caught by the content hash.
        std::fs::write(&b, "beech").unwrap();
        let s3 = content_signature(&files, &table).unwrap();
        assert_ne!(s3, s2);
        let t = std::fs::read_to_string(&table).unwrap();
        assert!(t.contains("b.txt\t5\t") && !t.ends_with("\t-\n"), "{t}");
        let mtime = std::fs::metadata(&b).unwrap().modified().unwrap();
        std::fs::write(&b, "beach").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&b)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let s4 = content_signature(&files, &table).unwrap();
        assert_ne!(s4, s3, "same size and mtime, other content");
        assert_eq!(content_signature(&files, &table).unwrap(), s4, "stable");
        // A removed file is seen.
        std::fs::remove_file(&a).unwrap();
        assert_ne!(content_signature(&files, &table).unwrap(), s4);
    }

    #[test]
    fn a_hashed_entry_is_reused_once_it_is_out_of_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        std::fs::write(&a, "x").unwrap();
        let mtime = std::fs::metadata(&a).unwrap().modified().unwrap();
        let old = Entry {
            size: Some(1),
            mtime_ns: ns(mtime),
            hash: Some("recorded".into()),
        };
        let later = ns(mtime + RACY_WINDOW + Duration::from_secs(1));
        // Written well after the mtime: the recorded hash is trusted without reading the file
        // (a wrong recorded hash proves the file was not read).
        let e = sign_file(&a, Some(&old), later, SystemTime::now()).unwrap();
        assert_eq!(e.hash.as_deref(), Some("recorded"));
        // Written inside the window: hashed again.
        let e = sign_file(&a, Some(&old), ns(mtime), SystemTime::now()).unwrap();
        assert_ne!(e.hash.as_deref(), Some("recorded"));
    }

    #[test]
    fn stamp_round_trip_and_change_detection() {
        let dir = tempfile::tempdir().unwrap();
        let a = fingerprint(&("cfg", 1)).unwrap();
        let b = fingerprint(&("cfg", 2)).unwrap();
        assert_ne!(a, b);
        assert!(!is_fresh(dir.path(), &a, &[]));
        write(dir.path(), &a, &[]).unwrap();
        assert!(is_fresh(dir.path(), &a, &[]));
        assert!(!is_fresh(dir.path(), &b, &[]));
        clear(dir.path()).unwrap();
        assert!(!is_fresh(dir.path(), &a, &[]));
        clear(dir.path()).unwrap();
    }

    #[test]
    fn a_stamp_vouches_for_its_outputs_only_while_they_verify() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("w.bin"), [7u8; 64]).unwrap();
        std::fs::write(d.join("keys.txt"), "a\nb\nc\n").unwrap();
        let outs = ["w.bin", "keys.txt"];
        write(d, "in", &outs).unwrap();
        assert_eq!(check(d, "in", &outs), Check::Fresh);
        assert_eq!(verified(d, &outs, "x", "webly run").unwrap(), "in");
        // Other inputs: stale, whatever the files.
        assert_eq!(check(d, "other", &outs), Check::Stale);
        // A stamp asked for other outputs than it recorded.
        assert!(matches!(check(d, "in", &["w.bin"]), Check::Damaged(_)));
        // Shuffled lines, a flipped byte, a cut: damaged, naming the file.
        std::fs::write(d.join("keys.txt"), "b\na\nc\n").unwrap();
        match check(d, "in", &outs) {
            Check::Damaged(x) => assert_eq!(x.path, d.join("keys.txt")),
            other => panic!("{other:?}"),
        }
        std::fs::write(d.join("keys.txt"), "a\nb\nc\n").unwrap();
        std::fs::write(d.join("w.bin"), [7u8; 63]).unwrap();
        let err = verified(d, &outs, "a finished training", "webly train").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("w.bin") && msg.contains("webly train"),
            "{msg}"
        );
        assert!(!is_fresh(d, "in", &outs));
        // A stamp of an older webly (no checksums) is not trusted.
        std::fs::write(d.join(STAMP_FILE), r#"{"inputs":"in"}"#).unwrap();
        assert!(matches!(check(d, "in", &outs), Check::Damaged(_)));
        assert_eq!(check(d, "in", &[]), Check::Fresh, "nothing to verify");
        assert_eq!(read(d).as_deref(), Some("in"));
    }
}
