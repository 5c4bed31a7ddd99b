"""Capture files (``.capture.jsonl``, optionally ``.gz``): record and read raw BLE notifications.

Format (docs/cli.md, "Capture file format"):

* line 1, the header: ``{"format": "runstrong-capture", "version": 1, "sensor": ..., "device_name":
  str|null, "device_address": str|null, "configured_rate_hz": float|null, "started_at": ISO-8601 UTC}``;
  we add ``"anchor_t_ns"``: the capture-clock ``t_ns`` at ``started_at`` (the contract allows added
  fields; readers fall back to the first record's ``t_ns`` when it is missing);
* then one line per notification ``{"t_ns": int, "char": "<uuid lower case>", "data": "<hex>"}``
  or per link event ``{"t_ns": int, "event": "connected"|"disconnected"}``.

The writer flushes at least every ``flush_every_s`` seconds and every ``flush_every_lines`` lines, so
a crash loses at most that much; gzip output is flushed with a sync flush, so a truncated
``.gz`` still reads up to the last flush. The reader validates the header and every line and
names the line number in its errors; a torn last line (the writer was killed mid-line) is
dropped and reported through :attr:`Capture.truncated`.

Validation covers everything the store will compute from a capture, so that a hostile or broken
capture is refused before anything is written (no landing file): lines of at most
:data:`MAX_LINE_BYTES` and JSON nested at most :data:`MAX_JSON_DEPTH` deep; ``started_at`` from
1970 to before 2200; ``t_ns`` and ``anchor_t_ns`` integers in ``[0, 2**63)``, never going backwards,
and every ``t_ns`` within :data:`MAX_SPAN_NS` (7 days) of the anchor; a finite positive
``configured_rate_hz``. Within these, a sample's UTC time (``started_at + t_ns - anchor``) always
fits the store's int64 nanoseconds and Python's datetime.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import math
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from records.times import iso_utc, parse_iso_utc

FORMAT = "runstrong-capture"
VERSION = 1
SENSORS = ("witmotion", "heart_rate", "running_speed_cadence", "cycling_power")
LINK_EVENTS = ("connected", "disconnected")

#: Longest line a capture may hold (a notification's line is < 1.2 kB: BLE payloads are <= 512 bytes).
MAX_LINE_BYTES = 64 * 1024
#: Deepest JSON nesting accepted in a line (the format itself nests 1 level).
MAX_JSON_DEPTH = 8
#: Earliest and latest ``started_at`` accepted (UTC).
MIN_STARTED_AT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_STARTED_AT = datetime(2200, 1, 1, tzinfo=UTC)
#: Largest distance of a ``t_ns`` from the capture's anchor: a capture is one session, not a week.
MAX_SPAN_NS = 7 * 86400 * 10**9
_T_NS_MAX = 2**63


class CaptureFormatError(ValueError):
    """A capture file does not follow the format; names the file and line."""

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        super().__init__(f"{path}: line {line}: {message}")


@dataclass(frozen=True)
class CaptureHeader:
    sensor: str
    started_at: datetime
    device_name: str | None = None
    device_address: str | None = None
    configured_rate_hz: float | None = None
    anchor_t_ns: int | None = None
    """Capture-clock ``t_ns`` at ``started_at``; None = the first record's ``t_ns``."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.sensor not in SENSORS:
            raise ValueError(f"sensor must be one of {', '.join(SENSORS)}, got {self.sensor!r}")
        iso_utc(self.started_at)  # aware check

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "sensor": self.sensor,
            "device_name": self.device_name,
            "device_address": self.device_address,
            "configured_rate_hz": None if self.configured_rate_hz is None else float(self.configured_rate_hz),
            "started_at": iso_utc(self.started_at),
        }
        if self.anchor_t_ns is not None:
            doc["anchor_t_ns"] = int(self.anchor_t_ns)
        for k, v in self.extra.items():
            doc.setdefault(k, v)
        return doc


@dataclass(frozen=True)
class Notification:
    t_ns: int
    char: str
    data: bytes


@dataclass(frozen=True)
class LinkEvent:
    t_ns: int
    event: str


Record = Notification | LinkEvent


@dataclass
class Capture:
    header: CaptureHeader
    records: list[Record]
    truncated: bool = False
    """The file ended mid-line or mid-gzip-stream (a writer that was killed): what was complete is kept."""

    @property
    def anchor_t_ns(self) -> int:
        if self.header.anchor_t_ns is not None:
            return self.header.anchor_t_ns
        return self.records[0].t_ns if self.records else 0

    @property
    def notifications(self) -> list[Notification]:
        return [r for r in self.records if isinstance(r, Notification)]


