"""Regression tests for failure paths found in review: nothing escapes the executive, a
rejected or failed command changes nothing, and unknown data leads to safe behaviour."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from spacepackets.ecss import PusTc, PusTm

from flight.core import NS_PER_S, Executive, SimClock
from flight.messages import ShedLevel, ThermalThrottle
from flight.tmtc import TmtcService
from ground.cli import main
from native.errors import DeviceCommandError, DeviceUnavailableError
from tests.flight.node._harness import make_node


def test_failing_tm_sink_never_escapes_the_executive() -> None:
    calls = {"n": 0}

    def full_disk(_packet: bytes) -> None:
        calls["n"] += 1
        if calls["n"] > 2:
            raise OSError(28, "No space left on device")

    later: list[bytes] = []
    ex = Executive(SimClock(), 10.0)
    svc = TmtcService(ex, 100, sinks=[full_disk, later.append], hk_interval_s=1.0)
    ex.run_for(30 * NS_PER_S)  # must not raise
    assert svc.hk.sink_errors > 0
    assert len(later) == svc.hk.tm_sent  # the next sink still got every packet


def test_cross_parameter_violation_rejected_at_acceptance(tmp_path: Path) -> None:
    node = make_node(tmp_path, load=False)
    try:
        node.run(5.0)
        power = node.apps["power"].controller
        before = node.params.table()
        tm: list[bytes] = []
        node.tmtc.sinks.append(tm.append)
        value = struct.pack(">Hf", 20 << 8 | 3, 0.9)  # shed_laser_soc above shed_compute_soc
        tc = PusTc(service=20, message_subtype=3, apid=node.tmtc.apid, app_data=b"\x01" + value)
        assert node.tmtc.process(tc.pack()) is False
        reports = [PusTm.unpack(p, timestamp_len=7) for p in tm]
        assert any((r.service, r.message_subtype) == (1, 2) for r in reports)
        assert node.params.table() == before
        # a consistent change is accepted and takes effect without a restart
        ok = struct.pack(">HfHf", 20 << 8 | 2, 0.6, 20 << 8 | 3, 0.5)
        tc = PusTc(service=20, message_subtype=3, apid=node.tmtc.apid, app_data=b"\x02" + ok)
        assert node.tmtc.process(tc.pack()) is True
        node.run(2.0)
        assert power.policy is not None and power.policy.enter_soc[:2] == pytest.approx((0.6, 0.5))
    finally:
        node.close()


def test_failed_rail_command_is_retried_and_not_reported_as_shed(tmp_path: Path) -> None:
    node = make_node(tmp_path, load=False)
    try:
        node.run(15.0)
        power = node.apps["power"].controller
        real_set = power.pdu.set_rail
        failures = {"n": 2}

        def flaky(rail: str, on: bool) -> None:
            if failures["n"] > 0:
                failures["n"] -= 1
                raise DeviceCommandError("PDU did not acknowledge")
            real_set(rail, on)

        power.pdu.set_rail = flaky  # type: ignore[method-assign]
        power.cmd_force_shed(1)
        node.run(1.0)
        assert power.applied is ShedLevel.NONE  # not reached: compute rail still on
        assert power.pdu.read().rail("compute").on
        node.run(3.0)
        assert power.applied is ShedLevel.COMPUTE
        assert not power.pdu.read().rail("compute").on
    finally:
        node.close()


def test_unpowered_radiator_does_not_stop_thermal_control(tmp_path: Path) -> None:
    node = make_node(tmp_path, load=False)
    try:
        node.run(5.0)
        thermal = node.apps["thermal"].controller
        thermal.cmd_set_radiator_auto(False)
        node.backend.set_device_power("radiator", False)
        with pytest.raises(DeviceUnavailableError):
            thermal.radiator.read()
        published = node.executive.bus.published.get(ThermalThrottle, 0)
        node.run(5.0)
        assert node.executive.bus.published[ThermalThrottle] >= published + 5
        assert node.executive.stats["thermal"].exceptions == 0
    finally:
        node.close()


def test_stuck_compute_sensor_gives_safe_throttle(tmp_path: Path) -> None:
    scenario = """
        [[fault]]
        at_s = 20.0
        kind = "sensor_stuck"
        target = "temps.compute"
    """
    node = make_node(tmp_path, scenario=scenario, load=False)
    try:
        node.run(120.0)
        thermal = node.apps["thermal"].controller
        assert "compute" in thermal.stuck
        msg = node.executive.bus.latest(ThermalThrottle)
        assert msg is not None and msg.max_power_frac == thermal.cfg.unknown_throttle_frac
        assert msg.reason == "compute temperature unknown"
    finally:
        node.close()


def test_realtime_run_advances_the_world(tmp_path: Path) -> None:
    out = tmp_path / "rt"
    assert main(["sim", "--duration", "2.5", "--realtime", "--out", str(out)]) == 0
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    assert summary["hal"]["t_s"] >= 1.0


@pytest.mark.parametrize("bad", ["nan", "inf", "-5", "0"])
def test_cli_rejects_non_finite_durations(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "--duration", bad, "--out", str(tmp_path / "o")]) == 2
    assert "positive number of seconds" in capsys.readouterr().err
