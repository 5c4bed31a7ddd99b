"""The fitparse boundary: the only module that imports fitparse.

fitparse serves two roles (docs/design.md section 4): it is the FIT *profile* (message and field
names, scales, offsets, units, enums, components) that our fast decoder reads its tables from,
and it is the *fallback decoder and test oracle*. Swapping fitparse for another library is a
change to this file alone.

fitparse facts that shape this module: it cannot skip messages (asking for one type costs a
full decode), developer-field state is a module-level global (never decode two files interleaved
in one process), and a damaged file raises after yielding the messages before the damage: we keep
those and report the error (status ``partial``).
"""

from __future__ import annotations

import io
from typing import Any

import fitparse
import fitparse.profile as fit_profile
from fitparse.utils import FitCRCError, FitEOFError, FitHeaderError, FitParseError

from ingest.fit.model import STORED_MESSAGES, DecodedFit, FitTooLarge, columns_from_rows

#: Most messages the fallback decoder reads from one file: fitparse builds a dict per message
#: (~1 kB each) at ~2,000 messages/s, so a file over this is refused rather than decoded for
#: minutes into gigabytes (files the fast decoder reads are bounded by model.MAX_MESSAGES).
FITPARSE_MAX_MESSAGES = 300_000

#: Exceptions fitparse raises for damaged or non-FIT input.
FITPARSE_ERRORS: tuple[type[BaseException], ...] = (FitParseError, FitEOFError, FitCRCError, FitHeaderError)

profile = fit_profile  # exposed read-only for the fast decoder's profile tables


def describe_error(exc: BaseException) -> str:
    """One-line reason naming the kind of damage."""
    kind = {
        FitCRCError: "CRC mismatch",
        FitHeaderError: "invalid FIT header",
        FitEOFError: "truncated file",
    }.get(type(exc), "malformed FIT data")
    return f"{kind}: {exc}"


def decode_fitparse(data: bytes, keep: tuple[str, ...] = STORED_MESSAGES) -> DecodedFit:
    """Decode ``data`` with fitparse into columns for the message types in ``keep``.

    A damaged file yields the messages decoded before the damage with ``error`` set; a file
    that is not FIT at all raises nothing here either: ``error`` says so and no messages come back.
    A file of more than :data:`FITPARSE_MAX_MESSAGES` messages raises :class:`FitTooLarge`.
    """
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in keep}
    positions: dict[str, list[int]] = {k: [] for k in keep}
    error: str | None = None
    try:
        ff = fitparse.FitFile(io.BytesIO(data), check_crc=True)
        for i, msg in enumerate(ff.get_messages()):
            if i >= FITPARSE_MAX_MESSAGES:
                raise FitTooLarge(
                    f"holds more than {FITPARSE_MAX_MESSAGES:,} messages, the limit of the fallback "
                    "decoder (fitparse): refused"
                )
            bucket = rows.get(msg.name)
            if bucket is None:
                continue
            bucket.append({f.name: f.value for f in msg.fields})
            positions[msg.name].append(i)
    except FitTooLarge:
        raise
    except FITPARSE_ERRORS as exc:
        error = describe_error(exc)
    except (ValueError, KeyError, IndexError, TypeError, OverflowError) as exc:  # fitparse internals
        error = f"malformed FIT data: {type(exc).__name__}: {exc}"
    messages = {k: columns_from_rows(k, v, positions[k]) for k, v in rows.items() if v}
    return DecodedFit(messages=messages, decoder="fitparse", error=error)


def enum_value_name(type_name: str, value: int) -> str | None:
    """Name of ``value`` in the FIT profile's enum type ``type_name`` (None if unknown)."""
    ftype = fit_profile.FIELD_TYPES.get(type_name)
    if ftype is None or not ftype.values:
        return None
    name: str | None = ftype.values.get(value)
    return name
