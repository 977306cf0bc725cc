"""The UDP ground link on loopback: TCs in, every TM out, through a whole node."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from spacepackets.ecss import PusTc, PusTm

from flight.core import NS_PER_S
from flight.node import Node, NodeOptions
from flight.testing import node_config
from flight.tmtc import parse_host_port


def test_parse_host_port() -> None:
    import pytest

    from native.errors import ConfigError

    assert parse_host_port("127.0.0.1:10026") == ("127.0.0.1", 10026)
    for bad in ("nohost", ":1", "h:0", "h:70000", "h:x"):
        with pytest.raises(ConfigError):
            parse_host_port(bad)


def test_tc_over_udp_executes_and_tm_comes_back(tmp_path: Path) -> None:
    ground = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ground.bind(("127.0.0.1", 0))
    ground.settimeout(2.0)
    port = ground.getsockname()[1]
    # Bare packets on the uplink: only with security explicitly off (no key store needed).
    cfg = node_config(apps=["security"], overrides={"security": {"required": False, "storage": ""}})
    for section in ("hal", "devices", "world"):
        cfg.pop(section, None)  # the link alone: no world needed
    try:
        node = Node(cfg, NodeOptions(out_dir=tmp_path, uplink_port=0, downlink=f"127.0.0.1:{port}"))
    except BaseException:
        ground.close()
        raise
    try:
        assert node.link is not None
        uplink = node.link.uplink_address
        apid = node.tmtc.apid
        ping = PusTc(service=17, message_subtype=1, apid=apid, seq_count=42)
        ground.sendto(ping.pack(), uplink)
        ground.sendto(b"\x00garbage", uplink)
        node.executive.run_for(NS_PER_S)
        got = []
        while True:
            try:
                got.append(ground.recv(65536))
            except TimeoutError:
                break
            ground.settimeout(0.2)
        tms = [PusTm.unpack(p, timestamp_len=node.tmtc.time_code.length) for p in got]
        kinds = [(t.service, t.message_subtype) for t in tms]
        assert (17, 2) in kinds and (1, 7) in kinds
        ack = next(t for t in tms if (t.service, t.message_subtype) == (1, 1))
        assert ack.source_data == ping.pack()[:4]
        # the garbage datagram never reaches the PUS layer: the security gate rejects it
        assert node.tmtc.hk.tc_rejected == 0
        assert node.apps["security"].component.hk.rej_frame == 1
        # every TM sent on the link is also in the archive, byte for byte
        node.archive.close()
        archived = (tmp_path / "tm.bin").read_bytes()
        for p in got:
            assert p in archived
        assert struct.unpack(">H", ack.source_data[:2])[0] & 0x7FF == apid
    finally:
        node.close()
        ground.close()


def test_without_a_security_decision_the_uplink_refuses_everything(tmp_path: Path) -> None:
    cfg = node_config(apps=[])
    for section in ("hal", "devices", "world"):
        cfg.pop(section, None)
    node = Node(cfg, NodeOptions(out_dir=tmp_path, uplink_port=0, downlink="127.0.0.1:9"))
    ground = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert node.link is not None
        ping = PusTc(service=17, message_subtype=1, apid=node.tmtc.apid, seq_count=1)
        ground.sendto(ping.pack(), node.link.uplink_address)
        node.executive.run_for(NS_PER_S)
        assert node.link.refused == 1
        assert node.tmtc.hk.tc_received == 0
    finally:
        node.close()
        ground.close()
