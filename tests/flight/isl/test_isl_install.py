"""``[isl]`` on a single node with the sim world's catalogue neighbours: planning, PAT
through the sim terminal, telemetry, LinkStatus, commands range-checked, config errors."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flight.core import FailureCode
from flight.isl import IslApp, IslNetwork, LinkState, parse_config
from flight.messages import LinkStatus
from flight.testing import build_node, node_config
from native.errors import CommandError, ConfigError

D = 360.0 / 22.0
#: the sim world's default neighbours ([world.neighbours]), as a ground catalogue would list them
PEERS: list[dict[str, Any]] = [
    {"name": "ahead", "arg_lat_deg": D, "priority": 2},
    {"name": "behind", "arg_lat_deg": -D},
    {"name": "east", "raan_deg": 5.0, "arg_lat_deg": D / 2},
    {"name": "west", "raan_deg": -5.0, "arg_lat_deg": -D / 2},
]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Any]:
    cfg = node_config({"isl": {"node": "sat0", "peers": PEERS}}, apps=["power", "isl"])
    n = build_node(tmp_path, cfg)
    try:
        yield n
    finally:
        n.close()


def test_single_node_acquires_its_highest_priority_neighbour(node: Any) -> None:
    node.run(200)
    app = node.apps["isl"]
    assert isinstance(app, IslApp)
    comp = app.component
    pat = comp.pat
    # the same-plane neighbours are in view all orbit: all four planned, "ahead" wins
    assert {c.other("sat0") for c in app.network.plan if "sat0" in (c.a, c.b)} == {
        "ahead", "behind", "east", "west"}
    assert pat.state is LinkState.LINKED and pat.peer == "ahead"
    assert pat.acquisitions == 1 and pat.attempts == 1
    # sim terminal: 5 s pointing + scan U(0, 30) s + 2 s coarse + 1 s fine, seen at 1 Hz
    assert 8.0 <= pat.mean_acquisition_s <= 39.0
    hk = comp.hk
    assert hk.state == int(LinkState.LINKED) and hk.peer == 0
    assert hk.rx_valid and math.isfinite(hk.rx_power_dbm) and hk.link_rate_bps > 0
    assert 0.0 <= hk.pointing_error_urad < 10.0
    assert hk.range_km == pytest.approx(2 * (6378.137 + 550) * math.sin(math.radians(D / 2)),
                                        rel=0.02)
    status = comp.bus.latest(LinkStatus)
    assert status is not None and status.link_up and status.peer == "ahead"
    assert status.link_rate_bps == hk.link_rate_bps and status.next_contact_s == 0.0
    s = app.summary()
    assert s["acquisitions"] == 1 and 0.0 < s["link_up_fraction"] < 1.0
    # the ephemeris bundle to "ahead" was sent; no node answers in a single-node run
    assert s["frames_sent"] > 0 and s["frames_received"] == 0


def test_disable_peer_command_moves_the_terminal(node: Any) -> None:
    node.run(60)
    comp = node.apps["isl"].component
    assert comp.pat.peer == "ahead"
    cmd, values = comp.decode_command(2, struct.pack(">B", 0))  # disable_peer(ahead)
    comp.invoke(cmd, values)
    node.run(60)
    assert comp.pat.peer != "ahead" and comp.pat.peer in {"behind", "east", "west"}


def test_commands_are_range_checked(node: Any) -> None:
    comp = node.apps["isl"].component
    with pytest.raises(CommandError) as err:
        comp.decode_command(1, struct.pack(">B", 4))  # only peers 0..3
    assert err.value.code is FailureCode.ILLEGAL_ARGUMENT
    with pytest.raises(CommandError):
        comp.decode_command(3, struct.pack(">BB", 0, 0))  # priority 1..255
    with pytest.raises(CommandError):
        comp.decode_command(4, struct.pack(">B7d", 0, 50.0, 0, 53, 0, 0, 0, 0))  # altitude
    before = dict(comp.catalogue)
    cmd, values = comp.decode_command(4, struct.pack(">B7d", 1, 560.0, 0, 53, 0, 0, -D, 0))
    comp.invoke(cmd, values)
    assert comp.catalogue["behind"] != before["behind"]
    assert comp.catalogue["behind"].a_m == pytest.approx(6378137.0 + 560e3)


def test_network_service_is_provided(node: Any) -> None:
    net = node.apps["isl"].network
    assert isinstance(net, IslNetwork)
    bid = net.send("ahead", b"hello", priority=2)
    assert bid.source == "sat0"


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="priority"):
        parse_config({"peers": [{"name": "a", "priority": 300}]})
    with pytest.raises(ConfigError, match="this node"):
        parse_config({"node": "a", "peers": [{"name": "a"}]})
    with pytest.raises(ConfigError, match="max_dwell_s"):
        parse_config({"min_dwell_s": 100.0, "max_dwell_s": 10.0})


def _own_orbit_node(tmp_path: Path, gnss: bool) -> Any:
    # the [isl] orbit keys are wrong on purpose (half an orbit off): only a fix can tell
    isl: dict[str, Any] = {"node": "sat0", "peers": PEERS, "arg_lat_deg": 180.0}
    if gnss:
        isl["gnss"] = "gnss"
    return build_node(tmp_path, node_config({"isl": isl}, apps=["power", "isl"]))


def test_own_orbit_from_the_gnss_fix(tmp_path: Path) -> None:
    """The own orbit comes from the GNSS fix, not from the (wrong) [isl] keys: the fix's state
    equals the world's true state (GNSS noise 3 m, 0.03 m/s per axis), and the neighbours the
    wrong keys hide are planned and acquired."""
    node = _own_orbit_node(tmp_path / "gnss", True)
    try:
        world = node.backend.world
        r_true = np.array(world.orbit.r_eci_m, dtype=float)
        v_true = np.array(world.orbit.v_eci_m_s, dtype=float)
        node.run(1)  # the first step plans, with a fix taken at t = 0
        comp = node.apps["isl"].component
        assert comp.own_source == "gnss" and comp.own_fixes == 1
        el = comp.catalogue["sat0"]
        assert el.epoch_ns == 0
        state = el.state()
        assert np.linalg.norm(state[:3] - r_true) < 6 * 3.0 * math.sqrt(3)
        assert np.linalg.norm(state[3:] - v_true) < 6 * 0.03 * math.sqrt(3)
        node.run(199)
        s = node.apps["isl"].summary()
        assert s["own_orbit"] == "gnss" and s["own_fix_failures"] == 0
        assert comp.pat.state is LinkState.LINKED and comp.pat.peer == "ahead"
    finally:
        node.close()
    wrong = _own_orbit_node(tmp_path / "keys", False)
    try:
        wrong.run(200)
        comp = wrong.apps["isl"].component
        assert comp.own_source == "config" and comp.own_fixes == 0
        assert comp.pat.acquisitions == 0  # the keys put the neighbours out of view
    finally:
        wrong.close()


def test_gnss_key_must_name_a_device(tmp_path: Path) -> None:
    cfg = node_config({"isl": {"node": "sat0", "gnss": "nogps"}}, apps=["power", "isl"])
    with pytest.raises(ConfigError, match="gnss"):
        build_node(tmp_path, cfg)
    with pytest.raises(ConfigError, match="gnss"):
        parse_config({"gnss": ""})
