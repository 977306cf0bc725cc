"""PUS-C TM/TC codec against spacepackets 0.32 (the independent decoder/encoder), both ways."""

from __future__ import annotations

import binascii
import copy
import dataclasses
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacepackets.ccsds.spacepacket import PacketType as SpPacketType
from spacepackets.ccsds.spacepacket import SequenceFlags as SpSequenceFlags
from spacepackets.ecss import PusTc, PusTm
from spacepackets.ecss.tm import MiscParams

from flight.tmtc import (
    CDS_SHORT,
    CrcError,
    TcHeader,
    TcPacket,
    TmPacket,
    WireError,
    WireReason,
    pack_tc,
    pack_tm,
    peek_tc_header,
    unpack_tc,
    unpack_tm,
)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
tm_packets = st.builds(
    TmPacket,
    apid=st.integers(0, 0x7FF),
    seq_count=st.integers(0, 0x3FFF),
    service=u8,
    subtype=u8,
    msg_counter=u16,
    dest_id=u16,
    time=st.binary(max_size=12),
    data=st.binary(max_size=200),
    time_ref=st.integers(0, 15),
)
tc_packets = st.builds(
    TcPacket,
    apid=st.integers(0, 0x7FF),
    seq_count=st.integers(0, 0x3FFF),
    service=u8,
    subtype=u8,
    ack_flags=st.integers(0, 15),
    source_id=u16,
    data=st.binary(max_size=200),
)


def their_tm(p: TmPacket) -> PusTm:
    return PusTm(
        service=p.service,
        message_subtype=p.subtype,
        timestamp=p.time,
        source_data=p.data,
        apid=p.apid,
        seq_count=p.seq_count,
        message_counter=p.msg_counter,
        destination_id=p.dest_id,
        misc_params=MiscParams(spacecraft_time_ref=p.time_ref),
    )


def their_tc(p: TcPacket) -> PusTc:
    return PusTc(
        service=p.service,
        message_subtype=p.subtype,
        apid=p.apid,
        app_data=p.data,
        seq_count=p.seq_count,
        source_id=p.source_id,
        ack_flags=p.ack_flags,
    )


def assert_same_tm(ours: TmPacket, theirs: PusTm) -> None:
    hdr = theirs.pus_tm_sec_header
    assert theirs.sp_header.packet_type == SpPacketType.TM
    assert theirs.sp_header.sec_header_flag
    assert theirs.sp_header.ccsds_version == 0
    assert theirs.seq_flags == SpSequenceFlags.UNSEGMENTED
    assert (ours.apid, ours.seq_count) == (theirs.apid, theirs.seq_count)
    assert (ours.service, ours.subtype) == (theirs.service, theirs.message_subtype)
    assert (ours.msg_counter, ours.dest_id) == (hdr.message_counter, hdr.dest_id)
    assert ours.time_ref == hdr.spacecraft_time_ref
    assert hdr.pus_version == 2
    assert ours.time == theirs.timestamp
    assert ours.data == theirs.source_data


def assert_same_tc(ours: TcPacket, theirs: PusTc) -> None:
    hdr = theirs.pus_tc_sec_header
    assert theirs.sp_header.packet_type == SpPacketType.TC
    assert theirs.sp_header.sec_header_flag
    assert theirs.seq_flags == SpSequenceFlags.UNSEGMENTED
    assert (ours.apid, ours.seq_count) == (theirs.apid, theirs.seq_count)
    assert (ours.service, ours.subtype) == (theirs.service, theirs.message_subtype)
    assert (ours.ack_flags, ours.source_id) == (hdr.ack_flags, hdr.source_id)
    assert hdr.pus_version == 2
    assert ours.data == theirs.app_data


@settings(deadline=None, max_examples=150)
@given(tm_packets)
def test_tm_ours_to_spacepackets(p: TmPacket) -> None:
    raw = p.pack()
    assert pack_tm(
        p.apid, p.seq_count, p.service, p.subtype, p.msg_counter, p.dest_id, p.time, p.data,
        p.time_ref,
    ) == raw  # fmt: skip
    theirs = PusTm.unpack(raw, timestamp_len=len(p.time))  # verifies the CRC too
    assert_same_tm(p, theirs)
    assert binascii.crc_hqx(raw, 0xFFFF) == 0
    assert int.from_bytes(raw[-2:], "big") == binascii.crc_hqx(raw[:-2], 0xFFFF)


