"""A whole capture file as compact arrays: the streamed, vectorised reader of the batch replay.

:func:`read_capture_arrays` reads a capture (``.capture.jsonl``, optionally ``.gz``) in bounded
chunks and returns :class:`CaptureArrays`: the header, the notifications as arrays (arrival
``t_ns``, characteristic code, payload bytes with offsets) and the link events with their place
among the notifications. It accepts and refuses exactly what :func:`ingest.ble.capture.read_capture`
does, with the same errors (``CaptureFormatError`` naming the line), because every line it cannot
prove canonical goes through that module's own parsers (``_parse_header``, ``_parse_record``);
a torn last line or a gzip stream without its trailer is dropped and reported as ``truncated``.

Why arrays: ``read_capture`` builds one Python object per line (~0.3 kB each, 2.6 GB for a 200 MB
capture), and a per-line ``json.loads`` is itself the floor of a Python parser. Here lines written
the way :class:`~ingest.ble.capture.CaptureWriter` writes them (``{"t_ns":N,"char":"...","data":"hex"}``,
no spaces) are recognised in bulk: the lines of a chunk are grouped by length, and in each group a
*template* line is parsed with ``json.loads`` and re-serialised canonically; every other line of the
group must equal the template byte for byte except in the digits of ``t_ns`` and the hex digits of
``data``, which must be decimal digits (no leading zero) and lower-case hex. Such a line is exactly
the JSON object of the template with its own number and payload, so it is decoded with numpy
(digits to int64, hex pairs to bytes) without ``json.loads``. Anything else (a link event, a
different spacing or key order, upper-case hex, a number of 19 digits or more, a malformed line) is
parsed line by line as ``read_capture`` does. Memory: ~40 bytes per notification plus one chunk.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.ble.capture import (
    MAX_SPAN_NS,
    CaptureFormatError,
    CaptureHeader,
    LinkEvent,
    Notification,
    Record,
    _parse_header,
    _parse_record,
)

CHUNK_BYTES = 4 << 20
"""Decompressed bytes handled per step (bounds the reader's working memory)."""
READ_BYTES = 1 << 20
"""Bytes read from the file per call."""
MAX_PENDING_LINE_BYTES = 8 << 20
"""A line longer than this is refused while reading (memory bound; the format's own line limit,
if any, is checked by the line parser)."""
MAX_FAST_DIGITS = 18
"""``t_ns`` of up to 18 digits fits int64 whatever its digits; longer ones take the line parser."""
MAX_FAST_LINE_BYTES = 4096
"""Longer lines take the line parser (and its checks); a notification's line is < 1.2 kB."""
_NL = 10
_HEX_LUT = np.zeros(256, dtype=np.uint8)
_HEX_LUT[48:58] = np.arange(10, dtype=np.uint8)
_HEX_LUT[97:103] = np.arange(10, 16, dtype=np.uint8)
_KIND_NOTIFICATION, _KIND_LINK, _KIND_BLANK = 0, 1, 2

Progress = Callable[[int, int], None]


@dataclass
class CaptureArrays:
    """A capture's notifications and link events as arrays, in file order.

    Attributes
    ----------
    header : CaptureHeader
    t_ns : numpy.ndarray
        int64 ``(n,)`` arrival time of each notification (capture clock), non-decreasing.
    char_code : numpy.ndarray
        int32 ``(n,)`` index of each notification's characteristic in ``chars``.
    chars : tuple of str
        The characteristic UUIDs (lower case) met in the file.
    payload : numpy.ndarray
        uint8, the payloads one after the other; notification ``i`` is ``payload[offsets[i]:offsets[i + 1]]``.
    offsets : numpy.ndarray
        int64 ``(n + 1,)``.
    link_t_ns : numpy.ndarray
        int64 ``(m,)`` time of each link event.
    link_events : tuple of str
        ``'connected'`` / ``'disconnected'``.
    link_position : numpy.ndarray
        int64 ``(m,)`` number of notifications before each link event in the file.
    truncated : bool
        The file ended mid-line or mid-gzip-stream (a killed writer): what was complete is kept.
    """

    header: CaptureHeader
    t_ns: np.ndarray
    char_code: np.ndarray
    chars: tuple[str, ...]
    payload: np.ndarray
    offsets: np.ndarray
    link_t_ns: np.ndarray
    link_events: tuple[str, ...]
    link_position: np.ndarray
    truncated: bool = False

    @property
    def notifications(self) -> int:
        return int(self.t_ns.size)

    @property
    def first_t_ns(self) -> int | None:
        """``t_ns`` of the first record (notification or link event), None for an empty capture."""
        firsts = []
        if self.t_ns.size:
            firsts.append((0, 1, int(self.t_ns[0])))
        if self.link_t_ns.size:
            firsts.append((int(self.link_position[0]), 0, int(self.link_t_ns[0])))
        return min(firsts)[2] if firsts else None

    @property
    def last_t_ns(self) -> int | None:
        """``t_ns`` of the last record, None for an empty capture (times never go backwards)."""
        lasts = []
        if self.t_ns.size:
            lasts.append(int(self.t_ns[-1]))
        if self.link_t_ns.size:
            lasts.append(int(self.link_t_ns[-1]))
        return max(lasts) if lasts else None

    @property
    def anchor_t_ns(self) -> int:
        """The header's ``anchor_t_ns``, else the first record's ``t_ns`` (as ``Capture.anchor_t_ns``)."""
        if self.header.anchor_t_ns is not None:
            return self.header.anchor_t_ns
        first = self.first_t_ns
        return 0 if first is None else first

    def payload_of(self, i: int) -> bytes:
        return self.payload[self.offsets[i] : self.offsets[i + 1]].tobytes()

    def records(self) -> Iterator[Record]:
        """The records in file order, as :func:`~ingest.ble.capture.read_capture` gives them."""
        k = 0
        for pos, t, ev in zip(self.link_position.tolist(), self.link_t_ns.tolist(), self.link_events, strict=True):
            while k < pos:
                yield self._notification(k)
                k += 1
            yield LinkEvent(int(t), ev)
        while k < self.notifications:
            yield self._notification(k)
            k += 1

    def _notification(self, i: int) -> Notification:
        return Notification(int(self.t_ns[i]), self.chars[int(self.char_code[i])], self.payload_of(i))


# ------------------------------------------------------------------------------------------ bytes
def _raw_chunks(path: Path, progress: Progress | None) -> Iterator[tuple[bytes, bool]]:
    """The file's decompressed bytes in chunks, with ``True`` once a gzip stream ended early."""
    total = path.stat().st_size
    done = 0
    gz = path.suffix == ".gz"
    with open(path, "rb") as fh:
        if not gz:
            while block := fh.read(READ_BYTES):
                done += len(block)
                if progress is not None:
                    progress(done, total)
                yield block, False
            return
        head = fh.read(2)
        fh.seek(0)
        if head and head != b"\x1f\x8b":
            raise CaptureFormatError(path, 1, f"not a gzip file: Not a gzipped file ({head!r})")
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        ended = True  # no stream started yet
        while block := fh.read(READ_BYTES):
            done += len(block)
            while block:
                try:
                    out = d.decompress(block)
                except zlib.error:
                    # damaged data: keep what decompressed before it (the chunk holding the damage
                    # is lost; read_capture keeps nothing of such a file)
                    yield b"", True
                    return
                ended = d.eof
                if out:
                    yield out, False
                block = d.unused_data if d.eof else b""
                if d.eof and block:  # another gzip member follows
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    ended = False
            if progress is not None:
                progress(done, total)
        if not ended:
            yield b"", True


# ------------------------------------------------------------------------------------------ lines
@dataclass(frozen=True)
class _Template:
    """A canonical notification line of length ``length``: which bytes are fixed, where its digits
    and hex digits are, and its characteristic."""

    line: np.ndarray
    fixed: np.ndarray
    digits: slice
    hex: slice
    char: str

    @staticmethod
    def of(line: bytes) -> _Template | None:
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(doc, dict) or list(doc) != ["t_ns", "char", "data"]:
            return None
        t, char, data = doc["t_ns"], doc["char"], doc["data"]
        if isinstance(t, bool) or not isinstance(t, int) or not isinstance(char, str) or not isinstance(data, str):
            return None
        digits = str(t)
        if t < 0 or len(digits) > MAX_FAST_DIGITS or len(data) % 2:
            return None
        if any(c not in "0123456789abcdef" for c in data):
            return None
        if json.dumps(doc, separators=(",", ":")).encode() != line:
            return None
        d0 = len(b'{"t_ns":')
        h0 = len(line) - len(data) - len(b'"}')
        arr = np.frombuffer(line, dtype=np.uint8)
        fixed = np.ones(arr.size, dtype=bool)
        fixed[d0 : d0 + len(digits)] = False
        fixed[h0 : h0 + len(data)] = False
        return _Template(
            arr, np.flatnonzero(fixed), slice(d0, d0 + len(digits)), slice(h0, h0 + len(data)), char.lower()
        )

    def matches(self, rows: np.ndarray) -> np.ndarray:
        """Which rows (``(m, length)`` uint8) are this template with other digits and hex digits."""
        ok: np.ndarray = (rows[:, self.fixed] == self.line[self.fixed]).all(axis=1)
        dig = rows[:, self.digits]
        ok &= ((dig >= 48) & (dig <= 57)).all(axis=1)
        if dig.shape[1] > 1:
            ok &= dig[:, 0] != 48  # JSON has no leading zeros
        hx = rows[:, self.hex]
        ok &= (((hx >= 48) & (hx <= 57)) | ((hx >= 97) & (hx <= 102))).all(axis=1)
        return ok

    def values(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``t_ns`` (int64) and payloads (``(m, k)`` uint8) of matching rows."""
        dig = rows[:, self.digits]
        t = np.zeros(rows.shape[0], dtype=np.int64)
        for k in range(dig.shape[1]):
            t = t * 10 + (dig[:, k].astype(np.int64) - 48)
        nib = _HEX_LUT[rows[:, self.hex]]
        payload = (nib[:, 0::2] << 4) | nib[:, 1::2]
        return t, payload


@dataclass
class _Block:
    """One chunk of complete lines, parsed: per line its kind, time, payload length and char code."""

    kind: np.ndarray
    t_ns: np.ndarray
    plen: np.ndarray
    code: np.ndarray
    payload: np.ndarray  # the notification lines' payloads, in line order
    link: list[tuple[int, str]]  # (line index, event)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.codes: dict[str, int] = {}
        self.header: CaptureHeader | None = None
        self.anchor: int | None = None
        self.last_t: int | None = None
        self.lineno = 0  # lines handed out so far (the header is line 1)
        self.t_parts: list[np.ndarray] = []
        self.code_parts: list[np.ndarray] = []
        self.plen_parts: list[np.ndarray] = []
        self.payload_parts: list[np.ndarray] = []
        self.link_t: list[int] = []
        self.link_ev: list[str] = []
        self.link_pos: list[int] = []
        self.n = 0

    def code_of(self, char: str) -> int:
        code = self.codes.get(char)
        if code is None:
            code = self.codes[char] = len(self.codes)
        return code

    # -------------------------------------------------------------- a chunk of complete lines
    def lines(self, buf: bytes) -> None:
        """Parse ``buf``: complete lines, each ending with a newline."""
        a = np.frombuffer(buf, dtype=np.uint8)
        ends = np.flatnonzero(a == _NL)
        if not ends.size:
            return
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        if self.header is None:
            self.header = _parse_header(self.path, buf[: ends[0]])
            self.lineno = 1
            starts, ends = starts[1:], ends[1:]
            if not ends.size:
                return
        block = self._parse(buf, a, starts, ends)
        self._check_and_keep(block)
        self.lineno += ends.size

    def _parse(self, buf: bytes, a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> _Block:
        n = ends.size
        lens = ends - starts
        kind = np.full(n, -1, dtype=np.int8)  # -1: not parsed yet
        t = np.zeros(n, dtype=np.int64)
        plen = np.zeros(n, dtype=np.int64)
        code = np.zeros(n, dtype=np.int32)
        groups: list[tuple[np.ndarray, np.ndarray]] = []  # (line indices, payload rows) parsed in bulk
        uniq = np.unique(lens)
        for length in uniq.tolist():
            if length < 16 or length > MAX_FAST_LINE_BYTES:
                continue  # not a usual notification line: the line parser says what it is
            idx = np.flatnonzero(lens == length) if uniq.size > 1 else np.arange(n)
            rows = np.lib.stride_tricks.sliding_window_view(a, length)[starts[idx]]
            for _attempt in range(3):  # a second or third layout within one length (rare)
                todo = np.flatnonzero(kind[idx] == -1)
                if not todo.size:
                    break
                first = int(idx[todo[0]])
                tpl = _Template.of(buf[starts[first] : ends[first]])
                if tpl is None:
                    break
                sub = rows[todo] if todo.size != idx.size else rows
                ok = tpl.matches(sub)
                if not ok.any():
                    break
                sel = todo[ok]
                lines_ok = idx[sel]
                tv, pv = tpl.values(sub[ok])
                kind[lines_ok] = _KIND_NOTIFICATION
                t[lines_ok] = tv
                plen[lines_ok] = pv.shape[1]
                code[lines_ok] = self.code_of(tpl.char)
                groups.append((lines_ok, pv))
        link: list[tuple[int, str]] = []
        singles: list[tuple[int, bytes]] = []
        for i in np.flatnonzero(kind == -1).tolist():
            line = buf[starts[i] : ends[i]]
            if not line.strip():
                kind[i] = _KIND_BLANK
                continue
            rec = _parse_record(self.path, self.lineno + 1 + i, line)
            t[i] = rec.t_ns
            if isinstance(rec, LinkEvent):
                kind[i] = _KIND_LINK
                link.append((i, rec.event))
            else:
                kind[i] = _KIND_NOTIFICATION
                plen[i] = len(rec.data)
                code[i] = self.code_of(rec.char)
                singles.append((i, rec.data))
        is_note = kind == _KIND_NOTIFICATION
        note_lines = np.flatnonzero(is_note)
        if len(groups) == 1 and not singles and groups[0][0].size == note_lines.size:
            payload = groups[0][1].reshape(-1)  # the usual chunk: one layout, in line order
        else:
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(plen, out=offsets[1:])
            payload = np.empty(int(offsets[-1]), dtype=np.uint8)
            for lines_ok, pv in groups:
                k = pv.shape[1]
                if k:
                    view = np.lib.stride_tricks.as_strided(
                        payload, shape=(max(payload.size - k + 1, 0), k), strides=(1, 1), writeable=True
                    )
                    view[offsets[lines_ok]] = pv
            for i, data in singles:
                payload[offsets[i] : offsets[i] + len(data)] = np.frombuffer(data, dtype=np.uint8)
        return _Block(kind, t, plen, code, payload, link)

    def _check_and_keep(self, b: _Block) -> None:
        """Times never go backwards (from the previous chunk on) and stay within the span of one
        capture; keep the block's arrays. The first offending line is named."""
        timed = np.flatnonzero(b.kind != _KIND_BLANK)
        if timed.size:
            assert self.header is not None
            tt = b.t_ns[timed]
            prev = np.empty_like(tt)
            prev[0] = tt[0] if self.last_t is None else self.last_t
            prev[1:] = tt[:-1]
            if self.anchor is None:
                self.anchor = self.header.anchor_t_ns if self.header.anchor_t_ns is not None else int(tt[0])
            back = tt < prev
            far = np.abs(tt - self.anchor) > MAX_SPAN_NS
            bad = np.flatnonzero(back | far)
            if bad.size:
                j = int(bad[0])
                line = self.lineno + 1 + int(timed[j])
                if back[j]:
                    raise CaptureFormatError(
                        self.path, line, f"t_ns goes backwards ({int(tt[j])} after {int(prev[j])})"
                    )
                raise CaptureFormatError(
                    self.path,
                    line,
                    f"t_ns {int(tt[j])} is {abs(int(tt[j]) - self.anchor) / 86400e9:.1f} days "
                    f"from the capture's anchor {self.anchor}: over the "
                    f"{MAX_SPAN_NS // 86400 // 10**9}-day limit of one capture",
                )
            self.last_t = int(tt[-1])
        is_note = b.kind == _KIND_NOTIFICATION
        before = np.cumsum(is_note) - is_note  # notifications before each line of the block
        for i, event in b.link:
            self.link_t.append(int(b.t_ns[i]))
            self.link_ev.append(event)
            self.link_pos.append(self.n + int(before[i]))
        self.t_parts.append(b.t_ns[is_note])
        self.code_parts.append(b.code[is_note])
        self.plen_parts.append(b.plen[is_note])
        self.payload_parts.append(b.payload)
        self.n += int(is_note.sum())

    def result(self, truncated: bool) -> CaptureArrays:
        assert self.header is not None
        plen = np.concatenate(self.plen_parts) if self.plen_parts else np.zeros(0, np.int64)
        offsets = np.zeros(plen.size + 1, dtype=np.int64)
        np.cumsum(plen, out=offsets[1:])
        chars = tuple(sorted(self.codes, key=self.codes.__getitem__))
        return CaptureArrays(
            header=self.header,
            t_ns=np.concatenate(self.t_parts) if self.t_parts else np.zeros(0, np.int64),
            char_code=np.concatenate(self.code_parts) if self.code_parts else np.zeros(0, np.int32),
            chars=chars,
            payload=np.concatenate(self.payload_parts) if self.payload_parts else np.zeros(0, np.uint8),
            offsets=offsets,
            link_t_ns=np.asarray(self.link_t, dtype=np.int64),
            link_events=tuple(self.link_ev),
            link_position=np.asarray(self.link_pos, dtype=np.int64),
            truncated=truncated,
        )


def read_capture_arrays(
    path: str | Path, *, chunk_bytes: int = CHUNK_BYTES, progress: Progress | None = None
) -> CaptureArrays:
    """Read and validate a whole capture file into :class:`CaptureArrays`, in bounded chunks.

    Raises :class:`~ingest.ble.capture.CaptureFormatError` (a ValueError naming the line) for
    anything :func:`~ingest.ble.capture.read_capture` refuses. ``progress(done, total)`` hears of
    the bytes of the file read so far (compressed bytes for ``.gz``).
    """
    p = Path(path)
    reader = _Reader(p)
    pending = bytearray()
    truncated = False
    seen_any = False
    for block, broken in _raw_chunks(p, progress):
        if broken:
            truncated = True
            break
        if not block:
            continue
        seen_any = True
        pending += block
        if len(pending) < chunk_bytes:
            continue
        cut = pending.rfind(b"\n")
        if cut >= 0:
            reader.lines(bytes(pending[: cut + 1]))
            del pending[: cut + 1]
        if len(pending) > MAX_PENDING_LINE_BYTES:
            raise CaptureFormatError(p, reader.lineno + 1, f"the line is longer than {MAX_PENDING_LINE_BYTES} bytes")
    if not seen_any and not pending:
        raise CaptureFormatError(p, 1, "empty file: the header line is missing")
    cut = pending.rfind(b"\n")
    if cut >= 0:
        reader.lines(bytes(pending[: cut + 1]))
        del pending[: cut + 1]
    tail = bytes(pending)
    if tail:
        if reader.header is None:
            reader.header = _parse_header(p, tail)
            reader.lineno = 1
        else:
            try:
                json.loads(tail)
            except (ValueError, RecursionError):
                truncated = True  # torn by a crash: dropped, as read_capture does
            else:
                reader.lines(tail + b"\n")
    if reader.header is None:
        raise CaptureFormatError(p, 1, "empty file: the header line is missing")
    return reader.result(truncated)
