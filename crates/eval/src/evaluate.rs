//! Exact evaluation: every query ranks every image.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::metrics::{expected_random_ap, rank_metrics_of_parts, RankScratch};
use crate::report::{Excluded, Report};
use crate::row::{Kind, QueryRow};
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
    let blocks = score_blocks(images, d, keys, &vectors)?;
    let positions = RelevantPositions::new(keys, relevance);
    let results: Vec<(&EvalQuery, Option<QueryRow>)> = queries
        .par_iter()
        .enumerate()
        .map_init(
            || (RankScratch::default(), Vec::new()),
            |(scratch, relevant), (j, q)| {
                positions.of(&q.text, relevant);
                (q, row_for(&blocks.query(j), n, relevant, q, scratch))
            },
        )
        .collect();
    let mut rows = Vec::new();
    let mut excluded = Vec::new();
    for (q, row) in results {
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

/// Ranking position of each key. Hashed with foldhash (hashbrown's default hash), several
/// times faster than the standard SipHash on short keys; keys are not chosen by an adversary.
type KeyPositions<'a> = HashMap<&'a str, usize, foldhash::fast::FixedState>;

/// Where the relevant images of a query are in the ranking.
struct RelevantPositions<'a> {
    relevance: &'a dyn Relevance,
    n: usize,
    how: Lookup<'a>,
}

enum Lookup<'a> {
    /// The relevance's ids are the ranking's positions (the same keys in the same order).
    Identity,
    /// Ranking position of each of the relevance's ids (`u32::MAX`: not ranked), mapped once.
    Ids(Vec<u32>),
    /// Every relevant key looked up (a relevance without ids).
    Keys(KeyPositions<'a>),
}

impl<'a> RelevantPositions<'a> {
    fn new(keys: &'a [String], relevance: &'a dyn Relevance) -> Self {
        let positions = || -> KeyPositions<'a> {
            keys.iter()
                .enumerate()
                .map(|(i, k)| (k.as_str(), i))
                .collect()
        };
        let how = match relevance.known_keys() {
            Some(known) if known == keys => Lookup::Identity,
            Some(known) => {
                let positions = positions();
                Lookup::Ids(
                    known
                        .iter()
                        .map(|k| positions.get(k.as_str()).map_or(u32::MAX, |&p| p as u32))
                        .collect(),
                )
            }
            None => Lookup::Keys(positions()),
        };
        RelevantPositions {
            relevance,
            n: keys.len(),
            how,
        }
    }

    /// Sets `out` to the ranking positions of the images relevant to `query` (any order,
    /// possibly repeated).
    fn of(&self, query: &str, out: &mut Vec<u32>) {
        out.clear();
        match &self.how {
            Lookup::Identity => out.extend(
                self.relevance
                    .relevant_ids(query)
                    .into_iter()
                    .filter(|&id| (id as usize) < self.n),
            ),
            Lookup::Ids(map) => out.extend(
                self.relevance
                    .relevant_ids(query)
                    .into_iter()
                    .filter_map(|id| map.get(id as usize).copied())
                    .filter(|&p| p != u32::MAX),
            ),
            Lookup::Keys(positions) => out.extend(
                self.relevance
                    .relevant_keys(query)
                    .into_iter()
                    .filter_map(|k| positions.get(k))
                    .map(|&p| p as u32),
            ),
        }
    }
}

