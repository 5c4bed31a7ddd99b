"""The fast FIT decoder: one pass over message headers, then numpy per message layout.

fitparse decodes field by field in Python (~2,000 records/s); this decoder produces the same
:class:`~ingest.fit.model.DecodedFit` (same names, values, NaN/None positions; fitparse is the
test oracle) at numpy speed:

1. **Walk.** A tight loop over message headers. Data messages of one local type have a fixed
   size, so the loop only appends each message's payload offset to its *layout group* (the
   definition's global number, byte order, fields and developer fields) and jumps ahead.
   Definitions, file headers (chained files) and the developer_data_id / field_description
   messages (which later definitions need) are interpreted as they come. The CRC of each chained
   part is checked with a vectorised CRC-16.
2. **Decode.** For every group of a stored message type, the payloads are gathered into an
   ``(n, size)`` byte matrix and every field is read as one numpy column (either byte order),
   with the invalid value of its base type masked; then the profile semantics fitparse applies
   are applied to whole columns: sub-field selection (per row), enum names, scale/offset,
   component expansion (``speed`` -> ``enhanced_speed``, ``compressed_speed_distance`` ->
   ``speed`` + accumulated ``distance``, ...), date_time conversion, developer fields named by
   their field_description.
3. **Sequence-dependent state** is computed vectorised in file order across groups:
   compressed-timestamp headers (5-bit offsets accumulated on the last full timestamp of any
   message) and accumulated components (reset by each definition that declares them).
4. **Merge** groups of one message type back into file order, into the columnar form of
   :mod:`ingest.fit.model`.

Damaged files (CRC mismatch, truncation, bad header, undefined local type, bad field size)
keep the messages before the damage and say what is wrong in ``DecodedFit.error``, as fitparse
does. Inputs whose fitparse behaviour this module does not reproduce raise
:class:`FastDecodeUnsupported`; the importer then decodes the file with fitparse, whole.
"""

from __future__ import annotations

import datetime as dt
import struct
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from ingest.fit.model import MAX_MESSAGES, STORED_MESSAGES, DecodedFit, FitTooLarge, MessageColumns
from ingest.fit.profile_tables import (
    BASE_BYTE,
    BASE_TYPES,
    FIELD_NUM_TIMESTAMP,
    FIT_EPOCH_S,
    MESG_DEVELOPER_DATA_ID,
    MESG_FIELD_DESCRIPTION,
    TIMESTAMP_SPEC,
    BaseSpec,
    ComponentSpec,
    FieldSpec,
    message_name,
    message_spec,
)

__all__ = ["MAX_LAYOUTS", "MAX_MESSAGES", "FastDecodeUnsupported", "FitTooLarge", "decode_fast"]

#: Most distinct message layouts (definitions that differ) one file may hold; real files hold < 100.
MAX_LAYOUTS = 65_536
#: Rows of one layout decoded at a time: the decoder's working memory is bounded by this, not by
#: the file (only the decoded columns grow with the file).
CHUNK_ROWS = 131_072
#: The header walk checks the message count at least every this many bytes.
_WALK_STRIDE = 4 * 1024 * 1024


