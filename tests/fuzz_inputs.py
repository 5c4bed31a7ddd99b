"""Seeded mutations of FIT files and captures, for the fuzz test (tests/test_fuzz.py).

Every mutation is a pure function of a ``random.Random``: a failing input is reproduced from the
seed and the iteration number the test reports (and is also written next to the store).
"""

from __future__ import annotations

import gzip
import io
import json
import random
import struct
import zipfile
from collections.abc import Callable

from ingest.fit.fast_decoder import fit_crc16

INTERESTING = (0x00, 0x01, 0x0E, 0x0C, 0x20, 0x40, 0x41, 0x60, 0x7F, 0x80, 0x81, 0xC0, 0xE0, 0xFE, 0xFF)


def fix_crcs(data: bytes) -> bytes:
    """Recompute the header CRC (14-byte header) and the file CRC of a single FIT part, so that a
    mutation is judged on its content instead of stopping at the first CRC check."""
    if len(data) < 16 or data[8:12] != b".FIT":
        return data
    out = bytearray(data)
    if out[0] == 14:
        out[12:14] = struct.pack("<H", fit_crc16(bytes(out[:12])))
    out[-2:] = struct.pack("<H", fit_crc16(bytes(out[:-2])))
    return bytes(out)


def _flip(rng: random.Random, d: bytearray) -> None:
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(d))
        d[i] ^= 1 << rng.randrange(8)


def _interesting(rng: random.Random, d: bytearray) -> None:
    for _ in range(rng.randint(1, 4)):
        d[rng.randrange(len(d))] = rng.choice(INTERESTING)


def _truncate(rng: random.Random, d: bytearray) -> None:
    del d[rng.randrange(len(d)) :]


def _insert(rng: random.Random, d: bytearray) -> None:
    i = rng.randrange(len(d) + 1)
    d[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))


def _delete(rng: random.Random, d: bytearray) -> None:
    i = rng.randrange(len(d))
    del d[i : i + rng.randint(1, 64)]


def _repeat(rng: random.Random, d: bytearray) -> None:
    i = rng.randrange(len(d))
    chunk = d[i : i + rng.randint(1, 256)]
    d[i:i] = chunk * rng.randint(1, 8)


def _header(rng: random.Random, d: bytearray) -> None:
    if len(d) < 12:
        return
    field = rng.choice(("size", "data_size", "protocol", "signature"))
    if field == "size":
        d[0] = rng.choice((0, 11, 12, 13, 14, 15, 255))
    elif field == "data_size":
        old = struct.unpack("<I", bytes(d[4:8]))[0]
        d[4:8] = struct.pack(
            "<I", rng.choice((0, 1, old - rng.randint(1, 100), old + rng.randint(1, 100), 0xFFFFFFFF)) & 0xFFFFFFFF
        )
    elif field == "protocol":
        d[1] = rng.randrange(256)
    else:
        d[8:12] = rng.choice((b".FIT", b".fit", b"\0\0\0\0"))


MUTATORS: tuple[Callable[[random.Random, bytearray], None], ...] = (
    _flip,
    _flip,
    _interesting,
    _interesting,
    _truncate,
    _insert,
    _delete,
    _repeat,
    _header,
)


def mutate_fit(rng: random.Random, corpus: list[bytes]) -> tuple[bytes, str]:
    """One mutated FIT input and its file name (``.fit``, ``.fit.gz`` or ``.zip``)."""
    d = bytearray(rng.choice(corpus))
    if rng.random() < 0.1:  # splice two files
        other = rng.choice(corpus)
        d = d[: rng.randrange(len(d) + 1)] + bytearray(other[rng.randrange(len(other) + 1) :])
    for _ in range(rng.randint(1, 3)):
        if d:
            rng.choice(MUTATORS)(rng, d)
    data = bytes(d)
    if rng.random() < 0.6:
        data = fix_crcs(data)
    wrap = rng.random()
    if wrap < 0.1:
        return gzip.compress(data, compresslevel=1), "x.fit.gz"
    if wrap < 0.15:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(rng.choice(("a.fit", "dir/b.FIT", "\x1b[31mred.fit", "../up.fit", "c.fit.gz")), data)
        return buf.getvalue(), "x.zip"
    return data, "x.fit"


def mutate_capture(rng: random.Random, lines: list[str]) -> bytes:
    """One mutated capture file (JSON lines): values changed, lines dropped or repeated, bytes hit."""
    out = list(lines)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(6)
        i = rng.randrange(len(out))
        if kind == 0:  # a value of some key replaced by something hostile
            try:
                doc = json.loads(out[i])
            except ValueError:
                continue
            if isinstance(doc, dict) and doc:
                key = rng.choice(sorted(doc))
                doc[key] = rng.choice(
                    [
                        None,
                        True,
                        -1,
                        0,
                        2**63,
                        2**70,
                        -(2**63) - 1,
                        1e308,
                        float("nan"),
                        "",
                        "9999-12-31T23:59:59+00:00",
                        "0001-01-01T00:00:00+00:00",
                        [[[]]],
                        {"a": 1},
                        "zz",
                        "\x1b[2J",
                        doc[key] * 10**12 if isinstance(doc[key], int) else 7,
                    ]
                )
                out[i] = json.dumps(doc)
        elif kind == 1:
            del out[i]
        elif kind == 2:
            out.insert(i, out[i])
        elif kind == 3:
            out[i], out[-1] = out[-1], out[i]
        elif kind == 4:
            b = bytearray(out[i].encode())
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
            out[i] = b.decode("utf-8", "replace")
        else:
            out.insert(i, rng.choice(["[" * 3000 + "]" * 3000, "", "{}", "null", "x" * 70000]))
    text = "\n".join(out) + ("\n" if rng.random() < 0.8 else "")
    return text.encode()
