"""FDIR: an under-performing or failed thruster is detected and autonomy stops safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SCENARIO = """
name = "thruster {name}"
[[fault]]
at_s = 0.0
kind = "thruster_failure"
target = "thruster"
{params}
"""


def _rig(rig_factory: Any, tmp_path: Path, name: str, params: str) -> Any:
    path = tmp_path / f"{name}.toml"
    path.write_text(SCENARIO.format(name=name, params=params))
    return rig_factory(scenario=str(path))


def _burn(rig: Any, dv: float) -> None:
    c = rig.gnc
    cmd = next(x for x in c.DECLARATION.commands if x.name == "manual_burn")
    c.execute(cmd.opcode, cmd.arg_struct.pack(dv, 0.0))


def test_underperforming_thruster_is_detected_from_od(rig_factory: Any, tmp_path: Path) -> None:
    rig = _rig(rig_factory, tmp_path, "degraded", "thrust_scale = 0.3")
    rig.run_days(0.3)
    c = rig.gnc
    assert c.autonomy
    _burn(rig, 0.05)
    rig.run_days(0.3)
    assert c.fault and "achieved/planned" in c.fault
    ratio = c.executor.outcomes[0].ratio
    assert ratio == pytest.approx(0.3, abs=0.15)  # independent: the injected thrust scale
    assert not c.autonomy
    assert rig.events("thruster_fault") and rig.events("autonomy_changed")
    # Safe: no more burns, autonomy cannot be re-enabled while the fault is latched.
    dv_world = rig.backend.world.propulsion.delta_v_total_m_s
    cmd = next(x for x in c.DECLARATION.commands if x.name == "set_autonomy")
    from flight.core import CommandError

    with pytest.raises(CommandError, match="fault latched"):
        c.execute(cmd.opcode, cmd.arg_struct.pack(True))
    rig.run_days(1.0)
    assert rig.backend.world.propulsion.delta_v_total_m_s == dv_world
    assert not rig.backend.world.power.rail_on("propulsion")


def test_failed_thruster_stops_autonomy_at_once(rig_factory: Any, tmp_path: Path) -> None:
    rig = _rig(rig_factory, tmp_path, "failed", "")
    rig.run_days(0.3)
    c = rig.gnc
    _burn(rig, 0.05)
    rig.run_days(0.05)  # longer than an eclipse: the burn waits for sunlight before powering
    assert c.fault and not c.autonomy
    assert rig.events("thruster_fault")
    assert rig.backend.world.propulsion.delta_v_total_m_s == 0.0
    # found at the first powered attempt: the rail went on once and was released at once
    assert rig.rail.switched == 2
    assert not rig.backend.world.power.rail_on("propulsion")


def _first_burn_after_boot(rig_factory: Any, tmp_path: Path, params: str) -> Any:
    """A 0.05 m/s manual burn as soon as OD is ready (10 fixes), far less than one orbit of
    OD after boot: no full-orbit mean-a fit precedes it."""
    rig = _rig(rig_factory, tmp_path, "first", params)
    c = rig.gnc
    while not c.estimator.ready:
        rig.run_days(60.0 / 86400.0)
    assert rig.clock.now_ns() / 1e9 < 0.25 * 5739.0
    _burn(rig, 0.05)
    rig.run_days(0.12)  # the burn (after any eclipse) and one orbit plus settling after it
    return rig


def test_first_burn_after_boot_at_half_thrust_is_underperforming(
    rig_factory: Any, tmp_path: Path
) -> None:
    rig = _first_burn_after_boot(rig_factory, tmp_path, "thrust_scale = 0.5")
    c = rig.gnc
    out = c.executor.outcomes[0]
    assert out.a_before is None or not out.a_before[1]  # no full-orbit fit before it
    assert out.verified_by == "filter"
    # Oracle: the injected thrust scale (the world delivered half the commanded delta-v).
    world_dv = rig.backend.world.propulsion.delta_v_total_m_s
    assert world_dv == pytest.approx(0.5 * out.delta_v_m_s, rel=0.02)
    assert out.ratio == pytest.approx(0.5, abs=0.1)
    assert c.fault and "achieved/planned" in c.fault
    assert not c.autonomy and rig.events("thruster_fault")
    burns = c.summary()["last_burns"]
    assert burns[0]["ratio"] == out.ratio and burns[0]["verified_by"] == "filter"


def test_first_burn_after_boot_at_full_thrust_is_achieved(
    rig_factory: Any, tmp_path: Path
) -> None:
    rig = _first_burn_after_boot(rig_factory, tmp_path, "thrust_scale = 1.0")
    c = rig.gnc
    out = c.executor.outcomes[0]
    assert out.verified_by == "filter"
    world_dv = rig.backend.world.propulsion.delta_v_total_m_s
    assert out.ratio == pytest.approx(world_dv / out.delta_v_m_s, abs=0.1)
    assert not c.fault and rig.events("burn_verified")
