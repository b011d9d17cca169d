//! The `webly` command line: turns flags into the library's config structs and calls one
//! function of `webly_pipeline` per command. No logic lives here.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use webly_pipeline as pipeline;
use webly_pipeline::{QueryInput, RunConfig, SynthOverrides, TrainOverrides};

#[derive(Parser)]
#[command(
    name = "webly",
    version,
    about = "Search images by words, learned from web images and their captions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole pipeline: data, text space, every model, index, evaluation, comparison.
    Run(ConfigArg),
    /// Judge a model against a baseline over several sets and seeds (paired bootstrap over
    /// queries): every set's pipeline, then one table per set and the mean.
    Suite(SuiteArgs),
    /// Generate an InstaCities-style dataset (layout + ground_truth.tsv + contact sheet).
    Synth(SynthArgs),
    /// Word vectors: convert/cache, train GloVe on captions, embed captions, neighbours.
    #[command(subcommand)]
    Text(TextCommand),
    /// Train one model of the run config.
    Train(TrainArgs),
    /// Fill a model's feature cache (frozen backbone activations of its training, validation and
    /// test images) without training: all of it, or one task's part with --shard I/N.
    Extract(ExtractArgs),
    /// Embed a split's images with a trained model (.npy + .ids).
    Embed(EmbedArgs),
    /// Build the HNSW index of a model's test embeddings and report its recall.
    Index(ModelArgs),
    /// Combine the outputs of `embed --shard I/N` or `text embed --shard I/N` tasks (checks one
    /// kind, split, model and text space, every shard once, no key missing or repeated).
    Merge(MergeArgs),
    /// Write a split's embeddings, keys, captions and image paths as parquet (vector databases'
    /// bulk-import input).
    Export(ExportArgs),
    /// Evaluate a model (mAP, P@k, R-precision), or compare finished runs.
    Eval(EvalArgs),
    /// Search the test images by words (or by an image).
    Query(QueryArgs),
    /// The nearest words to an image's embedding.
    Tag(TagArgs),
    /// A search page and a JSON API over a trained model (loopback by default).
    Serve(ServeArgs),
    /// Your own photo folders, searchable with a finished model and kept up to date in place
    /// (then `query`, `tag`, `export` and `serve` take `--collection DIR`).
    #[command(subcommand)]
    Collection(CollectionCommand),
}

