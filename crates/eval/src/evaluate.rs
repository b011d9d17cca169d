//! Exact evaluation: every query ranks every image.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::metrics::{RandomRanking, RankMetrics};
use crate::positions::RelevantPositions;
use crate::ranking::{rank_metrics_of_keys, rank_metrics_of_parts, sort_distinct, RankScratch};
use crate::report::{Excluded, Report};
use crate::row::{Kind, QueryRow};
use crate::scan::{score_blocks, score_matrix};
use crate::{EvalError, Relevance, Result};

/// One query to evaluate: its text (judged by the relevance), its set (file stem) and vector.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalQuery {
    /// The query as written (the relevance judges it word by word).
    pub text: String,
    /// The query file stem it comes from (`simple`, `complex`).
    pub set: String,
    /// Its embedding in the image space, `dim` values (any norm).
    pub vector: Vec<f32>,
}

/// Ranks all `n` images (row-major `n x d`, any norm: ranking is by cosine) for each query, in
/// parallel over queries, and reports per-query metrics beside their random expectation.
pub fn evaluate(
    images: &[f32],
    n: usize,
    d: usize,
    keys: &[String],
    queries: &[EvalQuery],
    relevance: &dyn Relevance,
) -> Result<Report> {
    check_shape(images, n, d, keys)?;
    for q in queries {
        check_query(&q.text, &q.vector, d)?;
    }
    let vectors: Vec<f32> = queries
        .iter()
        .flat_map(|q| q.vector.iter().copied())
        .collect();
    // The relevant images first, so that the scan picks up their scores while it has them.
    let positions = RelevantPositions::new(keys, relevance);
    let relevant: Vec<Vec<u32>> = queries
        .par_iter()
        .map(|q| {
            SCRATCH.with_borrow_mut(|(scratch, _)| {
                let mut found = positions.of(&q.text);
                sort_distinct(&mut found, scratch.buffer());
                found
            })
        })
        .collect();
    let blocks = score_blocks(images, d, keys, &vectors, &relevant)?;
    let random = RandomRanking::new(n);
    let rank = |j: usize| {
        SCRATCH.with_borrow_mut(|(scratch, hits)| {
            hits.clear();
            for block in &blocks.blocks {
                hits.extend_from_slice(block.hits_of(j));
            }
            rank_metrics_of_keys(&blocks.query(j), hits, scratch)
                .map(|m| row_for(m, &random, &queries[j]))
        })
    };
    let results = costliest_first(&relevant, rank);
    let mut rows = Vec::new();
    let mut excluded = Vec::new();
    for (q, row) in queries.iter().zip(results) {
        match row {
            Some(r) => rows.push(r),
            None => excluded.push(Excluded {
                query: q.text.clone(),
                set: q.set.clone(),
            }),
        }
    }
    Ok(Report::new(n, rows, excluded))
}

/// `rank(j)` for every query `j`, in parallel, as each query's `relevant` list orders them:
/// the longest first (ranking costs most with many relevant images), each thread taking the
/// next when it is done, so that no thread waits at the end while another ranks a long one
/// (greedy longest-processing-time scheduling). Results in the queries' order.
fn costliest_first<T: Send>(relevant: &[Vec<u32>], rank: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let mut order: Vec<usize> = (0..relevant.len()).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(relevant[j].len()));
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = (0..rayon::current_num_threads())
        .into_par_iter()
        .flat_map_iter(|_| {
            std::iter::from_fn(|| {
                let &j = order.get(next.fetch_add(1, Ordering::Relaxed))?;
                Some((j, rank(j)))
            })
        })
        .collect();
    done.sort_by_key(|&(j, _)| j);
    done.into_iter().map(|(_, t)| t).collect()
}

thread_local! {
    /// Each thread's ranking buffers (and a query's relevant keys), kept between queries and
    /// evaluations: rayon may split the queries into one job per query, and buffers made per
    /// job would be allocated and page-faulted again each time.
    static SCRATCH: std::cell::RefCell<(RankScratch, Vec<u32>)> = Default::default();
}

fn row_for(m: RankMetrics, random: &RandomRanking, q: &EvalQuery) -> QueryRow {
    QueryRow {
        query: q.text.clone(),
        set: q.set.clone(),
        kind: Kind::of(&q.text),
        relevant: m.relevant,
        ap: m.ap,
        p_at_5: m.p_at_5,
        p_at_10: m.p_at_10,
        r_precision: m.r_precision,
        random_ap: random.ap(m.relevant),
        random_p_at_5: random.p(m.relevant),
    }
}

