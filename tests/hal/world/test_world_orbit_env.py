"""World orbit, environment and attitude against closed forms and independent code.

Oracles: REFERENCE.md eclipse closed form and J2 RAAN drift, the native batch propagator
(same force model run outside the fused kernel), hal._frames (ECI->ECEF for the SAA test),
chord geometry for neighbours, and the NumPy reference of the whole fused step
(native._world_ref) for the Numba world kernel and the python backend.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from hal._frames import eci_to_ecef
from hal.sim.world import World, WorldConfig
from native._orbit import propagate_rk4_batch
from native.constants import EARTH_RADIUS_M, MU_EARTH_M3_S2
from native.errors import DeviceCommandError

S = 1_000_000_000
H = 550e3
PERIOD_S = 2 * math.pi * math.sqrt((EARTH_RADIUS_M + H) ** 3 / MU_EARTH_M3_S2)
EQUINOX = "2024-03-20T03:06:00Z"  # Sun on +x: RAAN 0 puts it in the orbit plane
ECLIPSE_RTOL = 0.01


def make(seed: int = 1, **sections: dict[str, Any]) -> World:
    data: dict[str, Any] = {"epoch_utc": EQUINOX}
    for key, value in sections.items():
        data[key] = value
    return World(WorldConfig.from_dict(data), seed=seed)


def eclipse_closed_form(beta_rad: float, h: float = H) -> float:
    r = EARTH_RADIUS_M
    beta_star = math.asin(r / (r + h))
    if abs(beta_rad) >= beta_star:
        return 0.0
    return math.acos(math.sqrt(h * h + 2 * r * h) / ((r + h) * math.cos(beta_rad))) / math.pi


def test_eclipse_fraction_beta_zero_cylindrical() -> None:
    w = make(orbit={"raan_deg": 0.0}, environment={"shadow_model": "cylindrical"})
    assert abs(w.env.beta_rad) < math.radians(0.05)
    w.advance(round(3 * PERIOD_S * S))
    frac = w.env.eclipse_s_total / (3 * PERIOD_S)
    assert eclipse_closed_form(0.0) == pytest.approx(0.372, abs=5e-4)
    assert frac == pytest.approx(0.372, rel=ECLIPSE_RTOL)


def test_eclipse_fraction_beta_60() -> None:
    w = make(
        orbit={"inclination_deg": 90.0, "raan_deg": 60.0},
        environment={"shadow_model": "cylindrical"},
    )
    beta = w.env.beta_rad
    assert math.degrees(beta) == pytest.approx(60.0, abs=0.05)
    w.advance(round(3 * PERIOD_S * S))
    assert w.env.eclipse_s_total / (3 * PERIOD_S) == pytest.approx(
        eclipse_closed_form(beta), rel=0.03
    )


@pytest.mark.parametrize("model", ["cylindrical", "conical"])
def test_no_eclipse_above_beta_star(model: str) -> None:
    raan = math.degrees(math.asin(math.sin(math.radians(70.0)) / math.sin(math.radians(98.0))))
    w = make(orbit={"inclination_deg": 98.0, "raan_deg": raan}, environment={"shadow_model": model})
    assert math.degrees(w.env.beta_rad) == pytest.approx(70.0, abs=0.05)
    assert math.degrees(math.asin(EARTH_RADIUS_M / (EARTH_RADIUS_M + H))) == pytest.approx(
        67.0, abs=0.05
    )
    w.advance(round(2 * PERIOD_S * S))
    assert w.env.eclipse_s_total == 0.0
    assert w.env.sunlit_frac == 1.0


def test_conical_eclipse_slightly_longer_than_umbra() -> None:
    w_cyl = make(orbit={"raan_deg": 0.0}, environment={"shadow_model": "cylindrical"})
    w_con = make(orbit={"raan_deg": 0.0}, environment={"shadow_model": "conical"})
    seen_partial = False
    for _ in range(int(PERIOD_S)):
        w_con.advance(S)
        seen_partial |= 0.0 < w_con.env.sunlit_frac < 1.0
    w_cyl.advance(int(PERIOD_S) * S)
    assert seen_partial
    assert w_con.env.eclipse_s_total == pytest.approx(w_cyl.env.eclipse_s_total, rel=0.02)


def test_world_raan_drift_matches_j2_closed_form() -> None:
    w = World(WorldConfig.default(), seed=1)
    t, raan = [], []
    for k in range(2 * 144):  # 2 days, every 10 min
        w.advance(600 * S)
        t.append((k + 1) * 600 / 86400)
        raan.append(w.orbit.elements()[3])
    slope = np.polyfit(t, np.degrees(np.unwrap(raan)), 1)[0]
    assert slope == pytest.approx(-4.489, rel=0.01)


def test_world_orbit_equals_batch_propagator() -> None:
    """Fixed drag area: the fused kernel's orbit equals native.propagate_rk4_batch."""
    w = make(spacecraft={"drag_area_mode": "fixed", "drag_area_m2": 10.0},
             environment={"density_model": "exponential"})  # fmt: skip
    s0 = np.concatenate([w.orbit.r_eci_m, w.orbit.v_eci_m_s])[None, :]
    cdam = 2.2 * 10.0 / w.orbit.mass_kg
    w.advance(3600 * S)
    ref = propagate_rk4_batch(s0, 1.0, 3600, cdam_m2_kg=cdam, density_model="exponential")
    np.testing.assert_allclose(w.orbit.r_eci_m, ref[0, :3], rtol=0, atol=1e-6)
    np.testing.assert_allclose(w.orbit.v_eci_m_s, ref[0, 3:], rtol=0, atol=1e-9)


