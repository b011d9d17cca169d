//! Collections: your own photo folders, searchable with a finished model, kept up to date in
//! place (`webly collection create | add | remove | sync | info`).
//!
//! A collection is a folder of its own (layout: [`files`]) made from a model folder (read only:
//! [`crate::portable::PortableModel`]) and one or more image roots. Every change finds the image
//! files in scope, compares their signatures (size, modification time) with the file table,
//! embeds only new and changed files, inserts them into the existing HNSW graph and takes
//! deleted, removed and changed ones out (compacting the graph when deletions pass
//! [`webly_index::DEFAULT_COMPACT_SHARE`]), measures recall@k against exact search, and commits:
//! the new generation folder is written whole, then `collection.json` is replaced atomically
//! (the commit point), then the old generation is removed. A killed change leaves the collection
//! as it was; the embeddings it computed are kept in `pending/` and reused by the next command.
//! One writer at a time (`FolderLock`); `query`, `tag`, `export` and `serve` read beside each other.
//! A model whose weights changed (retrained) makes the next change embed every image again.
mod embed;
pub mod files;
pub mod scan;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use webly_index::{Embeddings, Expect, Fingerprints, Hnsw, HnswConfig};
use webly_io::{FolderLock, LockKind};

use crate::error::{PipelineError, Result};
use crate::portable::PortableModel;
use files::{
    generation_dir, now_unix, read_files, read_manifest, write_files, write_manifest, Change,
    CollectionManifest, FileEntry, Root, Signature, State, EMBEDDINGS_FILE, FILES_FILE,
    FORMAT_VERSION, INDEX_DIR, MANIFEST_FILE, PENDING_DIR,
};
use scan::{key_of, root_name, Scan};

pub use embed::{CHUNK_ENV, CHUNK_IMAGES};

/// What a change did, and the collection after it.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    /// The collection folder.
    pub dir: PathBuf,
    /// Its manifest after the change.
    pub manifest: CollectionManifest,
    /// Images that could not be read in this change, with the reason.
    pub skipped: Vec<String>,
    /// Files passed over (names that cannot be keys).
    pub passed_over: Vec<String>,
    /// Folders given that hold no image file.
    pub empty: Vec<PathBuf>,
    /// Nothing differed from the last committed generation: nothing was written.
    pub unchanged: bool,
}

impl fmt::Display for ChangeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.manifest;
        let c = &m.last_change;
        for s in self.skipped.iter().chain(&self.passed_over) {
            writeln!(f, "[collection] skipped {s}")?;
        }
        for e in &self.empty {
            writeln!(
                f,
                "[collection] warning: no image file ({}) under {}",
                scan::IMAGE_EXTENSIONS.map(|x| format!(".{x}")).join(" "),
                e.display()
            )?;
        }
        if self.unchanged {
            writeln!(
                f,
                "[collection] {}: nothing changed since generation {}: nothing written",
                c.command, m.generation
            )?;
        } else {
            self.write_change(f)?;
        }
        let recall = m.recall.as_ref().map_or(String::new(), |r| {
            format!(", recall@{} {:.4} against exact search", r.k, r.recall)
        });
        write!(
            f,
            "{}: {} images indexed, {} unreadable, {} removed by you, in {} folder(s){recall}",
            self.dir.display(),
            m.images,
            m.skipped,
            m.excluded,
            m.roots.len()
        )
    }
}

impl ChangeReport {
    /// The change's counts and time split.
    fn write_change(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.manifest.last_change;
        writeln!(
            f,
            "[collection] {}: {} embedded ({} changed, {} reused from an interrupted change), {} \
             taken out (deleted, removed, or the old version of a changed file), {} unreadable{}{}",
            c.command,
            c.added,
            c.changed,
            c.resumed,
            c.removed,
            c.skipped,
            if c.rebuilt {
                "; every image embedded again (new model) and the index built afresh"
            } else {
                ""
            },
            if c.compacted { "; graph compacted" } else { "" },
        )?;
        writeln!(
            f,
            "[collection] time: embedding {:.1} s | index and files {:.1} s",
            c.embed_seconds, c.index_seconds
        )
    }
}

