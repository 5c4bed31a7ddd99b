"""Batched, columnar writers. Never row-by-row: per-row INSERT measured ~300 rows/s, while
``INSERT INTO t SELECT * FROM <arrow table>`` measured 3-5 M rows/s (docs/design.md section 3)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from records.columns import BinaryColumn, DictionaryColumn


def _to_arrow(values: Any) -> pa.Array:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    if isinstance(values, BinaryColumn):
        large = int(values.offsets[-1]) >= 2**31
        offsets = values.offsets.astype(np.int64 if large else np.int32)
        return pa.Array.from_buffers(
            pa.large_binary() if large else pa.binary(),
            len(values),
            [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(values.data))],
        )
    if isinstance(values, DictionaryColumn):
        # plain strings for the store (a dictionary column would reach DuckDB as an ENUM)
        return pa.DictionaryArray.from_arrays(
            pa.array(values.codes, pa.int32()), pa.array(list(values.values), pa.string())
        ).dictionary_decode()
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f":
            # NaN means absent: store NULL (docs/design.md section 2).
            return pa.array(values, mask=np.isnan(values))
        if values.dtype.kind == "O":
            return pa.array(_nan_to_none(values.tolist()))
        return pa.array(values)
    return pa.array(_nan_to_none(values))


def _nan_to_none(values: Iterable[Any]) -> list[Any]:
    # NaN -> NULL done here, not by pyarrow's from_pandas=True (which goes through pandas' own
    # null semantics); note that pyarrow imports pandas on its first conversion anyway when pandas is
    # installed (docs/streaming.md, "Figures": the replay's memory).
    return [None if isinstance(v, float | np.floating) and v != v else v for v in values]


def columns_to_arrow(columns: Mapping[str, Any]) -> pa.Table:
    """Build an Arrow table from a mapping of column name -> array-like (equal lengths)."""
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths: { {k: len(v) for k, v in columns.items()} }")
    return pa.table({k: _to_arrow(v) for k, v in columns.items()})


def insert_columns(
    con: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, Any], constants: Mapping[str, Any] | None = None
) -> int:
    """Insert equal-length columns into ``table`` in one statement; return the row count.

    Columns absent from ``columns`` get their default (NULL). Float NaN becomes NULL.
    ``constants`` are columns with one value for every row (an athlete, a session id), bound as
    parameters instead of being repeated per row.
    """
    if not columns:
        return 0
    arrow = columns_to_arrow(columns)
    if arrow.num_rows == 0:
        return 0
    consts = dict(constants or {})
    names = ", ".join(f'"{c}"' for c in (*arrow.column_names, *consts))
    select = ", ".join([*(f'"{c}"' for c in arrow.column_names), *("?" for _ in consts)])
    con.register("_runstrong_batch", arrow)
    try:
        con.execute(f'INSERT INTO "{table}" ({names}) SELECT {select} FROM _runstrong_batch', list(consts.values()))
    except BaseException:
        # In a failed transaction unregister raises "transaction is aborted", which would hide the
        # real error (a full disk, a key violation, a schema mismatch): the first error wins.
        with contextlib.suppress(duckdb.Error):
            con.unregister("_runstrong_batch")
        raise
    con.unregister("_runstrong_batch")
    return int(arrow.num_rows)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert a list of dicts (same keys) as one columnar batch."""
    if not rows:
        return 0
    keys = list(rows[0].keys())
    return insert_columns(con, table, {k: [r.get(k) for r in rows] for k in keys})


def row_dict(athlete: str, row: Any) -> dict[str, Any]:
    """A table row as a dict: a records row (``records.reps.RepRow``, ``records.activities.SetRow``)
    with the ``athlete`` column added, or a mapping as it is."""
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return {"athlete": athlete, **{f.name: getattr(row, f.name) for f in dataclasses.fields(row)}}
    return dict(row)