def test_chunking_does_not_change_the_physics() -> None:
    a = World(WorldConfig.default(), seed=3)
    b = World(WorldConfig.default(), seed=3)
    a.advance(1800 * S)
    for _ in range(1800):
        b.advance(S)
    np.testing.assert_array_equal(a.orbit.r_eci_m, b.orbit.r_eci_m)
    np.testing.assert_array_equal(a.attitude.q_body_to_eci, b.attitude.q_body_to_eci)
    assert a.thermal.temps_c() == b.thermal.temps_c()
    assert a.power.battery_charge_ah == b.power.battery_charge_ah
    # A remainder step lands exactly on t_ns.
    a.advance(1_500_000_000)
    assert a.t_ns == 1801_500_000_000


def test_saa_flag_matches_geographic_ellipse() -> None:
    w = World(WorldConfig.default(), seed=1)
    env = WorldConfig.default().environment
    inside = 0
    for _ in range(1440):
        w.advance(60 * S)
        r_ecef, _ = eci_to_ecef(w.orbit.r_eci_m, w.orbit.v_eci_m_s, w.utc_ns)
        lat = math.degrees(math.asin(r_ecef[2] / np.linalg.norm(r_ecef)))
        lon = math.degrees(math.atan2(r_ecef[1], r_ecef[0]))
        dlon = (lon - env.saa_center_lon_deg + 180) % 360 - 180
        d2 = ((lat - env.saa_center_lat_deg) / env.saa_semi_lat_deg) ** 2 + (
            dlon / env.saa_semi_lon_deg
        ) ** 2
        if abs(d2 - 1) > 1e-6:
            assert w.env.in_saa == (d2 <= 1)
        inside += w.env.in_saa
    assert 0 < inside < 1440 * 0.2
    assert w.env.saa_s_total > 0


def test_attitude_modes_point_as_documented() -> None:
    w = World(WorldConfig.default(), seed=1)
    q = w.attitude.q_body_to_eci
    assert np.linalg.norm(q) == pytest.approx(1.0)
    rot = w.attitude.matrix_body_to_eci()
    r_hat = w.orbit.r_eci_m / np.linalg.norm(w.orbit.r_eci_m)
    assert rot[:, 2] @ -r_hat == pytest.approx(1.0, abs=1e-12)  # +Z nadir
    w.advance(10 * S)
    n = 2 * math.pi / PERIOD_S
    assert np.linalg.norm(w.attitude.rate_body_rad_s) == pytest.approx(n, rel=0.01)
    w.attitude.set_mode("sun")
    rates = []
    for _ in range(200):
        w.advance(S)
        rates.append(np.linalg.norm(w.attitude.rate_body_rad_s))
    assert max(rates) <= math.radians(1.0) * (1 + 1e-9)  # slew-rate limit
    rot = w.attitude.matrix_body_to_eci()
    assert rot[:, 2] @ -w.env.sun_eci_unit == pytest.approx(1.0, abs=1e-9)  # -Z at the Sun
    assert w.power.array_incidence_cos == pytest.approx(1.0, abs=1e-9)
    w.attitude.set_mode("min_drag")
    w.advance(200 * S)
    assert w.orbit.drag_area_m2 == pytest.approx(WorldConfig.default().spacecraft.body_drag_area_m2)
    with pytest.raises(DeviceCommandError):
        w.attitude.set_mode("tumble")