/// `webly collection create DIR --model MODEL ROOT...`: a new collection of the images under
/// `roots`, embedded with the model in `model_dir`.
///
/// # Errors
/// [`PipelineError::Usage`] when `dir` already holds a collection, holds other files (a photo
/// folder given by mistake: nothing is written there) or no root is given; a root
/// that is not a folder (named); the model's errors ([`PortableModel::open`]);
/// [`PipelineError::Busy`] when another command holds `dir`.
pub fn create(dir: &Path, model_dir: &Path, roots: &[PathBuf]) -> Result<ChangeReport> {
    if roots.is_empty() {
        return Err(PipelineError::Usage(
            "give at least one image folder to index".into(),
        ));
    }
    let dir = absolute(dir)?;
    refuse_a_collection(&dir)?;
    for r in roots {
        if !r.is_dir() {
            return Err(no_such_folder(r));
        }
    }
    // Checked before the lock file is made: nothing is written into a folder of other files.
    if let Some(other) = foreign_entry(&dir)? {
        return Err(PipelineError::Usage(format!(
            "{} is not empty ({} is not a collection's): give a new folder for the collection",
            dir.display(),
            other.display()
        )));
    }
    let lock = lock(&dir, LockKind::Exclusive)?;
    refuse_a_collection(&dir)?;
    let model = PortableModel::open(model_dir)?;
    let mut state = Writer {
        dir,
        _lock: lock,
        model,
        manifest: None,
        files: Vec::new(),
        hnsw: None,
        committed: None,
    };
    let mut scope = Vec::new();
    for r in roots {
        let root = state.new_root(r)?;
        scope.push((root.clone(), root.path.clone()));
    }
    state.change("create", &scope)
}

/// `webly collection add DIR PATH...`: new folders become roots; files and folders under a
/// root are (re)read, including ones removed before.
///
/// # Errors
/// A path that does not exist (named); a file outside every root; as [`sync`].
pub fn add(dir: &Path, paths: &[PathBuf]) -> Result<ChangeReport> {
    let mut state = Writer::open(dir)?;
    let mut scope = Vec::new();
    for p in paths {
        let p = absolute(p)?;
        if !p.exists() {
            return Err(PipelineError::Missing {
                what: "a file or folder to add",
                path: p,
                hint: "webly collection add with an existing path".into(),
            });
        }
        let root = match state.root_of(&p) {
            Some(root) => root,
            None if p.is_dir() => state.new_root(&p)?,
            None => {
                return Err(PipelineError::Usage(format!(
                    "{} is not under any folder of the collection: add its folder",
                    p.display()
                )))
            }
        };
        // Files removed before are wanted again.
        if let Some(prefix) = key_of(&root, &p) {
            for f in &mut state.files {
                if f.state == State::Excluded && in_prefix(&f.key, &prefix) {
                    f.state = State::Skipped(String::new());
                    f.signature = Signature::default();
                }
            }
        }
        scope.push((root, p));
    }
    state.change("add", &scope)
}

