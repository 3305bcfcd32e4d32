"""Tiny word-vector files in the standard formats, written by the tests (no model download)."""

from __future__ import annotations

import numpy as np

DIM = 6
WORDS = [
    "Dog", "dog", "police_car", "police", "car", "siren", "chicken", "rooster", "chicken_rooster",
    "hi", "hat", "barks", "door", "loud", "dentist", "drill", "cock-a-doodle-doo", "wood", "knock",
]  # fmt: skip


def make_vectors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    # Values exactly representable in float32 and in short decimal text, so every format loads them exactly.
    return {word: rng.integers(-8, 9, DIM).astype(np.float32) / 4 for word in WORDS}


def write_word2vec_text(path, vectors):
    lines = [f"{len(vectors)} {DIM}"] + [f"{w} " + " ".join(repr(float(x)) for x in v) for w, v in vectors.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_glove(path, vectors):
    # GloVe: no header line, otherwise as word2vec text.
    path.write_text("".join(f"{w} " + " ".join(repr(float(x)) for x in v) + "\n" for w, v in vectors.items()))
    return path


def write_word2vec_binary(path, vectors):
    # The original word2vec C tool's layout: "<count> <dims>\n", then per word "<word> " + float32 LE + "\n".
    with open(path, "wb") as handle:
        handle.write(f"{len(vectors)} {DIM}\n".encode())
        for word, vector in vectors.items():
            handle.write(word.encode() + b" " + vector.astype("<f4").tobytes() + b"\n")
    return path
