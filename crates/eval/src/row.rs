//! One query's row of the evaluation: what the evaluation makes, the report summarises and the
//! chart draws (its own module, so the report and the chart do not depend on each other).

use serde::{Deserialize, Serialize};

/// Single-word or multi-word query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One word.
    Simple,
    /// Two words or more.
    Complex,
}

impl Kind {
    /// `Simple` for a one-word query, else `Complex`.
    pub fn of(query: &str) -> Kind {
        match query.split_whitespace().count() {
            0 | 1 => Kind::Simple,
            _ => Kind::Complex,
        }
    }
}

/// One query's metrics over the full ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryRow {
    /// The query text.
    pub query: String,
    /// The query file stem it comes from.
    pub set: String,
    /// Simple (one word) or complex.
    pub kind: Kind,
    /// Relevant images (R).
    pub relevant: usize,
    /// Average precision over the full ranking.
    pub ap: f64,
    /// Precision at 5.
    pub p_at_5: f64,
    /// Precision at 10.
    pub p_at_10: f64,
    /// Precision at rank R.
    pub r_precision: f64,
    /// Expected AP of a random ranking of the same images.
    pub random_ap: f64,
    /// Expected P@5 of a random ranking.
    pub random_p_at_5: f64,
}
