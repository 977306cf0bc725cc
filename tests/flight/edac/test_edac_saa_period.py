"""Scrub period through SAA passes (issue 19): every word is re-scrubbed within the required
period, judged by its exposure since its last scrub.

Oracle: each word's scrub times are recorded; between two scrubs a word gathers the exposure
``sum dt k(t)`` (``k`` = the SAA factor while the indicator says inside, 1 outside), and the
probability of a double upset depends only on that exposure. Expressed at the rate in force
at the second scrub, it must not exceed the required period there, which is the closed form
``T = 2 R / (W (72 k lambda)^2)`` computed here by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from flight.core import Executive, SimClock
from flight.edac import MemoryBlobStore, ProtectedRegion, Scrubber, ScrubConfig

R_PER_DAY = 1e-3 / 365.25
K_SAA = 10.0
WORDS = 1500
T_IN = 9.37  # s: the SAA requirement of the campaign that found the defect


def _rate_for(t_in_s: float) -> float:
    """The outside upset rate (per bit per day) that makes the inside requirement t_in_s."""
    return math.sqrt(2 * R_PER_DAY * 86400 / (WORDS * t_in_s)) / (72 * K_SAA)


def _required_s(k: float, lam: float) -> float:
    return 2 * R_PER_DAY / (WORDS * (72 * k * lam) ** 2) * 86400


# Inside the SAA for these [start, end) intervals of onboard seconds (irregular on purpose).
PASSES = [(37, 49), (130, 131), (203, 260), (333, 340), (341, 398), (470, 479)]


def _inside(t_s: float) -> bool:
    return any(a <= t_s < b for a, b in PASSES)


def test_every_word_meets_the_requirement_through_saa_passes() -> None:
    lam = _rate_for(T_IN)
    t_out, t_in = _required_s(1.0, lam), _required_s(K_SAA, lam)
    assert t_in == pytest.approx(T_IN) and t_out == pytest.approx(100 * T_IN)
    clock = SimClock()
    ex = Executive(clock, 10.0)
    store = MemoryBlobStore()
    regions = [
        ProtectedRegion("a", 1, 8000, store=store, page_bytes=256, interleave=8),
        ProtectedRegion("b", 2, 4000, store=store, page_bytes=256),
    ]
    assert sum(r.n_words for r in regions) == WORDS
    scrubs: dict[str, list[tuple[float, int, int]]] = {r.name: [] for r in regions}
    for r in regions:
        original = r.scrub

        def spy(w0: int = 0, w1: int | None = None, *, _r=r, _o=original):  # type: ignore[no-untyped-def]
            scrubs[_r.name].append((clock.now_ns() / 1e9, w0, _r.n_words if w1 is None else w1))
            return _o(w0, w1)

        r.scrub = spy  # type: ignore[method-assign]
    cfg = ScrubConfig(upset_rate_per_bit_day=lam, saa_factor=K_SAA, max_period_s=60.0)
    scrubber = Scrubber(regions, cfg, 1.0, saa=lambda: _inside(clock.now_ns() / 1e9))
    ex.add(scrubber, 1.0)
    ex.start()
    ex.run_for(600 * 10**9)
    # Outside, the plan sweeps far slower than the inside requirement: without accounting
    # for the exposure carried into a pass, entering the SAA would break it.
    assert scrubber.plan_outside.planned_period_s > 3 * t_in
    assert scrubber.plan_inside.planned_period_s <= 0.5 * t_in
    worst_inside = 0.0
    for r in regions:
        last = np.full(r.n_words, 0.0)  # the memory is clean at t = 0 (just written)
        for t, w0, w1 in scrubs[r.name]:
            # exposure of each word since its last scrub, steps of 1 s (the scrubber's rate)
            for start in np.unique(last[w0:w1]):
                sel = np.flatnonzero(last[w0:w1] == start) + w0
                exposure = sum(K_SAA if _inside(s) else 1.0 for s in np.arange(start, t, 1.0))
                k_now = K_SAA if _inside(t) else 1.0
                equivalent = exposure / k_now
                assert equivalent <= (t_in if k_now > 1 else t_out) + 1e-9, (r.name, t, sel[0])
                if k_now > 1:
                    worst_inside = max(worst_inside, equivalent)
            last[w0:w1] = t
    # the passes did carry outside exposure in: more than the inside sweep alone gives
    assert worst_inside > scrubber.plan_inside.planned_period_s
    summary = scrubber.summary()
    assert summary["period_violations"] == 0 and scrubber.hk.period_violations == 0
    assert summary["saa_sweeps"] > 0
    assert summary["scrub_period_max_inside_saa_s"] <= t_in
    assert summary["scrub_period_required_inside_saa_s"] == pytest.approx(t_in)


def test_a_budget_too_small_for_the_saa_counts_violations() -> None:
    lam = _rate_for(T_IN)
    clock = SimClock()
    ex = Executive(clock, 10.0)
    region = ProtectedRegion("a", 1, 12000, store=MemoryBlobStore(), page_bytes=256)
    cfg = ScrubConfig(
        upset_rate_per_bit_day=lam, saa_factor=K_SAA, max_period_s=60.0, max_words_per_step=50
    )
    scrubber = Scrubber([region], cfg, 1.0, saa=lambda: _inside(clock.now_ns() / 1e9))
    ex.add(scrubber, 1.0)
    ex.start()
    ex.run_for(300 * 10**9)
    assert not scrubber.plan_inside.meets_requirement  # 1500 words at 50 per second: 30 s
    summary = scrubber.summary()
    assert summary["period_violations"] >= 2 and not summary["period_ok"]
    assert summary["scrub_period_max_inside_saa_s"] > summary["scrub_period_required_inside_saa_s"]
    assert [e.name for e in ex.events.find("period_violation")]
