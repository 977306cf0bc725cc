"""Faults of the wire itself, each with two real processes (the rig, or a misbehaving rig,
in a child process; the flight side here): a dead rig gives typed timeouts, invalid
readings and SAFE without crashing, and the link comes back by itself with time
resynchronised; malformed, oversized and out-of-sequence messages are rejected and counted on
both sides; version and clock mismatches are refused on both sides."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest

from flight.config import load_config
from flight.messages import Mode
from flight.node import Node, NodeOptions
from hal.hil import (
    PROTOCOL_VERSION,
    LockstepHilBackend,
    RigProtocolError,
    RigRefusedError,
    RigTimeoutError,
    Stream,
)
from hal.registry import open_backend
from hal.sensors import Imu
from hil import RigControl
from tests.conftest import RIG_START_CAP_S, RigProcess

pytestmark = pytest.mark.rig_only


def _hil_config(address: str, **hal: Any) -> dict[str, Any]:
    config = load_config(None)
    config["hal"] = {**config["hal"], "backend": "hil", "rig": address, **hal}
    return config


def test_dead_rig_times_out_goes_safe_and_recovers_when_it_returns(
    tmp_path: Path, start_rig: Callable[..., RigProcess]
) -> None:
    rig = start_rig()
    node = Node(_hil_config(rig.address, timeout_s=0.5), NodeOptions(out_dir=tmp_path, seed=1))
    try:
        node.run(30.0)
        fdir = node.apps["fdir"].manager
        assert fdir.mode is not Mode.SAFE
        imu = node.backend.device("imu")
        assert isinstance(imu, Imu) and imu.read().valid

        rig.kill()  # the rig process dies
        with pytest.raises(RigTimeoutError):
            imu.read()
        with pytest.raises(RigTimeoutError):  # and at once while the link is down
            imu.read()
        node.run(60.0)  # nothing crashes; FDIR sees blind sensors and goes to SAFE
        assert fdir.mode is Mode.SAFE
        link = node.backend.link.stats
        assert link.timeouts > 10 and link.disconnects == 1

        start_rig("--listen", rig.address)  # the rig comes back on the same address
        node.run(30.0)
        assert link.reconnects == 1
        # time resynchronised: the rig's world follows the flight's time again (the plant
        # is synced at the start of each tick, at most one plant period behind)
        assert 0 <= node.clock.now_ns() - node.backend.t_ns <= 1_000_000_000
        assert node.backend.t_ns > 100_000_000_000
        assert imu.read().valid  # readings are valid again
        truth = node.backend.call("@rig", "truth", [], {})
        assert truth["t_ns"] == node.backend.t_ns
        summary = node.summary()
        assert summary["fdir"]["mode_final"] == "SAFE"
    finally:
        node.close()


@pytest.fixture
def fake_rig(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(mode: str) -> str:
        port_file = tmp_path / f"fake-{mode}.port"
        procs.append(
            subprocess.Popen([sys.executable, "-m", "tests.hil.fake_rig", mode, str(port_file)])
        )
        deadline = time.monotonic() + RIG_START_CAP_S
        while not port_file.exists():
            assert time.monotonic() < deadline, "fake rig did not start"
            time.sleep(0.02)
        return port_file.read_text().strip()

    yield start
    for p in procs:
        p.kill()
        p.wait()


@pytest.mark.parametrize("mode", ["garbage", "oversized", "wrong_re"])
def test_broken_replies_are_rejected_and_counted(fake_rig: Callable[[str], str], mode: str) -> None:
    backend = open_backend("hil", rig=fake_rig(mode), timeout_s=2.0)
    assert isinstance(backend, LockstepHilBackend)
    try:
        with pytest.raises(RigProtocolError):
            backend.advance(1_000_000_000)  # the first failure is reported...
        assert backend.link.stats.rejected == 1 and not backend.link.up
        assert backend.t_ns == 0  # ...and nothing of the broken reply was used
    finally:
        backend.close()


def test_a_silent_rig_is_a_typed_timeout_not_a_hang(fake_rig: Callable[[str], str]) -> None:
    backend = open_backend("hil", rig=fake_rig("silent"), timeout_s=0.3, reconnect_s=60.0)
    try:
        with pytest.raises(RigTimeoutError):
            backend.call("@rig", "summary", [], {})
        with pytest.raises(RigTimeoutError, match="down"):  # no second wait while down
            backend.call("@rig", "summary", [], {})
        assert backend.link.stats.timeouts == 2
    finally:
        backend.close()


def test_version_mismatch_is_refused_on_both_sides(
    fake_rig: Callable[[str], str], start_rig: Callable[..., RigProcess]
) -> None:
    with pytest.raises(RigRefusedError, match="protocol 99"):
        open_backend("hil", rig=fake_rig("version"))
    rig = start_rig()
    host, port = rig.address.rsplit(":", 1)
    s = Stream(socket.create_connection((host, int(port))))
    s.send({"type": "hello", "ts": 0, "proto": PROTOCOL_VERSION + 1, "role": "flight",
            "clock": "any", "client": "test", "max_frame": 1 << 20})  # fmt: skip
    reply = s.recv(time.monotonic() + 10)
    assert reply["type"] == "refuse" and reply["code"] == "version"
    s.close()
    # protocol version 2 in a version 3 body: refused, naming both versions
    s = Stream(socket.create_connection((host, int(port))))
    s.send({"type": "hello", "ts": 0, "proto": 2, "role": "flight",
            "clock": "any", "client": "test", "max_frame": 1 << 20})  # fmt: skip
    reply = s.recv(time.monotonic() + 10)
    assert reply["type"] == "refuse" and reply["code"] == "version"
    assert "version 2 is not supported" in reply["reason"] and "version 3" in reply["reason"]
    s.close()
    # a version 2 client (a CBOR HELLO): refused as such, then the rig closes the link
    s = Stream(socket.create_connection((host, int(port))))
    cbor_hello = b"\xa1\x64type\x65hello"  # CBOR (RFC 8949) of {"type": "hello"}
    s.send_raw(struct.pack(">I", len(cbor_hello)) + cbor_hello)
    reply = s.recv(time.monotonic() + 10)
    assert reply["type"] == "refuse" and reply["code"] == "version"
    assert "version 1 or 2" in reply["reason"]
    with pytest.raises(ConnectionResetError):
        s.recv(time.monotonic() + 10)
    s.close()
    # the flight side against a version 2 rig (it answers in CBOR): a clear refusal
    with pytest.raises(RigRefusedError, match="version 1 or 2"):
        open_backend("hil", rig=fake_rig("v2"))
    with pytest.raises(RigRefusedError, match="clock"):
        open_backend("hil", rig=rig.address, clock="paced")
    backend = open_backend("hil", rig=rig.address)
    try:  # every refusal counted on the rig: two versions, one CBOR client, the clock
        assert backend.rig_summary()["stats"]["refused"] == 4
    finally:
        backend.close()
    log = rig.log.read_text()  # and explained where the rig runs
    assert "refused a session (version): protocol version 2 is not supported" in log
    assert "refused a session (version): the peer speaks protocol version 1 or 2" in log


def test_rig_rejects_malformed_oversized_and_replayed_messages(
    start_rig: Callable[..., RigProcess],
) -> None:
    rig = start_rig()
    host, port = rig.address.rsplit(":", 1)
    s = Stream(socket.create_connection((host, int(port))))
    s.send({"type": "hello", "ts": 0, "proto": PROTOCOL_VERSION, "role": "control",
            "clock": "any", "client": "test", "max_frame": 1 << 20})  # fmt: skip
    assert s.recv(time.monotonic() + 10)["type"] == "welcome"
    s.send_raw(struct.pack(">I", 2) + b"\xff\xff")  # not one MessagePack item
    assert s.recv(time.monotonic() + 10)["code"] == "malformed"
    body = msgpack.packb({"type": "call", "seq": 1, "ts": 0, "calls": []})  # seq replayed
    s.send_raw(struct.pack(">I", len(body)) + body)
    assert s.recv(time.monotonic() + 10)["code"] == "sequence"
    # a call naming a device it may not drive is answered, not executed
    s.send({"type": "call", "ts": 0, "calls": [["htr_battery", "set_on", [True], {}]]})
    entry = s.recv(time.monotonic() + 10)["results"][0]
    assert entry["err"] == "DeviceCommandError"
    s.send_raw(struct.pack(">I", 0x7FFFFFFF))  # oversized: answered, then the link closes
    assert s.recv(time.monotonic() + 10)["code"] == "oversized"
    with pytest.raises(ConnectionResetError):
        s.recv(time.monotonic() + 10)
    s.close()
    backend = open_backend("hil", rig=rig.address)
    try:
        stats = backend.rig_summary()["stats"]
        assert stats["rejected"] == 3
        assert stats["rejected_by_code"] == {"malformed": 1, "sequence": 1, "oversized": 1}
        heater = backend.create(
            "heater", "htr_battery", load_config(None)["devices"]["htr_battery"]
        )
        assert not heater.read().on  # the refused command changed nothing
    finally:
        backend.close()


def test_control_channel_injects_lists_and_clears_mid_run(
    start_rig: Callable[..., RigProcess],
) -> None:
    rig = start_rig()
    config = load_config(None)
    backend = open_backend("hil", rig=rig.address, seed=1)
    try:
        imu = backend.create("imu", "imu", config["devices"]["imu"])
        assert isinstance(backend, LockstepHilBackend)
        backend.advance(1_000_000_000)
        assert imu.read().valid
        with RigControl(rig.address) as ctl:
            ctl.inject("imu", "sensor_dropout", duration_s=5.0)
            assert [(f["target"], f["kind"], f["source"]) for f in ctl.list()] == [
                ("imu", "sensor_dropout", "control")
            ]
            assert not imu.read().valid
            assert ctl.clear("imu", "sensor_dropout") == 1 and ctl.list() == []
            assert imu.read().valid
            ctl.inject("imu", "sensor_dropout", duration_s=5.0)
            backend.advance(5_000_000_000)  # cleared by world time
            assert imu.read().valid and ctl.list() == []
            with pytest.raises(Exception, match="unknown target"):
                ctl.inject("nope", "sensor_dropout")
    finally:
        backend.close()
