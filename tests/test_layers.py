"""Structure: layers import only downward (import-linter's contract in pyproject.toml) and no
module imports itself back through others, at module level or inside a function.

Each check is also run on a copy of the package with one bad import planted, to show it fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")

ROOT = Path(__file__).resolve().parents[1]
LINT = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
]


def _lint(src: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [*LINT, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "src" / "maskgate", tmp_path / "src" / "maskgate", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path / "src"


def cycles(package: str, path: Path) -> list[list[str]]:
    """Strongly connected groups of more than one module in the package's import graph (Tarjan)."""
    code = (
        "import sys, json, grimp; g = grimp.build_graph(sys.argv[1]);"
        "print(json.dumps({m: sorted(g.find_modules_directly_imported_by(m)) for m in g.modules}))"
    )
    env = {**os.environ, "PYTHONPATH": str(path)}
    out = subprocess.run(
        [sys.executable, "-c", code, package], env=env, capture_output=True, text=True, check=True
    )
    edges: dict[str, list[str]] = json.loads(out.stdout)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_layers_import_only_downward():
    res = _lint(ROOT / "src", ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 kept, 0 broken" in res.stdout


def test_an_upward_import_breaks_the_layer_contract(tmp_path):
    src = _copy(tmp_path)
    types = src / "maskgate" / "core" / "types.py"
    types.write_text(types.read_text() + "\nfrom maskgate.check import engine  # noqa: E402,F401\n")
    res = _lint(src, tmp_path)
    assert res.returncode != 0
    assert "BROKEN" in res.stdout and "maskgate.core.types -> maskgate.check.engine" in res.stdout


def test_no_import_cycles_even_inside_functions():
    assert cycles("maskgate", ROOT / "src") == []


def test_a_cycle_hidden_in_a_function_is_found(tmp_path):
    src = _copy(tmp_path)
    measure = src / "maskgate" / "check" / "measure.py"
    measure.write_text(
        measure.read_text() + "\n\ndef _late():\n    from maskgate.check import engine  # noqa: F401\n"
    )
    found = cycles("maskgate", src)
    assert any("maskgate.check.measure" in g and "maskgate.check.engine" in g for g in found), found
