"""Triple modular redundancy for critical state: :class:`TmrValue`, :class:`TmrArray`.

Critical state (the operating mode, boot and event counters, the orbit state vector, keys) is
kept in three copies. Each copy is a ``uint64`` NumPy array holding the value's bytes
(``struct``-packed for scalars, the raw array bytes for arrays, zero-padded to whole words),
so the three copies are plain memory that the radiation model can upset like any other.

A read votes the copies bitwise with the native kernel (:func:`native.tmr_vote`,
``(a & b) | (c & (a ^ b))``) and, when they disagree, rewrites the minority copy with
:func:`native.tmr_repair`; ``repairs`` counts the repaired words. Any number of bit flips
confined to one copy is therefore outvoted and repaired. :meth:`TmrState.scrub` repairs every
container without reading it (the scrubber calls it every step).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from native import tmr_repair, tmr_vote

__all__ = ["TmrArray", "TmrState", "TmrValue"]

U64 = npt.NDArray[np.uint64]


class _Tmr:
    """Three replicas of ``nbytes`` bytes, as ``uint64`` words."""

    def __init__(self, name: str, nbytes: int) -> None:
        if not name.isidentifier():
            raise ValueError(f"TMR container name {name!r} is not an identifier")
        if nbytes <= 0:
            raise ValueError("a TMR container holds at least one byte")
        self.name = name
        self.nbytes = nbytes
        words = math.ceil(nbytes / 8)
        self.replicas: tuple[U64, U64, U64] = (
            np.zeros(words, dtype=np.uint64),
            np.zeros(words, dtype=np.uint64),
            np.zeros(words, dtype=np.uint64),
        )
        self.repairs = 0  #: words repaired (summed over reads and scrubs)
        self.votes = 0  #: reads that voted

    def _store(self, raw: bytes) -> None:
        buf = np.zeros(self.replicas[0].size, dtype=np.uint64)
        buf.view(np.uint8)[: len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        for r in self.replicas:
            r[:] = buf

    def _voted(self) -> bytes:
        a, b, c = self.replicas
        voted, mismatched = tmr_vote(a, b, c)
        self.votes += 1
        if mismatched:
            self.repairs += tmr_repair(a, b, c)
        return voted.view(np.uint8)[: self.nbytes].tobytes()

    def scrub(self) -> int:
        """Repair the minority copy wherever the replicas disagree; returns words repaired."""
        n = tmr_repair(*self.replicas)
        self.repairs += n
        return n

    def arrays(self) -> tuple[U64, U64, U64]:
        """The three replica arrays (live; for the radiation model and fault injection)."""
        return self.replicas


class TmrValue(_Tmr):
    """A ``struct``-encoded value in three copies.

    ``fmt`` is a :mod:`struct` format (``"<B"`` mode, ``"<I"`` counter, ``"<6d"`` state
    vector). A one-field format reads back as that value; several fields as a tuple.
    """

    def __init__(self, name: str, fmt: str, initial: Any) -> None:
        self._codec = struct.Struct(fmt)
        self._single = len(self._codec.unpack(bytes(self._codec.size))) == 1
        super().__init__(name, self._codec.size)
        self.set(initial)

    def set(self, value: Any) -> None:
        """Encode ``value`` and write it to all three copies (``struct.error`` if invalid)."""
        raw = self._codec.pack(value) if self._single else self._codec.pack(*value)
        self._store(raw)

    def get(self) -> Any:
        """The voted value (the minority copy is repaired on the way)."""
        fields = self._codec.unpack(self._voted())
        return fields[0] if self._single else fields


class TmrArray(_Tmr):
    """A fixed-shape NumPy array in three copies (``get`` returns a new voted array)."""

    def __init__(
        self,
        name: str,
        dtype: npt.DTypeLike,
        shape: int | tuple[int, ...],
        initial: npt.ArrayLike | None = None,
    ) -> None:
        self.dtype = np.dtype(dtype)
        self.shape: tuple[int, ...] = (shape,) if isinstance(shape, int) else tuple(shape)
        count = int(np.prod(self.shape, dtype=np.int64))
        super().__init__(name, count * self.dtype.itemsize)
        self.set(np.zeros(self.shape, dtype=self.dtype) if initial is None else initial)

    def set(self, values: npt.ArrayLike) -> None:
        """Write ``values`` to all copies: the container's shape, the same number of items in
        any shape (reshaped), or anything that broadcasts to the shape."""
        src = np.asarray(values, dtype=self.dtype)
        count = int(np.prod(self.shape, dtype=np.int64))
        if src.size == count and src.shape != self.shape:
            src = src.reshape(self.shape)
        arr = np.ascontiguousarray(np.broadcast_to(src, self.shape))
        self._store(arr.tobytes())

    def get(self) -> np.ndarray[Any, Any]:
        """A new array holding the voted content (the minority copy is repaired)."""
        return np.frombuffer(self._voted(), dtype=self.dtype).reshape(self.shape).copy()


class TmrState:
    """Named TMR containers of a node; optionally exposes their replicas to the radiation
    model through ``register_memory(name, array)`` (names ``edac.tmr.<name>.<0|1|2>``)."""

    def __init__(
        self, register_memory: Callable[[str, np.ndarray[Any, Any]], Any] | None = None
    ) -> None:
        self._items: dict[str, TmrValue | TmrArray] = {}
        self._register = register_memory

    def _add(self, item: TmrValue | TmrArray) -> None:
        if item.name in self._items:
            raise ValueError(f"TMR container {item.name!r} exists")
        self._items[item.name] = item
        if self._register is not None:
            for k, replica in enumerate(item.replicas):
                self._register(f"edac.tmr.{item.name}.{k}", replica)

    def value(self, name: str, fmt: str, initial: Any) -> TmrValue:
        """Create and register a :class:`TmrValue`."""
        item = TmrValue(name, fmt, initial)
        self._add(item)
        return item

    def array(
        self,
        name: str,
        dtype: npt.DTypeLike,
        shape: int | tuple[int, ...],
        initial: npt.ArrayLike | None = None,
    ) -> TmrArray:
        """Create and register a :class:`TmrArray`."""
        item = TmrArray(name, dtype, shape, initial)
        self._add(item)
        return item

    def __getitem__(self, name: str) -> TmrValue | TmrArray:
        return self._items[name]

    def __iter__(self) -> Iterator[TmrValue | TmrArray]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def scrub(self) -> dict[str, int]:
        """Repair every container; returns ``{name: words repaired}`` for those repaired."""
        out: dict[str, int] = {}
        for item in self._items.values():
            n = item.scrub()
            if n:
                out[item.name] = n
        return out

    @property
    def repairs(self) -> int:
        """Words repaired over all containers."""
        return sum(i.repairs for i in self._items.values())

    def summary(self) -> dict[str, Any]:
        """Containers, sizes and repair counts (JSON-serialisable)."""
        return {
            "containers": len(self._items),
            "repairs": self.repairs,
            "by_name": {
                i.name: {"bytes": i.nbytes, "repairs": i.repairs, "votes": i.votes}
                for i in self._items.values()
            },
        }
