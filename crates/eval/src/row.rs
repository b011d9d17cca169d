//! One query's row of the evaluation: what the evaluation makes, the report summarises and the
//! chart draws (its own module, so the report and the chart do not depend on each other).

use serde::{Deserialize, Serialize};

/// Single-word or multi-word query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Simple,
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
    pub query: String,
    pub set: String,
    pub kind: Kind,
    pub relevant: usize,
    pub ap: f64,
    pub p_at_5: f64,
    pub p_at_10: f64,
    pub r_precision: f64,
    pub random_ap: f64,
    pub random_p_at_5: f64,
}
