"""Imports a `webly export` parquet file into LanceDB with the guide's snippet and answers exact
(unindexed, flat) searches (crates/serve/tests/lancedb.rs).

    python lancedb_check.py EXPORT.parquet DB_FOLDER QUERIES.json

QUERIES.json is a list of vectors; prints a JSON object: the table's schema, its row count, and
for each query the keys of its 10 nearest rows by dot product, best first, with their distances.
"""

import json
import sys

# The guide's snippet ("Export to a vector database"), as it stands there.
import lancedb
import pyarrow as pa
import pyarrow.parquet as pq

export, folder, queries = sys.argv[1], sys.argv[2], sys.argv[3]

table = pq.read_table(export)
dim = int(table.schema.metadata[b"webly.dim"])
table = table.cast(table.schema.set(1, pa.field("embedding", pa.list_(pa.float32(), dim))))
db = lancedb.connect(folder)
tbl = db.create_table("images", data=table, mode="overwrite")
# (No index: the search below is exact, a flat scan of every row.)


def search(query_vector):
    return (
        tbl.search(query_vector, vector_column_name="embedding")
        .distance_type("dot")
        .limit(10)
        .to_list()
    )


out = {
    "lancedb": lancedb.__version__,
    "schema": str(tbl.schema),
    "rows": tbl.count_rows(),
    "hits": [],
}
for q in json.load(open(queries)):
    rows = search(q)
    out["hits"].append(
        {"keys": [r["key"] for r in rows], "distances": [r["_distance"] for r in rows]}
    )
print(json.dumps(out))
