//! The driver: runs a target on one input inside `catch_unwind`, keeps inputs that reach an
//! outcome not seen before (a cheap stand-in for coverage: a new error kind is a new path
//! through the reader), and turns panics and broken properties into findings.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::bundle::mutate_bundle;
use crate::mutate::mutate;
use crate::targets::{Layout, Target};

/// Longest input the mutator makes, in bytes: seeds are a few KB, and a reader's bounds are
/// about structure (counts, lengths, offsets), not bulk.
pub const MAX_INPUT_BYTES: usize = 64 << 10;
/// Most inputs kept in the live corpus (seeds included); a new one then replaces a random one.
pub const MAX_CORPUS: usize = 512;
/// Characters of an outcome kept in its signature.
const SIGNATURE_CHARS: usize = 96;

/// What one input did to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The reader answered (a value or a clean error); the text says which, for the signature.
    Answered(String),
    /// A finding: the reader panicked, or its answer broke a property of the target.
    Finding(String),
}

/// The message of the last panic of this process (set by the quiet hook).
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
static QUIET_HOOK: Once = Once::new();

/// Replaces the panic hook with one that records the message and location instead of
/// printing them (a fuzzer panics thousands of times; each one becomes a finding).
pub fn quiet_panics() {
    QUIET_HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            if let Ok(mut last) = LAST_PANIC.lock() {
                *last = Some(format!("{message}{at}"));
            }
        }));
    });
}

/// Runs `target` on `input` in the empty folder `scratch` (emptied first), catching panics.
pub fn run_one(target: &Target, input: &[u8], scratch: &Path) -> Outcome {
    quiet_panics();
    if let Err(e) = reset(scratch) {
        return Outcome::Finding(format!("the scratch folder {}: {e}", scratch.display()));
    }
    match catch_unwind(AssertUnwindSafe(|| (target.run)(input, scratch))) {
        Ok(Ok(answer)) => Outcome::Answered(answer),
        Ok(Err(broken)) => Outcome::Finding(broken),
        Err(_) => {
            let message = LAST_PANIC
                .lock()
                .ok()
                .and_then(|mut m| m.take())
                .unwrap_or_else(|| "(message lost)".into());
            Outcome::Finding(format!("panic: {message}"))
        }
    }
}

/// Empties (or creates) `dir`.
fn reset(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)
}

/// A short, path- and number-free form of an answer: inputs that give a new one are kept.
pub fn signature(answer: &str, scratch: &Path) -> String {
    let text = answer.replace(&scratch.display().to_string(), "");
    let mut out = String::new();
    let mut last_digit = false;
    for c in text.chars() {
        let digit = c.is_ascii_digit();
        if !(digit && last_digit) {
            out.push(if digit { '#' } else { c });
        }
        last_digit = digit;
        if out.len() >= SIGNATURE_CHARS {
            break;
        }
    }
    out
}

/// The files of `dir` (a corpus folder), sorted by name; none when it does not exist.
pub fn read_corpus(dir: &Path) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| std::fs::read(&p).map(|b| (p, b)))
        .collect()
}

/// One finding: the input and what it did.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The input that caused it.
    pub input: Vec<u8>,
    /// The panic message or the broken property.
    pub what: String,
}

/// Counts of a fuzzing session.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Inputs run.
    pub execs: u64,
    /// Distinct outcomes seen.
    pub outcomes: usize,
    /// Inputs in the live corpus at the end.
    pub corpus: usize,
    /// Findings (the same message counted once).
    pub findings: Vec<Finding>,
    /// Wall time.
    pub seconds: f64,
}

/// A fuzzing session of one target: its live corpus, the outcomes seen, its random stream.
pub struct Fuzzer<'t> {
    target: &'t Target,
    corpus: Vec<Vec<u8>>,
    seen: HashSet<String>,
    found: HashSet<String>,
    rng: ChaCha8Rng,
    scratch: PathBuf,
    /// Counts so far.
    pub stats: Stats,
}

