"""GNSS fixes are fused at their own time (issue 19: real time must behave like simulated time).

In real time, or on a rig, the plant (the simulated world) lags the onboard clock by up to one
plant period, so a fix read at step time ``t`` describes the orbit at the world's earlier time.
A plant period of 7 s (not a divisor of the 60 s fix interval) reproduces that lag
deterministically in simulated time: the fix of the step at 60 s is the world's state at
56 s, 4 s (about 30 km) earlier. Tagged with the step time, almost every fix fails the
innovation test (1 update, 24 rejects over 1500 s); at its own time, none does.
"""

from __future__ import annotations

from pathlib import Path

from flight.testing import build_node, node_config


def test_od_converges_when_the_world_lags_the_onboard_clock(tmp_path: Path) -> None:
    config = node_config(
        {"hal": {"plant_rate_hz": 1.0 / 7.0}},
        apps=["environment", "power", "fdir", "gnc"],
    )
    node = build_node(tmp_path, config)
    lags: list[float] = []
    world = node.backend.world

    def watch(t_ns: int) -> None:
        lags.append((t_ns - int(world.t_ns)) / 1e9)

    node.add_observer(watch)
    try:
        summary = node.run(1500.0)
    finally:
        node.close()
    assert max(lags) >= 3.0  # the world really lagged by seconds at some ticks
    gs = summary["gnc"]
    assert gs["od_updates"] >= 20 and gs["od_rejects"] == 0, gs
