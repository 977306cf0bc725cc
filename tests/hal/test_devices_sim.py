"""Simulated devices against independent oracles: frames, noise statistics, actuators acting
on the world, the laser link budget and PAT, frames between nodes, platform devices and
determinism from the seed."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sgp4.propagation import gstime

from hal import (
    GnssFix,
    PatState,
    ResetReason,
    ThrusterStatus,
    beam_divergence_rad,
    ecef_to_eci,
    eci_to_ecef,
    gmst_rad,
    pointing_loss_db,
    received_power_dbm,
)
from hal.registry import open_backend
from hal.sim import OpticalChannel, SimBackend
from native.errors import ConfigError, DeviceCommandError, DeviceUnavailableError

S = 1_000_000_000
G0 = 9.80665
R_ORBIT_KM = 6378.137 + 550.0
#: Phase offset that puts a neighbour on the same circular orbit 5,000 km away (chord).
PHASE_5000_KM_DEG = 2 * math.degrees(math.asin(2500.0 / R_ORBIT_KM))


def _sim(devices: dict[str, dict[str, Any]], seed: int = 1, **opts: Any) -> SimBackend:
    b = open_backend("sim", seed=seed, **opts)
    assert isinstance(b, SimBackend)
    b.create_devices(devices)
    return b


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    c = float(a @ b) / float(np.linalg.norm(a) * np.linalg.norm(b))
    return math.acos(max(-1.0, min(1.0, c)))


# ------------------------------------------------------------------------------ frames
@pytest.mark.parametrize("unix_s", [0, 946_728_000, 1_748_736_000, 2_000_000_000])
def test_gmst_matches_sgp4(unix_s: int) -> None:
    assert gmst_rad(unix_s * S) == pytest.approx(gstime(unix_s / 86400 + 2440587.5), abs=1e-8)


def test_ecef_velocity_is_the_derivative_of_ecef_position() -> None:
    t0 = 1_748_736_000 * S
    w = 2 * math.pi / 5739.0  # a circular LEO orbit in the equator, r(t) in ECI

    def r_eci(t_s: float) -> np.ndarray:
        return 6.928e6 * np.array(
            [math.cos(w * t_s), 0.6 * math.sin(w * t_s), 0.8 * math.sin(w * t_s)]
        )

    def v_eci(t_s: float) -> np.ndarray:
        return (
            6.928e6
            * w
            * np.array([-math.sin(w * t_s), 0.6 * math.cos(w * t_s), 0.8 * math.cos(w * t_s)])
        )

    h = 0.05
    rp, _ = eci_to_ecef(r_eci(h), v_eci(h), t0 + round(h * S))
    rm, _ = eci_to_ecef(r_eci(-h), v_eci(-h), t0 - round(h * S))
    _, v = eci_to_ecef(r_eci(0.0), v_eci(0.0), t0)
    np.testing.assert_allclose(v, (rp - rm) / (2 * h), atol=1e-5)
    r_back, v_back = ecef_to_eci(*eci_to_ecef(r_eci(0.0), v_eci(0.0), t0), t0)
    np.testing.assert_allclose(r_back, r_eci(0.0), atol=1e-6)
    np.testing.assert_allclose(v_back, v_eci(0.0), atol=1e-9)


# ----------------------------------------------------------------------------- sensors
def test_gnss_fix_matches_the_world_orbit() -> None:
    b = _sim({"gnss": {"family": "gnss"}})
    g = b.device("gnss")
    for _ in range(5):
        b.advance(7 * S)
        r = g.read()
        assert r.fix is GnssFix.FIX_3D and r.valid and 6 <= r.sats_used <= 12
        assert abs(r.utc_ns - b.world.utc_ns) < 200
        r_eci, v_eci = ecef_to_eci(r.position_ecef_m, r.velocity_ecef_m_s, b.world.utc_ns)
        assert np.linalg.norm(r_eci - b.world.orbit.r_eci_m) < 5 * 3.0 * math.sqrt(3)
        assert np.linalg.norm(v_eci - b.world.orbit.v_eci_m_s) < 5 * 0.03 * math.sqrt(3)


def test_gyro_noise_bias_and_quantisation() -> None:
    cfg = {
        "family": "imu",
        "noise_rad_s": 1e-4,
        "bias_rad_s": [1e-3, -2e-3, 0.0],
        "bias_sigma_rad_s": 0.0,
        "quantum_rad_s": 1e-6,
    }
    b = _sim({"gyro": cfg})
    truth = np.asarray(b.world.attitude.rate_body_rad_s)
    x = np.array([b.device("gyro").read().rate_rad_s for _ in range(2000)])
    n = len(x)
    bias = np.array([1e-3, -2e-3, 0.0])
    np.testing.assert_allclose(x.mean(axis=0), truth + bias, atol=5 * 1e-4 / math.sqrt(n) + 1e-6)
    np.testing.assert_allclose(x.std(axis=0), 1e-4, rtol=0.1)
    np.testing.assert_allclose(x / 1e-6, np.round(x / 1e-6), atol=1e-6)
    sat = _sim({"gyro": {**cfg, "range_rad_s": 1e-3}}).device("gyro").read()
    assert max(abs(v) for v in sat.rate_rad_s) <= 1e-3


def test_star_tracker_error_and_blinding() -> None:
    b = _sim({"st": {"family": "star_tracker", "noise_arcsec": 20.0}})
    q_true = np.asarray(b.world.attitude.q_body_to_eci)
    errs = []
    for _ in range(500):
        q = np.asarray(b.device("st").read().q_body_to_eci)
        errs.append(2 * math.acos(min(1.0, abs(float(q @ q_true)))))
    # Error angle of a 3-axis Gaussian rotation vector: rms = sigma sqrt(3).
    rms = math.sqrt(np.mean(np.square(errs)))
    assert rms == pytest.approx(20.0 / 206264.806 * math.sqrt(3), rel=0.1)
    sun_body = b.world.attitude.eci_to_body(b.world.env.sun_eci_unit)
    blind = _sim({"st": {"family": "star_tracker", "boresight_body": list(map(float, sun_body))}})
    assert not blind.device("st").read().valid


def test_sun_sensor_sees_the_sun_and_not_in_eclipse() -> None:
    b = _sim({"sun": {"family": "sun_sensor", "fov_half_angle_deg": 180.0, "noise_rad": 0.0}})
    truth = b.world.attitude.eci_to_body(b.world.env.sun_eci_unit)
    r = b.device("sun").read()
    assert r.valid and _angle(np.asarray(r.sun_body_unit), truth) < 1e-9
    for _ in range(120):  # at most two hours to the next eclipse
        if b.world.env.in_eclipse:
            break
        b.advance(60 * S)
    assert b.world.env.in_eclipse and not b.device("sun").read().valid
    narrow = _sim(
        {
            "sun": {
                "family": "sun_sensor",
                "fov_half_angle_deg": 10.0,
                "boresight_body": list(map(float, -truth)),
            }
        }
    )
    assert not narrow.device("sun").read().valid


def test_temperature_channels_read_their_nodes() -> None:
    b = _sim({"t": {"family": "temperature", "channels": {"a": "battery", "b": "radiator"}}})
    reads = [b.device("t").read() for _ in range(400)]
    for ch, node in (("a", "battery"), ("b", "radiator")):
        vals = np.array([r.temp_c(ch) for r in reads])
        assert np.all(np.isclose(vals / 0.0625, np.round(vals / 0.0625)))
        assert vals.mean() == pytest.approx(b.world.thermal.temp_c(node), abs=0.02)
    with pytest.raises(ConfigError, match=r"devices\.u\.channels\.x: unknown thermal node 'attic'"):
        _sim({"u": {"family": "temperature", "channels": {"x": "attic"}}})


# ----------------------------------------------------------------------------- actuators
def test_heaters_sum_on_their_node_and_need_their_rail() -> None:
    b = _sim(
        {
            "h1": {"family": "heater", "node": "battery", "rated_w": 10.0},
            "h2": {"family": "heater", "node": "battery", "rated_w": 30.0},
            "pdu": {"family": "pdu"},
        }
    )
    h1, h2, pdu = b.device("h1"), b.device("h2"), b.device("pdu")
    h1.set_on(True)
    h2.set_duty(0.5)
    h2.set_on(True)
    assert b.world.thermal.heater_w("battery") == 10.0 + 15.0
    assert h2.read().power_w == 15.0
    pdu.set_rail("heaters", False)
    assert b.world.thermal.heater_w("battery") == 0.0
    with pytest.raises(DeviceUnavailableError, match="heaters"):
        h1.read()
    pdu.set_rail("heaters", True)
    assert b.world.thermal.heater_w("battery") == 25.0


def test_radiator_drives_the_world() -> None:
    b = _sim({"rad": {"family": "radiator"}})
    rad = b.device("rad")
    lo, hi = rad.emissivity_range
    assert (lo, hi) == b.world.thermal.radiator_emissivity_range
    rad.set_emissivity(0.5)
    assert b.world.thermal.radiator_emissivity == 0.5
    with pytest.raises(DeviceCommandError):
        rad.set_emissivity(hi + 0.01)
    assert b.world.thermal.radiator_emissivity == 0.5


def test_pdu_rails_power_devices_and_trip() -> None:
    b = _sim(
        {
            "pdu": {"family": "pdu"},
            "gyro": {"family": "imu", "rail": "adcs"},
            "big": {"family": "heater", "node": "structure", "rated_w": 600.0},
        }
    )
    pdu = b.device("pdu")
    pdu.set_rail("adcs", False)
    with pytest.raises(DeviceUnavailableError):
        b.device("gyro").read()
    assert pdu.read().rail("adcs").current_a == 0.0
    pdu.set_rail("adcs", True)
    assert b.device("gyro").read().valid
    # 600 W on the 28 V heater rail (15 A trip) trips it.
    b.device("big").set_on(True)
    b.advance(S)
    st = pdu.read().rail("heaters")
    assert st.tripped and not st.on
    with pytest.raises(DeviceCommandError, match="tripped"):
        pdu.set_rail("heaters", True)
    pdu.reset_rail("heaters")
    st = pdu.read().rail("heaters")
    assert not st.tripped and not st.on  # stays off until commanded
    pdu.set_rail("heaters", True)  # the overload is still there: trips again at once
    assert pdu.read().rail("heaters").tripped
    b.set_device_power("big", False)  # remove the load
    pdu.reset_rail("heaters")
    pdu.set_rail("heaters", True)
    assert pdu.read().rail("heaters").on


def test_thruster_burn_obeys_the_rocket_equation() -> None:
    b = _sim({"thr": {"family": "thruster"}, "pdu": {"family": "pdu"}})
    b.device("pdu").set_rail("propulsion", True)
    thr = b.device("thr")
    prop = b.world.propulsion
    m0 = b.world.orbit.mass_kg
    p0 = thr.read().propellant_kg
    thr.fire((0.0, 0.0, 1.0), 10.0)
    b.advance(S)
    ppu_w = prop.thrust_n * G0 * prop.isp_s / (2 * 0.5)
    assert b.world.power.rail_load_w("propulsion") == pytest.approx(ppu_w)
    b.run_for(12 * S)
    r = thr.read()
    used = p0 - r.propellant_kg
    assert r.status is ThrusterStatus.READY
    assert used == pytest.approx(prop.rated_thrust_n * 10.0 / (prop.isp_s * G0), rel=1e-6)
    dv = prop.isp_s * G0 * math.log(m0 / (m0 - used))
    assert prop.delta_v_total_m_s == pytest.approx(dv, rel=1e-6)


def test_thruster_stops_when_its_rail_goes_off() -> None:
    b = _sim({"thr": {"family": "thruster"}, "pdu": {"family": "pdu"}})
    b.device("pdu").set_rail("propulsion", True)
    b.device("thr").fire((1.0, 0.0, 0.0), 100.0)
    b.advance(S)
    b.device("pdu").set_rail("propulsion", False)
    b.advance(S)
    assert not b.world.propulsion.firing and b.world.propulsion.burn_remaining_s == 0.0


# ---------------------------------------------------------------------------------- laser
def test_link_budget_reference_example() -> None:
    # REFERENCE.md: 1550 nm, 80 mm, 1 W, 5,000 km -> theta0 = 12.3 urad, P_r = -30.8 dBm;
    # 1 dB pointing loss at 4.2 urad.
    assert beam_divergence_rad(1550e-9, 0.08) == pytest.approx(12.3e-6, abs=0.05e-6)
    assert received_power_dbm(1.0, 5.0e6) == pytest.approx(-30.8, abs=0.1)
    assert pointing_loss_db(4.2e-6, 1550e-9, 0.08) == pytest.approx(1.0, abs=0.02)
    # Independent arithmetic in dB: gains and free-space loss summed.
    lam, d, r = 1550e-9, 0.08, 5.0e6
    gt = 10 * math.log10(8 * (math.pi * d / (2 * lam)) ** 2)
    gr = 20 * math.log10(math.pi * d / lam)
    fspl = 20 * math.log10(4 * math.pi * r / lam)
    assert received_power_dbm(1.0, r) == pytest.approx(30.0 + gt + gr - fspl, abs=1e-9)
    assert received_power_dbm(1.0, r, pointing_error_rad=4.2e-6) == pytest.approx(
        received_power_dbm(1.0, r) - pointing_loss_db(4.2e-6, lam, d), abs=1e-9
    )


def _far_world() -> dict[str, Any]:
    # At 550 km a 5,000 km chord passes 83 km above the surface: lower the grazing limit.
    return {
        "neighbours": {
            "grazing_height_km": 50.0,
            "satellites": {
                "ahead": {"delta_arg_lat_deg": 360.0 / 22.0},
                "far": {"delta_arg_lat_deg": PHASE_5000_KM_DEG},
                "hidden": {"delta_arg_lat_deg": 180.0},
            },
        }
    }


def test_terminal_reaches_comm_with_the_reference_link_budget() -> None:
    b = _sim({"lct": {"family": "laser_terminal", "fine_error_rad": 0.0}}, world=_far_world())
    lct = b.device("lct")
    lct.acquire("far")
    order = [lct.read().state]
    for _ in range(100):  # SDA standard: acquisition within 100 s
        b.advance(S)
        st = lct.read().state
        if st != order[-1]:
            order.append(st)
        if st is PatState.COMM:
            break
    assert order == [
        PatState.POINTING,
        PatState.SCANNING,
        PatState.COARSE_TRACK,
        PatState.FINE_TRACK,
        PatState.COMM,
    ] or order == [PatState.POINTING, PatState.COARSE_TRACK, PatState.FINE_TRACK, PatState.COMM]
    r = lct.read()
    assert r.range_m == pytest.approx(5.0e6, rel=0.002)
    assert r.rx_power_dbm == pytest.approx(-30.8, abs=0.1)
    # Highest rate whose need (200 photons/bit) plus 3 dB margin the power meets: 10 Gbit/s.
    photon_j = 6.62607015e-34 * 299_792_458.0 / 1550e-9
    ok = [
        x
        for x in (1e9, 2.5e9, 10e9, 25e9, 100e9)
        if 10 * math.log10(200 * photon_j * x / 1e-3) + 3 <= r.rx_power_dbm
    ]
    assert r.link_rate_bps == max(ok) == 10e9


def test_acquisition_times_out_without_line_of_sight() -> None:
    b = _sim({"lct": {"family": "laser_terminal"}}, world=_far_world())
    lct = b.device("lct")
    assert not b.world.neighbours.line_of_sight("hidden")
    lct.acquire("hidden")
    b.run_for(102 * S)
    r = lct.read()
    assert (r.state, r.peer, r.acq_failures) == (PatState.IDLE, "", 1)


def test_terminal_unpowered_drops_to_idle() -> None:
    b = _sim({"lct": {"family": "laser_terminal"}, "pdu": {"family": "pdu"}})
    b.device("lct").acquire("ahead")
    b.run_for(50 * S)
    assert b.device("lct").read().state is PatState.COMM
    b.device("pdu").set_rail("isl", False)
    b.advance(S)
    b.device("pdu").set_rail("isl", True)
    assert b.device("lct").read().state is PatState.IDLE


def test_frames_cross_between_two_nodes() -> None:
    phase = 360.0 / 22.0
    chan = OpticalChannel(ideal=True)  # immediate delivery; the physical one: test_optical
    a = _sim(
        {"lct": {"family": "laser_terminal"}},
        seed=1,
        node_name="A",
        optical_channel=chan,
        world={"neighbours": {"satellites": {"B": {"delta_arg_lat_deg": phase}}}},
    )
    b = _sim(
        {"lct": {"family": "laser_terminal"}},
        seed=2,
        node_name="B",
        optical_channel=chan,
        world={
            "orbit": {"arg_lat_deg": phase},
            "neighbours": {"satellites": {"A": {"delta_arg_lat_deg": -phase}}},
        },
    )
    la, lb = a.device("lct"), b.device("lct")
    assert a.world.neighbours.range_m("B") == pytest.approx(
        b.world.neighbours.range_m("A"), rel=1e-6
    )
    la.acquire("B")
    lb.acquire("A")
    for _ in range(100):
        a.advance(S)
        b.advance(S)
        if la.read().state is PatState.COMM and lb.read().state is PatState.COMM:
            break
    la.send(b"hello B")
    la.send(b"second")
    lb.send(b"hello A")
    assert [lb.receive(), lb.receive(), lb.receive()] == [b"hello B", b"second", None]
    assert la.receive() == b"hello A"
    assert (la.read().frames_sent, lb.read().frames_received) == (2, 2)
    lb.stop()  # B no longer listens: A's frames are lost
    la.send(b"into the void")
    assert la.read().frames_dropped == 1 and lb.receive() is None
    with pytest.raises(DeviceCommandError, match="link not up"):
        lb.send(b"x")
    a.close()
    b.close()


# ------------------------------------------------------------------------------ platform
def test_watchdog_expiry_reboot_and_reasons() -> None:
    b = _sim({"wd": {"family": "watchdog"}, "nvm": {"family": "storage"}})
    wd, nvm = b.device("wd"), b.device("nvm")
    nvm.write("boot_count", b"\x01")
    wd.arm(5.0)
    for _ in range(10):
        b.advance(S)
        wd.kick()
    assert not b.reboot_pending
    b.run_for(6 * S)
    assert b.reboot_pending and wd.read().expired
    assert b.reboot() is ResetReason.WATCHDOG
    r = wd.read()
    assert (r.reset_reason, r.armed, r.expired) == (ResetReason.WATCHDOG, False, False)
    assert nvm.read("boot_count") == b"\x01"  # storage survives the reboot
    assert b.reboot() is ResetReason.COMMANDED
    assert wd.read().reset_reason is ResetReason.COMMANDED
    strict = _sim({"wd": {"family": "watchdog", "allow_disarm": False}}).device("wd")
    strict.arm(1.0)
    with pytest.raises(DeviceCommandError, match="cannot be disarmed"):
        strict.disarm()


def test_directory_storage_persists_across_backends(tmp_path: Path) -> None:
    d = tmp_path / "nvm"
    cfg = {"nvm": {"family": "storage", "directory": str(d), "capacity_bytes": 100}}
    s1 = _sim(cfg).device("nvm")
    s1.write("params", b"A" * 60)
    s1.write("params", b"B" * 70)  # replacing needs only the difference
    with pytest.raises(DeviceCommandError, match="no space"):
        s1.write("other", b"C" * 31)
    assert sorted(p.name for p in d.iterdir()) == ["params"]  # no temporary files left
    s2 = _sim(cfg).device("nvm")
    assert s2.list() == ("params",) and s2.read("params") == b"B" * 70
    assert s2.status().used_bytes == 70


# --------------------------------------------------------------------------- determinism
SENSORS = {
    "gnss": {"family": "gnss"},
    "gyro": {"family": "imu"},
    "st": {"family": "star_tracker"},
    "sun": {"family": "sun_sensor", "fov_half_angle_deg": 180.0},
    "t": {"family": "temperature", "channels": {"a": "battery"}},
    "sa": {"family": "solar_array"},
    "bat": {"family": "battery"},
    "lct": {"family": "laser_terminal"},
}


def _trace(seed: int, devices: dict[str, dict[str, Any]] = SENSORS) -> list[Any]:
    b = _sim(devices, seed=seed)
    b.device("lct").acquire("ahead")
    out = []
    for _ in range(40):
        b.advance(S)
        out.append(tuple(b.device(n).read() for n in SENSORS))
    return out


def test_readings_are_reproducible_from_the_seed() -> None:
    assert _trace(7) == _trace(7)
    assert _trace(7) != _trace(8)


def test_noise_streams_do_not_depend_on_other_devices() -> None:
    extra = {"zz": {"family": "imu"}, **SENSORS}
    assert _trace(7) == _trace(7, extra)


# ------------------------------------------------------------ property: the PAT machine
class PatMachine(RuleBasedStateMachine):
    """Random commands, faults and time against the laser terminal's invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.b = _sim({"lct": {"family": "laser_terminal"}}, world=_far_world())
        self.lct = self.b.device("lct")
        self.last = self.lct.read()

    @rule(peer=st.sampled_from(["ahead", "far", "hidden"]))
    def acquire(self, peer: str) -> None:
        self.lct.acquire(peer)
        assert self.lct.read().state is PatState.POINTING

    @rule(az=st.floats(-3.0, 3.0), el=st.floats(-1.5, 1.5))
    def point(self, az: float, el: float) -> None:
        self.lct.point(az, el)

    @rule()
    def stop(self) -> None:
        self.lct.stop()

    @rule(seconds=st.integers(1, 40))
    def wait(self, seconds: int) -> None:
        self.b.advance(seconds * S)

    @rule(on=st.booleans())
    def lock_fault(self, on: bool) -> None:
        if on:
            self.lct.apply_fault("laser_loss_of_lock", None, {})
        else:
            self.lct.clear_fault("laser_loss_of_lock", None)

    @rule()
    def send(self) -> None:
        if self.lct.read().state is PatState.COMM:
            self.lct.send(b"frame")
        else:
            with pytest.raises(DeviceCommandError):
                self.lct.send(b"frame")

    @invariant()
    def consistent(self) -> None:
        r = self.lct.read()
        tracking = r.state in (PatState.COARSE_TRACK, PatState.FINE_TRACK, PatState.COMM)
        assert r.valid == tracking
        assert math.isfinite(r.rx_power_dbm) == tracking
        assert (r.link_rate_bps > 0) == (r.state is PatState.COMM)
        assert r.state is not PatState.FAULT
        if r.state in (
            PatState.SCANNING,
            PatState.COARSE_TRACK,
            PatState.FINE_TRACK,
            PatState.COMM,
        ):
            assert r.peer in ("ahead", "far") and r.range_m > 0
        if r.state is PatState.IDLE:
            assert r.peer == ""
        assert r.t_ns >= self.last.t_ns and r.acq_failures >= self.last.acq_failures
        assert r.frames_sent >= self.last.frames_sent
        self.last = r


PatMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
test_pat_state_machine = PatMachine.TestCase