@settings(deadline=None, max_examples=150)
@given(tm_packets)
def test_tm_spacepackets_to_ours(p: TmPacket) -> None:
    raw = bytes(their_tm(p).pack())
    ours = unpack_tm(raw, len(p.time))
    assert ours == p
    assert type(ours) is TmPacket
    assert ours.pack() == raw
    assert unpack_tm(bytearray(raw), len(p.time)) == p
    assert unpack_tm(memoryview(raw), len(p.time)) == p


@settings(deadline=None, max_examples=150)
@given(tc_packets)
def test_tc_ours_to_spacepackets(p: TcPacket) -> None:
    raw = p.pack()
    assert (
        pack_tc(p.apid, p.seq_count, p.service, p.subtype, p.ack_flags, p.source_id, p.data) == raw
    )
    assert_same_tc(p, PusTc.unpack(raw))
    assert binascii.crc_hqx(raw, 0xFFFF) == 0


@settings(deadline=None, max_examples=150)
@given(tc_packets)
def test_tc_spacepackets_to_ours(p: TcPacket) -> None:
    theirs = their_tc(p)
    raw = bytes(theirs.pack())
    ours = unpack_tc(raw)
    assert ours == p
    assert type(ours) is TcPacket
    assert ours.pack() == raw
    peek = peek_tc_header(raw)
    assert peek == TcHeader(p.apid, p.seq_count, p.service, p.subtype, p.ack_flags, p.request_id)
    assert p.request_id == int.from_bytes(raw[:4], "big")


def test_golden_vectors_from_spacepackets_docs() -> None:
    # spacepackets' PusTc docstring: ping TC(17,1), APID 1, count 22.
    assert (
        pack_tc(0x01, 22, 17, 1, 0xF, 0, b"").hex(",") == "18,01,c0,16,00,06,2f,11,01,00,00,ab,62"
    )
    # spacepackets' PusTm docstring: TM(17,2), APID 1, count 5, CDS short time (cut with PEC).
    raw = pack_tm(0x01, 5, 17, 2, 0, 0, CDS_SHORT.encode(0), b"")
    assert raw[:-9].hex(",") == "08,01,c0,05,00,0f,20,11,02,00,00,00,00"


