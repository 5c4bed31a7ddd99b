"""Column containers for bulk rows that plain arrays do not describe well.

Whole sessions move through the layers as columns (numpy arrays, one per field). Two kinds of
column need more than one array, and the store turns them into Arrow columns without copying
each value through Python:

* :class:`BinaryColumn` - variable-length byte strings (BLE payloads) as one byte buffer plus offsets;
* :class:`DictionaryColumn` - strings drawn from a few values (characteristic UUIDs) as codes into them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BinaryColumn:
    """Row ``i`` is ``data[offsets[i]:offsets[i + 1]]``; ``offsets`` starts at 0 and has one entry more
    than there are rows."""

    offsets: np.ndarray
    data: np.ndarray

    def __post_init__(self) -> None:
        if self.offsets.ndim != 1 or self.offsets.size == 0 or int(self.offsets[0]) != 0:
            raise ValueError("offsets must be 1-D and start at 0")
        if int(self.offsets[-1]) != self.data.size:
            raise ValueError(f"offsets end at {int(self.offsets[-1])}, the data holds {self.data.size} bytes")

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    def row(self, i: int) -> bytes:
        return self.data[self.offsets[i] : self.offsets[i + 1]].tobytes()


@dataclass(frozen=True)
class DictionaryColumn:
    """Row ``i`` is ``values[codes[i]]``."""

    codes: np.ndarray
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.codes.size and (int(self.codes.min()) < 0 or int(self.codes.max()) >= len(self.values)):
            raise ValueError("codes must index values")

    def __len__(self) -> int:
        return int(self.codes.size)