/// `webly collection remove DIR PATH...`: files (or every file under folders) taken out of the
/// index and kept out until added again; a root given itself is dropped with all its images.
///
/// # Errors
/// [`PipelineError::Usage`] for a path that names nothing in the collection.
pub fn remove(dir: &Path, paths: &[PathBuf]) -> Result<ChangeReport> {
    let mut state = Writer::open(dir)?;
    let mut taken = Vec::new();
    for p in paths {
        let p = absolute(p)?;
        let manifest = state.manifest()?;
        if let Some(at) = manifest.roots.iter().position(|r| r.path == p) {
            let root = state.manifest_mut()?.roots.remove(at);
            let prefix = root.name.clone();
            state.files.retain(|f| {
                let inside = in_prefix(&f.key, &prefix);
                if inside && f.state == State::Indexed {
                    taken.push(f.key.clone());
                }
                !inside
            });
            continue;
        }
        let prefix = state.root_of(&p).and_then(|root| key_of(&root, &p));
        let mut found = false;
        if let Some(prefix) = prefix {
            for f in &mut state.files {
                if in_prefix(&f.key, &prefix) {
                    found = true;
                    if f.state == State::Indexed {
                        taken.push(f.key.clone());
                    }
                    f.state = State::Excluded;
                }
            }
        }
        if !found {
            return Err(PipelineError::Usage(format!(
                "{} names no image of the collection {}",
                p.display(),
                state.dir.display()
            )));
        }
    }
    state.take_out("remove", taken)
}

/// `webly collection sync DIR`: every root read again; new, changed and deleted images found by
/// signature.
///
/// # Errors
/// [`PipelineError::Missing`] naming a root that is not there (an unmounted drive: nothing is
/// deleted); [`PipelineError::Busy`]; the model's errors.
pub fn sync(dir: &Path) -> Result<ChangeReport> {
    let state = Writer::open(dir)?;
    let scope = state
        .manifest()?
        .roots
        .iter()
        .map(|r| (r.clone(), r.path.clone()))
        .collect::<Vec<_>>();
    state.change("sync", &scope)
}

/// `webly collection info DIR`: the manifest and the files that could not be read, with why
/// (read beside a change: the last committed state).
///
/// # Errors
/// [`PipelineError::Missing`] when `dir` is not a collection.
pub fn info(dir: &Path) -> Result<CollectionInfo> {
    let dir = absolute(dir)?;
    let manifest = read_manifest(&dir)?;
    let table = read_files(&generation_dir(&dir, manifest.generation).join(FILES_FILE))?;
    let unreadable = table
        .into_iter()
        .filter_map(|f| match f.state {
            State::Skipped(reason) => Some(Unreadable { key: f.key, reason }),
            _ => None,
        })
        .collect();
    Ok(CollectionInfo {
        manifest,
        unreadable,
    })
}

/// What `webly collection info` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionInfo {
    /// The manifest.
    #[serde(flatten)]
    pub manifest: CollectionManifest,
    /// Files that could not be read, with why.
    pub unreadable: Vec<Unreadable>,
}

/// A file that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    /// Its key.
    pub key: String,
    /// Why (names the file).
    pub reason: String,
}

impl fmt::Display for CollectionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.manifest)?;
        for u in &self.unreadable {
            write!(f, "\nunreadable: {}", u.reason)?;
        }
        Ok(())
    }
}

/// What a reader of a collection needs: its manifest, the model, the index and the image files.
pub struct OpenCollection {
    /// The collection folder, absolute.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: CollectionManifest,
    /// The model it was embedded with.
    pub model: PortableModel,
    /// The index of its images.
    pub hnsw: Hnsw,
    /// The file of each indexed key.
    pub files: BTreeMap<String, PathBuf>,
}

/// Times a reader tries again when a change committed while it opened the collection.
const OPEN_TRIES: usize = 3;

/// Opens a collection for reading, beside a change in progress (readers take no lock: a change
/// writes a new generation and commits by replacing `collection.json`, so a reader sees the last
/// committed state; one that raced a commit opens the new generation). Checks that its model is
/// the one it was embedded with.
///
/// # Errors
/// [`PipelineError::Missing`]; [`PipelineError::Mismatch`] when the model was retrained since
/// (run `sync`).
pub fn open(dir: &Path) -> Result<OpenCollection> {
    let dir = absolute(dir)?;
    let mut tries = 0;
    loop {
        let manifest = read_manifest(&dir)?;
        let generation = manifest.generation;
        match open_generation(&dir, manifest) {
            Err(e) if tries + 1 < OPEN_TRIES => {
                // A commit removed the generation being read: open the new one.
                match read_manifest(&dir)?.generation == generation {
                    true => return Err(e),
                    false => tries += 1,
                }
            }
            done => return done,
        }
    }
}