def test_decoded_packets_are_frozen_value_objects() -> None:
    raw = pack_tm(5, 6, 3, 25, 7, 8, b"\x01\x02", b"hk")
    p = unpack_tm(raw, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.apid = 1  # type: ignore[misc]
    assert hash(p) == hash(TmPacket(5, 6, 3, 25, 7, 8, b"\x01\x02", b"hk"))
    assert dataclasses.replace(p, apid=9).apid == 9
    assert not hasattr(p, "__dict__")
    assert pickle.loads(pickle.dumps(p)) == p
    assert copy.copy(p) == p
    tc = unpack_tc(pack_tc(5, 6, 17, 1, 0b1001, 3, b"x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        tc.data = b""  # type: ignore[misc]


def _tm(**kw: object) -> bytes:
    fields: dict[str, Any] = {"apid": 1, "seq_count": 2, "service": 3, "subtype": 25}
    fields |= {"msg_counter": 4, "dest_id": 5, "time_bytes": b"\0" * 7, "data": b"abc"} | kw
    return pack_tm(**fields)


def _refcrc(body: bytes) -> bytes:
    return body + binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")


def _edit(raw: bytes, index: int, value: int) -> bytes:
    """Change one octet and recompute the PEC, so the field check (not the CRC) must fire."""
    b = bytearray(raw[:-2])
    b[index] = value
    return _refcrc(bytes(b))


@pytest.mark.parametrize(
    ("buf", "reason"),
    [
        (b"", "truncated"),
        (b"\x08\x01\xc0", "truncated"),
        (_tm()[:-1], "truncated"),
        (_tm() + b"\0", "length_mismatch"),
        (_refcrc(bytes.fromhex("0801c0020002") + b"\x20"), "length_mismatch"),
        (_edit(_tm(), 0, 0x28), "bad_version"),
        (_edit(_tm(), 0, 0x18), "bad_type"),
        (_edit(_tm(), 0, 0x00), "no_secondary_header"),
        (_edit(_tm(), 2, 0x40), "bad_seq_flags"),
        (_edit(_tm(), 6, 0x10), "bad_pus_version"),
        (_tm()[:-1] + bytes([_tm()[-1] ^ 1]), "crc"),
    ],
)
def test_tm_rejections(buf: bytes, reason: str) -> None:
    with pytest.raises(WireError) as info:
        unpack_tm(buf, 7)
    assert info.value.reason == reason
    assert isinstance(info.value, CrcError) == (reason == "crc")


def test_oversized_and_max_len() -> None:
    raw = _tm(data=b"x" * 100)
    assert unpack_tm(raw, 7, max_len=len(raw)).data == b"x" * 100
    with pytest.raises(WireError) as info:
        unpack_tm(raw, 7, max_len=len(raw) - 1)
    assert info.value.reason == WireReason.OVERSIZED
    with pytest.raises(WireError) as info:
        _tm(data=b"x" * 5000)
    assert info.value.reason == "oversized"
    big = _tm(data=b"x" * 5000, max_len=65542)
    assert unpack_tm(big, 7, max_len=65542).data == b"x" * 5000
    with pytest.raises(WireError) as info:
        _tm(data=b"x" * 65530, max_len=1 << 20)
    assert info.value.reason == "oversized"
    with pytest.raises(WireError) as info:
        pack_tc(1, 1, 17, 1, 15, 0, b"y" * 1000, max_len=512)
    assert info.value.reason == "oversized"


@pytest.mark.parametrize(
    "kw",
    [
        {"apid": 0x800},
        {"apid": -1},
        {"seq_count": 0x4000},
        {"service": 256},
        {"subtype": -1},
        {"msg_counter": 0x10000},
        {"dest_id": -5},
        {"time_ref": 16},
    ],
)
def test_tm_field_range(kw: dict[str, int]) -> None:
    with pytest.raises(WireError) as info:
        _tm(**kw)
    assert info.value.reason == WireReason.FIELD_RANGE


@pytest.mark.parametrize(
    "kw",
    [
        {"apid": 0x800},
        {"seq_count": -1},
        {"service": 300},
        {"ack_flags": 16},
        {"source_id": 1 << 16},
    ],
)
def test_tc_field_range(kw: dict[str, int]) -> None:
    fields: dict[str, Any] = {"apid": 1, "seq_count": 1, "service": 17, "subtype": 1}
    fields |= {"ack_flags": 15, "source_id": 0, "data": b""} | kw
    with pytest.raises(WireError) as info:
        pack_tc(**fields)
    assert info.value.reason == "field_range"


def test_tc_rejections_and_peek() -> None:
    good = pack_tc(0x55, 77, 8, 1, 0b1001, 9, b"args")
    tm = _tm()
    with pytest.raises(WireError) as info:
        unpack_tc(tm)
    assert info.value.reason == "bad_type"
    assert peek_tc_header(tm) is None
    # Corrupted PEC: decode refuses, but the header still addresses a PUS-1 failure report.
    bad = good[:-1] + bytes([good[-1] ^ 0xFF])
    with pytest.raises(CrcError):
        unpack_tc(bad)
    assert peek_tc_header(bad) == (0x55, 77, 8, 1, 0b1001, int.from_bytes(good[:4], "big"))
    wrong_pus = _edit(good, 6, 0x19)
    with pytest.raises(WireError) as info:
        unpack_tc(wrong_pus)
    assert info.value.reason == "bad_pus_version"
    assert peek_tc_header(wrong_pus) is not None
    assert peek_tc_header(good[:10]) is None
    with pytest.raises(WireError) as info:
        unpack_tc(good[:12])
    assert info.value.reason == "truncated"


def test_negative_time_len_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="time_len") as info:
        unpack_tm(_tm(), -1)
    assert not isinstance(info.value, WireError)