/// mAP of row-major `queries` (`m x d`) over `images`, where `relevant[i]` lists the image
/// rows relevant to query `i`. Queries without relevant images are left out; `None` when none
/// is left. For the encoder's validation.
pub fn mean_average_precision(
    images: &[f32],
    n: usize,
    d: usize,
    queries: &[f32],
    relevant: &[Vec<usize>],
) -> Result<Option<f64>> {
    let keys: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    check_shape(images, n, d, &keys)?;
    check_query("validation batch", queries, relevant.len() * d)?;
    let aps: Vec<f64> = score_matrix(images, d, &keys, queries)?
        .par_chunks(n.max(1))
        .zip(relevant)
        .filter_map(|(scores, rel)| {
            let positions: Vec<u32> = rel.iter().filter_map(|&i| u32::try_from(i).ok()).collect();
            rank_metrics_of_parts(&[scores], &positions, &mut RankScratch::default()).map(|m| m.ap)
        })
        .collect();
    Ok((!aps.is_empty()).then(|| aps.iter().sum::<f64>() / aps.len() as f64))
}

/// Cosine scores of the row-major `queries` (`m x d`) against every image (row-major
/// `n x d`, any norm), query-major: query `j`'s `n` scores at `j * n..(j + 1) * n`. Each is
/// the dot product over the image's norm (0 for an all-zero image); queries are not normed,
/// which does not change a query's ranking. This is the scan [`evaluate`] ranks.
///
/// Errors: [`EvalError::Shape`] (shapes or keys do not fit), [`EvalError::QueryDim`] (the
/// queries are not whole rows of `d`), [`EvalError::NonFinite`] naming the first bad image.
pub fn cosine_scores(
    images: &[f32],
    n: usize,
    d: usize,
    keys: &[String],
    queries: &[f32],
) -> Result<Vec<f32>> {
    check_shape(images, n, d, keys)?;
    check_query("query batch", queries, queries.len() / d * d)?;
    score_matrix(images, d, keys, queries)
}

/// [`EvalError::Shape`] unless `images` holds `n` rows of `d > 0` values, one key per row.
fn check_shape(images: &[f32], n: usize, d: usize, keys: &[String]) -> Result<()> {
    if d == 0 || images.len() != n * d || keys.len() != n {
        return Err(EvalError::Shape {
            len: images.len(),
            n,
            dim: d,
            keys: keys.len(),
        });
    }
    Ok(())
}

