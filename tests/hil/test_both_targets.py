"""The set that runs unchanged under ``--target sim`` and ``--target rig[=HOST:PORT]``: the
HAL conformance kit on every device of the default configuration, and node-level tests that
command a running node with ``ground.Commander`` and wait in onboard time.

Under ``sim`` the devices are the in-process simulated ones and the node is ``satnode sim``;
under ``rig`` the same devices are served by a rig process and the node is
``satnode sim --hal hil --rig HOST:PORT``. The tests themselves do not change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flight.config import load_config
from ground import Commander
from hal.registry import open_from_config
from hal.testing import check_backend
from tests.ground.running_node import RunningNode

pytestmark = pytest.mark.both_targets

#: Onboard-time bound on every wait of the node-level tests (s).
ONBOARD_TIMEOUT_S = 120.0
#: Wall-clock safety cap of the Commander (turns a dead node into an error; never decides).
WALL_CAP_S = 120.0

OPTIONS: dict[str, dict[str, Any]] = {"lct1": {"peer": "ahead"}, "pdu": {"toggle_rail": "comms"}}


def _hal_table(rig: str | None) -> dict[str, Any]:
    config = load_config(None)
    table: dict[str, Any] = {"seed": 1, "devices": config["devices"]}
    if rig is None:
        table["backend"] = "sim"
    else:
        table.update(backend="hil", rig=rig)
    return table


def test_every_device_of_the_default_node_conforms(rig_address: str | None) -> None:
    backend: Any = open_from_config(_hal_table(rig_address))
    try:
        if rig_address is None:
            backend.world.power.set_rail_on("propulsion", True)
        else:
            backend.set_rail_on("propulsion", True)  # the rig's harness hook
        results = check_backend(backend, options=OPTIONS)
        assert {k: repr(v) for k, v in results.items() if v is not None} == {}
        assert len(results) == 19
    finally:
        backend.close()


@pytest.fixture
def live(tmp_path: Path, rig_address: str | None) -> Iterator[RunningNode]:
    extra = () if rig_address is None else ("--hal", "hil", "--rig", rig_address)
    node = RunningNode(tmp_path / "run", speed=50.0, extra=extra)
    try:
        yield node
    finally:
        node.stop()


def test_ping_and_a_command_with_its_effect_in_housekeeping(live: RunningNode) -> None:
    with Commander.from_run(live.out, wall_cap_s=WALL_CAP_S) as c:
        c.await_tm(lambda t: True, timeout_s=ONBOARD_TIMEOUT_S)
        assert c.ping().ok
        result = c.send_and_await("power.set_soc", soc_frac=0.5, timeout_s=ONBOARD_TIMEOUT_S)
        assert result.ok, result
        c.await_housekeeping("power", since=result, timeout_s=ONBOARD_TIMEOUT_S)
        hk = c.await_housekeeping("power", timeout_s=ONBOARD_TIMEOUT_S)
        assert abs(float(hk["soc_frac"]) - 0.5) < 0.01


def test_a_refused_command_reports_its_failure_code(live: RunningNode) -> None:
    with Commander.from_run(live.out, wall_cap_s=WALL_CAP_S) as c:
        c.await_tm(lambda t: True, timeout_s=ONBOARD_TIMEOUT_S)
        result = c.send_and_await(
            "thermal.set_setpoint", zone=9, setpoint_c=20.0, timeout_s=ONBOARD_TIMEOUT_S
        )
        assert not result.ok and result.failure_name == "ILLEGAL_ARGUMENT"
