"""Decoded FIT columns -> canonical activities (pure: no I/O).

One activity per FIT ``session`` message (multisport and chained files give several). A record
belongs to the first session whose time window ``[start_time, start_time + total_elapsed_time]``
contains it; a record outside every window goes to the last session that started before it (or
the first session), so nothing a watch recorded is dropped. Files without a session message
(damaged or minimal ones) get one activity spanning their records.

A record without a timestamp of its own (pool swims write them; so does the FIT SDK's
DeveloperData example) is dated by :func:`date_records`: FIT messages are written in time order,
so it takes the time of the last dated message written before it in the file (a record, lap,
length, set, session or activity ``timestamp``), or, before any, the earliest session or lap
``start_time``. A record that nothing in the file dates is not stored, and :func:`date_records`
says how many, so the importer reports the file ``partial`` with that count instead of
``imported`` with data silently missing.

Record columns are built one field at a time and split between activities without copying the
common case (one activity holding every record), so building costs little more memory than its
result (docs/operations.md, "Limits").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ingest.fit import exercises
from ingest.fit.model import DecodedFit, MessageColumns
from records.activities import ActivityData, LapRow, SetRow
from records.runs import RunRecords

#: Sports whose FIT cadence is strides/min per leg: steps/min = 2 x (cadence + fractional_cadence).
FOOT_SPORTS = frozenset({"running", "walking", "hiking", "generic_foot", "trail_running"})
SEMICIRCLE_TO_DEG = 180.0 / 2**31
#: FIT date_time values below 0x10000000 s (after the FIT epoch 1989-12-31) are device-relative
#: (seconds since power-on), not UTC: FIT profile, type date_time, "min".
FIT_EPOCH_S = 631065600
RELATIVE_TIME_LIMIT_S = FIT_EPOCH_S + 0x10000000


class NotAnActivity(Exception):
    """A valid FIT file of another type (settings, monitoring, workout, ...): skipped, not failed."""

    def __init__(self, file_type: str | None) -> None:
        self.file_type = file_type
        super().__init__(f"not an activity file ({file_type or 'no file_id'})")


class NoActivityData(ValueError):
    """An activity file with nothing we can store (no sessions and no records)."""


@dataclass(frozen=True)
class _Window:
    start_s: float
    end_s: float


def activity_id(sha256: str, session_index: int) -> str:
    """docs/design.md section 3: first 16 hex of the content hash + '-' + the session's index."""
    return f"{sha256[:16]}-{session_index}"


def _utc(epoch_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC)


def _opt(v: float) -> float | None:
    return None if v is None or np.isnan(v) else float(v)


def _name(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float):
        return None if np.isnan(v) else str(int(v))
    return str(v)


def _windows(sessions: MessageColumns, record_t: np.ndarray) -> list[_Window]:
    start = sessions.numeric("start_time")
    end_ts = sessions.numeric("timestamp")
    elapsed = sessions.numeric("total_elapsed_time")
    out = []
    for i in range(sessions.n):
        s = start[i]
        if np.isnan(s):
            s = end_ts[i] - elapsed[i] if not np.isnan(end_ts[i] - elapsed[i]) else np.nan
        if np.isnan(s):
            s = float(record_t[0]) if len(record_t) else 0.0
        e = s + elapsed[i] if not np.isnan(elapsed[i]) else end_ts[i]
        if np.isnan(e):
            e = s
        out.append(_Window(float(s), float(e)))
    return out


def assign_to_windows(t_s: np.ndarray, windows: list[_Window]) -> np.ndarray:
    """Index of the window each time belongs to (rule in the module docstring)."""
    owner: npt.NDArray[np.int32] | npt.NDArray[np.int64] = (
        np.full(len(t_s), -1, dtype=np.int32) if len(windows) < 2**31 else np.full(len(t_s), -1, dtype=np.int64)
    )
    for i in reversed(range(len(windows))):  # reversed: the first containing window wins
        w = windows[i]
        owner[(t_s >= w.start_s) & (t_s <= w.end_s)] = i
    missing = owner < 0
    if missing.any() and windows:
        starts = np.array([w.start_s for w in windows])
        order = np.argsort(starts, kind="stable")
        pos = np.searchsorted(starts[order], t_s[missing], side="right") - 1
        owner[missing] = order[np.clip(pos, 0, len(windows) - 1)]
    return owner


