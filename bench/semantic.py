"""Semantic tables for AudioSet's 527 classes, offline on CPU: timing and nearest-neighbour sanity checks.

Computes WLE (the paper authors' word2vec table), SLE and SSE (all-MiniLM-L6-v2 over
display names and ontology descriptions) and their concatenations, first with an empty
text-embedding cache (imports and model load included), then again with the warm cache.
Prints Markdown tables of the timings and of the classes nearest to a few queries.

Usage: python bench/semantic.py [--data DIR] [--queries Dog Siren ...] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

SPECS = ["WLE", "SLE", "SSE", "WLE+SLE", "WLE+SSE", "SLE+SSE", "WLE+SLE+SSE"]


def default_data_dir() -> Path:
    env = os.environ.get("ZSAC_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="folder holding audioset/")
    parser.add_argument("--queries", nargs="+", default=["Dog", "Siren", "Violin, fiddle", "Rain"])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    audioset = args.data / "audioset"
    if not (audioset / "class_labels_indices.csv").is_file():
        sys.exit(f"no AudioSet class list under {audioset}; pass --data or set ZSAC_DATA_DIR")

    with tempfile.TemporaryDirectory() as cache:
        timings = []
        for run in ("cold cache", "warm cache"):
            start = time.perf_counter()
            # Imported inside the timed region: a first run pays for importing the libraries.
            import torch

            from zsac.semantic import SemanticEmbedder, audioset_class_info

            if args.threads:
                torch.set_num_threads(args.threads)
            classes = audioset_class_info(audioset / "class_labels_indices.csv", ontology=audioset / "ontology.json")
            embedder = SemanticEmbedder(
                tables={"WLE": audioset / "word2vec_label_embeddings.npz"}, device="cpu", cache=Path(cache)
            )
            tables = embedder.embed_many(SPECS, classes)
            timings.append((run, time.perf_counter() - start))

    print(f"command: python {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(f"torch threads: {torch.get_num_threads()}, classes: {len(classes)}, specs: {', '.join(SPECS)}\n")
    print("| run | seconds (all 7 specs) |\n|---|---:|")
    for run, seconds in timings:
        print(f"| {run} | {seconds:.2f} |")
    for query in args.queries:
        print(f"\nNearest classes to {query!r} (cosine):\n")
        print("| spec | 1 | 2 | 3 | 4 | 5 |\n|---|---|---|---|---|---|")
        for spec in SPECS:
            cells = [f"{name} ({similarity:.2f})" for name, similarity in tables[spec].nearest(query, k=5)]
            print(f"| {spec} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
