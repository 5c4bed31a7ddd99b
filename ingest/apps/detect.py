"""Detect a Strong or Hevy CSV export from its first line (bytes in; pure).

Decoding: a UTF-8 or UTF-16 byte-order mark decides; else UTF-8, else Windows-1252 (a
single-byte fallback that never fails, named in the result). The delimiter is the one of
``,`` ``;`` tab that splits the header into the most fields outside quotes. Header names
are compared case-insensitively with surrounding quotes and spaces removed.

Strong: ``Date``, ``Workout Name``, ``Exercise Name`` and ``Set Order`` present.
Hevy: ``title``, ``start_time``, ``exercise_title`` and ``set_index`` present.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from ingest.apps.model import App

__all__ = ["Detected", "decode", "detect", "normalise_header"]

_STRONG_REQUIRED = ("date", "workout name", "exercise name", "set order")
_HEVY_REQUIRED = ("title", "start_time", "exercise_title", "set_index")


@dataclass(frozen=True)
class Detected:
    """What :func:`detect` found: the app, the variant, how to read the text."""

    app: App
    variant: str
    delimiter: str
    encoding: str
    header: tuple[str, ...]


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name of ``data`` (see the module docstring)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def normalise_header(name: str) -> str:
    """Header cell -> lookup key (lower case, quotes/BOM/extra spaces removed)."""
    return " ".join(name.replace("\ufeff", "").strip().strip('"').strip().lower().split())


def _first_line(text: str) -> str:
    # the header never contains a quoted newline in either app
    end = len(text)
    for sep in ("\r", "\n"):
        i = text.find(sep)
        if i != -1:
            end = min(end, i)
    return text[:end]


def _sniff(header_line: str) -> tuple[str, list[str]]:
    best: tuple[str, list[str]] = (",", [header_line])
    for delim in (",", ";", "\t"):
        fields = next(csv.reader(io.StringIO(header_line), delimiter=delim), [])
        if len(fields) > len(best[1]):
            best = (delim, fields)
    return best


def detect(data: bytes) -> Detected | None:
    """The app and variant of an export, or None when ``data`` is neither a Strong nor a Hevy CSV."""
    if not data:
        return None
    head = data[:65536]
    try:
        text, enc = decode(head)
    except UnicodeDecodeError:  # a UTF-16 head cut mid-character
        text, enc = decode(head[:-1])
    line = _first_line(text)
    if not line.strip():
        return None
    delim, fields = _sniff(line)
    header = tuple(normalise_header(f) for f in fields)
    names = set(header)
    if all(k in names for k in _STRONG_REQUIRED):
        if "workout #" in names or any(h.startswith("weight (") for h in names):
            variant = "strong-workout-number"
        elif "weight unit" in names:
            variant = "strong-unit-columns"
        else:
            variant = "strong-classic"
        return Detected("strong", variant, delim, enc, header)
    if all(k in names for k in _HEVY_REQUIRED):
        return Detected("hevy", "hevy", delim, enc, header)
    return None