fn check_query(text: &str, v: &[f32], d: usize) -> Result<()> {
    if v.len() != d {
        return Err(EvalError::QueryDim {
            query: text.to_string(),
            found: v.len(),
            dim: d,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::BLOCK_ROWS;
    use crate::{rank_metrics, TruthRelevance};

    /// Queries of the `simple` set with random `d`-dimensional vectors.
    fn random_queries(
        texts: &[&str],
        d: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> Vec<EvalQuery> {
        use rand::Rng;
        texts
            .iter()
            .map(|t| EvalQuery {
                text: t.to_string(),
                set: "simple".into(),
                vector: (0..d).map(|_| rng.gen_range(-1.0..1.0)).collect(),
            })
            .collect()
    }

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("k{i}")).collect()
    }

    #[test]
    fn evaluates_known_ranking() {
        // 2-d images; the query points along x; scale of rows must not matter.
        let images = [10.0, 0.0, 0.8, 0.6, 0.0, 5.0, 0.6, 0.8];
        let truth = TruthRelevance::new([
            ("k0".to_string(), vec!["car".to_string()]),
            ("k3".to_string(), vec!["car".to_string()]),
        ]);
        let q = |t: &str| EvalQuery {
            text: t.into(),
            set: "simple".into(),
            vector: vec![1.0, 0.0],
        };
        let report = evaluate(&images, 4, 2, &keys(4), &[q("car"), q("boat")], &truth).unwrap();
        // ranking k0, k1, k3, k2: relevant at ranks 1 and 3 -> AP = (1 + 2/3) / 2
        let row = &report.rows[0];
        assert!((row.ap - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(row.relevant, 2);
        assert!((row.random_p_at_5 - 0.5).abs() < 1e-12);
        assert_eq!(report.excluded.len(), 1);
        let map =
            mean_average_precision(&images, 4, 2, &[1.0, 0.0, 0.0, 1.0], &[vec![0, 3], vec![]])
                .unwrap();
        assert!((map.unwrap() - 5.0 / 6.0).abs() < 1e-12);
    }

    /// A relevance that answers by key only (no ids).
    struct ByKey(TruthRelevance);

    impl Relevance for ByKey {
        fn relevant_keys(&self, query: &str) -> Vec<&str> {
            self.0.relevant_keys(query)
        }
    }

    #[test]
    fn the_relevance_key_order_and_lookup_do_not_change_the_report() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let (n, d) = (3 * BLOCK_ROWS + 17, 8);
        let images: Vec<f32> = (0..n * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let words = ["car", "boat", "dog"];
        let truth: Vec<(String, Vec<String>)> = keys(n)
            .into_iter()
            .map(|k| {
                let w = words[rng.gen_range(0..words.len())];
                (k, vec![w.to_string(), "city".to_string()])
            })
            .collect();
        // Some keys the ranking does not hold, and some ranked images without truth.
        let mut other_order: Vec<_> = truth[10..].to_vec();
        other_order.reverse();
        other_order.push(("not-ranked".into(), vec!["car".into()]));
        let queries = random_queries(&["car", "boat city", "dog"], d, &mut rng);
        let run = |rel: &dyn Relevance| evaluate(&images, n, d, &keys(n), &queries, rel).unwrap();
        let same = run(&TruthRelevance::new(truth.clone()));
        assert_eq!(same, run(&ByKey(TruthRelevance::new(truth.clone()))));
        let partial = run(&TruthRelevance::new(other_order.clone()));
        assert_eq!(partial, run(&ByKey(TruthRelevance::new(other_order))));
        assert_ne!(same, partial, "the first 10 images' truth was dropped");
        assert_eq!(same.rows.len(), 3);
    }

    #[test]
    fn evaluation_ranks_the_scan_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        // Three blocks, the last partial: the relevant scores the scan picks up block by block
        // must rank as the whole scan does.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let (n, d) = (2 * BLOCK_ROWS + 37, 9);
        let images: Vec<f32> = (0..n * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let words = ["car", "boat", "dog", "sky"];
        let truth: Vec<(String, Vec<String>)> = keys(n)
            .into_iter()
            .map(|k| {
                let c = (0..2)
                    .map(|_| words[rng.gen_range(0..4)].to_string())
                    .collect();
                (k, c)
            })
            .collect();
        let queries = random_queries(&["car", "dog sky", "boat", "sky"], d, &mut rng);
        let relevance = TruthRelevance::new(truth.clone());
        let report = evaluate(&images, n, d, &keys(n), &queries, &relevance).unwrap();
        let vectors: Vec<f32> = queries.iter().flat_map(|q| q.vector.clone()).collect();
        let scores = cosine_scores(&images, n, d, &keys(n), &vectors).unwrap();
        assert_eq!(report.rows.len(), queries.len());
        for (j, (q, row)) in queries.iter().zip(&report.rows).enumerate() {
            let flags: Vec<bool> = truth
                .iter()
                .map(|(_, c)| q.text.split(' ').all(|w| c.iter().any(|x| x == w)))
                .collect();
            let want = rank_metrics(&scores[j * n..(j + 1) * n], &flags).unwrap();
            assert_eq!(row.relevant, want.relevant, "{}", q.text);
            assert_eq!(row.ap.to_bits(), want.ap.to_bits(), "{}", q.text);
            assert_eq!(row.p_at_10.to_bits(), want.p_at_10.to_bits(), "{}", q.text);
            assert_eq!(row.r_precision.to_bits(), want.r_precision.to_bits());
        }
    }

    #[test]
    fn rejects_bad_input_naming_it() {
        let truth = TruthRelevance::new(Vec::<(String, Vec<String>)>::new());
        let err = evaluate(&[1.0, f32::NAN], 1, 2, &keys(1), &[], &truth).unwrap_err();
        assert!(err.to_string().contains("k0"), "{err}");
        assert!(evaluate(&[1.0; 3], 1, 2, &keys(1), &[], &truth).is_err());
        let q = EvalQuery {
            text: "car".into(),
            set: "s".into(),
            vector: vec![1.0],
        };
        let err = evaluate(&[1.0, 0.0], 1, 2, &keys(1), &[q], &truth).unwrap_err();
        assert!(err.to_string().contains("car"), "{err}");
    }

    #[test]
    fn blocked_scores_rank_as_the_naive_scan() {
        use rand::{Rng, SeedableRng};
        // Three blocks, the last partial; dimension 31 leaves kernel tails; rows of any norm.
        let (n, d) = (2 * BLOCK_ROWS + 13, 31);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut images: Vec<f32> = (0..n * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        images[40 * d..41 * d].fill(0.0); // an all-zero row scores 0
        let queries: Vec<f32> = (0..5 * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let relevant: Vec<Vec<usize>> = (0..5)
            .map(|j| (0..n).filter(|i| (i * 7 + j) % 11 == 0).collect())
            .collect();
        let naive_ap = |j: usize| {
            let q = &queries[j * d..(j + 1) * d];
            let scores: Vec<f32> = images
                .chunks(d)
                .map(|r| {
                    let dot: f64 = r.iter().zip(q).map(|(a, b)| *a as f64 * *b as f64).sum();
                    let norm: f64 = r.iter().map(|a| *a as f64 * *a as f64).sum::<f64>().sqrt();
                    if norm > 0.0 {
                        (dot / norm) as f32
                    } else {
                        0.0
                    }
                })
                .collect();
            let mut flags = vec![false; n];
            relevant[j].iter().for_each(|&i| flags[i] = true);
            rank_metrics(&scores, &flags).unwrap().ap
        };
        let want = (0..5).map(naive_ap).sum::<f64>() / 5.0;
        let got = mean_average_precision(&images, n, d, &queries, &relevant)
            .unwrap()
            .unwrap();
        // Random scores have no near-ties: the same ranking, so the same AP to rounding.
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        // The first non-finite row is named, whichever block finds one first.
        images[(2 * BLOCK_ROWS + 5) * d + 3] = f32::INFINITY;
        images[600 * d + 5] = f32::NAN;
        let err = mean_average_precision(&images, n, d, &queries, &relevant).unwrap_err();
        assert!(err.to_string().contains("600"), "{err}");
    }
}
