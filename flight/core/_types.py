"""Wire types of declared fields: command arguments, telemetry fields and parameters.

Every declared value has one :class:`FieldType`, which fixes its big-endian wire encoding
(``struct`` format), its Python type and its natural range. Packing uses precompiled
``struct.Struct`` objects built from these.
"""

from __future__ import annotations

import enum
import math
import struct

__all__ = ["FieldType"]


@enum.unique
class FieldType(enum.Enum):
    """Wire type of a declared value: (name, struct code, python type, min, max)."""

    BOOL = ("bool", "?", bool, 0, 1)
    U8 = ("u8", "B", int, 0, 2**8 - 1)
    U16 = ("u16", "H", int, 0, 2**16 - 1)
    U32 = ("u32", "I", int, 0, 2**32 - 1)
    U64 = ("u64", "Q", int, 0, 2**64 - 1)
    I8 = ("i8", "b", int, -(2**7), 2**7 - 1)
    I16 = ("i16", "h", int, -(2**15), 2**15 - 1)
    I32 = ("i32", "i", int, -(2**31), 2**31 - 1)
    I64 = ("i64", "q", int, -(2**63), 2**63 - 1)
    F32 = ("f32", "f", float, -3.4028234663852886e38, 3.4028234663852886e38)
    F64 = ("f64", "d", float, -math.inf, math.inf)

    def __init__(self, label: str, code: str, py: type, lo: float, hi: float) -> None:
        self.label = label
        self.code = code
        self.py = py
        self.lo = lo
        self.hi = hi
        # Decoding reads a BOOL as its raw octet ("B", not "?", which maps every non-zero
        # octet to True), so that :meth:`coerce` can refuse 0x02-0xFF.
        self._decoder = struct.Struct(">" + ("B" if code == "?" else code))

    @property
    def size(self) -> int:
        """Encoded size in bytes."""
        return self._decoder.size

    def unpack_from(self, data: bytes, offset: int = 0) -> bool | int | float:
        """Decode one value at ``offset`` of ``data`` and check it (:meth:`coerce`).

        Raises ``ValueError`` when ``data`` is too short, ``TypeError``/``ValueError`` when
        the value is not one of this type's (a BOOL octet other than 0 or 1, a NaN).
        """
        try:
            raw = self._decoder.unpack_from(data, offset)[0]
        except struct.error as exc:
            raise ValueError(f"{self.label} at offset {offset}: {exc}") from None
        return self.coerce(raw)

    @classmethod
    def parse(cls, label: str) -> FieldType:
        """Look a type up by its label ('u8', 'f32', ...)."""
        for member in cls:
            if member.label == label:
                return member
        raise ValueError(f"unknown field type {label!r}")

    def coerce(self, value: object) -> bool | int | float:
        """Convert ``value`` to this type's Python type, or raise ``ValueError``/``TypeError``.

        Integers must be integral and within the type's range; floats must be finite for F32
        (F64 allows inf); booleans accept bool or 0/1.
        """
        if self is FieldType.BOOL:
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            raise TypeError(f"expected a boolean, got {value!r}")
        if self.py is int:
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise TypeError(f"expected an integer ({self.label}), got {value!r}")
            if not self.lo <= value <= self.hi:
                raise ValueError(f"{value} outside the {self.label} range [{self.lo}, {self.hi}]")
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number ({self.label}), got {value!r}")
        fvalue = float(value)
        if math.isnan(fvalue):
            raise ValueError("NaN is not a valid value")
        if self is FieldType.F32 and not self.lo <= fvalue <= self.hi:
            raise ValueError(f"{fvalue} outside the f32 range")
        return fvalue
