"""An :class:`~ingest.apps.model.AppExport` as the rows the store writes (``records.app_exports``)."""

from __future__ import annotations

from ingest.apps.model import AppExport, AppSession
from records.activities import SourceFile
from records.app_exports import AppExportFile, AppSessionRow, AppSetRow

__all__ = ["DECODER", "export_file", "session_row", "source_status_error"]

#: ``source_file.decoder`` of an app export
DECODER = {"strong": "strong-csv", "hevy": "hevy-csv"}

#: bad rows named in the ``source_file.error`` of a partial export (all of them are in the import result)
MAX_BAD_ROWS_IN_ERROR = 5


def source_status_error(export: AppExport) -> str | None:
    """The one-line error of a partial export: how many rows were refused and the first reasons."""
    if not export.bad_rows:
        return None
    shown = "; ".join(f"line {b.line}: {b.reason}" for b in export.bad_rows[:MAX_BAD_ROWS_IN_ERROR])
    more = len(export.bad_rows) - MAX_BAD_ROWS_IN_ERROR
    return f"{len(export.bad_rows)} row(s) refused, the rest kept ({shown}{f'; {more} more' if more > 0 else ''})"


def session_row(s: AppSession, export: AppExport) -> AppSessionRow:
    sets = tuple(
        AppSetRow(
            set_id=f"{s.session_key}/{i}",
            position=i,
            exercise=x.exercise,
            exercise_as_written=x.exercise_as_written,
            equipment=x.equipment,
            exercise_order=x.exercise_order,
            set_order=x.set_order,
            set_order_as_written=x.set_order_as_written,
            set_role=x.set_role,
            reps=x.reps,
            load_kg=x.load_kg,
            distance_m=x.distance_m,
            duration_s=x.duration_s,
            rpe=x.rpe,
            notes=x.notes,
            superset_id=x.superset_id,
            line=x.line,
        )
        for i, x in enumerate(s.sets, start=1)
    )
    return AppSessionRow(
        session_key=s.session_key,
        app=s.app,
        title=s.title,
        start_local=s.start_local,
        start_precision=s.start_precision,
        started_at=s.start_utc,
        duration_s=s.duration_s,
        tz=s.tz,
        local_time_note=s.local_time_note,
        notes=s.notes,
        session_rpe=s.session_rpe,
        weight_unit=export.weight_unit,
        weight_unit_source=export.weight_unit_source,
        distance_unit=export.distance_unit,
        distance_unit_source=export.distance_unit_source,
        content_sha256=s.content_sha256,
        sets=sets,
    )


def export_file(export: AppExport, path: str, bytes_size: int) -> AppExportFile:
    """The store's rows of one parsed export read from ``path`` (its ``source_file`` entry included).

    Set ids are ``<session_key>/<n>`` (n = 1-based position in the workout), the ids
    ``ingest.apps.ledger_rows`` gives the ledger."""
    source = SourceFile(
        sha256=export.sha256,
        path=path,
        bytes_size=bytes_size,
        status=export.status,
        decoder=DECODER[export.app],
        file_type=export.variant,
        error=source_status_error(export),
    )
    return AppExportFile(source=source, app=export.app, sessions=tuple(session_row(s, export) for s in export.sessions))
