"""runstrong command line (docs/cli.md). Parses arguments, calls jobs (``jobs/``), maps errors to
exit codes. No logic of its own lives here, and it imports nothing but ``jobs`` (docs/design.md).

Exit codes: 0 success; 1 some inputs failed or were only partly readable; 2 usage error;
3 the database is locked by another process and did not free up within --wait seconds;
4 the lake's catalog (--lake) cannot be reached.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_UNREACHABLE = 0, 1, 2, 3, 4


class UsageError(Exception):
    """Bad arguments detected after parsing (exit code 2)."""


class CommandFailed(Exception):
    """An expected failure with a one-line message (exit code 1)."""


# ---------------------------------------------------------------------------------------------
# output helpers


def emit(args: argparse.Namespace, doc: dict[str, Any], human: Callable[[dict[str, Any]], str]) -> None:
    """One JSON document on stdout with --json, else human text."""
    if args.json:
        json.dump(doc, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        text = human(doc)
        if text:
            print(text)


def info(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _bars(args: argparse.Namespace) -> Any:
    """Live progress bars on stderr for a person at a terminal: none with --json or --quiet, none when
    stderr is not a terminal (cron, pipes, files)."""
    from jobs.commands import progress_bars

    return progress_bars(quiet=args.quiet, json_output=args.json)


def _fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _date(text: str) -> dt.datetime:
    try:
        d = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: use YYYY-MM-DD") from None
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)


def _finite(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):  # nan, inf: `--wait nan` waited forever, `--load-kg inf` was stored
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return v


def _positive(text: str) -> float:
    v = _finite(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def _nonneg(text: str) -> float:
    v = _finite(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return v


def cmd_import(args: argparse.Namespace) -> int:
    from jobs import commands

    summary = commands.import_files(
        args.db,
        args.athlete,
        args.paths,
        wait_s=args.wait,
        undelete=args.undelete,
        show_progress=not (args.quiet or args.json),
        on_message=info,
        lake=args.lake_config,
    )
    doc = summary.to_contract()

    def human(d: dict[str, Any]) -> str:
        lines = []
        for f in d["files"]:
            if f["status"] in ("failed", "partial"):
                lines.append(f"{f['status']:8} {f['path']}: {f['error']}")
            elif f["status"] == "skipped" and f["reason"] != "duplicate":
                lines.append(f"skipped  {f['path']}: {f['reason']}")
            a = f.get("app")
            if a and "new" in a:
                what = ", ".join(
                    f"{a[k]} {k.replace('_', ' ')}"
                    for k in ("new", "updated", "unchanged", "kept_newer", "flagged_deleted", "restored")
                    if a[k]
                )
                lines.append(
                    f"{a['app']:8} {f['path']}: {a['sessions']} workout(s), {f['sets']} set(s)"
                    f"{f' ({what})' if what else ''}; {f['reason']}"
                )
                for b in a["bad_rows"]:
                    lines.append(f"         line {b['line']}: {b['reason']}")
                if a["unmapped_exercises"]:
                    lines.append(
                        f"         unmapped exercise names (see `sets`, `correct --set ID --exercise EX`): "
                        f"{', '.join(a['unmapped_exercises'])}"
                    )
        lines.append(
            f"{d['imported']} imported, {d['skipped']} skipped, {d['partial']} partial, {d['failed']} failed; "
            f"{d['records']} records in {d['seconds']:.1f} s"
        )
        return "\n".join(lines)

    emit(args, doc, human)
    return summary.exit_code


def cmd_activities(args: argparse.Namespace) -> int:
    from jobs import commands

    rows = commands.activities(args.db, args.athlete, since=args.since, wait_s=args.wait, lake=args.lake_config)

    def human(d: dict[str, Any]) -> str:
        if not d["activities"]:
            return f"no activities for athlete {args.athlete!r}"
        return _table(
            [
                [
                    a["activity_id"],
                    a["started_at"] or "-",
                    a["sport"],
                    _fmt(a["duration_s"] and a["duration_s"] / 60),
                    _fmt(a["distance_m"] and a["distance_m"] / 1000, 2),
                    str(a["records"]),
                    _fmt(a["avg_heart_rate_bpm"], 0),
                    str(a["sets"]),
                    "excluded" if a["excluded_reason"] else "",
                ]
                for a in d["activities"]
            ],
            ["activity_id", "started_at", "sport", "min", "km", "records", "avg_hr", "sets", ""],
        )

    emit(args, {"activities": rows}, human)
    return EXIT_OK


def cmd_sets(args: argparse.Namespace) -> int:
    from jobs import commands

    rows = commands.sets(args.db, args.athlete, activity=args.activity, wait_s=args.wait, lake=args.lake_config)

    def human(d: dict[str, Any]) -> str:
        if not d["sets"]:
            return "no sets"
        return _table(
            [
                [
                    s["set_id"],
                    (s["started_at"] or "-") + ("" if s.get("started_at_known", True) else "*"),
                    s["set_type"] if s["set_type"] != "active" else (s.get("set_role") or "active"),
                    s["exercise"] or f"? {s.get('exercise_as_recorded') or ''}".strip(),
                    _fmt(s["reps"]),
                    _fmt(s["load_kg"]),
                    "+".join(s.get("sources") or [s["source"]]),
                    (s.get("training_session_id") or "-")[:11],
                ]
                for s in d["sets"]
            ],
            ["set_id", "started_at", "role", "exercise", "reps", "kg", "sources", "session"],
        ) + (
            "\n* the session's start: the app logs no time per set"
            if any(not s.get("started_at_known", True) for s in d["sets"])
            else ""
        )

    emit(args, {"sets": rows}, human)
    return EXIT_OK


def cmd_athlete(args: argparse.Namespace) -> int:
    from jobs import commands

    if args.action == "delete" and not args.yes:
        commands.validate_slug(args.athlete)
        raise UsageError(f"`athlete delete` removes every row of {args.athlete!r}: add --yes to confirm")
    if args.strength_start not in (None, "auto"):
        try:
            dt.date.fromisoformat(args.strength_start)
        except ValueError:
            raise UsageError(f"--strength-start {args.strength_start!r}: use YYYY-MM-DD or auto") from None
    doc = commands.athlete(
        args.db,
        args.athlete,
        args.action,
        wait_s=args.wait,
        body_mass_kg=args.body_mass_kg,
        sex=args.sex,
        hr_rest_bpm=args.hr_rest,
        hr_max_bpm=args.hr_max,
        tz=args.tz,
        strength_start=args.strength_start,
        primary_proxy=args.primary_proxy,
        swc_pct=args.swc_pct,
        swc_source=args.swc_source,
        weight_unit=args.weight_unit,
        lake=args.lake_config,
    )

    def human(d: dict[str, Any]) -> str:
        if "athletes" in d:
            return "\n".join(p["athlete"] for p in d["athletes"]) or "no athletes"
        if "deleted_rows" in d:
            return f"deleted {sum(d['deleted_rows'].values())} rows of {d['athlete']}"
        lines = [f"{k}: {_fmt(v)}" for k, v in d["athlete"].items()]
        lines += [f"economy {k}: {_fmt(v) if v is not None else 'auto'}" for k, v in (d.get("economy") or {}).items()]
        return "\n".join(lines)

    emit(args, doc, human)
    return EXIT_OK


def cmd_correct(args: argparse.Namespace) -> int:
    from jobs import commands

    commands.validate_slug(args.athlete)
    if args.set and not args.exercise:
        raise UsageError("--set needs --exercise")
    if args.exclude and not args.reason:
        raise UsageError("--exclude needs --reason")
    if args.context and args.air_temperature_c is None and args.shoe is None:
        raise UsageError("--context needs --air-temperature-c and/or --shoe")
    doc = commands.correct(
        args.db,
        args.athlete,
        wait_s=args.wait,
        set_id=args.set,
        exercise=args.exercise,
        exclude=args.exclude,
        include=args.include,
        reason=args.reason,
        context=args.context,
        air_temperature_c=args.air_temperature_c,
        shoe=args.shoe,
        split=args.split,
        merge=args.merge,
        lake=args.lake_config,
    )

    def human(d: dict[str, Any]) -> str:
        if "training_sessions" in d:
            return "\n".join(
                [f"{d['action']}: {', '.join(d['refs'])}"]
                + [
                    f"  {t['training_session_id']}  {t['started_at']}  {'+'.join(t['sources'])}  {t['sets']} sets"
                    for t in d["training_sessions"]
                ]
            )
        return "ok: " + ", ".join(f"{k}={v}" for k, v in d.items())

    emit(args, doc, human)
    return EXIT_OK


def cmd_event(args: argparse.Namespace) -> int:
    from jobs import commands

    commands.validate_slug(args.athlete)
    if args.action != "list" and (not args.kind or args.at is None):
        raise UsageError(f"`event {args.action}` needs --kind and --at")
    doc = commands.event(
        args.db,
        args.athlete,
        args.action,
        wait_s=args.wait,
        kind=args.kind,
        at=args.at,
        note=args.note,
        lake=args.lake_config,
    )

    def human(d: dict[str, Any]) -> str:
        if "events" in d:
            return "\n".join(f"{e['at']}  {e['kind']}  {e['note'] or ''}" for e in d["events"]) or "no events"
        if "event" in d:
            return f"logged {d['event']['kind']} at {d['event']['at']}"
        return "deleted" if d["deleted"] else "no such event"

    emit(args, doc, human)
    return EXIT_OK


def _rep_line(rep: dict[str, Any]) -> str:
    rfd = rep.get("peak_rfd_n_per_s")
    return (
        f"rep {rep.get('index')}: mean {rep['mean_velocity_mps']:.2f} m/s, peak {rep['peak_velocity_mps']:.2f} m/s, "
        f"velocity loss {rep.get('velocity_loss_pct', 0.0):.1f}%, RFD {(rfd or 0) / 1000:.1f} kN/s (experimental)"
    )


def _rep_printer(args: argparse.Namespace) -> Callable[[dict[str, Any]], None]:
    def on_rep(rep: dict[str, Any]) -> None:
        # the stream is looked up per line: a progress bar may route it above itself meanwhile
        print(_rep_line(rep), file=sys.stderr if args.json else sys.stdout, flush=True)

    return on_rep


def _summary_human(d: dict[str, Any]) -> str:
    s = d.get("set") or {}
    lines = [
        f"session {d.get('session_id')}: {d.get('exercise')} {d.get('load_kg')} kg, "
        f"{len(d.get('reps', []))} reps, velocity loss {_fmt(s.get('velocity_loss_pct'))}%"
    ]
    st = d.get("stream")
    if st:
        lines.append(
            f"stream: {st['samples']} samples, {st['lost_samples']} lost, {st['reconnects']} reconnects, "
            f"{len(st['gaps'])} gaps"
        )
    return "\n".join(lines)


def _warn_exercise(exercise: str) -> None:
    from jobs.commands import exercise_warning

    warning = exercise_warning(exercise)
    if warning:
        info(warning)


def cmd_stream(args: argparse.Namespace) -> int:
    from jobs.commands import refuse_newer_target, validate_slug
    from jobs.stream import STREAM_ERRORS, run_stream

    validate_slug(args.athlete)
    # before a landing file is written for a store that cannot take it
    refuse_newer_target(args.db, args.lake_config, wait_s=args.wait)
    _warn_exercise(args.exercise)
    if not (args.address or args.name or args.virtual):
        raise UsageError("stream needs one of --address, --name or --virtual")
    try:
        doc = _run_stream(args, run_stream)
    except STREAM_ERRORS as exc:
        raise CommandFailed(str(exc)) from None
    emit(args, doc, _summary_human)
    if doc.get("error"):
        info(f"runstrong stream: {doc['error']} (data up to then is stored)")
        return EXIT_FAILED
    return EXIT_OK


def _run_stream(args: argparse.Namespace, run_stream: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return run_stream(
        db_path=Path(args.db),
        athlete=args.athlete,
        exercise=args.exercise,
        load_kg=args.load_kg,
        address=args.address,
        name=args.name,
        virtual=args.virtual,
        sensor=args.sensor,
        rate_hz=args.rate_hz,
        duration_s=args.duration,
        record=Path(args.record) if args.record else None,
        vl_stop_pct=args.vl_stop,
        reps=args.reps,
        seed=args.seed,
        virtual_loss=args.virtual_loss,
        virtual_disconnect_at=args.virtual_disconnect_at,
        virtual_rate_hz=args.virtual_rate_hz,
        wait_s=args.wait,
        on_rep=_rep_printer(args),
        on_message=info,
        lake=args.lake_config,
    )


def cmd_replay(args: argparse.Namespace) -> int:
    from jobs.commands import refuse_newer_target, validate_slug
    from jobs.replay import replay_capture

    validate_slug(args.athlete)
    # before a landing file is written for a store that cannot take it
    refuse_newer_target(args.db, args.lake_config, wait_s=args.wait)
    _warn_exercise(args.exercise)
    with _bars(args) as bars:
        doc = replay_capture(
            Path(args.capture),
            db_path=Path(args.db),
            athlete=args.athlete,
            exercise=args.exercise,
            load_kg=args.load_kg,
            athlete_mass_kg=args.athlete_mass_kg,
            wait_s=args.wait,
            on_rep=_rep_printer(args) if not args.json else None,
            on_message=info,
            progress=bars.task("replay", unit="kB"),
            lake=args.lake_config,
        )
    emit(args, doc, _summary_human)
    return EXIT_OK


def cmd_reanalyse(args: argparse.Namespace) -> int:
    from jobs.reanalyse import reanalyse

    with _bars(args) as bars:
        doc = reanalyse(
            Path(args.db),
            athlete=args.athlete if args.athlete_given else None,
            wait_s=args.wait,
            on_message=info,
            progress=bars.task("reanalyse", unit="sessions"),
            lake=args.lake_config,
        )

    def human(d: dict[str, Any]) -> str:
        text = (
            f"re-analysed {d['sessions']} sensor session(s) with method {d['method_version']}: "
            f"{d['reps_before']} reps before, {d['reps_after']} after"
        )
        if d["skipped"]:
            text += f"; {d['skipped']} without an exercise or load skipped"
        if d["orphaned_corrections"]:
            text += f"; {d['orphaned_corrections']} set correction(s) kept for sets no longer found"
        return text

    emit(args, doc, human)
    return EXIT_FAILED if doc["failed"] else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from jobs import commands

    with _bars(args) as bars:
        doc = commands.report(
            args.db,
            args.athlete,
            args.out,
            since=args.since,
            wait_s=args.wait,
            on_message=info,
            progress=bars.task("report", unit="runs"),
            templates_dir=args.templates,
            lake=args.lake_config,
        )
    emit(args, doc, lambda d: f"report written to {d.get('index_html', Path(args.out) / 'index.html')}")
    return EXIT_OK


def cmd_nightly(args: argparse.Namespace) -> int:
    from jobs.commands import validate_slug
    from jobs.nightly import run_nightly

    validate_slug(args.athlete)
    try:
        doc = run_nightly(
            db_path=Path(args.db),
            watch_dir=Path(args.watch),
            out_dir=Path(args.out),
            athlete=args.athlete,
            wait_s=args.wait,
            templates_dir=args.templates,
            lake=args.lake_config,
        )
    except NotADirectoryError as exc:
        raise UsageError(str(exc)) from None
    emit(args, doc, lambda d: d.get("log_line") or json.dumps(d, default=str))
    return int(doc.get("exit_code", EXIT_OK))


def cmd_export(args: argparse.Namespace) -> int:
    from jobs import commands

    with _bars(args) as bars:
        doc = commands.export(
            args.db,
            args.athlete,
            args.parquet,
            wait_s=args.wait,
            progress=bars.task("export", unit="rows"),
            lake=args.lake_config,
        )
    emit(args, doc, lambda d: f"exported to {args.parquet}")
    return EXIT_OK


def cmd_lake(args: argparse.Namespace) -> int:
    from jobs import lake

    if args.lake_config is None:
        raise UsageError(f"`lake {args.action}` needs --lake CATALOG (or RUNSTRONG_LAKE)")
    if args.action == "pull" and not args.athlete_given:
        raise UsageError("`lake pull` needs --athlete A: it copies one athlete's data")
    with _bars(args) as bars:
        progress = bars.task(f"lake {args.action}", unit="steps")
        if args.action == "push":
            doc = lake.push(
                args.db,
                args.lake_config,
                athlete=args.athlete if args.athlete_on_command_line else None,
                wait_s=args.wait,
                progress=progress,
            )
        else:
            doc = lake.pull(args.db, args.lake_config, athlete=args.athlete, wait_s=args.wait, progress=progress)

    def human(d: dict[str, Any]) -> str:
        rows = sum(d["rows"].values())
        what = f"{d.get('files', 0)} file(s), {d.get('sessions', 0)} session(s), " if d["direction"] == "push" else ""
        return (
            f"{d['direction']}: {', '.join(d['athletes']) or 'no athlete'}: {what}{rows} row(s) in {d['seconds']:.1f} s"
        )

    emit(args, doc, human)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from jobs.demo import run_demo

    if args.lake_config is not None:
        raise UsageError(
            "demo builds its own DuckDB file from bundled and simulated data: run it without "
            "--lake (or RUNSTRONG_LAKE), then `lake push` what you want in the lake"
        )
    out = Path(args.out)
    db = Path(args.db) if args.db_given else None
    index = run_demo(out_dir=out, db_path=db)
    emit(args, {"report": str(index)}, lambda d: d["report"])
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# parser


def _globals(p: argparse.ArgumentParser, top: bool) -> None:
    """Global options, accepted before or after the command name."""
    d = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
    p.add_argument(
        "--db",
        default=d(None),
        help="DuckDB file (default: $RUNSTRONG_DB or ~/.local/share/runstrong/runstrong.duckdb)",
    )
    p.add_argument("--athlete", default=d(None), help="athlete slug (default: $RUNSTRONG_ATHLETE or 'default')")
    p.add_argument("--json", action="store_true", default=d(False), help="one JSON document on stdout")
    p.add_argument(
        "--wait",
        type=_nonneg,
        default=d(30.0),
        metavar="S",
        help="seconds to wait for a database held by another process (default 30)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        default=d(False),
        help="no progress bar on stderr (there is none either with --json or when stderr is not a terminal)",
    )
    p.add_argument(
        "--lake",
        default=d(None),
        metavar="CATALOG",
        help="work on this DuckLake instead of --db: 'postgres:dbname=... host=... port=...' or "
        "'sqlite:/path/catalog.sqlite' (default: $RUNSTRONG_LAKE); landing files stay beside --db",
    )
    p.add_argument(
        "--lake-data",
        default=d(None),
        metavar="DIR",
        help="the lake's Parquet data path, needed when the lake is created (default: $RUNSTRONG_LAKE_DATA)",
    )
    p.add_argument(
        "--lake-encrypted",
        action="store_true",
        default=d(False),
        help="when the lake is created: encrypt its data files (DuckLake's ENCRYPTED; the keys stay in the catalog)",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="runstrong",
        description="Strength training for runners: barbell velocity over BLE, Garmin FIT import, "
        "running-economy proxies and a nightly report.",
    )
    _globals(p, top=True)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        _globals(sp, top=False)
        sp.set_defaults(func=fn)
        return sp

    sp = add(
        "import",
        cmd_import,
        "import FIT files, folders, .fit.gz and zip archives (Garmin/Strava exports) and Strong / Hevy CSV exports",
    )
    sp.add_argument("paths", nargs="+", metavar="PATH")
    sp.add_argument(
        "--undelete",
        action="store_true",
        help="import files of a deleted athlete again (otherwise skipped as 'deleted athlete')",
    )

    sp = add("activities", cmd_activities, "list imported activities")
    sp.add_argument("--since", type=_date, metavar="DATE")

    sp = add(
        "sets",
        cmd_sets,
        "list strength sets: watch (FIT), sensor and phone-app (Strong, Hevy) sets reconciled into one ledger",
    )
    sp.add_argument("--activity", metavar="ID")

    sp = add("stream", cmd_stream, "stream a Bluetooth barbell sensor (or --virtual) and print each rep live")
    who = sp.add_mutually_exclusive_group()
    who.add_argument("--address", metavar="ADDR")
    who.add_argument("--name", metavar="NAME")
    who.add_argument("--virtual", action="store_true", help="simulated WitMotion on a Bumble virtual link")
    sp.add_argument("--exercise", required=True, metavar="EX")
    sp.add_argument("--load-kg", type=_positive, required=True, metavar="KG")
    sp.add_argument(
        "--sensor",
        default="auto",
        choices=["auto", "witmotion", "heart_rate", "running_speed_cadence", "cycling_power"],
    )
    sp.add_argument("--rate-hz", type=_positive, metavar="HZ")
    sp.add_argument("--duration", type=_positive, metavar="S")
    sp.add_argument("--record", metavar="CAPTURE", help="also write the raw notifications to a capture file")
    sp.add_argument("--vl-stop", type=_positive, metavar="PCT", help="cue to stop the set at this velocity loss")
    sp.add_argument("--reps", type=int, default=5, help="--virtual: reps in the simulated set")
    sp.add_argument("--seed", type=int, default=0, help="--virtual: random seed")
    sp.add_argument("--virtual-loss", type=_nonneg, default=0.0, metavar="P", help="--virtual: notification loss")
    sp.add_argument("--virtual-disconnect-at", type=_positive, metavar="S", help="--virtual: drop the link at S s")
    sp.add_argument(
        "--virtual-rate-hz",
        type=_positive,
        metavar="HZ",
        help="--virtual: device rate (above 200 Hz only as a stress test)",
    )

    sp = add(
        "replay",
        cmd_replay,
        "decode, analyse and store a recorded capture (a batch job: the same decoders, "
        "timebase and analysis as a live stream)",
    )
    sp.add_argument("capture", metavar="CAPTURE")
    sp.add_argument("--exercise", required=True, metavar="EX")
    sp.add_argument("--load-kg", type=_positive, required=True, metavar="KG")
    sp.add_argument("--athlete-mass-kg", type=_positive, metavar="KG")

    add(
        "reanalyse",
        cmd_reanalyse,
        "re-run the bar-velocity analysis of every stored sensor session (after a method "
        "change) from its raw frames; --athlete for one athlete's",
    )

    sp = add("athlete", cmd_athlete, "show, set, list or delete athlete profiles")
    sp.add_argument("action", choices=["show", "set", "list", "delete"])
    sp.add_argument("--body-mass-kg", type=_positive, metavar="KG")
    sp.add_argument("--sex", choices=["female", "male"])
    sp.add_argument("--hr-rest", type=_positive, metavar="BPM")
    sp.add_argument("--hr-max", type=_positive, metavar="BPM")
    sp.add_argument("--tz", metavar="ZONE", help="IANA zone; phone-app exports (local times) are read in it")
    sp.add_argument(
        "--weight-unit",
        choices=["kg", "lb"],
        help="unit of a phone-app export that does not name its own (Strong's classic CSV; default kg)",
    )
    sp.add_argument(
        "--strength-start",
        metavar="DATE|auto",
        help="economy model: first strength week (default auto: the first heavy lower-body session)",
    )
    sp.add_argument(
        "--primary-proxy",
        choices=["speed_per_w_per_kg", "hr_at_reference_speed_bpm", "ef_proxy", "auto"],
        help="economy model: the primary proxy (default auto: the rule on baseline data)",
    )
    sp.add_argument(
        "--swc-pct",
        type=_positive,
        metavar="PCT",
        help="economy model: smallest worthwhile change in %% (default 2, Saunders et al. 2004)",
    )
    sp.add_argument("--swc-source", metavar="TEXT", help="where --swc-pct comes from (shown in the report)")
    sp.add_argument("--yes", action="store_true", help="confirm delete")

    sp = add(
        "correct",
        cmd_correct,
        "correct a set's exercise, exclude/include a run from the economy analysis, "
        "log a run's air temperature and shoe, or split / merge training sessions of the strength ledger",
    )
    g = sp.add_mutually_exclusive_group(required=True)
    g.add_argument("--set", metavar="SET_ID")
    g.add_argument(
        "--split",
        nargs="+",
        metavar="SOURCE_SESSION",
        help="move these source sessions (a FIT activity id, stream session id or app_session_id, or "
        "<source>:<id>) out of their training session into one of their own",
    )
    g.add_argument(
        "--merge",
        nargs="+",
        metavar="SESSION",
        help="make these training sessions (training_session_id, or one of their source sessions) one",
    )
    g.add_argument("--exclude", metavar="ACTIVITY_ID")
    g.add_argument("--include", metavar="ACTIVITY_ID")
    g.add_argument("--context", metavar="ACTIVITY_ID", help="log a run's air temperature and/or shoe")
    sp.add_argument("--exercise", metavar="EX")
    sp.add_argument("--reason", metavar="TEXT")
    sp.add_argument(
        "--air-temperature-c", type=_finite, metavar="C", help="--context: air temperature (not the watch's)"
    )
    sp.add_argument("--shoe", metavar="NAME", help="--context: the shoe worn")

    sp = add("event", cmd_event, "log shoe or HR-sensor changes the economy model adjusts for")
    sp.add_argument("action", choices=["add", "list", "delete"])
    sp.add_argument("--kind", choices=["shoe", "hr_sensor"])
    sp.add_argument("--at", type=_date, metavar="DATE", help="when the change happened (YYYY-MM-DD or ISO time, UTC)")
    sp.add_argument("--note", metavar="TEXT")

    templates_help = (
        "a folder of page templates and style sheet replacing the package's of the same name "
        "(report.css, athlete.html.j2, ...; docs/report.md)"
    )
    sp = add("report", cmd_report, "write the HTML report and report.json")
    sp.add_argument("--out", required=True, metavar="DIR")
    sp.add_argument("--since", type=_date, metavar="DATE")
    sp.add_argument("--templates", metavar="DIR", help=templates_help)

    sp = add("nightly", cmd_nightly, "import new files, merge streamed sessions, rebuild the report")
    sp.add_argument("--watch", required=True, metavar="DIR")
    sp.add_argument("--out", required=True, metavar="DIR")
    sp.add_argument("--templates", metavar="DIR", help=templates_help)

    sp = add("export", cmd_export, "export the store as Hive-partitioned Parquet")
    sp.add_argument("--parquet", required=True, metavar="DIR")

    sp = add("lake", cmd_lake, "copy a DuckDB store into the lake (push), or one athlete back out (pull)")
    sp.add_argument("action", choices=["push", "pull"])

    sp = add("demo", cmd_demo, "run the whole pipeline on the bundled sample data")
    sp.add_argument("--out", default="demo-output", metavar="DIR")
    return p


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    args.db_given = args.db is not None
    args.athlete_given = args.athlete is not None or "RUNSTRONG_ATHLETE" in os.environ
    args.athlete_on_command_line = args.athlete is not None  # `lake push` without it copies every athlete
    if args.command == "demo" and args.db is None:
        args.db = str(Path(args.out) / "runstrong.duckdb")
    if args.db is None:
        from jobs.commands import default_db_path

        args.db = str(default_db_path())
    if args.athlete is None:
        args.athlete = os.environ.get("RUNSTRONG_ATHLETE", "default")
    if args.lake is None:
        args.lake = os.environ.get("RUNSTRONG_LAKE") or None
    if args.lake_data is None:
        args.lake_data = os.environ.get("RUNSTRONG_LAKE_DATA") or None
    args.lake_config = None  # built in main(), where its errors map to exit codes
    return args


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="runstrong: %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    from jobs.commands import FAILED_ERRORS, LOCKED_ERRORS, UNREACHABLE_ERRORS, USAGE_ERRORS, lake_config

    usage: tuple[type[Exception], ...] = (UsageError, *USAGE_ERRORS)
    failed: tuple[type[Exception], ...] = (CommandFailed, *FAILED_ERRORS)
    try:
        args.lake_config = lake_config(args.lake, args.lake_data, encrypted=args.lake_encrypted)
        return int(args.func(args))
    except LOCKED_ERRORS as exc:
        info(f"runstrong: {exc}")
        return EXIT_LOCKED
    except UNREACHABLE_ERRORS as exc:
        info(f"runstrong {args.command}: {exc}")
        return EXIT_UNREACHABLE
    except usage as exc:
        info(f"runstrong {args.command}: {exc}")
        return EXIT_USAGE
    except failed as exc:
        info(f"runstrong {args.command}: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        info("runstrong: interrupted")
        return 130
    except Exception as exc:
        if os.environ.get("RUNSTRONG_DEBUG"):
            raise
        info(
            f"runstrong {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(set RUNSTRONG_DEBUG=1 for a traceback)"
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
