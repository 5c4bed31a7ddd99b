"""Bar-velocity accuracy against the simulator's truth, live report latency, and analysis speed.

Run: ``.venv/bin/python benchmarks/bench_bar_velocity.py`` (about a minute).

Speed is printed as ratios against baselines measured in the same run on the
same arrays (one numpy trapezoid-integration pass over the accelerometer
array; real time), because absolute seconds depend on the machine and its load.
"""

from __future__ import annotations

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
from sim.scenarios import VALIDATION_SCENARIOS

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
    head = (f"{'scenario':24s} {'path':6s} {'reps':>9s} {'MCV bias':>9s} {'MCV SD':>7s} {'MCV max':>8s} "
            f"{'MPV max':>8s} {'PV SD':>6s} {'ROM max':>8s} {'F %SD':>6s} {'P %SD':>6s} {'RFDpk SD':>9s} "
            f"{'RFD100 SD':>9s}")
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
                    tm = concentric_metrics(s.t_s, s.true_velocity_mps, s.true_accel_mps2, s.true_position_m,
                                            t.concentric_start_s, t.concentric_end_s, s.load_kg)
                    force.append(100 * (r.peak_force_n - tm.peak_force_n) / tm.peak_force_n)
                    power.append(100 * (r.mean_power_w - tm.mean_power_w) / tm.mean_power_w)
                    rfd.append(r.peak_rfd_n_per_s - tm.peak_rfd_n_per_s)
                    if r.rfd_0_100ms_n_per_s is not None and tm.rfd_0_100ms_n_per_s is not None:
                        rfd100.append(r.rfd_0_100ms_n_per_s - tm.rfd_0_100ms_n_per_s)
            e = np.array(mcv)
            print(f"{name:24s} {path:6s} {found:4d}/{truth:<4d} {e.mean():+9.4f} {e.std(ddof=1):7.4f} "
                  f"{np.abs(e).max():8.4f} {np.abs(mpv).max():8.4f} {np.std(pv, ddof=1):6.4f} {np.abs(rom).max():8.4f}"
                  f" {np.std(force, ddof=1):6.2f} {np.std(power, ddof=1):6.2f} {np.std(rfd, ddof=1):9.0f}"
                  f" {np.std(rfd100, ddof=1):9.0f}")
    print("Targets: counts exact, |MCV bias| <= 0.02 m/s, MCV SD <= 0.05, worst <= 0.10, PV SD <= 0.08, ROM <= 0.03 m")
    print("F/P %SD: peak force / mean power error SD in %; RFD columns: error SD in N/s (RFD is experimental)")


def latency_table() -> None:
    print("\nLive report latency on the simulated clock (LiveRepDetector fed 10 ms chunks): report time - concentric end")
    for name, kw in [("squat 100Hz", SCENARIOS["squat 100Hz unrack"]), ("bench 100Hz", SCENARIOS["bench 100Hz"]),
                     ("split squat 100Hz", SCENARIOS["split squat 100Hz alt"]),
                     ("deadlift 100Hz (after lowering)", SCENARIOS["deadlift 100Hz"])]:
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
        print(f"  {label:13s} {best:6.2f} s  = {best / base:5.1f} x one numpy trapezoid pass ({base * 1e3:.0f} ms)"
              f"  {n / best / 1e6:5.2f} M samples/s  {s.duration_s / best:6.0f} x real time  reps {reps}/150"
              + (f"  {'OK' if best < 2.0 else 'OVER'} (target < 2 s)" if label == "fused angles" else ""))

    # live path: 10 minutes at 200 Hz in 20 ms chunks
    s2 = simulate_session("back_squat", 100.0, 8, sets=4, rate_hz=200.0, rest_between_sets_s=120.0, seed=1)
    smp2 = s2.to_imu_samples()
    det = LiveRepDetector("back_squat", 100.0, 200.0)
    t0 = time.perf_counter()
    for i in range(0, len(smp2), 4):
        det.push(smp2.slice(i, i + 4))
    det.finish()
    live_s = time.perf_counter() - t0
    print(f"  live detector, 200 Hz in 20 ms chunks: {s2.duration_s / live_s:5.0f} x real time "
          f"({live_s / (len(smp2) / 4) * 1e6:.0f} us per chunk), reps {len(det.reps)}/{len(s2.reps)}")


def main() -> None:
    t0 = time.perf_counter()
    accuracy_table()
    latency_table()
    speed()
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
