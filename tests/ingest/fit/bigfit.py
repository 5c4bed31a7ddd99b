"""Large FIT files built with numpy, for memory and scaling tests (fit-tool writes ~10 k records/s).

:func:`run_file` writes a valid activity: file_id, ``n`` 1 Hz records (timestamp, position, distance,
speed, altitude, heart rate, cadence), one session. :func:`tiny_records` writes the hostile case of
issue 12: ``n`` data messages of 2 bytes each (a header byte and a one-byte heart rate), the largest
message count per byte a FIT file can hold.
"""

from __future__ import annotations

import struct

import numpy as np

from ingest.fit.fast_decoder import fit_crc16

FIT_EPOCH_S = 631065600


def _header(data_size: int) -> bytes:
    hdr = struct.pack("<BBHI4s", 14, 0x20, 2132, data_size, b".FIT")
    return hdr + struct.pack("<H", fit_crc16(hdr))


def _definition(local: int, global_num: int, fields: list[tuple[int, int, int]]) -> bytes:
    out = bytes([0x40 | local, 0, 0]) + struct.pack("<HB", global_num, len(fields))
    return out + b"".join(bytes(f) for f in fields)


def _finish(body: bytes | bytearray | np.ndarray, *, crc: bool = True) -> bytes:
    body_b = body.tobytes() if isinstance(body, np.ndarray) else bytes(body)
    whole = _header(len(body_b)) + body_b
    return whole + struct.pack("<H", fit_crc16(whole) if crc else 0)


def run_file(n: int, start_unix_s: int = 1_700_000_000) -> bytes:
    """A valid 1 Hz run of ``n`` records (see module docstring)."""
    t0 = start_unix_s - FIT_EPOCH_S
    parts = [
        _definition(0, 0, [(0, 1, 0x00), (1, 2, 0x84), (4, 4, 0x86)]),  # file_id: type, manufacturer, time_created
        bytes([0, 4]) + struct.pack("<HI", 255, t0),
        _definition(
            1,
            20,
            [
                (253, 4, 0x86),
                (0, 4, 0x85),
                (1, 4, 0x85),
                (5, 4, 0x86),
                (6, 2, 0x84),
                (2, 2, 0x84),
                (3, 1, 0x02),
                (4, 1, 0x02),
            ],
        ),
    ]
    rec = np.zeros(
        n,
        dtype=[
            ("h", "u1"),
            ("ts", "<u4"),
            ("lat", "<i4"),
            ("lon", "<i4"),
            ("dist", "<u4"),
            ("speed", "<u2"),
            ("alt", "<u2"),
            ("hr", "u1"),
            ("cad", "u1"),
        ],
    )
    i = np.arange(n, dtype=np.int64)
    rec["h"] = 1
    rec["ts"] = t0 + i
    rec["lat"] = 565_000_000 + (i % 1000)
    rec["lon"] = 101_000_000 + (i % 777)
    rec["dist"] = i * 300  # 3 m/s, scale 100
    rec["speed"] = 3000
    rec["alt"] = 2500 + (i % 50)
    rec["hr"] = 120 + (i % 40)
    rec["cad"] = 85
    session = _definition(2, 18, [(253, 4, 0x86), (2, 4, 0x86), (7, 4, 0x86), (5, 1, 0x00)])
    session += bytes([2]) + struct.pack("<IIIB", t0 + n, t0, max(n - 1, 1) * 1000, 1)
    body = b"".join(parts) + rec.tobytes() + session
    return _finish(body)


def tiny_records(n: int, *, crc: bool = True) -> bytes:
    """``n`` two-byte record messages (issue 12 case 5a), after a file_id."""
    head = _definition(0, 0, [(0, 1, 0x00)]) + bytes([0, 4]) + _definition(1, 20, [(3, 1, 0x02)])
    msgs = np.empty((n, 2), dtype=np.uint8)
    msgs[:, 0] = 1
    msgs[:, 1] = (np.arange(n) % 200).astype(np.uint8)
    return _finish(head + msgs.tobytes(), crc=crc)
