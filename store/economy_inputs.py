"""What the economy-change model needs beyond the imported rows: per-run context, logged events and
per-athlete settings (migration 3). Writers validate and raise :class:`EconomyInputError`; the
reader :func:`economy_inputs` hands the report plain dicts."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import duckdb

from store.athletes import ensure_athlete
from store.lake import athlete_scope, write_transaction
from store.writers import insert_rows

#: proxies a user may make primary (names of analysis.nof1.PROXIES; store/ does not import analysis)
PROXY_NAMES = ("speed_per_w_per_kg", "hr_at_reference_speed_bpm", "ef_proxy")
EVENT_KINDS = ("shoe", "hr_sensor")
#: "no change" sentinel for the setting options: clear the override
AUTO = "auto"


class EconomyInputError(ValueError):
    """A bad value or an unknown activity (a one-line message for the user)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _require_run(con: duckdb.DuckDBPyConnection, athlete: str, activity_id: str) -> None:
    if (
        con.execute("SELECT 1 FROM activity WHERE athlete = ? AND activity_id = ?", [athlete, activity_id]).fetchone()
        is None
    ):
        raise EconomyInputError(f"no activity {activity_id!r} for athlete {athlete!r} (see `activities`)")


def set_run_context(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    activity_id: str,
    *,
    air_temperature_c: float | None = None,
    shoe: str | None = None,
) -> dict[str, Any]:
    """Set a run's air temperature (C) and/or shoe; the other field keeps its value."""
    _require_run(con, athlete, activity_id)
    if air_temperature_c is not None and not (math.isfinite(air_temperature_c) and -40 <= air_temperature_c <= 55):
        raise EconomyInputError(f"air temperature {air_temperature_c} C is outside -40..55 C")
    if shoe is not None and not shoe.strip():
        raise EconomyInputError("shoe must not be empty")

    def write() -> dict[str, Any]:
        row = con.execute(
            "SELECT air_temperature_c, shoe FROM run_context WHERE athlete = ? AND activity_id = ?",
            [athlete, activity_id],
        ).fetchone()
        air = air_temperature_c if air_temperature_c is not None else (row[0] if row else None)
        sh = shoe.strip() if shoe is not None else (row[1] if row else None)
        con.execute("DELETE FROM run_context WHERE athlete = ? AND activity_id = ?", [athlete, activity_id])
        insert_rows(
            con,
            "run_context",
            [
                {
                    "athlete": athlete,
                    "activity_id": activity_id,
                    "air_temperature_c": air,
                    "shoe": sh,
                    "updated_at": _now(),
                }
            ],
        )
        return {"activity_id": activity_id, "air_temperature_c": air, "shoe": sh}

    return write_transaction(con, write, scope=athlete_scope(athlete))


