//! The true content of generated images: `<root>/ground_truth.tsv`.

use std::collections::HashMap;
use std::path::Path;

use crate::error::DataError;

/// File name of the ground truth, beside the two layout folders.
pub const GROUND_TRUTH_FILE: &str = "ground_truth.tsv";

/// Key (`city/id`) -> the concept names truly in the image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroundTruth {
    concepts: HashMap<String, Vec<String>>,
}

impl GroundTruth {
    /// Reads `<root>/ground_truth.tsv` (lines `city/id<TAB>concept1,concept2,...`; an image with
    /// no concept has an empty second field). `Ok(None)` when the file does not exist; a
    /// malformed line or a key listed twice is an error naming file and line.
    pub fn load(root: &Path) -> Result<Option<GroundTruth>, DataError> {
        let path = root.join(GROUND_TRUTH_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| DataError::read(&path, e))?;
        let mut concepts = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let (key, list) = parse_line(line).map_err(|m| DataError::line(&path, i + 1, m))?;
            if concepts.insert(key.to_string(), list).is_some() {
                return Err(DataError::line(&path, i + 1, format!("{key} listed twice")));
            }
        }
        Ok(Some(GroundTruth { concepts }))
    }

    /// The concepts of `key` (`city/id`), or `None` for an unknown key.
    pub fn concepts(&self, key: &str) -> Option<&[String]> {
        self.concepts.get(key).map(Vec::as_slice)
    }

    /// Whether `key` holds every one of `concepts` (false for an unknown key).
    pub fn has_all(&self, key: &str, concepts: &[&str]) -> bool {
        self.concepts(key)
            .is_some_and(|have| concepts.iter().all(|c| have.iter().any(|h| h == c)))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.concepts.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.concepts.is_empty()
    }
}

fn parse_line(line: &str) -> Result<(&str, Vec<String>), String> {
    let Some((key, list)) = line.split_once('\t') else {
        return Err(format!("expected `city/id<TAB>concepts`, got {line:?}"));
    };
    if key.split('/').count() != 2 || key.starts_with('/') || key.ends_with('/') {
        return Err(format!("expected a key `city/id`, got {key:?}"));
    }
    let list = list
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    Ok((key, list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_concepts_and_reports_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        assert!(GroundTruth::load(dir.path()).unwrap().is_none());
        let path = dir.path().join(GROUND_TRUTH_FILE);
        std::fs::write(&path, "miami/1\tbeach,dog\nmiami/2\t\n").unwrap();
        let gt = GroundTruth::load(dir.path()).unwrap().unwrap();
        assert_eq!(gt.concepts("miami/1").unwrap(), ["beach", "dog"]);
        assert!(gt.concepts("miami/2").unwrap().is_empty());
        assert!(gt.concepts("miami/3").is_none());
        assert!(gt.has_all("miami/1", &["dog", "beach"]));
        assert!(!gt.has_all("miami/1", &["dog", "car"]));
        std::fs::write(&path, "miami/1\tbeach\nmiami-2 beach\n").unwrap();
        let err = GroundTruth::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("ground_truth.tsv:2"), "{err}");
    }
}
