"""Bit-interleaved protected regions (issue 19): adjacent-bit upsets land in different words.

Oracles: the layout written out bit by bit from its definition (bit ``b`` of word ``w`` of a
group of 8 is physical bit ``8 b + w`` of the group's data, check bit ``c`` is physical bit
``8 c + w`` of its check octets), and a plain (non-interleaved) region given the same
operations, which must read back the same bytes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.edac import MemoryBlobStore, ProtectedRegion, RegionBadError, RegionState
from flight.edac._region import deinterleave_words, interleave_words
from native.reference import encode_ref


def _bit(array: np.ndarray, index: int, width: int) -> int:  # type: ignore[type-arg]
    return (int(array[index // width]) >> (index % width)) & 1


def test_layout_matches_its_definition_bit_by_bit() -> None:
    rng = np.random.default_rng(3)
    words = rng.integers(0, 2**64 - 1, size=16, dtype=np.uint64, endpoint=True)
    checks = rng.integers(0, 255, size=16, dtype=np.uint8, endpoint=True)
    phys, pchk = interleave_words(words, checks)
    for g in range(2):
        for w in range(8):
            for b in range(64):
                assert _bit(phys, 512 * g + 8 * b + w, 64) == _bit(words, 64 * (8 * g + w) + b, 64)
            for c in range(8):
                assert _bit(pchk, 64 * g + 8 * c + w, 8) == _bit(checks, 8 * (8 * g + w) + c, 8)
    back, back_checks = deinterleave_words(phys, pchk)
    assert np.array_equal(back, words) and np.array_equal(back_checks, checks)


def _region(interleave: int, size: int = 1000) -> ProtectedRegion:
    content = bytes(np.random.default_rng(5).integers(0, 256, size, dtype=np.uint8))
    return ProtectedRegion(
        "r", 1, content, store=MemoryBlobStore(), page_bytes=256, interleave=interleave
    )


def test_every_adjacent_physical_pair_is_corrected() -> None:
    """The world's multiple-bit upset (bits ``q`` and ``q + 1`` of a registered array) at
    every position of the data and check arrays: always corrected, never uncorrectable."""
    region = _region(8)
    truth = region.read_all()
    for array in region.arrays():
        flat = array.view(np.uint8)
        for q in range(flat.size * 8 - 1):
            for pos in (q, q + 1):
                flat[pos >> 3] ^= np.uint8(1 << (pos & 7))
            assert region.read_all() == truth, q
    assert region.uncorrectable == 0 and region.state is RegionState.OK
    words, checks = region.words()
    assert np.array_equal(checks, encode_ref(words))


def test_without_interleaving_the_same_pair_is_uncorrectable() -> None:
    region = _region(1)
    region.data.view(np.uint8)[8] ^= np.uint8(0b11)  # bits 0 and 1 of word 1
    with pytest.raises(RegionBadError):
        region.read_all()
    assert region.uncorrectable == 1


def test_two_errors_in_one_word_are_still_detected_and_reloaded() -> None:
    region = _region(8)
    truth = region.read_all()
    region.flip(17, 0b101)
    with pytest.raises(RegionBadError) as err:
        region.read(17 * 8, 8)
    assert err.value.words == (17,) and region.bad_pages == {0}
    assert region.reload() and region.read_all() == truth


def test_a_read_judges_only_the_words_it_covers() -> None:
    region = _region(8)
    region.flip(3, 0b11)  # word 3 uncorrectable, same group as words 0..7
    assert len(region.read(0, 24)) == 24  # words 0..2: intact, handed out
    assert region.state is RegionState.OK
    with pytest.raises(RegionBadError):
        region.read(24, 8)


def test_page_bytes_must_hold_whole_groups() -> None:
    with pytest.raises(ValueError, match="multiple of 64"):
        ProtectedRegion("r", 1, 1000, page_bytes=72, interleave=8)
    with pytest.raises(ValueError, match="interleave"):
        ProtectedRegion("r", 1, 1000, interleave=4)


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 999), st.binary(min_size=0, max_size=40)),
        st.tuples(st.just("flip"), st.integers(0, 124), st.integers(0, 71)),
        st.tuples(st.just("scrub"), st.integers(0, 125), st.integers(0, 125)),
        st.tuples(st.just("read"), st.integers(0, 999), st.integers(0, 64)),
        st.tuples(st.just("reload"), st.integers(0, 0), st.integers(0, 0)),
    ),
    max_size=30,
)


@settings(deadline=None, max_examples=150)
@given(ops=_OPS)
def test_interleaved_region_behaves_like_a_plain_one(ops: list[tuple[str, int, object]]) -> None:
    """Same operations (single-bit upsets included) on a plain and an interleaved region:
    same bytes handed out, same counters, same state."""
    plain, inter = _region(1), _region(8)
    for op, a, b in ops:
        for region in (plain, inter):
            if op == "write":
                assert isinstance(b, bytes)
                region.write(a, b[: 1000 - a])
            elif op == "flip":
                assert isinstance(b, int)
                region.flip(a, 1 << b if b < 64 else 0, 1 << (b - 64) if b >= 64 else 0)
            elif op == "scrub":
                assert isinstance(b, int)
                region.scrub(min(a, b), max(a, b))
            elif op == "read":
                assert isinstance(b, int)
                region.read(a, min(b, 1000 - a))
            else:
                region.store_golden()
        if op == "flip":  # keep it single-bit per word: scrub the word at once
            for region in (plain, inter):
                region.scrub(a, a + 1)
    assert plain.read_all() == inter.read_all()
    assert plain.counters() == inter.counters()
    for region in (plain, inter):
        words, checks = region.words()
        assert np.array_equal(checks, encode_ref(words))
