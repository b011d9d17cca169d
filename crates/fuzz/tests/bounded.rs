//! The short bounded pass of `make test`: every target over its committed seeds, then a fixed
//! number of deterministic mutations; no panic and no broken property. (`make fuzz` runs the
//! same targets for minutes each.)

use webly_fuzz::runner::read_corpus;
use webly_fuzz::{corpus_dir, Fuzzer, TARGETS};

/// Mutated inputs per target: a few seconds for all the targets together.
const MUTATIONS_PER_TARGET: usize = 100;

#[test]
fn every_target_survives_its_seeds_and_a_fixed_set_of_mutations() {
    let mut failures = Vec::new();
    for target in TARGETS {
        let seeds: Vec<Vec<u8>> = read_corpus(&corpus_dir().join(target.name))
            .unwrap()
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        assert!(!seeds.is_empty(), "{} has no committed seeds", target.name);
        let scratch = tempfile::tempdir().unwrap();
        let mut fuzzer = Fuzzer::new(target, seeds, 25, scratch.path().join("run"));
        for f in fuzzer.run_seeds() {
            failures.push(format!("{} seed: {}", target.name, f.what));
        }
        for _ in 0..MUTATIONS_PER_TARGET {
            if let Some(f) = fuzzer.step() {
                failures.push(format!(
                    "{}: {} (input {:?})",
                    target.name,
                    f.what,
                    String::from_utf8_lossy(&f.input[..f.input.len().min(200)])
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn seeds_reach_past_the_first_check() {
    // A seed that every reader refuses at once would make the mutations above shallow: each
    // target's seeds give at least two different outcomes or one success.
    for target in TARGETS {
        let scratch = tempfile::tempdir().unwrap();
        let outcomes: std::collections::BTreeSet<String> =
            read_corpus(&corpus_dir().join(target.name))
                .unwrap()
                .into_iter()
                .map(|(_, b)| {
                    format!(
                        "{:?}",
                        webly_fuzz::run_one(target, &b, &scratch.path().join("s"))
                    )
                })
                .collect();
        assert!(
            outcomes.len() >= 2 || outcomes.iter().all(|o| !o.contains("error")),
            "{}: {outcomes:?}",
            target.name
        );
    }
}
