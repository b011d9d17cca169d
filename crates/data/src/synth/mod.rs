//! Learnable InstaCities-style data: procedurally rendered scenes whose content correlates with
//! their (noisy) captions, written in the InstaCities1M layout with a ground-truth file.

mod caption;
mod concept;
mod draw;
mod generate;
mod palette;
mod render;
mod sample;
mod sheet;

pub use caption::CaptionConfig;
pub use concept::{CONCEPTS, QUERY_PAIRS};
pub use generate::{generate, render_sample, SynthConfig, SynthReport, CONTACT_SHEET_FILE};
pub use sample::Sample;
pub use sheet::contact_sheet;
