"""The layer rules (docs/design.md) hold, and the check fails when a forbidden import is planted."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("records", "ingest", "store", "analysis", "report", "sim", "jobs")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the tree at ``root`` (its pyproject.toml, its packages first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def copy_tree(dest: Path) -> Path:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dest / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_the_layer_contracts_hold() -> None:
    r = lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("analysis/grade.py", "from store import readers", "analysis is pure"),
        ("analysis/grade.py", "import duckdb", "store is the only duckdb importer"),
        ("report/text.py", "from store.connection import open_store", "report renders what it is handed"),
        ("ingest/fit/sources.py", "from analysis.economy import run_economy", "ingest decodes and reads sources"),
        ("store/writers.py", "from ingest.fit import model", "store imports none of ingest"),
        ("records/units.py", "from analysis import grade", "records is the leaf"),
        ("sim/scenarios.py", "from jobs import demo", "sim imports none of store, report, jobs"),
        ("jobs/nightly.py", "import pipeline", "Nothing imports pipeline"),
        # the module cycle issue 13 removed: training_load importing economy again
        ("analysis/training_load.py", "from analysis.economy import RunEconomy", "No import cycles"),
    ],
)
def test_a_planted_forbidden_import_fails_the_check(tmp_path: Path, module: str, planted: str, contract: str) -> None:
    tree = copy_tree(tmp_path)
    if planted == "import pipeline":
        shutil.copy(ROOT / "pipeline.py", tree / "pipeline.py")
    path = tree / module
    text = path.read_text()
    anchor = "from __future__ import annotations\n"
    assert anchor in text
    path.write_text(text.replace(anchor, f"{anchor}\n{planted}  # planted\n", 1))
    r = lint_imports(tree)
    assert r.returncode != 0, r.stdout
    broken = r.stdout[r.stdout.index("Broken contracts") :]
    assert contract in broken, r.stdout


def test_pipeline_imports_only_jobs() -> None:
    tree = ast.parse((ROOT / "pipeline.py").read_text())
    ours = {"records", "pipeline", *PACKAGES}
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported & ours == {"jobs"}
