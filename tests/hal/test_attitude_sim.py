"""The simulated attitude unit and the world's attitude model against closed forms.

Oracles, all computed here with NumPy from the orbit state and the Sun direction (never from
the kernel's quaternions):

- array incidence: a body-fixed array with normal -Z sees the Sun at cos(inc) = r^ . s^ in
  nadir pointing (-Z is the zenith) and at cos(inc) = 1 in Sun pointing (-Z is the Sun); a
  one-axis array hinged about Y sees cos(inc) = cos(beta) in nadir pointing and 1 in Sun
  pointing. Available array power is proportional to cos(inc) when the cell efficiency does
  not depend on temperature, so the ratio Sun/nadir is 1 / cos(inc);
- slew time: an eigen-axis slew of angle theta (the angle between the two frames built from
  their axes) at the rate limit omega takes theta / omega;
- wheels: holding an inertial attitude (no body rate) with a constant disturbance T and no
  gravity gradient, the wheels store T t exactly, a dump starts on the first step above the
  limit and removes (D - T) per second until the reset threshold.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from hal.attitude import AttitudeControl, AttitudeMode, AttitudeReading
from hal.registry import get_device, open_from_config
from hal.sim import SimAttitude, SimBackend
from native.errors import ConfigError, DeviceCommandError

#: Relative tolerance of the power ratio: both powers come from the same formula, so only
#: rounding and the Sun's motion within one physics step (~2e-7 rad) separate them.
RATIO_RTOL = 1e-9
#: Slew completion is known to one physics step plus the target's drift during the slew.
PHYSICS_STEP_S = 0.1
SLEW_TIME_TOL_S = 2 * PHYSICS_STEP_S
#: Wheel momentum bookkeeping is exact up to floating-point accumulation over the steps.
MOMENTUM_TOL_NMS = 1e-9

STEP_NS = round(PHYSICS_STEP_S * 1e9)
RATE_DEG_S = 1.0


def _world(tracking: str) -> dict[str, Any]:
    return {
        "physics_step_s": PHYSICS_STEP_S,
        "orbit": {"drag": False},  # the orbit then does not depend on the attitude
        "attitude": {"max_slew_rate_deg_s": RATE_DEG_S},
        "power": {
            "array": {
                "tracking": tracking,
                "normal_body": [0.0, 0.0, -1.0],
                "temp_coeff_per_k": 0.0,
            }
        },
    }


def _backend(tracking: str = "body_fixed", **world: Any) -> SimBackend:
    cfg = _world(tracking)
    cfg.update(world)
    b = open_from_config(
        {"backend": "sim", "seed": 3, "world": cfg, "devices": {"adcs": {"family": "attitude"}}}
    )
    assert isinstance(b, SimBackend)
    return b


def _frame(z: np.ndarray, r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Body axes as columns: Z given, Y = -h^ made perpendicular to Z, X = Y x Z."""
    h = np.cross(r, v)
    h /= np.linalg.norm(h)
    y = -h - np.dot(-h, z) * z
    y /= np.linalg.norm(y)
    return np.column_stack([np.cross(y, z), y, z])


def _geometry(b: SimBackend) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = b.world
    r = np.asarray(w.orbit.r_eci_m, dtype=np.float64)
    v = np.asarray(w.orbit.v_eci_m_s, dtype=np.float64)
    s = np.asarray(w.env.sun_eci_unit, dtype=np.float64)
    return r, v, s / np.linalg.norm(s)


def _run_to_incidence(b: SimBackend, lo: float, hi: float) -> float:
    """Advance until sunlit with r^ . s^ in [lo, hi]; returns r^ . s^."""
    for _ in range(20_000):
        r, _, s = _geometry(b)
        c = float(np.dot(r / np.linalg.norm(r), s))
        if b.world.env.sunlit_frac == 1.0 and lo <= c <= hi:
            return c
        b.advance(5_000_000_000)
    raise AssertionError("no such geometry within the search")


def _unit(b: SimBackend) -> AttitudeControl:
    return get_device(b, "adcs", AttitudeControl)


def test_the_sim_unit_is_an_attitude_control() -> None:
    b = _backend()
    dev = b.device("adcs")
    assert isinstance(dev, SimAttitude) and isinstance(dev, AttitudeControl)
    r = _unit(b).read()
    assert type(r) is AttitudeReading and r.mode is AttitudeMode.NADIR and r.valid
    assert {m.value for m in AttitudeMode} == {"nadir", "sun", "inertial", "target_vector"}


