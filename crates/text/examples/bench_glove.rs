//! GloVe training throughput on a generated Zipf-like corpus.
//!
//! `cargo run --release -p webly-text --example bench_glove -- [captions] [iter]`
//! (defaults 200000 captions, 3 iterations). Prints tokens/s of the counting phase and of each
//! iteration (corpus tokens / iteration seconds) and co-occurrence records/s.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use webly_text::{train_glove, GloveConfig};

/// Distinct words in the generated corpus.
const VOCAB: usize = 20_000;

fn corpus(captions: usize) -> Vec<Vec<String>> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // Zipf-like: rank = floor(VOCAB^u) for uniform u.
    (0..captions)
        .map(|_| {
            let len = rng.gen_range(5..=15);
            (0..len)
                .map(|_| {
                    let r = (VOCAB as f64).powf(rng.gen::<f64>()) as usize;
                    format!("w{r}")
                })
                .collect()
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let captions: usize = args.next().map_or(Ok(200_000), |a| a.parse())?;
    let iter: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let c = corpus(captions);
    let cfg = GloveConfig {
        iter,
        progress: false,
        ..GloveConfig::default()
    };
    let (_, s) = train_glove(&cfg, &c)?;
    let threads = rayon::current_num_threads();
    println!(
        "captions={captions} tokens={} vocab={} cooccurrences={} threads={threads}",
        s.tokens, s.vocab_size, s.cooccurrences
    );
    println!(
        "counting: {:.3} s, {:.0} tokens/s",
        s.count_seconds,
        s.tokens as f64 / s.count_seconds
    );
    for (i, (t, cost)) in s.iter_seconds.iter().zip(&s.costs).enumerate() {
        println!(
            "iter {:>2}: {t:.3} s, {:.0} tokens/s, {:.0} records/s, cost {cost:.5}",
            i + 1,
            s.tokens as f64 / t,
            s.cooccurrences as f64 / t
        );
    }
    Ok(())
}
