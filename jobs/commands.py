"""The CLI's store commands as jobs: each opens the store, does one thing, closes it.

``pipeline.py`` parses arguments and maps errors to exit codes; everything it runs is a job
(this module, :mod:`jobs.stream`, :mod:`jobs.replay`, :mod:`jobs.report`, :mod:`jobs.nightly`,
:mod:`jobs.demo`). The exception classes a command may raise, grouped by exit code, are
:data:`LOCKED_ERRORS`, :data:`USAGE_ERRORS` and :data:`FAILED_ERRORS` (``stream``'s own:
:data:`jobs.stream.STREAM_ERRORS`).

Commands that write to the store (``import``, ``report``) first merge the stream sessions left in
landing files (:func:`jobs.recovery.merge_and_analyse`, docs/design.md section 3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.progress import ProgressFn, TerminalProgress, bar_wanted
from jobs.recovery import merge_and_analyse
from report.templating import TemplateDirError
from store import athletes, corrections, economy_inputs, readers
from store.athletes import AthleteError, validate_slug
from store.connection import (
    Connection,
    DatabaseLockedError,
    StoreError,
    default_db_path,
    open_store,
    refuse_newer_store,
)
from store.corrections import CorrectionError
from store.lake import LakeBusyError, LakeConfig, LakeError, LakeUnreachableError, errors_translated
from store.landing import LandingBusyError
from store.schema import NewerStoreError
from store.snapshot_dir import OutputDirError

if TYPE_CHECKING:
    from ingest.fit.importer import ImportSummary

__all__ = [
    "FAILED_ERRORS",
    "LOCKED_ERRORS",
    "UNREACHABLE_ERRORS",
    "USAGE_ERRORS",
    "LakeConfig",
    "activities",
    "athlete",
    "correct",
    "default_db_path",
    "event",
    "exercise_warning",
    "export",
    "import_files",
    "lake_config",
    "progress_bars",
    "refuse_newer_store",
    "refuse_newer_target",
    "report",
    "sets",
    "validate_slug",
]

LOCKED_ERRORS: tuple[type[Exception], ...] = (DatabaseLockedError, LandingBusyError, LakeBusyError)
"""Exit code 3: the database (or a landing file, or on a lake the athlete's claim) is held by another
process."""
UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (LakeUnreachableError,)
"""Exit code 4: the lake's catalog (its PostgreSQL server, its SQLite file) cannot be reached."""
USAGE_ERRORS: tuple[type[Exception], ...] = (AthleteError, OutputDirError, NewerStoreError, TemplateDirError, LakeError)
"""Exit code 2: bad arguments found by the library (a bad slug or profile value, an output folder that
is not ours, a store written by a newer runstrong or DuckDB, a --templates folder that is missing or
whose template fails, a ``--lake`` that cannot be used)."""
FAILED_ERRORS: tuple[type[Exception], ...] = (CorrectionError, StoreError, FileNotFoundError, ValueError)
"""Exit code 1: an expected failure with a one-line message."""

Say = Callable[[str], None]


def lake_config(catalog: str | None, data_path: str | None = None, *, encrypted: bool = False) -> LakeConfig | None:
    """``--lake`` / ``--lake-data`` / ``--lake-encrypted`` as a :class:`store.lake.LakeConfig`
    (None: the DuckDB file)."""
    if not catalog:
        if data_path or encrypted:
            raise LakeError(f"{'--lake-data' if data_path else '--lake-encrypted'} needs --lake (or RUNSTRONG_LAKE)")
        return None
    return LakeConfig(catalog, data_path or None, encrypted).check()


@contextmanager
def opened(
    db_path: str | Path,
    athlete: str,
    *,
    wait_s: float,
    merge_landed: bool = False,
    on_message: Say | None = None,
    lake: LakeConfig | None = None,
) -> Iterator[Connection]:
    """The store at ``db_path`` (or the ``lake``) for ``athlete`` (slug validated), waiting up to
    ``wait_s`` for a lock; with ``merge_landed``, stream sessions left in landing files (beside
    ``db_path`` in either case) are merged first. On a lake, an error while its catalog is
    unreachable becomes :class:`store.lake.LakeUnreachableError`."""
    validate_slug(athlete)
    con = open_store(db_path, wait_s=wait_s, lake=lake)
    try:
        with errors_translated(con):
            if merge_landed:
                merged = merge_and_analyse(con, Path(db_path))
                if merged and on_message is not None:
                    on_message(f"merged {len(merged)} streamed session(s) from landing files")
            yield con
    finally:
        con.close()


def exercise_warning(exercise: str) -> str | None:
    """The warning for an exercise name outside the contract's list, or None."""
    from records.exercises import CONTRACT_EXERCISES

    if exercise in CONTRACT_EXERCISES:
        return None
    return (
        f"warning: exercise {exercise!r} is not one of {', '.join(CONTRACT_EXERCISES)}: stored, but it has "
        "no velocity threshold or laterality"
    )


def import_files(
    db_path: str | Path,
    athlete: str,
    paths: Sequence[str | Path],
    *,
    wait_s: float,
    undelete: bool = False,
    show_progress: bool = True,
    on_message: Say | None = None,
    lake: LakeConfig | None = None,
) -> ImportSummary:
    """``import``: FIT files, folders and archives for ``athlete`` (``ingest.fit.importer``); the
    decoding workers start before the store is opened (``DecodePool``)."""
    from ingest.fit.importer import DecodePool, import_paths

    validate_slug(athlete)
    with (
        DecodePool() as pool,
        opened(db_path, athlete, wait_s=wait_s, merge_landed=True, on_message=on_message, lake=lake) as con,
    ):
        return import_paths(con, paths, athlete=athlete, show_progress=show_progress, undelete=undelete, pool=pool)


def activities(
    db_path: str | Path, athlete: str, *, since: dt.datetime | None, wait_s: float, lake: LakeConfig | None = None
) -> list[dict[str, Any]]:
    """``activities``: contract rows, oldest first."""
    with opened(db_path, athlete, wait_s=wait_s, lake=lake) as con:
        return readers.activities(con, athlete, since=since)


def sets(
    db_path: str | Path, athlete: str, *, activity: str | None, wait_s: float, lake: LakeConfig | None = None
) -> list[dict[str, Any]]:
    """``sets``: the strength ledger's rows (watch, sensor and app sets reconciled, the user's
    corrections applied: :func:`jobs.ledger.sets_rows`)."""
    from jobs.ledger import load_ledger, sets_rows

    with opened(db_path, athlete, wait_s=wait_s, lake=lake) as con:
        return sets_rows(load_ledger(con, athlete), activity=activity)


def athlete(
    db_path: str | Path,
    slug: str,
    action: str,
    *,
    wait_s: float,
    body_mass_kg: float | None = None,
    sex: str | None = None,
    hr_rest_bpm: float | None = None,
    hr_max_bpm: float | None = None,
    tz: str | None = None,
    strength_start: str | None = None,
    primary_proxy: str | None = None,
    swc_pct: float | None = None,
    swc_source: str | None = None,
    weight_unit: str | None = None,
    lake: LakeConfig | None = None,
) -> dict[str, Any]:
    """``athlete show|set|list|delete`` (``delete`` removes every row and landing file of ``slug``; on a
    lake also every Parquet file that held them: ``store.lake_erasure``); ``set`` also takes the economy
    model's per-athlete overrides (``economy_inputs.set_settings``). A new ``--tz`` reads the athlete's
    stored app workouts again in it, a new ``--weight-unit`` those whose export did not name its unit
    (:mod:`jobs.app_settings`)."""
    with opened(db_path, slug, wait_s=wait_s, lake=lake) as con:
        if action == "set":
            from jobs.app_settings import apply_profile_change

            before = athletes.get_profile(con, slug)
            prof = athletes.set_profile(
                con,
                slug,
                body_mass_kg=body_mass_kg,
                sex=sex,
                hr_rest_bpm=hr_rest_bpm,
                hr_max_bpm=hr_max_bpm,
                tz=tz,
                weight_unit=weight_unit,
            )
            moved = apply_profile_change(con, slug, before, prof)
            doc: dict[str, Any] = {"athlete": prof.to_dict()}
            if moved:
                doc["app_sessions_reread"] = moved
            if any(v is not None for v in (strength_start, primary_proxy, swc_pct, swc_source)):
                doc["economy"] = economy_inputs.set_settings(
                    con,
                    slug,
                    strength_start=strength_start,
                    primary_proxy=primary_proxy,
                    swc_pct=swc_pct,
                    swc_source=swc_source,
                )
            else:
                doc["economy"] = economy_inputs.get_settings(con, slug)
            return doc
        if action == "show":
            found = athletes.get_profile(con, slug)
            return {
                "athlete": (found or athletes.Profile(slug)).to_dict(),
                "exists": found is not None,
                "economy": economy_inputs.get_settings(con, slug),
            }
        if action == "list":
            return {"athletes": [p.to_dict() for p in athletes.list_athletes(con)]}
        if action == "delete":
            from store.erasure import erase_athlete

            doc = {"athlete": slug, "deleted_rows": erase_athlete(con, Path(db_path), slug)}
            if lake is not None:
                from store.lake_erasure import erase_from_lake_files

                doc["lake"] = erase_from_lake_files(con, slug)
            return doc
    raise ValueError(f"unknown athlete action {action!r}")


def correct(
    db_path: str | Path,
    athlete: str,
    *,
    wait_s: float,
    set_id: str | None = None,
    exercise: str | None = None,
    exclude: str | None = None,
    include: str | None = None,
    reason: str | None = None,
    context: str | None = None,
    air_temperature_c: float | None = None,
    shoe: str | None = None,
    split: Sequence[str] | None = None,
    merge: Sequence[str] | None = None,
    lake: LakeConfig | None = None,
) -> dict[str, Any]:
    """``correct``: a set's exercise, a run excluded from (or included again in) the economy analysis,
    a run's context (air temperature, shoe) for the economy model, or the strength ledger's
    reconciliation (``split`` source sessions off their training session, ``merge`` training
    sessions: :mod:`jobs.ledger`)."""
    from jobs import ledger

    with opened(db_path, athlete, wait_s=wait_s, lake=lake) as con:
        if context is not None:
            return economy_inputs.set_run_context(con, athlete, context, air_temperature_c=air_temperature_c, shoe=shoe)
        if split:
            return ledger.split_sessions(con, athlete, split)
        if merge:
            return ledger.merge_sessions(con, athlete, merge)
        if set_id is not None:
            assert exercise is not None
            return ledger.correct_exercise(con, athlete, set_id, exercise)
        if exclude is not None:
            assert reason is not None
            corrections.exclude_activity(con, athlete, exclude, reason)
            return {"activity_id": exclude, "excluded": True, "reason": reason}
        assert include is not None
        existed = corrections.include_activity(con, athlete, include)
        return {"activity_id": include, "excluded": False, "was_excluded": existed}


def event(
    db_path: str | Path,
    athlete: str,
    action: str,
    *,
    wait_s: float,
    kind: str | None = None,
    at: dt.datetime | None = None,
    note: str | None = None,
    lake: LakeConfig | None = None,
) -> dict[str, Any]:
    """``event add|list|delete``: logged shoe or HR-sensor changes the economy model steps over."""
    with opened(db_path, athlete, wait_s=wait_s, lake=lake) as con:
        if action == "list":
            return {"events": economy_inputs.list_events(con, athlete)}
        assert kind is not None and at is not None
        if action == "add":
            return {"event": economy_inputs.add_event(con, athlete, kind, at, note)}
        return {"deleted": economy_inputs.delete_event(con, athlete, kind, at)}


def report(
    db_path: str | Path,
    athlete: str,
    out_dir: str | Path,
    *,
    since: dt.datetime | None,
    wait_s: float,
    on_message: Say | None = None,
    progress: ProgressFn | None = None,
    templates_dir: str | Path | None = None,
    lake: LakeConfig | None = None,
) -> dict[str, Any]:
    """``report``: merge landed sessions, then :func:`jobs.report.build_report` (with ``--templates``:
    the pages from the templates in that folder, over the package's)."""
    from jobs.report import build_report

    with opened(db_path, athlete, wait_s=wait_s, merge_landed=True, on_message=on_message, lake=lake) as con:
        return build_report(con, Path(out_dir), since=since, progress=progress, templates_dir=templates_dir)


def export(
    db_path: str | Path,
    athlete: str,
    out_dir: str | Path,
    *,
    wait_s: float,
    progress: ProgressFn | None = None,
    lake: LakeConfig | None = None,
) -> dict[str, Any]:
    """``export --parquet``: the store as Hive-partitioned Parquet (``store.export``)."""
    from store.export import export_parquet

    with opened(db_path, athlete, wait_s=wait_s, lake=lake) as con:
        return export_parquet(con, Path(out_dir), progress=progress)


def refuse_newer_target(db_path: str | Path, lake: LakeConfig | None = None, *, wait_s: float = 30.0) -> None:
    """:func:`store.connection.refuse_newer_store` for the DuckDB file, or for the lake: attaching it
    checks (and brings up to date) its schema and raises if it cannot be reached."""
    if lake is None:
        refuse_newer_store(db_path)
        return
    open_store(db_path, wait_s=wait_s, lake=lake).close()


def progress_bars(*, quiet: bool, json_output: bool) -> TerminalProgress:
    """Live progress bars on stderr for a person at a terminal (:mod:`ingest.progress`): none with
    --json or --quiet, none when stderr is not a terminal (cron, pipes, files)."""
    return TerminalProgress(enabled=bar_wanted(quiet=quiet, json_output=json_output))
