"""Two small classifiers saved side by side, a check of which one a load returned, and the run of a
worker per zsac source tree.

Shared by ``load_save_race.py`` and ``kill_during_save.py``, whose workers run in a process
whose ``PYTHONPATH`` picks the zsac under test; so zsac is imported inside the functions.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

#: This checkout's zsac source tree.
HERE = Path(__file__).resolve().parents[1] / "src"

NAMES = [f"sound {k:02d}" for k in range(8)]


def two_models(scratch: Path) -> tuple[Path, list, Path]:
    """Fit two classifiers on overlapping classes; save them to ``a``, ``b`` and the first to ``target``.

    Returns
    -------
    table : Path
        The WLE table both were trained with (a loaded model needs it passed again).
    models : list of ZeroShotClassifier
    target : Path
    """
    from zsac import ZeroShotClassifier
    from zsac.semantic.tables import ClassTable

    rng = np.random.default_rng(0)
    table = ClassTable(rng.normal(size=(8, 6)).astype(np.float32), names=tuple(NAMES)).save(scratch / "wle.npz")
    X, y = rng.normal(size=(80, 16)).astype(np.float32), np.repeat(NAMES, 10)
    models = []
    for names, folder in ((NAMES[:4], "a"), (NAMES[3:], "b")):
        keep = np.isin(y, names)
        model = ZeroShotClassifier(semantic="WLE", tables={"WLE": str(table)}, lam=1.0, progress=False, max_iter=3)
        models.append(model.fit(X[keep], y[keep]))
        model.save(scratch / folder)
    return table, models, models[0].save(scratch / "target")


def is_whole(loaded, models) -> bool:
    """Whether ``loaded`` holds the class embeddings and W of one of ``models`` (not a mix of two)."""
    return any(
        np.array_equal(loaded.class_embeddings_, m.class_embeddings_)
        and np.array_equal(loaded.bilinear_.W_, m.bilinear_.W_)
        for m in models
    )


def run_workers(script: str, worker_args: list[str], *, baseline: Path | None, prefix: str) -> dict[str, dict]:
    """Run ``script --worker SCRATCH *worker_args`` once with this tree's zsac, and once with ``baseline``'s.

    Returns
    -------
    dict of str to dict
        Each tree's name and the JSON object its worker printed last.
    """
    trees = {"this tree": HERE}
    if baseline is not None:
        trees[f"baseline ({baseline})"] = baseline.resolve()
    rows = {}
    for name, source in trees.items():
        scratch = Path(tempfile.mkdtemp(prefix=prefix))
        env = {**os.environ, "PYTHONPATH": str(source)}
        done = subprocess.run(
            [sys.executable, script, "--worker", str(scratch), *worker_args],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"the worker of {name} failed:\n{done.stderr[-3000:]}")
        rows[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def command_line() -> str:
    """The bench's command as it was typed, and the machine, for the head of its table."""
    return f"`python {' '.join(shlex.quote(a) for a in sys.argv)}`  ({platform.machine()}, {os.cpu_count()} CPUs)\n\n"