def _is_gzip(path: Path) -> bool:
    return path.suffix == ".gz"


class CaptureWriter:
    """Append notifications and link events to a capture file.

    Use as a context manager, or call :meth:`close`. Lines are buffered and flushed to the OS at
    least every ``flush_every_s`` seconds (checked on each write) and every ``flush_every_lines``.
    """

    def __init__(
        self, path: str | Path, header: CaptureHeader, *, flush_every_s: float = 0.5, flush_every_lines: int = 500
    ) -> None:
        self.path = Path(path)
        self.header = header
        self.flush_every_s = flush_every_s
        self.flush_every_lines = flush_every_lines
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._raw: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._gz: gzip.GzipFile | None = gzip.GzipFile(fileobj=self._raw, mode="wb") if _is_gzip(self.path) else None
        self._out: gzip.GzipFile | IO[bytes] = self._gz if self._gz is not None else self._raw
        self._pending = 0
        self._last_flush = time.monotonic()
        self.lines = 0
        self._write(header.to_json())
        self.flush()

    def _write(self, doc: dict[str, Any]) -> None:
        self._out.write(json.dumps(doc, separators=(",", ":")).encode() + b"\n")
        self.lines += 1
        self._pending += 1
        if self._pending >= self.flush_every_lines or time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def notification(self, t_ns: int, char: str, data: bytes) -> None:
        self._write({"t_ns": int(t_ns), "char": char.lower(), "data": bytes(data).hex()})

    def link_event(self, t_ns: int, event: str) -> None:
        if event not in LINK_EVENTS:
            raise ValueError(f"link event must be one of {LINK_EVENTS}, got {event!r}")
        self._write({"t_ns": int(t_ns), "event": event})

    def flush(self) -> None:
        if self._gz is not None:
            self._gz.flush(zlib.Z_SYNC_FLUSH)
        self._raw.flush()
        self._pending = 0
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if self._raw.closed:
            return
        if self._gz is not None:
            self._gz.close()
        self._raw.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_text(path: Path) -> gzip.GzipFile | IO[bytes]:
    if _is_gzip(path):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _nesting(line: bytes) -> int:
    """Deepest bracket nesting of a JSON line (brackets inside strings counted too: an upper bound)."""
    depth = best = 0
    for b in line:
        if b in (0x5B, 0x7B):
            depth += 1
            best = max(best, depth)
        elif b in (0x5D, 0x7D):
            depth -= 1
    return best


