"""Protected regions: corrected reads, re-encoding writes, BAD state, golden reload.

Oracle: the original bytes held outside the region (a plain copy); the golden image layout is
rebuilt independently with ``struct`` and CRC-32C (whose published check value is asserted).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.edac import (
    GoldenCopyError,
    MemoryBlobStore,
    ProtectedRegion,
    RegionBadError,
    RegionEvent,
    RegionEventKind,
    RegionState,
    pack_golden,
    unpack_golden,
)
from native import crc32c, secded_encode
from native.errors import FlightError

SIZE = 10_003  # not a multiple of 8: the last word is padded


def content(size: int = SIZE, seed: int = 3) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def make(size: int = SIZE, **kw: object) -> tuple[ProtectedRegion, bytes, MemoryBlobStore]:
    raw = content(size)
    store = MemoryBlobStore()
    region = ProtectedRegion("weights", 1, raw, store=store, page_bytes=512, **kw)  # type: ignore[arg-type]
    return region, raw, store


def flip(region: ProtectedRegion, word: int, *bits: int) -> None:
    """Flip stored bits of one word: 0..63 data, 64..71 check."""
    for b in bits:
        if b < 64:
            region.flip(word, 1 << b)
        else:
            region.flip(word, 0, 1 << (b - 64))


def test_layout_and_padding() -> None:
    region, raw, _ = make()
    assert region.size_bytes == SIZE
    assert region.n_words == -(-SIZE // 8)
    assert region.data.dtype == np.uint64 and region.checks.dtype == np.uint8
    assert region.read_all() == raw
    assert region.data.view(np.uint8)[SIZE:].tolist() == [0] * (region.n_words * 8 - SIZE)
    assert np.array_equal(region.checks, secded_encode(region.data))
    assert region.n_pages == -(-region.n_words // 64)


@settings(deadline=None, max_examples=40)
@given(
    word=st.integers(0, -(-SIZE // 8) - 1),
    bit=st.integers(0, 71),
    offset=st.integers(0, SIZE - 1),
    length=st.integers(0, 300),
)
def test_single_upsets_are_corrected_on_read(word: int, bit: int, offset: int, length: int) -> None:
    region, raw, _ = make()
    length = min(length, SIZE - offset)
    flip(region, word, bit)
    got = region.read(offset, length)
    assert got == raw[offset : offset + length]  # never corrupted data
    covered = offset // 8 <= word < -(-(offset + length) // 8)
    assert region.corrected == (1 if covered and length else 0)
    assert region.read_all() == raw
    assert region.corrected == 1
    assert region.corrected_check == (1 if bit >= 64 else 0)
    assert region.state is RegionState.OK


def test_read_array_and_range_errors() -> None:
    region, raw, _ = make()
    arr = region.read_array(np.uint16, 2, 5)
    assert arr.tolist() == list(struct.unpack("<5H", raw[2:12]))
    with pytest.raises(ValueError):
        region.read(SIZE - 1, 2)
    with pytest.raises(ValueError):
        region.read(-1, 1)
    with pytest.raises(TypeError):
        region.read(1.5, 1)  # type: ignore[arg-type]


def test_double_upset_makes_region_bad_and_reload_restores() -> None:
    region, raw, _ = make()
    events: list[RegionEvent] = []
    region.add_listener(events.append)
    flip(region, 700, 3, 40)  # word 700 is in page 10 (64 words per page)
    flip(region, 5, 9)  # a correctable one elsewhere (page 0)
    with pytest.raises(RegionBadError) as info:
        region.read_all()
    assert info.value.words == (700,)
    assert region.state is RegionState.BAD and region.bad_pages == {10}
    assert region.uncorrectable == 1
    # Refused from now on, even for ranges that do not cover the bad word.
    with pytest.raises(RegionBadError):
        region.read(0, 8)
    assert region.reads_refused == 2
    with pytest.raises(RegionBadError):
        region.write(0, b"x")
    assert region.reload(source="test")
    assert not region.is_bad and not region.bad_pages
    assert region.read_all() == raw
    assert region.reloads == 1 and region.pages_reloaded == 1
    kinds = [e.kind for e in events]
    assert kinds == [RegionEventKind.UNCORRECTABLE, RegionEventKind.RELOADED]
    assert events[1].pages == (10,)


def test_page_reload_keeps_other_pages_written_content() -> None:
    region, raw, _ = make(writable=True)
    region.write(0, b"NEW!")  # page 0, not committed to golden
    flip(region, 700, 0, 1)
    region.scrub()
    assert region.state is RegionState.BAD
    assert region.reload()
    assert region.read(0, 4) == b"NEW!"  # untouched page keeps its write
    assert region.read(8, SIZE - 8) == raw[8:]


def test_corrupted_golden_copy_keeps_region_bad() -> None:
    region, _, store = make()
    blob = bytearray(store.blobs[region.golden_name])
    blob[100] ^= 0x10  # one flipped bit in non-volatile storage
    store.blobs[region.golden_name] = bytes(blob)
    events: list[RegionEvent] = []
    region.add_listener(events.append)
    flip(region, 12, 60, 61)
    region.scrub()
    assert not region.reload()
    assert region.state is RegionState.BAD
    assert region.golden_failures == 1
    assert events[-1].kind is RegionEventKind.GOLDEN_CORRUPT
    assert "CRC-32C" in events[-1].detail
    with pytest.raises(RegionBadError):
        region.read_all()  # nothing handed out
    # The damaged word was not touched by the refused reload.
    assert region.check_golden() is not None


def test_missing_golden_copy() -> None:
    region, _, store = make()
    del store.blobs[region.golden_name]
    flip(region, 0, 1, 2)
    region.scrub()
    assert not region.reload()
    assert region.golden_failures == 1 and region.state is RegionState.BAD


def test_golden_image_layout_against_independent_packing() -> None:
    payload = b"123456789"
    blob = pack_golden(7, payload)
    header = struct.pack(">4sHHQ", b"SNGC", 1, 7, 9)
    # CRC-32C of header+payload, computed here from the published check value chain.
    assert crc32c(b"123456789") == 0xE3069283
    assert blob == header + struct.pack(">I", crc32c(header + payload)) + payload
    assert bytes(unpack_golden(blob, 7, 9)) == payload
    for bad, why in (
        (blob[:-1], "holds"),
        (blob.replace(b"SNGC", b"XNGC"), "header"),
        (pack_golden(8, payload), "region 8"),
        (blob[:-1] + b"8", "CRC"),
    ):
        with pytest.raises(GoldenCopyError, match=why):
            unpack_golden(bad, 7, 9)


@settings(deadline=None, max_examples=40)
@given(offset=st.integers(0, 200), data=st.binary(min_size=0, max_size=100))
def test_writes_reencode_and_merge(offset: int, data: bytes) -> None:
    region, raw, _ = make(writable=True)
    expected = bytearray(raw)
    expected[offset : offset + len(data)] = data
    # A correctable upset in the boundary word must be fixed before the merge.
    flip(region, offset // 8, 70)
    region.write(offset, data)
    assert region.read_all() == bytes(expected)
    assert region.corrected <= 1
    assert np.array_equal(region.checks, secded_encode(region.data))


def test_partial_write_into_uncorrectable_word_refused() -> None:
    region, raw, _ = make(writable=True)
    flip(region, 2, 0, 1)
    with pytest.raises(RegionBadError):
        region.write(17, b"ab")  # word 2 is partially written: read-modify-write needed
    assert region.state is RegionState.BAD
    assert region.reload()
    assert region.read_all() == raw


def test_whole_word_write_masks_an_upset() -> None:
    region, raw, _ = make(writable=True)
    flip(region, 3, 5, 6)
    region.write(24, raw[24:32])
    assert region.uncorrectable == 0 and region.read_all() == raw


def test_read_only_and_load() -> None:
    region, _raw, store = make(writable=False)
    with pytest.raises(FlightError, match="read-only"):
        region.write(0, b"x")
    new = content(seed=9)
    flip(region, 1, 1, 2)
    region.scrub()
    region.load(new)  # replaces everything, clears BAD, stores a new golden copy
    assert region.state is RegionState.OK and region.read_all() == new
    assert bytes(unpack_golden(store.blobs[region.golden_name], 1, SIZE)) == new
    with pytest.raises(ValueError):
        region.load(b"short")


def test_full_reload_by_command_restores_everything() -> None:
    region, raw, _ = make(writable=True)
    region.write(0, b"zz")
    assert region.reload(full=True, source="command")
    assert region.read_all() == raw
    assert region.pages_reloaded == region.n_pages


def test_arrays_are_stable_views() -> None:
    region, _, _ = make()
    data, checks = region.arrays()
    flip(region, 4, 2, 3)
    region.scrub()
    region.reload()
    assert region.data is data and region.checks is checks
