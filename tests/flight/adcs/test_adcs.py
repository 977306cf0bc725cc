"""The adcs application: configuration, requests from the bus, ground commands, the closed form.

The component runs in a plain executive on a simulated clock, with the sim backend's attitude
unit as its device and the plant advanced to each tick's time by a tick hook. The oracle of
the power test is the closed form of ``tests/hal/test_attitude_sim.py``: with a body-fixed
array whose normal is the zenith face, nadir pointing sees cos(inc) = r^ . s^ and Sun
pointing 1, so SAFE's Sun request raises the available array power by 1 / cos(inc).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from flight.adcs import MODE_CODES, AdcsComponent, Config, parse_config
from flight.apps import COMPONENT_IDS
from flight.core import CommandError, Executive, FailureCode, SimClock
from flight.messages import AttitudeRequest, AttitudeStatus
from hal.attitude import AttitudeControl, AttitudeMode
from hal.registry import get_device, open_from_config
from native.errors import ConfigError

#: Same rounding-only tolerance as the HAL closed-form test (one formula, two attitudes).
RATIO_RTOL = 1e-9
BASE_HZ = 10.0
TICK_NS = round(1e9 / BASE_HZ)


def _node(**cfg: Any) -> tuple[Executive, AdcsComponent, Any, Any]:
    world = {
        "orbit": {"drag": False},
        "power": {
            "array": {"tracking": "body_fixed", "normal_body": [0, 0, -1], "temp_coeff_per_k": 0}
        },
    }
    backend = open_from_config(
        {"backend": "sim", "seed": 4, "world": world, "devices": {"adcs": {"family": "attitude"}}}
    )
    twin = open_from_config({"backend": "sim", "seed": 4, "world": world})  # stays nadir
    unit = get_device(backend, "adcs", AttitudeControl)
    ex = Executive(SimClock(), base_hz=BASE_HZ)

    def plant(t_ns: int) -> None:
        for b in (backend, twin):
            if t_ns > b.t_ns:
                b.advance(t_ns - b.t_ns)

    ex.add_tick_hook(plant)
    comp = AdcsComponent(parse_config(cfg or {"attitude": "adcs"}), unit, COMPONENT_IDS["adcs"])
    ex.add(comp, comp.cfg.rate_hz)
    return ex, comp, backend, twin


def test_registry_id_is_24() -> None:
    assert COMPONENT_IDS["adcs"] == 24


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"atitude": "adcs"}, "atitude"),
        ({"attitude": ""}, "attitude"),
        ({"attitude": 3}, "attitude"),
        ({"rate_hz": 0}, "rate_hz"),
        ({"rate_hz": -1.0}, "rate_hz"),
        ({"rate_hz": math.nan}, "rate_hz"),
        ({"rate_hz": math.inf}, "rate_hz"),
        ({"rate_hz": "fast"}, "rate_hz"),
        ({"rate_hz": True}, "rate_hz"),
        ({"rate_hz": 1e9}, "rate_hz"),
    ],
)
def test_bad_configuration_names_the_key(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"\[adcs\] {key}"):
        parse_config(table)


def test_defaults() -> None:
    assert parse_config({}) == Config(attitude="attitude", rate_hz=1.0)


def test_sun_request_points_at_the_sun_and_raises_array_power_by_the_closed_form() -> None:
    ex, comp, backend, twin = _node()
    # Run nadir until sunlit with the Sun 60 deg from the zenith face (cos(inc) ~ 0.5).
    for _ in range(2000):
        ex.run_for(10 * 10**9)
        r = np.asarray(backend.world.orbit.r_eci_m)
        s = np.asarray(backend.world.env.sun_eci_unit)
        if backend.world.env.sunlit_frac == 1.0 and 0.45 < np.dot(r / np.linalg.norm(r), s) < 0.55:
            break
    status = ex.bus.latest(AttitudeStatus)
    assert status is not None and status.mode == "nadir" and status.on_target
    p_before = backend.world.power.array_available_w

    ex.bus.publish(AttitudeRequest(ex.clock.now_ns(), "sun"))  # what FDIR sends in SAFE
    ex.run_for(120 * 10**9)  # any slew is under 180 s at 1 deg/s... this one ~60 deg
    unit = get_device(backend, "adcs", AttitudeControl)
    reading = unit.read()
    assert reading.mode is AttitudeMode.SUN and not reading.slewing
    assert comp.hk.mode == MODE_CODES[AttitudeMode.SUN] and comp.hk.on_target
    assert comp.hk.mode_changes == 1 and comp.hk.slews_completed == 1 and comp.hk.requests == 1

    r = np.asarray(twin.world.orbit.r_eci_m)
    s = np.asarray(twin.world.env.sun_eci_unit)
    cos_inc = float(np.dot(r / np.linalg.norm(r), s))
    assert twin.t_ns == backend.t_ns and 0.0 < cos_inc < 1.0
    p_sun = backend.world.power.array_available_w
    p_nadir = twin.world.power.array_available_w
    assert p_sun == pytest.approx(p_nadir / cos_inc, rel=RATIO_RTOL)
    assert p_sun > p_before

    (change,) = ex.events.find("mode_change")
    assert change.message == "attitude nadir -> sun (request)"
    assert len(ex.events.find("on_target")) == 1
    summary_s = comp.seconds_in
    assert summary_s[AttitudeMode.SUN] > 100.0 and summary_s[AttitudeMode.NADIR] > 0.0


def test_repeated_and_bad_requests() -> None:
    ex, comp, _, _ = _node()
    ex.run_for(2 * 10**9)
    ex.bus.publish(AttitudeRequest(0, "nadir"))  # already in force: nothing to do
    ex.bus.publish(AttitudeRequest(0, "min_drag"))  # not a mode this unit has
    ex.bus.publish(AttitudeRequest(0, "inertial"))  # needs a quaternion
    ex.run_for(2 * 10**9)
    assert comp.hk.requests == 3 and comp.hk.requests_rejected == 2
    assert comp.hk.mode_changes == 0 and comp.mode is AttitudeMode.NADIR
    q = (1.0, 0.0, 0.0, 0.0)
    ex.bus.publish(AttitudeRequest(0, "inertial", q_target_eci=q))
    ex.run_for(200 * 10**9)
    assert comp.mode is AttitudeMode.INERTIAL and comp.hk.on_target


def _args(comp: AdcsComponent, opcode: int, *values: float) -> bytes:
    cmd = comp.DECLARATION.command(opcode)
    assert cmd is not None
    return cmd.arg_struct.pack(*values)


def test_ground_commands_are_range_checked_and_point_the_unit() -> None:
    ex, comp, backend, _ = _node()
    ex.run_for(10**9)
    for opcode, values, code in (
        (1, (2,), FailureCode.ILLEGAL_ARGUMENT),  # set_mode: only 0 (nadir) and 1 (sun)
        (2, (1.0, 1.0, 0.0, 0.0), FailureCode.ILLEGAL_ARGUMENT),  # not a unit quaternion
        (3, (0.0, 0.0, 0.0), FailureCode.ILLEGAL_ARGUMENT),  # zero direction
        (3, (2.0, 0.0, 0.0), FailureCode.ILLEGAL_ARGUMENT),  # outside [-1, 1]
    ):
        with pytest.raises(CommandError) as exc:
            comp.execute(opcode, _args(comp, opcode, *values))
        assert exc.value.code == code
    assert comp.mode is AttitudeMode.NADIR and comp.hk.mode_changes == 0
    comp.execute(1, _args(comp, 1, 1))
    assert comp.mode is AttitudeMode.SUN
    comp.execute(3, _args(comp, 3, 0.0, 0.0, 1.0))
    ex.run_for(200 * 10**9)
    z = np.asarray(backend.world.attitude.matrix_body_to_eci())[:, 2]
    assert np.allclose(z, (0.0, 0.0, 1.0), atol=1e-6)
    assert comp.hk.mode_changes == 2 and comp.mode is AttitudeMode.TARGET_VECTOR


def test_status_is_published_every_step_with_units() -> None:
    ex, _, _, _ = _node(attitude="adcs", rate_hz=2.0)
    ex.run_for(5 * 10**9)
    assert ex.bus.published[AttitudeStatus] == 10
    st = ex.bus.latest(AttitudeStatus)
    assert st is not None and st.mode == "nadir"
    assert {f for f in st.__slots__} >= {"angle_to_target_deg", "wheel_momentum_nms"}
