"""Control box, commands and the 30-day station-keeping run (sim world with drag)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from flight.core import CommandError, FailureCode
from flight.gnc import (
    arg_latitude_rad,
    catalogue_blob_name,
    mean_semi_major_axis_m,
    osculating_elements,
)

DV_TOL_FRAC = 0.20  # delta-v within 20 % of the analytical drag make-up
OMEGA_E = 7.292115146706979e-5


def _pack(comp: Any, name: str, *values: Any) -> tuple[int, bytes]:
    cmd = next(c for c in comp.DECLARATION.commands if c.name == name)
    return cmd.opcode, cmd.arg_struct.pack(*values)


def _box_state(comp: Any) -> tuple[Any, ...]:
    return (
        comp.a_target_m,
        comp.lam0_rad,
        comp.lam_rate,
        comp.slot_tol_m,
        comp.alt_tol_m,
        comp.autonomy,
    )


def test_control_law_closed_forms(rig_factory: Any) -> None:
    rig = rig_factory(gnc={"target_altitude_km": 544.0, "slot_arg_lat_deg": 0.0})
    c = rig.gnc
    n = math.sqrt(3.986004418e14 / c.a_target_m**3)
    d = 7.6e-4  # m/s, ~66 m/day
    assert c.control_law(0.0, 0.0, d) == (0.0, "")
    # Forward edge: the commanded da puts the vertex of the drag parabola at -L_u.
    x = 6.8e3
    dv, reason = c.control_law(x, -20.0, d)
    assert reason == "slot forward edge" and dv > 0
    da_cmd = -20.0 + 2 * c.a_target_m * dv / math.sqrt(3.986004418e14 / c.a_target_m)
    lu = c.cfg.box_use_frac * c.slot_tol_m
    assert x - 0.75 * n * da_cmd**2 / d == pytest.approx(-lu, rel=1e-6)
    # Altitude low -> raise; altitude high (no drag) -> lower.
    assert c.control_law(0.0, -250.0, d)[0] > 0
    assert c.control_law(0.0, 400.0, 0.0)[0] < 0


def test_commands_are_range_checked_and_change_nothing(rig_factory: Any) -> None:
    rig = rig_factory()
    rig.run_days(0.3)
    c = rig.gnc
    before = _box_state(c)
    bad = [
        ("set_slot", (100.0, 10.0, 5.0, 100.0), FailureCode.ILLEGAL_ARGUMENT),  # altitude < 200 km
        ("set_slot", (544.0, 361.0, 5.0, 100.0), FailureCode.ILLEGAL_ARGUMENT),
        ("set_slot", (544.0, 360.0, 5.0, 100.0), FailureCode.ILLEGAL_ARGUMENT),
        ("set_slot", (544.0, 10.0, 0.0, 100.0), FailureCode.ILLEGAL_ARGUMENT),
        ("set_slot", (544.0, 10.0, 5.0, 1.0), FailureCode.ILLEGAL_ARGUMENT),
        ("set_slot", (900.0, 10.0, 5.0, 100.0), FailureCode.ILLEGAL_ARGUMENT),  # 356 km away
        ("manual_burn", (2.0, 0.0), FailureCode.ILLEGAL_ARGUMENT),
        ("manual_burn", (0.0, 0.0), FailureCode.ILLEGAL_ARGUMENT),
        ("clear_fault", (), FailureCode.NOT_ALLOWED),
        ("load_catalogue", (42,), FailureCode.ILLEGAL_ARGUMENT),  # no such blob
    ]
    for name, args, code in bad:
        op, data = _pack(c, name, *args)
        with pytest.raises(CommandError) as info:
            c.execute(op, data)
        assert info.value.args[0]
        assert info.value.code == code, name
        assert _box_state(c) == before
    # A malformed catalogue blob is rejected with the reason; the old catalogue stays.
    rig.backend.device("nvm").write(catalogue_blob_name(3), b"1 25544U bad line\n")
    op, data = _pack(c, "load_catalogue", 3)
    with pytest.raises(CommandError, match="line 1"):
        c.execute(op, data)
    assert len(c.catalogue) == 0
    assert rig.events("catalogue_rejected")
    # A valid slot command is accepted.
    op, data = _pack(c, "set_slot", 544.5, 12.0, 8.0, 250.0)
    c.execute(op, data)
    assert c.slot_tol_m == 8000.0 and c.alt_tol_m == 250.0


def test_manual_burn_is_executed_and_accounted(rig_factory: Any) -> None:
    rig = rig_factory(gnc={"autonomy": False})
    rig.run_days(0.3)
    c = rig.gnc
    op, data = _pack(c, "manual_burn", 0.03, 0.0)
    c.execute(op, data)
    rig.run_days(0.3)
    world_dv = rig.backend.world.propulsion.delta_v_total_m_s
    assert world_dv == pytest.approx(0.03, rel=0.02)
    assert c.delta_v_m_s == pytest.approx(world_dv, rel=0.01)
    assert c.burns[-1].ratio is None or abs(c.burns[-1].ratio - 1) < 0.3
    assert c.propellant_used_kg == pytest.approx(
        700 * (1 - math.exp(-0.03 / (1500 * 9.80665))), rel=0.05
    )


def _truth_box_errors(rig: Any) -> tuple[float, float]:
    """Slot/altitude errors from the world truth, orbit-averaged by a moving mean."""
    c = rig.gnc
    t = np.array([s[0] for s in rig.truth])
    x = np.array([s[1] for s in rig.truth])
    a = np.asarray(mean_semi_major_axis_m(x))
    el = osculating_elements(x)
    lam = np.unwrap(el[:, 4] + el[:, 5])
    dt = t[1] - t[0]
    win = round(2 * math.pi * math.sqrt(c.a_target_m**3 / 3.986004418e14) / dt)
    kern = np.ones(win) / win
    a_avg = np.convolve(a, kern, mode="valid")
    lam_avg = np.convolve(lam, kern, mode="valid")
    t_mid = np.convolve(t, kern, mode="valid")
    slot = c.a_target_m * (
        (lam_avg - c.lam0_rad - c.lam_rate * t_mid + math.pi) % (2 * math.pi) - math.pi
    )
    start = t_mid > 0.5 * 86400  # after capture
    assert arg_latitude_rad(x[0]) is not None
    return float(np.max(np.abs(slot[start]))), float(np.max(np.abs(a_avg[start] - c.a_target_m)))


@pytest.mark.slow
def test_thirty_days_in_the_box_with_drag_make_up(rig_factory: Any) -> None:
    rig = rig_factory()
    w = rig.backend.world
    drag_dv = 0.0
    cd = w.config.spacecraft.drag_coefficient
    days = 30.0
    step = 60.0
    for _ in range(int(days * 86400 / step)):
        rig.run_days(step / 86400.0)
        r, v = w.orbit.r_eci_m, w.orbit.v_eci_m_s
        vr = v - np.cross([0.0, 0.0, OMEGA_E], r)
        drag_dv += (
            0.5
            * w.env.density_kg_m3
            * cd
            * w.orbit.drag_area_m2
            / w.orbit.mass_kg
            * (vr @ vr)
            * step
        )
        rig.truth.append((w.t_ns / 1e9, np.concatenate([r, v])))  # the plant time
    s = rig.gnc.summary()
    assert s["slot_error_max_km"] <= s["slot_tolerance_km"]
    assert s["altitude_error_max_m"] <= s["altitude_tolerance_m"]
    slot_truth, alt_truth = _truth_box_errors(rig)
    assert slot_truth <= s["slot_tolerance_km"] * 1e3
    assert alt_truth <= s["altitude_tolerance_m"]
    assert s["burns"] >= 5
    assert s["delta_v_m_s"] == pytest.approx(drag_dv, rel=DV_TOL_FRAC)
    assert s["delta_v_analytic_m_s"] == pytest.approx(drag_dv, rel=DV_TOL_FRAC)
    assert s["delta_v_m_s"] == pytest.approx(w.propulsion.delta_v_total_m_s, rel=1e-3)
    assert s["autonomy"] and not s["thruster_fault"]
    assert len(s["series"]["t_s"]) > 1000


def test_install_adds_the_component_and_rejects_bad_config(rig_factory: Any) -> None:
    from types import SimpleNamespace

    from flight.core import Executive, SimClock
    from flight.gnc import install
    from native.errors import ConfigError

    rig = rig_factory(env=False)
    node = SimpleNamespace(backend=rig.backend, executive=Executive(SimClock(), 10.0))
    app = install(node, {"pdu": "pdu", "slot_tolerance_km": 5.0})
    assert node.executive.by_name("gnc") is app.component
    keys = {"slot_error_max_km", "altitude_error_max_m", "delta_v_m_s", "delta_v_analytic_m_s",
            "burns", "conjunctions_screened", "avoidance_maneuvers", "series"}  # fmt: skip
    assert keys <= set(app.summary())
    for bad in (
        {"nonsense": 1},
        {"max_burn_s": -1.0},
        {"target_altitude_km": 50.0},
        {"gnss": "nope"},
    ):
        with pytest.raises(Exception) as info:
            install(
                SimpleNamespace(backend=rig.backend, executive=Executive(SimClock(), 10.0)), bad
            )
        assert isinstance(info.value, ConfigError) or "nope" in str(info.value)
