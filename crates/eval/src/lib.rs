//! Query sets, relevance, AP / mAP / P@k / R-precision, reports, plots and galleries.
//!
//! - [`QuerySet::load`]: one query per line, `#` comments; the set's name is the file stem.
//! - [`Relevance`]: [`CaptionRelevance`] (cleaned caption holds every query word) and
//!   [`TruthRelevance`] (true concepts hold every query word).
//! - [`evaluate`]: exact ranking of all images per query (parallel over queries), per-query
//!   metrics beside their expectation under a random ranking, group summaries ([`Report`]).
//! - [`Report::write_run`]: `report.{md,csv,json}` and `ap.png` in a run folder, atomically;
//!   [`compare`] puts several runs side by side; [`write_gallery`] writes an HTML page.
//! - [`PairedBootstrap`]: how sure a difference of two models' mAP is (paired over queries).

#![deny(missing_docs)]
#![forbid(unsafe_code)]
mod atomic;
mod bootstrap;
mod compare;
mod error;
mod evaluate;
mod gallery;
mod metrics;
mod plot;
mod positions;
mod queries;
mod ranking;
mod relevance;
mod report;
mod row;
mod scan;

use atomic::write_atomic;
pub use bootstrap::{PairedBootstrap, PairedDifference, DEFAULT_RESAMPLES};
pub use compare::{compare, Comparison, RunHeadline};
pub use error::EvalError;
pub use evaluate::{cosine_scores, evaluate, mean_average_precision, EvalQuery};
pub use gallery::{write_gallery, GalleryHit, GalleryQuery};
pub use metrics::{expected_random_ap, precision_at_k, ranked_metrics, RankMetrics};
pub use plot::{write_ap_chart, PlotConfig};
pub use queries::QuerySet;
pub use ranking::rank_metrics;
pub use relevance::Cleaner;
pub use relevance::{CaptionRelevance, Relevance, TruthRelevance};
pub use report::{Excluded, Report, Summary, REPORT_JSON};
pub use row::{Kind, QueryRow};

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, EvalError>;
