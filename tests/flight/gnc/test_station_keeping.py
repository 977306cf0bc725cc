"""Control box, commands and the 30-day station-keeping run (sim world with drag)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from flight.core import CommandError, Executive, FailureCode, SimClock
from flight.gnc import (
    catalogue_blob_name,
    install,
    mean_semi_major_axis_m,
    osculating_elements,
    parse_config,
)
from native.errors import ConfigError

DV_TOL_FRAC = 0.20  # delta-v within 20 % of the analytical drag make-up
OMEGA_E = 7.292115146706979e-5


def _pack(comp: Any, name: str, *values: Any) -> tuple[int, bytes]:
    cmd = next(c for c in comp.DECLARATION.commands if c.name == name)
    return cmd.opcode, cmd.arg_struct.pack(*values)


def _box_state(comp: Any) -> tuple[Any, ...]:
    b = comp.box
    return (b.a_target_m, b.lam0_rad, b.lam_rate_rad_s, b.slot_tol_m, b.alt_tol_m, comp.autonomy)


def test_control_law_closed_forms(rig_factory: Any) -> None:
    rig = rig_factory(gnc={"target_altitude_km": 544.0, "slot_arg_lat_deg": 0.0})
    c = rig.gnc
    a_t = c.box.a_target_m
    n = math.sqrt(3.986004418e14 / a_t**3)
    d = 7.6e-4  # m/s, ~66 m/day
    assert c.control_law(0.0, 0.0, d) == (0.0, "")
    # Forward edge: the commanded da puts the vertex of the drag parabola at -L_u.
    x = 6.8e3
    dv, reason = c.control_law(x, -20.0, d)
    assert reason == "slot forward edge" and dv > 0
    da_cmd = -20.0 + 2 * a_t * dv / math.sqrt(3.986004418e14 / a_t)
    lu = c.cfg.box_use_frac * c.box.slot_tol_m
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
    assert c.box.slot_tol_m == 8000.0 and c.box.alt_tol_m == 250.0


def test_manual_burn_is_executed_and_accounted(rig_factory: Any) -> None:
    rig = rig_factory(gnc={"autonomy": False})
    rig.run_days(0.3)
    c = rig.gnc
    op, data = _pack(c, "manual_burn", 0.03, 0.0)
    c.execute(op, data)
    rig.run_days(0.3)
    world_dv = rig.backend.world.propulsion.delta_v_total_m_s
    assert world_dv == pytest.approx(0.03, rel=0.02)
    assert c.executor.delta_v_m_s == pytest.approx(world_dv, rel=0.01)
    last = c.executor.outcomes[-1]
    assert last.ratio is None or abs(last.ratio - 1) < 0.3
    # the rail was requested, granted by the power stand-in, and released after the burn
    assert rig.rail.switched == 2 and not rig.backend.world.power.rail_on("propulsion")
    assert c.executor.propellant_used_kg == pytest.approx(
        700 * (1 - math.exp(-0.03 / (1500 * 9.80665))), rel=0.05
    )


def _truth_box_errors(rig: Any) -> tuple[float, float]:
    """Slot/altitude errors from the world truth, orbit-averaged by a moving mean."""
    c = rig.gnc
    box = c.box
    t = np.array([s[0] for s in rig.truth])
    x = np.array([s[1] for s in rig.truth])
    a = np.asarray(mean_semi_major_axis_m(x))
    el = osculating_elements(x)
    lam = np.unwrap(el[:, 4] + el[:, 5])
    dt = t[1] - t[0]
    win = round(2 * math.pi * math.sqrt(box.a_target_m**3 / 3.986004418e14) / dt)
    kern = np.ones(win) / win
    a_avg = np.convolve(a, kern, mode="valid")
    lam_avg = np.convolve(lam, kern, mode="valid")
    t_mid = np.convolve(t, kern, mode="valid")
    slot = box.a_target_m * (
        (lam_avg - box.lam0_rad - box.lam_rate_rad_s * t_mid + math.pi) % (2 * math.pi) - math.pi
    )
    start = t_mid > 0.5 * 86400  # after capture
    return float(np.max(np.abs(slot[start]))), float(np.max(np.abs(a_avg[start] - box.a_target_m)))


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
    assert s["box_samples"] > 1000  # one every series_interval_s once the box is captured
    assert s["rail_timeouts"] == 0
    # Bounded memory: the rings hold the last history_len entries, the counters everything.
    n = rig.gnc.cfg.history_len
    assert len(s["last_burns"]) == min(n, s["burns"]) and len(rig.gnc.stats.recent) == n


def test_install_adds_the_component_and_rejects_bad_config(
    rig_factory: Any, context_factory: Any
) -> None:
    install_context = context_factory
    rig = rig_factory(env=False)
    exe = Executive(SimClock(), 10.0)
    app = install(install_context(rig.backend, exe), parse_config({"slot_tolerance_km": 5.0}))
    assert exe.by_name("gnc") is app.component
    assert app.component.component_id == 25  # the registry's id
    keys = {"slot_error_max_km", "altitude_error_max_m", "delta_v_m_s", "delta_v_analytic_m_s",
            "burns", "conjunctions_screened", "avoidance_maneuvers", "last_burns"}  # fmt: skip
    assert keys <= set(app.summary())
    for bad, key in (
        ({"nonsense": 1}, "nonsense"),
        ({"max_burn_s": -1.0}, "max_burn_s"),
        ({"target_altitude_km": 50.0}, "target_altitude_km"),
        ({"pdu": "pdu"}, "pdu"),  # GNC no longer switches rails
        ({"component_id": 25}, "component_id"),  # ids come from the registry
    ):
        with pytest.raises(ConfigError, match=key):
            parse_config(bad)
    exe2 = Executive(SimClock(), 10.0)
    with pytest.raises(ConfigError, match=r"\[gnc\] gnss: .*nope"):
        install(install_context(rig.backend, exe2), parse_config({"gnss": "nope"}))
    assert exe2.by_name("gnc") is None  # nothing was added


def test_burn_times_out_when_power_never_grants_the_rail(rig_factory: Any) -> None:
    rig = rig_factory(gnc={"autonomy": False, "avoid_eclipse": False}, grant_rail=False)
    rig.run_days(0.3)
    c = rig.gnc
    op, data = _pack(c, "manual_burn", 0.03, 0.0)
    c.execute(op, data)
    rig.run_days(c.cfg.rail_timeout_s / 86400.0 + 30.0 / 86400.0)
    timeouts = rig.events("rail_timeout")
    assert len(timeouts) == 1 and "not powered" in timeouts[0].message
    assert rig.backend.world.propulsion.delta_v_total_m_s == 0.0
    assert not c.fault and c.executor.plan is not None  # kept for a retry, not a fault
    # Power grants it later: the retry burns.
    rig.rail.grant = True
    rig.run_days((c.cfg.rail_retry_s + 1800.0) / 86400.0)
    assert rig.backend.world.propulsion.delta_v_total_m_s == pytest.approx(0.03, rel=0.02)
    assert len(rig.events("rail_timeout")) == 1