fn open_generation(dir: &Path, manifest: CollectionManifest) -> Result<OpenCollection> {
    let model = PortableModel::open(&manifest.model)?;
    if model.fingerprint != manifest.model_fingerprint {
        return Err(PipelineError::Mismatch(format!(
            "the model in {} changed since the collection {} was indexed: run `webly collection \
             sync {}` to embed its images again",
            model.dir.display(),
            dir.display(),
            dir.display()
        )));
    }
    let generation = generation_dir(dir, manifest.generation);
    let hnsw = open_index(&generation, &manifest)?;
    let table = read_files(&generation.join(FILES_FILE))?;
    let files = table
        .into_iter()
        .filter(|f| f.state == State::Indexed)
        .filter_map(|f| scan::path_of(&manifest.roots, &f.key).map(|p| (f.key, p)))
        .collect();
    Ok(OpenCollection {
        dir: dir.to_path_buf(),
        manifest,
        model,
        hnsw,
        files,
    })
}

fn open_index(generation: &Path, manifest: &CollectionManifest) -> Result<Hnsw> {
    let expect = Expect {
        dim: manifest.dim,
        text_fingerprint: manifest.text_fingerprint.clone(),
    };
    Ok(Hnsw::open(&generation.join(INDEX_DIR), &expect)?)
}

/// A collection being changed: its exclusive lock, current state and model.
struct Writer {
    dir: PathBuf,
    _lock: FolderLock,
    model: PortableModel,
    /// `None` while being created.
    manifest: Option<CollectionManifest>,
    files: Vec<FileEntry>,
    hnsw: Option<Hnsw>,
    /// The roots and file table of the last committed generation (`None` while being created).
    committed: Option<(Vec<Root>, Vec<FileEntry>)>,
}

impl Writer {
    /// Takes the collection alone, clears what a killed change left (temporary files, an
    /// uncommitted generation), and reads the current state.
    fn open(dir: &Path) -> Result<Self> {
        let dir = absolute(dir)?;
        let lock = lock(&dir, LockKind::Exclusive)?;
        let manifest = read_manifest(&dir)?;
        lock.remove_stale_temporaries()
            .map_err(PipelineError::io("removing temporary files under", &dir))?;
        remove_other_generations(&dir, Some(manifest.generation))?;
        let generation = generation_dir(&dir, manifest.generation);
        let files = read_files(&generation.join(FILES_FILE))?;
        let hnsw = open_index(&generation, &manifest)?;
        let model = PortableModel::open(&manifest.model)?;
        Ok(Writer {
            dir,
            _lock: lock,
            model,
            committed: Some((manifest.roots.clone(), files.clone())),
            manifest: Some(manifest),
            files,
            hnsw: Some(hnsw),
        })
    }

    fn manifest(&self) -> Result<&CollectionManifest> {
        self.manifest
            .as_ref()
            .ok_or_else(|| PipelineError::Usage("the collection is not created yet".into()))
    }

    fn manifest_mut(&mut self) -> Result<&mut CollectionManifest> {
        self.manifest
            .as_mut()
            .ok_or_else(|| PipelineError::Usage("the collection is not created yet".into()))
    }

    fn roots(&self) -> Vec<Root> {
        self.manifest
            .as_ref()
            .map_or_else(Vec::new, |m| m.roots.clone())
    }

    /// The root holding `path` (the deepest, if roots nest).
    fn root_of(&self, path: &Path) -> Option<Root> {
        self.roots()
            .into_iter()
            .filter(|r| path.starts_with(&r.path))
            .max_by_key(|r| r.path.components().count())
    }