def _steps_per_min(rec: MessageColumns, foot: np.ndarray) -> np.ndarray:
    frac = rec.numeric("fractional_cadence")
    steps = 2.0 * (rec.numeric("cadence") + np.where(np.isnan(frac), 0.0, frac))
    steps[~foot] = np.nan
    return steps


def _cadence_rpm(rec: MessageColumns, foot: np.ndarray) -> np.ndarray:
    cadence = rec.numeric("cadence")
    cadence[foot] = np.nan
    return cadence


#: Canonical record field -> its column from the decoded ``record`` messages (``foot``: the rows
#: of foot sports). One at a time, so only one field's temporaries are alive at once.
_RECORD_COLUMNS: dict[str, Callable[[MessageColumns, np.ndarray], np.ndarray]] = {
    "heart_rate_bpm": lambda r, f: r.numeric("heart_rate"),
    "speed_mps": lambda r, f: r.numeric("enhanced_speed", "speed"),
    "distance_m": lambda r, f: r.numeric("distance"),
    "altitude_m": lambda r, f: r.numeric("enhanced_altitude", "altitude"),
    "cadence_spm": _steps_per_min,
    "cadence_rpm": _cadence_rpm,
    # native power first, else a developer field named "Power" (Stryd and others)
    "power_w": lambda r, f: r.numeric("power", "Power"),
    "lat_deg": lambda r, f: r.numeric("position_lat") * SEMICIRCLE_TO_DEG,
    "lon_deg": lambda r, f: r.numeric("position_long") * SEMICIRCLE_TO_DEG,
    "temperature_c": lambda r, f: r.numeric("temperature"),
    "vertical_oscillation_m": lambda r, f: r.numeric("vertical_oscillation") / 1000.0,
    "stance_time_s": lambda r, f: r.numeric("stance_time") / 1000.0,
    "step_length_m": lambda r, f: r.numeric("step_length") / 1000.0,
    "vertical_ratio_pct": lambda r, f: r.numeric("vertical_ratio"),
}


#: The decoded record columns each canonical field reads (to release them once read).
_COLUMNS_READ: dict[str, tuple[str, ...]] = {
    "heart_rate_bpm": ("heart_rate",),
    "speed_mps": ("enhanced_speed", "speed"),
    "distance_m": ("distance",),
    "altitude_m": ("enhanced_altitude", "altitude"),
    "cadence_spm": ("cadence", "fractional_cadence"),
    "cadence_rpm": ("cadence",),
    "power_w": ("power", "Power"),
    "lat_deg": ("position_lat",),
    "lon_deg": ("position_long",),
    "temperature_c": ("temperature",),
    "vertical_oscillation_m": ("vertical_oscillation",),
    "stance_time_s": ("stance_time",),
    "step_length_m": ("step_length",),
    "vertical_ratio_pct": ("vertical_ratio",),
}


def _record_arrays(
    rec: MessageColumns,
    t_s: np.ndarray,
    owner: np.ndarray,
    keep: np.ndarray,
    sports: list[str],
    aids: list[str],
    consume: bool,
) -> list[RunRecords]:
    """Each activity's records: the kept rows it owns, in time order (a clock that stepped back, as
    in 2 files of the corpus, is sorted; file order otherwise). ``consume``: drop each decoded
    column from ``rec`` once no field left reads it (the canonical columns replace the decoded
    ones instead of adding to them)."""
    n_act = len(sports)
    foot = np.isin(owner, [i for i, s in enumerate(sports) if s in FOOT_SPORTS])
    everything = n_act == 1 and bool(keep.all())  # the common case: no selection, no copy
    sels: list[np.ndarray | None] = (
        [None] * n_act if everything else [np.flatnonzero((owner == i) & keep) for i in range(n_act)]
    )
    t_ns_of: list[np.ndarray] = []
    for i, sel in enumerate(sels):
        t_ns = np.round((t_s if sel is None else t_s[sel]) * 1e9).astype(np.int64)
        if t_ns.size > 1 and np.any(np.diff(t_ns) < 0):
            order = np.argsort(t_ns, kind="stable")
            sels[i] = order if sel is None else sel[order]
            t_ns = t_ns[order]
        t_ns_of.append(t_ns)
    values: list[dict[str, np.ndarray]] = [{} for _ in range(n_act)]
    names = list(_RECORD_COLUMNS)
    for j, name in enumerate(names):
        v = _RECORD_COLUMNS[name](rec, foot)
        for i, sel in enumerate(sels):
            values[i][name] = v if sel is None else v[sel]
        del v
        if consume:
            later = {c for k in names[j + 1 :] for c in _COLUMNS_READ[k]}
            for c in _COLUMNS_READ[name]:
                if c not in later:
                    rec.columns.pop(c, None)
    return [RunRecords.from_arrays(aids[i], t_ns_of[i], sport=sports[i], **values[i]) for i in range(n_act)]


