"""Start-up: packages attach their names lazily (lazy_loader), and importing zsac loads nothing heavy."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import zsac

PACKAGES = ("zsac", "zsac.acoustic", "zsac.semantic", "zsac.compatibility", "zsac.datasets", "zsac.reproduce",
            "zsac.commands")  # fmt: skip


def _run(code: str, **env: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr[-3000:]  # the traceback, which CalledProcessError would hide
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


def _module_level_imports() -> dict[str, set[str]]:
    """Which parts of zsac each part imports when it is loaded: a part is a top-level module
    (``checkpoint``) or a subpackage (``acoustic``); imports inside functions are left out."""
    source = Path(zsac.__file__).parent

    def part(module: str) -> str:
        return module.split(".")[1] if "." in module else "zsac"

    graph: dict[str, set[str]] = {}
    for path in sorted(source.rglob("*.py")):
        parts = path.relative_to(source.parent).with_suffix("").parts
        package = parts[:-1]  # what a relative import starts from, for a module and an __init__ alike
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for statement in ast.parse(path.read_text()).body:
            if isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test):
                continue
            targets: list[str] = []
            if isinstance(statement, ast.ImportFrom) and statement.level:
                base = list(package[: len(package) - statement.level + 1])
                if statement.module:
                    targets.append(".".join([*base, statement.module]))
                else:
                    targets.extend(".".join([*base, alias.name]) for alias in statement.names)
            elif isinstance(statement, ast.Import):
                targets.extend(alias.name for alias in statement.names if alias.name.startswith("zsac."))
            for target in targets:
                if part(target) != part(module):
                    graph.setdefault(part(module), set()).add(part(target))
    return graph


def test_the_parts_of_zsac_import_one_another_without_a_cycle():
    # A cycle between two parts breaks an import only in some orders: lazy_loader's
    # EAGER_IMPORT walks a set of names, whose order changes with PYTHONHASHSEED, so CI once
    # failed on checkpoint -> acoustic.config -> acoustic -> encoder -> checkpoint while every
    # local run passed. Data flow one way: every part imports only the parts below it.
    graph = _module_level_imports()
    assert "checkpoint" in graph and "acoustic" in graph  # the walk found the modules
    finished: set[str] = set()

    def visit(part: str, path: tuple[str, ...]) -> None:
        if part in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(part) :], part]))
        if part in finished:
            return
        for below in sorted(graph.get(part, ())):
            visit(below, (*path, part))
        finished.add(part)

    for part in sorted(graph):
        visit(part, ())


def test_importing_zsac_and_its_packages_loads_nothing_heavy():
    code = (
        f"import importlib, sys\nfor name in {PACKAGES!r}:\n    importlib.import_module(name)\n"
        "import zsac.cli\n"
        "print(sorted(m for m in ('torch', 'sklearn', 'scipy', 'transformers', 'gensim', 'pandas', 'onnxruntime',"
        " 'matplotlib') if m in sys.modules))"
    )
    assert _run(code) == "[]"