def add_event(
    con: duckdb.DuckDBPyConnection, athlete: str, kind: str, at: dt.datetime, note: str | None = None
) -> dict[str, Any]:
    """Log a change the economy model treats as a step (``kind`` in :data:`EVENT_KINDS`)."""
    if kind not in EVENT_KINDS:
        raise EconomyInputError(f"event kind must be one of {', '.join(EVENT_KINDS)}")
    if at.tzinfo is None:
        raise EconomyInputError("event time must be timezone-aware (UTC)")

    def write() -> None:
        ensure_athlete(con, athlete)
        con.execute("DELETE FROM athlete_event WHERE athlete = ? AND kind = ? AND event_at = ?", [athlete, kind, at])
        insert_rows(
            con,
            "athlete_event",
            [{"athlete": athlete, "kind": kind, "event_at": at, "note": note, "logged_at": _now()}],
        )

    write_transaction(con, write, scope=athlete_scope(athlete))
    return {"kind": kind, "at": at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"), "note": note}


def delete_event(con: duckdb.DuckDBPyConnection, athlete: str, kind: str, at: dt.datetime) -> bool:
    def write() -> bool:
        n = con.execute(
            "DELETE FROM athlete_event WHERE athlete = ? AND kind = ? AND event_at = ?", [athlete, kind, at]
        ).fetchone()
        return bool(n and n[0])

    return write_transaction(con, write, scope=athlete_scope(athlete))


def list_events(con: duckdb.DuckDBPyConnection, athlete: str) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT kind, event_at, note FROM athlete_event WHERE athlete = ? ORDER BY event_at, kind", [athlete]
    ).fetchall()
    return [{"kind": k, "at": a.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"), "note": n} for k, a, n in rows]


def get_settings(con: duckdb.DuckDBPyConnection, athlete: str) -> dict[str, Any]:
    row = con.execute(
        "SELECT strength_start, primary_proxy, swc_pct, swc_source FROM economy_setting WHERE athlete = ?", [athlete]
    ).fetchone()
    keys = ("strength_start", "primary_proxy", "swc_pct", "swc_source")
    out = dict(zip(keys, row, strict=True)) if row else dict.fromkeys(keys)
    if out["strength_start"] is not None:
        out["strength_start"] = out["strength_start"].isoformat()
    return out


def set_settings(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    *,
    strength_start: dt.date | str | None = None,
    primary_proxy: str | None = None,
    swc_pct: float | None = None,
    swc_source: str | None = None,
) -> dict[str, Any]:
    """Update the given economy settings (others unchanged); ``"auto"`` clears an override. One
    transaction (on a lake, under the athlete's claim)."""
    return write_transaction(
        con,
        lambda: _set_settings(con, athlete, strength_start, primary_proxy, swc_pct, swc_source),
        scope=athlete_scope(athlete),
    )


def _set_settings(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    strength_start: dt.date | str | None,
    primary_proxy: str | None,
    swc_pct: float | None,
    swc_source: str | None,
) -> dict[str, Any]:
    ensure_athlete(con, athlete)
    cur = get_settings(con, athlete)
    if strength_start is not None:
        cur["strength_start"] = (
            None
            if strength_start == AUTO
            else (strength_start if isinstance(strength_start, dt.date) else dt.date.fromisoformat(str(strength_start)))
        )
    if primary_proxy is not None:
        if primary_proxy != AUTO and primary_proxy not in PROXY_NAMES:
            raise EconomyInputError(f"primary proxy must be one of {', '.join(PROXY_NAMES)} or 'auto'")
        cur["primary_proxy"] = None if primary_proxy == AUTO else primary_proxy
    if swc_pct is not None:
        if not (math.isfinite(swc_pct) and 0 < swc_pct < 50):
            raise EconomyInputError("smallest worthwhile change must be a percentage between 0 and 50")
        cur["swc_pct"] = swc_pct
        if swc_source is None and cur.get("swc_source") is None:
            raise EconomyInputError("--swc-pct needs --swc-source: say where the value comes from")
    if swc_source is not None:
        if cur["swc_pct"] is None:
            raise EconomyInputError("--swc-source needs a smallest worthwhile change (--swc-pct)")
        cur["swc_source"] = swc_source.strip() or None
    if isinstance(cur["strength_start"], str):
        cur["strength_start"] = dt.date.fromisoformat(cur["strength_start"])
    con.execute("DELETE FROM economy_setting WHERE athlete = ?", [athlete])
    insert_rows(con, "economy_setting", [{"athlete": athlete, **cur, "updated_at": _now()}])
    return get_settings(con, athlete)


def economy_inputs(con: duckdb.DuckDBPyConnection, athlete: str) -> dict[str, Any]:
    """``{"run_context": {activity_id: {hr_sensor, air_temperature_c, shoe}}, "events": [...],
    "settings": {...}}`` for :func:`analysis.athlete_summary.summarise_athlete`."""
    ctx: dict[str, dict[str, Any]] = {}
    for aid, sensor, air, shoe in con.execute(
        "SELECT a.activity_id, a.hr_sensor, c.air_temperature_c, c.shoe FROM activity a "
        "LEFT JOIN run_context c USING (athlete, activity_id) WHERE a.athlete = ?",
        [athlete],
    ).fetchall():
        ctx[aid] = {"hr_sensor": sensor, "air_temperature_c": air, "shoe": shoe}
    return {"run_context": ctx, "events": list_events(con, athlete), "settings": get_settings(con, athlete)}
