"""The optical channel between terminals of nodes in one universe.

Oracles: REFERENCE.md's link budget (-30.8 dBm at 5,000 km), the closed forms of the rate
(photons per bit), BER/FER and light time (R / c), the geometric line of sight of two
circular orbits (``gamma < 2 acos((R_E + h_g) / r)``) for a Walker pair, and the chord to a
peer against the gimbal cone.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from hal.laser import PatState, received_power_dbm
from hal.registry import open_backend
from hal.sim import OpticalChannel
from hal.sim.laser import bit_error_rate, frame_error_rate, photons_per_bit, q_for_ber
from hal.sim.world import (
    SpacecraftSpec,
    Universe,
    WorldConfig,
    contact_windows,
    los_max_central_angle_rad,
    walker_delta_elements,
)
from native.constants import EARTH_RADIUS_M
from native.errors import DeviceCommandError

S = 1_000_000_000
C = 299_792_458.0
H_J_S = 6.62607015e-34


def _config(**orbit: Any) -> WorldConfig:
    cfg = WorldConfig.default()
    return dataclasses.replace(
        cfg,
        neighbours=dataclasses.replace(cfg.neighbours, satellites={}, grazing_height_km=50.0),
        orbit=dataclasses.replace(cfg.orbit, **orbit),
    )


def _pair(phase_deg: float, lct: dict[str, Any] | None = None) -> tuple[Any, Any, Any, Universe]:
    """Two spacecraft in one plane ``phase_deg`` apart, each a node with a terminal."""
    u = Universe(
        _config(),
        1,
        {
            "A": SpacecraftSpec(elements=(EARTH_RADIUS_M + 550e3, 0, math.radians(53), 0, 0, 0)),
            "B": SpacecraftSpec(
                elements=(
                    EARTH_RADIUS_M + 550e3,
                    0,
                    math.radians(53),
                    0,
                    0,
                    math.radians(phase_deg),
                )
            ),
        },
    )
    chan = OpticalChannel()
    table = {"lct": {"family": "laser_terminal", **(lct or {})}}
    a = open_backend("sim", universe=u, spacecraft="A", optical_channel=chan)
    b = open_backend("sim", universe=u, spacecraft="B", optical_channel=chan)
    a.create_devices(table)
    b.create_devices(table)
    return a, b, chan, u


def _until_comm(a: Any, b: Any, limit_s: int = 100) -> None:
    la, lb = a.device("lct"), b.device("lct")
    la.acquire("B")
    lb.acquire("A")
    for _ in range(limit_s):
        a.advance(S)
        b.advance(S)  # the universe already stepped: a no-op, as in a multi-node run
        if la.read().state is PatState.COMM and lb.read().state is PatState.COMM:
            return
    raise AssertionError("no link")


# ------------------------------------------------------------------------- budget closed forms
def test_ber_and_fer_closed_forms() -> None:
    q = q_for_ber(1e-12)
    assert 0.5 * math.erfc(q / math.sqrt(2)) == pytest.approx(1e-12, rel=1e-9)
    assert bit_error_rate(200.0, 200.0, 1e-12) == pytest.approx(1e-12, rel=1e-9)
    # four times the photons doubles Q (shot-noise limited)
    assert bit_error_rate(800.0, 200.0, 1e-12) == pytest.approx(
        0.5 * math.erfc(2 * q / math.sqrt(2)), rel=1e-9
    )
    assert frame_error_rate(1e-6, 8000) == pytest.approx(1 - (1 - 1e-6) ** 8000, rel=1e-12)
    p_w = 1e-3 * 10 ** (-30.8 / 10)
    assert photons_per_bit(p_w, 10e9, 1550e-9) == pytest.approx(
        p_w / (H_J_S * C / 1550e-9 * 10e9), rel=1e-12
    )


def test_light_time_rate_and_delivery_from_the_link_budget() -> None:
    # 5,000 km chord at 550 km: central angle 2 asin(R / 2r).
    r = EARTH_RADIUS_M + 550e3
    phase = math.degrees(2 * math.asin(5.0e6 / (2 * r)))
    a, b, chan, u = _pair(phase, {"fine_error_rad": 0.0})
    _until_comm(a, b)
    la, lb = a.device("lct"), b.device("lct")
    ra = la.read()
    rng = u.link("A", "B").range_m
    assert ra.range_m == pytest.approx(rng, rel=1e-12)
    assert rng == pytest.approx(5.0e6, rel=0.002)
    assert ra.light_time_s == pytest.approx(rng / C, rel=1e-12)
    assert ra.rx_power_dbm == pytest.approx(received_power_dbm(1.0, rng), abs=1e-9)
    assert ra.rx_power_dbm == pytest.approx(-30.8, abs=0.1)
    photon_j = H_J_S * C / 1550e-9
    ok = [x for x in (1e9, 2.5e9, 10e9, 25e9, 100e9)
          if 10 * math.log10(200 * photon_j * x / 1e-3) + 3 <= ra.rx_power_dbm]  # fmt: skip
    assert ra.link_rate_bps == max(ok) == 10e9
    t0 = a.t_ns
    frame = bytes(range(256)) * 40  # 10,240 bytes
    la.send(frame)
    la.send(b"second")
    (f1, f2) = chan.in_flight()
    ser1 = math.ceil(8 * len(frame) / 10e9 * 1e9)
    ser2 = math.ceil(8 * 6 / 10e9 * 1e9)
    assert f1.arrival_ns == t0 + ser1 + round(rng / C * 1e9)
    assert f2.arrival_ns == t0 + ser1 + ser2 + round(rng / C * 1e9)
    assert lb.receive() is None  # still in flight: light time 16.7 ms
    a.advance(S // 100)  # 10 ms: not yet
    assert lb.receive() is None
    a.advance(S // 100)
    assert [lb.receive(), lb.receive(), lb.receive()] == [frame, b"second", None]
    assert (la.read().frames_sent, lb.read().frames_received, la.read().frames_in_error) == (
        2,
        2,
        0,
    )
    lb.stop()  # frames arriving at a terminal no longer in COMM are lost, counted at the sender
    la.send(b"lost")
    a.advance(S)
    assert la.read().frames_dropped == 1


def test_frames_lost_with_the_frame_error_rate() -> None:
    # A weak link: the need is met with margin 0, so the BER sits at required_ber; make the
    # required BER large so that frames fail at a predictable rate.
    a, b, _chan, u = _pair(16.0, {"required_ber": 1e-4, "margin_db": 0.0, "fine_error_rad": 0.0,
                                 "rates_bps": [1e9], "photons_per_bit": 4.0e4})  # fmt: skip
    _until_comm(a, b)
    la, lb = a.device("lct"), b.device("lct")
    rate = la.read().link_rate_bps
    assert rate == 1e9
    fer = la.fer(0.0, 1000)
    p_w = 1e-3 * 10 ** (received_power_dbm(1.0, u.link("A", "B").range_m) / 10)
    n = photons_per_bit(p_w, rate, 1550e-9)
    assert fer == pytest.approx(frame_error_rate(bit_error_rate(n, 4.0e4, 1e-4), 8000), rel=1e-9)
    assert 0.01 < fer < 0.99
    sent = 1000  # within the receive queue (1024 frames)
    for _ in range(sent):
        la.send(bytes(1000))
    a.advance(S)
    got = 0
    while lb.receive() is not None:
        got += 1
    errors = la.read().frames_in_error
    assert got + errors == sent
    # binomial: within 5 sigma of the expected count
    assert abs(errors - sent * fer) < 5 * math.sqrt(sent * fer * (1 - fer))


def test_loss_of_lock_from_relative_motion() -> None:
    a, b, _, _u = _pair(16.0, {"tracking_rate_rad_s": 0.01})
    _until_comm(a, b)
    la = a.device("lct")
    assert la.blocked_reason() == ""
    # A slew at 1 deg/s (17.5 mrad/s) turns the line of sight faster than 10 mrad/s.
    a.world.attitude.set_mode("sun")
    a.advance(S)
    assert a.world.attitude.rate_body_rad_s @ a.world.attitude.rate_body_rad_s > 0.01**2
    assert la.body_los_rate_rad_s() > 0.01
    r = la.read()
    assert r.state is PatState.SCANNING and r.lock_losses == 1
    assert la.blocked_reason() == "angular rate"


def test_gimbal_limits_relative_to_the_body() -> None:
    # Boresight +X (along-track in nadir pointing), 30 deg cone: the peer ahead is in it,
    # the peer behind is not.
    a, b, _, _u = _pair(16.0, {"gimbal_half_angle_deg": 30.0})
    la, lb = a.device("lct"), b.device("lct")
    la.acquire("B")
    lb.acquire("A")
    d = a.world.neighbours.direction_body("B")
    assert math.degrees(math.acos(d[0])) == pytest.approx(8.0, abs=0.5)  # half the phase angle
    assert la.blocked_reason() == ""
    assert lb.blocked_reason() == "gimbal limit"
    for _ in range(60):
        a.advance(S)
    assert lb.read().state is PatState.POINTING  # B cannot turn its terminal toward A
    assert la.read().state is PatState.COMM  # A's own link budget and gimbal allow it


def test_contact_windows_of_a_walker_pair_against_the_closed_form() -> None:
    alt = 550e3
    el = walker_delta_elements(24, 8, 1, altitude_m=alt, inclination_rad=math.radians(53.0))
    pick = {"p1": el[0], "p2": el[3]}  # slot 0 of planes 0 and 1 (45 deg apart in RAAN)
    cfg = _config(j2=False, drag=False)
    u = Universe(cfg, 0, {k: SpacecraftSpec(elements=tuple(v)) for k, v in pick.items()})
    r = EARTH_RADIUS_M + alt
    period = 2 * math.pi * math.sqrt(r**3 / 3.986004418e14)
    gmax = los_max_central_angle_rad(r, u.grazing_height_m)
    n = math.sqrt(3.986004418e14 / r**3)

    def closed_form(t: float) -> bool:
        rh = []
        for row in pick.values():
            uu, om, inc = row[5] + n * t, row[3], row[2]
            rh.append(np.array([
                math.cos(om) * math.cos(uu) - math.sin(om) * math.sin(uu) * math.cos(inc),
                math.sin(om) * math.cos(uu) + math.cos(om) * math.sin(uu) * math.cos(inc),
                math.sin(uu) * math.sin(inc),
            ]))  # fmt: skip
        return bool(math.acos(min(1.0, float(rh[0] @ rh[1]))) < gmax)

    step = 20
    ts = np.arange(0, round(period) + 1, step, dtype=float)
    sim = []
    for k, _t in enumerate(ts):
        if k:
            u.advance(step * S)
        sim.append(u.link("p1", "p2").line_of_sight)
    fine = np.arange(0, round(period) + 1, 1.0)
    ref = contact_windows(fine, [closed_form(t) for t in fine])
    got = contact_windows(ts, sim)
    assert 1 <= len(ref) <= 3 and len(got) == len(ref)
    assert any(e - s > 60 for s, e in ref) and sum(e - s for s, e in ref) < 0.95 * period
    for (s0, e0), (s1, e1) in zip(ref, got, strict=True):
        assert abs(s0 - s1) <= step and abs(e0 - e1) <= step


def test_frames_between_nodes_keep_the_ideal_channel_contract() -> None:
    a, b, _, _ = _pair(16.0)
    _until_comm(a, b)
    ch = OpticalChannel(ideal=True)
    assert ch.ideal and not a.optical_channel.ideal


# ------------------------------------------------------------------------- mutual pointing
def test_a_scan_finds_only_a_peer_that_points_back() -> None:
    """A points at B while B points elsewhere: A's scan never ends (no beacon), whatever its
    scan time; once B turns to A both reach COMM; when B turns away, A loses lock."""
    a, b, chan, _ = _pair(5.0)
    la, lb = a.device("lct"), b.device("lct")
    la.acquire("B")
    while a.t_ns < 40 * S:  # past pointing (5 s) and the longest scan (30 s)
        a.advance(S)
        b.advance(S)
    assert la.read().state is PatState.SCANNING and la.read().acq_failures == 0
    assert not chan.points_at("B", "A") and chan.points_at("A", "B")
    lb.acquire("A")
    while not (la.read().state is PatState.COMM and lb.read().state is PatState.COMM):
        assert a.t_ns < 80 * S, "no link although both point at each other"
        a.advance(S)
        b.advance(S)
    losses = la.read().lock_losses
    lb.stop()
    a.advance(S)
    b.advance(S)
    ra = la.read()
    assert ra.state is PatState.SCANNING and ra.lock_losses == losses + 1
    with pytest.raises(DeviceCommandError, match="link not up"):
        la.send(b"x")


def test_synchronised_channel_sees_the_exchanged_pointing() -> None:
    """In a synchronised channel a terminal sees whom a peer pointed at as of the last
    synchronisation point (the same table in every shard); nodes outside it point back."""
    chan = OpticalChannel(synchronised=["A", "B", "C"])
    assert not chan.points_at("B", "A")  # nothing exchanged yet
    chan.set_pointing({"B": ("A",), "C": ("B",)})
    assert chan.points_at("B", "A") and not chan.points_at("C", "A")
    assert chan.points_at("Z", "A")  # not simulated: assumed to point back
    with pytest.raises(DeviceCommandError):
        OpticalChannel().set_pointing({})
