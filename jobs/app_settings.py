"""What a profile change means for the stored phone-app workouts (``athlete set --tz / --weight-unit``).

The apps write wall-clock times without a zone and, in Strong's classic CSV, weights without a
unit; the importer reads them in the athlete's zone and unit (docs/strength-ledger.md). When the
athlete's zone changes, every stored workout is read again in the new zone (its local time is the
fact, the instant follows the zone); when the weight unit changes, the workouts whose export did
not name its unit are rescaled (kg <-> lb, and their distances km <-> mi, the unit that goes with
it). Exports that named their units are never touched.
"""

from __future__ import annotations

from typing import Any

from ingest.apps.dates import local_to_utc, zone
from ingest.apps.model import KG_PER_UNIT, M_PER_UNIT
from store import app_sessions
from store.athletes import Profile
from store.connection import Connection
from store.lake import athlete_scope, write_transaction

#: the distance unit a caller's weight unit implies (ingest.apps.parse_export's default)
DISTANCE_UNIT_OF = {"kg": "km", "lb": "mi"}


def apply_profile_change(con: Connection, athlete: str, before: Profile | None, after: Profile) -> dict[str, Any]:
    """Read the athlete's app workouts again after a change of zone or weight unit; returns what
    changed (``{"tz": n, "weight_unit": n}``, empty when nothing did). One transaction."""
    old_tz = (before.tz if before else None) or "UTC"
    new_tz = after.tz or "UTC"
    old_wu = (before.weight_unit if before else None) or "kg"
    new_wu = after.weight_unit or "kg"
    out: dict[str, Any] = {}

    def write() -> None:
        if old_tz != new_tz:
            zi = zone(new_tz)
            n = app_sessions.rezone(con, athlete, new_tz, lambda local: local_to_utc(local, zi))
            if n:
                out["tz"] = n
        if old_wu != new_wu:
            changes = {}
            for r in app_sessions.sessions_read_in_caller_unit(con, athlete):
                if r["weight_unit"] not in KG_PER_UNIT or r["weight_unit"] == new_wu:
                    continue
                factor = KG_PER_UNIT[new_wu] / KG_PER_UNIT[r["weight_unit"]]
                du, dfactor = None, 1.0
                if r["distance_unit_source"] == "caller" and r["distance_unit"] in M_PER_UNIT:
                    du = DISTANCE_UNIT_OF[new_wu]
                    dfactor = M_PER_UNIT[du] / M_PER_UNIT[r["distance_unit"]]
                changes[r["session_key"]] = (new_wu, factor, du, dfactor)
            n = app_sessions.rescale_sessions(con, athlete, changes)
            if n:
                out["weight_unit"] = n

    write_transaction(con, write, scope=athlete_scope(athlete))  # on a lake: under the athlete's claim
    return out