# ------------------------------------------------------------------------------------------
# Records without a timestamp of their own

#: Message types whose ``timestamp`` dates the records written after them.
_DATED_TYPES = ("record", "lap", "length", "set", "session", "activity")


@dataclass(frozen=True)
class RecordDating:
    """Times of the ``record`` messages, with those that had none derived where the file allows."""

    t_s: np.ndarray  # float64 UTC epoch seconds, NaN where nothing dates the record
    derived: int  # records without a timestamp, dated from the messages before them
    undated: int  # records without a timestamp that nothing in the file dates

    def note(self) -> str | None:
        """What happened to records without a timestamp, for the file's reason or error."""
        parts = []
        if self.derived:
            parts.append(f"{self.derived} record(s) without a timestamp dated from the messages written before them")
        if self.undated:
            parts.append(f"{self.undated} record(s) without a timestamp that nothing in the file dates: not stored")
        return "; ".join(parts) or None


def date_records(fit: DecodedFit) -> RecordDating:
    """Every record's time (module docstring): its own ``timestamp``, else the last dated message
    written before it, else the earliest session or lap ``start_time``; NaN when none exists."""
    rec = fit.get("record")
    t = rec.numeric("timestamp")
    missing = np.isnan(t)
    if not missing.any():
        return RecordDating(t, 0, 0)
    t = t.copy()
    rows = np.flatnonzero(missing)
    if rec.positions is not None:
        pos_l, time_l = [], []
        for name in _DATED_TYPES:
            m = fit.get(name)
            if m.n == 0 or m.positions is None:
                continue
            ts = m.numeric("timestamp")
            ok = ~np.isnan(ts)
            pos_l.append(m.positions[ok])
            time_l.append(ts[ok])
        if pos_l:
            pos_a = np.concatenate(pos_l)
            order = np.argsort(pos_a, kind="stable")
            pos_a, time_a = pos_a[order], np.concatenate(time_l)[order]
            prev = np.searchsorted(pos_a, rec.positions[rows], side="left") - 1
            has = prev >= 0
            t[rows[has]] = time_a[prev[has]]
    still = np.isnan(t)
    if still.any():  # before every dated message: the activity's start
        starts = [fit.get(n).numeric("start_time") for n in ("session", "lap")]
        first = np.concatenate(starts) if starts else np.zeros(0)
        first = first[~np.isnan(first)]
        if first.size:
            t[still] = first.min()
    undated = int(np.isnan(t).sum())
    return RecordDating(t, len(rows) - undated, undated)


def _device(fit: DecodedFit) -> str | None:
    fid = fit.get("file_id")
    if fid.n == 0:
        return None
    man = _name(fid.objects("manufacturer")[0])
    prod = None
    for key in ("garmin_product", "product_name", "product"):
        v = fid.objects(key)[0]
        if v is not None:
            prod = _name(v)
            break
    if man is None and prod is None:
        return None
    return f"{man or '?'}/{prod or '?'}"


#: ANT+ device type number of a heart-rate monitor (FIT profile, type antplus_device_type)
ANTPLUS_HEART_RATE = 120


def hr_sensor(fit: DecodedFit, has_hr: bool) -> str | None:
    """The heart-rate source the FIT ``device_info`` messages reveal.

    ``"strap:<manufacturer>/<product>:SN<serial>"`` for the first external heart-rate device
    (``antplus_device_type`` or ``ble_device_type`` ``heart_rate``, or the numeric ANT+ device type
    120 of older files), else ``"built-in"`` when the records have heart rate (the watch's own,
    usually optical, sensor), else None. A change between runs is a measurement change that the
    economy model adjusts for (HR straps and optical sensors read a few bpm apart).
    """
    di = fit.get("device_info")
    if di.n:
        kinds = [di.objects(k) for k in ("antplus_device_type", "ble_device_type", "device_type")]
        man = di.objects("manufacturer")
        prod = [
            g if g is not None else p for g, p in zip(di.objects("garmin_product"), di.objects("product"), strict=True)
        ]
        serial = di.objects("serial_number")
        for i in range(di.n):
            vals = [k[i] for k in kinds]
            if "heart_rate" in vals or any(isinstance(v, float) and v == ANTPLUS_HEART_RATE for v in vals):
                sn = serial[i]
                sn_txt = str(int(sn)) if isinstance(sn, float) else (str(sn) if sn is not None else "?")
                return f"strap:{_name(man[i]) or '?'}/{_name(prod[i]) or '?'}:SN{sn_txt}"
    return "built-in" if has_hr else None


