"""EDAC counts scrub-period violations (issue 13, item 5): after an SAA pass the step budget
could not cover, ``period_ok`` stays false once the spacecraft is outside again, and
``period_violations`` counts each miss. Oracle: the closed-form requirement
(``required_scrub_period_s``; inside the SAA the rate is ``saa_factor`` times higher) against
the budget ``max_words_per_step`` words per step at the scrub rate."""

from __future__ import annotations

import math

import numpy as np

from flight.core import NS_PER_S, Executive, SimClock
from flight.edac import MemoryBlobStore, ProtectedRegion, Scrubber, ScrubConfig
from flight.edac._period import required_scrub_period_s

WORDS = 1000  # 8000 octets of 64-bit words


def test_saa_pass_that_violates_the_period_is_counted_and_reported() -> None:
    cfg = ScrubConfig(
        upset_rate_per_bit_day=1e-3,
        target_uncorrectable_per_day=1e-3,
        max_words_per_step=100,
        saa_factor=20.0,
    )
    rate_hz = 1.0
    inside = [False]
    data = np.random.default_rng(3).integers(0, 256, 8 * WORDS, dtype=np.uint8).tobytes()
    region = ProtectedRegion("r1", 1, data, store=MemoryBlobStore(), page_bytes=256)
    scrubber = Scrubber([region], cfg, rate_hz, saa=lambda: inside[0])
    ex = Executive(SimClock(), 10.0)
    ex.add(scrubber, rate_hz)
    # the closed form says: outside the budget suffices, inside it cannot
    best_period_s = math.ceil(WORDS / cfg.max_words_per_step) / rate_hz
    outside_req = required_scrub_period_s(WORDS, cfg.upset_rate_per_bit_day, 1e-3)
    inside_req = required_scrub_period_s(WORDS, cfg.upset_rate_per_bit_day * 20.0, 1e-3)
    assert best_period_s <= outside_req * cfg.period_margin and best_period_s > inside_req
    ex.run_for(60 * NS_PER_S)
    assert scrubber.summary()["period_ok"] and scrubber.period_violations == 0
    inside[0] = True
    ex.run_for(60 * NS_PER_S)
    inside[0] = False
    ex.run_for(120 * NS_PER_S)
    summary = scrubber.summary()
    assert not summary["in_saa"] and scrubber.plan.meets_requirement  # fine again now...
    assert summary["period_ok"] is False  # ...but the pass violated the requirement
    n = len(ex.events.find("period_violation"))
    assert summary["period_violations"] == n == scrubber.hk.period_violations >= 1
