"""Hsiao (72,64) SECDED: code properties, every backend and C variant against the reference.

Oracles: the code's defining properties (REFERENCE.md), an explicit column-sum encoder
written here, and the NumPy reference (native._secded_ref), which itself is checked against
the column-sum encoder and the exhaustive single/double error behaviour.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from native import (
    KernelArgumentError,
    secded_check,
    secded_encode,
    secded_scrub,
    use_backend,
)
from native import _secded as secded_mod
from native._secded_code import (
    CHECK_COLUMNS,
    DATA_COLUMNS,
    HEADER_PATH,
    ROWS,
    render_c_header,
)
from native._secded_ref import encode_ref, scrub_ref
from native.backend import c_library
from native.errors import BackendUnavailableError

BACKENDS = ["c", "numba", "python"]
EDGE_SIZES = [0, 1, 2, 7, 31, 32, 33, 63, 64, 65, 95, 127, 128, 129, 1000]
N_RANDOM_WORDS = 3  # words used for the exhaustive single/double-error sweeps
SEED = 20240521


def _weight(v: int) -> int:
    return bin(v).count("1")


def _column_sum_encode(word: int) -> int:
    """Independent encoder: XOR of the columns of the set data bits."""
    s = 0
    for i in range(64):
        if (word >> i) & 1:
            s ^= DATA_COLUMNS[i]
    return s


def _c_variants() -> list[int]:
    _, lib = c_library()
    return [v for v in secded_mod.SECDED_C_VARIANTS if lib.satnode_secded_impl(v) == v]


# ------------------------------------------------------------------ code properties ---


def test_hsiao_columns() -> None:
    cols = list(DATA_COLUMNS) + list(CHECK_COLUMNS)
    assert len(cols) == 72
    assert len(set(cols)) == 72, "columns must be distinct"
    assert all(_weight(c) % 2 == 1 for c in cols), "columns must have odd weight"
    weight3 = [c for c in range(256) if _weight(c) == 3]
    # Documented order: weight-3 columns ascending for bits 0..55, rotations of 0x1F after.
    assert list(DATA_COLUMNS[:56]) == weight3
    assert list(DATA_COLUMNS[56:]) == [((0x1F << k) | (0x1F >> (8 - k))) & 0xFF for k in range(8)]
    assert all(_weight(c) == 5 for c in DATA_COLUMNS[56:])
    assert list(CHECK_COLUMNS) == [1 << r for r in range(8)]
    # Balanced rows: 21 ones from the weight-3 columns + 5 from the weight-5 ones.
    assert [_weight(r) for r in ROWS] == [26] * 8


def test_generated_header_is_current() -> None:
    assert HEADER_PATH.read_text() == render_c_header()


def test_reference_encoder_matches_column_sums() -> None:
    rng = np.random.default_rng(SEED)
    words = rng.integers(0, 2**64, 200, dtype=np.uint64, endpoint=False)
    words[:3] = [0, 2**64 - 1, 1]
    assert encode_ref(words).tolist() == [_column_sum_encode(int(w)) for w in words]


# ----------------------------------------------------------------------- backends ---


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(data=arrays(np.uint64, st.integers(0, 300)))
def test_encode_matches_reference(backend: str, data: np.ndarray) -> None:
    with use_backend(backend):
        assert np.array_equal(secded_encode(data), encode_ref(data))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", EDGE_SIZES)
def test_encode_edge_sizes(backend: str, n: int) -> None:
    data = np.random.default_rng(n).integers(0, 2**64, n, dtype=np.uint64, endpoint=False)
    out = np.full(n, 0xAA, dtype=np.uint8)
    with use_backend(backend):
        assert secded_encode(data, out=out) is out
    assert np.array_equal(out, encode_ref(data))


def _flip(data: np.ndarray, checks: np.ndarray, i: int, pos: int) -> None:
    if pos < 64:
        data[i] ^= np.uint64(1) << np.uint64(pos)
    else:
        checks[i] ^= np.uint8(1 << (pos - 64))


def _padded(words: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spread ``words`` through a larger clean region (so SIMD blocks see mixed content)."""
    rng = np.random.default_rng(SEED + 1)
    n = words.shape[0] * pad + 17
    data = rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)
    where = np.arange(words.shape[0]) * pad + 5
    data[where] = words
    return data, secded_encode(data), where


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_single_bit_error_is_corrected(backend: str) -> None:
    rng = np.random.default_rng(SEED)
    base = np.repeat(rng.integers(0, 2**64, N_RANDOM_WORDS, dtype=np.uint64, endpoint=False), 72)
    data, checks, where = _padded(base, pad=3)
    clean_d, clean_c = data.copy(), checks.copy()
    for k, i in enumerate(where):
        _flip(data, checks, int(i), k % 72)
    with use_backend(backend):
        found = secded_check(data, checks)
        assert found == (72 * N_RANDOM_WORDS, 0, 0, 8 * N_RANDOM_WORDS)
        res = secded_scrub(data, checks)
    assert res.n_corrected == 72 * N_RANDOM_WORDS
    assert res.n_corrected_check == 8 * N_RANDOM_WORDS
    assert res.n_uncorrectable == 0 and res.uncorrectable.size == 0
    assert np.array_equal(data, clean_d) and np.array_equal(checks, clean_c)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_double_bit_error_is_detected(backend: str) -> None:
    pairs = list(itertools.combinations(range(72), 2))
    assert len(pairs) == 72 * 71 // 2
    rng = np.random.default_rng(SEED + 2)
    base = np.repeat(
        rng.integers(0, 2**64, N_RANDOM_WORDS, dtype=np.uint64, endpoint=False), len(pairs)
    )
    data, checks, where = _padded(base, pad=2)
    for k, i in enumerate(where):
        p, q = pairs[k % len(pairs)]
        _flip(data, checks, int(i), p)
        _flip(data, checks, int(i), q)
    corrupted_d, corrupted_c = data.copy(), checks.copy()
    with use_backend(backend):
        found = secded_check(data, checks)
        res = secded_scrub(data, checks)
    n = len(where)
    assert found == (0, n, n, 0)
    assert (res.n_corrected, res.n_uncorrectable, res.n_double) == (0, n, n)
    assert np.array_equal(res.uncorrectable, where)
    # Uncorrectable words are left exactly as they were.
    assert np.array_equal(data, corrupted_d) and np.array_equal(checks, corrupted_c)


