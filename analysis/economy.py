"""Running-economy *proxies* per run, from watch data (HR, speed, altitude, power).

Running economy is the oxygen (or energy) cost of running a given distance; a
watch cannot measure it. Everything here is a **proxy** computed over the
steady parts of a run and must be named as such wherever it is shown:

* efficiency factor proxy ``ef_proxy`` = grade-adjusted speed (m/min) / HR (bpm)
  (Allen & Coggan, *Training and Racing with a Power Meter*: EF = normalised
  pace or power / average HR);
* HR at a reference speed, from a per-run linear regression of HR on
  grade-adjusted speed over steady segments;
* speed per W/kg (Stryd's "running effectiveness" = speed / (power / body
  mass)); Stryd power did not capture laboratory running economy (R^2 0.08,
  Sensors 2023, 23(21):8729), so it is a proxy too;
* aerobic decoupling (Pa:HR, first vs second half; Allen & Coggan) as a quality
  flag: large decoupling means the run was not physiologically steady.

Because HR is not proportional to oxygen uptake (the HR-VO2 line has an
intercept), a percentage change in an HR-based proxy is **not** a percentage
change in running economy. Temperature (HR rises in the heat: cycling at ~59 % VO2max, HR rose
11 % between minutes 15 and 45 at 35 C against 2 % at 22 C; Lafrenz, Wingo, Ganio & Cureton
2008, Med Sci Sports Exerc 40:1065) and time of day are kept as covariates on every run.

Grade adjustment uses the Minetti et al. (2002) cost-of-running polynomial
(J Appl Physiol 93:1039), see :mod:`analysis.grade`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from analysis.grade import grade_adjusted_speed, smoothed_grade
from records.runs import RunRecords
from records.times import zone_info

__all__ = [
    "DECOUPLING_FLAG_PCT",
    "RunEconomy",
    "SteadySelection",
    "hr_at_speed",
    "resample_1hz",
    "run_economy",
    "steady_segments",
    "zone_info",
]

#: Pa:HR decoupling above this (%) flags the run as not aerobically steady (Allen & Coggan's 5 % rule of thumb).
DECOUPLING_FLAG_PCT = 5.0


# --------------------------------------------------------------------------------------------
# Resampling onto a 1 s grid
# --------------------------------------------------------------------------------------------


def resample_1hz(t_ns: np.ndarray, *arrays: np.ndarray, max_fill_gap_s: float = 3.0) -> tuple[np.ndarray, ...]:
    """Place samples on a 1 s grid from the first sample; fill short gaps, mark pauses.

    Each sample is assigned to the second ``round((t - t0) / 1 s)``. A sample
    holds its value until the next one when the gap is at most
    ``max_fill_gap_s`` (watch "smart recording", dropped packets); longer
    gaps are pauses and their seconds stay absent (``present`` False, NaN).

    Returns
    -------
    tuple
        ``(present, *resampled)``: a boolean array over the grid and one
        float64 array per input array.
    """
    t = np.asarray(t_ns, dtype=np.int64)
    if t.size == 0:
        return (np.zeros(0, bool), *(np.zeros(0) for _ in arrays))
    sec = np.round((t - t[0]) / 1e9).astype(np.int64)
    n_grid = int(sec[-1]) + 1
    gaps = np.diff(sec)
    count = np.ones(t.size, dtype=np.int64)
    fill = (gaps >= 1) & (gaps <= max_fill_gap_s)
    count[:-1] = np.where(fill, gaps, np.minimum(gaps, 1))  # duplicates (gap 0) cover nothing
    idx = np.repeat(np.arange(t.size), count)
    pos = np.repeat(sec, count) + (np.arange(idx.size) - np.repeat(np.cumsum(count) - count, count))
    present = np.zeros(n_grid, dtype=bool)
    present[pos] = True
    out = []
    for a in arrays:
        g = np.full(n_grid, np.nan)
        g[pos] = np.asarray(a, dtype=np.float64)[idx]
        out.append(g)
    return (present, *out)


# --------------------------------------------------------------------------------------------
# Steady segments
# --------------------------------------------------------------------------------------------


@dataclass
class SteadySelection:
    """The steady seconds of a run on its 1 s grid (see :func:`steady_segments`).

    Attributes
    ----------
    steady : numpy.ndarray
        bool per grid second: inside at least one qualifying window.
    present : numpy.ndarray
        bool per grid second: recorded (not a pause).
    speed_mps, gap_mps, grade, heart_rate_bpm : numpy.ndarray
        1 s grid values (NaN where absent).
    steady_minutes : float
        ``steady.sum() / 60``.
    """

    steady: np.ndarray
    present: np.ndarray
    speed_mps: np.ndarray
    gap_mps: np.ndarray
    grade: np.ndarray
    heart_rate_bpm: np.ndarray
    steady_minutes: float


def _window_sum(x: np.ndarray, w: int) -> np.ndarray:
    c = np.concatenate(([0.0], np.cumsum(x)))
    return c[w:] - c[:-w]


def steady_segments(
    t_ns: np.ndarray,
    speed_mps: np.ndarray,
    heart_rate_bpm: np.ndarray,
    grade: np.ndarray,
    *,
    warmup_s: float = 600.0,
    window_s: int = 60,
    max_speed_cv: float = 0.05,
    max_abs_grade: float = 0.02,
    grade_adjusted: bool = False,
    min_speed_mps: float = 1.5,
    max_fill_gap_s: float = 3.0,
) -> SteadySelection:
    """Select steady running: after warm-up, rolling windows of constant pace on the flat, no pauses.

    A window of ``window_s`` consecutive grid seconds qualifies when

    * it starts at least ``warmup_s`` after the first sample (warm-up dropped);
    * every second is recorded (no pause longer than ``max_fill_gap_s``) and
      has HR, speed and grade values, with speed >= ``min_speed_mps``;
    * the coefficient of variation (SD / mean) of speed in the window is below
      ``max_speed_cv`` (5 %);
    * the mean grade is within +-``max_abs_grade`` (2 %). With
      ``grade_adjusted=True`` the CV test is applied to grade-adjusted speed
      (Minetti 2002) and ``max_abs_grade`` is the bound on hills allowed
      (pass e.g. 0.08).

    A second is steady when it lies in at least one qualifying window (the
    union of windows). Unknown grade (no altitude) should be passed as 0 by
    the caller if flat running is to be assumed.

    Parameters
    ----------
    t_ns : numpy.ndarray
        int64 UTC epoch ns.
    speed_mps, heart_rate_bpm, grade : numpy.ndarray
        Per sample, NaN where absent.

    Returns
    -------
    SteadySelection
    """
    if window_s < 2:
        raise ValueError("window_s must be >= 2 s")
    if not (0 < max_speed_cv < 1):
        raise ValueError("max_speed_cv must be in (0, 1)")
    present, v, hr, g = resample_1hz(t_ns, speed_mps, heart_rate_bpm, grade, max_fill_gap_s=max_fill_gap_s)
    gap = np.asarray(grade_adjusted_speed(v, np.where(np.isfinite(g), g, 0.0)))
    n = present.size
    steady = np.zeros(n, dtype=bool)
    if n >= window_s:
        x = gap if grade_adjusted else v
        ok = present & np.isfinite(v) & np.isfinite(hr) & np.isfinite(g) & (v >= min_speed_mps)
        xs = np.where(ok, x, 0.0)
        n_ok = _window_sum(ok.astype(np.float64), window_s)
        s1 = _window_sum(xs, window_s)
        s2 = _window_sum(xs * xs, window_s)
        gs = _window_sum(np.where(ok, g, 0.0), window_s)
        full = n_ok >= window_s - 0.5
        mean = np.where(full, s1 / window_s, np.nan)
        var = np.where(full, np.maximum(s2 / window_s - mean * mean, 0.0) * window_s / (window_s - 1), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            cv = np.sqrt(var) / mean
            qualifies = full & (cv < max_speed_cv) & (np.abs(gs / window_s) <= max_abs_grade)
        starts = np.arange(qualifies.size)
        qualifies &= starts >= warmup_s
        d = np.zeros(n + 1)
        q = np.flatnonzero(qualifies)
        np.add.at(d, q, 1.0)
        np.add.at(d, q + window_s, -1.0)
        steady = np.cumsum(d[:-1]) > 0.5
    return SteadySelection(
        steady=steady,
        present=present,
        speed_mps=v,
        gap_mps=gap,
        grade=g,
        heart_rate_bpm=hr,
        steady_minutes=float(steady.sum()) / 60.0,
    )


# --------------------------------------------------------------------------------------------
# Per-run result
# --------------------------------------------------------------------------------------------


@dataclass
class RunEconomy:
    """Running-economy proxies of one run (all *proxies*, never running economy itself).

    Attributes
    ----------
    activity_id : str
    status : str
        ``'ok'`` or ``'insufficient'`` (then ``reason`` says why; the run is
        kept in every summary's excluded list, never silently dropped).
    reason : str or None
    started_at_ns : int or None
        UTC epoch ns of the first sample.
    local_date : str or None
        ISO date of the start in the athlete's time zone.
    local_hour : float or None
        Start time of day (hours, athlete's zone): a covariate.
    duration_s, distance_m : float or None
        Elapsed time and distance covered.
    steady_minutes : float
        Minutes of steady running selected (:func:`steady_segments`).
    ef_proxy : float or None
        Efficiency factor proxy, (m/min GAP) / bpm over steady seconds.
    mean_steady_gap_mps, mean_steady_hr_bpm : float or None
    hr_at_reference_speed_bpm : float or None
        Regression HR at ``reference_speed_mps`` (None if not requested, or
        if the run's steady speeds span too little or the reference is too
        far outside them: see ``notes``).
    reference_speed_mps : float or None
    hr_vs_gap_intercept_bpm, hr_vs_gap_slope_bpm_per_mps : float or None
        The per-run regression HR = a + b * GAP over 60 s steady chunks, so
        HR at another reference speed can be evaluated later with
        :func:`hr_at_speed`.
    hr_vs_gap_min_mps, hr_vs_gap_max_mps : float or None
        Range of chunk-mean GAP the regression saw.
    hr_vs_gap_n_chunks : int
    speed_per_w_per_kg : float or None
        Stryd "running effectiveness" proxy, (m/s) / (W/kg), needs power and body mass.
    decoupling_pct : float or None
        Pa:HR decoupling: 100 * (EF first half - EF second half) / EF first half
        over the steady seconds in time order.
    decoupled : bool or None
        ``decoupling_pct > DECOUPLING_FLAG_PCT`` (quality flag).
    mean_temperature_c : float or None
        Mean device temperature over the run (a covariate; wrist devices
        read warmer than air).
    trimp : float or None
        Banister TRIMP if an HR profile was supplied.
    notes : list of str
        Non-fatal caveats (no altitude, no power, ...).
    """

    activity_id: str
    status: str
    reason: str | None
    started_at_ns: int | None
    local_date: str | None = None
    local_hour: float | None = None
    duration_s: float | None = None
    distance_m: float | None = None
    steady_minutes: float = 0.0
    ef_proxy: float | None = None
    mean_steady_gap_mps: float | None = None
    mean_steady_hr_bpm: float | None = None
    hr_at_reference_speed_bpm: float | None = None
    reference_speed_mps: float | None = None
    hr_vs_gap_intercept_bpm: float | None = None
    hr_vs_gap_slope_bpm_per_mps: float | None = None
    hr_vs_gap_min_mps: float | None = None
    hr_vs_gap_max_mps: float | None = None
    hr_vs_gap_n_chunks: int = 0
    speed_per_w_per_kg: float | None = None
    decoupling_pct: float | None = None
    decoupled: bool | None = None
    mean_temperature_c: float | None = None
    trimp: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ef(self) -> float | None:
        """Alias of ``ef_proxy`` (the interface name)."""
        return self.ef_proxy

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (floats or None, lists of str)."""
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d


def hr_at_speed(
    econ: RunEconomy,
    speed_mps: float,
    *,
    min_span_mps: float = 0.25,
    max_extrapolation_mps: float = 0.25,
) -> float | None:
    """HR (bpm) predicted at ``speed_mps`` from a run's HR-vs-GAP regression, or None.

    None when the run has no regression, when its steady chunk speeds span
    less than ``min_span_mps`` (slope not determined), or when ``speed_mps``
    lies more than ``max_extrapolation_mps`` outside the speeds it saw.
    """
    if speed_mps is None or not np.isfinite(speed_mps) or speed_mps <= 0:
        raise ValueError("speed_mps must be a positive number")
    slope, intercept = econ.hr_vs_gap_slope_bpm_per_mps, econ.hr_vs_gap_intercept_bpm
    lo, hi = econ.hr_vs_gap_min_mps, econ.hr_vs_gap_max_mps
    if slope is None or intercept is None or lo is None or hi is None:
        return None
    if hi - lo < min_span_mps:
        return None
    if speed_mps < lo - max_extrapolation_mps or speed_mps > hi + max_extrapolation_mps:
        return None
    return float(intercept + slope * speed_mps)


def _local(started_at_ns: int, tz: ZoneInfo) -> tuple[str, float]:
    dt = _dt.datetime.fromtimestamp(started_at_ns / 1e9, tz=_dt.UTC).astimezone(tz)
    return dt.date().isoformat(), dt.hour + dt.minute / 60.0 + dt.second / 3600.0


def run_economy(
    run: RunRecords,
    *,
    body_mass_kg: float | None = None,
    reference_speed_mps: float | None = None,
    tz: str = "UTC",
    hr_rest_bpm: float | None = None,
    hr_max_bpm: float | None = None,
    sex: str | None = None,
    min_steady_minutes: float = 20.0,
    warmup_s: float = 600.0,
    window_s: int = 60,
    grade_adjusted: bool = False,
) -> RunEconomy:
    """Running-economy proxies of one run over its steady segments.

    Steps: speed (from ``speed_mps``, else the derivative of distance) ->
    grade smoothed over 60 m of course (:func:`analysis.grade.smoothed_grade`)
    -> grade-adjusted speed GAP = v * C(i) / C(0) with the Minetti et al.
    (2002) polynomial -> steady seconds (:func:`steady_segments`: first 10 min
    dropped, 60 s rolling windows with speed CV < 5 %, |grade| <= 2 %, no
    pauses) -> if at least ``min_steady_minutes`` (20) qualify, the proxies:

    * ``ef_proxy`` = 60 * mean(GAP) / mean(HR), (m/min)/bpm (Allen & Coggan EF);
    * HR-vs-GAP OLS over consecutive 60 s chunks of steady seconds and
      ``hr_at_reference_speed_bpm`` (see :func:`hr_at_speed`);
    * ``speed_per_w_per_kg`` = mean(speed) / (mean(power) / body mass)
      (Stryd running effectiveness) when power covers >= 90 % of the steady
      seconds and ``body_mass_kg`` is given;
    * ``decoupling_pct`` = 100 * (EF1 - EF2) / EF1 over the first and second
      halves of the steady seconds (Allen & Coggan Pa:HR), flagged above 5 %.

    Covariates on every run: mean temperature and local start hour/date in
    ``tz`` (heat raises HR at a given pace: Lafrenz et al. 2008). Runs without HR,
    without speed/distance, or with too little steady running get
    ``status='insufficient'`` and a ``reason``; they are returned, never dropped.

    Parameters
    ----------
    run : RunRecords
    body_mass_kg : float, optional
        For the speed-per-W/kg proxy.
    reference_speed_mps : float, optional
        Speed at which to read HR off the per-run regression.
    tz : str
        IANA zone of the athlete (for local date/hour).
    hr_rest_bpm, hr_max_bpm, sex : optional
        When all given, ``trimp`` is computed (:func:`analysis.training_load.banister_trimp`).
    min_steady_minutes, warmup_s, window_s, grade_adjusted
        Selection parameters (defaults are the issue's).

    Returns
    -------
    RunEconomy
    """
    if not isinstance(run, RunRecords):
        raise ValueError("run must be a RunRecords")
    zi = zone_info(tz)
    if body_mass_kg is not None and not (np.isfinite(body_mass_kg) and 20 <= body_mass_kg <= 250):
        raise ValueError("body_mass_kg must be between 20 and 250 kg")
    if reference_speed_mps is not None and not (np.isfinite(reference_speed_mps) and reference_speed_mps > 0):
        raise ValueError("reference_speed_mps must be a positive number")
    res = RunEconomy(activity_id=run.activity_id, status="insufficient", reason=None, started_at_ns=run.started_at_ns)
    res.reference_speed_mps = reference_speed_mps
    if run.n_samples < 2:
        res.reason = "no samples" if run.n_samples == 0 else "a single sample"
        return res
    if run.started_at_ns is None:
        raise ValueError(f"run {run.activity_id!r} has samples but no start time (started_at_ns is None)")
    res.local_date, res.local_hour = _local(run.started_at_ns, zi)
    t = run.t_ns
    res.duration_s = float((t[-1] - t[0]) / 1e9)
    dist = run.distance_m
    if np.isfinite(dist).any():
        res.distance_m = float(np.nanmax(dist) - np.nanmin(dist))
    if np.isfinite(run.temperature_c).any():
        res.mean_temperature_c = float(np.nanmean(run.temperature_c))
    hr = run.heart_rate_bpm
    hr = np.where((hr > 25) & (hr < 250), hr, np.nan)
    has_hr = bool(np.isfinite(hr).any())
    if has_hr and hr_rest_bpm is not None and hr_max_bpm is not None and sex is not None:
        from analysis.training_load import banister_trimp

        res.trimp = banister_trimp(t, hr, hr_rest_bpm=hr_rest_bpm, hr_max_bpm=hr_max_bpm, sex=sex)
    if not has_hr:
        res.reason = "no heart-rate data"
        return res
    speed = run.speed_mps
    if np.isfinite(speed).sum() < 0.5 * t.size:
        if np.isfinite(dist).sum() >= 0.5 * t.size:
            ok = np.isfinite(dist)
            ts = (t[ok] - t[0]) / 1e9
            speed = np.full(t.size, np.nan)
            if ok.sum() >= 3:
                speed[ok] = np.gradient(dist[ok], ts) if np.all(np.diff(ts) > 0) else np.nan
            res.notes.append("speed derived from distance")
        else:
            res.reason = "no speed or distance data"
            return res
    if np.isfinite(run.altitude_m).sum() >= 0.5 * t.size and np.isfinite(dist).sum() >= 0.5 * t.size:
        grade = smoothed_grade(dist, run.altitude_m)
        if not np.isfinite(grade).any():
            grade = np.zeros(t.size)
            res.notes.append("course too short for grade: flat assumed")
    else:
        grade = np.zeros(t.size)
        res.notes.append("no altitude/distance: flat assumed (grade 0)")
    sel = steady_segments(
        t,
        speed,
        hr,
        grade,
        warmup_s=warmup_s,
        window_s=window_s,
        grade_adjusted=grade_adjusted,
        max_abs_grade=0.08 if grade_adjusted else 0.02,
    )
    res.steady_minutes = round(sel.steady_minutes, 3)
    if sel.steady_minutes < min_steady_minutes:
        res.reason = (
            f"too little steady running: {sel.steady_minutes:.1f} min qualifying after the "
            f"{warmup_s / 60:.0f} min warm-up (need >= {min_steady_minutes:.0f} min)"
        )
        return res
    s = sel.steady
    gap = sel.gap_mps[s]
    hrs = sel.heart_rate_bpm[s]
    res.mean_steady_gap_mps = float(gap.mean())
    res.mean_steady_hr_bpm = float(hrs.mean())
    res.ef_proxy = float(60.0 * gap.mean() / hrs.mean())
    half = gap.size // 2
    ef1 = 60.0 * gap[:half].mean() / hrs[:half].mean()
    ef2 = 60.0 * gap[half:].mean() / hrs[half:].mean()
    res.decoupling_pct = float(100.0 * (ef1 - ef2) / ef1)
    res.decoupled = bool(res.decoupling_pct > DECOUPLING_FLAG_PCT)
    # HR vs GAP over consecutive 60 s chunks of steady seconds (chunk means tame the 1 Hz autocorrelation).
    n_chunks = gap.size // 60
    res.hr_vs_gap_n_chunks = int(n_chunks)
    if n_chunks >= 5:
        cg = gap[: n_chunks * 60].reshape(n_chunks, 60).mean(axis=1)
        ch = hrs[: n_chunks * 60].reshape(n_chunks, 60).mean(axis=1)
        res.hr_vs_gap_min_mps, res.hr_vs_gap_max_mps = float(cg.min()), float(cg.max())
        dg = cg - cg.mean()
        sxx = float(dg @ dg)
        if sxx > 1e-9 * cg.size:
            slope = float(dg @ (ch - ch.mean())) / sxx
            res.hr_vs_gap_slope_bpm_per_mps = slope
            res.hr_vs_gap_intercept_bpm = float(ch.mean() - slope * cg.mean())
    if reference_speed_mps is not None:
        res.hr_at_reference_speed_bpm = hr_at_speed(res, reference_speed_mps)
        if res.hr_at_reference_speed_bpm is None:
            res.notes.append("HR at reference speed not estimable: steady speeds span too little or miss the reference")
    pw = run.power_w
    if np.isfinite(pw).any():
        _, pg = resample_1hz(t, pw)
        ps = pg[s]
        if body_mass_kg is None:
            res.notes.append("power present but no body mass: speed per W/kg not computed")
        elif np.isfinite(ps).mean() >= 0.9 and np.nanmean(ps) > 0:
            vs = sel.speed_mps[s]
            okp = np.isfinite(ps)
            res.speed_per_w_per_kg = float(vs[okp].mean() / (ps[okp].mean() / body_mass_kg))
        else:
            res.notes.append("power covers < 90 % of steady running: speed per W/kg not computed")
    res.status = "ok"
    res.reason = None
    return res
