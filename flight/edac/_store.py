"""Golden copies of protected regions in non-volatile storage, checked with CRC-32C.

Storage is anything with ``write(name, data: bytes)`` and ``read(name) -> bytes``: the HAL
platform storage device (:class:`hal.platform.Storage`) has exactly that shape, so it is used
as is. :class:`MemoryBlobStore` is a RAM stand-in for tests and ground tools that pass it
explicitly; it is not non-volatile, and a node never falls back to it (a missing
``[edac] storage_device`` is a configuration error).

Golden image layout (header big-endian, 20 octets, then the payload)::

    0   magic        4 octets  b"SNGC"
    4   version      u16       1
    6   region id    u16
    8   size         u64       payload octets (= the region's size in bytes)
    16  crc32c       u32       CRC-32C over octets 0..15 and the payload
    20  payload      size octets (the region's bytes, in memory order)

A blob whose magic, version, region id, size or CRC does not match is rejected with
:class:`GoldenCopyError` and nothing of it is used.
"""

from __future__ import annotations

import struct
from typing import Protocol, runtime_checkable

from native import crc32c
from native.errors import FlightError

__all__ = [
    "GOLDEN_HEADER",
    "GOLDEN_MAGIC",
    "BlobStore",
    "GoldenCopyError",
    "MemoryBlobStore",
    "pack_golden",
    "unpack_golden",
]

GOLDEN_MAGIC = b"SNGC"
_VERSION = 1
#: Header of a golden image (see the module docstring).
GOLDEN_HEADER = struct.Struct(">4sHHQ")
_CRC = struct.Struct(">I")


class GoldenCopyError(FlightError):
    """A golden copy is missing, unreadable or fails its checks (magic, size, CRC-32C)."""


@runtime_checkable
class BlobStore(Protocol):
    """Named-blob storage: the subset of :class:`hal.platform.Storage` EDAC needs."""

    def write(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` atomically."""
        ...

    def read(self, name: str) -> bytes:
        """Content of blob ``name`` (an error if there is none)."""
        ...


class MemoryBlobStore:
    """Blob store in RAM for tests and ground tools (given explicitly). Not non-volatile."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def write(self, name: str, data: bytes) -> None:
        """Store a copy of ``data`` under ``name``."""
        self.blobs[name] = bytes(data)

    def read(self, name: str) -> bytes:
        """Content of ``name``; ``KeyError`` if absent."""
        return self.blobs[name]


def pack_golden(region_id: int, payload: bytes | memoryview) -> bytes:
    """The golden image of ``payload`` for region ``region_id`` (header + payload)."""
    header = GOLDEN_HEADER.pack(GOLDEN_MAGIC, _VERSION, region_id, len(payload))
    crc = crc32c(payload, crc32c(header))
    return header + _CRC.pack(crc) + bytes(payload)


def unpack_golden(blob: bytes, region_id: int, size_bytes: int) -> memoryview:
    """The payload of a golden image after every check; :class:`GoldenCopyError` if any fails.

    Returns a zero-copy view of ``blob``.
    """
    head = GOLDEN_HEADER.size + _CRC.size
    if len(blob) < head:
        raise GoldenCopyError(f"golden image truncated ({len(blob)} octets)")
    magic, version, rid, size = GOLDEN_HEADER.unpack_from(blob)
    if magic != GOLDEN_MAGIC or version != _VERSION:
        raise GoldenCopyError(f"bad golden header (magic {magic!r}, version {version})")
    if rid != region_id:
        raise GoldenCopyError(f"golden image is for region {rid}, not {region_id}")
    if size != size_bytes or len(blob) != head + size:
        raise GoldenCopyError(
            f"golden image holds {len(blob) - head} octets (header says {size}), "
            f"region needs {size_bytes}"
        )
    view = memoryview(blob)
    (stored,) = _CRC.unpack_from(blob, GOLDEN_HEADER.size)
    actual = crc32c(view[head:], crc32c(view[: GOLDEN_HEADER.size]))
    if stored != actual:
        raise GoldenCopyError(
            f"golden CRC-32C mismatch (stored {stored:08x}, computed {actual:08x})"
        )
    return view[head:]
