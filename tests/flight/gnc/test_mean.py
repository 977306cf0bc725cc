"""Mean elements, propagator and closed forms of station-keeping (REFERENCE.md oracles)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flight.gnc import (
    OrbitPropagator,
    ThrustArc,
    along_track_drift_per_rev_m,
    arg_latitude_rad,
    burn_time_for_delta_v_s,
    calibrate_reference_rate,
    circular_decay_rate_m_s,
    delta_v_for_delta_a_m_s,
    drag_acceleration_m_s2,
    fit_secular,
    j2_secular_rates,
    mean_longitude_rate_rad_s,
    mean_semi_major_axis_m,
    osculating_elements,
    propellant_for_delta_v_kg,
)
from native import elements_to_state

MU = 398600.4418e9
R_E = 6378137.0
A550 = R_E + 550e3
INC = math.radians(53.0)
PERIOD = 2 * math.pi * math.sqrt(A550**3 / MU)
MEAN_A_FLATNESS_M = 6.0  # second-order J2 residual of the first-order Brouwer correction
REL_TOL = 0.02


def state(a: float, inc: float = INC, u: float = 0.0, raan: float = 0.3) -> np.ndarray:
    el = np.array([[a, 0.0, inc, raan, 0.0, u]])
    return np.asarray(elements_to_state(el)[0], dtype=np.float64)


def test_mean_a_is_flat_while_osculating_a_swings() -> None:
    times = np.arange(0.0, 2 * PERIOD, 30.0)
    traj = OrbitPropagator(10.0).trajectory(state(A550), times)
    a_osc = osculating_elements(traj)[:, 0]
    a_mean = np.asarray(mean_semi_major_axis_m(traj))
    assert np.ptp(a_osc) > 10e3  # J2 short-period swing, ~12 km at 550 km / 53 deg
    assert np.max(np.abs(a_mean - a_mean.mean())) < MEAN_A_FLATNESS_M
    # Independent oracle: the orbit average of the osculating a, equal to first order; they
    # differ by a constant of second order in J2 (a J2^2 ~ 10-50 m), not by a periodic term.
    one = times < PERIOD
    assert abs(a_mean.mean() - a_osc[one].mean()) < 50.0


def test_period_and_raan_rate_match_reference() -> None:
    assert pytest.approx(95.65, abs=0.02) == PERIOD / 60.0
    raan_dot, _, _ = j2_secular_rates(A550, 0.0, INC)
    assert math.degrees(raan_dot) * 86400 == pytest.approx(-4.489, rel=2e-3)


def test_along_track_drift_per_rev() -> None:
    da = 100.0
    assert along_track_drift_per_rev_m(da) == pytest.approx(-942.5, rel=1e-3)
    prop = OrbitPropagator(10.0, j2=False)
    s1 = prop.advance(state(A550), PERIOD)
    s2 = prop.advance(state(A550 + da), PERIOD)
    sep = A550 * (float(arg_latitude_rad(s2)) - float(arg_latitude_rad(s1)))
    assert sep == pytest.approx(-3 * math.pi * da, rel=REL_TOL)


def test_circular_decay_matches_closed_form() -> None:
    rho, b = 3e-13, 50.0
    v = math.sqrt(MU / A550)
    acc = drag_acceleration_m_s2(rho, v, b)
    prop = OrbitPropagator(20.0)
    s0 = state(A550)
    days = 1.0
    s1 = prop.advance(s0, days * 86400.0, -acc)
    da = float(mean_semi_major_axis_m(s1)) - float(mean_semi_major_axis_m(s0))
    expect = circular_decay_rate_m_s(rho, A550, b) * days * 86400.0
    assert da == pytest.approx(expect, rel=0.1)  # Brouwer residual ~ +-6 m on ~-10 m/day*...
    assert expect == pytest.approx(-rho * math.sqrt(MU * A550) / b * 86400.0)


def test_tangential_burn_changes_a_as_gauss_says() -> None:
    prop = OrbitPropagator(5.0, j2=False)
    s0 = state(A550)
    dv = 0.1
    accel = 0.04 / 700.0
    dur = dv / accel
    d = s0[3:6] / np.linalg.norm(s0[3:6])
    # Thrust along the local velocity, re-pointed every 10 s like the executor.
    s = s0.copy()
    t = 0.0
    while t < dur - 1e-9:
        h = min(10.0, dur - t)
        d = s[3:6] / np.linalg.norm(s[3:6])
        s = prop.advance(s, h, arcs=[ThrustArc(0.0, h, accel, tuple(d))])
        t += h
    da = osculating_elements(s)[0] - A550
    assert delta_v_for_delta_a_m_s(A550, da) == pytest.approx(dv, rel=5e-3)


def test_rocket_equation() -> None:
    m0, dv, isp, f = 700.0, 1.0, 1500.0, 0.04
    dm = propellant_for_delta_v_kg(m0, dv, isp)
    assert dm == pytest.approx(m0 * (1 - math.exp(-dv / (isp * 9.80665))))
    t = burn_time_for_delta_v_s(m0, dv, f, isp)
    assert t == pytest.approx(dm / (f / (isp * 9.80665)))
    assert t == pytest.approx(m0 * dv / f, rel=1e-3)  # small dv: F t = m dv


def test_fit_secular_removes_orbit_harmonics() -> None:
    t = np.arange(0.0, PERIOD, 60.0)
    u = 2 * math.pi * t / PERIOD + 0.4
    y = 5.0 - 2e-3 * t + 300 * np.cos(2 * u) + 40 * np.sin(u)
    c0, c1 = fit_secular(t, y, u, t[-1])
    assert c1 == pytest.approx(-2e-3, rel=1e-6)
    assert c0 == pytest.approx(5.0 - 2e-3 * t[-1], abs=1e-6)


def test_calibrated_reference_rate_is_close_to_first_order_theory() -> None:
    rate = calibrate_reference_rate(A550, INC)
    assert rate == pytest.approx(mean_longitude_rate_rad_s(A550, 0.0, INC), rel=2e-5)
