//! Where the relevant images fall in a query's ranking of every image, without sorting it.
//!
//! Every metric of [`crate::metrics`] needs only the relevant ties: the distinct scores of the
//! relevant images, how many images rank before each and how many share it. So the `n` images
//! are counted, in one read, into the `2r + 1` slots that the `r` relevant scores, ascending,
//! cut the ranking into (before the first, on the first, between the first and the second,
//! ...; of a score repeated, only the first's slots fill), and only the relevant scores are
//! sorted. An image finds its slot through a table of
//! cells ([`CellMap`], [`CellTable`], in [`webly_kernels::cells`]): the range from the
//! best to the worst relevant score cut into cells, narrower where the relevant scores crowd,
//! each knowing which relevant keys lie in it.

use webly_kernels::cells::{
    descending_key, score_of_key, CellMap, CellTable, CELL_CAPACITY, MAX_BOUNDS, PAST_FIRST,
    UNRESOLVED,
};

use crate::metrics::{metrics_of_ties, RankMetrics, Tie};

/// Cells of the score range from the best to the worst relevant score, at most (8 bytes a
/// cell: 2 MB, a core's L2 cache and a share of L3). With fewer, many relevant images share a
/// cell and an image in such a cell compares keys one by one, where the branch mispredicts:
/// measured on the exact evaluation of 24 queries over 1M x 300 (`scripts/bench_eval.sh`, about
/// 158K relevant images a query), 2^16 cells 0.213 s, 2^17 0.19 s, 2^18 0.18 s, 2^19 0.21 s;
/// the same at 150K (24K relevant). The workspace's one `MAX_CELLS`: a choice within what a
/// [`CellMap`] can hold ([`CELL_CAPACITY`]).
const MAX_CELLS: usize = 1 << 18;
const _: () = assert!(MAX_CELLS <= CELL_CAPACITY);

/// Cells per relevant image (up to [`MAX_CELLS`]): few cells then hold more than
/// [`webly_kernels::cells::CELL_BOUNDS`] relevant scores, past which an image compares the next
/// ones one by one. Measured against 2 and 8: with cells shared out where the scores crowd, 4
/// is enough.
const CELLS_PER_KEY: usize = 4;

/// Relevant keys compared one by one after the first of a cell, before a binary search of the
/// rest ([`PAST_FIRST`]).
const AFTER_STEPS: usize = 4;

/// Images placed by one kernel call, whose slots are then counted.
const STAGE: usize = 256;

/// The buffers of [`rank_metrics_of_parts`], kept between queries by one thread so that ranking
/// 150K images allocates (and page-faults) nothing after the first query.
#[derive(Debug, Default)]
pub struct RankScratch {
    /// Ranking positions of the relevant images, ascending, distinct.
    positions: Vec<u32>,
    /// Their keys, in that order.
    hits: Vec<u32>,
    /// The relevant images' keys ([`descending_key`]), ascending, repeats kept.
    keys: Vec<u32>,
    buf: Vec<u32>,
    /// Where `keys` lie among the cells ([`CellTable::build`]).
    table: CellTable,
    /// Images per slot of the ranking: slot `2i` holds those between keys `i - 1` and `i`,
    /// slot `2i + 1` those on key `i` (for a repeated key, its first: the others' stay 0).
    slots: Vec<u32>,
}

/// Metrics of a ranking given each image's score and relevance, highest score first. `None`
/// when no image is relevant.
///
/// Images with equal scores form a tie, and no metric depends on the order of their indices:
/// - AP is scikit-learn's `average_precision_score`: Σ over distinct scores of
///   (recall increase) x (precision after the whole tie), so a tie counts as one threshold.
/// - P@k and R-precision are expectations over the orderings of a tie that straddles the cut
///   (McSherry and Najork, "Computing information retrieval performance measures efficiently
///   in the presence of tied scores", ECIR 2008): a tie of `g` images with `h` relevant, of
///   which `t` fall inside the cut, contributes `h t / g` hits.
///
/// Without ties these are the usual metrics of the ranking.
///
/// The ranking is not sorted: see this module for how the relevant images are placed.
pub fn rank_metrics(scores: &[f32], relevant: &[bool]) -> Option<RankMetrics> {
    let positions: Vec<u32> = (0u32..)
        .zip(relevant)
        .filter(|(_, &rel)| rel)
        .map(|(p, _)| p)
        .collect();
    rank_metrics_of_parts(&[scores], &positions, &mut RankScratch::default())
}

