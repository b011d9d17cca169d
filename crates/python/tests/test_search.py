"""Search from Python equals the command line's `webly query --json --exact`, on the miniature run
that `cargo test --workspace` builds (crates/serve/tests: target/tmp/serve-miniature) and on a
collection the test makes from a few of its images with `webly collection create`. Skipped
(with the reason) when the binary or the miniature run is not built: `make test` builds both
before it runs this suite."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import webly

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(os.environ.get("WEBLY_BIN", ROOT / "target/release/webly"))
MINIATURE = Path(os.environ.get("WEBLY_MINIATURE", ROOT / "target/tmp/serve-miniature"))
MODEL = MINIATURE / "run/models/triplet"
QUERIES = ["snow mountain", "city street night", "beach"]


@pytest.fixture(scope="module")
def miniature():
    if not BIN.exists():
        pytest.fail(f"{BIN} is not built (cargo build --release -p webly; make test builds it)")
    if not (MODEL / "index/manifest.json").exists():
        pytest.fail(f"{MODEL} is not built (cargo test -p webly-serve --release builds it; make test does)")
    return MINIATURE


def cli(*args):
    out = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def config(tmp: Path) -> Path:
    """configs/ci.toml as the miniature run was built from it (crates/serve/tests/common)."""
    text = (ROOT / "configs/ci.toml").read_text()
    text = re.sub(r'(?m)^run_dir = .*$', f'run_dir = "{MINIATURE / "run"}"', text)
    text = re.sub(r'(?m)^root = .*$', f'root = "{MINIATURE / "data"}"', text)
    text = re.sub(r'(?m)^images = .*$', "images = 600", text)
    text = re.sub(r'(?m)^epochs = .*$', "epochs = 3", text)
    text = re.sub(r'"data/', f'"{ROOT}/data/', text)
    path = tmp / "mini.toml"
    path.write_text(text)
    return path


def same_hits(py_hits, cli_hits):
    assert [h["key"] for h in py_hits] == [h["key"] for h in cli_hits]
    for a, b in zip(py_hits, cli_hits):
        assert a["score"] == pytest.approx(b["score"], abs=1e-6)


def test_run_search_equals_the_cli(miniature, tmp_path):
    run = webly.open_run(MODEL, dataset=MINIATURE / "data")
    cfg = config(tmp_path)
    for words in QUERIES:
        want = cli("query", "--config", cfg, "--json", "--exact", "--k", 10, words)["hits"]
        got = run.search(words, k=10, exact=True)
        same_hits(got, want)
        assert [h["path"] for h in got] == [h["image_path"] for h in want]
        # By vector: the same as by words.
        same_hits(run.search(run.embed_words(words), k=10, exact=True), want)
    # The HNSW index (recall 1 on 90 images at ef 128) and the embeddings agree with exact search.
    emb, keys = run.embeddings()
    assert emb.shape == (len(run), run.dim) and emb.dtype == np.float32
    assert emb.flags["OWNDATA"] or emb.base is not None
    q = run.embed_words(QUERIES[0])
    top = np.argsort(-(emb @ (q / np.linalg.norm(q))), kind="stable")[:10]
    assert [keys[i] for i in top] == [h["key"] for h in run.search(q, k=10, exact=True)]
    assert {h["key"] for h in run.search(q, k=10)} == {keys[i] for i in top}
    # ef: the index's own by default; a wide beam finds the exact top 10; bad values refused.
    assert run.ef_search == 128
    assert [h["key"] for h in run.search(q, k=10, ef=run.ef_search)] == \
        [h["key"] for h in run.search(q, k=10)]
    assert {h["key"] for h in run.search(q, k=10, ef=400)} == {keys[i] for i in top}
    assert len(run.search(q, k=10, ef=1)) == 10  # below k counts as k
    with pytest.raises(webly.WeblyError, match="ef must be at least 1"):
        run.search(q, k=10, ef=0)
    with pytest.raises(webly.WeblyError, match="exact=True takes none"):
        run.search(q, k=10, exact=True, ef=64)


def test_collection_search_equals_the_cli(miniature, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    images = sorted((MINIATURE / "data/img_resized_1M/cities_instagram").rglob("*.jpg"))[:24]
    for i, image in enumerate(images):
        shutil.copy(image, photos / f"p{i}.jpg")
    coll = tmp_path / "collection"
    out = subprocess.run([str(BIN), "collection", "create", str(coll), "--model", str(MODEL),
                          str(photos)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    c = webly.open_collection(coll)
    assert len(c) == 24 and c.kind == "collection"
    for words in QUERIES:
        want = cli("query", "--collection", coll, "--json", "--exact", "--k", 5, words)["hits"]
        got = c.search(words, k=5, exact=True)
        same_hits(got, want)
        assert [h["path"] for h in got] == [h["image_path"] for h in want]
    emb, keys = c.embeddings()
    assert emb.shape == (24, c.dim) and sorted(keys) == sorted(c.keys)


def test_bad_paths_raise_webly_error_naming_them(tmp_path):
    nowhere = tmp_path / "no-such-model"
    with pytest.raises(webly.WeblyError, match=str(nowhere)):
        webly.open_run(nowhere)
    with pytest.raises(webly.WeblyError, match=re.escape(str(tmp_path / "collection.json"))):
        webly.open_collection(tmp_path)
    model = tmp_path / "models/m"
    model.mkdir(parents=True)
    with pytest.raises(webly.WeblyError, match="text_space.json is missing"):
        webly.open_run(model)
