"""Contact windows of a Walker pair against the closed-form line of sight.

Oracle: for two circular orbits of radius r with the same inclination i, RAAN difference dO
and arguments of latitude u1, u2 (two-body: u = u0 + n t), the angle between the position
vectors is

    cos g = cos dO cos u1 cos u2 + sin u1 sin u2 (cos dO cos^2 i + sin^2 i)
            + sin dO cos i (sin u1 cos u2 - cos u1 sin u2)

and the chord clears the Earth plus the grazing height h iff r cos(g / 2) > R_E + h (its
nearest point is the midpoint); the range is 2 r sin(g / 2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from flight.isl import OrbitElements, plan_contacts
from native.constants import EARTH_RADIUS_M, MU_EARTH_M3_S2

ALT_M = 550e3
INC = math.radians(53.0)
GRAZE_M = 100e3
S = 1_000_000_000
EDGE_TOL_S = 2.0  #: planner tolerance 1 s + oracle grid 1 s


def oracle_windows(d_raan: float, u1: float, u2: float, horizon_s: float,
                   max_range_m: float) -> list[tuple[float, float]]:
    r = EARTH_RADIUS_M + ALT_M
    n = math.sqrt(MU_EARTH_M3_S2 / r**3)
    t = np.arange(0.0, horizon_s + 1.0, 1.0)
    a, b = u1 + n * t, u2 + n * t
    cg = (math.cos(d_raan) * np.cos(a) * np.cos(b)
          + np.sin(a) * np.sin(b) * (math.cos(d_raan) * math.cos(INC) ** 2 + math.sin(INC) ** 2)
          + math.sin(d_raan) * math.cos(INC) * (np.sin(a) * np.cos(b) - np.cos(a) * np.sin(b)))
    g = np.arccos(np.clip(cg, -1.0, 1.0))
    vis = (r * np.cos(g / 2) > EARTH_RADIUS_M + GRAZE_M) & (2 * r * np.sin(g / 2) <= max_range_m)
    out, k = [], 0
    while k < len(t):
        if vis[k]:
            j = k
            while j + 1 < len(t) and vis[j + 1]:
                j += 1
            out.append((float(t[k]), float(t[j])))
            k = j + 1
        else:
            k += 1
    return out


@pytest.mark.parametrize(("d_raan_deg", "du_deg", "max_range_km"),
                         [(30.0, 20.0, 1e5), (35.0, 20.0, 1e5), (40.0, 10.0, 1e5),
                          (20.0, 20.0, 4000.0)])
def test_walker_pair_windows_match_the_closed_form(d_raan_deg: float, du_deg: float,
                                                   max_range_km: float) -> None:
    horizon_s = 12000.0
    cat = {
        "p": OrbitElements.circular(ALT_M, INC, 0.0, 0.0),
        "q": OrbitElements.circular(ALT_M, INC, math.radians(d_raan_deg), math.radians(du_deg)),
    }
    got = plan_contacts(cat, 0, round(horizon_s * S), step_ns=30 * S, tolerance_ns=S,
                        grazing_height_m=GRAZE_M, max_range_m=max_range_km * 1e3, j2=False)
    want = oracle_windows(math.radians(d_raan_deg), 0.0, math.radians(du_deg), horizon_s,
                          max_range_km * 1e3)
    # windows shorter than the planning step may be missed by design; none here are
    assert all(b - a > 60.0 for a, b in want)
    assert len(got) == len(want) > 0
    for c, (a, b) in zip(got, want, strict=True):
        assert {c.a, c.b} == {"p", "q"}
        assert c.start_ns / S == pytest.approx(a, abs=EDGE_TOL_S)
        assert c.end_ns / S == pytest.approx(b, abs=EDGE_TOL_S)
        assert c.owlt_ns > 0


def test_planned_light_time_is_mid_window_range_over_c() -> None:
    # same plane, 30 deg apart: constant range 2 r sin(15 deg), always in view
    r = EARTH_RADIUS_M + ALT_M
    cat = {"p": OrbitElements.circular(ALT_M, INC, 0.0, 0.0),
           "q": OrbitElements.circular(ALT_M, INC, 0.0, math.radians(30.0))}
    (c,) = plan_contacts(cat, 0, 600 * S, j2=False)
    assert (c.start_ns, c.end_ns) == (0, 600 * S)
    assert c.owlt_ns == pytest.approx(2 * r * math.sin(math.radians(15)) / 299_792_458.0 * 1e9,
                                      rel=1e-6)


def test_bad_arguments() -> None:
    cat = {"p": OrbitElements.circular(ALT_M, INC, 0.0, 0.0)}
    with pytest.raises(ValueError):
        plan_contacts(cat, 0, 0)
    with pytest.raises(KeyError):
        plan_contacts(cat, 0, 600 * S, pairs=[("p", "zz")])
    with pytest.raises(ValueError):
        OrbitElements(1e3, 0.0, 0.0, 0.0, 0.0, 0.0)
