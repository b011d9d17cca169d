//! `webly-fuzz`: runs the fuzz targets of `webly_fuzz` for a set time each (`make fuzz`),
//! replays saved inputs, and rewrites the seed corpora.
//!
//! Beyond the library's panic and property findings, this binary catches what would otherwise
//! kill or stall the process without a trace: an allocation that would take the live heap over
//! `--max-mb`, and an input that runs longer than `--timeout-ms`. Both save the input to the
//! findings folder and print it before the process ends.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use clap::{Parser, Subcommand};
use webly_fuzz::runner::{read_corpus, CURRENT};
use webly_fuzz::{corpus_dir, find, run_one, Fuzzer, Outcome, Target, TARGETS};

/// Exit status of a run with findings.
const EXIT_FINDINGS: u8 = 1;
/// Exit status when an input ran over the time limit.
const EXIT_HANG: i32 = 2;
/// Default cap on the live heap, in MiB: far over what any target needs for inputs of at most
/// 64 KiB (the image decoder's own bound is 512 MiB), far under the machine's memory.
const DEFAULT_MAX_MB: usize = 2048;
/// How often the watchdog looks at the running input.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(100);

#[derive(Parser)]
#[command(name = "webly-fuzz", about = "Fuzz webly's readers of outside bytes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the targets and what each reads.
    List,
    /// Fuzzes targets (all when none is named), each for `--seconds`.
    Run {
        /// Targets to run.
        targets: Vec<String>,
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Seed corpora (`<dir>/<target>/`).
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Where findings are saved (`<dir>/<target>/`).
        #[arg(long, default_value = "target/fuzz-findings")]
        findings: PathBuf,
        /// Time limit of one input, in ms (a longer run is a hang).
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        /// Cap on the live heap, in MiB (an allocation over it is a finding).
        #[arg(long, default_value_t = DEFAULT_MAX_MB)]
        max_mb: usize,
        /// Seed of the mutation stream.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Runs saved inputs once each and prints what they do.
    Replay {
        /// The target.
        target: String,
        /// Input files.
        files: Vec<PathBuf>,
    },
    /// Rewrites the seed corpora from webly's writers.
    Seeds {
        /// Corpus folder (default: the committed one).
        #[arg(long)]
        corpus: Option<PathBuf>,
    },
}

/// The system allocator with a cap on the live heap (`--max-mb`).
struct Capped;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static CAP: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Where a finding of the allocator or the watchdog is saved (set by `run`).
static FINDINGS: OnceLock<PathBuf> = OnceLock::new();

thread_local! {
    /// Set while a finding is being saved: its own allocations pass uncapped.
    static SAVING: Cell<bool> = const { Cell::new(false) };
}

impl Capped {
    /// Saves the running input and ends the process when `more` bytes would take the live heap
    /// over the cap.
    fn check(&self, more: usize) {
        let cap = CAP.load(Ordering::Relaxed);
        let live = LIVE.load(Ordering::Relaxed);
        if more <= cap && live.saturating_add(more) <= cap {
            return;
        }
        if SAVING.with(|s| s.replace(true)) {
            return;
        }
        let what = format!(
            "allocation of {more} bytes with {live} live, over the cap of {} MiB, at\n{}",
            cap >> 20,
            webly_frames(&std::backtrace::Backtrace::force_capture().to_string())
        );
        save_current("alloc", &what);
        std::process::abort();
    }
}

// SAFETY: every call is forwarded to `System` with the same arguments; the counters and the cap
// check do not touch the memory.
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.check(layout.size());
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.check(layout.size());
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            self.check(new_size - layout.size());
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

/// The frames of a backtrace that lie in webly's crates (function line and location line).
fn webly_frames(trace: &str) -> String {
    let lines: Vec<&str> = trace.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.contains("./crates/") && !line.contains("crates/fuzz/") {
            out.push(format!(
                "{} {}",
                lines[i.saturating_sub(1)].trim(),
                line.trim()
            ));
        }
    }
    out.join("\n")
}

/// Saves the running input (if the lock can be had) as a finding of `kind`, and prints it.
fn save_current(kind: &str, what: &str) {
    let input = CURRENT.try_lock().map(|c| c.input.clone()).ok();
    let Some(dir) = FINDINGS.get() else {
        eprintln!("FINDING {kind}: {what} (no findings folder)");
        return;
    };
    match input {
        Some(input) => match save(dir, kind, &input, what) {
            Ok(path) => println!("FINDING {kind} {}: {what}", path.display()),
            Err(e) => println!("FINDING {kind}: {what} (not saved: {e})"),
        },
        None => println!("FINDING {kind}: {what} (the input could not be read)"),
    }
}

