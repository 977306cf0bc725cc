"""Bit-serial reference CRCs, written straight from the definitions (test oracle).

Slow (a Python loop per bit): meant for tests and for ``SATNODE_NATIVE=python``.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["crc16_ccitt_ref", "crc32c_ref"]


def crc16_ccitt_ref(data: Iterable[int], init: int = 0xFFFF) -> int:
    """CRC-16-CCITT-FALSE: poly 0x1021, MSB first, no reflection, no final xor.

    ``init`` is 0xFFFF for a fresh CRC or the CRC of the preceding chunk.
    """
    crc = init
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = (crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def crc32c_ref(data: Iterable[int], init: int = 0) -> int:
    """CRC-32C (Castagnoli): reflected poly 0x82F63B78, register preset and final xor
    0xFFFFFFFF. ``init`` is 0 for a fresh CRC or the CRC of the preceding chunk."""
    crc = init ^ 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF
