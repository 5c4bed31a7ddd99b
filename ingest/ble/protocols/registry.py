"""Sensor profile registry: profile name -> :class:`SensorProfile`, and ``--sensor auto``.

Every module of this package that defines a module-level ``PROFILE`` is registered, so a new
sensor is one new module (nothing to edit here). Pure: imports no bleak or duckdb.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

import ingest.ble.protocols as _pkg
from ingest.ble.protocols.base import SensorProfile, normalize_uuid

_SKIP = {"base", "registry"}


def _discover() -> dict[str, SensorProfile]:
    found: dict[str, SensorProfile] = {}
    for info in sorted(pkgutil.iter_modules(_pkg.__path__), key=lambda m: m.name):
        if info.name in _SKIP or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_pkg.__name__}.{info.name}")
        profile = getattr(module, "PROFILE", None)
        if isinstance(profile, SensorProfile):
            if profile.name in found:
                raise RuntimeError(f"two sensor modules define profile {profile.name!r}")
            found[profile.name] = profile
    return found


PROFILES: dict[str, SensorProfile] = _discover()
"""All registered profiles by contract name (``witmotion``, ``heart_rate``, ...)."""


def profile_names() -> list[str]:
    """Profile names in ``--sensor auto`` priority order."""
    return [p.name for p in sorted(PROFILES.values(), key=lambda p: (p.auto_priority, p.name))]


def get_profile(name: str) -> SensorProfile:
    """The profile called ``name``; ValueError listing the known names otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown sensor {name!r}; known sensors: {', '.join(profile_names())}") from None


def profile_for_services(service_uuids: Iterable[str]) -> SensorProfile | None:
    """The best profile for a device offering ``service_uuids`` (any spelling), or None.

    Several may match (a Stryd pod offers both RSC and Cycling Power): the lowest
    ``auto_priority`` wins (WitMotion, then heart rate, cycling power, RSC).
    """
    services = list(service_uuids)
    for name in profile_names():
        if PROFILES[name].matches(services):
            return PROFILES[name]
    return None


def profile_for_characteristic(char_uuid: str) -> SensorProfile | None:
    """The profile that notifies on ``char_uuid`` (used to check a capture's lines)."""
    try:
        u = normalize_uuid(char_uuid)
    except ValueError:
        return None
    for p in PROFILES.values():
        if u in p.notify_uuids:
            return p
    return None
