"""Benchmarks of the orbit and thermal kernels against their peers, in the same run.

``run(quick)`` returns :class:`~ground.bench.record.BenchRecord` s (medians, one thread):

* ``orbit.propagate_j2_batch``: analytic J2 mean-element propagation of 1,000 satellites x
  1,440 epochs (one day at 1 min), positions and velocities, in propagations per second,
  against sgp4's ``SatrecArray.sgp4`` (C++ extension) on the same orbits; goal >= 3x.
* ``orbit.propagate_j2_batch.positions``: the same, positions only.
* ``orbit.rk4_batch``: numeric RK4 (point mass + J2 + drag) steps per second over 1,000
  satellites, against the NumPy reference (vectorised over satellites).
* ``thermal.step``: 5-node network steps per second against the NumPy reference.

Quick mode shrinks the sizes (a few seconds in total).
"""

from __future__ import annotations

import math

import numpy as np
from sgp4.api import WGS72, Satrec, SatrecArray, accelerated

from ground.bench.record import BenchRecord, median_seconds, throughput_record
from native import elements_to_state, propagate_j2_batch
from native.constants import EARTH_RADIUS_M, J2, MU_EARTH_M3_S2
from native.kernels import EXPONENTIAL_TABLE, rk4_batch_kernel
from native.kernels import thermal_step as thermal_numba
from native.reference import rk4_batch_ref, thermal_step_ref

__all__ = ["run"]

_SGP4_EPOCH_DAYS = 25000.0  # days since 1949-12-31 00:00 UT (2018-06-12)
_JD_1949 = 2433281.5


def _constellation(n: int) -> tuple[np.ndarray, list[Satrec]]:
    """n satellites at ~550 km, 53 deg, spread in RAAN and phase; our mean elements and the
    equivalent sgp4 records (mean motion 95.65 min, same e, i, RAAN, argp, M)."""
    rng = np.random.default_rng(42)
    inc = np.full(n, math.radians(53.0))
    raan = np.linspace(0, 2 * np.pi, n, endpoint=False)
    argp = rng.uniform(0, 2 * np.pi, n)
    m0 = rng.uniform(0, 2 * np.pi, n)
    ecc = rng.uniform(1e-4, 1e-3, n)
    no_rad_min = 2 * math.pi / 95.65
    sats = []
    for k in range(n):
        s = Satrec()
        s.sgp4init(WGS72, "i", k + 1, _SGP4_EPOCH_DAYS, 0.0, 0.0, 0.0, ecc[k], argp[k], inc[k],
                   m0[k], no_rad_min, raan[k])  # fmt: skip
        sats.append(s)
    a = (MU_EARTH_M3_S2 / (no_rad_min / 60.0) ** 2) ** (1.0 / 3.0)
    el = np.column_stack([np.full(n, a), ecc, inc, raan, argp, m0])
    return el, sats


def _analytic(quick: bool) -> list[BenchRecord]:
    n_sat = 200 if quick else 1000
    n_ep = 1440
    repeats = 3 if quick else 5
    el, sats = _constellation(n_sat)
    times = np.arange(n_ep) * 60.0
    out6 = np.empty((n_sat, n_ep, 6))
    out3 = np.empty((n_sat, n_ep, 3))
    arr = SatrecArray(sats)
    jd = np.full(n_ep, _JD_1949 + _SGP4_EPOCH_DAYS)
    fr = times / 86400.0
    peer_s = median_seconds(lambda: arr.sgp4(jd, fr), repeats=repeats)
    ours6 = median_seconds(lambda: propagate_j2_batch(el, times, out=out6), repeats=repeats)
    ours3 = median_seconds(
        lambda: propagate_j2_batch(el, times, positions_only=True, out=out3), repeats=repeats
    )
    peer = "sgp4 SatrecArray" + (" (C++)" if accelerated else " (PURE PYTHON)")
    note = f"{n_sat} sats x {n_ep} epochs, single thread"
    amount = float(n_sat * n_ep)
    return [
        throughput_record("orbit.propagate_j2_batch", "prop/s", amount, ours6, peer, peer_s, note),
        throughput_record(
            "orbit.propagate_j2_batch.positions", "prop/s", amount, ours3, peer, peer_s, note
        ),
    ]


def _rk4(quick: bool) -> list[BenchRecord]:
    n_sat = 100 if quick else 1000
    n_steps = 20 if quick else 60
    el = np.column_stack(
        [
            np.full(n_sat, EARTH_RADIUS_M + 550e3),
            np.full(n_sat, 1e-4),
            np.full(n_sat, math.radians(53.0)),
            np.linspace(0, 2 * np.pi, n_sat, endpoint=False),
            np.zeros(n_sat),
            np.linspace(0, 2 * np.pi, n_sat, endpoint=False),
        ]
    )
    st0 = elements_to_state(el)
    cdam = np.full(n_sat, 0.02)
    table = np.ascontiguousarray(EXPONENTIAL_TABLE)
    bulge = np.array([1.0, 0.0, 0.0])
    args = (cdam, n_steps, 1.0, J2, 7.292115e-5, 1, table, 0.0, bulge)

    def ours() -> None:
        rk4_batch_kernel(st0.copy(), *args)

    def peer() -> None:
        rk4_batch_ref(st0.copy(), *args)

    reps = 3 if quick else 5
    return [
        throughput_record(
            "orbit.rk4_batch", "sat-steps/s", float(n_sat * n_steps),
            median_seconds(ours, repeats=reps), "NumPy reference",
            median_seconds(peer, repeats=reps), "point mass + J2 + drag, 1 s steps",
        )
    ]  # fmt: skip


def _thermal(quick: bool) -> list[BenchRecord]:
    n = 5
    rng = np.random.default_rng(1)
    g = rng.uniform(0, 5, (n, n))
    g = (g + g.T) / 2
    normals = np.array([[0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1], [1, 0, 0], [-1, 0, 0]], float)
    surf = np.column_stack(
        [np.arange(6) % n, np.full(6, 1.0), np.full(6, 0.2), np.full(6, 0.8), normals, np.zeros(6)]
    )
    cap = np.full(n, 2e4)
    q = np.full(n, 100.0)
    sun = np.array([0.6, 0.0, 0.8])
    nadir = np.array([0.0, 0.0, 1.0])
    work = np.zeros((n, n + 1))
    steps = 2000 if quick else 20000
    t0 = np.full(n, 290.0)

    def ours() -> None:
        t = t0.copy()
        for _ in range(steps):
            thermal_numba(t, cap, g, q, surf, 0.8, sun, 1.0, 1361.0, nadir, 1.086, 0.1, 237.0,
                          1.0, work)  # fmt: skip

    def peer() -> None:
        t = t0.copy()
        for _ in range(steps // 10):
            thermal_step_ref(t, cap, g, q, surf, 0.8, sun, 1.0, 1361.0, nadir, 1.086, 0.1,
                             237.0, 1.0, work)  # fmt: skip

    reps = 3 if quick else 5
    ours_s = median_seconds(ours, repeats=reps)
    peer_s = median_seconds(peer, repeats=reps) * 10
    return [
        throughput_record(
            "thermal.step", "steps/s", float(steps), ours_s, "NumPy reference", peer_s,
            "5 nodes, 6 surfaces; called from Python per step",
        )
    ]  # fmt: skip


def run(quick: bool) -> list[BenchRecord]:
    """Run the orbit/thermal benchmarks (see the module docstring)."""
    return [*_analytic(quick), *_rk4(quick), *_thermal(quick)]