fn row_for(
    scores: &[&[f32]],
    n: usize,
    relevant: &[u32],
    q: &EvalQuery,
    scratch: &mut RankScratch,
) -> Option<QueryRow> {
    let m = rank_metrics_of_parts(scores, relevant, scratch)?;
    Some(QueryRow {
        query: q.text.clone(),
        set: q.set.clone(),
        kind: Kind::of(&q.text),
        relevant: m.relevant,
        ap: m.ap,
        p_at_5: m.p_at_5,
        p_at_10: m.p_at_10,
        r_precision: m.r_precision,
        random_ap: expected_random_ap(m.relevant, n),
        random_p_at_5: m.relevant as f64 / n as f64,
    })
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

/// Image rows scored per task against every query ([`webly_kernels::BLOCK_ROWS`]): the block
/// stays in cache while it is checked, normed and multiplied by all queries, so the matrix is
/// read from memory once.
const BLOCK_ROWS: usize = webly_kernels::BLOCK_ROWS;

/// `1 / |row|` (0 for an all-zero row), `None` when the row holds a non-finite value. One read
/// of the row: a NaN or infinity makes the squared norm non-finite, and only then (or on
/// overflow) are the values looked at one by one.
fn inverse_norm(row: &[f32]) -> Option<f32> {
    let squared = webly_kernels::dot(row, row);
    let norm = if squared.is_finite() {
        squared.sqrt()
    } else if row.iter().all(|x| x.is_finite()) {
        // Finite values whose squares overflow f32: norm them in f64.
        row.iter()
            .map(|x| *x as f64 * *x as f64)
            .sum::<f64>()
            .sqrt() as f32
    } else {
        return None;
    };
    Some(if norm > 0.0 { 1.0 / norm } else { 0.0 })
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

/// Query-major scores (`m x n`, query `j`'s at `j * n..`) of the row-major `queries`
/// (`m x d`) against every image row divided by its norm (0 for an all-zero row): cosine up to
/// the query's norm, which does not change the ranking. See [`score_blocks`].
fn score_matrix(images: &[f32], d: usize, keys: &[String], queries: &[f32]) -> Result<Vec<f32>> {
    let blocks = score_blocks(images, d, keys, queries)?;
    let n = keys.len();
    let mut scores = vec![0.0f32; blocks.queries * n];
    scores
        .par_chunks_mut(n.max(1))
        .enumerate()
        .for_each(|(j, row)| {
            let mut at = 0;
            for part in blocks.query(j) {
                row[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
        });
    Ok(scores)
}

/// Scores by blocks of [`BLOCK_ROWS`] images: block `b` holds `m x len` scores, query-major.
/// [`evaluate`] ranks straight from them, without gathering each query's scores into one row.
struct ScoreBlocks {
    queries: usize,
    blocks: Vec<Vec<f32>>,
}

impl ScoreBlocks {
    /// Query `j`'s scores, block after block: together the `n` images in order.
    fn query(&self, j: usize) -> Vec<&[f32]> {
        self.blocks
            .iter()
            .map(|b| {
                let len = b.len() / self.queries;
                &b[j * len..(j + 1) * len]
            })
            .collect()
    }
}

/// The scores of the row-major `queries` (`m x d`) against every image row divided by its norm
/// (0 for an all-zero row).
///
/// One pass over blocks of rows in parallel: each block is checked for non-finite values,
/// normed and scored against all queries in one matrix product. [`EvalError::NonFinite`]
/// names the first bad row. Shapes are checked by the caller. The product sums in another
/// order than a per-row dot product, so scores can differ in the last bits and images within
/// rounding of each other can swap ranks (on the 150K x 300 benchmark AP moved by < 2e-8).
fn score_blocks(images: &[f32], d: usize, keys: &[String], queries: &[f32]) -> Result<ScoreBlocks> {
    let m = queries.len() / d;
    let blocks: Vec<std::result::Result<Vec<f32>, usize>> = images
        .par_chunks(BLOCK_ROWS * d)
        .enumerate()
        .map(|(b, rows)| {
            let mut inv = Vec::with_capacity(rows.len() / d);
            for (i, r) in rows.chunks_exact(d).enumerate() {
                inv.push(inverse_norm(r).ok_or(b * BLOCK_ROWS + i)?);
            }
            let len = inv.len();
            let mut out = vec![0.0f32; m * len];
            webly_kernels::dot_block(queries, rows, d, &mut out)
                .expect("shapes checked by the caller");
            for scores in out.chunks_exact_mut(len) {
                scores.iter_mut().zip(&inv).for_each(|(s, i)| *s *= i);
            }
            Ok(out)
        })
        .collect();
    let mut ok = Vec::with_capacity(blocks.len());
    for block in blocks {
        match block {
            Ok(scores) => ok.push(scores),
            Err(row) => {
                return Err(EvalError::NonFinite {
                    row,
                    key: keys[row].clone(),
                })
            }
        }
    }
    Ok(ScoreBlocks {
        queries: m,
        blocks: ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{rank_metrics, TruthRelevance};

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
        let queries: Vec<EvalQuery> = ["car", "boat city", "dog"]
            .iter()
            .map(|t| EvalQuery {
                text: t.to_string(),
                set: "simple".into(),
                vector: (0..d).map(|_| rng.gen_range(-1.0..1.0)).collect(),
            })
            .collect();
        let run = |rel: &dyn Relevance| evaluate(&images, n, d, &keys(n), &queries, rel).unwrap();
        let same = run(&TruthRelevance::new(truth.clone()));
        assert_eq!(same, run(&ByKey(TruthRelevance::new(truth.clone()))));
        let partial = run(&TruthRelevance::new(other_order.clone()));
        assert_eq!(partial, run(&ByKey(TruthRelevance::new(other_order))));
        assert_ne!(same, partial, "the first 10 images' truth was dropped");
        assert_eq!(same.rows.len(), 3);
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

    #[test]
    fn inverse_norm_rejects_non_finite_rows_only() {
        assert_eq!(inverse_norm(&[3.0, 4.0]), Some(0.2));
        assert_eq!(inverse_norm(&[0.0; 7]), Some(0.0));
        assert_eq!(inverse_norm(&[1.0, f32::NAN, 2.0]), None);
        assert_eq!(inverse_norm(&[f32::NEG_INFINITY, 0.0]), None);
        // Squares overflow f32 but the row is finite: normed in f64.
        let big = inverse_norm(&[3e30, 4e30]).unwrap();
        assert!((big as f64 * 5e30 - 1.0).abs() < 1e-6, "{big}");
    }
}
