"""Start-up: packages attach their names lazily (lazy_loader), and importing zsac loads nothing heavy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PACKAGES = ("zsac", "zsac.acoustic", "zsac.semantic", "zsac.compatibility", "zsac.datasets", "zsac.reproduce",
            "zsac.commands")  # fmt: skip


def _run(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, **env}
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.slow  # imports every module, the Hugging Face libraries included
def test_every_attached_name_resolves():
    code = (
        "import importlib\n"
        f"for name in {PACKAGES!r}:\n"
        "    package = importlib.import_module(name)\n"
        "    for attribute in package.__all__:\n"
        "        getattr(package, attribute)\n"
        "print('ok')"
    )
    assert _run(code, EAGER_IMPORT="1") == "ok"


def test_importing_zsac_and_its_packages_loads_nothing_heavy():
    code = (
        f"import importlib, sys\nfor name in {PACKAGES!r}:\n    importlib.import_module(name)\n"
        "import zsac.cli\n"
        "print(sorted(m for m in ('torch', 'sklearn', 'scipy', 'transformers', 'gensim', 'pandas', 'onnxruntime',"
        " 'matplotlib') if m in sys.modules))"
    )
    assert _run(code) == "[]"
