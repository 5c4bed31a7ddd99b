"""Decoding workers are never forked from a process that holds an open DuckDB connection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ingest.fit.importer as importer
from store.connection import open_store
from tests.paths import SAMPLE_FIT

SAMPLE = SAMPLE_FIT


def corpus() -> list[Path]:
    files = sorted((SAMPLE / "runs").glob("*.fit"))
    assert len(files) >= importer.PARALLEL_MIN_FILES
    assert sum(p.stat().st_size for p in files) >= importer.PARALLEL_MIN_BYTES  # big enough for workers
    return files


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """Every os.fork() of this process (multiprocessing's fork start method calls it)."""
    calls: list[int] = []
    real = os.fork

    def recording_fork() -> int:
        calls.append(1)
        return real()

    monkeypatch.setattr(os, "fork", recording_fork)
    return calls


def stored(con) -> list[tuple]:
    return con.execute("SELECT activity_id, records, avg_heart_rate_bpm FROM activity ORDER BY 1").fetchall()


def test_a_decode_pool_forks_before_the_store_is_opened_and_forks_nothing_after(tmp_path, forks) -> None:
    with importer.DecodePool(2) as pool:
        assert len(forks) == 2  # both workers forked at creation, before any connection exists
        con = open_store(tmp_path / "x.duckdb")
        try:
            s = importer.import_paths(con, corpus(), athlete="a", show_progress=False, pool=pool)
            assert len(forks) == 2  # no fork while the connection is open
            assert s.count("failed") == 0 and s.count("imported") == len(corpus())
            pooled = stored(con)
        finally:
            con.close()
    con = open_store(tmp_path / "inline.duckdb")
    try:
        importer.import_paths(con, corpus(), athlete="a", show_progress=False, workers=1)
        assert stored(con) == pooled  # same rows as decoding inline
    finally:
        con.close()


def test_without_a_pool_workers_come_from_a_fork_server_not_from_this_process(tmp_path, forks) -> None:
    con = open_store(tmp_path / "x.duckdb")
    try:
        s = importer.import_paths(con, corpus(), athlete="a", show_progress=False, workers=2)
        assert forks == []  # the fork server (a fresh interpreter) forks the workers, this process never does
        assert s.count("imported") == len(corpus())
    finally:
        con.close()
