"""TMR vote and repair: every backend and C variant against the NumPy reference.

Oracle: native._tmr_ref (textbook majority (a&b)|(a&c)|(b&c), mismatch = replicas not all
equal), itself checked against a per-bit count on a few words.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from native import KernelArgumentError, tmr_repair, tmr_vote, use_backend
from native import _tmr as tmr_mod
from native._tmr_ref import vote_ref
from native.backend import c_library
from native.errors import BackendUnavailableError

BACKENDS = ["c", "numba", "python"]
EDGE_SIZES = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 1001]


def _c_variants() -> list[int]:
    _, lib = c_library()
    return [v for v in tmr_mod.TMR_C_VARIANTS if lib.satnode_tmr_impl(v) == v]


def _replicas(rng: np.random.Generator, n: int, p_upset: float) -> tuple[np.ndarray, ...]:
    """Three replicas of random words; each replica word is upset with probability p_upset."""
    base = rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)
    out = []
    for _ in range(3):
        r = base.copy()
        hit = rng.random(n) < p_upset
        r[hit] ^= rng.integers(1, 2**64, int(hit.sum()), dtype=np.uint64, endpoint=False)
        out.append(r)
    return tuple(out)


def test_reference_vote_bit_by_bit() -> None:
    rng = np.random.default_rng(7)
    a, b, c = _replicas(rng, 20, 0.5)
    voted, m = vote_ref(a, b, c)
    for i in range(20):
        for bit in range(64):
            ones = sum((int(r[i]) >> bit) & 1 for r in (a, b, c))
            assert (int(voted[i]) >> bit) & 1 == (ones >= 2)
    assert m == sum(1 for i in range(20) if not (a[i] == b[i] == c[i]))


_words = arrays(np.uint64, 64, elements=st.sampled_from([0, 1, 2**63, 2**64 - 1, 0x5555]))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 64),
    a=_words,
    b=_words,
    c=_words,
)
def test_vote_and_repair_match_reference(
    backend: str, n: int, a: np.ndarray, b: np.ndarray, c: np.ndarray
) -> None:
    a, b, c = a[:n].copy(), b[:n].copy(), c[:n].copy()
    want, want_m = vote_ref(a, b, c)
    with use_backend(backend):
        voted, m = tmr_vote(a, b, c)
        assert np.array_equal(voted, want) and m == want_m
        assert tmr_repair(a, b, c) == want_m
    for r in (a, b, c):
        assert np.array_equal(r, want)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", EDGE_SIZES)
def test_edge_sizes_and_out_argument(backend: str, n: int) -> None:
    rng = np.random.default_rng(n)
    a, b, c = _replicas(rng, n, 0.3)
    want, want_m = vote_ref(a, b, c)
    out = np.empty(n, np.uint64)
    with use_backend(backend):
        voted, m = tmr_vote(a, b, c, out=out)
        assert voted is out and np.array_equal(out, want) and m == want_m
        # The vote may be written over one of the replicas.
        voted, m = tmr_vote(a, b, c, out=c)
        assert voted is c and np.array_equal(c, want) and m == want_m


@pytest.mark.parametrize("backend", BACKENDS)
def test_repair_counts_words_not_replicas(backend: str) -> None:
    a = np.zeros(8, np.uint64)
    b, c = a.copy(), a.copy()
    b[1] = 1  # one replica differs
    b[2], c[2] = 1, 1  # two replicas outvote the third: a is the minority
    b[3], c[3] = 0b01, 0b10  # every replica differs, still one majority per bit
    with use_backend(backend):
        assert tmr_vote(a, b, c)[1] == 3
        assert tmr_repair(a, b, c) == 3
    assert a.tolist() == b.tolist() == c.tolist() == [0, 0, 1, 0, 0, 0, 0, 0]


def test_c_variants_match_reference() -> None:
    variants = _c_variants()
    assert 1 in variants
    rng = np.random.default_rng(11)
    for n in EDGE_SIZES:
        a, b, c = _replicas(rng, n, 0.2)
        want, want_m = vote_ref(a, b, c)
        for v in variants:
            out = np.empty(n, np.uint64)
            assert tmr_mod.vote_c(a, b, c, out, impl=v) == want_m
            assert np.array_equal(out, want)
            ra, rb, rc = a.copy(), b.copy(), c.copy()
            assert tmr_mod.repair_c(ra, rb, rc, impl=v) == want_m
            assert all(np.array_equal(r, want) for r in (ra, rb, rc))
    with pytest.raises(BackendUnavailableError):
        tmr_mod.vote_c(a, b, c, np.empty(n, np.uint64), impl=99)


def test_bad_arguments_are_rejected_and_change_nothing() -> None:
    a = np.arange(10, dtype=np.uint64)
    b, c = a.copy(), a.copy()
    b[3] = 99
    snap = [r.copy() for r in (a, b, c)]
    ro = c.copy()
    ro.flags.writeable = False
    big = np.zeros(20, np.uint64)
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: tmr_vote(a, b, c.astype(np.uint32)), "dtype"),
        (lambda: tmr_vote(a, b, c[:5]), "10 elements"),
        (lambda: tmr_vote(a[::2], b[::2], c[::2]), "contiguous"),
        (lambda: tmr_vote(a, b, c, out=np.empty(10, np.int64)), "dtype"),
        (lambda: tmr_vote(big[:10], big[5:15], big[10:], out=big[2:12]), "overlaps"),
        (lambda: tmr_repair(a, b, ro), "writeable"),
        (lambda: tmr_repair(a, a, c), "share memory"),
        (lambda: tmr_repair(big[:10], b, big[5:15]), "share memory"),
    ]
    for call, message in cases:
        with pytest.raises(KernelArgumentError, match=message):
            call()
    assert all(np.array_equal(r, s) for r, s in zip((a, b, c), snap, strict=True))
