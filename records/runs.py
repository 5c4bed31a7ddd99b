"""The per-record time series of one activity: :class:`RunRecords`.

One type for the FIT ``record`` messages of an activity, from the importer through the store to
the running-economy analysis: the FIT importer builds it (``ingest.fit.activity``), the store
writes it to and reads it back from the ``record`` table (``store.activities``,
``store.readers.run_records``), and :mod:`analysis.economy` and :mod:`analysis.training_load`
consume it. The simulator (:mod:`sim.athlete`) produces it too. Pure data, no I/O.

Conventions (docs/design.md section 2): ``t_ns`` is int64 UTC epoch nanoseconds, non-decreasing;
every channel is float64 of the same length with NaN where the value is absent (never 0); SI
units with the unit in the name. ``cadence_spm`` is steps per minute (FIT strides/min x 2 is the
importer's job), ``cadence_rpm`` the cycling cadence.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = ["RECORD_FIELDS", "SAMPLE_FIELDS", "RunRecords"]

#: The float64 channels the running-economy analysis reads, in order (required by the constructor).
SAMPLE_FIELDS: tuple[str, ...] = (
    "heart_rate_bpm",
    "speed_mps",
    "distance_m",
    "altitude_m",
    "power_w",
    "temperature_c",
    "cadence_spm",
)

#: Every per-record channel the store keeps (the ``record`` table's value columns), in order.
RECORD_FIELDS: tuple[str, ...] = (
    "heart_rate_bpm",
    "speed_mps",
    "distance_m",
    "altitude_m",
    "cadence_spm",
    "cadence_rpm",
    "power_w",
    "lat_deg",
    "lon_deg",
    "temperature_c",
    "vertical_oscillation_m",
    "stance_time_s",
    "step_length_m",
    "vertical_ratio_pct",
)

_OPTIONAL_FIELDS: tuple[str, ...] = tuple(f for f in RECORD_FIELDS if f not in SAMPLE_FIELDS)


@dataclass
class RunRecords:
    """One activity's record samples, 1 Hz-ish, possibly with pauses.

    Parameters
    ----------
    activity_id : str
        Store identity of the activity (FIT content hash prefix + session index).
    t_ns : numpy.ndarray
        int64 UTC epoch nanoseconds, non-decreasing. Gaps (pauses) are allowed.
    heart_rate_bpm, speed_mps, distance_m, altitude_m, power_w, temperature_c, cadence_spm : numpy.ndarray
        float64, same length as ``t_ns``, NaN where absent. An entirely absent
        channel is an all-NaN array (see :meth:`from_arrays`).
    sport : str, optional
        FIT sport name (informational), default ``"running"``.
    cadence_rpm, lat_deg, lon_deg, vertical_oscillation_m, stance_time_s, step_length_m, vertical_ratio_pct : numpy.ndarray or None
        The other channels of :data:`RECORD_FIELDS`; None (the default) is all-NaN.

    Notes
    -----
    Construction validates shapes and dtypes and raises ``ValueError`` with a
    message naming the offending field. Arrays are converted (not copied when
    already of the right dtype).
    """

    activity_id: str
    t_ns: np.ndarray
    heart_rate_bpm: np.ndarray
    speed_mps: np.ndarray
    distance_m: np.ndarray
    altitude_m: np.ndarray
    power_w: np.ndarray
    temperature_c: np.ndarray
    cadence_spm: np.ndarray
    sport: str = "running"
    cadence_rpm: np.ndarray | None = None
    lat_deg: np.ndarray | None = None
    lon_deg: np.ndarray | None = None
    vertical_oscillation_m: np.ndarray | None = None
    stance_time_s: np.ndarray | None = None
    step_length_m: np.ndarray | None = None
    vertical_ratio_pct: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.activity_id, str) or not self.activity_id:
            raise ValueError("activity_id must be a non-empty string")
        t = np.asarray(self.t_ns)
        if t.ndim != 1:
            raise ValueError(f"t_ns must be 1-D, got shape {t.shape}")
        if t.size and not np.issubdtype(t.dtype, np.integer):
            raise ValueError(f"t_ns must be an integer array of UTC epoch ns, got dtype {t.dtype}")
        t = t.astype(np.int64, copy=False)
        if t.size > 1 and np.any(np.diff(t) < 0):
            raise ValueError("t_ns must be non-decreasing")
        self.t_ns = t
        n = t.size
        for name in RECORD_FIELDS:
            v = getattr(self, name)
            a = np.full(n, np.nan) if v is None else np.asarray(v, dtype=np.float64)
            if a.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},) like t_ns, got {a.shape}")
            setattr(self, name, a)

    def __len__(self) -> int:
        return int(self.t_ns.size)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.t_ns.size)

    @property
    def started_at_ns(self) -> int | None:
        """First timestamp (UTC epoch ns), or None for an empty run."""
        return int(self.t_ns[0]) if self.t_ns.size else None

    def channel(self, name: str) -> np.ndarray:
        """The float64 array of channel ``name`` (one of :data:`RECORD_FIELDS`)."""
        if name not in RECORD_FIELDS:
            raise ValueError(f"unknown record field {name!r}")
        return np.asarray(getattr(self, name))

    def mean(self, name: str) -> float | None:
        """Mean of channel ``name`` over the records where it is present; None when it never is."""
        v = self.channel(name)
        ok = ~np.isnan(v)
        return float(v[ok].mean()) if ok.any() else None

    @classmethod
    def from_arrays(cls, activity_id: str, t_ns: np.ndarray, **channels: Any) -> RunRecords:
        """Build records where missing channels (``None`` or not given) become all-NaN arrays.

        Parameters
        ----------
        activity_id : str
        t_ns : numpy.ndarray
            int64 UTC epoch ns.
        **channels
            Any of :data:`RECORD_FIELDS` (plus ``sport``); unknown names raise ``ValueError``.
        """
        known = {f.name for f in fields(cls)} - {"activity_id", "t_ns"}
        unknown = set(channels) - known
        if unknown:
            raise ValueError(f"unknown RunRecords field(s): {sorted(unknown)}")
        t = np.asarray(t_ns)
        kwargs: dict[str, Any] = {}
        for name in SAMPLE_FIELDS:
            v = channels.get(name)
            kwargs[name] = np.full(t.shape[0] if t.ndim == 1 else 0, np.nan) if v is None else v
        for name in _OPTIONAL_FIELDS:
            kwargs[name] = channels.get(name)
        if channels.get("sport") is not None:
            kwargs["sport"] = channels["sport"]
        return cls(activity_id=activity_id, t_ns=t, **kwargs)
