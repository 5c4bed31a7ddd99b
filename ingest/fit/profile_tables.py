"""Compact FIT profile tables for the fast decoder, derived once from fitparse's profile.

fitparse stays the single source of FIT semantics (docs/design.md section 4): message and field
names, scales, offsets, enum names, components, sub-fields, base types and their invalid values.
This module reads them through :mod:`ingest.fit.fitparse_boundary` (never importing fitparse
itself) into small frozen dataclasses that the vectorised decoder can use without touching
fitparse objects per message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ingest.fit.fitparse_boundary import profile

#: fitparse's base-type table (keys are the full base type byte, e.g. 0x84 for uint16).
_FP_BASE_TYPES: dict[int, Any] = profile.BASE_TYPES
FIELD_NUM_TIMESTAMP: int = int(profile.FIELD_TYPE_TIMESTAMP.def_num)  # 253
FIT_EPOCH_S: int = 631065600  # 1989-12-31T00:00:00Z in Unix seconds (fitparse's UTC_REFERENCE)

#: Field types whose values fitparse's default data processor converts.
SPECIAL_TYPES: frozenset[str] = frozenset({"bool", "date_time", "local_date_time", "localtime_into_day"})


@dataclass(frozen=True, eq=False)  # one instance per base type: identity hash, cheap in dict keys
class BaseSpec:
    """One FIT base type as fitparse reads it."""

    num: int
    name: str
    size: int
    kind: str  # 'int', 'float', 'string', 'byte'
    np_code: str  # numpy type code without byte order: 'u1', 'i2', 'f4', ... ('u1' for string/byte)
    invalid: int | None  # the invalid integer value (None for float/string/byte)


_NP_CODES: dict[str, str] = {
    "b": "i1",
    "B": "u1",
    "h": "i2",
    "H": "u2",
    "i": "i4",
    "I": "u4",
    "q": "i8",
    "Q": "u8",
    "f": "f4",
    "d": "f8",
    "s": "u1",
}

#: The invalid value per integer base type (FIT SDK profile; fitparse applies the same rules).
_INVALID: dict[str, int] = {
    "enum": 0xFF,
    "sint8": 0x7F,
    "uint8": 0xFF,
    "sint16": 0x7FFF,
    "uint16": 0xFFFF,
    "sint32": 0x7FFFFFFF,
    "uint32": 0xFFFFFFFF,
    "uint8z": 0,
    "uint16z": 0,
    "uint32z": 0,
    "sint64": 0x7FFFFFFFFFFFFFFF,
    "uint64": 0xFFFFFFFFFFFFFFFF,
    "uint64z": 0,
}


def _base_spec(bt: Any) -> BaseSpec:
    name = str(bt.name)
    fmt = str(bt.fmt)
    if name == "string":
        kind = "string"
    elif name == "byte":
        kind = "byte"
    elif fmt in ("f", "d"):
        kind = "float"
    else:
        kind = "int"
    size = 1 if fmt in ("s", "B", "b") else {"h": 2, "H": 2, "i": 4, "I": 4, "f": 4, "q": 8, "Q": 8, "d": 8}[fmt]
    return BaseSpec(
        num=int(bt.identifier),
        name=name,
        size=size,
        kind=kind,
        np_code=_NP_CODES[fmt],
        invalid=_INVALID.get(name) if kind == "int" else None,
    )


BASE_TYPES: dict[int, BaseSpec] = {int(k): _base_spec(v) for k, v in _FP_BASE_TYPES.items()}
#: fitparse reads an unknown base type byte as ``byte``.
BASE_BYTE: BaseSpec = BASE_TYPES[0x0D]


@dataclass(frozen=True)
class ComponentSpec:
    def_num: int  # the field the component expands into
    scale: float | None
    offset: float | None
    accumulate: bool
    bits: int
    bit_offset: int


@dataclass(frozen=True)
class FieldSpec:
    """A profile field or sub-field (``refs`` non-empty for a sub-field)."""

    name: str
    def_num: int
    type_name: str
    values: dict[int, str] | None  # enum names, when the field's type has them
    scale: float | None
    offset: float | None
    components: tuple[ComponentSpec, ...]
    subfields: tuple[FieldSpec, ...]
    refs: tuple[tuple[int, int], ...]  # sub-field selectors: (reference field def_num, raw value)
    special: str | None = None  # the type name when fitparse's data processor converts it

    @property
    def has_accumulating_component(self) -> bool:
        return any(c.accumulate for c in self.components)


@dataclass(frozen=True)
class MessageSpec:
    num: int
    name: str
    fields: dict[int, FieldSpec]


def _num_or_none(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, int | float):
        return v
    raise TypeError(f"unexpected profile scale/offset {v!r}")


def _components(obj: Any) -> tuple[ComponentSpec, ...]:
    return tuple(
        ComponentSpec(
            def_num=int(c.def_num),
            scale=_num_or_none(c.scale),
            offset=_num_or_none(c.offset),
            accumulate=bool(c.accumulate),
            bits=int(c.bits),
            bit_offset=int(c.bit_offset or 0),
        )
        for c in (obj.components or ())
    )


def _field_spec(f: Any, refs: tuple[tuple[int, int], ...] = ()) -> FieldSpec:
    t = f.type
    values = getattr(t, "values", None) or None
    subs = tuple(
        _field_spec(sf, tuple((int(r.def_num), int(r.raw_value)) for r in sf.ref_fields))
        for sf in (getattr(f, "subfields", None) or ())
    )
    type_name = str(t.name)
    return FieldSpec(
        name=str(f.name),
        def_num=int(f.def_num),
        type_name=type_name,
        values=dict(values) if values else None,
        scale=_num_or_none(f.scale),
        offset=_num_or_none(f.offset),
        components=_components(f),
        subfields=subs,
        refs=refs,
        special=type_name if type_name in SPECIAL_TYPES else None,
    )


@cache
def message_spec(num: int) -> MessageSpec | None:
    """The profile's message ``num`` (None if the profile does not know it)."""
    mt = profile.MESSAGE_TYPES.get(num)
    if mt is None:
        return None
    return MessageSpec(num=int(num), name=str(mt.name), fields={int(k): _field_spec(f) for k, f in mt.fields.items()})


@cache
def message_name(num: int) -> str:
    mt = profile.MESSAGE_TYPES.get(num)
    return str(mt.name) if mt is not None else f"unknown_{num}"


#: The timestamp a compressed-timestamp header adds (fitparse's FIELD_TYPE_TIMESTAMP).
TIMESTAMP_SPEC: FieldSpec = _field_spec(profile.FIELD_TYPE_TIMESTAMP)

MESG_DEVELOPER_DATA_ID = 207
MESG_FIELD_DESCRIPTION = 206
