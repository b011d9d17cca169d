//! Exact evaluation: every query ranks every image.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::metrics::{expected_random_ap, rank_metrics};
use crate::report::{Excluded, Kind, QueryRow, Report};
use crate::{EvalError, Relevance, Result};

/// One query to evaluate: its text (judged by the relevance), its set (file stem) and vector.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalQuery {
    pub text: String,
    pub set: String,
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
    let inv_norms = check_images(images, n, d, keys)?;
    for q in queries {
        check_query(&q.text, &q.vector, d)?;
    }
    let vectors: Vec<&[f32]> = queries.iter().map(|q| q.vector.as_slice()).collect();
    let scores = score_matrix(images, &inv_norms, &vectors);
    let positions: HashMap<&str, usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let results: Vec<(&EvalQuery, Option<QueryRow>)> = queries
        .par_iter()
        .zip(scores)
        .map(|(q, s)| {
            let flags = flags_of(&positions, n, relevance.relevant_keys(&q.text));
            (q, row_for(s, &flags, q))
        })
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

/// One flag per ranked image: is its key among the relevant ones.
fn flags_of(positions: &HashMap<&str, usize>, n: usize, relevant: Vec<&str>) -> Vec<bool> {
    let mut flags = vec![false; n];
    for i in relevant.iter().filter_map(|k| positions.get(k)) {
        flags[*i] = true;
    }
    flags
}

fn row_for(scores: Vec<f32>, flags: &[bool], q: &EvalQuery) -> Option<QueryRow> {
    let m = rank_metrics(&scores, flags)?;
    let n = flags.len();
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
    let inv = check_images(images, n, d, &keys)?;
    check_query("validation batch", queries, relevant.len() * d)?;
    let vectors: Vec<&[f32]> = queries.chunks(d).collect();
    let aps: Vec<f64> = score_matrix(images, &inv, &vectors)
        .into_par_iter()
        .zip(relevant)
        .filter_map(|(scores, rel)| {
            let mut flags = vec![false; n];
            rel.iter()
                .filter(|&&i| i < n)
                .for_each(|&i| flags[i] = true);
            rank_metrics(&scores, &flags).map(|m| m.ap)
        })
        .collect();
    Ok((!aps.is_empty()).then(|| aps.iter().sum::<f64>() / aps.len() as f64))
}

/// Checks shape and finiteness; returns 1/|row| (0 for an all-zero row).
fn check_images(images: &[f32], n: usize, d: usize, keys: &[String]) -> Result<Vec<f32>> {
    if d == 0 || images.len() != n * d || keys.len() != n {
        return Err(EvalError::Shape {
            len: images.len(),
            n,
            dim: d,
            keys: keys.len(),
        });
    }
    if let Some(row) = images
        .par_chunks(d)
        .position_first(|r| r.iter().any(|x| !x.is_finite()))
    {
        return Err(EvalError::NonFinite {
            row,
            key: keys[row].clone(),
        });
    }
    Ok(images
        .par_chunks(d)
        .map(|r| {
            let norm = dot(r, r).sqrt();
            if norm > 0.0 {
                1.0 / norm
            } else {
                0.0
            }
        })
        .collect())
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

/// Image rows scored per task against every query: the block stays in cache while all queries
/// read it, so the matrix is streamed from memory once, not once per query.
const BLOCK_ROWS: usize = 512;

/// One score vector per query (cosine up to the query's norm, which does not change the
/// ranking), computed in parallel over blocks of image rows.
fn score_matrix(images: &[f32], inv: &[f32], queries: &[&[f32]]) -> Vec<Vec<f32>> {
    let Some(d) = queries.first().map(|q| q.len()) else {
        return Vec::new();
    };
    let blocks: Vec<Vec<f32>> = images
        .par_chunks(BLOCK_ROWS * d)
        .zip(inv.par_chunks(BLOCK_ROWS))
        .map(|(rows, inv)| {
            let mut out = Vec::with_capacity(queries.len() * inv.len());
            for q in queries {
                out.extend(
                    rows.chunks_exact(d)
                        .zip(inv)
                        .map(|(row, s)| dot(row, q) * s),
                );
            }
            out
        })
        .collect();
    (0..queries.len())
        .into_par_iter()
        .map(|j| {
            let mut scores = Vec::with_capacity(inv.len());
            for (b, block) in blocks.iter().enumerate() {
                let len = inv.len().saturating_sub(b * BLOCK_ROWS).min(BLOCK_ROWS);
                scores.extend_from_slice(&block[j * len..(j + 1) * len]);
            }
            scores
        })
        .collect()
}

/// Independent partial sums, 8 wide, so the loop auto-vectorises.
const LANES: usize = 8;

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for j in 0..LANES {
            acc[j] += x[j] * y[j];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TruthRelevance;

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
}
