"""Bar-velocity accuracy against the simulator's truth, live report latency, and analysis speed.

Run: ``.venv/bin/python benchmarks/bench_bar_velocity.py`` (a few minutes); ``--only shapes`` prints
just the rep-shape tables (issue 11: sim.rep_shapes scenarios, batch and live, 100 and 200 Hz),
``--seeds N`` changes the number of seeds of those tables, ``--json PATH`` also writes their rows.

Speed is printed as ratios against baselines measured in the same run on the
same arrays (one numpy trapezoid-integration pass over the accelerometer
array; real time), because absolute seconds depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from analysis.barbell import analyse_session
from analysis.live import LiveRepDetector
from analysis.rep_metrics import concentric_metrics
from records.imu import ImuSamples
from sim.barbell import simulate_session
from sim.scenarios import SHAPE_RATES_HZ, SHAPE_SCENARIOS, VALIDATION_SCENARIOS, simulate_scenario

SEEDS = range(5)
V = VALIDATION_SCENARIOS
SCENARIOS: dict[str, dict] = {
    "squat 100Hz unrack": V["squat"],
    "deadlift 100Hz": V["deadlift"],
    "split squat 100Hz alt": V["split_squat"],
    "bench 100Hz": V["bench"],
    "light squat 200Hz": V["light_squat"],
    "squat loss+jitter+gap": {**V["squat_loss_jitter"], "gap_after_rep": 3},  # + a 0.3 s link gap between reps
    "heavy squat 95% 1RM": dict(exercise="back_squat", load_kg=142.5, reps=3, rate_hz=100.0, one_rm_kg=150.0),
}


def _simulate(kw: dict, seed: int):
    kw = dict(kw)
    after = kw.pop("gap_after_rep", None)
    if after is not None:
        base = simulate_session(seed=seed, **kw)
        mid = 0.5 * (base.reps[after - 1].end_s + base.reps[after].start_s)
        kw["gap"] = (mid - 0.15, mid + 0.15)
    return simulate_session(seed=seed, **kw)


def accuracy_table() -> None:
    print("Accuracy vs simulator truth (5 seeds per scenario, tilt 15 deg; errors = estimate - truth)")
    head = (
        f"{'scenario':24s} {'path':6s} {'reps':>9s} {'MCV bias':>9s} {'MCV SD':>7s} {'MCV max':>8s} "
        f"{'MPV max':>8s} {'PV SD':>6s} {'ROM max':>8s} {'F %SD':>6s} {'P %SD':>6s} {'RFDpk SD':>9s} "
        f"{'RFD100 SD':>9s}"
    )
    print(head)
    print("-" * len(head))
    for name, kw in SCENARIOS.items():
        sessions = [_simulate(kw, seed) for seed in SEEDS]
        for path in ("fused", "gyro"):
            found = truth = 0
            mcv, mpv, pv, rom, force, power, rfd, rfd100 = [], [], [], [], [], [], [], []
            for s in sessions:
                smp = s.to_imu_samples()
                if path == "gyro":
                    smp = ImuSamples(smp.t_ns, smp.accel_mps2, smp.gyro_radps, None)
                res = analyse_session(smp, s.exercise, s.load_kg)
                kept = [t for t in s.reps if not t.in_gap]
                found += len(res.reps)
                truth += len(kept)
                if len(res.reps) != len(kept):
                    continue
                for r, t in zip(res.reps, kept, strict=True):
                    mcv.append(r.mean_velocity_mps - t.mean_velocity_mps)
                    mpv.append(r.mean_propulsive_velocity_mps - t.mean_propulsive_velocity_mps)
                    pv.append(r.peak_velocity_mps - t.peak_velocity_mps)
                    rom.append(r.rom_m - t.rom_m)
                    # force, power, RFD: truth = the same definitions on the simulator's true kinematics
                    tm = concentric_metrics(
                        s.t_s,
                        s.true_velocity_mps,
                        s.true_accel_mps2,
                        s.true_position_m,
                        t.concentric_start_s,
                        t.concentric_end_s,
                        s.load_kg,
                    )
                    force.append(100 * (r.peak_force_n - tm.peak_force_n) / tm.peak_force_n)
                    power.append(100 * (r.mean_power_w - tm.mean_power_w) / tm.mean_power_w)
                    rfd.append(r.peak_rfd_n_per_s - tm.peak_rfd_n_per_s)
                    if r.rfd_0_100ms_n_per_s is not None and tm.rfd_0_100ms_n_per_s is not None:
                        rfd100.append(r.rfd_0_100ms_n_per_s - tm.rfd_0_100ms_n_per_s)
            e = np.array(mcv)
            print(
                f"{name:24s} {path:6s} {found:4d}/{truth:<4d} {e.mean():+9.4f} {e.std(ddof=1):7.4f} "
                f"{np.abs(e).max():8.4f} {np.abs(mpv).max():8.4f} {np.std(pv, ddof=1):6.4f} {np.abs(rom).max():8.4f}"
                f" {np.std(force, ddof=1):6.2f} {np.std(power, ddof=1):6.2f} {np.std(rfd, ddof=1):9.0f}"
                f" {np.std(rfd100, ddof=1):9.0f}"
            )
    print("Targets: counts exact, |MCV bias| <= 0.02 m/s, MCV SD <= 0.05, worst <= 0.10, PV SD <= 0.08, ROM <= 0.03 m")
    print("F/P %SD: peak force / mean power error SD in %; RFD columns: error SD in N/s (RFD is experimental)")


def latency_table() -> None:
    print(
        "\nLive report latency on the simulated clock (LiveRepDetector fed 10 ms chunks): report time - concentric end"
    )
    for name, kw in [
        ("squat 100Hz", SCENARIOS["squat 100Hz unrack"]),
        ("bench 100Hz", SCENARIOS["bench 100Hz"]),
        ("split squat 100Hz", SCENARIOS["split squat 100Hz alt"]),
        ("deadlift 100Hz (after lowering)", SCENARIOS["deadlift 100Hz"]),
    ]:
        lat = []
        for seed in range(3):
            s = _simulate(kw, seed)
            smp = s.to_imu_samples()
            det = LiveRepDetector(s.exercise, s.load_kg, s.rate_hz)
            step = max(1, round(s.rate_hz * 0.01))
            got = []
            for i in range(0, len(smp), step):
                chunk = smp.slice(i, i + step)
                got += [(chunk.t_ns[-1] * 1e-9, r) for r in det.push(chunk)]
            if len(got) != len(s.reps):
                print(f"  {name}: {len(got)} reps reported live, truth {len(s.reps)}")
                continue
            lat += [w - t.concentric_end_s for (w, _), t in zip(got, s.reps, strict=True)]
        lat_a = np.array(lat)
        print(f"  {name:32s} median {np.median(lat_a):.3f} s  max {lat_a.max():.3f} s  (n={lat_a.size})")


def speed() -> None:
    print("\nSpeed: one-hour session at 1 kHz (15 sets x 10 squats), analysis of the whole capture")
    t0 = time.perf_counter()
    s = simulate_session("back_squat", 100.0, 10, sets=15, rate_hz=1000.0, rest_between_sets_s=222.0, seed=0)
    sim_s = time.perf_counter() - t0
    smp = s.to_imu_samples()
    gyro_only = ImuSamples(smp.t_ns, smp.accel_mps2, smp.gyro_radps, None)
    n = len(smp)
    t_s = (smp.t_ns - smp.t_ns[0]) * 1e-9
    print(f"  {n:,} samples, {s.duration_s / 3600:.2f} h of capture, {len(s.reps)} reps (simulated in {sim_s:.1f} s)")

    def baseline() -> None:  # one trapezoid integration pass over the accelerometer array
        dt = np.diff(t_s)[:, None]
        np.cumsum(0.5 * (smp.accel_mps2[1:] + smp.accel_mps2[:-1]) * dt, axis=0)

    rows = []
    for label, data in (("fused angles", smp), ("gyro only", gyro_only)):
        best = np.inf
        base = np.inf
        reps = 0
        for _ in range(3):
            t0 = time.perf_counter()
            baseline()
            base = min(base, time.perf_counter() - t0)
            t0 = time.perf_counter()
            res = analyse_session(data, "back_squat", 100.0)
            best = min(best, time.perf_counter() - t0)
            reps = len(res.reps)
        rows.append((label, best, base, reps))
    for label, best, base, reps in rows:
        print(
            f"  {label:13s} {best:6.2f} s  = {best / base:5.1f} x one numpy trapezoid pass ({base * 1e3:.0f} ms)"
            f"  {n / best / 1e6:5.2f} M samples/s  {s.duration_s / best:6.0f} x real time  reps {reps}/150"
            + (f"  {'OK' if best < 2.0 else 'OVER'} (target < 2 s)" if label == "fused angles" else "")
        )

    # live path: 10 minutes at 200 Hz in 20 ms chunks
    s2 = simulate_session("back_squat", 100.0, 8, sets=4, rate_hz=200.0, rest_between_sets_s=120.0, seed=1)
    smp2 = s2.to_imu_samples()
    det = LiveRepDetector("back_squat", 100.0, 200.0)
    t0 = time.perf_counter()
    for i in range(0, len(smp2), 4):
        det.push(smp2.slice(i, i + 4))
    det.finish()
    live_s = time.perf_counter() - t0
    print(
        f"  live detector, 200 Hz in 20 ms chunks: {s2.duration_s / live_s:5.0f} x real time "
        f"({live_s / (len(smp2) / 4) * 1e6:.0f} us per chunk), reps {len(det.reps)}/{len(s2.reps)}"
    )


# --- rep shapes (issue 11) ------------------------------------------------------------------------

LIMITS = {"mcv_bias": 0.02, "mcv_sd": 0.05, "mcv_worst": 0.10, "pv_sd": 0.08, "rom_worst": 0.03}
"""Accuracy limits (m/s, m): rep counts exact, |MCV bias|, MCV error SD, worst MCV error, PV error SD,
worst ROM error."""


def _live_reps(smp, s, chunk_s: float = 0.02) -> list:
    """LiveRepDetector fed chunk_s chunks (about one BLE connection event), then finished. Each rep's
    ``report_s``: the simulator time of the last sample pushed when the detector first returned a rep with
    its index (``inf`` if only at ``finish``)."""
    det = LiveRepDetector(s.exercise, s.load_kg, s.rate_hz)
    step = max(1, round(s.rate_hz * chunk_s))
    first: dict[int, float] = {}
    for i in range(0, len(smp), step):
        chunk = smp.slice(i, i + step)
        for r in det.push(chunk):
            first.setdefault(r.index, float(chunk.t_ns[-1]) * 1e-9)
    det.finish()
    return [Reported(r, first.get(r.index, float("inf"))) for r in det.reps]


class Reported:
    """A live rep and when it was first reported (simulator clock, s)."""

    def __init__(self, rep, report_s: float) -> None:
        self.rep, self.report_s = rep, report_s

    def __getattr__(self, name):
        return getattr(self.rep, name)


def _match(est: list, truth: list) -> list[tuple]:
    """(estimate, truth) pairs: each true rep with the estimated rep whose concentric phase overlaps it most."""
    pairs, used = [], set()
    for t in truth:
        best, best_ov = None, 0.0
        for k, r in enumerate(est):
            if k in used:
                continue
            ov = min(r.concentric_end_ns * 1e-9, t.concentric_end_s) - max(
                r.concentric_start_ns * 1e-9, t.concentric_start_s
            )
            if ov > best_ov:
                best, best_ov = k, ov
        if best is not None:
            used.add(best)
            pairs.append((est[best], t))
    return pairs


_RESTED: dict[int, bool] = {}
"""id(true rep) -> the bar rests >= 0.3 s right after its lockout (only those reps can be reported at once)."""


def _note_rests(s) -> None:
    """Mark the true reps of a session after which the bar is still (|v| < 0.01 m/s) for 0.3 s within 0.25 s of
    the concentric end: a rep followed by the next lowering, a walk-in or sway is reported when the bar next rests,
    and one of a lift that starts from the floor once the bar is back on the floor."""
    for t in s.reps:
        if s.exercise == "deadlift":
            _RESTED[id(t)] = False
            continue
        tt = np.linspace(t.concentric_end_s, t.concentric_end_s + 0.55, 111)
        still = np.abs(s.exact.v(tt)) < 0.01
        _RESTED[id(t)] = any(bool(np.all(still[k : k + 61])) for k in range(0, 51))


def _row(label: str, path: str, rate: float, results: list[tuple[list, list]]) -> dict:
    """Errors (estimate - truth) of one scenario/path/rate over its sessions: [(estimated reps, true reps)]."""
    exact = all(len(e) == len(t) for e, t in results)
    found = sum(len(e) for e, _ in results)
    n_true = sum(len(t) for _, t in results)
    mcv, pv, rom, ds, de, shapes, lat = [], [], [], [], [], [], []
    missed, extra = [], []  # shapes of true reps with no estimate; of the true rep an extra estimate falls in
    for est, tru in results:
        pairs = _match(est, tru)
        got_t = {id(t) for _, t in pairs}
        got_r = {id(r) for r, _ in pairs}
        missed += [t.shape for t in tru if id(t) not in got_t]
        for r in est:
            if id(r) not in got_r:
                mid = 0.5e-9 * (r.concentric_start_ns + r.concentric_end_ns)
                extra += [next((t.shape for t in tru if t.start_s <= mid <= t.end_s), "(between reps)")]
        for r, t in pairs:
            mcv.append(r.mean_velocity_mps - t.mean_velocity_mps)
            pv.append(r.peak_velocity_mps - t.peak_velocity_mps)
            rom.append(r.rom_m - t.rom_m)
            ds.append(r.concentric_start_ns * 1e-9 - t.concentric_start_s)
            de.append(r.concentric_end_ns * 1e-9 - t.concentric_end_s)
            shapes.append(t.shape)
            lat.append(
                getattr(r, "report_s", float("nan")) - t.concentric_end_s if _RESTED.get(id(t), False) else float("nan")
            )
    e = np.array(mcv)
    row = {
        "scenario": label,
        "path": path,
        "rate_hz": rate,
        "found": found,
        "truth": n_true,
        "counts_exact": exact,
        "matched": int(e.size),
        "mcv_bias": float(e.mean()) if e.size else float("nan"),
        "mcv_sd": float(e.std(ddof=1)) if e.size > 1 else float("nan"),
        "mcv_worst": float(np.abs(e).max()) if e.size else float("nan"),
        "pv_sd": float(np.std(pv, ddof=1)) if e.size > 1 else float("nan"),
        "rom_worst": float(np.abs(rom).max()) if e.size else float("nan"),
        "start_err_s": (float(min(ds)), float(max(ds))) if ds else None,
        "end_err_s": (float(min(de)), float(max(de))) if de else None,
        "errors": [list(x) for x in zip(shapes, mcv, pv, rom, ds, de, lat, strict=True)],
        "missed": missed,
        "extra": extra,
    }
    row["within"] = bool(
        exact
        and e.size > 1
        and abs(row["mcv_bias"]) <= LIMITS["mcv_bias"]
        and row["mcv_sd"] <= LIMITS["mcv_sd"]
        and row["mcv_worst"] <= LIMITS["mcv_worst"]
        and row["pv_sd"] <= LIMITS["pv_sd"]
        and row["rom_worst"] <= LIMITS["rom_worst"]
    )
    return row


def _print_rows(rows: list[dict], first: str) -> None:
    head = (
        f"{first:26s} {'path':5s} {'Hz':>3s} {'reps':>9s} {'MCV bias':>9s} {'MCV SD':>7s} {'MCV max':>8s} "
        f"{'PV SD':>6s} {'ROM max':>8s} {'start err s':>13s} {'end err s':>13s}  limits"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        cnt = f"{r['found']:4d}/{r['truth']:<4d}" + ("" if r["counts_exact"] else "!")
        se = "{:+.2f}..{:+.2f}".format(*r["start_err_s"]) if r["start_err_s"] else "-"
        ee = "{:+.2f}..{:+.2f}".format(*r["end_err_s"]) if r["end_err_s"] else "-"
        print(
            f"{r['scenario']:26s} {r['path']:5s} {r['rate_hz']:3.0f} {cnt:10s}{r['mcv_bias']:+8.4f} {r['mcv_sd']:7.4f} "
            f"{r['mcv_worst']:8.4f} {r['pv_sd']:6.4f} {r['rom_worst']:8.4f} {se:>13s} {ee:>13s}  "
            f"{'within' if r['within'] else 'OUTSIDE'}"
        )


_OTHER_SENSOR = {name for name, kw in SHAPE_SCENARIOS.items() if kw.get("sensor", "rattle") != "rattle"}
"""Scenarios run with another sensor model than the shape scenarios' default."""