impl RankScratch {
    /// A buffer for [`sort_distinct`] (it holds nothing between calls).
    pub(crate) fn buffer(&mut self) -> &mut Vec<u32> {
        &mut self.buf
    }
}

/// The metrics of the scores `parts` concatenated (blocks of images, in order), the relevant
/// images given by their positions in that concatenation (any order; repeats and positions
/// past the end are ignored). `None` when no image is relevant.
///
/// Ties are the scores `==` calls equal, NaNs by their bits (one [`descending_key`]); the metrics'
/// rules are [`crate::rank_metrics`]'s. The sums run in rank order over the same ties as a walk
/// over a sorted ranking, so the values are that walk's, bit for bit.
pub(crate) fn rank_metrics_of_parts(
    parts: &[&[f32]],
    relevant: &[u32],
    scratch: &mut RankScratch,
) -> Option<RankMetrics> {
    let n: usize = parts.iter().map(|p| p.len()).sum();
    let positions = &mut scratch.positions;
    distinct_positions(relevant, n, positions, &mut scratch.buf);
    let mut keys = std::mem::take(&mut scratch.hits);
    keys.clear();
    let (mut part, mut offset) = (0, 0);
    for &p in positions.iter() {
        while p as usize - offset >= parts[part].len() {
            offset += parts[part].len();
            part += 1;
        }
        keys.push(descending_key(parts[part][p as usize - offset]));
    }
    let metrics = rank_metrics_of_keys(parts, &keys, scratch);
    scratch.hits = keys;
    metrics
}

/// Sets `out` to the positions of `relevant` below `n`, ascending and distinct. `buf` is
/// scratch space.
pub(crate) fn distinct_positions(
    relevant: &[u32],
    n: usize,
    out: &mut Vec<u32>,
    buf: &mut Vec<u32>,
) {
    out.clear();
    out.extend(relevant.iter().copied().filter(|&p| (p as usize) < n));
    sort_distinct(out, buf);
}

/// Sorts `v` ascending and drops its repeats, unless it is so already. `buf` is scratch space.
pub(crate) fn sort_distinct(v: &mut Vec<u32>, buf: &mut Vec<u32>) {
    if !v.windows(2).all(|w| w[0] < w[1]) {
        radix_sort(v, buf);
        v.dedup();
    }
}

/// [`rank_metrics_of_parts`] given the relevant images' keys ([`descending_key`]: one per
/// relevant image, any order) rather than their positions.
pub(crate) fn rank_metrics_of_keys(
    parts: &[&[f32]],
    relevant_keys: &[u32],
    scratch: &mut RankScratch,
) -> Option<RankMetrics> {
    let RankScratch {
        keys,
        buf,
        table,
        slots,
        ..
    } = scratch;
    let r = relevant_keys.len();
    let best = *relevant_keys.iter().min()?;
    let worst = *relevant_keys.iter().max()?;
    let cells = cell_map(best, worst, relevant_keys);
    // The relevant keys ascending, repeats kept: a tie of relevant images starts at the first
    // of its run, whose slots count the images before it and on it.
    match cells {
        Some(map) => table.build(map, relevant_keys, keys),
        None => {
            keys.clear();
            keys.extend_from_slice(relevant_keys);
            radix_sort(keys, buf);
        }
    }
    let keys = &keys[..];
    slots.clear();
    slots.resize(2 * r + 1, 0);
    let slots = &mut slots[..];
    // The slot of a key that lies among keys[lo..hi], by binary search.
    let search = |key: u32, lo: usize, hi: usize| {
        let j = lo + keys[lo..hi].partition_point(|&k| k < key);
        2 * j + usize::from(keys.get(j) == Some(&key))
    };
    // The slot of a key above keys[j - 1]: a few keys compared one by one (it is most often
    // the next), then a galloping search from there (steps 1, 2, 4, ... until a key is not
    // below it, then a binary search of the last step), which reads only keys near its place.
    let after = |key: u32, mut j: usize| {
        for _ in 0..AFTER_STEPS {
            match keys.get(j) {
                Some(&k) if k < key => j += 1,
                _ => return 2 * j + usize::from(keys.get(j) == Some(&key)),
            }
        }
        let mut step = 1;
        loop {
            let hi = j + step;
            if hi >= r || keys[hi] >= key {
                return search(key, j, hi.min(r));
            }
            j = hi + 1;
            step *= 2;
        }
    };
    match cells {
        Some(_) => {
            let mut slot = [0u32; STAGE];
            for run in parts.iter().flat_map(|p| p.chunks(STAGE)) {
                let slot = &mut slot[..run.len()];
                table.slots(run, slot);
                for (&at, &s) in slot.iter().zip(run) {
                    let at = if at & PAST_FIRST == 0 {
                        at as usize
                    } else if at != UNRESOLVED {
                        // Past the first relevant key of its cell: the next ones compared.
                        after(descending_key(s), (at & !PAST_FIRST) as usize + 1)
                    } else {
                        search(descending_key(s), 0, r)
                    };
                    slots[at] += 1;
                }
            }
        }
        None => {
            for &s in parts.iter().flat_map(|p| p.iter()) {
                slots[search(descending_key(s), 0, r)] += 1;
            }
        }
    }
    let mut i = 0;
    let ties = std::iter::from_fn(|| {
        let key = *keys.get(i)?;
        let hits = keys[i..].iter().take_while(|&&k| k == key).count();
        let tie = Tie {
            before: slots[2 * i] as usize,
            len: slots[2 * i + 1] as usize,
            hits,
        };
        i += hits;
        Some(tie)
    });
    Some(metrics_of_ties(ties, r))
}