def _utc_offset_s(fit: DecodedFit) -> int | None:
    act = fit.get("activity")
    if act.n == 0:
        return None
    local = act.numeric("local_timestamp")[0]
    utc = act.numeric("timestamp")[0]
    if np.isnan(local) or np.isnan(utc):
        return None
    return round(float(local - utc) / 60.0) * 60


def build_activities(
    fit: DecodedFit, sha256: str, *, consume: bool = False, dating: RecordDating | None = None
) -> list[ActivityData]:
    """Canonical activities of one decoded FIT file.

    ``consume``: the caller is done with ``fit``'s record columns, which are released as the
    canonical ones are built (about half the peak memory of a large file); ``fit`` is then no
    longer complete. ``dating``: :func:`date_records` of ``fit``, if the caller has it already.

    Raises
    ------
    NotAnActivity
        for a valid FIT file whose ``file_id.type`` is not ``activity``.
    NoActivityData
        for an activity file with no session and no record.
    """
    ftype = fit.file_type
    if ftype != "activity":
        if ftype is None and fit.get("record").n > 0:
            pass  # no file_id (damaged start) but records: still an activity
        else:
            raise NotAnActivity(ftype)
    sessions = fit.get("session")
    rec = fit.get("record")
    dating = dating if dating is not None else date_records(fit)
    t_rec = dating.t_s
    if consume:  # dated: the decoded timestamps and positions are no longer needed
        rec.columns.pop("timestamp", None)
        rec.positions = None
    keep = ~np.isnan(t_rec)
    if sessions.n == 0 and not keep.any():
        if rec.n:
            raise NoActivityData(
                f"activity file holds {rec.n} record(s) but none has a timestamp, and nothing in the file dates "
                "them (no session, lap, length or other dated message): nothing stored"
            )
        raise NoActivityData("activity file holds no session and no record")

    if sessions.n:
        windows = _windows(sessions, t_rec[keep])
        sports = [_name(v) or "generic" for v in sessions.objects("sport")]
        subs = [_name(v) for v in sessions.objects("sub_sport")]
    else:
        t_ok = t_rec[keep]
        windows = [_Window(float(t_ok.min()), float(t_ok.max()))]
        sport_msg = fit.get("sport")
        sports = [(_name(sport_msg.objects("sport")[0]) if sport_msg.n else None) or "generic"]
        subs = [_name(sport_msg.objects("sub_sport")[0]) if sport_msg.n else None]

    owner = assign_to_windows(t_rec, windows)
    aids = [activity_id(sha256, i) for i in range(len(windows))]
    record_arrays = _record_arrays(rec, t_rec, owner, keep, sports, aids, consume)

    lap_owner, laps = _laps(fit.get("lap"), windows)
    set_owner, sets_msgs = _set_owner(fit.get("set"), windows)
    sport_names = fit.get("sport").objects("name") if fit.get("sport").n else []
    device = _device(fit)
    utc_offset = _utc_offset_s(fit)
    hr_src = hr_sensor(fit, any(bool(np.isfinite(a.heart_rate_bpm).any()) for a in record_arrays))
    elapsed = sessions.numeric("total_elapsed_time") if sessions.n else None
    dist = sessions.numeric("total_distance") if sessions.n else None
    ascent = sessions.numeric("total_ascent") if sessions.n else None

    out: list[ActivityData] = []
    for i, w in enumerate(windows):
        aid = activity_id(sha256, i)
        arrays = record_arrays[i]
        t_ns = arrays.t_ns
        duration = _opt(elapsed[i]) if elapsed is not None else None
        if duration is None and len(t_ns):
            duration = (t_ns[-1] - t_ns[0]) / 1e9
        distance = _opt(dist[i]) if dist is not None else None
        if distance is None:
            d = arrays.distance_m
            distance = float(np.nanmax(d)) if np.isfinite(d).any() else None
        name = sport_names[i] if i < len(sport_names) else (sport_names[0] if len(sport_names) == 1 else None)
        out.append(
            ActivityData(
                activity_id=aid,
                session_index=i,
                sport=sports[i],
                sub_sport=subs[i],
                started_at=_utc(w.start_s),
                duration_s=duration,
                distance_m=distance,
                records=arrays,
                laps=[lap for lap, o in zip(laps, lap_owner, strict=True) if o == i],
                sets=_sets(sets_msgs, set_owner, i, aid),
                total_ascent_m=_opt(ascent[i]) if ascent is not None else None,
                utc_offset_s=utc_offset,
                device=device,
                hr_sensor=hr_src if np.isfinite(arrays.heart_rate_bpm).any() else None,
                name=_name(name),
                time_reference="device_relative" if w.start_s < RELATIVE_TIME_LIMIT_S else "utc",
            )
        )
    return out