def _pool_by_shape(rows: list[dict], shapes: list[str]) -> list[dict]:
    """Rows of errors pooled by the shape of each true rep, per shape, rate and path."""
    pooled: list[dict] = []
    for shape in shapes:
        for rate in SHAPE_RATES_HZ:
            for path in ("batch", "live"):
                sel = [r for r in rows if r["path"] == path and r["rate_hz"] == rate]
                errs = [e for r in sel for e in r["errors"] if e[0] == shape]
                if len(errs) < 2:
                    continue
                n_missed = sum(r["missed"].count(shape) for r in sel)
                n_extra = sum(r["extra"].count(shape) for r in sel)
                m = np.array([e[1] for e in errs])
                row = {
                    "scenario": shape,
                    "path": path,
                    "rate_hz": rate,
                    "found": len(errs) + n_extra,
                    "truth": len(errs) + n_missed,
                    "counts_exact": n_missed == 0 and n_extra == 0,
                    "matched": len(errs),
                    "mcv_bias": float(m.mean()),
                    "mcv_sd": float(m.std(ddof=1)),
                    "mcv_worst": float(np.abs(m).max()),
                    "pv_sd": float(np.std([e[2] for e in errs], ddof=1)),
                    "rom_worst": float(np.abs([e[3] for e in errs]).max()),
                    "start_err_s": (min(e[4] for e in errs), max(e[4] for e in errs)),
                    "end_err_s": (min(e[5] for e in errs), max(e[5] for e in errs)),
                }
                row["within"] = bool(
                    row["counts_exact"]
                    and abs(row["mcv_bias"]) <= LIMITS["mcv_bias"]
                    and row["mcv_sd"] <= LIMITS["mcv_sd"]
                    and row["mcv_worst"] <= LIMITS["mcv_worst"]
                    and row["pv_sd"] <= LIMITS["pv_sd"]
                    and row["rom_worst"] <= LIMITS["rom_worst"]
                )
                pooled.append(row)
    return pooled