impl<'t> Fuzzer<'t> {
    /// A session over `seeds` (run once each first, by [`Fuzzer::run_seeds`]), with the random
    /// stream `seed`, using the folder `scratch` for the files the target writes.
    pub fn new(target: &'t Target, seeds: Vec<Vec<u8>>, seed: u64, scratch: PathBuf) -> Self {
        let corpus = if seeds.is_empty() {
            vec![Vec::new()]
        } else {
            seeds
        };
        Fuzzer {
            target,
            corpus,
            seen: HashSet::new(),
            found: HashSet::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            scratch,
            stats: Stats::default(),
        }
    }

    /// Runs the seeds themselves; returns the findings among them.
    pub fn run_seeds(&mut self) -> Vec<Finding> {
        let seeds = self.corpus.clone();
        seeds
            .into_iter()
            .filter_map(|s| self.exec(s, false))
            .collect()
    }

    /// Mutates a corpus input, runs it, and keeps it when its outcome is new. Returns a finding
    /// not reported before.
    pub fn step(&mut self) -> Option<Finding> {
        let mut input = self.corpus[self.rng.gen_range(0..self.corpus.len())].clone();
        match self.target.layout {
            Layout::Bytes => mutate(
                &mut input,
                &mut self.rng,
                self.target.tokens,
                &self.corpus,
                MAX_INPUT_BYTES,
            ),
            Layout::Bundle => mutate_bundle(
                &mut input,
                &mut self.rng,
                self.target.tokens,
                &self.corpus,
                MAX_INPUT_BYTES,
            ),
        }
        self.exec(input, true)
    }

    /// The input about to run is published first (see [`set_current`]) so that a watchdog can
    /// save it if the run never returns.
    fn exec(&mut self, input: Vec<u8>, keep: bool) -> Option<Finding> {
        set_current(&input);
        let outcome = run_one(self.target, &input, &self.scratch);
        self.stats.execs += 1;
        match outcome {
            Outcome::Answered(answer) => {
                let sig = signature(&answer, &self.scratch);
                if self.seen.insert(sig) && keep {
                    if self.corpus.len() < MAX_CORPUS {
                        self.corpus.push(input);
                    } else {
                        let i = self.rng.gen_range(0..self.corpus.len());
                        self.corpus[i] = input;
                    }
                }
                self.stats.outcomes = self.seen.len();
                self.stats.corpus = self.corpus.len();
                None
            }
            Outcome::Finding(what) => {
                let what = what.replace(&self.scratch.display().to_string(), "<scratch>");
                if !self.found.insert(signature(&what, &self.scratch)) {
                    return None;
                }
                let finding = Finding { input, what };
                self.stats.findings.push(finding.clone());
                Some(finding)
            }
        }
    }

    /// Runs steps for `time`, calling `on_finding` on each new finding.
    pub fn run_for(&mut self, time: Duration, mut on_finding: impl FnMut(&Finding)) {
        let start = Instant::now();
        while start.elapsed() < time {
            if let Some(f) = self.step() {
                on_finding(&f);
            }
        }
        self.stats.seconds = start.elapsed().as_secs_f64();
    }
}

/// The input being run and when it started (for the watchdog of the `webly-fuzz` binary).
pub struct Current {
    /// The input's bytes.
    pub input: Vec<u8>,
    /// When it started running.
    pub started: Option<Instant>,
}

/// The input running now: written before each run so a watchdog can save it if it hangs.
pub static CURRENT: Mutex<Current> = Mutex::new(Current {
    input: Vec::new(),
    started: None,
});

fn set_current(input: &[u8]) {
    if let Ok(mut c) = CURRENT.lock() {
        c.input.clear();
        c.input.extend_from_slice(input);
        c.started = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_forget_numbers_and_the_scratch_path() {
        let scratch = Path::new("/tmp/x");
        assert_eq!(
            signature("/tmp/x/vectors.txt: line 12: 300 values", scratch),
            signature("/tmp/x/vectors.txt: line 7: 2 values", scratch)
        );
        assert_ne!(
            signature("line 1: bad", scratch),
            signature("line 1: good", scratch)
        );
    }
}
