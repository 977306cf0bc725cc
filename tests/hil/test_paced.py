"""Paced mode end to end, with two real processes: a ``satnode rig --clock paced`` process
runs its world in real time, and a node here runs against it with its onboard clock paced at
real time (``satnode sim --hal hil --rig ... --speed 1``, through the API).

The waits are on onboard time (``Node.run`` returns when the onboard clock has moved by the
requested seconds); a generous wall-clock cap only turns a hung run into a clear failure. The
oracle of the overrun count is the pacing rule itself: a rig held up (``@rig stall``) for four
plant periods must end at least one step after the next one was due."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flight.config import load_config
from flight.node import Node, NodeOptions
from hal.hil import HilBackend
from hal.registry import SteppedPlant
from native.errors import DeviceCommandError
from tests.conftest import RigProcess

pytestmark = pytest.mark.rig_only

#: Wall-clock cap of one paced run (s): several times its onboard length, only for a hang.
CAP_S = 120.0
#: The rig's world steps at the executive's base rate (the highest plant rate allowed).
PLANT_RATE_HZ = 10.0


def _run_capped(node: Node, duration_s: float) -> dict[str, Any]:
    """``node.run(duration_s)`` in a thread; a run still going after CAP_S is stopped and
    fails the test (the onboard clock is what the run waits on)."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["summary"] = node.run(duration_s)
        except BaseException as exc:  # reported by the test thread
            out["error"] = exc

    worker = threading.Thread(target=run, name="paced-node", daemon=True)
    worker.start()
    worker.join(CAP_S)
    if worker.is_alive():
        node.request_stop()
        worker.join(CAP_S)
        pytest.fail(f"a paced run of {duration_s} s onboard did not end within {CAP_S} s")
    if "error" in out:
        raise out["error"]
    summary: dict[str, Any] = out["summary"]
    return summary


def test_a_paced_session_runs_reports_overruns_and_does_not_crash(
    tmp_path: Path, start_rig: Callable[..., RigProcess]
) -> None:
    config_file = tmp_path / "paced.toml"
    config_file.write_text(f"[hal]\nplant_rate_hz = {PLANT_RATE_HZ}\n")
    rig = start_rig("--config", str(config_file), "--clock", "paced")

    config = load_config(str(config_file))
    config["hal"] = {**config["hal"], "backend": "hil", "rig": rig.address}
    node = Node(config, NodeOptions(out_dir=tmp_path / "out", seed=1, speed=1.0))
    try:
        backend = node.backend
        assert isinstance(backend, HilBackend) and not isinstance(backend, SteppedPlant)
        first = _run_capped(node, 2.0)
        assert first["interrupted"] is False
        assert node.clock.now_ns() == 2_000_000_000

        # a device on the rig holds the world up for four plant periods: the pacing
        # thread's step ends after the next one was due, whatever the machine's load
        backend.call("@rig", "stall", [4.0 / PLANT_RATE_HZ], {})
        with pytest.raises(DeviceCommandError):
            backend.call("@rig", "stall", [-1.0], {})
        summary = _run_capped(node, 2.0)
        assert summary["interrupted"] is False
        assert node.clock.now_ns() == 4_000_000_000  # the node ran on, on its own clock

        hal = summary["hal"]
        assert hal["clock"] == "paced"
        link = hal["link"]
        assert link["timeouts"] == 0 and link["rejected"] == 0 and link["disconnects"] == 0
        assert link["requests"] > 0
        rig_stats = hal["rig_summary"]["stats"]
        assert rig_stats["advances"] == 0  # nobody stepped the world: it ran in real time
        assert hal["t_s"] > 0  # the rig's world time, as of the last reply
        # overruns are reported with every reply and in the rig's summary
        assert hal["rig_overruns"] >= 1
        assert rig_stats["overruns"] >= hal["rig_overruns"]
        assert rig_stats["max_late_s"] > 0
    finally:
        node.close()
    assert rig.proc.poll() is None  # the rig is still serving: nothing crashed
