"""Scenario validation of the economy-change model on independent synthetic field athletes.

For every scenario of :data:`sim.field_athletes.SCENARIOS` (not the quick ones) and a fixed list
of seeds (0..N-1, default 200), one field athlete is drawn, every run is rendered at 1 Hz and
goes through the real per-run path (:func:`analysis.economy.run_economy`), and the athlete is
summarised by the report's own code (:func:`analysis.athlete_summary.summarise_athlete`, with
the runs' logged air temperature, HR sensor and shoe, the logged events, the lifter's e5RM).
The reading of the primary proxy is compared with the simulator's truth
(``truth.true_change_pct[primary]``: the strength effect in the last observed week):

* coverage: share of estimable athletes whose 90 % interval contains the true change;
* readings: share of athletes told "consistent with an improvement" or "... a decline"
  (the interval excludes 0); for scenarios without a strength effect these are false readings;
* not estimable: share without an estimate (fewer than 6 baseline weeks with data...).

Must-meet rows need coverage within 82-97 % and, without a true effect, readings <= 14 %;
must-disclose rows are shown with their figures. The EF proxy is tabulated as well.

``--compare`` runs the method variants (mean model: level change + exposure, exposure, level +
slope change; errors: AR(1) GLS with the Kenward-Roger interval, the same GLS with the plug-in
interval, HAC) on the same athletes, the comparison that chose the default; ``--variants`` picks
some of them. The status column judges the first variant.

Usage::

    python benchmarks/bench_economy_validation.py                 # 200 seeds, the report's method
    python benchmarks/bench_economy_validation.py --seeds 20 --scenarios null,step_4
    python benchmarks/bench_economy_validation.py --compare --seeds 100 --json out.json

Work is spread over a process pool (spawn start method, ``--workers``, default 2); BLAS runs
single-threaded in each worker. Runtime is printed; on a shared machine it is noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import multiprocessing
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COVERAGE_BOUNDS = (0.82, 0.97)
MAX_NULL_READINGS = 0.14
VARIANTS_DEFAULT = (("level_exposure", "ar1_gls"),)
VARIANTS_COMPARE = (
    ("level_exposure", "ar1_gls"),
    ("exposure", "ar1_gls"),
    ("level_slope", "ar1_gls"),
    ("level_exposure", "ar1_gls_plugin"),
    ("level_exposure", "hac"),
    ("exposure", "hac"),
    ("level_slope", "hac"),
)


def athlete_inputs(a) -> dict:
    """The field athlete as the pipeline sees it: per-run proxies from the 1 Hz records, context, events."""
    from analysis.economy import run_economy

    p = a.profile
    econ = [
        run_economy(
            r.records,
            body_mass_kg=p["body_mass_kg"],
            tz=a.tz,
            hr_rest_bpm=p["hr_rest_bpm"],
            hr_max_bpm=p["hr_max_bpm"],
            sex=p["sex"],
        )
        for r in a.runs
    ]
    ctx = {
        r.activity_id: {"air_temperature_c": r.air_temperature_c, "hr_sensor": r.hr_sensor, "shoe": r.shoe}
        for r in a.runs
    }
    return {"econ": econ, "ctx": ctx}


def evaluate(scenario: str, seed: int, variants) -> dict:
    """One athlete: the readings of every variant against the truth."""
    from analysis.athlete_summary import summarise_athlete
    from sim.field_athletes import simulate_field_athlete

    a = simulate_field_athlete(scenario, seed)
    inp = athlete_inputs(a)
    out = {"scenario": scenario, "seed": seed, "truth": dict(a.truth.true_change_pct), "variants": {}}
    for model, se in variants:
        s = summarise_athlete(
            inp["econ"],
            None,
            a.strength_sets,
            a.profile,
            a.tz,
            e5rm_kg=a.e5rm_kg,
            reference_speed_mps=a.truth.reference_speed_mps,
            run_context=inp["ctx"],
            events=a.events,
            model=model,
            se=se,
        )
        ec = s.economy_change
        primary = (ec.get("primary") or {}).get("proxy")
        res = {"primary": primary, "proxies": {}}
        for name, ch in s.changes.items():
            res["proxies"][name] = {k: ch.get(k) for k in ("estimate", "ci90_low", "ci90_high", "reason")}
        out["variants"][f"{model}/{se}"] = res
    return out


def _rate(xs) -> float | None:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else None


def summarise_rows(results: list[dict], variant: str) -> dict[str, dict]:
    from sim.field_athletes import SCENARIOS

    by = defaultdict(list)
    for r in results:
        by[r["scenario"]].append(r)
    table = {}
    for sc, rows in by.items():
        spec = SCENARIOS[sc]
        row = {"tier": spec.tier, "n": len(rows)}
        for label, pick in (("primary", None), ("ef_proxy", "ef_proxy")):
            cov, read, est, est_err, none = [], [], [], [], 0
            for r in rows:
                v = r["variants"][variant]
                name = pick or v["primary"]
                if name is None:
                    none += 1
                    continue
                c = v["proxies"][name]
                if c["estimate"] is None:
                    none += 1
                    read.append(False)
                    continue
                t = r["truth"][name]
                cov.append(c["ci90_low"] <= t <= c["ci90_high"])
                read.append(c["ci90_low"] > 0 or c["ci90_high"] < 0)
                est.append(c["estimate"])
                est_err.append(c["estimate"] - t)
            true_effect = any(
                abs(r["truth"][pick or r["variants"][variant]["primary"] or "ef_proxy"]) > 1e-9 for r in rows
            )
            row[label] = {
                "coverage": _rate(cov),
                "readings": _rate(read),
                "not_estimable": none / len(rows),
                "mean_estimate": (sum(est) / len(est)) if est else None,
                "mean_error": (sum(est_err) / len(est_err)) if est_err else None,
                "true_effect": true_effect,
            }
        prim = row["primary"]
        if spec.tier == "must_meet":
            ok = prim["coverage"] is not None and COVERAGE_BOUNDS[0] <= prim["coverage"] <= COVERAGE_BOUNDS[1]
            if not prim["true_effect"]:
                ok = ok and prim["readings"] is not None and prim["readings"] <= MAX_NULL_READINGS
            row["status"] = "met" if ok else "NOT MET"
        else:
            row["status"] = "disclosed"
        primaries = defaultdict(int)
        for r in rows:
            primaries[r["variants"][variant]["primary"]] += 1
        row["primary_proxies"] = dict(primaries)
        table[sc] = row
    return table


def _pct(x) -> str:
    return "   -  " if x is None else f"{100 * x:5.1f}%"


def print_table(table: dict[str, dict], variant: str, order) -> None:
    print(f"\nmethod {variant}")
    print(
        f"{'scenario':22s} {'tier':13s} {'n':>4s} | {'primary: coverage':>17s} {'readings':>8s} {'no est.':>7s} "
        f"{'mean est':>8s} | {'EF: coverage':>12s} {'readings':>8s} | status"
    )
    for sc in order:
        if sc not in table:
            continue
        r = table[sc]
        p, e = r["primary"], r["ef_proxy"]
        me = "    -   " if p["mean_estimate"] is None else f"{p['mean_estimate']:+7.2f}%"
        print(
            f"{sc:22s} {r['tier']:13s} {r['n']:4d} | {_pct(p['coverage']):>17s} {_pct(p['readings']):>8s} "
            f"{_pct(p['not_estimable']):>7s} {me:>8s} | {_pct(e['coverage']):>12s} {_pct(e['readings']):>8s} | "
            f"{r['status']}"
        )


def _width_and_error(results: list[dict], variant: str, scenario: str | None = None) -> tuple[float | None, ...]:
    import statistics

    w, err = [], []
    for r in results:
        if scenario is not None and r["scenario"] != scenario:
            continue
        v = r["variants"][variant]
        c = v["proxies"].get(v["primary"] or "", {})
        if c.get("estimate") is None:
            continue
        w.append(c["ci90_high"] - c["ci90_low"])
        err.append(c["estimate"] - r["truth"][v["primary"]])
    if not w:
        return None, None, None
    return statistics.median(w), sum(err) / len(err), statistics.median(abs(e) for e in err)


def markdown(tables: dict[str, dict], results: list[dict], order, variants) -> str:
    """The docs' tables: the judged variant per scenario, then every variant in one line each."""
    first = f"{variants[0][0]}/{variants[0][1]}"
    out = [
        "| scenario | tier | coverage of the true change | readings (interval excludes 0) | not estimable | "
        "mean error | median 90 % width | EF coverage / readings | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for sc in order:
        r = tables[first].get(sc)
        if r is None:
            continue
        p, e = r["primary"], r["ef_proxy"]
        width, bias, _ = _width_and_error(results, first, sc)
        out.append(
            f"| {sc} | {r['tier'].replace('_', '-')} | {_pct(p['coverage']).strip()} | "
            f"{_pct(p['readings']).strip()} | {_pct(p['not_estimable']).strip()} | "
            f"{'-' if bias is None else f'{bias:+.2f} %'} | {'-' if width is None else f'{width:.1f} %'} | "
            f"{_pct(e['coverage']).strip()} / {_pct(e['readings']).strip()} | {r['status']} |"
        )
    out += [
        "",
        "| method | must-meet rows met | coverage (must-meet) | null readings, worst | readings with a "
        "+4 % effect | median 90 % width | median abs. error |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, se in variants:
        v = f"{model}/{se}"
        mm = [r for r in tables[v].values() if r["tier"] == "must_meet"]
        cov = [r["primary"]["coverage"] for r in mm if r["primary"]["coverage"] is not None]
        nul = [r["primary"]["readings"] for r in mm if not r["primary"]["true_effect"]]
        eff = [r["primary"]["readings"] for r in mm if r["primary"]["true_effect"]]
        met = sum(
            1
            for r in mm
            if COVERAGE_BOUNDS[0] <= (r["primary"]["coverage"] or 0) <= COVERAGE_BOUNDS[1]
            and (r["primary"]["true_effect"] or (r["primary"]["readings"] or 0) <= MAX_NULL_READINGS)
        )
        width, _, mae = _width_and_error(results, v)
        out.append(
            f"| {v} | {met} of {len(mm)} | {100 * min(cov):.1f}-{100 * max(cov):.1f} % | "
            f"{100 * max(nul):.1f} % | {100 * min(eff):.1f}-{100 * max(eff):.1f} % | {width:.1f} % | "
            f"{mae:.2f} % |"
        )
    return "\n".join(out)


def main(argv=None) -> int:
    from sim.field_athletes import SCENARIOS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=200, help="seeds 0..N-1 per scenario (default 200)")
    ap.add_argument(
        "--scenarios", default=None, help="comma-separated names (default: every must-meet and must-disclose scenario)"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--compare", action="store_true", help="also run the other three method variants")
    ap.add_argument(
        "--variants",
        default=None,
        metavar="M/SE,...",
        help="method variants to run, e.g. exposure/ar1_gls,level_slope/ar1_gls (the first is judged)",
    )
    ap.add_argument("--json", default=None, metavar="PATH", help="write the per-athlete results and tables here")
    ap.add_argument("--markdown", action="store_true", help="also print the docs' markdown tables")
    ap.add_argument("--from-json", default=None, metavar="PATH", help="re-print the tables of a saved --json run")
    args = ap.parse_args(argv)
    names = (
        [s.strip() for s in args.scenarios.split(",")]
        if args.scenarios
        else [k for k, v in SCENARIOS.items() if v.tier in ("must_meet", "must_disclose")]
    )
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)}")
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        results = saved["results"]
        variants = tuple(tuple(v.split("/")) for v in saved["tables"])
        order = [n for n in names if any(r["scenario"] == n for r in results)]
        tables = {f"{m}/{e}": summarise_rows(results, f"{m}/{e}") for m, e in variants}
        for m, e in variants:
            print_table(tables[f"{m}/{e}"], f"{m}/{e}", order)
        print(f"\nsaved run of {saved['date']}: {saved['seeds']} seeds, {saved['seconds']:.0f} s")
        if args.markdown:
            print("\n" + markdown(tables, results, order, variants))
        return 0
    variants = VARIANTS_COMPARE if args.compare else VARIANTS_DEFAULT
    if args.variants:
        variants = tuple(tuple(v.strip().split("/")) for v in args.variants.split(","))
        if any(len(v) != 2 for v in variants):
            ap.error("--variants: use model/se pairs such as exposure/ar1_gls")
    jobs = [(sc, seed) for sc in names for seed in range(args.seeds)]
    t0 = time.perf_counter()
    results: list[dict] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=ctx) as pool:
        futs = [pool.submit(evaluate, sc, seed, variants) for sc, seed in jobs]
        for i, f in enumerate(futs, 1):
            results.append(f.result())
            if i % 100 == 0:
                print(f"  {i}/{len(jobs)} athletes, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    tables = {}
    for model, se in variants:
        v = f"{model}/{se}"
        tables[v] = summarise_rows(results, v)
        print_table(tables[v], v, names)
    print(
        f"\n{len(jobs)} athletes ({args.seeds} seeds x {len(names)} scenarios), {seconds:.0f} s with "
        f"{args.workers} workers on {dt.date.today().isoformat()} (shared machine: timing is noisy)"
    )
    met = all(r["status"] != "NOT MET" for r in tables[f"{variants[0][0]}/{variants[0][1]}"].values())
    if args.markdown:
        print("\n" + markdown(tables, results, names, variants))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "date": dt.date.today().isoformat(),
                    "seeds": args.seeds,
                    "seconds": seconds,
                    "tables": tables,
                    "results": results,
                },
                default=lambda x: None if isinstance(x, float) and not math.isfinite(x) else str(x),
            )
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