#[derive(Subcommand)]
enum CollectionCommand {
    /// Index the images under one or more folders with a trained model.
    Create {
        /// The collection folder to create (its own files; the model folder is never written).
        dir: PathBuf,
        /// A trained model's folder, e.g. runs/demo/models/triplet.
        #[arg(long)]
        model: PathBuf,
        /// Image folders (JPEG, PNG, WebP; hidden files left out).
        #[arg(required = true)]
        roots: Vec<PathBuf>,
    },
    /// Add folders (new roots) or files and folders under a root (read again).
    Add {
        /// The collection folder.
        dir: PathBuf,
        /// Folders or image files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Take files, folders or whole roots out (kept out until added again).
    Remove {
        /// The collection folder.
        dir: PathBuf,
        /// Image files, folders, or roots.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Read every root again: new, changed and deleted images, found by size and time.
    Sync {
        /// The collection folder.
        dir: PathBuf,
    },
    /// What a collection holds: its model, folders, counts, recall and last change.
    Info {
        /// The collection folder.
        dir: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `--collection DIR`, for the commands that read one instead of a run's model.
#[derive(Args)]
struct CollectionArg {
    /// Search a collection (`webly collection create`) instead of a run's test images.
    #[arg(long, conflicts_with_all = ["model", "config"])]
    collection: Option<PathBuf>,
}

#[derive(Args)]
struct ConfigArg {
    /// Run config (TOML).
    #[arg(long, default_value = "configs/demo.toml")]
    config: PathBuf,
}

#[derive(Args)]
struct SuiteArgs {
    /// Suite config (TOML): sets, seeds, model, baseline.
    #[arg(long, default_value = "configs/real_photos_suite.toml")]
    config: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ModelArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Model name from the run config (default: the first).
    #[arg(long)]
    model: Option<String>,
}

#[derive(Args)]
struct SynthArgs {
    /// Run config (TOML): generate its [data.synth] dataset into its data.dataset.root.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder (default with --config: the config's data.dataset.root).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Number of images (default: the config's or the options file's, else 2000).
    #[arg(long)]
    images: Option<usize>,
    /// Random seed (default: the config's or the options file's, else 42).
    #[arg(long)]
    seed: Option<u64>,
    /// Options as a TOML file (the [data.synth] table's fields); flags override it.
    #[arg(long)]
    options: Option<PathBuf>,
    /// Replace a dataset already in the output folder.
    #[arg(long)]
    overwrite: bool,
}

#[derive(Subcommand)]
enum TextCommand {
    /// Load a vectors file (any supported format) and write its binary cache; optionally convert.
    Convert {
        /// Word vectors file: GloVe text, word2vec text or binary, gzipped or not.
        vectors: PathBuf,
        /// Also write the vectors as GloVe text to this file.
        #[arg(long)]
        glove_out: Option<PathBuf>,
    },
    /// Train GloVe on the training captions as the run config's [text.glove] says.
    Train(ConfigArg),
    /// Embed the captions of every split (the run's text stage), or one work shard of them.
    Embed(TextEmbedArgs),
    /// Nearest words to a word (or to a comma-separated vector) by cosine.
    Neighbors {
        /// A word (cleaned like query words: `Snow` is `snow`) or comma-separated values (a
        /// leading minus sign is a value, not a flag: `-0.1,0.5,...`).
        #[arg(allow_hyphen_values = true)]
        query: String,
        /// Word vectors file (default: the run config's [text] vectors).
        #[arg(long)]
        vectors: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArg,
        /// Number of neighbours.
        #[arg(short, long, default_value_t = 10)]
        k: usize,
    },
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Passes over the training images (default: the config's).
    #[arg(long)]
    epochs: Option<usize>,
    /// Learning rate (default: the config's).
    #[arg(long)]
    lr: Option<f64>,
    /// Images per step (default: the config's).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Stop after this many optimiser steps (a quick try).
    #[arg(long)]
    max_steps: Option<u64>,
    /// cpu, cuda (or gpu) or auto.
    #[arg(long)]
    device: Option<pipeline::DeviceChoice>,
    /// CPU threads for libtorch (default: its own choice).
    #[arg(long)]
    threads: Option<usize>,
    /// Random seed (default: the config's).
    #[arg(long)]
    seed: Option<u64>,
    /// Continue from the model folder's last checkpoint.
    #[arg(long)]
    resume: bool,
}

#[derive(Args)]
struct EmbedArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// train, val or test.
    #[arg(long, default_value = "test")]
    split: pipeline::Split,
    /// Output .npy (the .ids file goes beside it); default: the model's embed folder. With
    /// --shard: the folder that receives the shard's .npy, .ids and .json manifest.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Embed only work shard I of N (`I/N`): the images whose key hash is I modulo N.
    #[arg(long)]
    shard: Option<pipeline::ShardSpec>,
}

#[derive(Args)]
struct TextEmbedArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Embed only work shard I of N (`I/N`): the captions whose key hash is I modulo N, into
    /// --out as `captions-<split>-shard-I-of-N.{npy,ids,json}` (`webly merge --split S` combines
    /// one split's shards).
    #[arg(long, requires = "out")]
    shard: Option<pipeline::ShardSpec>,
    /// The folder that receives the shard's files (with --shard).
    #[arg(long, requires = "shard")]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct ExtractArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Extract only part I of N (`I/N`): cache shard s of each set when s modulo N is I (by
    /// cache shard, not by key hash as `embed --shard` splits). N tasks (GNU parallel, a Slurm
    /// array, a Kubernetes indexed Job) sharing the run folder fill the whole cache.
    #[arg(long, value_name = "I/N")]
    part: Option<pipeline::ShardSpec>,
    /// Deprecated name of --part, kept so that existing scripts keep working.
    #[arg(long, value_name = "I/N", hide = true, conflicts_with = "part")]
    shard: Option<pipeline::ShardSpec>,
}

#[derive(Args)]
struct MergeArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Merged output .npy (the .ids file goes beside it).
    #[arg(long)]
    out: PathBuf,
    /// Merge only this split's shards (train, val or test), e.g. from a folder that
    /// `webly text embed --shard` filled with every split's.
    #[arg(long)]
    split: Option<pipeline::Split>,
    /// Shard manifests (.json), or folders holding them.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct ExportArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    collection: CollectionArg,
    /// train, val or test.
    #[arg(long, default_value = "test")]
    split: pipeline::Split,
    /// Output parquet file; its folder must exist (a missing one is refused, never created).
    #[arg(long)]
    out: PathBuf,
    /// Embedding float type: f32 or f16.
    #[arg(long, default_value = "f32")]
    dtype: pipeline::ExportDtype,
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Put finished runs' reports side by side instead (run folders or model folders).
    #[arg(long, num_args = 1..)]
    compare: Vec<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct QueryArgs {
    /// The query words (ignored with --image).
    text: Option<String>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    collection: CollectionArg,
    /// Number of images to return (at least 1).
    #[arg(short, long, default_value_t = 10)]
    k: usize,
    /// Query by this image instead of words.
    #[arg(long)]
    image: Option<PathBuf>,
    /// Also write a self-contained HTML gallery of the results.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Exact search instead of the HNSW index.
    #[arg(long)]
    exact: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct TagArgs {
    /// The image (JPEG, PNG or WebP, sniffed from its content).
    image: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    collection: CollectionArg,
    /// Number of words (at least 1).
    #[arg(short, long, default_value_t = 10)]
    k: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    collection: CollectionArg,
    /// Address to listen on; loopback unless you give another.
    #[arg(long, default_value = webly_serve::DEFAULT_ADDR)]
    addr: std::net::SocketAddr,
    /// Server limits and settings as a TOML file (webly_serve::ServeConfig fields).
    #[arg(long)]
    serve_config: Option<PathBuf>,
}

/// A closed pipe (`webly query ... | head -1`) ends webly quietly, as it ends `cat` or `grep`:
/// the default SIGPIPE action, which Rust's runtime replaces with an error that `println!` turns
/// into a panic.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default action before any thread starts has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The error and its causes on one line, `a: b: c`: every library error prints its
            // own message only and keeps its cause as `source()`, so each is said once.
            eprintln!("webly: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(config: &ConfigArg) -> anyhow::Result<RunConfig> {
    load_path(&config.config)
}

/// The run config at `path`; its errors name the file (and the line of a TOML error).
fn load_path(path: &std::path::Path) -> anyhow::Result<RunConfig> {
    Ok(RunConfig::load(path)?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(c) => println!("{}", pipeline::run(&load(&c)?)?),
        Command::Suite(a) => print(
            &pipeline::suite(&pipeline::SuiteConfig::load(&a.config)?)?,
            a.json,
        )?,
        Command::Synth(a) => {
            let cfg = a.config.as_ref().map(|c| load_path(c)).transpose()?;
            let flags = SynthOverrides {
                out: a.out,
                images: a.images,
                seed: a.seed,
                overwrite: a.overwrite,
            };
            let report = pipeline::synth(cfg.as_ref(), a.options.as_deref(), &flags)?;
            println!("{report}");
        }
        Command::Text(t) => text(t)?,
        Command::Train(a) => {
            let cfg = load(&a.model.config)?;
            let overrides = TrainOverrides {
                epochs: a.epochs,
                lr: a.lr,
                batch_size: a.batch_size,
                max_steps: a.max_steps,
                device: a.device,
                threads: a.threads,
                seed: a.seed,
                resume: a.resume,
            };
            println!(
                "{}",
                pipeline::train(&cfg, a.model.model.as_deref(), &overrides)?
            );
        }
        Command::Embed(a) if a.shard.is_some() => {
            let cfg = load(&a.model.config)?;
            let (Some(spec), Some(out)) = (a.shard, a.out.as_deref()) else {
                anyhow::bail!("--shard needs --out FOLDER");
            };
            let path = pipeline::embed_shard(&cfg, a.model.model.as_deref(), a.split, spec, out)?;
            println!("{}", pipeline::Written { path });
        }
        Command::Extract(a) => {
            if a.shard.is_some() {
                eprintln!(
                    "webly: note: `extract --shard I/N` is now `extract --part I/N` (a part is \
                     cache shards, not the key-hash work shard of `embed --shard`); --shard \
                     still works"
                );
            }
            let cfg = load(&a.model.config)?;
            println!(
                "{}",
                pipeline::extract(&cfg, a.model.model.as_deref(), a.part.or(a.shard))?
            );
        }
        Command::Merge(a) => println!(
            "{}",
            pipeline::merge_checked(&load(&a.config)?, &a.inputs, a.split, &a.out)?
        ),
        Command::Embed(a) => {
            let cfg = load(&a.model.config)?;
            let written =
                pipeline::embed(&cfg, a.model.model.as_deref(), a.split, a.out.as_deref())?;
            println!("{written}");
        }
        Command::Export(a) => {
            let done = match &a.collection.collection {
                Some(dir) => pipeline::export_collection(dir, &a.out, a.dtype)?,
                None => {
                    let cfg = load(&a.model.config)?;
                    let model = a.model.model.as_deref();
                    pipeline::export(&cfg, model, a.split, &a.out, a.dtype)?
                }
            };
            println!("{done}");
        }
        Command::Index(a) => println!(
            "{}",
            pipeline::index(&load(&a.config)?, a.model.as_deref())?
        ),
        Command::Eval(a) if !a.compare.is_empty() => {
            print(&pipeline::compare(&a.compare)?, a.json)?
        }
        Command::Eval(a) => {
            let cfg = load(&a.model.config)?;
            print(&pipeline::evaluate(&cfg, a.model.model.as_deref())?, a.json)?;
        }
        Command::Query(a) => {
            let input = match (a.image, a.text) {
                (Some(image), _) => QueryInput::Image(image),
                (None, Some(text)) => QueryInput::Text(text),
                (None, None) => anyhow::bail!("give the query words, or --image PATH"),
            };
            let cfg = config_unless_collection(&a.model, &a.collection)?;
            let mode = match a.exact {
                true => pipeline::SearchMode::Exact,
                false => pipeline::SearchMode::Hnsw,
            };
            let answer = pipeline::query(
                source(cfg.as_ref(), &a.model, &a.collection)?,
                &input,
                a.k,
                mode,
                a.html.as_deref(),
            )?;
            print(&answer, a.json)?;
        }
        Command::Tag(a) => {
            let cfg = config_unless_collection(&a.model, &a.collection)?;
            let answer = pipeline::tag(
                source(cfg.as_ref(), &a.model, &a.collection)?,
                &a.image,
                a.k,
            )?;
            print(&answer, a.json)?;
        }
        Command::Serve(a) => {
            let cfg = config_unless_collection(&a.model, &a.collection)?;
            let settings = match &a.serve_config {
                None => webly_serve::ServeConfig::default(),
                Some(p) => webly_serve::ServeConfig::load(p)?,
            };
            let source = source(cfg.as_ref(), &a.model, &a.collection)?;
            webly_serve::run(source, a.addr, settings)?;
        }
        Command::Collection(c) => collection(c)?,
    }
    Ok(())
}

/// The run config, unless a collection is searched (which needs none).
fn config_unless_collection(
    model: &ModelArgs,
    collection: &CollectionArg,
) -> anyhow::Result<Option<RunConfig>> {
    match collection.collection {
        Some(_) => Ok(None),
        None => Ok(Some(load(&model.config)?)),
    }
}

/// What `query`, `tag` and `serve` search: the collection, or the run's model.
fn source<'a>(
    cfg: Option<&'a RunConfig>,
    model: &'a ModelArgs,
    collection: &'a CollectionArg,
) -> anyhow::Result<pipeline::Source<'a>> {
    match (collection.collection.as_deref(), cfg) {
        (Some(dir), _) => Ok(pipeline::Source::Collection(dir)),
        (None, Some(cfg)) => Ok(pipeline::Source::run(cfg, model.model.as_deref())),
        (None, None) => anyhow::bail!("give --config or --collection"),
    }
}

fn collection(command: CollectionCommand) -> anyhow::Result<()> {
    use pipeline::collection;
    match command {
        CollectionCommand::Create { dir, model, roots } => {
            println!("{}", collection::create(&dir, &model, &roots)?)
        }
        CollectionCommand::Add { dir, paths } => println!("{}", collection::add(&dir, &paths)?),
        CollectionCommand::Remove { dir, paths } => {
            println!("{}", collection::remove(&dir, &paths)?)
        }
        CollectionCommand::Sync { dir } => println!("{}", collection::sync(&dir)?),
        CollectionCommand::Info { dir, json } => print(&collection::info(&dir)?, json)?,
    }
    Ok(())
}

/// Prints `value` as text, or as pretty JSON for scripts.
fn print<T: std::fmt::Display + serde::Serialize>(value: &T, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{value}");
    }
    Ok(())
}

fn text(command: TextCommand) -> anyhow::Result<()> {
    match command {
        TextCommand::Convert { vectors, glove_out } => {
            println!(
                "{}",
                pipeline::text_convert(&vectors, glove_out.as_deref())?
            )
        }
        TextCommand::Train(c) => println!("{}", pipeline::text_train(&load(&c)?)?),
        TextCommand::Embed(TextEmbedArgs {
            config,
            shard: Some(spec),
            out: Some(out),
        }) => {
            for m in pipeline::embed_captions_shard(&load(&config)?, spec, &out)? {
                println!("wrote {}", m.display());
            }
        }
        TextCommand::Embed(a) => println!("{}", pipeline::text_embed(&load(&a.config)?)?),
        TextCommand::Neighbors {
            query,
            vectors,
            config,
            k,
        } => {
            // With --vectors, a config file that does not exist means the defaults; one that
            // exists is read (its [text] non_utf8 applies) and its errors are reported.
            let cfg = match vectors.is_some() && !config.config.exists() {
                true => None,
                false => Some(load(&config)?),
            };
            let (vectors, non_utf8) =
                pipeline::neighbour_space(cfg.as_ref(), &config.config, vectors)?;
            println!(
                "{}",
                pipeline::text_neighbors(&vectors, &query, k, non_utf8)?
            )
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every option and argument of every command says what it is in `--help`.
    #[test]
    fn every_option_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "webly", &mut missing);
        assert!(missing.is_empty(), "options without help: {missing:?}");
        Cli::command().debug_assert();
    }
}