def test_sun_pointing_raises_body_fixed_array_power_by_one_over_cos_incidence() -> None:
    nadir, sun = _backend(), _backend()
    for b in (nadir, sun):
        _run_to_incidence(b, 0.45, 0.55)
    assert nadir.t_ns == sun.t_ns
    r, v, s = _geometry(sun)
    q0 = np.asarray(sun.world.attitude.matrix_body_to_eci())
    target = _frame(-s, r, v)
    theta_rad = math.acos(min(1.0, (np.trace(q0.T @ target) - 1.0) / 2.0))
    _unit(sun).set_mode(AttitudeMode.SUN)
    assert _unit(sun).read().slewing

    # Slew time: the first step found on target is theta / rate after the command.
    t_cmd = sun.t_ns
    while _unit(sun).read().slewing:
        sun.advance(STEP_NS)
        nadir.advance(STEP_NS)
    slew_s = (sun.t_ns - t_cmd) / 1e9
    assert slew_s == pytest.approx(math.degrees(theta_rad) / RATE_DEG_S, abs=SLEW_TIME_TOL_S)

    # Power, same instant, same orbit: nadir sees cos(inc) = r^.s^, the Sun-pointed array 1.
    sun.advance(10 * STEP_NS)
    nadir.advance(10 * STEP_NS)
    r, _, s = _geometry(nadir)
    cos_inc = float(np.dot(r / np.linalg.norm(r), s))
    assert 0.3 < cos_inc < 0.7
    assert nadir.world.power.array_incidence_cos == pytest.approx(cos_inc, rel=RATIO_RTOL)
    assert sun.world.power.array_incidence_cos == pytest.approx(1.0, rel=RATIO_RTOL)
    ratio = sun.world.power.array_available_w / nadir.world.power.array_available_w
    assert ratio == pytest.approx(1.0 / cos_inc, rel=RATIO_RTOL)


def test_sun_pointing_raises_one_axis_array_power_by_one_over_cos_beta() -> None:
    # Beta ~ 40 deg at the default epoch (June: Sun at RA ~68 deg, dec ~22 deg): orbit
    # normal turned toward the Sun with the RAAN.
    kw = {"orbit": {"drag": False, "raan_deg": 158.0, "inclination_deg": 20.0}}
    nadir, sun = _backend("one_axis_y", **kw), _backend("one_axis_y", **kw)
    _unit(sun).set_mode(AttitudeMode.SUN)
    for b in (nadir, sun):
        b.advance(400_000_000_000)
    r, v, s = _geometry(nadir)
    h = np.cross(r, v)
    cos_beta = math.sqrt(1.0 - float(np.dot(h / np.linalg.norm(h), s)) ** 2)
    assert nadir.world.env.sunlit_frac == 1.0 and cos_beta < 0.9
    ratio = sun.world.power.array_available_w / nadir.world.power.array_available_w
    assert ratio == pytest.approx(1.0 / cos_beta, rel=RATIO_RTOL)


def test_no_array_power_when_the_sun_is_behind_a_body_fixed_array() -> None:
    b = _backend()
    _run_to_incidence(b, -1.0, -0.2)  # sunlit, Sun below the local horizontal
    assert b.world.power.array_incidence_cos == 0.0
    assert b.world.power.array_available_w == 0.0


def test_inertial_and_target_vector_modes_reach_their_targets() -> None:
    b = _backend()
    unit = _unit(b)
    q = (math.cos(0.3), 0.0, math.sin(0.3), 0.0)
    unit.set_mode(AttitudeMode.INERTIAL, q_target_eci=q)
    b.advance(200_000_000_000)
    r = unit.read()
    assert r.mode is AttitudeMode.INERTIAL and not r.slewing
    assert np.allclose(r.q_body_to_eci, q, atol=1e-9)
    target = (0.0, 0.6, 0.8)
    unit.set_mode("target_vector", target_eci=target)
    b.advance(200_000_000_000)
    r = unit.read()
    assert r.mode is AttitudeMode.TARGET_VECTOR and not r.slewing
    z_body = np.asarray(b.world.attitude.matrix_body_to_eci())[:, 2]
    assert np.allclose(z_body, target, atol=1e-6)