def test_neighbours_geometry() -> None:
    w = World(WorldConfig.default(), seed=1)
    r0 = EARTH_RADIUS_M + H
    du = math.radians(360 / 22)
    assert w.neighbours.names == ("ahead", "behind", "east", "west")
    assert w.neighbours.range_m("ahead") == pytest.approx(2 * r0 * math.sin(du / 2), rel=1e-9)
    assert w.neighbours.line_of_sight("ahead")
    az, el = w.neighbours.pointing_az_el_rad("ahead")
    assert az == pytest.approx(0.0, abs=1e-9)
    assert el == pytest.approx(-du / 2, abs=1e-9)  # below the local horizontal (toward +Z)
    az_b, _ = w.neighbours.pointing_az_el_rad("behind")
    assert abs(az_b) == pytest.approx(math.pi, abs=1e-9)
    w.advance(3600 * S)
    assert w.neighbours.range_m("ahead") == pytest.approx(2 * r0 * math.sin(du / 2), rel=0.01)
    far = make(neighbours={"satellites": {"opposite": {"delta_arg_lat_deg": 170.0}}})
    assert not far.neighbours.line_of_sight("opposite")
    with pytest.raises(DeviceCommandError):
        w.neighbours.range_m("nobody")


def test_advance_rejects_bad_input_and_changes_nothing() -> None:
    w = World(WorldConfig.default(), seed=1)
    before = w.state_digest()
    for bad in (-1, 1.5, True, "1"):
        with pytest.raises(DeviceCommandError):
            w.advance(bad)  # type: ignore[arg-type]
    assert w.state_digest() == before and w.t_ns == 0


def test_attitude_quaternion_against_scipy() -> None:
    """Shepperd's method vs scipy's Rotation on random rotation matrices."""
    from scipy.spatial.transform import Rotation

    from hal.sim.world._kernel import quat_from_axes

    rots = Rotation.random(200, random_state=3)
    for rot in rots:
        m = rot.as_matrix()
        q = np.array(quat_from_axes(*m[:, 0], *m[:, 1], *m[:, 2]))
        x, y, z, w_ = rot.as_quat()  # scipy: scalar last
        ref = np.array([w_, x, y, z]) * (1 if w_ >= 0 else -1)
        np.testing.assert_allclose(q, ref, atol=1e-12)


#: Kernel vs its NumPy reference: same model, different arithmetic order (vector algebra,
#: np.linalg.solve, eigenvector quaternions), so the difference is round-off, amplified a
#: little by the orbit's sensitivity over a few hundred RK4 steps.
KERNEL_RTOL = 1e-9
KERNEL_ATOL = 1e-9
#: The kernel reports the angle to the attitude target as 2 acos(|q . q_t|), whose round-off
#: near 0 is about sqrt(machine epsilon); the reference uses the well-conditioned atan2 form.
ANGLE_ATOL_RAD = 1e-7


