//! The `webly` command line: turns flags into the library's config structs and calls one
//! function of `webly_pipeline` per command. No logic lives here.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use webly_pipeline as pipeline;
use webly_pipeline::{QueryInput, RunConfig, TrainOverrides};

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
    /// Generate an InstaCities-style dataset (layout + ground_truth.tsv + contact sheet).
    Synth(SynthArgs),
    /// Word vectors: convert/cache, train GloVe on captions, embed captions, neighbours.
    #[command(subcommand)]
    Text(TextCommand),
    /// Train one model of the run config.
    Train(TrainArgs),
    /// Embed a split's images with a trained model (.npy + .ids).
    Embed(EmbedArgs),
    /// Build the HNSW index of a model's test embeddings and report its recall.
    Index(ModelArgs),
    /// Evaluate a model (mAP, P@k, R-precision), or compare finished runs.
    Eval(EvalArgs),
    /// Search the test images by words (or by an image).
    Query(QueryArgs),
    /// The nearest words to an image's embedding.
    Tag(TagArgs),
}

#[derive(Args)]
struct ConfigArg {
    /// Run config (TOML).
    #[arg(long, default_value = "configs/demo.toml")]
    config: PathBuf,
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
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1000)]
    images: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Options as a TOML file (the [data.synth] table's fields); flags override it.
    #[arg(long)]
    options: Option<PathBuf>,
}

#[derive(Subcommand)]
enum TextCommand {
    /// Load a vectors file (any supported format) and write its binary cache; optionally convert.
    Convert {
        vectors: PathBuf,
        /// Also write the vectors as GloVe text to this file.
        #[arg(long)]
        glove_out: Option<PathBuf>,
    },
    /// Train GloVe on the training captions as the run config's [text.glove] says.
    Train(ConfigArg),
    /// Embed the captions of every split (the run's text stage).
    Embed(ConfigArg),
    /// Nearest words to a word (or to a comma-separated vector) by cosine.
    Neighbors {
        query: String,
        #[arg(long, default_value = "data/glove/glove.6B.50d.txt")]
        vectors: PathBuf,
        #[arg(short, long, default_value_t = 10)]
        k: usize,
    },
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    max_steps: Option<u64>,
    /// cpu, cuda or auto.
    #[arg(long)]
    device: Option<String>,
    #[arg(long)]
    threads: Option<usize>,
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
    split: String,
    /// Output .npy (the .ids file goes beside it); default: the model's embed folder.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Put finished runs' reports side by side instead (run folders or model folders).
    #[arg(long, num_args = 1..)]
    compare: Vec<PathBuf>,
}

#[derive(Args)]
struct QueryArgs {
    /// The query words (ignored with --image).
    text: Option<String>,
    #[command(flatten)]
    model: ModelArgs,
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
}

#[derive(Args)]
struct TagArgs {
    image: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(short, long, default_value_t = 10)]
    k: usize,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webly: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(config: &ConfigArg) -> anyhow::Result<RunConfig> {
    RunConfig::load(&config.config).with_context(|| format!("loading {}", config.config.display()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(c) => println!("{}", pipeline::run(&load(&c)?)?),
        Command::Synth(a) => {
            let report = pipeline::synth(&a.out, a.images, a.seed, a.options.as_deref())?;
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
        Command::Embed(a) => {
            let cfg = load(&a.model.config)?;
            let path = pipeline::embed(&cfg, a.model.model.as_deref(), &a.split, a.out.as_deref())?;
            println!("wrote {}", path.display());
        }
        Command::Index(a) => println!(
            "{}",
            pipeline::index(&load(&a.config)?, a.model.as_deref())?
        ),
        Command::Eval(a) if !a.compare.is_empty() => println!("{}", pipeline::compare(&a.compare)?),
        Command::Eval(a) => {
            let cfg = load(&a.model.config)?;
            println!("{}", pipeline::evaluate(&cfg, a.model.model.as_deref())?);
        }
        Command::Query(a) => {
            let input = match (a.image, a.text) {
                (Some(image), _) => QueryInput::Image(image),
                (None, Some(text)) => QueryInput::Text(text),
                (None, None) => anyhow::bail!("give the query words, or --image PATH"),
            };
            let cfg = load(&a.model.config)?;
            let answer = pipeline::query(
                &cfg,
                a.model.model.as_deref(),
                &input,
                a.k,
                a.exact,
                a.html.as_deref(),
            )?;
            println!("{answer}");
        }
        Command::Tag(a) => {
            let cfg = load(&a.model.config)?;
            println!(
                "{}",
                pipeline::tag(&cfg, a.model.model.as_deref(), &a.image, a.k)?
            );
        }
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
        TextCommand::Embed(c) => println!("{}", pipeline::text_embed(&load(&c)?)?),
        TextCommand::Neighbors { query, vectors, k } => {
            println!("{}", pipeline::text_neighbors(&vectors, &query, k)?)
        }
    }
    Ok(())
}
