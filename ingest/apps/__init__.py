"""Strong and Hevy CSV exports: detection, parsing and exercise mapping (pure, no I/O).

The interface a wiring step (``import``, the store, the report) calls::

    from ingest.apps import detect, parse_export, AppExportError

    det = detect(data)                      # None: not a Strong/Hevy CSV (try other formats)
    exp = parse_export(data, tz="Europe/Oslo", weight_unit="kg")
    exp.status                              # "imported" | "partial" (bad_rows say why)
    for s in exp.sessions:                  # AppSession: session_key, content_sha256, start_utc...
        for x in s.sets: ...                # AppSet: exercise (project name or None), set_role...

``AppExportError`` (a ``ValueError``) refuses a whole file with ``.reason``.
``ledger_rows(exp)`` gives the sessions and sets as the input rows of
``analysis.ledger.build_ledger`` (plain dicts: ingest does not import analysis).
"""

from ingest.apps.detect import Detected, detect
from ingest.apps.exercises import ExerciseMatch, map_exercise
from ingest.apps.ledger_rows import ledger_rows
from ingest.apps.model import (
    AppExport,
    AppExportError,
    AppSession,
    AppSet,
    DateRule,
    RowNote,
)
from ingest.apps.parse import parse_export

__all__ = [
    "AppExport",
    "AppExportError",
    "AppSession",
    "AppSet",
    "DateRule",
    "Detected",
    "ExerciseMatch",
    "RowNote",
    "detect",
    "ledger_rows",
    "map_exercise",
    "parse_export",
]