/// The cells between the `best` and the `worst` of the relevant `keys` ([`CELLS_PER_KEY`] per
/// key, at most [`MAX_CELLS`], shared out as the keys crowd). An image whose cell holds no
/// relevant score has its slot at once; the others compare keys with the few in their cell.
/// `None` when the relevant scores span no finite range (one score, or an infinite or NaN
/// one), or there are more than a table holds ([`MAX_BOUNDS`]): then every image compares
/// keys by binary search.
fn cell_map(best: u32, worst: u32, keys: &[u32]) -> Option<CellMap> {
    if keys.len() > MAX_BOUNDS {
        return None;
    }
    let count = keys.len().saturating_mul(CELLS_PER_KEY).min(MAX_CELLS);
    CellMap::new(score_of_key(best), score_of_key(worst), count, keys)
}

/// Bits per pass of [`radix_sort`]: 11 + 11 + 10 cover a `u32` in three passes, and a pass's
/// 2048 counters stay in the L1 cache.
const RADIX_BITS: u32 = 11;

/// Sorts `v` ascending: a least-significant-digit radix sort (3 passes of at most
/// [`RADIX_BITS`], all counted in one read, a pass skipped when all share its digit), O(n)
/// where a comparison sort is O(n log n). `buf` is scratch space.
fn radix_sort(v: &mut Vec<u32>, buf: &mut Vec<u32>) {
    const PASSES: usize = 32usize.div_ceil(RADIX_BITS as usize);
    let buckets = 1usize << RADIX_BITS;
    let mask = (buckets - 1) as u32;
    let shift = |pass: usize| pass as u32 * RADIX_BITS;
    let mut counts = vec![[0usize; PASSES]; buckets];
    for x in v.iter() {
        for pass in 0..PASSES {
            counts[((x >> shift(pass)) & mask) as usize][pass] += 1;
        }
    }
    buf.clear();
    buf.resize(v.len(), 0);
    for pass in 0..PASSES {
        if counts.iter().any(|c| c[pass] == v.len()) {
            continue;
        }
        let mut starts = vec![0usize; buckets];
        let mut sum = 0;
        for (start, c) in starts.iter_mut().zip(&counts) {
            *start = sum;
            sum += c[pass];
        }
        for x in v.iter() {
            let b = ((x >> shift(pass)) & mask) as usize;
            buf[starts[b]] = *x;
            starts[b] += 1;
        }
        std::mem::swap(v, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ranked_metrics;
    use rand::SeedableRng;

    #[test]
    fn radix_sort_matches_the_comparison_sort() {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for (n, distinct) in [
            (0, 1),
            (1, 1),
            (5, 2),
            (1000, 3),
            (20_000, 1 << 20),
            (3000, u32::MAX),
        ] {
            let mut v: Vec<u32> = (0..n).map(|_| rng.gen_range(0..distinct)).collect();
            let mut want = v.clone();
            want.sort_unstable();
            radix_sort(&mut v, &mut Vec::new());
            assert_eq!(v, want, "n={n}");
        }
    }

    /// The metrics of a ranking sorted by comparison: every tie in rank order.
    fn metrics_by_sorting(scores: &[f32], relevant: &[bool]) -> Option<RankMetrics> {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        // total_cmp with -0.0 read as 0.0 (scikit-learn's ties).
        let score = |i: usize| scores[i] + 0.0;
        order.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
        let r = relevant.iter().filter(|&&f| f).count();
        let mut ties: Vec<Tie> = Vec::new();
        let mut last: Option<f32> = None;
        for i in order {
            let hit = usize::from(relevant[i]);
            match (last, ties.last_mut()) {
                (Some(l), Some(t)) if l.total_cmp(&score(i)).is_eq() => {
                    t.len += 1;
                    t.hits += hit;
                }
                _ => ties.push(Tie {
                    before: 0,
                    len: 1,
                    hits: hit,
                }),
            }
            last = Some(score(i));
        }
        (r > 0).then(|| metrics_of_ties(ties, r))
    }

    #[test]
    fn counting_slots_equals_sorting_the_ranking_bit_for_bit() {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        // Few distinct scores (long ties); many; a mix with signed zeros and infinities; NaN
        // and infinities among ordinary scores; a tight cluster with an outlier (cells holding
        // many relevant scores each).
        let palettes: [&dyn Fn(&mut rand_chacha::ChaCha8Rng) -> f32; 5] = [
            &|g| g.gen_range(0..4) as f32 * 0.25,
            &|g| g.gen_range(-1.0..1.0),
            &|g| [0.0, -0.0, 0.5, f32::INFINITY, -3.0, 1e-40][g.gen_range(0..6)],
            &|g| {
                if g.gen_bool(0.03) {
                    [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY][g.gen_range(0..4)]
                } else {
                    g.gen_range(-1.0..1.0)
                }
            },
            &|g| {
                if g.gen_bool(0.01) {
                    -1.0
                } else {
                    g.gen_range(0.5..0.5001)
                }
            },
        ];
        // One scratch for every case, as one thread keeps it between queries.
        let mut scratch = RankScratch::default();
        for case in 0..900 {
            let n = if case % 7 == 0 {
                rng.gen_range(1000..6000)
            } else {
                rng.gen_range(1..400)
            };
            let draw = palettes[case % 5];
            let scores: Vec<f32> = (0..n).map(|_| draw(&mut rng)).collect();
            let share = [0.01, 0.2, 0.9][case / 5 % 3];
            let relevant: Vec<bool> = (0..n).map(|_| rng.gen_bool(share)).collect();
            let want = metrics_by_sorting(&scores, &relevant);
            assert_eq!(rank_metrics(&scores, &relevant), want, "case {case}");
            // The same scores in blocks, the relevant positions repeated and out of range.
            let cut = rng.gen_range(0..=n);
            let mut positions: Vec<u32> = (0u32..)
                .zip(&relevant)
                .filter(|p| *p.1)
                .map(|p| p.0)
                .collect();
            positions.extend(positions.clone());
            positions.push(n as u32 + 3);
            positions.reverse();
            let parts = [&scores[..cut], &scores[cut..]];
            let got = rank_metrics_of_parts(&parts, &positions, &mut scratch);
            assert_eq!(got, want, "case {case} in parts at {cut}");
        }
    }

    #[test]
    fn matches_sklearn_average_precision() {
        // Python (scikit-learn 1.9.1):
        // from sklearn.metrics import average_precision_score
        // y = [1,0,1,1,0,0,1,0,0,0,1,0]
        // s = [.9,.85,.8,.7,.65,.6,.5,.45,.4,.3,.2,.1]
        // average_precision_score(y, s)  -> 0.6885281385281385
        let y = [1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0].map(|v| v == 1);
        let s = [
            0.9, 0.85, 0.8, 0.7, 0.65, 0.6, 0.5, 0.45, 0.4, 0.3, 0.2, 0.1,
        ];
        let m = rank_metrics(&s, &y).unwrap();
        assert!((m.ap - 0.6885281385281385).abs() < 1e-12, "{}", m.ap);
        assert_eq!(m.relevant, 5);
        assert!((m.p_at_5 - 0.6).abs() < 1e-12);
        assert!((m.p_at_10 - 0.4).abs() < 1e-12);
        assert!((m.r_precision - 0.6).abs() < 1e-12);
    }

    #[test]
    fn the_two_zeros_are_one_tie_as_in_sklearn() {
        // Python (scikit-learn 1.9.1):
        // average_precision_score([1,0,0], [0.0,-0.0,0.5])          -> 0.3333333333333333
        // average_precision_score([0,1,0,1], [-0.0,0.0,0.3,-0.0])   -> 0.5
        let m = rank_metrics(&[0.0, -0.0, 0.5], &[true, false, false]).unwrap();
        assert!((m.ap - 1.0 / 3.0).abs() < 1e-12, "{}", m.ap);
        let m = rank_metrics(&[-0.0, 0.0, 0.3, -0.0], &[false, true, false, true]).unwrap();
        assert!((m.ap - 0.5).abs() < 1e-12, "{}", m.ap);
    }

    #[test]
    fn ranking_uses_scores_not_input_order() {
        // Python: average_precision_score([0,1,0,1], [0.1,0.9,0.3,0.2]) -> 0.8333333333333333
        let m = rank_metrics(&[0.1, 0.9, 0.3, 0.2], &[false, true, false, true]).unwrap();
        assert!((m.ap - 0.8333333333333333).abs() < 1e-12);
        assert!(rank_metrics(&[0.1, 0.2], &[false, false]).is_none());
    }

    #[test]
    fn tied_scores_match_sklearn_and_do_not_depend_on_order() {
        // Python (scikit-learn 1.9.1):
        // from sklearn.metrics import average_precision_score
        // y = [1,0,0,1,1,0,0,0,1,0]
        // s = [.9,.8,.8,.8,.8,.5,.5,.3,.3,.1]
        // average_precision_score(y, s)                  -> 0.6611111111111111
        // average_precision_score(y[::-1], s[::-1])      -> 0.6611111111111111
        // (the file-order tie break would give (1 + 2/4 + 3/5 + 4/9) / 4 = 0.6361 here)
        // P@5: the whole tie of four is inside: 3 hits -> 0.6; P@10 = 0.4;
        // R-precision (R = 4): 1 + 2 * 3/4 = 2.5 expected hits -> 0.625 (McSherry & Najork 2008).
        let y = [1, 0, 0, 1, 1, 0, 0, 0, 1, 0].map(|v| v == 1);
        let s = [0.9, 0.8, 0.8, 0.8, 0.8, 0.5, 0.5, 0.3, 0.3, 0.1];
        let m = rank_metrics(&s, &y).unwrap();
        assert!((m.ap - 0.6611111111111111).abs() < 1e-12, "{}", m.ap);
        assert!((m.p_at_5 - 0.6).abs() < 1e-12, "{}", m.p_at_5);
        assert!((m.p_at_10 - 0.4).abs() < 1e-12);
        assert!((m.r_precision - 0.625).abs() < 1e-12, "{}", m.r_precision);
        let (mut yr, mut sr) = (y, s);
        yr.reverse();
        sr.reverse();
        assert_eq!(rank_metrics(&sr, &yr).unwrap(), m);
    }

    #[test]
    fn tie_expectation_is_the_mean_over_all_orderings() {
        // Brute force: every ordering of a tie of 5 (2 relevant) after 3 ranked images.
        let s = [0.9f32, 0.8, 0.7, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1];
        let y = [true, false, true, false, true, false, true, false, false];
        let m = rank_metrics(&s, &y).unwrap();
        let tie: Vec<bool> = y[3..8].to_vec();
        let mut sum = [0.0f64; 2];
        let mut count = 0.0;
        permute(&mut tie.clone(), 0, &mut |p| {
            let flags: Vec<bool> = y[..3].iter().chain(p).chain(&y[8..]).copied().collect();
            let exact = ranked_metrics(&flags, 4);
            sum[0] += exact.p_at_5;
            sum[1] += exact.r_precision;
            count += 1.0;
        });
        assert!((m.p_at_5 - sum[0] / count).abs() < 1e-12);
        assert!((m.r_precision - sum[1] / count).abs() < 1e-12);
    }

    fn permute(v: &mut Vec<bool>, at: usize, f: &mut dyn FnMut(&[bool])) {
        if at == v.len() {
            f(v);
            return;
        }
        for i in at..v.len() {
            v.swap(at, i);
            permute(v, at + 1, f);
            v.swap(at, i);
        }
    }
}