    /// Adds the folder `path` as a root (it must be a folder).
    fn new_root(&mut self, path: &Path) -> Result<Root> {
        let path = absolute(path)?;
        if !path.is_dir() {
            return Err(no_such_folder(&path));
        }
        let roots = self.roots();
        if let Some(r) = roots.iter().find(|r| r.path == path) {
            return Ok(r.clone());
        }
        let root = Root {
            name: root_name(&roots, &path),
            path,
        };
        self.pending_roots().push(root.clone());
        Ok(root)
    }

    /// Roots added by this change (kept in the manifest once it exists).
    fn pending_roots(&mut self) -> &mut Vec<Root> {
        if self.manifest.is_none() {
            self.manifest = Some(CollectionManifest {
                format_version: FORMAT_VERSION,
                model: self.model.dir.clone(),
                model_fingerprint: self.model.fingerprint.clone(),
                text_fingerprint: self.model.text.fingerprint.clone(),
                dim: self.model.text.dim,
                roots: Vec::new(),
                generation: 0,
                images: 0,
                skipped: 0,
                excluded: 0,
                deleted_share: 0.0,
                recall: None,
                last_change: Change::default(),
                created_unix: now_unix(),
                updated_unix: now_unix(),
            });
        }
        match self.manifest.as_mut() {
            Some(m) => &mut m.roots,
            None => unreachable!("set above"),
        }
    }

    /// Whether the model changed since the images were embedded (then every image is embedded
    /// again).
    fn model_changed(&self) -> bool {
        self.manifest
            .as_ref()
            .is_some_and(|m| m.model_fingerprint != self.model.fingerprint)
    }

