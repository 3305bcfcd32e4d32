"""GloVe text loading: zsac's reader (which accepts tokens with spaces) against gensim's ``no_header`` reader.

Writes a synthetic GloVe file (random 300-d vectors, 6 decimals like the releases) to a
temporary folder, loads it with both, checks that they agree and prints lines/s.

Usage: python bench/word_vectors.py [--words N] [--dim D]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=300)
    args = parser.parse_args()

    from gensim.models import KeyedVectors

    from zsac.semantic import load_word_vectors

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "glove.synthetic.txt"
        with open(path, "w", encoding="utf-8") as handle:
            for start in range(0, args.words, 10_000):
                block = rng.standard_normal((min(10_000, args.words - start), args.dim)).astype(np.float32)
                handle.writelines(
                    f"w{start + i} " + " ".join(f"{x:.6f}" for x in row) + "\n" for i, row in enumerate(block)
                )
        timings = {}
        start = time.perf_counter()
        ours = load_word_vectors(path, format="glove")
        timings["zsac (tokens with spaces allowed)"] = time.perf_counter() - start
        start = time.perf_counter()
        theirs = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
        timings["gensim no_header"] = time.perf_counter() - start
        np.testing.assert_array_equal(ours.vectors, theirs.vectors)
        assert list(ours.key_to_index) == list(theirs.key_to_index)

    print(f"command: python {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(f"{args.words} words x {args.dim} dims; both readers give identical vectors\n")
    print("| reader | seconds | lines/s | ratio to gensim |\n|---|---:|---:|---:|")
    for name, seconds in timings.items():
        ratio = seconds / timings["gensim no_header"]
        print(f"| {name} | {seconds:.2f} | {args.words / seconds:,.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
