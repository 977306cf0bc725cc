"""End-to-end: the whole node on the simulated world (issue 7 acceptance).

- Fifteen orbits at beta = 0 with the 2 kW compute load: the state of charge never goes below
  its floor and every zone stays within its limits.
- Each injected fault (heater stuck on, battery cell loss, solar array string loss,
  temperature sensor stuck) is detected within its configured persistence, SAFE is entered,
  and the node returns to NOMINAL once the fault clears.
- No component exception stops the node.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from flight.core import NS_PER_S, Component
from flight.messages import Mode
from tests.flight.node._harness import ORBIT_S, make_node


def test_beta_is_zero_in_the_harness(tmp_path: Path) -> None:
    node = make_node(tmp_path, load=False)
    try:
        assert abs(math.degrees(node.backend.world.env.beta_rad)) < 1.0
    finally:
        node.close()


@pytest.mark.slow
def test_fifteen_orbits_beta0_with_2kw_compute(tmp_path: Path) -> None:
    node = make_node(tmp_path)
    try:
        summary = node.run(15 * ORBIT_S)
    finally:
        node.close()
    assert all(c["exceptions"] == 0 for c in summary["executive"]["components"].values())
    power, thermal = summary["power"], summary["thermal"]
    assert power["soc_min"] >= power["soc_floor"]
    assert power["floor_violations"] == 0
    for name, z in thermal["zones"].items():
        assert z["limit_min_c"] <= z["min_c"] and z["max_c"] <= z["limit_max_c"], name
    # The load really was 2 kW: the compute zone warmed well above its no-load level and the
    # battery cycled (a real eclipse discharge).
    assert thermal["zones"]["compute"]["max_c"] > 35.0
    assert power["soc_min"] < 0.9
    assert summary["modes"]["seconds_in"]["SAFE"] == 0.0
    assert summary["fdir"]["detections"] == []


FAULT_AT_S = 600.0
FAULTS = {
    # kind, target, clears after (s), expected monitor, sensing latency allowance (s)
    "heater_stuck_on": ("htr_optical", 300.0, "heater_fault"),
    "battery_cell_loss": ("battery", None, "battery_cells"),
    "solar_string_loss": ("solar_array", None, "array_strings"),
    "sensor_stuck": ("temps.battery", 300.0, "temp_sensor_stuck"),
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_fault_detected_safe_and_back_to_nominal(kind: str, tmp_path: Path) -> None:
    target, duration, monitor = FAULTS[kind]
    extra = {"strings": 12} if kind == "solar_string_loss" else {}
    params = "".join(f"{k} = {v}\n" for k, v in extra.items())
    scenario = f"""
        [[fault]]
        at_s = {FAULT_AT_S}
        kind = "{kind}"
        target = "{target}"
        {f"duration_s = {duration}" if duration else ""}
        {params}
    """
    node = make_node(tmp_path, scenario=scenario)
    fdir = node.apps["fdir"].manager
    thermal = node.apps["thermal"].controller
    try:
        summary = node.run(FAULT_AT_S + 2400.0)
    finally:
        node.close()
    assert all(c["exceptions"] == 0 for c in summary["executive"]["components"].values())
    (det,) = [d for d in fdir.detections if d.monitor == monitor]
    mon = next(m for m in fdir.monitors if m.definition.name == monitor)
    # Detection latency: the monitor's persistence, plus the sensing chain in front of it
    # (the thermal app needs stuck_samples identical readings or heater_mismatch_steps).
    chain_s = {
        "temp_sensor_stuck": thermal.cfg.stuck_samples,
        "heater_fault": int(thermal.param["heater_mismatch_steps"]),
    }.get(monitor, 0)
    latency = det.t_s - FAULT_AT_S
    assert 0 < latency <= mon.definition.persistence + chain_s + 2
    log = fdir.mode_log
    safe_at = [t for t, m in log if m == Mode.SAFE]
    assert safe_at and safe_at[0] == pytest.approx(det.t_s, abs=1.0)
    back = [t for t, m in log if m == Mode.NOMINAL and t > safe_at[0]]
    assert back, f"never returned to NOMINAL: {log}"
    assert fdir.mode is Mode.NOMINAL


def test_component_exceptions_never_stop_the_node(tmp_path: Path) -> None:
    class Faulty(Component):
        def step(self, t_ns: int) -> None:
            if t_ns > 5 * NS_PER_S:
                raise ZeroDivisionError("bug in an application")

    node = make_node(tmp_path, load=False)
    node.executive.add(Faulty("faulty", 41), 1.0)
    try:
        summary = node.run(120.0)
    finally:
        node.close()
    assert summary["sim_seconds"] == pytest.approx(120.0)
    assert summary["executive"]["components"]["faulty"]["exceptions"] > 100
    assert summary["executive"]["components"]["power"]["steps"] >= 119


def test_unhealable_component_leads_to_watchdog_resets_then_safe_latch(tmp_path: Path) -> None:
    """A component that fails on every step: restarted, declared FAILED, the watchdog is no
    longer kicked and resets the flight computer; after max_boots starts without a stable
    NOMINAL, FDIR latches SAFE (reset escalation)."""

    class Broken(Component):
        def step(self, t_ns: int) -> None:
            raise RuntimeError("corrupted state")

    node = make_node(tmp_path, load=False)
    node.executive.add(Broken("broken", 42), 1.0)
    fdir = node.apps["fdir"].manager
    try:
        summary = node.run(300.0)
    finally:
        node.close()
    resets = summary["resets"]
    assert len(resets) >= 2 and all(r["reason"] == "WATCHDOG" for r in resets)
    # Each cycle: 3 missed pings x (1 + max_restarts) then the 5 s watchdog timeout.
    assert resets[0]["t_s"] == pytest.approx(3 * 3 + 5, abs=3)
    assert fdir.hk.boot_count >= 3
    assert fdir.latched and fdir.mode is Mode.SAFE
    restarted = [r for r in node.events.history() if r.name == "component_restarted"]
    assert len(restarted) >= 2 and all("broken" in r.message for r in restarted)
