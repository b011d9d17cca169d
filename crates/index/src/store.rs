//! Saving an [`Hnsw`] to a folder (atomically) and opening it again.

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::flat::FlatGraph;
use crate::manifest::{DISTANCE, FORMAT_VERSION, GRAPH_FILE, KEYS_FILE, NODES_FILE, VECTORS_FILE};
use crate::node_rows::{NodeRows, MAX_ROWS};
use crate::{Expect, Fingerprints, Hnsw, IndexError, Keys, Manifest, Result, MANIFEST_FILE};

impl Hnsw {
    /// Writes the index into `dir`: a fresh temp folder beside it is filled (`vectors.f32`,
    /// `graph.u32`, `keys.txt`, `nodes.txt`, `manifest.json` last) and renamed into place,
    /// replacing any old `dir`.
    pub fn save(&mut self, dir: &Path, fingerprints: &Fingerprints) -> Result<Manifest> {
        let manifest = webly_io::write_dir_atomic(dir, |tmp| self.write_into(tmp, fingerprints))
            .map_err(|e| match e {
                webly_io::AtomicError::Write(e) => e,
                webly_io::AtomicError::Io(e) => IndexError::io(dir, e),
            })?;
        self.manifest = Some(manifest.clone());
        Ok(manifest)
    }

    fn write_into(&self, tmp: &Path, fp: &Fingerprints) -> Result<Manifest> {
        write_file(&tmp.join(VECTORS_FILE), &self.flat.vector_bytes())?;
        write_file(&tmp.join(GRAPH_FILE), &self.flat.graph_bytes())?;
        // One key per line, each ended by a line break (an index without rows: an empty file).
        write_file(&tmp.join(KEYS_FILE), self.keys.as_text().as_bytes())?;
        let nodes: String = self.row_nodes.iter().map(|n| format!("{n}\n")).collect();
        write_file(&tmp.join(NODES_FILE), nodes.as_bytes())?;
        let mut manifest = self.new_manifest(fp);
        let names = data_files(&manifest);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        manifest.checksums =
            webly_io::checksums(tmp, &names).map_err(|e| IndexError::io(tmp, e))?;
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| IndexError::Manifest {
            path: tmp.join(MANIFEST_FILE),
            source: e,
        })?;
        write_file(&tmp.join(MANIFEST_FILE), &json)?;
        Ok(manifest)
    }

    fn new_manifest(&self, fp: &Fingerprints) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            dim: self.dim,
            count: self.keys.len(),
            nodes: self.node_rows.len(),
            deleted: self.node_rows.tombstones(),
            distance: DISTANCE.to_string(),
            config: self.config.clone(),
            model_fingerprint: fp.model.clone(),
            text_fingerprint: fp.text.clone(),
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            vectors_file: VECTORS_FILE.to_string(),
            graph_file: GRAPH_FILE.to_string(),
            keys_file: KEYS_FILE.to_string(),
            nodes_file: NODES_FILE.to_string(),
            recall: self.recall.clone(),
            checksums: Default::default(),
        }
    }

    /// Opens an index folder written by [`Hnsw::save`], refusing one built for another
    /// dimension or word space, or whose files differ from the checksums of its manifest
    /// ([`IndexError::Damaged`], checked before any file is parsed), or whose manifest records
    /// parameters out of range (a build never writes them; an insertion or compaction would
    /// use them). Tombstones ([`Manifest::deleted`]) come back as they were saved.
    pub fn open(dir: &Path, expected: &Expect) -> Result<Self> {
        let manifest = verify(dir)?;
        check_expected(dir, &manifest, expected)?;
        manifest
            .config
            .check()
            .map_err(|e| corrupt(&dir.join(MANIFEST_FILE), e.to_string()))?;
        let keys = read_keys(&dir.join(&manifest.keys_file), manifest.count)?;
        let vectors_path = dir.join(&manifest.vectors_file);
        let vectors = fs::read(&vectors_path).map_err(|e| IndexError::io(&vectors_path, e))?;
        let graph_path = dir.join(&manifest.graph_file);
        let graph = fs::read(&graph_path).map_err(|e| IndexError::io(&graph_path, e))?;
        let flat = FlatGraph::from_bytes(&vectors, &graph, manifest.nodes, manifest.dim)
            .map_err(|what| corrupt(dir, what))?;
        drop((vectors, graph));
        let (node_rows, row_nodes) = read_nodes(&dir.join(&manifest.nodes_file), &manifest)?;
        Ok(Hnsw {
            flat,
            keys,
            node_rows,
            row_nodes,
            dim: manifest.dim,
            config: manifest.config.clone(),
            recall: manifest.recall.clone(),
            manifest: Some(manifest),
        })
    }
}

