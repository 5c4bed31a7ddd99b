"""``demo [--out DIR]``: the whole pipeline on bundled and simulated data, in under two minutes.

1. a fresh store ``DIR/runstrong.duckdb`` (unless ``db_path`` is given; an existing demo store at
   the default place is replaced, never another file);
2. imports the bundled real FIT runs and strength sessions from ``sample_data/fit/runs`` and
   ``sample_data/fit/strength`` (not ``invalid/`` or ``other/``) for athlete ``sample``;
3. adds a multi-week simulated training history (:mod:`sim.athlete`) for athlete
   ``simulated-runner``: every activity is named "SIMULATED ..." and the report page carries a
   banner saying the data are simulated. Strength starts after :data:`DEMO_BASELINE_WEEKS`
   weeks of running only (the baseline the n-of-1 estimate needs); the strength sets follow
   the prescription at 80-98 % of the lifter's 5RM, the back squat's being
   :data:`DEMO_BACK_SQUAT_E5RM_KG` (the lifter of the streamed sets below);
   The lifter also logged every strength session in a phone app: the first half in Strong, the
   rest in Hevy (each exercise opening with a warm-up set the watch did not record), written by
   :mod:`sim.app_exports` to ``DIR/apps/`` and imported like a user's exports, so the report's
   ledger shows each session once with the watch and the app as its sources
   (docs/strength-ledger.md);
4. streams simulated barbell sets through the virtual BLE device (``run_stream(virtual=True)``)
   for the simulated athlete, at three loads so a load-velocity profile exists;
5. writes the report to ``DIR/report/index.html`` and returns that path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from jobs.recovery import merge_and_analyse
from records.activities import ActivityData, SetRow, SourceFile
from records.runs import RunRecords
from store.activities import imported_hashes, write_activities
from store.connection import open_store, transaction

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIRS = ("runs", "strength")
SAMPLE_ATHLETE = "sample"
SIM_ATHLETE = "simulated-runner"
SIM_LABEL = "SIMULATED"
#: barbell sets streamed through the virtual device in the demo: (load_kg, reps, seed)
DEMO_STREAM_SETS: tuple[tuple[float, int, int], ...] = ((60.0, 4, 1), (80.0, 4, 2), (100.0, 3, 3))
DEMO_ONE_RM_KG = 125.0
#: the simulated lifter's back-squat 5RM (Epley: 1RM / (1 + 5/30)); its strength history is loaded
#: relative to it (85-95 %), the same lifter whose streamed sets give the report its load-velocity
#: e5RM, so the report can place the history's back-squat sets in or out of the prescription zone
DEMO_BACK_SQUAT_E5RM_KG = DEMO_ONE_RM_KG / (1.0 + 5.0 / 30.0)
#: weeks of running before the first strength session: the pre-strength baseline (>= 6)
DEMO_BASELINE_WEEKS = 8


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _ns_to_dt(t_ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t_ns // 1_000_000_000, tz=dt.UTC)


def _sim_source(athlete: str, key: str) -> SourceFile:
    sha = hashlib.sha256(f"runstrong-simulated|{athlete}|{key}".encode()).hexdigest()
    return SourceFile(
        sha256=sha,
        path=f"simulated://{athlete}/{key}",
        bytes_size=0,
        status="imported",
        decoder="simulated",
        file_type="activity",
    )


def simulated_activities(sim: Any, *, label: str = SIM_LABEL) -> Iterable[ActivityData]:
    """The runs (1 Hz records) and strength sessions (sets) of a :class:`sim.athlete.SimAthlete`
    as canonical :class:`records.activities.ActivityData`, oldest first within each kind."""
    for i, plan in enumerate(sim.plans):
        rr = sim.run_records(i)
        dist = rr.distance_m[np.isfinite(rr.distance_m)]
        yield ActivityData(
            activity_id=plan.activity_id,
            session_index=0,
            sport="running",
            sub_sport="generic",
            started_at=_ns_to_dt(int(rr.t_ns[0])),
            duration_s=float((rr.t_ns[-1] - rr.t_ns[0]) / 1e9),
            distance_m=float(dist[-1] - dist[0]) if dist.size else None,
            records=rr,
            device="runstrong simulator",
            name=f"{label} {plan.kind} run ({plan.route})",
        )
    by_session: dict[str, list[Any]] = defaultdict(list)
    for s in sim.strength_sets:
        by_session[s.session_key or f"t{s.started_at_ns}"].append(s)
    for key, rows in sorted(by_session.items(), key=lambda kv: kv[1][0].started_at_ns):
        sets = [
            SetRow(
                set_id=f"{key}-{j}",
                set_index=j,
                started_at=_ns_to_dt(s.started_at_ns),
                exercise=s.exercise,
                exercise_candidates=[s.exercise] if s.exercise else [],
                fit_category=None,
                fit_category_subtype=None,
                set_type=s.set_type,
                reps=s.reps,
                load_kg=s.load_kg,
                duration_s=None,
                source="fit",
                activity_id=key,
            )
            for j, s in enumerate(rows)
        ]
        yield ActivityData(
            activity_id=key,
            session_index=0,
            sport="training",
            sub_sport="strength_training",
            started_at=_ns_to_dt(rows[0].started_at_ns),
            duration_s=float((rows[-1].started_at_ns - rows[0].started_at_ns) / 1e9) + 60.0,
            distance_m=None,
            records=RunRecords.from_arrays(key, np.zeros(0, dtype=np.int64), sport="training"),
            sets=sets,
            device="runstrong simulator",
            name=f"{label} strength session",
        )


def write_simulated_history(
    con: Any, athlete: str, sim: Any, *, label: str = SIM_LABEL, batch: int = 50
) -> dict[str, int]:
    """Write a simulated athlete (profile, runs, strength sessions) into the store, idempotently
    (one ledger row per simulated activity). Returns counts."""
    from store.athletes import set_profile

    p = sim.profile
    with transaction(con):
        set_profile(
            con,
            athlete,
            body_mass_kg=p["body_mass_kg"],
            sex=p["sex"],
            hr_rest_bpm=p["hr_rest_bpm"],
            hr_max_bpm=p["hr_max_bpm"],
            tz=p["tz"],
        )
    known = imported_hashes(con, athlete)
    runs = sessions = records = 0
    pending: list[ActivityData] = []

    def flush() -> None:
        nonlocal records
        with transaction(con):
            for a in pending:
                records += write_activities(con, athlete, _sim_source(athlete, a.activity_id), [a])
        pending.clear()

    for act in simulated_activities(sim, label=label):
        if _sim_source(athlete, act.activity_id).sha256 in known:
            continue
        pending.append(act)
        runs += act.sport == "running"
        sessions += act.sport != "running"
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return {"runs": runs, "strength_sessions": sessions, "records": records}


def write_app_exports(out_dir: Path, sim: Any) -> list[Path]:
    """The simulated lifter's strength sessions as a Strong export (the first half of its sessions)
    and a Hevy export (the rest), both in kg with a warm-up set per exercise; returns their paths."""
    from sim.app_exports import HEVY_NAMES, sim_workouts, write_hevy, write_strong

    tz = sim.profile["tz"]
    sets = sorted(sim.strength_sets, key=lambda x: x.started_at_ns)
    keys = list(dict.fromkeys(x.session_key for x in sets))
    first = set(keys[: len(keys) // 2])
    out_dir.mkdir(parents=True, exist_ok=True)
    strong, hevy = out_dir / "strong-export.csv", out_dir / "hevy-export.csv"
    strong.write_bytes(write_strong(sim_workouts([x for x in sets if x.session_key in first], tz, warmups=True)))
    hevy.write_bytes(
        write_hevy(sim_workouts([x for x in sets if x.session_key not in first], tz, names=HEVY_NAMES, warmups=True))
    )
    return [strong, hevy]


def _sample_paths(sample_root: Path) -> list[Path]:
    return [sample_root / d for d in SAMPLE_DIRS if (sample_root / d).is_dir()]


def _stream_one(db: Path, athlete: str, load_kg: float, reps: int, seed: int) -> dict[str, Any]:
    """One simulated back-squat set through the virtual WitMotion device and the real bleak client code.

    The simulated lifter has a 1RM of :data:`DEMO_ONE_RM_KG` at every load (the stream command's own
    default scales the 1RM with the load, which would make every set look like the same effort).
    """
    import asyncio

    from jobs.stream import stream_async
    from sim.barbell import simulate_session

    motion = simulate_session("back_squat", load_kg, reps, rate_hz=200.0, seed=seed, one_rm_kg=DEMO_ONE_RM_KG)
    run = asyncio.run(
        stream_async(
            db_path=db,
            athlete=athlete,
            exercise="back_squat",
            load_kg=load_kg,
            virtual=True,
            reps=reps,
            seed=seed,
            virtual_motion=motion,
        )
    )
    return run.doc


def _stream_sets(db: Path, athlete: str, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Stream :data:`DEMO_STREAM_SETS` at the same time, one process each, like three stations would:
    each set lands in its own landing file and is merged into the main store when that is free
    (or by the next command that opens it). Separate processes, not threads: the single-writer
    rule and the landing merge are designed per process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(DEMO_STREAM_SETS), mp_context=ctx) as pool:
        futures = [pool.submit(_stream_one, db, athlete, *a) for a in DEMO_STREAM_SETS]
        docs = [f.result() for f in futures]
    for (load_kg, _, _), doc in zip(DEMO_STREAM_SETS, docs, strict=True):
        log(
            f"demo: streamed a simulated back-squat set at {load_kg:g} kg through the virtual BLE device "
            f"({len(doc.get('reps', []))} reps)"
        )
    return docs


def run_demo(
    *,
    out_dir: Path | str,
    db_path: Path | str | None = None,
    weeks: int = 20,
    seed: int = 7,
    stream: bool = True,
    log: Callable[[str], None] = _stderr,
) -> Path:
    """Run the demo pipeline; return the path of ``DIR/report/index.html``."""
    from ingest.fit.importer import DecodePool, import_paths
    from jobs.report import build_report
    from sim.athlete import simulate_athlete

    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    if db_path is None:
        db = out / "runstrong.duckdb"
        for stale in (db, db.with_name(db.name + ".wal")):
            if stale.exists():
                stale.unlink()
        landing = db.with_name(db.name + ".landing")  # a crashed earlier demo's unmerged sessions
        if landing.is_dir():
            for f in landing.iterdir():
                if f.name.endswith((".duckdb", ".duckdb.wal")):
                    f.unlink()
    else:
        db = Path(db_path).expanduser()
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(DecodePool())  # forked before the store is opened (ingest.fit.importer)
        con = open_store(db, wait_s=5.0, on_wait=log)
        stack.callback(con.close)
        imp = import_paths(
            con,
            _sample_paths(REPO_ROOT / "sample_data" / "fit"),
            athlete=SAMPLE_ATHLETE,
            show_progress=False,
            pool=pool,
        )
        pool.close()
        log(
            f"demo: imported {imp.count('imported')} bundled FIT file(s) for '{SAMPLE_ATHLETE}' "
            f"({imp.count('skipped')} skipped, {imp.count('failed')} failed, {imp.count('partial')} partial)"
        )
        # the history ends this week, so the barbell sets streamed now continue its strength block
        start = dt.datetime.now(dt.UTC).date() - dt.timedelta(weeks=weeks - 1)
        sim = simulate_athlete(
            weeks=weeks,
            seed=seed,
            runs_per_week=4.0,
            run_minutes=(40.0, 60.0),
            strength_start_week=DEMO_BASELINE_WEEKS,
            start_date=start,
            e5rm_kg={"back_squat": DEMO_BACK_SQUAT_E5RM_KG},
        )
        # the simulator fills whole weeks: drop what would lie in the future (the page said "data to <tomorrow>")
        now_ns = int(dt.datetime.now(dt.UTC).timestamp()) * 1_000_000_000
        sim = dataclasses.replace(
            sim,
            plans=[p for p in sim.plans if p.started_at_ns <= now_ns],
            strength_sets=[x for x in sim.strength_sets if x.started_at_ns <= now_ns],
        )
        counts = write_simulated_history(con, SIM_ATHLETE, sim)
        log(
            f"demo: wrote {counts['runs']} simulated runs and {counts['strength_sessions']} simulated strength "
            f"sessions for '{SIM_ATHLETE}'"
        )
        apps = import_paths(
            con, write_app_exports(out / "apps", sim), athlete=SIM_ATHLETE, workers=1, show_progress=False
        )
        workouts = ", ".join(f"{f.app['app']}: {f.app['sessions']} workouts" for f in apps.files if f.app)
        log(f"demo: imported the simulated lifter's Strong and Hevy exports ({workouts})")
    if stream:
        _stream_sets(db, SIM_ATHLETE, log)
    con = open_store(db, wait_s=30.0, on_wait=log)
    try:
        merge_and_analyse(con, db)
        doc = build_report(con, out / "report")
    finally:
        con.close()
    index = Path(doc["index_html"])
    log(f"demo: report written to {index}")
    return index
