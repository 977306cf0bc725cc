"""Encounter-plane probability of collision and TCA refinement against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flight.gnc import (
    OrbitPropagator,
    collision_probability,
    encounter_frame,
    linear_closest_approach,
    refine_tca,
)

PC_REL_TOL = 1e-6


def test_zero_miss_isotropic_closed_form() -> None:
    sigma, r = 50.0, 20.0
    pc = collision_probability(np.zeros(3), np.array([0.0, 7000.0, 0.0]), np.eye(3) * sigma**2, r)
    assert pc == pytest.approx(1 - math.exp(-(r**2) / (2 * sigma**2)), rel=PC_REL_TOL)


def test_offset_anisotropic_against_monte_carlo() -> None:
    rng = np.random.default_rng(7)
    relv = np.array([1000.0, 9000.0, -3000.0])
    b = encounter_frame(relv)
    cov = np.diag([30.0**2, 400.0**2, 80.0**2])
    miss = b.T @ np.array([40.0, -25.0])  # in the encounter plane
    r = 25.0
    pc = collision_probability(miss, relv, cov, r)
    c2 = b @ cov @ b.T
    n = 400_000
    samples = rng.multivariate_normal(b @ miss, c2, size=n)
    mc = float(np.mean(np.hypot(samples[:, 0], samples[:, 1]) <= r))
    se = math.sqrt(mc * (1 - mc) / n)
    assert abs(pc - mc) < 4 * se


def test_small_body_limit() -> None:
    relv = np.array([0.0, 0.0, 1.0])
    cov = np.diag([200.0**2, 500.0**2, 1.0])
    miss = np.array([300.0, -400.0, 0.0])
    r = 1.0
    c2 = cov[:2, :2]
    m = miss[:2]
    dens = math.exp(-0.5 * m @ np.linalg.inv(c2) @ m) / (2 * math.pi * math.sqrt(np.linalg.det(c2)))
    assert collision_probability(miss, relv, cov, r) == pytest.approx(
        math.pi * r * r * dens, rel=1e-4
    )


def test_encounter_frame_is_orthonormal_and_normal_to_velocity() -> None:
    v = np.array([3.0, -4.0, 12.0])
    b = encounter_frame(v)
    assert np.allclose(b @ b.T, np.eye(2))
    assert np.allclose(b @ v, 0.0)


def test_linear_closest_approach_brute_force() -> None:
    rng = np.random.default_rng(1)
    dr = rng.normal(0, 1000, (50, 3))
    dv = rng.normal(0, 100, (50, 3))
    d, tau = linear_closest_approach(dr, dv, 60.0)
    grid = np.linspace(0, 60, 60001)
    brute = np.min(
        np.linalg.norm(dr[:, None, :] + dv[:, None, :] * grid[None, :, None], axis=2), axis=1
    )
    assert np.allclose(d, brute, rtol=0, atol=0.5)
    assert np.all((tau >= 0) & (tau <= 60))


def test_refine_tca_of_crossing_orbits() -> None:
    prop = OrbitPropagator(5.0)
    r = np.array([6928137.0, 0.0, 0.0])
    v = 7585.0 * np.array([0.0, math.cos(0.92), math.sin(0.92)])
    v2 = 7585.0 * np.array([0.0, math.cos(0.2), math.sin(0.2)])
    own_tca = np.concatenate([r, v])
    obj_tca = np.concatenate([r + np.array([30.0, 0.0, 0.0]), v2])
    own0 = prop.advance(own_tca, -50.0)
    obj0 = prop.advance(obj_tca, -50.0)
    tau, a, b = refine_tca(own0, obj0, 10.0, prop)
    assert tau == pytest.approx(50.0, abs=0.01)
    assert np.linalg.norm(b[:3] - a[:3]) == pytest.approx(30.0, abs=0.5)