    /// Reads the files in `scope` (root, path at or under it) against the table, embeds what is
    /// new or changed, takes out what is gone, and commits.
    fn change(mut self, command: &str, scope: &[(Root, PathBuf)]) -> Result<ChangeReport> {
        let rebuild = self.model_changed() || self.hnsw.is_none();
        let mut scope = scope.to_vec();
        if self.model_changed() {
            eprintln!(
                "[collection] the model in {} changed since the images were embedded: embedding \
                 every image again",
                self.model.dir.display()
            );
            scope = self
                .roots()
                .into_iter()
                .map(|r| (r.clone(), r.path))
                .collect();
        }
        for (root, _) in &scope {
            if !root.path.is_dir() {
                return Err(PipelineError::Usage(format!(
                    "{}: a folder of the collection is missing (an unmounted drive?); nothing was \
                     changed: mount it again, or drop it with `webly collection remove {} {}`",
                    root.path.display(),
                    self.dir.display(),
                    root.path.display()
                )));
            }
        }
        let mut found = Scan::default();
        for (root, path) in &scope {
            scan::scan(root, path, &mut found)?;
        }
        let prefixes: Vec<String> = scope
            .iter()
            .filter_map(|(root, path)| key_of(root, path))
            .collect();
        let empty: Vec<PathBuf> = scope
            .iter()
            .filter(|(root, path)| {
                key_of(root, path).is_some_and(|p| !found.found.keys().any(|k| in_prefix(k, &p)))
            })
            .map(|(_, path)| path.clone())
            .collect();
        let in_scope = |key: &str| prefixes.iter().any(|p| in_prefix(key, p));
        let mut table: BTreeMap<String, FileEntry> = std::mem::take(&mut self.files)
            .into_iter()
            .map(|f| (f.key.clone(), f))
            .collect();
        let mut take_out = Vec::new();
        let mut todo: Vec<embed::Todo> = Vec::new();
        let mut changed = 0;
        let keys: Vec<String> = table.keys().cloned().collect();
        for key in keys {
            if !in_scope(&key) && !rebuild {
                continue;
            }
            let entry = &table[&key];
            let indexed = entry.state == State::Indexed;
            match found.found.get(&key) {
                None if in_scope(&key) => {
                    if indexed {
                        take_out.push(key.clone());
                    }
                    table.remove(&key);
                }
                None => {}
                Some((path, sig)) => {
                    let same = *sig == entry.signature;
                    match &entry.state {
                        State::Excluded => {}
                        State::Indexed if same && !rebuild => {}
                        State::Skipped(_) if same && !rebuild => {}
                        state => {
                            if *state == State::Indexed {
                                take_out.push(key.clone());
                                changed += usize::from(!same);
                            }
                            todo.push(embed::Todo {
                                key: key.clone(),
                                path: path.clone(),
                                signature: *sig,
                            });
                        }
                    }
                }
            }
        }
        if rebuild {
            // Indexed files outside the scanned scope keep their signature, embedded again.
            let queued: std::collections::HashSet<String> =
                todo.iter().map(|t| t.key.clone()).collect();
            let roots = self.roots();
            for f in table.values() {
                if f.state == State::Indexed && !queued.contains(&f.key) {
                    if let Some(path) = scan::path_of(&roots, &f.key) {
                        todo.push(embed::Todo {
                            key: f.key.clone(),
                            path,
                            signature: f.signature,
                        });
                    }
                }
            }
        }
        for (key, (path, sig)) in &found.found {
            if !table.contains_key(key) {
                todo.push(embed::Todo {
                    key: key.clone(),
                    path: path.clone(),
                    signature: *sig,
                });
            }
        }
        let started = Instant::now();
        let done = embed::embed(&self.dir, &self.model, &todo)?;
        let embed_seconds = started.elapsed().as_secs_f64();
        let mut skipped_now = Vec::new();
        for s in &done.skipped {
            table.insert(
                s.key.clone(),
                FileEntry {
                    key: s.key.clone(),
                    signature: s.signature,
                    state: State::Skipped(s.reason.clone()),
                },
            );
            skipped_now.push(s.reason.clone());
        }
        for t in &done.keys_signatures {
            table.insert(
                t.0.clone(),
                FileEntry {
                    key: t.0.clone(),
                    signature: t.1,
                    state: State::Indexed,
                },
            );
        }
        self.files = table.into_values().collect();
        if !rebuild && done.keys_signatures.is_empty() && take_out.is_empty() && self.unchanged()? {
            return self.nothing_changed(command, found.passed_over, empty);
        }
        let started = Instant::now();
        let new = match done.keys_signatures.is_empty() {
            true => None,
            false => Some(Embeddings::new(
                done.matrix,
                self.model.text.dim,
                done.keys_signatures.into_iter().map(|(k, _)| k).collect(),
            )?),
        };
        let compacted = self.update_index(rebuild, &take_out, new.as_ref())?;
        let change = Change {
            command: command.into(),
            added: new.as_ref().map_or(0, Embeddings::len),
            changed,
            removed: if rebuild { 0 } else { take_out.len() },
            skipped: done.skipped.len(),
            resumed: done.resumed,
            rebuilt: rebuild && command != "create",
            compacted,
            embed_seconds,
            index_seconds: 0.0,
        };
        let mut report = self.commit(change, started, skipped_now, found.passed_over)?;
        report.empty = empty;
        Ok(report)
    }

    /// Whether the roots and the file table equal the last committed generation's.
    fn unchanged(&self) -> Result<bool> {
        let Some((roots, files)) = &self.committed else {
            return Ok(false);
        };
        fn sorted(f: &[FileEntry]) -> Vec<&FileEntry> {
            let mut v: Vec<&FileEntry> = f.iter().collect();
            v.sort_by(|a, b| a.key.cmp(&b.key));
            v
        }
        Ok(self.manifest()?.roots == *roots && sorted(files) == sorted(&self.files))
    }

