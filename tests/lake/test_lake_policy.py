"""Where PostgreSQL is missing the lake tests skip with a loud note, and fail under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.paths import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("ci", ["true", ""])
def test_missing_postgresql_skips_loudly_or_fails_under_ci(ci: str) -> None:
    env = {**os.environ, "RUNSTRONG_PG_BIN": "none", "CI": ci}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "schema_is_the_files",
            str(REPO_ROOT / "tests" / "lake" / "test_lake.py"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        env=env,
    )
    if ci:
        assert r.returncode != 0 and "CI=true but PostgreSQL is not installed" in r.stdout, r.stdout
    else:
        assert r.returncode == 0, r.stdout
        assert "LAKE TESTS SKIPPED" in r.stdout and "1 skipped" in r.stdout, r.stdout