def shape_tables(seeds: range, json_path: str | None = None) -> list[dict]:
    """Per rep-shape scenario, rate and path (batch ``analyse_session``, live ``LiveRepDetector``)."""
    print(
        f"\nRep shapes (sim.rep_shapes, issue 11): {len(seeds)} seeds per scenario, tilt 15 deg, "
        f"errors = estimate - truth (truth: concentric phase = the lifting phase, see sim/rep_truth.py)"
    )
    rows: list[dict] = []
    for name in SHAPE_SCENARIOS:
        for rate in SHAPE_RATES_HZ:
            batch, live = [], []
            for seed in seeds:
                s = simulate_scenario(name, seed, rate)
                _note_rests(s)
                smp = s.to_imu_samples()
                batch.append((analyse_session(smp, s.exercise, s.load_kg).reps, s.reps))
                live.append((_live_reps(smp, s), s.reps))
            rows.append(_row(name, "batch", rate, batch))
            rows.append(_row(name, "live", rate, live))
    _print_rows(rows, "scenario")

    # the same errors pooled by the shape of each true rep, per path and rate: over the scenarios with the
    # default sensor model (white noise + plate rattle), and over those with the other sensor models
    shapes = sorted({e[0] for r in rows for e in r["errors"]})
    pooled: list[dict] = []
    for label, group in (("default sensor model (white + rattle)", False), ("other sensor models", True)):
        print(
            f"\nBy rep shape, {label} (one-shape and mixed sets; mixed sets contribute each rep to its own shape;"
            " a missed rep counts against its shape, an extra one against the shape of the true rep it falls in)"
        )
        part = _pool_by_shape([r for r in rows if (r["scenario"] in _OTHER_SENSOR) == group], shapes)
        for row in part:
            row["sensor"] = "other" if group else "default"
        _print_rows(part, "rep shape")
        pooled += part
    print(
        "\nLive report latency (20 ms chunks; simulator clock, first report of each rep - true concentric end), reps"
        " followed by a still bar (>= 0.3 s within 0.25 s of lockout):"
    )
    print(
        f"{'rep shape':14s} {'Hz':>3s} {'n':>4s} {'p50 s':>6s} {'p90 s':>6s} {'p99 s':>6s} {'max s':>6s} {'> 0.4 s':>7s}"
    )
    for shape in shapes:
        for rate in SHAPE_RATES_HZ:
            la = np.array(
                [
                    e[6]
                    for r in rows
                    if r["path"] == "live" and r["rate_hz"] == rate
                    for e in r["errors"]
                    if e[0] == shape and np.isfinite(e[6])
                ]
            )
            if la.size:
                print(
                    f"{shape:14s} {rate:3.0f} {la.size:4d} {np.median(la):6.3f} {np.percentile(la, 90):6.3f} "
                    f"{np.percentile(la, 99):6.3f} {la.max():6.3f} {int(np.sum(la > 0.4)):7d}"
                )
    la = np.array([e[6] for r in rows if r["path"] == "live" for e in r["errors"] if np.isfinite(e[6])])
    print(
        f"{'all':14s} {'':3s} {la.size:4d} {np.median(la):6.3f} {np.percentile(la, 90):6.3f} {np.percentile(la, 99):6.3f}"
        f" {la.max():6.3f} {int(np.sum(la > 0.4)):7d}"
    )
    n_in = sum(r["within"] for r in rows)
    all_mcv = np.array([e[1] for r in rows for e in r["errors"]])
    print(
        f"Limits: counts exact in every session, |MCV bias| <= {LIMITS['mcv_bias']}, SD <= {LIMITS['mcv_sd']}, "
        f"worst <= {LIMITS['mcv_worst']} m/s, PV SD <= {LIMITS['pv_sd']}, ROM <= {LIMITS['rom_worst']} m. "
        f"'!' = a count differs (errors then over the matched reps)."
    )
    extra_between = sum(r["extra"].count("(between reps)") for r in rows)
    if extra_between:
        print(f"Extra reps outside any true rep (not in the by-shape rows): {extra_between}")
    print(
        f"Scenario rows within the limits: {n_in}/{len(rows)}; all matched reps: n={all_mcv.size}, "
        f"MCV bias {all_mcv.mean():+.4f}, SD {all_mcv.std(ddof=1):.4f}, worst {np.abs(all_mcv).max():.4f} m/s"
    )
    for path in ("batch", "live"):  # the comparison: pauses and slow lockouts together
        pe = np.array(
            [e[1] for r in rows if r["path"] == path for e in r["errors"] if e[0] in ("bottom_pause", "slow_lockout")]
        )
        print(
            f"bottom_pause + slow_lockout reps, {path} (both rates): n={pe.size}, MCV bias {pe.mean():+.4f}, "
            f"SD {pe.std(ddof=1):.4f}, worst {np.abs(pe).max():.4f} m/s"
        )
    if json_path:
        out = {
            "limits": LIMITS,
            "scenarios": rows,
            "by_shape": pooled,
            "errors_columns": ["shape", "mcv", "pv", "rom", "start_s", "end_s", "report_latency_s"],
        }
        Path(json_path).write_text(json.dumps(out, indent=1))
        print(f"(rows written to {json_path})")
    return rows


