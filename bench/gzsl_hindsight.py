"""How far a results folder's learnt calibration γ is from the best one in hindsight.

For each fold record of a ``zsac evaluate`` (or ``zsac reproduce``) results folder: H at the γ
the classifier learnt, and the best H anywhere on the fold's test seen–unseen curve (its unseen
accuracy at seen accuracy 0, 0.01, ..., 1), which no γ chosen before testing can beat.

Usage:
    python bench/gzsl_hindsight.py RESULTS_FOLDER [RESULTS_FOLDER ...]
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import numpy as np

from zsac.reproduce.zero_shot import CURVE_POINTS


def main() -> None:
    seen = np.linspace(0.0, 1.0, CURVE_POINTS)
    print(f"`python {' '.join(shlex.quote(a) for a in sys.argv)}`\n")
    print("| results folder | folds | H at the learnt γ | best H on the test curve |")
    print("|---|---:|---:|---:|")
    for folder in sys.argv[1:]:
        learnt, best = [], []
        for path in sorted(Path(folder).glob("folds/*/*/Fold*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            unseen = np.array(record["gzsl_curve"], dtype=float)  # NaN where that seen accuracy is out of reach
            reachable = ~np.isnan(unseen)
            total = seen[reachable] + unseen[reachable]
            harmonic = np.divide(2 * seen[reachable] * unseen[reachable], total, out=np.zeros_like(total),
                                 where=total > 0)  # fmt: skip
            learnt.append(record["gzsl"]["h"])
            best.append(float(harmonic.max()))
        print(f"| {folder} | {len(learnt)} | {np.mean(learnt):.3f} ± {np.std(learnt):.3f} "
              f"| {np.mean(best):.3f} ± {np.std(best):.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