def _kernel_vs_reference(w: World, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Run the Numba world kernel and its NumPy reference (native._world_ref) from copies of
    ``w``'s current arrays over ``dt_s`` seconds, outputs evaluated at the end."""
    from hal.sim.world import _layout
    from hal.sim.world._kernel import world_advance
    from native.reference import world_advance_ref

    core = w._core  # the world's packed arrays: the kernel's exact inputs
    n_full, rem_ns = divmod(round(dt_s * S), core.step_ns)
    call = (core.t_ns * 1e-9, n_full, core.step_s, rem_ns * 1e-9, True)
    blob, cond, surf, work, ocv, dtab = core._tail
    numba_blob = blob.copy()
    world_advance(*call, numba_blob, cond, surf, work.copy(), ocv, dtab)
    ref_blob = blob.copy()
    world_advance_ref(_layout, *call, ref_blob, cond.copy(), surf.copy(), work.copy(), ocv, dtab)
    return numba_blob, ref_blob


@pytest.mark.parametrize(
    ("case", "dt_s"),
    [
        ("nadir", 600.5),
        ("sun_slew", 300.0),
        ("burn", 240.25),
        ("min_drag_eclipse", 2400.0),
    ],
)
def test_world_kernel_matches_its_numpy_reference(case: str, dt_s: float) -> None:
    """The fused Numba step against the independent NumPy reference (native._world_ref),
    every state, parameter, output and running total after a few hundred steps."""
    w = make(orbit={"raan_deg": 0.0})
    w.advance(30 * S)  # off the initial snap, into a settled state
    if case == "sun_slew":
        w.attitude.set_mode("sun")  # a slew at the rate limit: the wheels absorb it
    elif case == "burn":
        w.propulsion.fire([0.0, 1.0, 0.0], 100.0)
    elif case == "min_drag_eclipse":
        w.attitude.set_mode("min_drag")
    numba_blob, ref_blob = _kernel_vs_reference(w, dt_s)
    from hal.sim.world import _layout as L

    totals = numba_blob[L.B_A : L.B_A + L.N_A]
    exercised = {  # each case runs the branch it is named after
        "nadir": totals[L.A_SHUNT_J] > 0 and totals[L.A_CHARGE_IN_AH] > 0,
        "sun_slew": totals[L.A_DESATS] >= 1,
        "burn": totals[L.A_BURN_S] == pytest.approx(100.0) and totals[L.A_DV_M_S] > 0,
        "min_drag_eclipse": totals[L.A_ECLIPSE_S] > 300 and totals[L.A_DESATS] >= 1,
    }
    assert exercised[case]
    _assert_same_world(numba_blob, ref_blob)


def _assert_same_world(numba_blob: np.ndarray, ref_blob: np.ndarray) -> None:
    from hal.sim.world import _layout as L

    angle = L.B_O + L.O_ANGLE_TGT
    assert numba_blob[angle] == pytest.approx(ref_blob[angle], abs=ANGLE_ATOL_RAD)
    rest = np.arange(numba_blob.size) != angle
    np.testing.assert_allclose(numba_blob[rest], ref_blob[rest], rtol=KERNEL_RTOL, atol=KERNEL_ATOL)


def test_python_backend_matches_the_reference() -> None:
    """SATNODE_NATIVE=python advances the world through the registry's python implementation:
    it must agree with the NumPy reference (not only with the Numba kernel it may share code
    with)."""
    from hal.sim.world import _layout
    from native.backend import use_backend
    from native.reference import world_advance_ref

    with use_backend("python"):
        w = make(orbit={"raan_deg": 0.0})
        w.advance(30 * S)
        core = w._core
        blob, cond, surf, work, ocv, dtab = core._tail
        ref_blob = blob.copy()
        n_full, rem_ns = divmod(60 * S + 250_000_000, core.step_ns)
        world_advance_ref(
            _layout, core.t_ns * 1e-9, n_full, core.step_s, rem_ns * 1e-9, False,
            ref_blob, cond, surf, work, ocv, dtab,
        )  # fmt: skip
        w.advance(60 * S + 250_000_000)
    _assert_same_world(core.blob, ref_blob)


def test_cross3_is_numpy_cross_bit_for_bit() -> None:
    """The cross product of the link and frame code against ``np.cross`` (the peer)."""
    import numpy as np

    from hal._frames import cross3

    rng = np.random.default_rng(11)
    for _ in range(2000):
        a = rng.standard_normal(3) * 10.0 ** rng.integers(-6, 9)
        b = rng.standard_normal(3) * 10.0 ** rng.integers(-6, 9)
        assert np.array_equal(cross3(a, b), np.cross(a, b))
    assert np.array_equal(cross3([0, 0, 1], (1, 0, 0)), [0.0, 1.0, 0.0])
