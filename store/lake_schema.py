"""The lake's schema: the store's own migrations without what DuckLake lacks.

DuckLake has no PRIMARY KEY, UNIQUE or index (``CREATE TABLE`` with a key fails: "PRIMARY
KEY/UNIQUE constraints are not supported in DuckLake"). The lake's tables are therefore made by
the same ordered migrations as a DuckDB file (``store.schema.MIGRATIONS``), each rewritten by
:func:`lake_sql` (comments, key clauses and index statements removed) and applied in one lake
transaction with its ``schema_migration`` row, under the claim ``schema`` so that two stations
creating or upgrading the same lake do it once. The schema is never written twice by hand, so a
migration appended later reaches the lake too; ``tests/store/test_lake.py`` checks that every
table's columns and types match the file's. What the keys did on a file (idempotent ledgers,
one row per set, per correction...) the lake's writers do under their claims
(:mod:`store.lake`): they read the ledger inside the claim and write only what is missing.
"""

from __future__ import annotations

import re

import duckdb

from store import lake
from store.lake import LakeConfig
from store.schema import LATEST_VERSION, NewerStoreError, check_not_newer, migrate, stored_version

_COMMENT = re.compile(r"--[^\n]*")
_TABLE_KEY = re.compile(r",\s*(?:PRIMARY\s+KEY|UNIQUE)\s*\([^)]*\)", re.IGNORECASE)
_COLUMN_PRIMARY_KEY = re.compile(r"\s+PRIMARY\s+KEY\b", re.IGNORECASE)
_COLUMN_UNIQUE = re.compile(r"\s+UNIQUE\b", re.IGNORECASE)
_INDEX = re.compile(r"CREATE\s+(?:UNIQUE\s+)?INDEX\b[^;]*;?", re.IGNORECASE)


def lake_sql(sql: str) -> str:
    """A migration's SQL as DuckLake takes it: no comments, no key or unique clause, no index; a
    column that was its table's primary key stays NOT NULL (as the key made it)."""
    if "'--" in sql or "--'" in sql:
        raise ValueError("a migration's string literal holds '--': lake_sql cannot strip its comments safely")
    out = _COMMENT.sub("", sql)
    out = _INDEX.sub("", out)
    out = _TABLE_KEY.sub("", out)
    out = _COLUMN_PRIMARY_KEY.sub(" NOT NULL", out)
    return _COLUMN_UNIQUE.sub("", out)


def migrate_lake(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations the lake lacks (under the claim ``schema``); return the versions applied."""
    v = lake.retrying(con, lambda: stored_version(con))
    if v is not None and v >= LATEST_VERSION:
        check_not_newer(con)
        return []
    with lake.claimed(con, "schema"):
        return lake.retrying(con, lambda: migrate(con, transform=lake_sql))


def open_lake(config: LakeConfig, *, wait_s: float = 30.0) -> duckdb.DuckDBPyConnection:
    """The lake attached (:func:`store.lake.attach`) and migrated. Raises
    :class:`store.lake.LakeUnreachableError` when its catalog cannot be reached and
    :class:`NewerStoreError` for a lake written by a newer runstrong."""
    con = lake.attach(config, wait_s=wait_s)
    try:
        with lake.errors_translated(con):
            migrate_lake(con)
    except NewerStoreError as exc:
        lake.close(con)
        raise NewerStoreError(f"lake {config.shown()}: {exc}") from None
    except BaseException:
        lake.close(con)
        raise
    return con