    /// The report of a change that found nothing to do: the committed state, nothing written.
    fn nothing_changed(
        mut self,
        command: &str,
        passed_over: Vec<String>,
        empty: Vec<PathBuf>,
    ) -> Result<ChangeReport> {
        let mut manifest = match self.manifest.take() {
            Some(m) => m,
            None => return Err(PipelineError::Usage("no image folder was given".into())),
        };
        manifest.last_change = Change {
            command: command.into(),
            ..Change::default()
        };
        Ok(ChangeReport {
            dir: self.dir.clone(),
            manifest,
            skipped: Vec::new(),
            passed_over,
            empty,
            unchanged: true,
        })
    }

    /// Takes `keys` out of the index (files and folders removed, a root dropped) and commits.
    fn take_out(mut self, command: &str, keys: Vec<String>) -> Result<ChangeReport> {
        if self.model_changed() {
            // The removal is recorded in the table; the new model re-embeds the rest.
            return self.change(command, &[]);
        }
        let started = Instant::now();
        let compacted = self.update_index(false, &keys, None)?;
        let change = Change {
            command: command.into(),
            removed: keys.len(),
            compacted,
            ..Change::default()
        };
        self.commit(change, started, Vec::new(), Vec::new())
    }

    /// Applies a change to the index: a fresh build (`rebuild`), or removals then insertions
    /// into the graph, compacted when deleted nodes pass the share. Returns whether it compacted.
    fn update_index(
        &mut self,
        rebuild: bool,
        take_out: &[String],
        new: Option<&Embeddings>,
    ) -> Result<bool> {
        let dim = self.model.text.dim;
        let empty = || Embeddings::new(Vec::new(), dim, Vec::new());
        let config = HnswConfig::default();
        match (self.hnsw.as_mut(), rebuild) {
            (Some(hnsw), false) => {
                hnsw.remove(take_out);
                if let Some(new) = new {
                    hnsw.insert(new)?;
                }
                let compact = hnsw.deleted_share() > webly_index::DEFAULT_COMPACT_SHARE;
                if compact {
                    hnsw.compact();
                }
                hnsw.measure_recall();
                Ok(compact)
            }
            _ => {
                let all = match new {
                    Some(n) => n.clone(),
                    None => empty()?,
                };
                self.hnsw = Some(Hnsw::build(&all, &config)?);
                Ok(false)
            }
        }
    }

    /// Writes the next generation, then the manifest (the commit point), then removes the old
    /// generation and the pending embeddings.
    fn commit(
        mut self,
        mut change: Change,
        started: Instant,
        skipped: Vec<String>,
        passed_over: Vec<String>,
    ) -> Result<ChangeReport> {
        let Some(hnsw) = self.hnsw.as_mut() else {
            return Err(PipelineError::Empty("the collection has no index".into()));
        };
        let mut manifest = match self.manifest.take() {
            Some(m) => m,
            None => return Err(PipelineError::Usage("no image folder was given".into())),
        };
        let generation = manifest.generation + 1;
        let gen_dir = generation_dir(&self.dir, generation);
        if gen_dir.exists() {
            std::fs::remove_dir_all(&gen_dir).map_err(PipelineError::io("removing", &gen_dir))?;
        }
        std::fs::create_dir_all(&gen_dir).map_err(PipelineError::io("creating", &gen_dir))?;
        write_files(&gen_dir.join(FILES_FILE), &self.files)?;
        let rows: Vec<f32> = (0..hnsw.len())
            .flat_map(|r| hnsw.row_vector(r).to_vec())
            .collect();
        let emb_path = gen_dir.join(EMBEDDINGS_FILE);
        webly_io::write_matrix(&emb_path, hnsw.len(), self.model.text.dim, &rows)?;
        webly_io::write_ids(&webly_io::ids_path(&emb_path), &hnsw.keys().to_vec())?;
        let fingerprints = Fingerprints {
            model: self.model.fingerprint.clone(),
            text: self.model.text.fingerprint.clone(),
        };
        hnsw.save(&gen_dir.join(INDEX_DIR), &fingerprints)?;
        change.index_seconds = started.elapsed().as_secs_f64();
        let count = |want: fn(&State) -> bool| self.files.iter().filter(|f| want(&f.state)).count();
        manifest.generation = generation;
        manifest.model_fingerprint = self.model.fingerprint.clone();
        manifest.text_fingerprint = self.model.text.fingerprint.clone();
        manifest.images = hnsw.len();
        manifest.skipped = count(|s| matches!(s, State::Skipped(_)));
        manifest.excluded = count(|s| *s == State::Excluded);
        manifest.deleted_share = hnsw.deleted_share();
        manifest.recall = hnsw.recall().cloned();
        manifest.last_change = change;
        manifest.updated_unix = now_unix();
        write_manifest(&self.dir, &manifest)?;
        remove_other_generations(&self.dir, Some(generation))?;
        let pending = self.dir.join(PENDING_DIR);
        if pending.exists() {
            std::fs::remove_dir_all(&pending).map_err(PipelineError::io("removing", &pending))?;
        }
        Ok(ChangeReport {
            dir: self.dir.clone(),
            manifest,
            skipped,
            passed_over,
            empty: Vec::new(),
            unchanged: false,
        })
    }
}

