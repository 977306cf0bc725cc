"""Equivalence: in lock-step, a node run against a rig in another process gives the same
physics series and the same ``tm.bin`` as the in-process ``sim`` run with the same seed and
configuration. The oracle is the in-process run itself; the physics series is the world's
true state (its SHA-256 state digest, battery state of charge and node temperatures) sampled
every 10 s of onboard time on both sides."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flight.config import load_config
from flight.node import Node, NodeOptions
from tests.conftest import RigProcess

pytestmark = pytest.mark.rig_only

DURATION_S = 300.0
SAMPLE_NS = 10_000_000_000


def _run(
    config: dict[str, Any], out: Path, truth: Callable[[Node], dict[str, Any]]
) -> tuple[bytes, list[dict[str, Any]], Node]:
    node = Node(config, NodeOptions(out_dir=out, seed=1))
    series: list[dict[str, Any]] = []

    def sample(t_ns: int) -> None:
        if t_ns % SAMPLE_NS == 0:
            series.append(truth(node))

    node.add_observer(sample)
    try:
        node.run(DURATION_S)
    finally:
        node.close()
    return (out / "tm.bin").read_bytes(), series, node


def _sim_truth(node: Node) -> dict[str, Any]:
    w = node.backend.world
    return {
        "t_ns": int(w.t_ns),
        "state_digest": w.state_digest(),
        "battery_soc_frac": float(w.power.battery_soc_frac),
        "temps_c": {k: float(v) for k, v in w.thermal.temps_c().items()},
    }


def _rig_truth(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = node.backend.call("@rig", "truth", [], {})
    return {**out, "temps_c": dict(out["temps_c"])}


def test_lockstep_rig_run_equals_the_in_process_run(
    tmp_path: Path, start_rig: Callable[..., RigProcess]
) -> None:
    tm_sim, series_sim, _ = _run(load_config(None), tmp_path / "sim", _sim_truth)

    rig = start_rig()  # the default configuration, seed 1, lock-step
    config = load_config(None)
    config["hal"] = {**config["hal"], "backend": "hil", "rig": rig.address}
    tm_hil, series_hil, node = _run(config, tmp_path / "hil", _rig_truth)

    assert len(series_sim) == DURATION_S * 1e9 // SAMPLE_NS
    assert series_hil == series_sim
    assert len(tm_sim) > 10_000 and tm_hil == tm_sim
    link = node.backend.summary()["link"]
    # every device reading crossed the wire (nothing was served locally)
    assert link["requests"] > DURATION_S and link["timeouts"] == 0 and link["rejected"] == 0