/// The files of an index folder besides its manifest.
fn data_files(m: &Manifest) -> Vec<String> {
    vec![
        m.vectors_file.clone(),
        m.graph_file.clone(),
        m.keys_file.clone(),
        m.nodes_file.clone(),
    ]
}

/// Reads `dir/manifest.json` and checks every file of the folder against its checksum: what a
/// caller that reuses an index must know before trusting it.
///
/// # Errors
/// [`IndexError::Damaged`] naming the first file that is missing, cut short or edited (or a
/// manifest naming other files than the index has); the errors of [`read_manifest`].
pub fn verify(dir: &Path) -> Result<Manifest> {
    let manifest = read_manifest(dir)?;
    let names: Vec<String> = manifest.checksums.keys().cloned().collect();
    if names.len() != data_files(&manifest).len()
        || data_files(&manifest).iter().any(|n| !names.contains(n))
    {
        return Err(IndexError::Damaged {
            path: dir.join(MANIFEST_FILE),
            what: format!("records checksums of {names:?}, not of the index's files"),
        });
    }
    webly_io::verify(dir, &manifest.checksums).map_err(|d| IndexError::Damaged {
        path: d.path,
        what: d.what,
    })?;
    Ok(manifest)
}

/// Reads and parses `dir/manifest.json`.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = fs::read(&path).map_err(|e| IndexError::io(&path, e))?;
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| IndexError::Manifest {
        path: path.clone(),
        source: e,
    })?;
    if m.format_version != FORMAT_VERSION {
        return Err(corrupt(
            &path,
            format!(
                "format version {} (this build reads {FORMAT_VERSION})",
                m.format_version
            ),
        ));
    }
    Ok(m)
}

fn check_expected(dir: &Path, m: &Manifest, expected: &Expect) -> Result<()> {
    if m.dim != expected.dim {
        return Err(IndexError::DimMismatch {
            path: dir.to_path_buf(),
            found: m.dim,
            expected: expected.dim,
        });
    }
    if m.text_fingerprint != expected.text_fingerprint {
        return Err(IndexError::TextMismatch {
            path: dir.to_path_buf(),
            found: m.text_fingerprint.clone(),
            expected: expected.text_fingerprint.clone(),
        });
    }
    Ok(())
}

/// Reads `keys.txt` straight into the buffer of [`Keys`] (no string per key on the way).
fn read_keys(path: &Path, count: usize) -> Result<Keys> {
    let text = fs::read_to_string(path).map_err(|e| IndexError::io(path, e))?;
    let keys = Keys::from_text(text).map_err(|what| corrupt(path, what))?;
    if keys.len() != count {
        return Err(corrupt(
            path,
            format!("{} keys, manifest says {count}", keys.len()),
        ));
    }
    Ok(keys)
}

/// Reads the node of each row and groups rows by node, returning both directions (the rows of
/// each node, the node of each row); every node must hold a row but the manifest's `deleted`
/// tombstones.
fn read_nodes(path: &Path, m: &Manifest) -> Result<(NodeRows, Vec<u32>)> {
    if m.count > MAX_ROWS || u32::try_from(m.nodes).is_err() {
        return Err(corrupt(
            &path.with_file_name(MANIFEST_FILE),
            format!(
                "{} rows over {} nodes: more than u32 ids hold",
                m.count, m.nodes
            ),
        ));
    }
    let text = fs::read_to_string(path).map_err(|e| IndexError::io(path, e))?;
    let mut node_rows = NodeRows::with_nodes(m.nodes);
    let mut row_nodes = Vec::with_capacity(m.count.min(text.len() / 2));
    let mut lines = text.lines();
    for (line, row) in lines.by_ref().take(m.count).zip(0u32..) {
        let node: u32 = line
            .trim()
            .parse()
            .ok()
            .filter(|&n| (n as usize) < m.nodes)
            .ok_or_else(|| {
                corrupt(
                    path,
                    format!("line {}: not a node below {}", row as usize + 1, m.nodes),
                )
            })?;
        node_rows.push_row(node as usize, row);
        row_nodes.push(node);
    }
    // Lines past the manifest's count are only counted.
    let rows = row_nodes.len() + lines.count();
    let empty = node_rows.tombstones();
    if rows != m.count || empty != m.deleted {
        return Err(corrupt(
            path,
            format!(
                "{rows} rows over {} nodes, {empty} of them without a row; manifest says {} \
                 rows and {} tombstones",
                m.nodes, m.count, m.deleted
            ),
        ));
    }
    Ok((node_rows, row_nodes))
}

fn corrupt(path: &Path, what: String) -> IndexError {
    IndexError::Corrupt {
        path: path.to_path_buf(),
        what,
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| IndexError::io(path, e))
}
