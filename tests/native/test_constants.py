"""native.constants against the published values (tests/data/constants.toml, sources in
tests/data/SOURCES.md), and the closed forms of REFERENCE.md computed from them."""

from __future__ import annotations

import math

import pytest

from native import constants as C
from tests.data import load

DATA = load("constants.toml")
#: REFERENCE.md quotes its derived figures to 3-4 significant digits.
QUOTED_RTOL = 5e-4


def test_constants_equal_the_published_values() -> None:
    earth, wgs, units = DATA["earth"], DATA["wgs84"], DATA["units"]
    assert earth["mu_m3_s2"] == C.MU_EARTH_M3_S2
    assert earth["radius_m"] == C.EARTH_RADIUS_M
    assert earth["j2"] == C.J2
    assert 1.0 / wgs["inverse_flattening"] == C.EARTH_FLATTENING
    # native uses the sidereal rate to more digits; WGS-84 quotes 7 significant digits
    assert pytest.approx(wgs["rotation_rad_s"], rel=1e-7) == C.EARTH_ROTATION_RAD_S
    assert DATA["thermal"]["stefan_boltzmann_w_m2_k4"] == C.SIGMA_W_M2_K4
    assert units["au_m"] == C.AU_M
    assert units["g0_m_s2"] == C.G0_M_S2
    assert units["j2000_jd"] == C.J2000_JD


def test_closed_forms_of_the_reference_at_550_km() -> None:
    ref = DATA["orbit_550km_53deg"]
    a = C.EARTH_RADIUS_M + 550e3
    n = math.sqrt(C.MU_EARTH_M3_S2 / a**3)
    raan_dot = -1.5 * n * C.J2 * (C.EARTH_RADIUS_M / a) ** 2 * math.cos(math.radians(53.0))
    assert math.degrees(raan_dot) * 86400.0 == pytest.approx(
        ref["raan_drift_deg_day"], rel=QUOTED_RTOL
    )
    assert 2 * math.pi / n / 60.0 == pytest.approx(ref["period_min"], rel=QUOTED_RTOL)


@pytest.mark.parametrize(("beta_deg", "fraction"), DATA["eclipse_550km"]["fraction"])
def test_eclipse_fraction_closed_form(beta_deg: float, fraction: float) -> None:
    r, h = C.EARTH_RADIUS_M, 550e3
    beta_star = math.asin(r / (r + h))
    assert math.degrees(beta_star) == pytest.approx(
        DATA["eclipse_550km"]["beta_star_deg"], abs=0.05
    )
    beta = math.radians(beta_deg)
    f = (
        math.acos(math.sqrt(h * h + 2 * r * h) / ((r + h) * math.cos(beta))) / math.pi
        if abs(beta) < beta_star
        else 0.0
    )
    assert f == pytest.approx(fraction, abs=5e-4)
