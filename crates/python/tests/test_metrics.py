"""webly's ranking metrics against scikit-learn and against brute force over tie orderings."""

import itertools

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

import webly


def random_ranking(rng, n, levels):
    """n images with scores from `levels` distinct values (few levels: many ties)."""
    scores = rng.integers(0, levels, size=n).astype(np.float32) / levels
    relevant = rng.random(n) < rng.uniform(0.05, 0.6)
    return scores, relevant


# webly's AP treats a tie (equal scores) as one threshold: the relevant images of a tie all get
# the precision after the whole tie, (recall increase) x (precision), summed over distinct
# scores: that is exactly scikit-learn's average_precision_score (crates/eval, rank_metrics),
# so the two must agree to rounding on random rankings with ties, and without ties (levels >>
# n) too. Flags in rank order (no scores) are the ranking with distinct descending scores.
@pytest.mark.parametrize("levels", [2, 5, 20, 1_000_000])
def test_average_precision_equals_scikit_learn_with_ties(levels):
    rng = np.random.default_rng(levels)
    checked = 0
    for _ in range(200):
        scores, relevant = random_ranking(rng, int(rng.integers(1, 300)), levels)
        ours = webly.average_precision(relevant.tolist(), scores=scores.tolist())
        if not relevant.any():
            assert ours is None
            continue
        theirs = average_precision_score(relevant, scores)
        assert ours == pytest.approx(theirs, abs=1e-12), (scores, relevant)
        checked += 1
    assert checked > 150


def test_average_precision_in_rank_order_equals_scikit_learn():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 200))
        relevant = rng.random(n) < 0.3
        if not relevant.any():
            continue
        theirs = average_precision_score(relevant, -np.arange(n, dtype=np.float64))
        assert webly.average_precision(relevant.tolist()) == pytest.approx(theirs, abs=1e-12)
        # Cut short: relevant images below the ranking lower AP in proportion.
        hits = int(relevant.sum())
        cut = webly.average_precision(relevant.tolist(), n_relevant=hits + 3)
        assert cut == pytest.approx(theirs * hits / (hits + 3), abs=1e-12)


def brute_force_precision(scores, relevant, k):
    """P@k averaged over every ordering of the images that keeps the scores descending."""
    total, count = 0.0, 0
    for perm in itertools.permutations(range(len(scores))):
        if any(scores[a] < scores[b] for a, b in zip(perm, perm[1:])):
            continue
        total += sum(relevant[i] for i in perm[:k]) / k
        count += 1
    return total / count


def test_precision_and_r_precision_are_expectations_over_tie_orderings():
    rng = np.random.default_rng(7)
    for _ in range(30):
        scores, relevant = random_ranking(rng, 7, 3)
        if not relevant.any():
            continue
        s, r = scores.tolist(), relevant.tolist()
        for k in (1, 3, 5, 7):
            want = brute_force_precision(s, r, k)
            assert webly.precision_at_k(r, k, scores=s) == pytest.approx(want, abs=1e-12)
        big_r = int(relevant.sum())
        m = webly.rank_metrics(r, scores=s)
        assert m["relevant"] == big_r
        assert m["r_precision"] == pytest.approx(brute_force_precision(s, r, big_r), abs=1e-12)
        assert m["p_at_5"] == pytest.approx(webly.precision_at_k(r, 5, scores=s), abs=1e-15)
        assert webly.r_precision(r, scores=s) == m["r_precision"]


def test_precision_at_k_in_rank_order():
    flags = [True, False, True, True, False, False]
    assert webly.precision_at_k(flags, 1) == 1.0
    assert webly.precision_at_k(flags, 4) == 0.75
    assert webly.precision_at_k(flags, 10) == 0.3
    with pytest.raises(webly.WeblyError):
        webly.precision_at_k(flags, 0)


def test_mean_average_precision_over_a_query_set():
    rng = np.random.default_rng(3)
    images = rng.standard_normal((300, 16)).astype(np.float32)
    queries = rng.standard_normal((12, 16)).astype(np.float32)
    relevant = [sorted(rng.choice(300, size=int(rng.integers(1, 20)), replace=False).tolist())
                for _ in range(12)]
    relevant[4] = []  # a query without relevant images is left out
    unit = images / np.linalg.norm(images, axis=1, keepdims=True)
    aps = []
    for q, rel in zip(queries, relevant):
        if not rel:
            continue
        flags = np.zeros(300, dtype=bool)
        flags[rel] = True
        aps.append(average_precision_score(flags, unit @ q))
    got = webly.mean_average_precision(images, queries, relevant)
    assert got == pytest.approx(np.mean(aps), abs=1e-5)
    assert webly.mean_average_precision(images, queries[:1], [[]]) is None


def test_errors_are_webly_errors():
    with pytest.raises(webly.WeblyError, match="2 scores but 3 relevance flags"):
        webly.average_precision([True, False, True], scores=[0.1, 0.2])
    with pytest.raises(webly.WeblyError, match="below the 2 relevant"):
        webly.average_precision([True, True], n_relevant=1)
    assert issubclass(webly.WeblyError, Exception)
