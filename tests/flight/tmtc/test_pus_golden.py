"""PUS-C TM/TC packets byte for byte against packets that spacepackets 0.32.0 produced
(tests/data/pus_vectors.json; the generator and its command are named in SOURCES.md).

Unlike test_pus_interop (which runs the peer live), these vectors pin the wire format: a
change in either library shows here as a changed byte."""

from __future__ import annotations

from typing import Any

import pytest

from flight.tmtc import TcPacket, TmPacket, pack_tc, pack_tm, unpack_tc, unpack_tm
from tests.data import load

GOLDEN = load("pus_vectors.json")


@pytest.mark.parametrize("v", GOLDEN["tm"], ids=lambda v: f"tm{v['service']}.{v['subtype']}")
def test_tm_packets_match_the_peer(v: dict[str, Any]) -> None:
    time, data = bytes.fromhex(v["time"]), bytes.fromhex(v["data"])
    raw = pack_tm(
        v["apid"], v["seq_count"], v["service"], v["subtype"], v["msg_counter"], v["dest_id"],
        time, data, v["time_ref"],
    )  # fmt: skip
    assert raw.hex() == v["packet"]
    assert unpack_tm(bytes.fromhex(v["packet"]), time_len=len(time)) == TmPacket(
        v["apid"], v["seq_count"], v["service"], v["subtype"], v["msg_counter"], v["dest_id"],
        time, data, v["time_ref"],
    )  # fmt: skip


@pytest.mark.parametrize("v", GOLDEN["tc"], ids=lambda v: f"tc{v['service']}.{v['subtype']}")
def test_tc_packets_match_the_peer(v: dict[str, Any]) -> None:
    data = bytes.fromhex(v["data"])
    raw = pack_tc(
        v["apid"], v["seq_count"], v["service"], v["subtype"], v["ack_flags"], v["source_id"],
        data,
    )  # fmt: skip
    assert raw.hex() == v["packet"]
    assert unpack_tc(bytes.fromhex(v["packet"])) == TcPacket(
        v["apid"], v["seq_count"], v["service"], v["subtype"], v["ack_flags"], v["source_id"],
        data,
    )  # fmt: skip


def test_vectors_come_from_the_named_peer() -> None:
    assert GOLDEN["generator"] == "spacepackets 0.32.0"
    assert len(GOLDEN["tm"]) >= 4 and len(GOLDEN["tc"]) >= 3
