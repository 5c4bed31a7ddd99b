"""What `import` reads and how it names it: regular files only, bounded reads, lazy archives, escaped
names (issue 12, items 5c, 6 and 15)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ingest.fit.sources as sources
from ingest.fit.importer import import_paths
from store.connection import open_store
from tests.ingest.fit.archives import zip_bytes as _zip

REPO = Path(__file__).resolve().parents[3]
RUN = (REPO / "sample_data" / "fit" / "runs" / "garmin-fenix-5-run.fit").read_bytes()
WALK = (REPO / "sample_data" / "fit" / "other" / "garmin-fenix-5-walk.fit").read_bytes()


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "pipeline.py"), *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def test_a_fifo_is_skipped_and_nothing_blocks(tmp_path: Path) -> None:
    """A FIFO named *.fit used to hang `import` forever (opened, then read, while the store was held).
    It is skipped with a reason and the batch completes; on main this run hits the timeout."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    os.mkfifo(inbox / "a_pipe.fit")
    (inbox / "b_run.fit").write_bytes(RUN)
    r = _cli("--db", str(tmp_path / "x.duckdb"), "--json", "import", str(inbox), timeout=60)
    doc = json.loads(r.stdout)
    by = {Path(f["path"]).name: f for f in doc["files"]}
    assert by["a_pipe.fit"]["status"] == "skipped"
    assert by["a_pipe.fit"]["reason"] == "not a regular file (a FIFO): not read"
    assert by["b_run.fit"]["status"] == "imported"
    assert r.returncode == 0  # a skip does not change the exit code


def test_a_path_swapped_for_a_fifo_after_the_check_is_caught_without_blocking(tmp_path: Path, monkeypatch) -> None:
    """The race: the path was a regular file when checked and is a FIFO when opened. The descriptor
    is opened non-blocking and checked again, so the read never waits for a writer."""
    fifo = tmp_path / "swapped.fit"
    os.mkfifo(fifo)
    regular = os.stat(REPO / "pipeline.py")
    real_stat = os.stat
    monkeypatch.setattr(sources.os, "stat", lambda p, *a, **k: regular if Path(p) == fifo else real_stat(p, *a, **k))
    items = list(sources.iter_sources([fifo]))  # would block forever in open() or read() otherwise
    assert [(i.skip, i.data) for i in items] == [("not a regular file (a FIFO): not read", None)]


def test_devices_and_sockets_are_skipped(tmp_path: Path) -> None:
    """`x.fit -> /dev/zero` (st_size 0, then an endless read) is a character device: not read."""
    import socket

    (tmp_path / "zero.fit").symlink_to("/dev/zero")
    (tmp_path / "null.fit.gz").symlink_to("/dev/null")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.fit"))
    try:
        items = {Path(i.path).name: i for i in sources.iter_sources([tmp_path])}
    finally:
        sock.close()
    assert items["zero.fit"].skip == "not a regular file (a character device): not read"
    assert items["null.fit.gz"].skip == "not a regular file (a character device): not read"
    assert items["sock.fit"].skip == "not a regular file (a socket): not read"
    assert all(i.data is None for i in items.values())


def test_reads_are_bounded_whatever_the_size_fields_say(monkeypatch) -> None:
    """A stream that never ends (a file still growing, a /proc file with st_size 0) is read up to the
    limit plus one chunk, then refused."""
    monkeypatch.setattr(sources, "MAX_FIT_BYTES", 3 * 1024 * 1024)
    served = 0

    def endless(n: int) -> bytes:
        nonlocal served
        served += n
        return b"\0" * n

    with pytest.raises(sources.TooLarge, match="larger than the 3 MiB limit"):
        sources._fit_from("x.fit", endless)
    assert served <= 3 * 1024 * 1024 + 1
    import gzip

    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))
    with pytest.raises(sources.TooLarge, match="gzip bomb"):
        sources._fit_from("x.fit.gz", io.BytesIO(bomb).read)


