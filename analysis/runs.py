"""Per-run sample arrays handed from the store to the running-economy analysis.

The store builds :class:`RunRecords` from DuckDB (one per running activity);
the analysis functions in :mod:`analysis.economy` and
:mod:`analysis.training_load` consume it. Pure data, no I/O.

Conventions (DESIGN.md section 2): ``t_ns`` is int64 UTC epoch nanoseconds;
every other array is float64 of the same length with NaN where the value is
absent (never 0); SI units with the unit in the name. ``cadence_spm`` is steps
per minute (FIT strides/min x 2 is the importer's job).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["SAMPLE_FIELDS", "RunRecords"]

#: The float64 per-sample arrays of a run, in order (all the same length as ``t_ns``).
SAMPLE_FIELDS: tuple[str, ...] = (
    "heart_rate_bpm",
    "speed_mps",
    "distance_m",
    "altitude_m",
    "power_w",
    "temperature_c",
    "cadence_spm",
)


@dataclass
class RunRecords:
    """One running activity's record samples, 1 Hz-ish, possibly with pauses.

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
        for name in SAMPLE_FIELDS:
            a = np.asarray(getattr(self, name), dtype=np.float64)
            if a.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},) like t_ns, got {a.shape}")
            setattr(self, name, a)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.t_ns.size)

    @property
    def started_at_ns(self) -> int | None:
        """First timestamp (UTC epoch ns), or None for an empty run."""
        return int(self.t_ns[0]) if self.t_ns.size else None

    @classmethod
    def from_arrays(cls, activity_id: str, t_ns: np.ndarray, **channels: np.ndarray | None) -> RunRecords:
        """Build a run where missing channels (``None`` or not given) become all-NaN arrays.

        Parameters
        ----------
        activity_id : str
        t_ns : numpy.ndarray
            int64 UTC epoch ns.
        **channels
            Any of :data:`SAMPLE_FIELDS` (plus ``sport``); unknown names raise ``ValueError``.
        """
        known = {f.name for f in fields(cls)} - {"activity_id", "t_ns"}
        unknown = set(channels) - known
        if unknown:
            raise ValueError(f"unknown RunRecords field(s): {sorted(unknown)}")
        t = np.asarray(t_ns)
        kwargs: dict = {}
        for name in SAMPLE_FIELDS:
            v = channels.get(name)
            kwargs[name] = np.full(t.shape[0] if t.ndim == 1 else 0, np.nan) if v is None else v
        if "sport" in channels and channels["sport"] is not None:
            kwargs["sport"] = channels["sport"]
        return cls(activity_id=activity_id, t_ns=t, **kwargs)
