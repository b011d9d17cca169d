#![deny(missing_docs)]
#![forbid(unsafe_code)]
//! Learnable InstaCities-style data: procedurally rendered scenes whose content correlates with
//! their (noisy) captions, written in the InstaCities1M layout (`webly-data` reads it) with a
//! ground-truth file. The only crate that draws: the font, the renderer and their dependencies
//! (imageproc, ab_glyph, DejaVu) stay here, out of the crates that only read datasets.
//!
//! - [`generate`] writes a dataset from a [`SynthConfig`] (`webly synth`, and `make demo`'s
//!   data through the run config's `[data.synth]`); [`render_sample`] draws one sample.
//! - [`contact_sheet`] draws a grid of samples with their captions.

mod caption;
mod concept;
mod draw;
mod error;
mod generate;
mod palette;
mod render;
mod sample;
mod sheet;

pub use caption::CaptionConfig;
pub use concept::{CONCEPTS, QUERY_PAIRS};
pub use error::SynthError;
pub use generate::{generate, render_sample, SynthConfig, SynthReport, CONTACT_SHEET_FILE};
pub use sample::Sample;
pub use sheet::contact_sheet;
