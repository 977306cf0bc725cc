"""Orbit determination against the simulated world's truth (sim GNSS receiver)."""

from __future__ import annotations

from typing import Any

import numpy as np

from flight.gnc import OrbitFilter, mean_semi_major_axis_m
from hal.registry import get_device, open_from_config
from hal.sensors import GnssReceiver, ecef_to_eci

POS_TOL_M = 10.0  # GNSS noise is 3 m per axis per fix
MEAN_A_TOL_M = 5.0


def _run(hours: float, drag: bool) -> tuple[list[float], list[float], OrbitFilter]:
    b: Any = open_from_config(
        {
            "backend": "sim",
            "seed": 3,
            "world": {"orbit": {"drag": drag}},
            "devices": {"gnss": {"family": "gnss"}},
        }
    )
    gnss = get_device(b, "gnss", GnssReceiver)
    w = b.world
    f = OrbitFilter()
    pos_err, a_err = [], []
    drag_acc = -4e-7 if drag else 0.0
    for k in range(int(hours * 60)):
        b.advance(60_000_000_000)
        rd = gnss.read()
        r, v = ecef_to_eci(rd.position_ecef_m, rd.velocity_ecef_m_s, rd.utc_ns)
        f.update(rd.t_ns / 1e9, np.concatenate([r, v]), drag_acc)
        truth = np.concatenate([w.orbit.r_eci_m, w.orbit.v_eci_m_s])
        if k > 60:
            pos_err.append(float(np.linalg.norm(f.x[:3] - truth[:3])))
            a_err.append(float(mean_semi_major_axis_m(f.x)) - float(mean_semi_major_axis_m(truth)))
    return pos_err, a_err, f


def test_ekf_tracks_truth_with_drag() -> None:
    pos_err, a_err, f = _run(12.0, drag=True)
    assert np.median(pos_err) < POS_TOL_M / 2
    assert max(pos_err) < 3 * POS_TOL_M
    assert abs(np.mean(a_err)) < MEAN_A_TOL_M
    assert f.resets == 0


def test_ekf_rejects_outlier_fix() -> None:
    _, _, f = _run(2.0, drag=False)
    x_before = f.x.copy()
    bogus = f.x + np.array([5000.0, 0, 0, 0, 0, 0])
    assert f.update(f.t_s + 1.0, bogus) is False
    assert f.rejects >= 1
    expected = f.prop.advance(x_before, 1.0)  # the rejected fix only moved time on
    assert np.linalg.norm(f.x[:3] - expected[:3]) < 1.0