def _laps(lap: MessageColumns, windows: list[_Window]) -> tuple[np.ndarray, list[LapRow]]:
    if lap.n == 0:
        return np.zeros(0, dtype=np.int64), []
    start = lap.numeric("start_time")
    start = np.where(np.isnan(start), lap.numeric("timestamp"), start)
    owner = assign_to_windows(np.nan_to_num(start, nan=windows[0].start_s), windows)
    elapsed = lap.numeric("total_elapsed_time")
    dist = lap.numeric("total_distance")
    hr = lap.numeric("avg_heart_rate")
    spd = lap.numeric("enhanced_avg_speed", "avg_speed")
    pwr = lap.numeric("avg_power")
    asc = lap.numeric("total_ascent")
    rows: list[LapRow] = []
    counters: dict[int, int] = {}
    for j in range(lap.n):
        o = int(owner[j])
        idx = counters.get(o, 0)
        counters[o] = idx + 1
        rows.append(
            LapRow(
                lap_index=idx,
                started_at=None if np.isnan(start[j]) else _utc(start[j]),
                duration_s=_opt(elapsed[j]),
                distance_m=_opt(dist[j]),
                avg_heart_rate_bpm=_opt(hr[j]),
                avg_speed_mps=_opt(spd[j]),
                avg_power_w=_opt(pwr[j]),
                total_ascent_m=_opt(asc[j]),
            )
        )
    return owner, rows


def _set_owner(msg: MessageColumns, windows: list[_Window]) -> tuple[np.ndarray, MessageColumns]:
    if msg.n == 0:
        return np.zeros(0, dtype=np.int64), msg
    start = msg.numeric("start_time")
    start = np.where(np.isnan(start), msg.numeric("timestamp"), start)
    return assign_to_windows(np.nan_to_num(start, nan=windows[0].start_s), windows), msg


def _set_key(index: int, used: set[str]) -> str:
    """A set's key within its activity: its FIT message_index (else its position among the set
    messages). Devices and damaged files repeat indices; a repeat keeps its set, as ``<index>~<n>``
    for its n-th repeat, so that keys stay unique and stable across re-imports of the same file."""
    key = str(index)
    n = 1
    while key in used:
        key = f"{index}~{n}"
        n += 1
    used.add(key)
    return key


def _sets(msg: MessageColumns, owner: np.ndarray, session: int, aid: str) -> list[SetRow]:
    if msg.n == 0:
        return []
    start = msg.numeric("start_time")
    start = np.where(np.isnan(start), msg.numeric("timestamp"), start)
    reps = msg.numeric("repetitions")
    weight = msg.numeric("weight")
    duration = msg.numeric("duration")
    mindex = msg.numeric("message_index")
    set_types = msg.objects("set_type")
    cats = msg.objects("category")
    subs = msg.objects("category_subtype")
    rows: list[SetRow] = []
    used: set[str] = set()
    for j in np.flatnonzero(owner == session):
        cands = exercises.candidates(cats[j], subs[j])
        key = _set_key(int(mindex[j]) if not np.isnan(mindex[j]) else int(j), used)
        st = _name(set_types[j]) or "active"
        rows.append(
            SetRow(
                set_id=f"{aid}:{key}",
                set_index=len(rows),
                started_at=None if np.isnan(start[j]) else _utc(start[j]),
                exercise=cands[0][2] if cands else None,
                exercise_candidates=[c[2] for c in cands],
                fit_category=cands[0][0] if cands else None,
                fit_category_subtype=cands[0][1] if cands else None,
                set_type=st,
                reps=None if np.isnan(reps[j]) else int(reps[j]),
                load_kg=_opt(weight[j]),
                duration_s=_opt(duration[j]),
                source="fit",
                activity_id=aid,
            )
        )
    return rows
