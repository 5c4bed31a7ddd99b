"""Stream session identity (docs/design.md section 3), pure: no I/O.

A stream ``session_id`` is the first 16 hex digits of sha256 over the device address,
``started_at`` (ISO-8601 UTC, :func:`records.times.iso_utc`) and the session's first 64 payloads,
so a live session and the replay of its own capture are the same session. Until 64 payloads have
arrived a session goes by its *pending id* (``pending-`` + 16 hex of sha256 over the address and
``started_at``), which names its pending landing file (``store.landing``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from records.times import iso_utc

SESSION_ID_PAYLOADS = 64
PENDING_PREFIX = "pending-"


def _hash_of_start(device_address: str | None, started_at: datetime) -> Any:  # hashlib's object type is private
    h = hashlib.sha256()
    h.update((device_address or "").encode())
    h.update(b"\x00")
    h.update(iso_utc(started_at).encode())
    return h


def session_id_for(device_address: str | None, started_at: datetime, payloads: Sequence[bytes]) -> str:
    """First 16 hex of sha256(device address, started_at ISO UTC, the first 64 payloads)."""
    h = _hash_of_start(device_address, started_at)
    for p in payloads[:SESSION_ID_PAYLOADS]:
        h.update(b"\x00" + len(p).to_bytes(4, "big") + p)
    return str(h.hexdigest()[:16])


def pending_id_for(device_address: str | None, started_at: datetime) -> str:
    """``pending-`` + 16 hex of sha256(device address, started_at ISO UTC)."""
    return PENDING_PREFIX + str(_hash_of_start(device_address, started_at).hexdigest()[:16])
