"""Queries a server with clip-retrieval's own ClipClient (crates/serve/tests/clip.rs).

The client module is loaded from the installed clip-retrieval by its file, without the package's
__init__ (which imports clip-back, torch and faiss: installed with --no-deps, they are absent;
scripts/setup_clip_client.sh). Prints a JSON object: the client's answers by text and, with
--image, by image file (the client sends it in base64).

    python clip_client_query.py --url http://HOST:PORT/knn-service --index NAME --text WORDS
"""

import argparse
import importlib.util
import json
import os


def load_clip_client():
    spec = importlib.util.find_spec("clip_retrieval")  # finds the package; runs no __init__
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("clip_retrieval is not installed: run scripts/setup_clip_client.sh")
    path = os.path.join(list(spec.submodule_search_locations)[0], "clip_client.py")
    module_spec = importlib.util.spec_from_file_location("clip_client", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--image")
    ap.add_argument("--num-images", type=int, default=10)
    a = ap.parse_args()
    cc = load_clip_client()
    from importlib.metadata import version

    client = cc.ClipClient(
        url=a.url, indice_name=a.index, deduplicate=False, num_images=a.num_images
    )
    out = {"clip_retrieval": version("clip-retrieval"), "text": client.query(text=a.text)}
    if a.image:
        out["image"] = client.query(image=a.image)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
