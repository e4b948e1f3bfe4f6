"""Layers a newcomer can see (issue 17): the official scorer is a torch-free leaf, and the
folders import only downwards."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "xtransfer"

# Folder -> folders (and top-level modules) it must never import: the layers above it.
FORBIDDEN = {
    "evaluation": {"data", "training", "pipeline", "reporting", "studies", "commands"},
    "data": {"training", "pipeline", "reporting", "studies", "commands"},
    "training": {"pipeline", "studies", "commands", "evaluation"},
    "pipeline": {"studies", "commands", "hydra_app"},
    "reporting": {"pipeline", "studies", "commands"},
    "config": {"pipeline", "training", "data", "tasks", "evaluation", "hydra_app"},
    "config_schema": {"pipeline", "training", "data", "tasks", "evaluation"},
    "run_identity": {"pipeline", "training", "data", "tasks", "evaluation"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xtransfer."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("xtransfer.")}
    return found


def test_no_import_runs_back_up_a_layer():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        layer = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for target in _imports(path) & FORBIDDEN.get(layer, set()):
            problems.append(f"{rel} imports xtransfer.{target}")
    assert not problems, "\n".join(sorted(problems))


def test_the_official_scorer_imports_no_torch():
    code = (
        "import sys, xtransfer.evaluation.scoring, xtransfer.evaluation.table; "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