@pytest.mark.parametrize(
    ("mode", "kwargs"),
    [
        ("warp", {}),
        ("inertial", {}),
        ("inertial", {"q_target_eci": (1.0, 1.0, 0.0, 0.0)}),
        ("inertial", {"q_target_eci": (1.0, 0.0, 0.0)}),
        ("inertial", {"q_target_eci": (math.inf, 0.0, 0.0, 0.0)}),
        ("inertial", {"q_target_eci": "1000"}),
        ("target_vector", {}),
        ("target_vector", {"target_eci": (0.0, 0.0, 0.0)}),
        ("target_vector", {"target_eci": (True, 0.0, 0.0)}),
        ("sun", {"target_eci": (1.0, 0.0, 0.0)}),
        ("nadir", {"q_target_eci": (1.0, 0.0, 0.0, 0.0)}),
    ],
)
def test_bad_mode_commands_are_refused_and_change_nothing(mode: str, kwargs: dict) -> None:
    b = _backend()
    b.advance(10 * STEP_NS)
    digest = b.world.state_digest()
    with pytest.raises(DeviceCommandError):
        _unit(b).set_mode(mode, **kwargs)
    assert _unit(b).read().mode is AttitudeMode.NADIR
    assert b.world.state_digest() == digest


def test_wheels_store_the_disturbance_and_dump_above_the_limit() -> None:
    torque, limit, reset, dump = 1e-3, 0.5, 0.1, 0.01
    b = _backend(
        attitude={
            "max_slew_rate_deg_s": RATE_DEG_S,
            "gravity_gradient": False,
            "disturbance_torque_nm": [torque, 0.0, 0.0],
            "wheel_momentum_max_nms": limit,
            "wheel_momentum_reset_nms": reset,
            "desat_torque_nm": dump,
        }
    )
    unit = _unit(b)
    unit.set_mode(AttitudeMode.INERTIAL, q_target_eci=unit.read().q_body_to_eci)
    att = b.world.attitude
    t_full_s = limit / torque  # the wheels reach the limit
    b.advance(round((t_full_s - 1.0) * 1e9))
    r = unit.read()
    assert r.wheel_momentum_body_nms[0] == pytest.approx(torque * (t_full_s - 1.0), abs=1e-9)
    assert r.wheel_momentum_body_nms[1:] == (0.0, 0.0)
    assert r.desaturations == 0 and not r.desaturating
    b.advance(1_000_000_000 + STEP_NS)  # the first step above the limit starts a dump
    r = unit.read()
    assert r.desaturating and r.desaturations == 1
    t_start = b.t_ns / 1e9
    dump_s = (r.wheel_momentum_nms - reset) / (dump - torque)
    b.advance(round((dump_s - 2 * PHYSICS_STEP_S) * 1e9))
    assert unit.read().desaturating  # not yet at the reset threshold
    b.advance(4 * STEP_NS)
    r = unit.read()
    # Off once at the reset threshold; the disturbance has added at most 4 steps' worth since.
    assert not r.desaturating
    assert r.wheel_momentum_nms <= reset + 4 * PHYSICS_STEP_S * torque
    # Conservation: what the disturbance gave is in the wheels or was dumped.
    total = torque * b.t_ns / 1e9
    assert r.wheel_momentum_nms + att.momentum_dumped_nms == pytest.approx(
        total, abs=MOMENTUM_TOL_NMS
    )
    assert t_start == pytest.approx(t_full_s, abs=2 * PHYSICS_STEP_S)


def test_wheel_configuration_relations_are_checked() -> None:
    with pytest.raises(ConfigError, match="wheel_momentum_reset_nms"):
        _backend(attitude={"wheel_momentum_max_nms": 1.0, "wheel_momentum_reset_nms": 2.0})
    with pytest.raises(ConfigError, match="inertia_kg_m2"):
        _backend(attitude={"inertia_kg_m2": [1.0, 0.0, 1.0]})


def test_unit_refuses_a_world_in_a_mode_it_cannot_command() -> None:
    with pytest.raises(ConfigError, match="min_drag"):
        _backend(attitude={"initial_mode": "min_drag"})


def test_same_seed_same_attitude_history() -> None:
    def run() -> list[AttitudeReading]:
        b = _backend()
        out = []
        for k in range(30):
            if k == 5:
                _unit(b).set_mode(AttitudeMode.SUN)
            b.advance(1_000_000_000)
            out.append(_unit(b).read())
        return out

    assert run() == run()
