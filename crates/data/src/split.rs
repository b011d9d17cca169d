//! Train / val / test splits: the reference rule and explicit split files.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// One of the three dataset splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The images and captions the model learns from.
    Train,
    /// Held out for choosing the best epoch (validation mAP).
    Val,
    /// Held out for the evaluation and the index.
    Test,
}

impl Split {
    /// All splits, in the order train, val, test.
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    /// The lowercase name (`"train"`, `"val"`, `"test"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Split {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "train" => Ok(Split::Train),
            "val" => Ok(Split::Val),
            "test" => Ok(Split::Test),
            other => Err(format!(
                "unknown split {other:?} (expected train, val or test)"
            )),
        }
    }
}

/// Checks the two fractions of the reference rule.
pub(crate) fn check_fractions(test: f64, val: f64) -> Result<(), DataError> {
    let ok = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
    if ok(test) && ok(val) && test + val <= 1.0 {
        Ok(())
    } else {
        Err(DataError::Config(format!(
            "test_fraction {test} and val_fraction {val} must lie in 0..=1 and sum to at most 1"
        )))
    }
}

/// The reference rule for one city of `n` items in listing order: the first `n_test` are test,
/// the next `n_val` val, the rest train. Boundaries are rounded cumulatively
/// (`test_end = round(n * test)`, `val_end = round(n * (test + val))`), so 100,000 items give
/// exactly 15,000 / 5,000 / 80,000 and the three counts always sum to `n`.
pub fn reference_counts(n: usize, test_fraction: f64, val_fraction: f64) -> (usize, usize) {
    let boundary = |f: f64| ((n as f64) * f).round().clamp(0.0, n as f64) as usize;
    let test_end = boundary(test_fraction);
    let val_end = boundary(test_fraction + val_fraction).max(test_end);
    (test_end, val_end - test_end)
}

/// The split of the item at `position` in a city of `n` items under the reference rule.
pub(crate) fn reference_split(position: usize, n_test: usize, n_val: usize) -> Split {
    if position < n_test {
        Split::Test
    } else if position < n_test + n_val {
        Split::Val
    } else {
        Split::Train
    }
}

/// Parses a split file: lines `split<TAB>city/id`; blank lines and lines starting with `#` are
/// skipped. A malformed line, an unknown split, or a key listed twice is an error naming the
/// file and line.
pub fn read_split_file(path: &Path) -> Result<HashMap<String, Split>, DataError> {
    read_split_lines(path, parse_split_line)
}

/// A split file of the other sources: lines `split<TAB>key`, any key without a tab.
pub(crate) fn read_split_keys(path: &Path) -> Result<HashMap<String, Split>, DataError> {
    read_split_lines(path, |line| {
        let (split, key) = line
            .split_once('\t')
            .ok_or_else(|| format!("expected `split<TAB>key`, got {line:?}"))?;
        let key = key.trim();
        if key.is_empty() || key.contains('\t') {
            return Err(format!("expected one key after the split, got {key:?}"));
        }
        Ok((split.trim().parse()?, key))
    })
}

fn read_split_lines(
    path: &Path,
    parse: impl Fn(&str) -> Result<(Split, &str), String>,
) -> Result<HashMap<String, Split>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::read(path, e))?;
    let mut map = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (split, key) = parse(line).map_err(|m| DataError::line(path, i + 1, m))?;
        if map.insert(key.to_string(), split).is_some() {
            return Err(DataError::line(path, i + 1, format!("{key} listed twice")));
        }
    }
    Ok(map)
}

fn parse_split_line(line: &str) -> Result<(Split, &str), String> {
    let mut fields = line.split('\t');
    let (Some(split), Some(key), None) = (fields.next(), fields.next(), fields.next()) else {
        return Err(format!("expected `split<TAB>city/id`, got {line:?}"));
    };
    let split: Split = split.trim().parse()?;
    let key = key.trim();
    match key.split_once('/') {
        Some((city, id)) if !city.is_empty() && !id.is_empty() && !id.contains('/') => {
            Ok((split, key))
        }
        _ => Err(format!("expected a key `city/id`, got {key:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        for s in Split::ALL {
            assert_eq!(s.to_string().parse::<Split>().unwrap(), s);
        }
        assert!("Train".parse::<Split>().is_err());
        assert_eq!(serde_json::to_string(&Split::Val).unwrap(), "\"val\"");
    }

    #[test]
    fn reference_counts_match_the_full_dataset() {
        assert_eq!(reference_counts(100_000, 0.15, 0.05), (15_000, 5_000));
        assert_eq!(reference_counts(100, 0.15, 0.05), (15, 5));
        assert_eq!(reference_counts(0, 0.15, 0.05), (0, 0));
        // 7 items: test_end = round(1.05) = 1, val_end = round(1.4) = 1.
        assert_eq!(reference_counts(7, 0.15, 0.05), (1, 0));
        // 10 items: round(1.5) = 2, round(2.0) = 2.
        assert_eq!(reference_counts(10, 0.15, 0.05), (2, 0));
        assert_eq!(reference_counts(13, 0.15, 0.05), (2, 1));
    }

    #[test]
    fn reference_counts_always_partition() {
        for n in 0..500 {
            let (t, v) = reference_counts(n, 0.15, 0.05);
            assert!(t + v <= n);
            assert!((t as f64 - 0.15 * n as f64).abs() <= 0.5 + 1e-9);
        }
        assert_eq!(reference_counts(9, 1.0, 0.0), (9, 0));
    }

    #[test]
    fn fractions_are_checked() {
        assert!(check_fractions(0.15, 0.05).is_ok());
        assert!(check_fractions(0.9, 0.2).is_err());
        assert!(check_fractions(-0.1, 0.05).is_err());
        assert!(check_fractions(f64::NAN, 0.05).is_err());
    }

    #[test]
    fn split_lines_parse_or_say_why() {
        assert_eq!(
            parse_split_line("test\tmiami/123").unwrap(),
            (Split::Test, "miami/123")
        );
        assert!(parse_split_line("test miami/123").is_err());
        assert!(parse_split_line("dev\tmiami/123").is_err());
        assert!(parse_split_line("test\tmiami123").is_err());
        assert!(parse_split_line("test\tmiami/1\textra").is_err());
    }
}
