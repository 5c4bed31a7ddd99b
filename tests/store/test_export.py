"""export --parquet: Hive layout, zstd, and partition pruning seen by pyarrow.dataset and DuckDB."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from store.export import ExportError, export_parquet
from tests.report.report_testdata import UTC, run_activity, strength_activity, write


def _fill(con) -> None:
    # two athletes x two years x two months, short runs (the layout matters, not the data)
    for athlete in ("alice", "bob"):
        acts = []
        for i, (y, m) in enumerate([(2024, 3), (2024, 11), (2025, 3), (2025, 11)]):
            start = dt.datetime(y, m, 10, 7, 0, tzinfo=UTC)
            acts.append(run_activity(f"{athlete}{i}" + "0" * 12 + "-0", start, minutes=5, seed=i))
        acts.append(
            strength_activity(
                f"{athlete}s" + "0" * 12 + "-0", dt.datetime(2025, 3, 12, tzinfo=UTC), [("back_squat", 5, 80.0)]
            )
        )
        write(con, athlete, acts, path=f"{athlete}.fit")


def test_export_layout_and_pruning(make_store, tmp_path):
    con, _ = make_store()
    _fill(con)
    out = tmp_path / "pq"
    summary = export_parquet(con, out)
    rec = summary["tables"]["record"]
    assert rec["partition_by"] == ["athlete", "year", "month"]
    assert rec["rows"] == 2 * 4 * 300
    assert rec["files"] == 8  # 2 athletes x 4 (year, month) cells
    files = sorted(p.relative_to(out / "record").as_posix() for p in (out / "record").rglob("*.parquet"))
    assert files[0].startswith("athlete=alice/year=2024/month=11/")
    assert pq.ParquetFile(out / "record" / files[0]).metadata.row_group(0).column(0).compression == "ZSTD"
    assert summary["tables"]["strength_set"]["rows"] == 2
    assert summary["tables"]["schema_migration"]["partition_by"] == []

    # pyarrow: the filter selects only the matching fragments (files), and the rows are right
    dset = ds.dataset(out / "record", format="parquet", partitioning="hive")
    flt = (ds.field("athlete") == "alice") & (ds.field("year") == 2025)
    frags = list(dset.get_fragments(filter=flt))
    assert len(frags) == 2
    assert all("athlete=alice/year=2025" in f.path for f in frags)
    assert dset.to_table(filter=flt).num_rows == 2 * 300

    # DuckDB: hive partitions prune files (EXPLAIN ANALYZE reports the files read)
    glob = str(out / "record" / "**" / "*.parquet")
    dcon = duckdb.connect()
    n = dcon.execute(
        "SELECT count(*) FROM read_parquet(?, hive_partitioning = true) WHERE athlete = 'bob' AND year = 2024", [glob]
    ).fetchall()[0][0]
    assert n == 2 * 300
    plan = dcon.execute(
        f"EXPLAIN ANALYZE SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true) "
        "WHERE athlete = 'bob' AND year = 2024"
    ).fetchall()[0][1]
    m = re.search(r"Total Files Read:\s*(\d+)", plan)
    assert m is not None, plan
    assert int(m.group(1)) == 2


def test_export_is_a_snapshot(make_store, tmp_path):
    con, _ = make_store()
    _fill(con)
    out = tmp_path / "pq"
    export_parquet(con, out)
    con.execute("DELETE FROM record WHERE athlete = 'bob'")
    again = export_parquet(con, out)
    assert again["tables"]["record"]["files"] == 4
    assert not list((out / "record").glob("athlete=bob"))


def test_stream_tables_take_their_sessions_athlete_and_month(make_store, tmp_path):
    from store.writers import insert_rows

    con, _ = make_store()
    insert_rows(
        con,
        "stream_session",
        [
            {
                "athlete": "carol",
                "session_id": "s1",
                "sensor": "witmotion",
                "started_at": dt.datetime(2025, 6, 30, 23, 59, tzinfo=UTC),
                "anchor_t_ns": 0,
                "status": "complete",
            }
        ],
    )
    insert_rows(
        con,
        "imu_sample",
        [
            {"athlete": "carol", "session_id": "s1", "t_ns": 1_751_327_999_000_000_000 + i * 5_000_000, "az_mps2": 9.81}
            for i in range(400)
        ],
    )  # crosses into July: same partition
    insert_rows(con, "stream_gap", [{"athlete": "carol", "session_id": "s1", "start_ns": 1, "end_ns": 2}])
    summary = export_parquet(con, tmp_path / "pq")
    for table, rows in (("imu_sample", 400), ("stream_gap", 1), ("stream_session", 1)):
        files = list((tmp_path / "pq" / table).rglob("*.parquet"))
        assert [f.parent.relative_to(tmp_path / "pq" / table).as_posix() for f in files] == [
            "athlete=carol/year=2025/month=6"
        ], table
        assert summary["tables"][table]["rows"] == rows
        assert pq.read_table(files[0]).num_rows == rows


def _snapshot(out) -> dict[str, int]:
    """Rows per table of the export a reader sees at ``out`` (resolved once, as readers should)."""
    root = os.path.realpath(out)
    got = {}
    for table in sorted(os.listdir(root)):
        got[table] = sum(pq.read_table(f).num_rows for f in Path(root, table).rglob("*.parquet"))
    return got


def _exported_then_bob_deleted(
    make_store, tmp_path: Path
) -> tuple[duckdb.DuckDBPyConnection, Path, Path, dict[str, int]]:
    """A filled store exported to ``tmp_path/pq``, then bob's records deleted in the store:
    ``(con, db, out, rows per table of that export)``."""
    con, db = make_store()
    _fill(con)
    out = tmp_path / "pq"
    export_parquet(con, out)
    before = _snapshot(out)
    con.execute("DELETE FROM record WHERE athlete = 'bob'")
    return con, db, out, before


def test_a_failing_export_leaves_the_previous_one_whole(make_store, tmp_path, monkeypatch):
    import store.export as export

    con, _, out, before = _exported_then_bob_deleted(make_store, tmp_path)
    real, calls = export._export_table, []

    def failing(con_, table, n, gen):
        calls.append(table)
        if len(calls) == 5:  # part-way: some tables of the new export are written
            raise export.ExportError("disk full (simulated)")
        return real(con_, table, n, gen)

    monkeypatch.setattr(export, "_export_table", failing)
    with pytest.raises(export.ExportError, match="simulated"):
        export_parquet(con, out)
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".pq.")] == [os.readlink(out)]


def test_a_plain_folder_or_a_file_is_never_clobbered(make_store, tmp_path):
    con, _ = make_store()
    _fill(con)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.docx").write_text("mine")
    with pytest.raises(ExportError, match=r"thesis\.docx"):
        export_parquet(con, notes)
    assert (notes / "thesis.docx").read_text() == "mine"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        export_parquet(con, tmp_path / "afile")


_EXPORT_CHILD = """
import sys, time
import store.export as export
from store.connection import open_store
real = export._export_table
def slow(con, table, n, gen):
    r = real(con, table, n, gen)
    print("wrote", table, flush=True)
    return r
export._export_table = slow
con = open_store(sys.argv[1])
export.export_parquet(con, sys.argv[2])
print("done", flush=True)
"""


@pytest.mark.parametrize("kill_after", ["activity", "record", "done"])
def test_kill_9_during_a_reexport_shows_the_old_or_the_new_export(make_store, tmp_path, kill_after):
    from tests.kill9 import kill_9_when

    con, db, out, old = _exported_then_bob_deleted(make_store, tmp_path)
    con.close()
    lines = kill_9_when(
        ["-c", _EXPORT_CHILD, str(db), str(out)], lambda line: line == f"wrote {kill_after}" or line == kill_after
    )
    got = _snapshot(out)
    new_record_rows = old["record"] // 2
    if "done" in lines:
        assert got["record"] == new_record_rows
    else:
        assert got == old
    # the next export completes and clears the killed writer's half-written generation
    con = duckdb.connect(str(db))
    try:
        export_parquet(con, out)
    finally:
        con.close()
    assert _snapshot(out)["record"] == new_record_rows
    assert len([p for p in tmp_path.iterdir() if p.name.startswith(".pq.")]) <= 2
