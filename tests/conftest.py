"""Fixtures shared by the test packages."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from store.connection import open_store


@pytest.fixture
def make_store(tmp_path: Path) -> Callable[..., tuple[object, Path]]:
    opened = []

    def _make(name: str = "x.duckdb"):
        path = tmp_path / name
        con = open_store(path, wait_s=1.0)
        opened.append(con)
        return con, path

    yield _make
    for con in opened:
        with contextlib.suppress(Exception):  # already closed by the test
            con.close()
