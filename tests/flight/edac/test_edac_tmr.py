"""TMR containers (vote on read, minority repair) and redundant execution.

Oracle: the value written (any corruption confined to one replica must be outvoted), and a
pure-Python bitwise majority ``(a & b) | (a & c) | (b & c)`` for multi-replica damage.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.edac import (
    RedundancyError,
    RedundancyOutcome,
    RedundantExecutor,
    TmrArray,
    TmrState,
    TmrValue,
    result_bytes,
)

masks = st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=8)


@settings(deadline=None, max_examples=60)
@given(
    value=st.floats(allow_nan=False, width=64),
    replica=st.integers(0, 2),
    mask=st.integers(1, 2**64 - 1),
)
def test_tmr_value_single_replica_outvoted(value: float, replica: int, mask: int) -> None:
    v = TmrValue("x", "<d", value)
    v.replicas[replica][0] ^= np.uint64(mask)
    assert v.get() == value
    assert v.repairs == 1
    assert all(int(r[0]) == int(v.replicas[0][0]) for r in v.replicas)
    assert v.get() == value and v.repairs == 1  # nothing left to repair


@settings(deadline=None, max_examples=60)
@given(
    values=st.lists(st.integers(-(2**31), 2**31 - 1), min_size=6, max_size=6),
    replica=st.integers(0, 2),
    flips=masks,
)
def test_tmr_array_any_damage_in_one_replica(
    values: list[int], replica: int, flips: list[int]
) -> None:
    arr = TmrArray("state", np.int32, (2, 3), values)  # 24 bytes -> 3 words
    words = arr.replicas[replica]
    expected_repairs = 0
    for i, m in enumerate(flips[: words.size]):
        words[i] ^= np.uint64(m)
        expected_repairs += m != 0
    got = arr.get()
    assert got.dtype == np.int32 and got.shape == (2, 3)
    assert got.ravel().tolist() == values
    assert arr.repairs == expected_repairs


@settings(deadline=None, max_examples=40)
@given(a=st.integers(0, 2**64 - 1), b=st.integers(0, 2**64 - 1), c=st.integers(0, 2**64 - 1))
def test_tmr_bitwise_majority_against_reference(a: int, b: int, c: int) -> None:
    v = TmrValue("w", "<Q", 0)
    for r, x in zip(v.replicas, (a, b, c), strict=True):
        r[0] = np.uint64(x)
    assert v.get() == (a & b) | (a & c) | (b & c)


def test_tmr_value_tuple_format_and_scrub() -> None:
    v = TmrValue("rv", "<3d", (1.0, -2.5, 3.25))
    assert v.get() == (1.0, -2.5, 3.25)
    v.replicas[2][1] ^= np.uint64(1 << 63)
    assert v.scrub() == 1
    assert v.get() == (1.0, -2.5, 3.25) and v.repairs == 1
    with pytest.raises(struct.error):
        v.set((1.0, 2.0))


def test_tmr_state_registers_replicas() -> None:
    seen: dict[str, np.ndarray] = {}
    state = TmrState(lambda name, arr: seen.__setitem__(name, arr))
    mode = state.value("mode", "<B", 2)
    keys = state.array("keys", np.uint8, 32, np.arange(32))
    assert set(seen) == {f"edac.tmr.{n}.{k}" for n in ("mode", "keys") for k in range(3)}
    assert seen["edac.tmr.keys.1"] is keys.replicas[1]
    seen["edac.tmr.mode.0"][0] ^= np.uint64(1)  # the radiation model hits a replica
    assert state.scrub() == {"mode": 1}
    assert mode.get() == 2 and state.repairs == 1
    assert state.summary()["by_name"]["mode"]["repairs"] == 1
    with pytest.raises(ValueError):
        state.value("mode", "<B", 0)


# -- redundant execution --------------------------------------------------------------------


class Flaky:
    """A computation whose n-th call (0-based) returns a corrupted result."""

    def __init__(self, bad_calls: set[int]) -> None:
        self.calls = 0
        self.bad = bad_calls

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = x * 2.0
        if self.calls in self.bad:
            out = out.copy()
            out.view(np.uint64)[1] ^= np.uint64(1 << 40)  # a silent bit error
        self.calls += 1
        return out


def test_duplex_agrees() -> None:
    ex = RedundantExecutor()
    x = np.arange(4.0)
    res = ex.run(Flaky(set()), x, copies=2)
    assert res.outcome is RedundancyOutcome.AGREED and res.runs == 2
    assert np.array_equal(res.value, x * 2)  # type: ignore[arg-type]


def test_duplex_detects_disagreement_without_tie_break() -> None:
    ex = RedundantExecutor()
    res = ex.run(Flaky({1}), np.arange(4.0), copies=2, tie_break=False)
    assert res.outcome is RedundancyOutcome.DISAGREED and res.value is None
    assert not res.trusted
    assert ex.disagreements == 1 and ex.unresolved == 1


def test_duplex_tie_break_and_triplex_outvote() -> None:
    ex = RedundantExecutor()
    x = np.arange(4.0)
    res = ex.run(Flaky({0}), x, copies=2)
    assert res.outcome is RedundancyOutcome.OUTVOTED and res.runs == 3
    assert np.array_equal(res.value, x * 2) and res.mismatched_words == 1  # type: ignore[arg-type]
    res3 = ex.run(Flaky({2}), x, copies=3)
    assert res3.outcome is RedundancyOutcome.OUTVOTED
    assert np.array_equal(res3.value, x * 2)  # type: ignore[arg-type]
    assert ex.summary() == {
        "calls": 2,
        "executions": 6,
        "disagreements": 2,
        "outvoted": 2,
        "unresolved": 0,
    }


def test_triplex_without_majority_raises_when_checked() -> None:
    ex = RedundantExecutor()
    outputs = iter([1, 2, 3])
    res = ex.run(lambda: next(outputs), copies=3)
    assert res.outcome is RedundancyOutcome.NO_MAJORITY and res.value is None
    outputs2 = iter([1.0, 2.0, 4.0])
    with pytest.raises(RedundancyError):
        ex.run_checked(lambda: next(outputs2), copies=3)
    assert ex.unresolved == 2


def test_result_bytes_distinguishes_types_and_shapes() -> None:
    a = np.zeros(4, dtype=np.float32)
    assert result_bytes(a) != result_bytes(a.reshape(2, 2))
    assert result_bytes(a) != result_bytes(a.view(np.int32))
    assert result_bytes(1) != result_bytes(1.0) != result_bytes(True)
    assert result_bytes((1, b"x")) == result_bytes([1, b"x"])
    with pytest.raises(TypeError):
        result_bytes(object())