class FastDecodeUnsupported(Exception):
    """The input uses something this decoder does not reproduce; decode it with fitparse instead."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(reason if offset is None else f"{reason} (at byte offset {offset})")


class _Damage(Exception):
    """Internal: the file is damaged at ``offset``; messages before it are kept."""

    def __init__(self, kind: str, detail: str, offset: int) -> None:
        self.kind = kind
        self.detail = detail
        self.offset = offset
        super().__init__(f"{kind}: {detail} (at byte offset {offset})")


# ------------------------------------------------------------------------------------------
# CRC-16 (the FIT CRC is CRC-16/ARC: reflected polynomial 0xA001, initial value 0)


def _crc_byte_table() -> np.ndarray:
    t = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        t[i] = c
    return t


_CRC_TABLE = _crc_byte_table()
_CRC_TABLE_LIST: list[int] = _CRC_TABLE.tolist()


def _crc_word_table() -> np.ndarray:
    """State after two bytes: with a 16-bit state it depends only on state ^ (b0 | b1 << 8)."""
    v = np.arange(65536, dtype=np.uint32)
    t = _CRC_TABLE[v & 0xFF]
    word_table: npt.NDArray[np.uint16] = ((t >> 8) ^ _CRC_TABLE[((v >> 8) ^ t) & 0xFF]).astype(np.uint16)
    return word_table


_CRC_WORD_TABLE = _crc_word_table()


@cache
def _crc_zero_shift_tables(n_words: int) -> tuple[list[int], list[int]]:
    """Tables giving the CRC state after ``n_words`` zero words, from any state (the CRC is linear)."""
    state = np.array([1 << b for b in range(16)], dtype=np.uint16)
    for _ in range(n_words):
        state = _CRC_WORD_TABLE[state]
    basis = [int(x) for x in state.tolist()]
    lo = [0] * 256
    hi = [0] * 256
    for v in range(256):
        a = 0
        b = 0
        for bit in range(8):
            if v >> bit & 1:
                a ^= basis[bit]
                b ^= basis[bit + 8]
        lo[v] = a
        hi[v] = b
    return lo, hi


def fit_crc16(data: bytes | memoryview | np.ndarray) -> int:
    """The FIT CRC of ``data`` (as the SDK computes it), vectorised for large inputs.

    The data is cut into equal chunks (zero-padded at the front, which leaves a zero-initialised
    CRC unchanged), the chunks' CRCs run side by side two bytes per step, and the chunk CRCs are
    combined with precomputed zero-shift tables.
    """
    arr = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    n = arr.size
    if n < 512:
        crc = 0
        tab = _CRC_TABLE_LIST
        for b in arr.tobytes():
            crc = (crc >> 8) ^ tab[(crc ^ b) & 0xFF]
        return crc
    words_per_chunk = 8
    while words_per_chunk * words_per_chunk * 64 < n:
        words_per_chunk *= 2
    chunk = 2 * words_per_chunk
    m = -(-n // chunk)
    padded = np.zeros(m * chunk, dtype=np.uint8)
    padded[m * chunk - n :] = arr
    cols = padded.view("<u2").reshape(m, words_per_chunk).T.copy()
    chunk_crc = np.zeros(m, dtype=np.uint16)
    table = _CRC_WORD_TABLE
    for j in range(words_per_chunk):
        chunk_crc = table.take(chunk_crc ^ cols[j])
    lo, hi = _crc_zero_shift_tables(words_per_chunk)
    total = 0
    for c in chunk_crc.tolist():
        total = lo[total & 0xFF] ^ hi[total >> 8] ^ c
    return total


# ------------------------------------------------------------------------------------------
# Walk: headers, definitions, layout groups


@dataclass(frozen=True)
class _DevField:
    """A developer field as its field_description defined it (fitparse's DevField)."""

    name: str
    base: BaseSpec
    units: str | None


@dataclass(eq=False)
class _Group:
    """All data messages sharing one layout (definitions with identical content are merged)."""

    mesg_num: int
    endian: str
    fields: tuple[tuple[int, int, BaseSpec], ...]  # (def_num, size, base type)
    dev_fields: tuple[tuple[int, int, int, _DevField], ...]  # (def_num, size, dev index, field)
    size: int
    offs: array[int] = field(default_factory=lambda: array("q"))  # payload offsets (after the header byte), 8 B each


@dataclass
class _Walk:
    groups: list[_Group]
    resets: list[tuple[int, int, int]]  # (definition offset, mesg_num, component target def_num)
    compressed: array[int]  # header offsets of compressed-timestamp data messages
    segments: list[int]  # offsets where each chained FIT file starts
    error: str | None


_DEV_ID_FIELDS = {"developer_data_index": 3, "application_id": 1}
_FIELD_DESC_FIELDS = {
    "developer_data_index": 0,
    "field_definition_number": 1,
    "fit_base_type_id": 2,
    "field_name": 3,
    "units": 8,
}


def _parse_string(raw: bytes) -> str | None:
    nul = raw.find(b"\x00")
    if nul >= 0:
        raw = raw[:nul]
    return raw.decode("utf-8", errors="replace") or None


def _raw_scalar_values(data: bytes, off: int, g: _Group) -> dict[int, Any]:
    """Raw values of one message (fitparse's parsed raw values), keyed by field def_num."""
    out: dict[int, Any] = {}
    pos = off
    for num, size, base in g.fields:
        chunk = data[pos : pos + size]
        pos += size
        if base.kind == "string":
            val: Any = _parse_string(chunk)
        elif base.kind == "byte":
            val = None if all(b == 0xFF for b in chunk) else tuple(chunk)
        else:
            fmt = {
                "u1": "B",
                "i1": "b",
                "u2": "H",
                "i2": "h",
                "u4": "I",
                "i4": "i",
                "u8": "Q",
                "i8": "q",
                "f4": "f",
                "f8": "d",
            }[base.np_code]
            vals = struct.unpack(g.endian + fmt * (size // base.size), chunk)
            parsed = [_invalid_to_none(v, base) for v in vals]
            val = parsed[0] if len(parsed) == 1 else tuple(parsed)
        out.setdefault(num, val)
    return out


def _invalid_to_none(v: Any, base: BaseSpec) -> Any:
    if base.kind == "float":
        return None if v != v else v
    return None if v == base.invalid else v


class _LocalState:
    """The local message types of one FIT part, with per-header-byte tables for the hot loop."""

    def __init__(self) -> None:
        self.sizes = [-1] * 16
        self.appends: list[Any] = [None] * 16
        self.hooks: list[Any] = [None] * 16
        self.poison: list[tuple[str, int] | None] = [None] * 16
        self.hsize = [-1] * 256  # message size per header byte; < 0: careful path
        self.happ: list[Any] = [None] * 256
        self.max_size = 0

    def define(self, local: int, size: int, append: Any, hook: Any, poison: tuple[str, int] | None = None) -> None:
        self.sizes[local] = size
        self.appends[local] = append
        self.hooks[local] = hook
        self.poison[local] = poison
        self.max_size = max(self.max_size, size)
        for h in (local, local | 0x10, local | 0x20, local | 0x30):  # bits 4-5 are ignored in data headers
            self.hsize[h] = -3 if hook is not None or poison is not None else size
            self.happ[h] = append


class _Walker:
    """The header walk of one file (all its chained parts)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.groups: dict[tuple[Any, ...], _Group] = {}
        self.resets: list[tuple[int, int, int]] = []
        self.compressed = array("q")
        self.segments: list[int] = []
        self.dev_types: dict[Any, dict[Any, _DevField]] = {}
        self.definitions = 0

    def run(self) -> _Walk:
        data = self.data
        n = len(data)
        pos = 0
        error: str | None = None
        try:
            while True:
                self.segments.append(pos)
                seg_start = pos
                start, end, header_crc = self._file_header(pos)
                read_on = self._size_disagrees(end) and self._read_on(seg_start, start, end, header_crc)
                if read_on:
                    error = read_on
                    break
                if header_crc is not None:
                    raise _Damage("CRC mismatch", f"header CRC: {header_crc}", seg_start + 12)
                pos = self._messages(start, end)
                if pos + 2 > n:
                    raise _Damage("truncated file", f"expected 2 CRC bytes, got {max(n - pos, 0)}", pos)
                computed = fit_crc16(memoryview(data)[seg_start:pos])
                stored = data[pos] | data[pos + 1] << 8
                if computed != stored:
                    raise _Damage(
                        "CRC mismatch", f"expected (computed) 0x{computed:04X}, got (stored) 0x{stored:04X}", pos
                    )
                pos += 2
                if pos >= n:
                    break
        except _Damage as exc:
            error = str(exc)
        return _Walk(list(self.groups.values()), self.resets, self.compressed, self.segments, error)

    def _file_header(self, pos: int) -> tuple[int, int, str | None]:
        """(first message offset, declared end of the messages, the header CRC's mismatch or None)."""
        data = self.data
        n = len(data)
        if n - pos < 12:
            raise _Damage("truncated file", f"expected a 12-byte file header, got {n - pos} bytes", pos)
        if data[pos + 8 : pos + 12] != b".FIT":
            raise _Damage(
                "invalid FIT header", f"expected '.FIT' at bytes 8-11, got {bytes(data[pos + 8 : pos + 12])!r}", pos
            )
        header_size = data[pos]
        data_size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        start = pos + 12
        extra = header_size - 12
        crc_error = None
        if extra > 0:
            if extra < 2:
                raise _Damage("invalid FIT header", f"expected a header size of 12 or >= 14, got {header_size}", pos)
            if n - start < extra:
                raise _Damage("truncated file", f"expected {extra} more header bytes, got {n - start}", start)
            stored = data[start] | data[start + 1] << 8
            computed = fit_crc16(memoryview(data)[pos : pos + 12])
            if stored not in (0, computed):
                crc_error = f"expected 0x{computed:04X}, got 0x{stored:04X}"
            start += extra
        return start, start + data_size, crc_error

    # -- a header whose data_size is wrong ------------------------------------------------------

    def _size_disagrees(self, end: int) -> bool:
        """The header's data_size ends the messages neither 2 bytes (the CRC) before the end of
        the file nor before another chained FIT header."""
        data = self.data
        n = len(data)
        nxt = end + 2
        return nxt != n and not (nxt + 12 <= n and data[nxt + 8 : nxt + 12] == b".FIT")

    def _read_on(self, seg_start: int, start: int, end: int, header_crc: str | None) -> str | None:
        """Walk the messages to the file's last two bytes instead of the declared end; keep that
        walk when it ends exactly there and the file's CRC over it matches (every message intact,
        only data_size wrong): returns the error text naming the wrong size (the file is
        ``partial``). Otherwise everything this walk appended is undone and None returned: the
        declared size is followed, as fitparse does, and the damage reported where it is."""
        data = self.data
        n = len(data)
        if n - 2 < start:
            return None
        saved = self._state()
        try:
            pos = self._messages(start, n - 2)
            ok = pos == n - 2 and fit_crc16(memoryview(data)[seg_start:pos]) == (data[pos] | data[pos + 1] << 8)
        except _Damage:
            ok = False
        if not ok:
            self._restore(saved)
            return None
        note = f"; the header CRC does not match either ({header_crc})" if header_crc else ""
        return (
            f"wrong data size in the FIT header: it says {end - start} bytes of messages, the messages "
            f"run intact to the file's CRC ({n - 2 - start} bytes): read on{note} (at byte offset {seg_start + 4})"
        )

    def _state(self) -> tuple[Any, ...]:
        return (
            {k: len(g.offs) for k, g in self.groups.items()},
            len(self.resets),
            len(self.compressed),
            {k: dict(v) for k, v in self.dev_types.items()},
            self.definitions,
        )

    def _restore(self, saved: tuple[Any, ...]) -> None:
        lens, n_resets, n_compressed, dev_types, definitions = saved
        for k in list(self.groups):
            if k not in lens:
                del self.groups[k]
            else:
                del self.groups[k].offs[lens[k] :]
        del self.resets[n_resets:]
        del self.compressed[n_compressed:]
        self.dev_types = dev_types
        self.definitions = definitions

    # -- limits ---------------------------------------------------------------------------------

    def _check_count(self) -> None:
        total = self.definitions + sum(len(g.offs) for g in self.groups.values())
        if total > MAX_MESSAGES:
            raise FitTooLarge(f"holds more than {MAX_MESSAGES:,} messages, the per-file limit: refused")

    def _messages(self, pos: int, end: int) -> int:
        """Walk the messages of one FIT part; returns the offset after the last message.

        The hot loop handles plain data messages only: per header byte it knows the message
        size (``hsize``, negative = take the careful path) and the list to append the payload
        offset to, and it runs only where the longest message defined so far fits in the file.
        Definitions, compressed-timestamp headers, developer-data messages, undefined local
        types and the file's last bytes take the careful path, one message at a time. Every
        ``_WALK_STRIDE`` bytes the message count is checked against :data:`MAX_MESSAGES`.
        """
        data = self.data
        n = len(data)
        lim = min(end, n)
        st = _LocalState()
        hsize = st.hsize
        happ = st.happ
        next_check = pos + _WALK_STRIDE
        while pos < lim:
            safe = min(lim, n - st.max_size - 1, next_check)
            while pos < safe:
                s = hsize[data[pos]]
                if s < 0:
                    break
                happ[data[pos]](pos + 1)
                pos += s + 1
            if pos >= next_check:
                self._check_count()
                next_check = pos + _WALK_STRIDE
            if pos >= lim:
                break
            pos = self._careful_message(pos, st)
        if pos < end:
            raise _Damage("truncated file", f"expected {end - pos} more message bytes, got 0", pos)
        return pos

    def _careful_message(self, pos: int, st: _LocalState) -> int:
        data = self.data
        n = len(data)
        h = data[pos]
        if h & 0x40 and not h & 0x80:
            return self._definition(pos, st)
        local = (h >> 5) & 3 if h & 0x80 else h & 0x0F
        s = st.sizes[local]
        if s < 0:
            raise _Damage("malformed FIT data", f"data message with undefined local message type {local}", pos)
        poison = st.poison[local]
        if poison is not None:
            if pos + 1 + poison[1] > n:
                raise _Damage("truncated file", f"expected {poison[1]} bytes of message, got {n - pos - 1}", pos)
            raise _Damage("malformed FIT data", poison[0], pos)
        if pos + 1 + s > n:
            raise _Damage("truncated file", f"expected a {s}-byte message, got {n - pos - 1} bytes", pos)
        if h & 0x80:
            self.compressed.append(pos)
        st.appends[local](pos + 1)
        hook = st.hooks[local]
        if hook is not None:
            hook(pos + 1)
        return pos + s + 1

    def _definition(self, pos: int, st: _LocalState) -> int:
        """Parse a definition message in fitparse's read order (so the same damage is reported)."""
        data = self.data
        n = len(data)
        h = data[pos]
        local = h & 0x0F
        if pos + 3 > n:
            raise _Damage("truncated file", "expected the definition's reserved and architecture bytes", pos + 1)
        endian = ">" if data[pos + 2] else "<"
        if pos + 6 > n:
            raise _Damage("truncated file", "expected the definition's message number and field count", pos + 3)
        mesg_num = int.from_bytes(data[pos + 3 : pos + 5], "big" if endian == ">" else "little")
        nf = data[pos + 5]
        p = pos + 6
        poison: tuple[str, int] | None = None  # (reason, payload bytes fitparse reads before failing)
        fields: list[tuple[int, int, BaseSpec]] = []
        for _ in range(nf):
            if p + 3 > n:
                raise _Damage("truncated file", f"expected 3 bytes of field definition, got {n - p}", p)
            num, size, bt = data[p], data[p + 1], data[p + 2]
            base = BASE_TYPES.get(bt, BASE_BYTE)
            if size % base.size:
                raise _Damage(
                    "malformed FIT data",
                    f"field {num} of message {mesg_num}: expected a size that is a multiple of "
                    f"{base.size} for {base.name}, got {size}",
                    p,
                )
            if size == 0 and poison is None:  # fitparse fails on the first data message
                poison = (
                    f"Invalid struct format: field {num} of message {mesg_num} has size 0",
                    sum(f[1] for f in fields),
                )
            fields.append((num, size, base))
            p += 3
        dev_fields: list[tuple[int, int, int, _DevField]] = []
        if h & 0x20:
            if p + 1 > n:
                raise _Damage("truncated file", "expected the developer field count", p)
            nd = data[p]
            p += 1
            for _ in range(nd):
                if p + 3 > n:
                    raise _Damage("truncated file", f"expected 3 bytes of developer field definition, got {n - p}", p)
                num, size, idx = data[p], data[p + 1], data[p + 2]
                dtype = self.dev_types.get(idx)
                if dtype is None:
                    raise _Damage(
                        "malformed FIT data", f"No such dev_data_index={idx} found when looking up field {num}", p
                    )
                dev = dtype.get(num)
                if dev is None:
                    raise _Damage("malformed FIT data", f"No such field {num} for dev_data_index {idx}", p)
                # fitparse reads size // base size values of a developer field (no size check)
                eff = size // dev.base.size * dev.base.size
                if eff == 0 and poison is None:
                    poison = (
                        f"Invalid struct format: developer field {dev.name!r} has size {size}",
                        sum(f[1] for f in fields) + sum(f[1] for f in dev_fields),
                    )
                dev_fields.append((num, eff, idx, dev))
                p += 3
        self.definitions += 1
        key = (mesg_num, endian, tuple(fields), tuple(dev_fields))
        g = self.groups.get(key)
        if g is None:
            if len(self.groups) >= MAX_LAYOUTS:
                raise FitTooLarge(
                    f"defines more than {MAX_LAYOUTS:,} distinct message layouts, the per-file limit: refused"
                )
            total = sum(f[1] for f in fields) + sum(f[1] for f in dev_fields)
            g = _Group(mesg_num, endian, tuple(fields), tuple(dev_fields), total)
            self.groups[key] = g
        hook: Any = None
        if mesg_num == MESG_DEVELOPER_DATA_ID:
            hook = lambda off, g=g: self._developer_data_id(off, g)  # noqa: E731
        elif mesg_num == MESG_FIELD_DESCRIPTION:
            hook = lambda off, g=g: self._field_description(off, g)  # noqa: E731
        st.define(local, g.size, g.offs.append, hook, poison)
        spec = message_spec(mesg_num)
        if spec is not None and spec.name in STORED_MESSAGES:
            for num, _, _ in fields:
                fs = spec.fields.get(num)
                if fs is not None:
                    for c in fs.components:
                        if c.accumulate:
                            self.resets.append((pos, mesg_num, c.def_num))
        return p

    def _developer_data_id(self, off: int, g: _Group) -> None:
        raw = _raw_scalar_values(self.data, off, g)
        self.dev_types[raw.get(_DEV_ID_FIELDS["developer_data_index"])] = {}

    def _field_description(self, off: int, g: _Group) -> None:
        raw = _raw_scalar_values(self.data, off, g)
        idx = raw.get(_FIELD_DESC_FIELDS["developer_data_index"])
        num = raw.get(_FIELD_DESC_FIELDS["field_definition_number"])
        bt = raw.get(_FIELD_DESC_FIELDS["fit_base_type_id"])
        name = raw.get(_FIELD_DESC_FIELDS["field_name"])
        units = raw.get(_FIELD_DESC_FIELDS["units"])
        if idx not in self.dev_types:
            raise _Damage("malformed FIT data", f"No such dev_data_index={idx} found", off - 1)
        base = BASE_TYPES.get(bt) if isinstance(bt, int) else None
        if base is None:
            raise _Damage("malformed FIT data", f"field_description: expected a FIT base type id, got {bt!r}", off - 1)
        if not isinstance(name, str | None) or not isinstance(units, str | None):
            raise FastDecodeUnsupported("field_description with a non-string name or units", off - 1)
        self.dev_types[idx][num] = _DevField(name or f"unnamed_dev_field_{num}", base, units)


# ------------------------------------------------------------------------------------------
# Raw columns


@dataclass
class _Raw:
    """One field of one group, as fitparse's parsed raw values, in column form."""

    kind: str  # 'num' (scalar number), 'multi' (array), 'str', 'bytes'
    vals: np.ndarray  # num: 1-D array; multi: 2-D array; str/bytes: object array
    valid: np.ndarray  # num: 1-D bool; multi: 2-D bool; str/bytes: 1-D bool (value is not None)
    base: BaseSpec
    fvals: np.ndarray | None = None  # num: the values as float64, NaN where invalid


def _read_raw(mat: np.ndarray, start: int, size: int, base: BaseSpec, endian: str) -> _Raw:
    n = mat.shape[0]
    block = mat[:, start : start + size]
    if base.kind == "string":
        rows = np.ascontiguousarray(block)
        vals = np.empty(n, dtype=object)
        cache_: dict[bytes, str | None] = {}
        for i in range(n):
            b = rows[i].tobytes()
            s = cache_.get(b, "\x00")
            if s == "\x00":
                s = cache_[b] = _parse_string(b)
            vals[i] = s
        valid = np.fromiter((v is not None for v in vals), dtype=bool, count=n)
        return _Raw("str", vals, valid, base)
    if base.kind == "byte":
        valid = ~(block == 0xFF).all(axis=1)
        vals = np.fromiter(
            (tuple(r) if ok else None for r, ok in zip(block.tolist(), valid.tolist(), strict=True)),
            dtype=object,
            count=n,
        )
        return _Raw("bytes", vals, valid, base)
    k = size // base.size
    dt_ = np.dtype(endian + base.np_code) if base.size > 1 else np.dtype(base.np_code)
    arr = np.ascontiguousarray(block).view(dt_).reshape(n, k)
    if base.kind == "float":
        with np.errstate(invalid="ignore"):  # a signalling NaN (invalid float) becomes a quiet one
            arr = arr.astype(np.float64)
        valid2 = ~np.isnan(arr)
    else:
        valid2 = arr != base.invalid
        arr = arr.astype(np.int64) if base.np_code != "u8" else arr.astype(np.uint64)
    if k == 1:
        return _Raw("num", arr[:, 0], valid2[:, 0], base)
    return _Raw("multi", arr, valid2, base)


# ------------------------------------------------------------------------------------------
# Semantics (what fitparse's Field.render, _apply_scale_offset and data processor do)


def _scale_offset_array(x: np.ndarray, scale: float | None, offset: float | None) -> np.ndarray:
    x = x.astype(np.float64)
    if scale:
        x = x / scale
    if offset:
        x = x - offset
    return x


def _scale_offset_py(v: Any, scale: float | None, offset: float | None) -> Any:
    if isinstance(v, int | float) and not isinstance(v, bool):
        if scale:
            v = float(v) / scale
        if offset:
            v = v - offset
    return v


def _special_py(v: Any, special: str | None) -> Any:
    """fitparse's type processors, on one Python value; date/times become epoch seconds."""
    if v is None or special is None or isinstance(v, str):
        return v
    if special == "bool":
        return bool(v)
    if special == "date_time":
        return v + FIT_EPOCH_S if v >= 0x10000000 else v
    if special == "local_date_time":
        return v + FIT_EPOCH_S
    if special == "localtime_into_day":
        if not isinstance(v, int) or not 0 <= v < 86400:
            raise FastDecodeUnsupported(f"localtime_into_day value {v!r}")
        m, s = divmod(v, 60)
        h, m = divmod(m, 60)
        return dt.time(h, m, s)
    return v


def _special_array(x: np.ndarray, valid: np.ndarray, special: str | None) -> np.ndarray:
    """Type processors on a float column (NaN = absent); bool and time-of-day give objects."""
    if special is None:
        return x
    if special == "date_time":
        return np.where(x >= 0x10000000, x + FIT_EPOCH_S, x)
    if special == "local_date_time":
        return x + FIT_EPOCH_S
    out = np.empty(x.size, dtype=object)
    xs = x.tolist()
    for i in np.flatnonzero(valid).tolist():
        v = xs[i]
        out[i] = _special_py(int(v) if float(v).is_integer() else v, special)
    return out


def _render_field(spec: FieldSpec | None, raw: _Raw) -> np.ndarray:
    """The value column fitparse gives for ``spec`` (None: a field the profile does not know)."""
    n = raw.valid.shape[0]
    if spec is None:
        if raw.kind == "num":
            return raw.fvals if raw.fvals is not None else _nan_floats(raw)
        if raw.kind == "multi":
            return _tuples(raw, None, None)
        return raw.vals
    special = spec.special
    if raw.kind == "num" and not spec.values and special not in ("bool", "localtime_into_day"):
        x = raw.fvals if raw.fvals is not None else _nan_floats(raw)
        if spec.scale:
            x = x / spec.scale
        if spec.offset:
            x = x - spec.offset
        return _special_array(x, raw.valid, special)
    if raw.kind == "num":
        names = None
        if spec.values:
            ul, inv = _unique_inverse(raw.vals[raw.valid])
            looked = [spec.values.get(v) for v in ul]
            if any(s is not None for s in looked):
                names = (ul, looked, inv)
        if names is None and special not in ("bool", "localtime_into_day"):
            x = _scale_offset_array(raw.vals, spec.scale, spec.offset)
            x[~raw.valid] = np.nan
            return _special_array(x, raw.valid, special)
        out = np.empty(n, dtype=object)
        if names is None:
            ul, inv = _unique_inverse(raw.vals[raw.valid])
            names = (ul, [None] * len(ul), inv)
        ul, looked, inv = names
        table = np.empty(len(ul), dtype=object)
        for i, (v, s) in enumerate(zip(ul, looked, strict=True)):
            table[i] = s if s is not None else _special_py(_scale_offset_py(v, spec.scale, spec.offset), special)
        out[raw.valid] = table[inv]
        return out
    if raw.kind == "multi" or raw.kind == "bytes":
        if special is not None:
            raise FastDecodeUnsupported(f"array value for {spec.type_name} field {spec.name!r}")
        if raw.kind == "bytes":
            if not spec.scale and not spec.offset:
                return raw.vals
            out = np.empty(n, dtype=object)
            for i in np.flatnonzero(raw.valid).tolist():
                out[i] = tuple(_scale_offset_py(v, spec.scale, spec.offset) for v in raw.vals[i])
            return out
        return _tuples(raw, spec.scale, spec.offset)
    # strings: no enum, scale or processor applies to a str
    if special is not None and special != "bool":
        return raw.vals
    if special == "bool":
        return np.array([None if v is None else bool(v) for v in raw.vals], dtype=object)
    return raw.vals


def _unique_inverse(a: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Sorted distinct values (as Python numbers) and each element's index among them."""
    if a.size <= 64:
        lst = a.tolist()
        ul = sorted(set(lst))
        where = {v: i for i, v in enumerate(ul)}
        return ul, np.array([where[v] for v in lst], dtype=np.int64)
    u, inv = np.unique(a, return_inverse=True)
    return u.tolist(), inv


def _nan_floats(raw: _Raw) -> np.ndarray:
    x = raw.vals.astype(np.float64)
    x[~raw.valid] = np.nan
    return x


def _tuples(raw: _Raw, scale: float | None, offset: float | None) -> np.ndarray:
    """Array fields as tuples (invalid elements None), scale/offset per element like fitparse."""
    vals = raw.vals
    if scale or offset:
        vals = _scale_offset_array(vals, scale, offset)
    lists = vals.tolist()
    if not raw.valid.all():
        for i, j in zip(*np.nonzero(~raw.valid), strict=True):
            lists[i][j] = None
    return np.fromiter((tuple(r) for r in lists), dtype=object, count=len(lists))


# ------------------------------------------------------------------------------------------
# Group decoding


class _Columns:
    """The dict fitparse builds per message, for all rows of a group at once (masks per row)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.cols: dict[str, np.ndarray] = {}

    def emit(self, name: str, vals: np.ndarray, mask: np.ndarray | None) -> None:
        """Set ``name`` to ``vals`` on the rows in ``mask`` (None = all rows); later emits win."""
        if mask is not None and not mask.any():
            return
        col = self.cols.get(name)
        if col is None:
            if mask is None:
                self.cols[name] = vals.copy()
                return
            col = np.full(self.n, np.nan) if vals.dtype == np.float64 else np.full(self.n, None, dtype=object)
            self.cols[name] = col
        if col.dtype == np.float64 and vals.dtype != np.float64:
            col = _to_object(col)
            self.cols[name] = col
        elif col.dtype != np.float64 and vals.dtype == np.float64:
            vals = _to_object(vals)
        if mask is None:
            col[:] = vals
        else:
            col[mask] = vals[mask]


def _to_object(x: np.ndarray) -> np.ndarray:
    out = x.astype(object)
    out[np.isnan(x)] = None
    return out


def _subfield_masks(spec: FieldSpec, raws: dict[int, list[_Raw]], n: int) -> list[tuple[FieldSpec, np.ndarray | None]]:
    """Which variant (a sub-field or the field itself) fitparse picks on each row (None: all rows)."""
    if not spec.subfields:
        return [(spec, None)]
    remaining = np.ones(n, dtype=bool)
    out: list[tuple[FieldSpec, np.ndarray | None]] = []
    for sub in spec.subfields:
        m = np.zeros(n, dtype=bool)
        for ref_num, ref_val in sub.refs:
            for r in raws.get(ref_num, ()):
                if r.kind == "num":
                    m |= r.valid & (r.vals == ref_val)
        m &= remaining
        remaining &= ~m
        if m.any():
            out.append((sub, None if m.all() else m))
    if remaining.any():
        out.append((spec, None if remaining.all() else remaining))
    return out


def _and(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    both: npt.NDArray[np.bool_] = a & b
    return both


def _component_raw(c: ComponentSpec, raw: _Raw) -> tuple[np.ndarray, np.ndarray] | None:
    """The component's raw value per row (int64) and where it exists; None: fitparse skips it."""
    if raw.kind == "num":
        if raw.base.kind == "float":
            raise FastDecodeUnsupported("component expansion of a float field")
        v = (raw.vals.astype(np.uint64) >> np.uint64(c.bit_offset)) & np.uint64((1 << c.bits) - 1)
        return v.astype(np.int64), raw.valid
    if raw.kind == "bytes":
        width = raw.base.size * len(next((t for t in raw.vals if t is not None), ()))
        if width == 0:  # every row invalid
            return np.zeros(raw.valid.size, dtype=np.int64), raw.valid
        if c.bit_offset >= width * 8:
            return None
        if c.bit_offset + c.bits > 63 or width > 8:
            raise FastDecodeUnsupported("component wider than 63 bits")
        mat = np.array([t if t is not None else (0,) * width for t in raw.vals], dtype=np.uint64).reshape(-1, width)
        num = np.zeros(mat.shape[0], dtype=np.uint64)
        for j in range(width):
            num |= mat[:, j] << np.uint64(8 * j)
        v = (num >> np.uint64(c.bit_offset)) & np.uint64((1 << c.bits) - 1)
        return v.astype(np.int64), raw.valid
    raise FastDecodeUnsupported(f"component expansion of a {raw.kind} field")


def _render_component(c: ComponentSpec, target: FieldSpec, cval: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """fitparse: component scale/offset, then the target field's render (enum) and type processor."""
    x = cval.astype(np.float64)
    if c.scale:
        x = x / c.scale
    if c.offset:
        x = x - c.offset
    x[~valid] = np.nan
    special = target.special
    if target.values:
        present = x[valid]
        ul = np.unique(present).tolist()
        looked = {v: target.values.get(v) for v in ul}
        if any(s is not None for s in looked.values()):
            out = np.full(x.size, None, dtype=object)
            is_int = not c.scale and not c.offset
            for i in np.flatnonzero(valid).tolist():
                v = x[i]
                s = looked[v]
                out[i] = s if s is not None else _special_py(int(v) if is_int else v, special)
            return out
    return _special_array(x, valid, special)


def _offs(g: _Group) -> np.ndarray:
    """The group's payload offsets as an int64 array (a view: the walk is over)."""
    return np.frombuffer(g.offs, dtype=np.int64) if len(g.offs) else np.zeros(0, dtype=np.int64)


class _GroupDecoder:
    """Raw columns of some rows of a group (``offs``: their payload offsets)."""

    def __init__(self, data_u8: np.ndarray, g: _Group, offs: np.ndarray) -> None:
        self.g = g
        self.offs = offs
        n = offs.size
        self.n = n
        size = g.size
        if n and size:
            if n == 1 or np.all(np.diff(offs) == size + 1):
                view = np.lib.stride_tricks.as_strided(data_u8[offs[0] :], shape=(n, size), strides=(size + 1, 1))
                self.mat = view
            else:
                self.mat = data_u8[offs[:, None] + np.arange(size, dtype=np.int64)]
        else:
            self.mat = np.zeros((n, size), dtype=np.uint8)
        self.by_num: dict[int, list[_Raw]] = {}
        layout = [(fsize, base) for _, fsize, base in g.fields] + [
            (fsize, dev.base) for _, fsize, _, dev in g.dev_fields
        ]
        raws = self._read_all(layout)
        nf = len(g.fields)
        self.raws: list[_Raw] = raws[:nf]
        self.dev_raws: list[_Raw] = raws[nf:]
        for (num, _, _), r in zip(g.fields, self.raws, strict=True):
            self.by_num.setdefault(num, []).append(r)

    def _read_all(self, layout: list[tuple[int, BaseSpec]]) -> list[_Raw]:
        """Raw columns of every field; single numbers of one base type are read in one batch."""
        out: list[_Raw | None] = [None] * len(layout)
        batches: dict[int, list[tuple[int, int]]] = {}
        pos = 0
        for i, (fsize, base) in enumerate(layout):
            if base.kind in ("int", "float") and fsize == base.size:
                batches.setdefault(base.num, []).append((i, pos))
            else:
                out[i] = _read_raw(self.mat, pos, fsize, base, self.g.endian)
            pos += fsize
        n = self.n
        for bnum, items in batches.items():
            base = BASE_TYPES[bnum]
            w = base.size
            starts = np.array([st for _, st in items], dtype=np.int64)
            idx = (starts[:, None] + np.arange(w, dtype=np.int64)).ravel()
            block = np.ascontiguousarray(self.mat[:, idx])
            dt_ = np.dtype(self.g.endian + base.np_code) if w > 1 else np.dtype(base.np_code)
            arr = block.view(dt_).reshape(n, len(items))
            if base.kind == "float":
                with np.errstate(invalid="ignore"):  # a signalling NaN (invalid float) becomes a quiet one
                    vals = arr.astype(np.float64)
                valid = ~np.isnan(vals)
                fvals = vals
            else:
                valid = arr != base.invalid
                vals = arr  # native integer type (byte order included); Python ints via tolist()
                fvals = arr.astype(np.float64)
                fvals[~valid] = np.nan
            for j, (i, _) in enumerate(items):
                out[i] = _Raw("num", vals[:, j], valid[:, j], base, fvals[:, j])
        return [r for r in out if r is not None]


def _decode_group(
    gd: _GroupDecoder,
    acc: dict[tuple[int, int], np.ndarray],
    gi: int,
    ts_compressed: tuple[np.ndarray, np.ndarray] | None,
    data_u8: np.ndarray,
) -> _Columns:
    g = gd.g
    n = gd.n
    spec = message_spec(g.mesg_num)
    assert spec is not None
    out = _Columns(n)
    for fi, ((num, _, _), raw) in enumerate(zip(g.fields, gd.raws, strict=True)):
        fspec = spec.fields.get(num)
        if fspec is None:
            out.emit(f"unknown_{num}", _render_field(None, raw), None)
            continue
        for variant, mask in _subfield_masks(fspec, gd.by_num, n):
            for ci, c in enumerate(variant.components):
                target_main = spec.fields.get(c.def_num)
                if target_main is None:
                    raise FastDecodeUnsupported(f"component of {variant.name!r} targets unknown field {c.def_num}")
                cr = _component_raw(c, raw)
                if cr is None:
                    if not raw.valid.all():  # fitparse: None renders before the width check
                        inv = _and(~raw.valid, mask)
                        for tvar, tmask in _subfield_masks(target_main, gd.by_num, n):
                            out.emit(tvar.name, np.full(n, np.nan), _and(inv, tmask))
                    continue
                cval, cvalid = cr
                if c.accumulate:
                    cval = acc[(gi, fi * 64 + ci)]
                for tvar, tmask in _subfield_masks(target_main, gd.by_num, n):
                    vals = _render_component(c, tvar, cval, cvalid)
                    out.emit(tvar.name, vals, _and(tmask, mask))
            out.emit(variant.name, _render_field(variant, raw), mask)
    for (_, _, _, dev), raw in zip(g.dev_fields, gd.dev_raws, strict=True):
        out.emit(dev.name, _render_field(None, raw), None)
    if ts_compressed is not None:
        hdr = data_u8[gd.offs - 1]
        cm = hdr >= 0x80
        if cm.any():
            pos_sorted, ts_vals = ts_compressed
            idx = np.searchsorted(pos_sorted, gd.offs[cm] - 1)
            ts = np.full(n, np.nan)
            ts[cm] = ts_vals[idx]
            ts = _special_array(ts, cm, TIMESTAMP_SPEC.special)
            out.emit(TIMESTAMP_SPEC.name, ts, cm)
    return out


# ------------------------------------------------------------------------------------------
# Sequence-dependent state


def _segmented_accumulate(pos: np.ndarray, kind: np.ndarray, val: np.ndarray, bits: int) -> np.ndarray:
    """fitparse's compressed accumulation in file order, vectorised.

    Events sorted by position: kind 0 = reset/full value (the accumulator becomes ``val``),
    kind 1 = a ``bits``-bit value accumulated onto it (acc += (val - acc) mod 2**bits).
    Returns the accumulator after each event.
    """
    mod = 1 << bits
    full = kind == 0
    # the low bits the accumulator had before each event
    low_after = np.where(full, val & (mod - 1), val)
    prev_low = np.empty_like(val)
    prev_low[0] = 0
    prev_low[1:] = low_after[:-1]
    delta = np.where(full, 0, (val - prev_low) % mod)
    cs = np.cumsum(delta)
    idx = np.arange(val.size)
    last_full = np.maximum.accumulate(np.where(full, idx, -1))
    base = np.where(last_full >= 0, val[np.maximum(last_full, 0)], 0)
    cs_at = np.where(last_full >= 0, cs[np.maximum(last_full, 0)], 0)
    acc: np.ndarray = base + cs - cs_at
    return acc


def _compressed_timestamps(walk: _Walk, data_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    if not walk.compressed:
        return None
    pos_l: list[np.ndarray] = []
    kind_l: list[np.ndarray] = []
    val_l: list[np.ndarray] = []
    for seg in walk.segments:  # each chained part starts from 0
        pos_l.append(np.array([seg], dtype=np.int64))
        kind_l.append(np.array([0], dtype=np.int8))
        val_l.append(np.array([0], dtype=np.int64))
    for g in walk.groups:
        if any(d[0] == FIELD_NUM_TIMESTAMP for d in g.dev_fields):
            raise FastDecodeUnsupported("developer field numbered 253 in a file with compressed timestamps")
        start = 0
        for num, size, base in g.fields:
            if num == FIELD_NUM_TIMESTAMP and g.offs:
                if base.kind != "int" or size != base.size:
                    raise FastDecodeUnsupported("timestamp field that is not one integer, with compressed timestamps")
                offs = _offs(g)
                mat = data_u8[offs[:, None] + np.arange(start, start + size)]
                dt_ = np.dtype(g.endian + base.np_code) if base.size > 1 else np.dtype(base.np_code)
                v = np.ascontiguousarray(mat).view(dt_)[:, 0]
                ok = v != base.invalid
                # sort key: the field (in the payload) comes before the message's own compressed header
                pos_l.append(offs[ok] - 1)
                kind_l.append(np.zeros(int(ok.sum()), dtype=np.int8))
                val_l.append(v[ok].astype(np.int64))
            start += size
    cpos = np.frombuffer(walk.compressed, dtype=np.int64).copy()
    pos_l.append(cpos)
    kind_l.append(np.ones(cpos.size, dtype=np.int8))
    val_l.append((data_u8[cpos] & 0x1F).astype(np.int64))
    pos = np.concatenate(pos_l)
    kind = np.concatenate(kind_l)
    val = np.concatenate(val_l)
    order = np.lexsort((kind, pos))
    pos, kind, val = pos[order], kind[order], val[order]
    acc = _segmented_accumulate(pos, kind, val, 5)
    sel = kind == 1
    return pos[sel], acc[sel]


def _field_raw(data_u8: np.ndarray, g: _Group, fi: int) -> _Raw:
    """Raw column of field ``fi`` over every row of ``g`` (that field only)."""
    start = sum(f[1] for f in g.fields[:fi])
    _, size, base = g.fields[fi]
    offs = _offs(g)
    mat = data_u8[offs[:, None] + np.arange(start, start + size, dtype=np.int64)]
    return _read_raw(mat, 0, size, base, g.endian)


def _accumulate(walk: _Walk, stored: list[bool], data_u8: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """Accumulated component values per (group, field*64 + component), in file order across groups.

    Reads only the fields that have accumulating components, over whole groups (the rows are
    decoded in chunks afterwards; each chunk takes its slice)."""
    streams: dict[tuple[int, int], list[tuple[int, int, int, np.ndarray, np.ndarray, int]]] = {}
    for gi, g in enumerate(walk.groups):
        if not stored[gi]:
            continue
        spec = message_spec(g.mesg_num)
        assert spec is not None
        for fi, (num, _, _) in enumerate(g.fields):
            fspec = spec.fields.get(num)
            if fspec is None:
                continue
            if fspec.subfields and any(s.has_accumulating_component for s in fspec.subfields):
                raise FastDecodeUnsupported(f"accumulating component in a sub-field of {fspec.name!r}")
            raw = None
            for ci, c in enumerate(fspec.components):
                if not c.accumulate:
                    continue
                raw = raw if raw is not None else _field_raw(data_u8, g, fi)
                cr = _component_raw(c, raw)
                if cr is None:
                    continue
                cval, cvalid = cr
                rows = np.flatnonzero(cvalid)
                streams.setdefault((g.mesg_num, c.def_num), []).append((gi, fi, ci, rows, cval[rows], c.bits))
    out: dict[tuple[int, int], np.ndarray] = {}
    for (mesg_num, target), items in streams.items():
        bits_set = {it[5] for it in items}
        if len(bits_set) != 1:
            raise FastDecodeUnsupported(f"accumulator {target} of message {mesg_num} with mixed bit widths")
        bits = bits_set.pop()
        rpos = np.array([p for p, m, t in walk.resets if m == mesg_num and t == target], dtype=np.int64)
        pos_l = [rpos]
        kind_l = [np.zeros(rpos.size, dtype=np.int8)]
        val_l = [np.zeros(rpos.size, dtype=np.int64)]
        tag_l = [np.full(rpos.size, -1, dtype=np.int64)]
        for k, (gi, _fi, _ci, rows, vals, _) in enumerate(items):
            pos_l.append(_offs(walk.groups[gi])[rows])
            kind_l.append(np.ones(rows.size, dtype=np.int8))
            val_l.append(vals)
            tag_l.append(np.full(rows.size, k, dtype=np.int64))
        pos = np.concatenate(pos_l)
        kind = np.concatenate(kind_l)
        val = np.concatenate(val_l)
        tag = np.concatenate(tag_l)
        order = np.lexsort((kind, pos))
        pos, kind, val, tag = pos[order], kind[order], val[order], tag[order]
        accd = _segmented_accumulate(pos, kind, val, bits) if pos.size else val
        for k, (gi, fi, ci, rows, _vals, _) in enumerate(items):
            full = np.zeros(len(walk.groups[gi].offs), dtype=np.int64)
            full[rows] = accd[tag == k]
            out[(gi, fi * 64 + ci)] = full
    return out


# ------------------------------------------------------------------------------------------
# Values fitparse's data processor fails on (in any message type, stored or not)

_MAX_EPOCH_S = 253402300799  # 9999-12-31T23:59:59Z: the last second a datetime can hold
_MIN_EPOCH_S = -62135596800  # 0001-01-01T00:00:00Z


def _value_damage(walk: _Walk, data_u8: np.ndarray) -> tuple[int, str] | None:
    """The first message whose date/time field fitparse's processor raises on, if any.

    fitparse converts date_time, local_date_time and localtime_into_day values of every message
    it reads; an array or string value there, a time of day outside 0..86399 or a date past year
    9999 raises, which stops fitparse at that message. Returns (header offset, reason).
    """
    first: tuple[int, str] | None = None
    for g in walk.groups:
        if not g.offs:
            continue
        spec = message_spec(g.mesg_num)
        if spec is None:
            continue
        start = 0
        for num, size, base in g.fields:
            fs = spec.fields.get(num)
            kind = fs.special if fs is not None else None
            if fs is not None and kind in ("date_time", "local_date_time", "localtime_into_day"):
                bad = _bad_time_rows(data_u8, g, start, size, base, kind)
                if bad is not None:
                    off = g.offs[bad] - 1
                    if first is None or off < first[0]:
                        first = (off, f"{kind} field {fs.name!r} of {spec.name} has a value fitparse cannot convert")
            start += size
    return first


def _bad_time_rows(data_u8: np.ndarray, g: _Group, start: int, size: int, base: BaseSpec, kind: str) -> int | None:
    """Index of the first row of ``g`` whose value in this field makes fitparse raise."""
    if base.kind == "int" and size == base.size and base.size <= 4 and kind != "localtime_into_day":
        return None  # 32-bit values always convert
    offs = _offs(g)
    mat = data_u8[offs[:, None] + np.arange(start, start + size, dtype=np.int64)]
    if base.kind == "byte":  # a tuple unless every byte is 0xFF
        bad = ~(mat == 0xFF).all(axis=1)
    elif base.kind == "string":  # a str unless empty
        bad = mat[:, 0] != 0
    elif size > base.size:  # an array: always a tuple
        bad = np.ones(offs.size, dtype=bool)
    else:
        dt_ = np.dtype(g.endian + base.np_code) if base.size > 1 else np.dtype(base.np_code)
        v = np.ascontiguousarray(mat).view(dt_)[:, 0]
        if base.kind == "float":
            valid = ~np.isnan(v)
            if kind == "localtime_into_day":
                bad = valid
            else:
                x = v.astype(np.float64) + FIT_EPOCH_S
                bad = valid & ((x > _MAX_EPOCH_S) | ((x < _MIN_EPOCH_S) if kind == "local_date_time" else False))
        else:
            valid = v != base.invalid
            if kind == "localtime_into_day":
                bad = valid & ((v < 0) | (v >= 86400))
            elif base.size == 8:
                x = v.astype(np.float64) + FIT_EPOCH_S
                bad = valid & ((x > _MAX_EPOCH_S) | ((x < _MIN_EPOCH_S) if kind == "local_date_time" else False))
            else:
                return None
    idx = np.flatnonzero(bad)
    return int(idx[0]) if idx.size else None


# ------------------------------------------------------------------------------------------
# Merge


class _Assembler:
    """The columns of one message type, filled chunk by chunk in file order.

    Rows of every layout (group) of the type are placed by their rank among all its rows, so each
    decoded chunk is copied straight into the full columns and released: no merge step holds the
    parts and the result at once (which, with the allocator keeping freed chunks, doubled the peak
    memory of a large file). A column is float64 until a chunk brings non-numbers (then objects),
    and object columns whose values are all numbers become float64 at the end, as model.py rules."""

    def __init__(self, name: str, offs: list[np.ndarray]) -> None:
        self.name = name
        self.starts = np.cumsum([0] + [o.size for o in offs[:-1]]).tolist()
        allo = np.concatenate(offs) if len(offs) > 1 else offs[0]
        self.total = allo.size
        if len(offs) == 1 or self.total < 2 or bool(np.all(allo[1:] > allo[:-1])):
            self.rank = None  # one layout, or layouts one after the other: rows are in place
            self.positions = allo
        else:
            order = np.argsort(allo, kind="stable")
            self.rank = np.empty(self.total, dtype=np.int64)
            self.rank[order] = np.arange(self.total)
            self.positions = allo[order]
        self.cols: dict[str, np.ndarray] = {}

    def add(self, group: int, lo: int, hi: int, part: _Columns) -> None:
        """Place rows ``lo:hi`` of the type's ``group``-th layout, decoded in ``part``."""
        a = self.starts[group]
        dest: slice | np.ndarray = slice(a + lo, a + hi) if self.rank is None else self.rank[a + lo : a + hi]
        for k in list(part.cols):
            v = part.cols.pop(k)
            col = self.cols.get(k)
            if col is None:
                col = np.full(self.total, np.nan) if v.dtype == np.float64 else np.full(self.total, None, dtype=object)
                self.cols[k] = col
            elif col.dtype == np.float64 and v.dtype != np.float64:
                col = self.cols[k] = _to_object(col)
            if col.dtype != np.float64 and v.dtype == np.float64:
                v = _to_object(v)
            col[dest] = v

    def result(self) -> MessageColumns:
        cols = {k: _maybe_numeric(v) if v.dtype == object else v for k, v in self.cols.items()}
        return MessageColumns(self.name, self.total, cols, positions=self.positions)


def _maybe_numeric(col: np.ndarray) -> np.ndarray:
    """model.py's rule: a column is float64 when every present value is a number (not bool)."""
    for v in col.tolist():
        if v is not None and type(v) not in (int, float):
            return col
    return np.array([np.nan if v is None else float(v) for v in col.tolist()], dtype=np.float64)


# ------------------------------------------------------------------------------------------
# Entry point


def decode_fast(data: bytes) -> DecodedFit:
    """Decode ``data`` into the columns of every type in STORED_MESSAGES (decoder='fast').

    Raises :class:`FastDecodeUnsupported` for input whose fitparse result it does not reproduce
    (and, rather than leaking ``IndexError`` & co., if the decoder itself trips over the input),
    and :class:`FitTooLarge` for a file over a per-file limit (:data:`MAX_MESSAGES`,
    :data:`MAX_LAYOUTS`), found during the header walk before anything is decoded.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    stage = "header walk"
    try:
        walk = _Walker(data).run()
        stage = "column decode"
        return _decode_walked(data, walk)
    except FitTooLarge:
        raise
    except (IndexError, KeyError, TypeError, ValueError, OverflowError, struct.error) as exc:
        raise FastDecodeUnsupported(f"{stage} failed: {type(exc).__name__}: {exc}") from exc


def _decode_walked(data: bytes, walk: _Walk) -> DecodedFit:
    data_u8 = np.frombuffer(data, dtype=np.uint8)
    damage = _value_damage(walk, data_u8)
    if damage is not None:  # fitparse stops there: keep what comes before
        cut, reason = damage
        for g in walk.groups:
            del g.offs[bisect_right(g.offs, cut) :]
        del walk.compressed[bisect_left(walk.compressed, cut) :]
        walk.error = f"malformed FIT data: {reason} (at byte offset {cut})"
    stored = [len(g.offs) > 0 and message_name(g.mesg_num) in STORED_MESSAGES for g in walk.groups]
    ts_comp = _compressed_timestamps(walk, data_u8)
    acc = _accumulate(walk, stored, data_u8)
    by_name: dict[str, list[int]] = {}
    for gi, g in enumerate(walk.groups):
        if stored[gi]:
            by_name.setdefault(message_name(g.mesg_num), []).append(gi)
    messages: dict[str, MessageColumns] = {}
    for name, gis in by_name.items():  # one message type at a time
        asm = _Assembler(name, [_offs(walk.groups[gi]) for gi in gis])
        for j, gi in enumerate(gis):
            g = walk.groups[gi]
            offs = _offs(g)
            for lo in range(0, offs.size, CHUNK_ROWS):  # bounded working memory: CHUNK_ROWS rows at a time
                hi = min(lo + CHUNK_ROWS, offs.size)
                gd = _GroupDecoder(data_u8, g, offs[lo:hi])
                chunk_acc = {k: v[lo:hi] for k, v in acc.items() if k[0] == gi}
                asm.add(j, lo, hi, _decode_group(gd, chunk_acc, gi, ts_comp, data_u8))
                del gd
        messages[name] = asm.result()
        del asm
    ordered = {k: messages[k] for k in STORED_MESSAGES if k in messages}
    return DecodedFit(messages=ordered, decoder="fast", error=walk.error)