@st.composite
def _corrupted(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    data = draw(arrays(np.uint64, st.integers(0, 200)))
    checks = encode_ref(data)
    n = data.shape[0]
    if n:
        flips = draw(
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 71)), max_size=3 * n + 3)
        )
        for i, pos in flips:
            _flip(data, checks, i, pos)
    return data, checks


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(case=_corrupted())
def test_scrub_matches_reference_on_any_corruption(
    backend: str, case: tuple[np.ndarray, np.ndarray]
) -> None:
    data, checks = case
    want_d, want_c, counts, bad = scrub_ref(data, checks)
    before = (data.copy(), checks.copy())
    with use_backend(backend):
        found = secded_check(data, checks)
        assert np.array_equal(data, before[0]) and np.array_equal(checks, before[1])
        res = secded_scrub(data, checks)
    assert found == (counts[0] + counts[1], counts[2] + counts[3], counts[2], counts[1])
    assert (res.n_corrected, res.n_corrected_check) == (counts[0] + counts[1], counts[1])
    assert (res.n_uncorrectable, res.n_double) == (counts[2] + counts[3], counts[2])
    assert np.array_equal(res.uncorrectable, bad)
    assert np.array_equal(data, want_d) and np.array_equal(checks, want_c)


@pytest.mark.parametrize("backend", BACKENDS)
def test_many_uncorrectable_words_are_all_listed(backend: str) -> None:
    # More than the wrapper's first index buffer holds: the exact-size second pass runs.
    n = 3000
    data = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    checks = secded_encode(data)
    bad = np.arange(0, n, 3)
    data[bad] ^= np.uint64(0b11)
    with use_backend(backend):
        res = secded_scrub(data, checks)
    assert res.n_uncorrectable == bad.size == res.uncorrectable.size
    assert np.array_equal(res.uncorrectable, bad)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_inputs(backend: str) -> None:
    d, c = np.empty(0, np.uint64), np.empty(0, np.uint8)
    with use_backend(backend):
        assert secded_encode(d).shape == (0,)
        assert secded_check(d, c) == (0, 0, 0, 0)
        res = secded_scrub(d, c)
    assert res.n_corrected == res.n_uncorrectable == 0 and res.uncorrectable.size == 0


