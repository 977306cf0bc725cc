"""Thermal network kernels against closed forms, numerical quadrature and the NumPy reference.

Oracles: steady state of radiating plates (sigma T^4 balance), REFERENCE.md radiator
figures, the plate-to-sphere view factor by direct quadrature, two-node conduction energy
conservation, and native._thermal_ref.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from native._thermal import thermal_step, view_factor_plate_earth
from native._thermal_numba import thermal_step as step_numba
from native._thermal_ref import thermal_step_ref, view_factor_ref
from native.backend import use_backend
from native.constants import EARTH_RADIUS_M, SIGMA_W_M2_K4
from native.errors import KernelArgumentError

H550 = (EARTH_RADIUS_M + 550e3) / EARTH_RADIUS_M
STEADY_TOL_K = 1.0


def _plate(area: float, alpha: float, eps: float, normals: list[list[float]]) -> np.ndarray:
    return np.array([[0, area, alpha, eps, *n, 0.0] for n in normals], dtype=float)


def _quadrature_view_factor(cos_gamma: float, h_ratio: float, n: int = 600) -> float:
    """F = (1/pi) * integral of cos(theta) over the directions that hit the sphere."""
    theta = (np.arange(n) + 0.5) * (0.5 * np.pi / n)
    phi = (np.arange(2 * n) + 0.5) * (np.pi / n)
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    # Plate normal = +z of the plate frame; nadir tilted by gamma in the x-z plane.
    d = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], -1)
    g = math.acos(cos_gamma)
    nadir = np.array([math.sin(g), 0.0, math.cos(g)])
    hit = (d @ nadir) > math.sqrt(1 - 1 / h_ratio**2)  # inside the Earth's disc
    w = np.cos(th) * np.sin(th) * (0.5 * np.pi / n) * (np.pi / n)
    return float((w * hit).sum() / np.pi)


def test_view_factor_closed_forms() -> None:
    f = view_factor_plate_earth([1.0, 0.0, -1.0], H550)
    assert f[0] == pytest.approx(1 / H550**2, rel=1e-12)
    assert f[0] == pytest.approx(0.85, abs=0.005)  # REFERENCE.md
    assert f[1] == pytest.approx(0.26, abs=0.005)  # REFERENCE.md, edge-on
    assert f[2] == 0.0


@pytest.mark.parametrize("cos_gamma", [0.95, 0.5, 0.2, 0.0, -0.2, -0.35])
def test_view_factor_matches_quadrature(cos_gamma: float) -> None:
    exact = _quadrature_view_factor(cos_gamma, H550)
    assert view_factor_plate_earth([cos_gamma], H550)[0] == pytest.approx(exact, abs=2e-3)


def test_view_factor_kernel_matches_reference() -> None:
    c = np.linspace(-1, 1, 4001)
    for h in (1.01, H550, 1.5, 6.6):
        with use_backend("python"):
            ref = view_factor_plate_earth(c, h)
        np.testing.assert_allclose(view_factor_plate_earth(c, h), ref, atol=1e-12)
        np.testing.assert_allclose(ref, view_factor_ref(c, h), atol=0)
        assert np.all(np.diff(view_factor_plate_earth(c, h)) >= -1e-12)  # monotone in cos


def test_single_plate_steady_state() -> None:
    """Two-sided plate facing the Sun, no Earth: alpha G A = 2 eps sigma A T^4."""
    alpha, eps, g_s = 0.9, 0.8, 1361.0
    surf = _plate(2.0, alpha, eps, [[1, 0, 0], [-1, 0, 0]])
    t = thermal_step(
        [250.0], [5e3], [[0.0]], [0.0], surf, dt_s=1.0, n_steps=20000,
        sun_body=[1, 0, 0], sunlit_frac=1.0, solar_flux_w_m2=g_s,
    )  # fmt: skip
    expected = (alpha * g_s / (2 * eps * SIGMA_W_M2_K4)) ** 0.25
    assert t[0] == pytest.approx(expected, abs=STEADY_TOL_K)
    assert t[0] == pytest.approx(expected, abs=1e-6)  # the implicit fixed point is exact


@pytest.mark.parametrize(("temp_k", "net_w_m2"), [(293, 586), (300, 659), (320, 897), (350, 1348)])
def test_reference_radiator_figures(temp_k: float, net_w_m2: float) -> None:
    """REFERENCE.md: two-sided radiator, eps 0.88, 75 W/m^2 absorbed per side."""
    area = 1.5
    surf = _plate(area, 0.0, 0.88, [[0, 1, 0], [0, -1, 0]])
    q = area * (net_w_m2 + 2 * 75.0)  # dissipation + what the two sides absorb
    t = thermal_step([280.0], [2e4], [[0.0]], [q], surf, dt_s=60.0, n_steps=3000)
    assert t[0] == pytest.approx(temp_k, abs=STEADY_TOL_K)


def test_implicit_step_is_stable_for_stiff_networks() -> None:
    """A tiny capacitance with strong links: explicit Euler at 10 s would blow up."""
    surf = _plate(1.0, 0.0, 0.9, [[0, 0, -1]])
    cap = [10.0, 1e4]
    cond = [[0.0, 50.0], [50.0, 0.0]]
    t = np.array([400.0, 250.0])
    hist = []
    for _ in range(200):
        t = thermal_step(t, cap, cond, [100.0, 0.0], surf, dt_s=10.0)
        hist.append(t.copy())
    h = np.array(hist)
    assert np.all(np.isfinite(h)) and np.all(h > 0)
    assert np.all(np.abs(np.diff(h[:, 1])) < 5.0)  # smooth, no oscillation
    # steady state: all heat (100 W) leaves through node 0's surface
    t_ss = thermal_step(t, cap, cond, [100.0, 0.0], surf, dt_s=1e4, n_steps=200)
    assert 0.9 * SIGMA_W_M2_K4 * t_ss[0] ** 4 == pytest.approx(100.0, rel=1e-9)
    assert t_ss[1] == pytest.approx(t_ss[0], abs=1e-6)


def test_conduction_conserves_energy() -> None:
    cap = np.array([1e3, 3e3, 2e3])
    cond = np.array([[0, 2.0, 0.5], [2.0, 0, 1.0], [0.5, 1.0, 0]])
    t0 = np.array([300.0, 250.0, 330.0])
    surf = np.zeros((0, 8))
    t = thermal_step(t0, cap, cond, [0.0, 0.0, 0.0], surf, dt_s=5.0, n_steps=500)
    assert float(cap @ t) == pytest.approx(float(cap @ t0), rel=1e-12)
    t = thermal_step(t, cap, cond, [10.0, 0.0, 0.0], surf, dt_s=5.0, n_steps=100)
    assert float(cap @ t) == pytest.approx(float(cap @ t0) + 10.0 * 500.0, rel=1e-12)


def test_kernel_matches_reference_on_random_networks() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(1, 7))
        s = int(rng.integers(1, 10))
        g = rng.uniform(0, 5, (n, n))
        g = (g + g.T) / 2
        normals = rng.normal(size=(s, 3))
        normals /= np.linalg.norm(normals, axis=1)[:, None]
        surf = np.column_stack(
            [
                rng.integers(0, n, s), rng.uniform(0.1, 3, s), rng.uniform(0, 1, s),
                rng.uniform(0.05, 1, s), normals, rng.integers(0, 2, s),
            ]
        )  # fmt: skip
        sun = rng.normal(size=3)
        sun /= np.linalg.norm(sun)
        nadir = rng.normal(size=3)
        nadir /= np.linalg.norm(nadir)
        args = (
            rng.uniform(0.3, 0.9), sun, rng.uniform(0, 1), 1361.0, nadir, rng.uniform(1.02, 1.3),
            rng.uniform(0, 0.3), 237.0, rng.uniform(0.1, 100.0),
        )  # fmt: skip
        t0 = rng.uniform(200, 350, n)
        cap = rng.uniform(1e2, 1e5, n)
        q = rng.uniform(0, 500, n)
        a = t0.copy()
        b = t0.copy()
        step_numba(a, cap, g, q, surf, *args, np.zeros((n, n + 1)))
        thermal_step_ref(b, cap, g, q, surf, *args, np.zeros((n, n + 1)))
        np.testing.assert_allclose(a, b, rtol=1e-11)


def test_wrapper_rejects_bad_arguments() -> None:
    with pytest.raises(KernelArgumentError, match="cond_w_k"):
        thermal_step([300.0, 300.0], [1.0, 1.0], [[0.0]], [0.0, 0.0], np.zeros((0, 8)), dt_s=1)
    bad_node = _plate(1, 0, 1, [[1, 0, 0]])
    bad_node[0, 0] = 3  # only node 0 exists
    with pytest.raises(KernelArgumentError, match="node index"):
        thermal_step([300.0], [1.0], [[0.0]], [0.0], bad_node, dt_s=1)
    with pytest.raises(KernelArgumentError, match="h_ratio"):
        view_factor_plate_earth([0.0], 0.5)
