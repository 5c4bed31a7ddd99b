"""Athletes: slugs, profiles, and deleting everything an athlete owns."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any

import duckdb

from records.times import zone_info
from store.lake import athlete_scope, write_transaction
from store.writers import insert_rows

#: the whole name (\Z, not $: "$" would also accept a trailing newline)
SLUG_RE = re.compile(r"\A[a-z0-9_-]{1,64}\Z")
SEXES = ("female", "male")
#: units of the phone-app exports that do not name theirs (``athlete set --weight-unit``)
WEIGHT_UNITS = ("kg", "lb")

#: Tables keyed by athlete directly.
ATHLETE_TABLES = (
    "source_file",
    "import_event",
    "activity",
    "record",
    "lap",
    "strength_set",
    "set_correction",
    "activity_exclusion",
    "rep",
    "run_metric",
    "reference_load",
    "run_context",
    "athlete_event",
    "economy_setting",
    "app_session",
    "app_set",
    "ledger_correction",
)
#: Raw stream tables: each row names its athlete too (migration 3), so a session id shared by two
#: athletes (the same capture replayed under both) never lets one athlete's delete touch the other.
SESSION_TABLES = ("stream_batch", "ble_frame", "imu_sample", "hr_sample", "rsc_sample", "power_sample", "stream_gap")


class AthleteError(ValueError):
    """Invalid athlete name or profile value (reaches the user as a one-line message)."""


def validate_slug(name: str) -> str:
    if not SLUG_RE.match(name or ""):
        raise AthleteError(
            f"invalid athlete name {name!r}: use 1-64 lower-case letters, digits, '-' or '_' (e.g. 'jane-doe')"
        )
    return name


@dataclass
class Profile:
    athlete: str
    body_mass_kg: float | None = None
    sex: str | None = None
    hr_rest_bpm: float | None = None
    hr_max_bpm: float | None = None
    tz: str | None = None
    #: unit of an app export that does not say (Strong's classic CSV); None = kg
    weight_unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_athlete(con: duckdb.DuckDBPyConnection, athlete: str) -> None:
    validate_slug(athlete)
    if not con.execute("SELECT 1 FROM athlete WHERE athlete = ?", [athlete]).fetchall():
        insert_rows(con, "athlete", [{"athlete": athlete, "created_at": dt.datetime.now(dt.UTC)}])


def get_profile(con: duckdb.DuckDBPyConnection, athlete: str) -> Profile | None:
    row = con.execute(
        "SELECT athlete, body_mass_kg, sex, hr_rest_bpm, hr_max_bpm, tz, weight_unit FROM athlete WHERE athlete = ?",
        [athlete],
    ).fetchone()
    return Profile(*row) if row else None


def list_athletes(con: duckdb.DuckDBPyConnection) -> list[Profile]:
    rows = con.execute(
        "SELECT athlete, body_mass_kg, sex, hr_rest_bpm, hr_max_bpm, tz, weight_unit FROM athlete ORDER BY athlete"
    ).fetchall()
    return [Profile(*r) for r in rows]


def set_profile(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    *,
    body_mass_kg: float | None = None,
    sex: str | None = None,
    hr_rest_bpm: float | None = None,
    hr_max_bpm: float | None = None,
    tz: str | None = None,
    weight_unit: str | None = None,
) -> Profile:
    """Update the given profile fields (others unchanged), validating each; one transaction."""
    validate_slug(athlete)
    return write_transaction(
        con,
        lambda: _set_profile(
            con,
            athlete,
            body_mass_kg=body_mass_kg,
            sex=sex,
            hr_rest_bpm=hr_rest_bpm,
            hr_max_bpm=hr_max_bpm,
            tz=tz,
            weight_unit=weight_unit,
        ),
        scope=athlete_scope(athlete),
    )


def _set_profile(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    *,
    body_mass_kg: float | None,
    sex: str | None,
    hr_rest_bpm: float | None,
    hr_max_bpm: float | None,
    tz: str | None,
    weight_unit: str | None,
) -> Profile:
    if body_mass_kg is not None and not 20 <= body_mass_kg <= 300:
        raise AthleteError(f"body mass {body_mass_kg} kg is outside 20-300 kg")
    if sex is not None and sex not in SEXES:
        raise AthleteError(f"sex must be one of {', '.join(SEXES)}")
    if hr_rest_bpm is not None and not 25 <= hr_rest_bpm <= 120:
        raise AthleteError(f"resting HR {hr_rest_bpm} bpm is outside 25-120 bpm")
    if hr_max_bpm is not None and not 100 <= hr_max_bpm <= 240:
        raise AthleteError(f"maximum HR {hr_max_bpm} bpm is outside 100-240 bpm")
    if tz is not None:
        try:
            zone_info(tz)
        except ValueError:
            raise AthleteError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Oslo)") from None
    if weight_unit is not None and weight_unit not in WEIGHT_UNITS:
        raise AthleteError(f"weight unit must be one of {', '.join(WEIGHT_UNITS)}")
    current = get_profile(con, athlete) or Profile(athlete)
    merged = Profile(
        athlete,
        body_mass_kg=body_mass_kg if body_mass_kg is not None else current.body_mass_kg,
        sex=sex if sex is not None else current.sex,
        hr_rest_bpm=hr_rest_bpm if hr_rest_bpm is not None else current.hr_rest_bpm,
        hr_max_bpm=hr_max_bpm if hr_max_bpm is not None else current.hr_max_bpm,
        tz=tz if tz is not None else current.tz,
        weight_unit=weight_unit if weight_unit is not None else current.weight_unit,
    )
    if merged.hr_rest_bpm is not None and merged.hr_max_bpm is not None and merged.hr_rest_bpm >= merged.hr_max_bpm:
        raise AthleteError("resting HR must be below maximum HR")
    if get_profile(con, athlete) is None:
        # a new athlete's row written whole: no insert and update of one row in one transaction (with
        # data inlining on, DuckLake 0.3 fails to commit that: docs/store.md, "The lake")
        insert_rows(con, "athlete", [{**merged.to_dict(), "created_at": dt.datetime.now(dt.UTC)}])
    else:
        con.execute(
            "UPDATE athlete SET body_mass_kg = ?, sex = ?, hr_rest_bpm = ?, hr_max_bpm = ?, tz = ?, weight_unit = ? "
            "WHERE athlete = ?",
            [
                merged.body_mass_kg,
                merged.sex,
                merged.hr_rest_bpm,
                merged.hr_max_bpm,
                merged.tz,
                merged.weight_unit,
                athlete,
            ],
        )
    return merged


def delete_athlete(con: duckdb.DuckDBPyConnection, athlete: str) -> dict[str, int]:
    """Delete every row of ``athlete`` (ledger included) in one transaction; return rows per table.

    Leaves tombstones (``deleted_file``: the sha256 of each deleted file; ``deleted_athlete``: when)
    so that a later import of the same files skips them and a landing file written before now is
    discarded rather than merged back. Landing files are removed by :func:`store.erasure.erase_athlete`.
    """
    validate_slug(athlete)

    def delete() -> dict[str, int]:
        counts: dict[str, int] = {}
        # tombstones: each file once (no key on a lake: the anti-join does what INSERT OR IGNORE did)
        con.execute(
            "INSERT INTO deleted_file SELECT DISTINCT f.athlete, f.sha256, now() FROM source_file f "
            "WHERE f.athlete = ? AND NOT EXISTS (SELECT 1 FROM deleted_file d "
            "WHERE d.athlete = f.athlete AND d.sha256 = f.sha256)",
            [athlete],
        )
        con.execute("INSERT INTO deleted_athlete VALUES (?, now())", [athlete])
        for t in (*ATHLETE_TABLES, *SESSION_TABLES, "stream_session", "athlete"):
            n = con.execute(f"DELETE FROM {t} WHERE athlete = ?", [athlete]).fetchone()
            counts[t] = int(n[0]) if n else 0
        return counts

    counts = write_transaction(con, delete, scope=athlete_scope(athlete))
    return {k: v for k, v in counts.items() if v}