# ------------------------------------------------------------------- C variants ---


def test_c_variants_match_reference() -> None:
    variants = _c_variants()
    assert 1 in variants  # the portable table kernel always exists
    rng = np.random.default_rng(SEED + 3)
    for n in [*EDGE_SIZES, 4097]:
        data = rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)
        clean = encode_ref(data)
        corrupt_d, corrupt_c = data.copy(), clean.copy()
        # About a quarter of the words get 1 to 3 flips (some words are hit twice).
        for i in rng.integers(0, n, n // 4) if n else []:
            for pos in rng.integers(0, 72, int(rng.integers(1, 4))):
                _flip(corrupt_d, corrupt_c, int(i), int(pos))
        want_d, want_c, counts, bad = scrub_ref(corrupt_d, corrupt_c)
        for v in variants:
            checks = np.empty(n, np.uint8)
            secded_mod.encode_c(data, checks, impl=v)
            assert np.array_equal(checks, clean), (n, v)
            d, c = corrupt_d.copy(), corrupt_c.copy()
            cnt = np.zeros(4, np.int64)
            idx = np.zeros(n, np.int64)
            nbad = secded_mod.scrub_c(d, c, cnt, idx, impl=v)
            assert tuple(int(x) for x in cnt) == counts and nbad == bad.size, (n, v)
            assert np.array_equal(idx[:nbad], bad), (n, v)
            assert np.array_equal(d, want_d) and np.array_equal(c, want_c), (n, v)


def test_c_variant_names_and_unsupported_variant() -> None:
    assert secded_mod.c_variant(0) in secded_mod.SECDED_C_VARIANTS.values()
    with pytest.raises(BackendUnavailableError):
        secded_mod.encode_c(np.zeros(4, np.uint64), np.zeros(4, np.uint8), impl=99)


# -------------------------------------------------------------- argument checks ---


def test_bad_arguments_are_rejected_and_change_nothing() -> None:
    data = np.arange(16, dtype=np.uint64)
    checks = secded_encode(data)
    data[2] ^= np.uint64(1)
    snapshot = (data.copy(), checks.copy())
    raw = np.zeros(17 * 8, dtype=np.uint8)
    unaligned = raw[1 : 1 + 16 * 8].view(np.uint64)
    readonly = data.copy()
    readonly.flags.writeable = False
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: secded_encode(data.astype(np.int64)), "dtype"),
        (lambda: secded_encode(data.astype(">u8")), "dtype"),
        (lambda: secded_encode(data.reshape(4, 4)), "1-D"),
        (lambda: secded_encode(data[::2]), "contiguous"),
        (lambda: secded_encode(unaligned), "aligned"),
        (lambda: secded_encode(list(range(4))), "numpy.ndarray"),  # type: ignore[arg-type]
        (lambda: secded_encode(data, out=np.empty(3, np.uint8)), "16 elements"),
        (lambda: secded_check(data, checks[:-1]), "16 elements"),
        (lambda: secded_scrub(readonly, checks), "writeable"),
        (lambda: secded_scrub(data, data.view(np.uint8)[:16]), "share memory"),
        (lambda: secded_scrub(data[::2], checks[::2]), "contiguous"),
    ]
    for call, message in cases:
        with pytest.raises(KernelArgumentError, match=message):
            call()
    assert np.array_equal(data, snapshot[0]) and np.array_equal(checks, snapshot[1])
