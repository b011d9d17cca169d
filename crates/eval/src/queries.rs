//! Query set files: one query per line, `#` comments, blank lines ignored.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{EvalError, Result};

/// A named list of text queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuerySet {
    /// The file stem (`simple` for `eval/queries/simple.txt`).
    pub name: String,
    /// The queries, one per non-empty line, in file order.
    pub queries: Vec<String>,
}

impl QuerySet {
    /// Reads a query file; an empty set or a duplicated query is an error naming file and line.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(QuerySet {
            name,
            queries: parse(path, &text)?,
        })
    }

    /// Every `*.txt` set in a folder, sorted by name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>> {
        let entries = std::fs::read_dir(dir).map_err(|e| EvalError::io(dir, e))?;
        let mut paths = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| EvalError::io(dir, e))?.path();
            if path.extension().is_some_and(|x| x == "txt") {
                paths.push(path);
            }
        }
        paths.sort();
        paths.iter().map(|p| Self::load(p)).collect()
    }
}

fn parse(path: &Path, text: &str) -> Result<Vec<String>> {
    let err = |line: usize, what: String| EvalError::Query {
        path: path.to_path_buf(),
        line,
        what,
    };
    let mut queries: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let q = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if q.is_empty() || q.starts_with('#') {
            continue;
        }
        if queries.contains(&q) {
            return Err(err(i + 1, format!("query {q:?} appears twice")));
        }
        queries.push(q);
    }
    if queries.is_empty() {
        return Err(err(text.lines().count(), "no queries in file".into()));
    }
    Ok(queries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_with_comments_and_names_set_by_stem() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mine.txt");
        std::fs::write(&p, "# header\n\n  yellow   car \ncake\n").unwrap();
        let set = QuerySet::load(&p).unwrap();
        assert_eq!(set.name, "mine");
        assert_eq!(set.queries, vec!["yellow car", "cake"]);
    }

    #[test]
    fn errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dup.txt");
        std::fs::write(&p, "cake\n# c\ncake\n").unwrap();
        let msg = QuerySet::load(&p).unwrap_err().to_string();
        assert!(msg.contains("dup.txt:3:"), "{msg}");
        std::fs::write(&p, "# nothing\n").unwrap();
        assert!(QuerySet::load(&p).is_err());
    }

    #[test]
    fn shipped_sets_have_twelve_queries_each() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/queries");
        let sets = QuerySet::load_dir(&dir).unwrap();
        let simple = sets.iter().find(|s| s.name == "simple").unwrap();
        let complex = sets.iter().find(|s| s.name == "complex").unwrap();
        assert_eq!((simple.queries.len(), complex.queries.len()), (12, 12));
        assert_eq!(complex.queries[0], "yellow car");
    }
}