/// Writes a finding's input as `<dir>/<kind>-<hash>` and its message beside it (`.txt`).
fn save(dir: &Path, kind: &str, input: &[u8], what: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let path = dir.join(format!("{kind}-{hash:016x}"));
    std::fs::write(&path, input)?;
    std::fs::write(path.with_extension("txt"), format!("{what}\n"))?;
    Ok(path)
}

/// Ends the process when the running input is over `timeout`, after saving it.
fn watchdog(timeout: Duration) {
    std::thread::spawn(move || loop {
        std::thread::sleep(WATCHDOG_PERIOD);
        let over = CURRENT
            .lock()
            .ok()
            .and_then(|c| c.started)
            .is_some_and(|t| t.elapsed() > timeout);
        if over {
            save_current(
                "hang",
                &format!("ran over the limit of {} ms", timeout.as_millis()),
            );
            std::process::exit(EXIT_HANG);
        }
    });
}

fn targets_named(names: &[String]) -> Result<Vec<&'static Target>, String> {
    if names.is_empty() {
        return Ok(TARGETS.iter().collect());
    }
    names
        .iter()
        .map(|n| find(n).ok_or_else(|| format!("no target {n:?} (see `webly-fuzz list`)")))
        .collect()
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("webly-fuzz: {e}");
            ExitCode::from(3)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::List => {
            for t in TARGETS {
                println!("{:<18} {}", t.name, t.reads);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Seeds { corpus } => {
            let dir = corpus.unwrap_or_else(corpus_dir);
            let n = webly_fuzz::seeds::write_all(&dir).map_err(|e| e.to_string())?;
            println!("{n} seeds written under {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { target, files } => {
            CAP.store(DEFAULT_MAX_MB << 20, Ordering::Relaxed);
            let target = find(&target).ok_or_else(|| format!("no target {target:?}"))?;
            let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
            let mut bad = false;
            for f in files {
                let input = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                let outcome = run_one(target, &input, scratch.path());
                bad |= matches!(outcome, Outcome::Finding(_));
                println!("{}: {outcome:?}", f.display());
            }
            Ok(if bad {
                ExitCode::from(EXIT_FINDINGS)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Run {
            targets,
            seconds,
            corpus,
            findings,
            timeout_ms,
            max_mb,
            seed,
        } => {
            let targets = targets_named(&targets)?;
            let corpus = corpus.unwrap_or_else(corpus_dir);
            CAP.store(max_mb.saturating_mul(1 << 20), Ordering::Relaxed);
            watchdog(Duration::from_millis(timeout_ms));
            println!("target             execs   seconds   execs/s  outcomes  corpus  findings");
            let mut found = 0;
            for t in targets {
                found += fuzz_target(t, &corpus, &findings, seconds, seed)?;
            }
            Ok(if found > 0 {
                ExitCode::from(EXIT_FINDINGS)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Runs one target for `seconds`; returns its number of findings.
fn fuzz_target(
    t: &Target,
    corpus: &Path,
    findings: &Path,
    seconds: u64,
    seed: u64,
) -> Result<usize, String> {
    let dir = findings.join(t.name);
    // The allocator and the watchdog save here; one process fuzzes one target at a time.
    let _ = FINDINGS.set(dir.clone());
    let seeds: Vec<Vec<u8>> = read_corpus(&corpus.join(t.name))
        .map_err(|e| format!("reading the corpus of {}: {e}", t.name))?
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    if seeds.is_empty() {
        return Err(format!("no seeds in {}", corpus.join(t.name).display()));
    }
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut fuzzer = Fuzzer::new(t, seeds, seed, scratch.path().join("run"));
    let report = |f: &webly_fuzz::Finding| match save(&dir, "finding", &f.input, &f.what) {
        Ok(p) => println!("FINDING {} {}: {}", t.name, p.display(), f.what),
        Err(e) => println!("FINDING {}: {} (not saved: {e})", t.name, f.what),
    };
    for f in fuzzer.run_seeds() {
        report(&f);
    }
    fuzzer.run_for(Duration::from_secs(seconds), report);
    if let Ok(mut c) = CURRENT.lock() {
        c.started = None;
    }
    let s = &fuzzer.stats;
    println!(
        "{:<18} {:>7} {:>9.1} {:>9.0} {:>9} {:>7} {:>9}",
        t.name,
        s.execs,
        s.seconds,
        s.execs as f64 / s.seconds.max(1e-9),
        s.outcomes,
        s.corpus,
        s.findings.len()
    );
    Ok(s.findings.len())
}