def _load_line(path: Path, lineno: int, line: bytes, what: str) -> Any:
    """``json.loads`` of one line, with the line length and nesting checked first."""
    if len(line) > MAX_LINE_BYTES:
        raise CaptureFormatError(
            path, lineno, f"{what} is {len(line)} bytes long, over the {MAX_LINE_BYTES}-byte limit"
        )
    if (line.count(b"[") + line.count(b"{")) > MAX_JSON_DEPTH and _nesting(line) > MAX_JSON_DEPTH:
        raise CaptureFormatError(path, lineno, f"{what} nests JSON deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(line)


def _finite_positive(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v) and v > 0


def _t_ns_ok(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int) and 0 <= v < _T_NS_MAX


def _parse_header(path: Path, line: bytes) -> CaptureHeader:
    try:
        doc = _load_line(path, 1, line, "the header")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CaptureFormatError(path, 1, f"header is not JSON ({exc.msg if hasattr(exc, 'msg') else exc})") from None
    if not isinstance(doc, dict):
        raise CaptureFormatError(path, 1, "header must be a JSON object")
    if doc.get("format") != FORMAT:
        raise CaptureFormatError(
            path, 1, f"not a runstrong capture: format is {doc.get('format')!r}, expected {FORMAT!r}"
        )
    if doc.get("version") != VERSION:
        raise CaptureFormatError(
            path, 1, f"unsupported capture version {doc.get('version')!r} (this reader reads {VERSION})"
        )
    sensor = doc.get("sensor")
    if sensor not in SENSORS:
        raise CaptureFormatError(path, 1, f"sensor must be one of {', '.join(SENSORS)}, got {sensor!r}")
    started = doc.get("started_at")
    if not isinstance(started, str):
        raise CaptureFormatError(path, 1, "started_at (ISO-8601 UTC) is missing")
    try:
        started_at = parse_iso_utc(started)
    except (ValueError, OverflowError) as exc:
        raise CaptureFormatError(path, 1, f"started_at: {exc}") from None
    if not MIN_STARTED_AT <= started_at < MAX_STARTED_AT:
        raise CaptureFormatError(
            path,
            1,
            f"started_at {started!r} is outside {MIN_STARTED_AT:%Y-%m-%d} to "
            f"{MAX_STARTED_AT:%Y-%m-%d}: not a capture's start",
        )
    for key in ("device_name", "device_address"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise CaptureFormatError(path, 1, f"{key} must be a string or null")
    rate = doc.get("configured_rate_hz")
    if rate is not None and not _finite_positive(rate):
        raise CaptureFormatError(path, 1, f"configured_rate_hz must be a finite positive number or null, got {rate!r}")
    anchor = doc.get("anchor_t_ns")
    if anchor is not None and not _t_ns_ok(anchor):
        raise CaptureFormatError(path, 1, f"anchor_t_ns must be an integer in [0, 2**63), got {anchor!r}")
    known = {
        "format",
        "version",
        "sensor",
        "device_name",
        "device_address",
        "configured_rate_hz",
        "started_at",
        "anchor_t_ns",
    }
    return CaptureHeader(
        sensor,
        started_at,
        doc.get("device_name"),
        doc.get("device_address"),
        None if rate is None else float(rate),
        anchor,
        {k: v for k, v in doc.items() if k not in known},
    )


def _parse_record(path: Path, lineno: int, line: bytes) -> Record:
    try:
        doc = _load_line(path, lineno, line, "the line")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CaptureFormatError(path, lineno, "not a JSON line") from None
    if not isinstance(doc, dict):
        raise CaptureFormatError(path, lineno, "expected a JSON object")
    t = doc.get("t_ns")
    if isinstance(t, bool) or not isinstance(t, int):
        raise CaptureFormatError(path, lineno, f"t_ns must be an integer, got {t!r}")
    if not _t_ns_ok(t):
        raise CaptureFormatError(path, lineno, f"t_ns {t} is outside [0, 2**63)")
    if "event" in doc:
        if doc["event"] not in LINK_EVENTS:
            raise CaptureFormatError(path, lineno, f"event must be one of {LINK_EVENTS}, got {doc['event']!r}")
        return LinkEvent(t, doc["event"])
    char, data = doc.get("char"), doc.get("data")
    if not isinstance(char, str) or not isinstance(data, str):
        raise CaptureFormatError(path, lineno, "a notification needs string fields char and data")
    try:
        payload = bytes.fromhex(data)
    except ValueError:
        raise CaptureFormatError(path, lineno, "data is not hex") from None
    return Notification(t, char.lower(), payload)


def read_capture(path: str | Path) -> Capture:
    """Read and validate a whole capture file."""
    p = Path(path)
    truncated = False
    lines: list[bytes] = []
    with _open_text(p) as fh:
        try:
            data = fh.read()
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            # A killed writer leaves no gzip trailer: keep what decompressed.
            if isinstance(exc, gzip.BadGzipFile) and not _partial_ok(p):
                raise CaptureFormatError(p, 1, f"not a gzip file: {exc}") from None
            data = _read_gzip_prefix(p)
            truncated = True
    if not data:
        raise CaptureFormatError(p, 1, "empty file: the header line is missing")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    elif len(lines) > 1:
        # The last line has no newline: torn by a crash if it does not parse.
        try:
            _load_line(p, len(lines), lines[-1], "the last line")
        except (json.JSONDecodeError, UnicodeDecodeError):
            lines.pop()
            truncated = True
    header = _parse_header(p, lines[0])
    records: list[Record] = []
    last_t: int | None = None
    anchor = header.anchor_t_ns
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        rec = _parse_record(p, lineno, line)
        if last_t is not None and rec.t_ns < last_t:
            raise CaptureFormatError(p, lineno, f"t_ns goes backwards ({rec.t_ns} after {last_t})")
        anchor = rec.t_ns if anchor is None else anchor
        if abs(rec.t_ns - anchor) > MAX_SPAN_NS:
            raise CaptureFormatError(
                p,
                lineno,
                f"t_ns {rec.t_ns} is {abs(rec.t_ns - anchor) / 86400e9:.1f} days from "
                f"the capture's anchor {anchor}: over the {MAX_SPAN_NS // 86400 // 10**9}"
                "-day limit of one capture",
            )
        last_t = rec.t_ns
        records.append(rec)
    return Capture(header, records, truncated)


def _partial_ok(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _read_gzip_prefix(path: Path) -> bytes:
    """Decompress as much of a truncated gzip file as possible."""
    raw = path.read_bytes()
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = io.BytesIO()
    with contextlib.suppress(zlib.error):
        out.write(d.decompress(raw))
    return out.getvalue()