/// A root given that is not a folder.
fn no_such_folder(path: &Path) -> PipelineError {
    PipelineError::Usage(format!(
        "{}: no such folder (give an existing image folder)",
        path.display()
    ))
}

/// [`PipelineError::Usage`] when `dir` already holds a collection.
fn refuse_a_collection(dir: &Path) -> Result<()> {
    match dir.join(MANIFEST_FILE).exists() {
        true => Err(PipelineError::Usage(format!(
            "{} is already a collection: use `webly collection add` or `sync`",
            dir.display()
        ))),
        false => Ok(()),
    }
}

/// An entry of `dir` that no collection (finished or interrupted) writes, if there is one: a
/// collection is made in a new folder, never in a photo folder given by mistake.
fn foreign_entry(dir: &Path) -> Result<Option<PathBuf>> {
    if !dir.exists() {
        return Ok(None);
    }
    let entries = std::fs::read_dir(dir).map_err(PipelineError::io("listing", dir))?;
    for entry in entries {
        let entry = entry.map_err(PipelineError::io("listing", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name == webly_io::LOCK_FILE
            || name == PENDING_DIR
            || name.starts_with("gen-")
            || webly_io::is_temporary(&name);
        if !ours {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

/// Whether `key` is `prefix` or lies under it.
fn in_prefix(key: &str, prefix: &str) -> bool {
    key == prefix
        || key
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(PipelineError::io("resolving", p))
}

/// Removes every generation folder but `keep` (what a killed change left, or the one a commit
/// replaced).
fn remove_other_generations(dir: &Path, keep: Option<u64>) -> Result<()> {
    let keep = keep.map(|g| generation_dir(dir, g));
    let entries = std::fs::read_dir(dir).map_err(PipelineError::io("listing", dir))?;
    for entry in entries {
        let entry = entry.map_err(PipelineError::io("listing", dir))?;
        let name = entry.file_name();
        let path = entry.path();
        if name.to_string_lossy().starts_with("gen-") && Some(&path) != keep.as_ref() {
            std::fs::remove_dir_all(&path).map_err(PipelineError::io("removing", &path))?;
        }
    }
    Ok(())
}

/// Takes the collection folder's writer lock without waiting (readers take none).
fn lock(dir: &Path, kind: LockKind) -> Result<FolderLock> {
    let lock = FolderLock::try_lock(dir, kind)
        .map_err(PipelineError::io("locking the collection", dir))?;
    lock.map_err(|holder| PipelineError::Busy {
        path: dir.to_path_buf(),
        holder: holder.map_or("another webly command".into(), |pid| {
            format!("webly process {pid}")
        }),
        wanted: "change it",
    })
}
