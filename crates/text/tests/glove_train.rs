//! End-to-end GloVe training on a corpus with planted co-occurrence structure.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use webly_text::{train_glove, GloveConfig};

const TOPICS: usize = 6;
const WORDS_PER_TOPIC: usize = 8;

fn word(topic: usize, i: usize) -> String {
    format!("t{topic}w{i}")
}

/// Captions of 6 to 10 words, each drawn from one topic, plus one shared filler word.
fn corpus(captions: usize, seed: u64) -> Vec<Vec<String>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..captions)
        .map(|_| {
            let t = rng.gen_range(0..TOPICS);
            let len = rng.gen_range(6..=10);
            let mut c: Vec<String> = (0..len)
                .map(|_| word(t, rng.gen_range(0..WORDS_PER_TOPIC)))
                .collect();
            c.push("filler".into());
            c.shuffle(&mut rng);
            c
        })
        .collect()
}

fn cfg(threads: usize) -> GloveConfig {
    GloveConfig {
        vector_size: 16,
        iter: 30,
        x_max: 10.0,
        threads,
        progress: false,
        ..GloveConfig::default()
    }
}

#[test]
fn neighbours_are_the_planted_topic_and_cost_falls() {
    let c = corpus(6000, 7);
    let (v, stats) = train_glove(&cfg(2), &c).unwrap();
    assert_eq!(stats.vocab_size, TOPICS * WORDS_PER_TOPIC + 1);
    assert_eq!(stats.costs.len(), 30);
    assert!(stats.costs[29] < 0.5 * stats.costs[0], "{:?}", stats.costs);
    assert!(stats.costs.windows(2).filter(|w| w[1] > w[0]).count() <= 2);
    let mut hits = 0;
    let mut total = 0;
    for t in 0..TOPICS {
        for i in 0..WORDS_PER_TOPIC {
            let n = v.nearest_to_word(&word(t, i), WORDS_PER_TOPIC - 1).unwrap();
            hits += n
                .iter()
                .filter(|(w, _)| w.starts_with(&format!("t{t}w")))
                .count();
            total += n.len();
        }
    }
    assert!(hits as f64 >= 0.95 * total as f64, "{hits}/{total}");
}

#[test]
fn one_thread_is_deterministic_and_spilling_changes_nothing() {
    let c = corpus(1500, 3);
    let mut small = cfg(1);
    small.iter = 3;
    let (a, sa) = train_glove(&small, &c).unwrap();
    let (b, _) = train_glove(&small, &c).unwrap();
    assert_eq!(a.storage().as_slice(), b.storage().as_slice());
    let spill = GloveConfig {
        memory_mb: 0,
        shard_captions: 100,
        ..small.clone()
    };
    let (s, ss) = train_glove(&spill, &c).unwrap();
    assert!(ss.spills > 1);
    assert_eq!(ss.cooccurrences, sa.cooccurrences);
    assert_eq!(s.storage().as_slice(), a.storage().as_slice());
}

#[test]
fn min_count_and_bad_config() {
    let c = corpus(50, 1);
    let high = GloveConfig {
        min_count: 1_000_000,
        ..cfg(1)
    };
    assert!(train_glove(&high, &c)
        .unwrap_err()
        .to_string()
        .contains("min_count"));
    let bad = GloveConfig { model: 3, ..cfg(1) };
    assert!(train_glove(&bad, &c).is_err());
}
