"""docs/operations.md walks a clinic through the lake: its commands are run here as written (the
catalog, the /srv paths and `runstrong` replaced by the test's), and what they leave is checked.
Also the PostgreSQL role the docs give a station."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest

from store.lake import LakeConfig
from tests.lake.conftest import PgServer
from tests.lake.helpers import RUNS, cli, plain_lake, table_counts
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.slow

DOC_CATALOG = "postgres:dbname=runstrong host=/run/postgresql port=5432"


def _block(marker: str, lang: str) -> str:
    text = (REPO_ROOT / "docs" / "operations.md").read_text()
    m = re.search(rf"<!-- {marker} -->\s*```{lang}\n(.*?)```", text, re.DOTALL)
    assert m, f"docs/operations.md lost its {marker} block"
    return m.group(1)


def test_the_clinic_walkthrough_of_the_docs_runs_as_written(lake: LakeConfig, tmp_path: Path) -> None:
    srv = tmp_path / "srv"
    srv.mkdir()
    laptop = srv / "laptop.duckdb"  # the coach's existing store
    assert (
        cli("--athlete", "carl", "import", str(RUNS / "garmin-fenix-5-run.fit"), db=laptop, lake=None).returncode == 0
    )
    inbox = srv / "inbox" / "ola"
    inbox.mkdir(parents=True)
    shutil.copy(RUNS / "activity-small-fenix2-run.fit", inbox)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTRONG_")}
    ran = []
    for raw in _block("lake-walkthrough", "sh").splitlines():
        line = raw.split("   #")[0].strip()
        if not line or line.startswith("#"):
            continue
        line = line.replace(DOC_CATALOG, lake.catalog).replace("/srv/runstrong", str(srv))
        words = shlex.split(line)
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        assert words[0] == "runstrong", line
        r = subprocess.run(
            [sys.executable, str(REPO_ROOT / "pipeline.py"), *words[1:]],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=REPO_ROOT,
            env=env,
        )
        assert r.returncode == 0, (line, r.stderr)
        ran.append(words[1:])
    assert env["RUNSTRONG_LAKE"] == lake.catalog and len(ran) >= 9
    con = plain_lake(lake)
    carl, jane, ola = (table_counts(con, "lake.", a) for a in ("carl", "jane", "ola"))
    assert carl["source_file"] == 1 and carl["record"] > 0  # pushed
    assert jane["source_file"] == len(list(RUNS.glob("*.fit"))) and jane["stream_session"] == 1 and jane["rep"] == 3
    assert con.execute("SELECT body_mass_kg, tz FROM lake.athlete WHERE athlete = 'jane'").fetchall() == [
        (61.0, "Europe/Oslo")
    ]
    assert {k: v for k, v in ola.items() if v} == {"deleted_file": ola["deleted_file"], "deleted_athlete": 1}
    con.close()
    report = json.loads((srv / "www" / "report.json").read_text())
    assert {"carl", "jane", "ola"} <= {a["athlete"] for a in report["athletes"]}
    offline = duckdb.connect(str(srv / "jane-offline.duckdb"), read_only=True)
    assert offline.execute("SELECT count(*) FROM record WHERE athlete = 'jane'").fetchone()[0] == jane["record"]
    assert offline.execute("SELECT count(DISTINCT athlete) FROM activity").fetchone()[0] == 1
    offline.close()
    landing = srv / "station.duckdb.landing"  # the streamed session merged: no landing file left
    assert not landing.exists() or not list(landing.rglob("*.duckdb"))


def test_a_station_role_without_create_privilege_imports_and_reports(
    lake: LakeConfig, pg_server: PgServer, tmp_path: Path
) -> None:
    """The grants of docs/operations.md, "Setting up the catalog", are enough for a station (and the
    role cannot create tables); the owner created the lake first."""
    db = tmp_path / "s.duckdb"
    assert cli("--athlete", "jane", "import", str(RUNS / "garmin-fenix-5-run.fit"), db=db, lake=lake).returncode == 0
    dbname = lake.catalog.split("dbname=")[1].split()[0]
    role = f"station_{uuid.uuid4().hex[:8]}"
    sql = [ln for ln in _block("lake-station-grants", "sql").splitlines() if ln and not ln.startswith("--")]
    pg_server.psql(dbname, f"CREATE ROLE {role} LOGIN")
    pg_server.psql(dbname, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    for stmt in sql:
        pg_server.psql(
            dbname, stmt.replace("runstrong_station", role).replace("DATABASE runstrong", f"DATABASE {dbname}")
        )
    station = LakeConfig(lake.catalog.replace("user=postgres", f"user={role}"))
    r = cli("--athlete", "ola", "import", str(RUNS / "activity-small-fenix2-run.fit"), db=db, lake=station)
    assert r.returncode == 0, r.stderr
    r = cli("--athlete", "jane", "athlete", "set", "--body-mass-kg", "60", db=db, lake=station)
    assert r.returncode == 0, r.stderr
    r = cli("report", "--out", str(tmp_path / "www"), db=db, lake=station)
    assert r.returncode == 0, r.stderr
    out = subprocess.run(
        [
            str(pg_server.bin / "psql"),
            "-h",
            str(pg_server.root),
            "-p",
            str(pg_server.port),
            "-U",
            role,
            "-d",
            dbname,
            "-c",
            "CREATE TABLE x (a int)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        **({"user": "postgres"} if os.geteuid() == 0 else {}),
    )
    assert out.returncode != 0 and "permission denied" in out.stderr
