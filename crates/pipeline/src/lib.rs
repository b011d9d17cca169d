#![deny(missing_docs)]
#![forbid(unsafe_code)]
//! The webly pipeline: generated (or real) InstaCities1M-layout data, a frozen GloVe text space,
//! CNN image encoders trained into it, HNSW indexes and retrieval evaluation.
//!
//! Each stage writes plain files (`.npy` + `.ids`, safetensors, the index's own files, CSV,
//! JSON, markdown) under the run folder, with a `stamp.json` fingerprint of its inputs, so a
//! stage whose inputs did not change is reused and each stage can be rerun alone:
//!
//! | stage | module | folder | reused when |
//! |---|---|---|---|
//! | data | `data_stage` | `data.dataset.root` | the synth settings are unchanged |
//! | text | `text_stage` | `run_dir/text` | the text settings and the dataset are unchanged |
//! | features | `features_stage` | `run_dir/features/<fingerprint>` | per shard: the backbone, freeze point, loader and views are unchanged and its images have the same size and modification time |
//! | train | `train_stage` | `run_dir/models/<name>` | the training settings and the text space are unchanged |
//! | embed | `embed_stage` | `run_dir/models/<name>/embed` | the model is unchanged |
//! | index | `index_stage` | `run_dir/models/<name>/index` | the model, text space and index settings are unchanged |
//! | eval | `eval_stage` | `run_dir/models/<name>/eval` | never (it takes seconds) |
//!
//! `model_stage` chains train, embed, index and eval for one model; `run` chains every stage.
//! [`collection`] indexes your own photo folders with a finished model and keeps them up to date
//! in place; [`portable`] is what lets it use a model folder alone.
//!
//! The `webly` binary calls one function of this crate per command ([`query`], [`export`](fn@export)...),
//! and [`run`]; [`suite`] judges one recipe over several run configs and seeds.

pub mod collection;
mod commands;
mod config;
mod context;
mod data_stage;
mod embed_stage;
mod error;
mod eval_stage;
/// `webly export`'s parquet writer: columns, metadata and float types.
pub mod export;
mod features_stage;
mod fsio;
mod index_stage;
mod layout;
mod model_stage;
pub mod portable;
mod queries;
mod run;
mod searcher;
/// `webly embed --shard I/N` and `webly merge`: work shards of a split's embedding.
pub mod shards;
pub mod stamp;
mod suite;
mod text_stage;
mod train_stage;
mod wording;

pub use commands::{
    compare, embed, evaluate, export, export_collection, neighbour_space, query, synth, tag,
    text_convert, text_embed, text_neighbors, text_train, train, CaptionFiles, Converted, Exported,
    Neighbours, QueryAnswer, QueryInput, SynthOverrides, TagAnswer, Written,
};
pub use config::{DataSection, EvalSection, ModelRun, RunConfig, TextSection, WeightingKind};
pub use error::{PipelineError, Result};
pub use eval_stage::Evaluation;
pub use export::ExportDtype;
pub use features_stage::{extract, ExtractSummary};
pub use index_stage::{index, Indexed};
pub use layout::{check_model_name, ModelLayout, ReportKind, RunLayout, TrainsGlove};
pub use model_stage::{ModelResult, StageTimes};
pub use portable::TAG_MIN_COUNT;
pub use run::{comparison, run, RunSummary};
pub use searcher::{
    gallery_query, Found, IndexFacts, SearchMode, Searcher, Source, Tag, TextResults,
};
pub use shards::{
    embed_captions_shard, embed_shard, merge, merge_checked, MergeReport, ShardManifest, ShardSpec,
};
pub use suite::{suite, Criteria, SeedResult, SetResult, SuiteConfig, SuiteReport};
pub use train_stage::{TrainOutcome, TrainOverrides};
pub use webly_data::Split;
pub use webly_encoder::DeviceChoice;
pub use webly_eval::Comparison;