def test_archive_member_names_are_printed_escaped(tmp_path: Path) -> None:
    """A member name carrying terminal escape codes (or a bidi override) never reaches the terminal
    as such: it is shown escaped, in the human output, the JSON and the stored event."""
    evil = "pwn\x1b]0;owned\x07\x1b[2J\u202egnp.fit"
    (tmp_path / "export.zip").write_bytes(_zip({evil: b"not a fit file at all"}))
    db = tmp_path / "x.duckdb"
    human = _cli("--db", str(db), "import", str(tmp_path / "export.zip"))
    assert human.returncode == 1
    out = human.stdout + human.stderr
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "pwn\\x1b]0;owned\\x07\\x1b[2J\\u202egnp.fit" in out
    again = _cli("--db", str(db), "--json", "import", str(tmp_path / "export.zip"))
    [f] = json.loads(again.stdout)["files"]
    assert f["path"].endswith("!pwn\\x1b]0;owned\\x07\\x1b[2J\\u202egnp.fit")


def test_printable_keeps_ordinary_names() -> None:
    assert sources.printable("Läufe/2026-03-01 Zürich.fit") == "Läufe/2026-03-01 Zürich.fit"
    assert sources.printable("a\tb\x9bc\x7f") == "a\\x09b\\x9bc\\x7f"


def test_an_archive_listing_too_many_members_is_refused_before_its_directory_is_read(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(sources, "MAX_ARCHIVE_MEMBERS", 10)
    (tmp_path / "many.zip").write_bytes(_zip({f"{i}.fit": b"x" for i in range(11)}))
    (tmp_path / "few.zip").write_bytes(_zip({f"{i}.fit": b"x" for i in range(10)}))

    def no_directory_read(*a, **k):
        raise AssertionError("zipfile.ZipFile opened an archive over the member limit")

    many = list(sources.iter_sources([tmp_path / "many.zip"]))
    assert [i.error for i in many] == ["archive lists 11 members, over the limit of 10"]
    monkeypatch.setattr(sources.zipfile, "ZipFile", no_directory_read)
    assert next(sources.iter_sources([tmp_path / "many.zip"])).error.startswith("archive lists 11")
    monkeypatch.undo()
    monkeypatch.setattr(sources, "MAX_ARCHIVE_MEMBERS", 10)
    assert len(list(sources.iter_sources([tmp_path / "few.zip"]))) == 10


def test_nested_archives_spill_to_disk_and_nesting_is_bounded(tmp_path: Path, monkeypatch) -> None:
    """A nested zip bigger than SPOOL_BYTES goes through a temporary file; nesting deeper than
    MAX_ZIP_DEPTH is refused; the FIT files found are the same either way."""
    monkeypatch.setattr(sources, "SPOOL_BYTES", 1024)
    inner = _zip({"a.fit": RUN, "b.fit": WALK})
    level = inner
    for _ in range(sources.MAX_ZIP_DEPTH - 1):
        level = _zip({"inner.zip": level})
    (tmp_path / "ok.zip").write_bytes(_zip({"inner.zip": level}))  # the FIT files at depth MAX_ZIP_DEPTH
    (tmp_path / "deep.zip").write_bytes(_zip({"inner.zip": _zip({"inner.zip": level})}))
    ok = list(sources.iter_sources([tmp_path / "ok.zip"]))
    assert [i.data for i in ok] == [RUN, WALK]
    deep = list(sources.iter_sources([tmp_path / "deep.zip"]))
    assert len(deep) == 1 and deep[0].error == f"archives nested deeper than {sources.MAX_ZIP_DEPTH} levels"


def test_sources_are_produced_lazily(tmp_path: Path) -> None:
    """iter_sources yields the first file before it has read the second (the importer relies on it:
    items are never listed ahead)."""
    (tmp_path / "a.fit").write_bytes(RUN)
    (tmp_path / "b.fit").write_bytes(WALK)
    it = sources.iter_sources([tmp_path])
    first = next(it)
    assert first.data == RUN
    (tmp_path / "b.fit").write_bytes(b"changed after the first item was produced")
    assert next(it).data == b"changed after the first item was produced"


def test_skipped_non_regular_files_are_recorded_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p.fit")
    con = open_store(tmp_path / "x.duckdb")
    s = import_paths(con, [tmp_path], athlete="default", show_progress=False)
    assert [(f.status, f.reason) for f in s.files] == [("skipped", "not a regular file (a FIFO): not read")]
    assert con.execute("SELECT status, reason FROM import_event").fetchall() == [
        ("skipped", "not a regular file (a FIFO): not read")
    ]
    assert s.exit_code == 0