def oracle_table() -> None:
    """What an IMU can resolve at a slow lockout with the accelerometer bias known exactly: white noise only.

    (1) Reps whose true velocity dips near zero (< 0.02 m/s) after the peak and rises again by > 0.01 m/s:
    the velocity error at the dip is then the Brownian bridge of the integrated white noise between the
    rests around the rep, ``sigma_a sqrt(dt (t - tA)(tB - t) / (tB - tA))``; the probability that the
    estimate reaches the rest level (0.005 m/s) there, and the MCV error if the phase then ends at the dip.
    (2) The slowest creep the displacement test reveals: 3.5 SD of the displacement error (white noise,
    ``sigma_a sqrt(dt) T^1.5 / sqrt(12)``) combined with the lifter's 5 mm, over c T / 2."""
    from math import erf, sqrt

    from analysis.movement import RETURN_HEIGHT_SD_M, Z_SIGMAS

    noise = 0.008 * 9.80665  # the simulators' white accelerometer noise per sample (m/s^2)
    print("\nOracle (bias known, white noise only): slow-lockout reps whose velocity dips near zero and rises again")
    print(
        f"{'scenario':22s} {'Hz':>4s} {'seed':>4s} {'rep':>3s} {'v dip':>7s} {'SD':>7s} {'P(<=5mm/s)':>10s} "
        f"{'MCV if ended there':>18s}"
    )
    for name in ("slow_lockout_squat", "slow_lockout_bench"):
        for rate in SHAPE_RATES_HZ:
            for seed in SEEDS:
                s = simulate_scenario(name, seed, rate)
                still = np.abs(s.true_velocity_mps) < 1e-4
                for r in s.reps:
                    tt = np.linspace(r.concentric_start_s, r.concentric_end_s, 4000)
                    v = s.exact.v(tt)
                    k = int(np.argmax(v))
                    after = v[k:]
                    for i in range(1, after.size - 1):
                        if (
                            after[i] <= after[i - 1]
                            and after[i] <= after[i + 1]
                            and after[i] < 0.02
                            and after[i + 1 :].max() - after[i] > 0.01
                        ):
                            t_dip = float(tt[k + i])
                            before = np.nonzero(still & (s.t_s < r.start_s + 0.01))[0]
                            later = np.nonzero(still & (s.t_s > r.concentric_end_s))[0]
                            ta = float(s.t_s[before[-1]]) if before.size else r.start_s
                            tb = float(s.t_s[later[0]]) if later.size else r.concentric_end_s
                            sd = noise * sqrt((t_dip - ta) * (tb - t_dip) / (tb - ta) / rate)
                            p = 0.5 * (1 + erf((0.005 - float(after[i])) / (sd * sqrt(2))))
                            z = s.exact.z(np.array([r.concentric_start_s, t_dip]))
                            d_mcv = (z[1] - z[0]) / (t_dip - r.concentric_start_s) - r.mean_velocity_mps
                            print(
                                f"{name:22s} {rate:4.0f} {seed:4d} {r.index:3d} {after[i]:7.4f} {sd:7.4f} {p:10.2f} "
                                f"{d_mcv:+18.3f}"
                            )
                            break
    for rate in SHAPE_RATES_HZ:
        t_rep = 2.3
        sd_z = noise * sqrt(1.0 / rate) * t_rep**1.5 / sqrt(12.0)
        tol = Z_SIGMAS * float(np.hypot(sd_z, RETURN_HEIGHT_SD_M))
        print(
            f"creep test at {rate:.0f} Hz, {t_rep} s into a rep: displacement SD {sd_z * 1000:.1f} mm, tolerance "
            f"{tol * 100:.1f} cm, slowest creep revealed {2 * tol / t_rep:.3f} m/s"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["accuracy", "shapes", "latency", "speed", "oracle"], help="run one part only")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per rep-shape scenario (default 5)")
    ap.add_argument("--json", help="write the rep-shape rows to this file")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.only in (None, "accuracy"):
        accuracy_table()
    if args.only in (None, "shapes"):
        shape_tables(range(args.seeds), args.json)
    if args.only in (None, "latency"):
        latency_table()
    if args.only in (None, "speed"):
        speed()
    if args.only in (None, "oracle"):
        oracle_table()
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
