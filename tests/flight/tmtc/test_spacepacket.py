"""Space Packet primary header against spacepackets' SpacePacketHeader; stream splitting."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacepackets.ccsds.spacepacket import PacketType as SpPacketType
from spacepackets.ccsds.spacepacket import SequenceFlags as SpSequenceFlags
from spacepackets.ccsds.spacepacket import SpacePacketHeader

from flight.tmtc import (
    DEFAULT_MAX_PACKET_LEN,
    PacketType,
    PrimaryHeader,
    SeqFlags,
    WireError,
    WireReason,
    pack_primary_header,
    pack_tc,
    pack_tm,
    packet_length,
    split_packets,
    unpack_primary_header,
)

headers = st.builds(
    PrimaryHeader,
    packet_type=st.sampled_from(PacketType),
    sec_header=st.booleans(),
    apid=st.integers(0, 0x7FF),
    seq_flags=st.sampled_from(SeqFlags),
    seq_count=st.integers(0, 0x3FFF),
    data_len=st.integers(0, 0xFFFF),
)


@settings(deadline=None, max_examples=150)
@given(headers)
def test_primary_header_matches_spacepackets(h: PrimaryHeader) -> None:
    theirs = SpacePacketHeader(
        packet_type=SpPacketType(int(h.packet_type)),
        apid=h.apid,
        seq_count=h.seq_count,
        data_len=h.data_len,
        sec_header_flag=h.sec_header,
        seq_flags=SpSequenceFlags(int(h.seq_flags)),
    )
    raw = h.pack()
    assert raw == bytes(theirs.pack())
    back = unpack_primary_header(raw)
    assert back == h
    assert back.packet_len == theirs.packet_len == packet_length(raw)
    parsed = SpacePacketHeader.unpack(raw)
    assert (parsed.apid, parsed.seq_count, parsed.data_len) == (h.apid, h.seq_count, h.data_len)


def test_known_header_octets() -> None:
    # CCSDS 133.0-B-2 layout by hand: TC, secondary header, APID 0x42, unsegmented, count 22,
    # data length 6 -> 0x1842 0xC016 0x0006 (as in spacepackets' PusTc docstring).
    raw = pack_primary_header(PacketType.TC, True, 0x42, SeqFlags.UNSEGMENTED, 22, 6)
    assert raw == bytes.fromhex("1842c0160006")
    assert unpack_primary_header(b"\xe0\x00\x00\x00\x00\x00").version == 7


@pytest.mark.parametrize(
    "field",
    [
        {"apid": 0x800},
        {"apid": -1},
        {"seq_count": 0x4000},
        {"data_len": 0x10000},
        {"seq_flags": 4},
        {"packet_type": 2},
        {"version": 8},
    ],
)
def test_primary_header_field_range(field: dict[str, int]) -> None:
    args = {"packet_type": 0, "sec_header": True, "apid": 1, "seq_flags": 3, "seq_count": 0}
    args |= {"data_len": 0} | field
    with pytest.raises(WireError) as info:
        pack_primary_header(**args)  # type: ignore[arg-type]
    assert info.value.reason == WireReason.FIELD_RANGE


def test_truncated_header() -> None:
    with pytest.raises(WireError) as info:
        unpack_primary_header(b"\x08\x00\xc0")
    assert info.value.reason == "truncated"
    with pytest.raises(WireError):
        packet_length(b"\x08\x00\xc0\x00\x00\x00", offset=1)


def test_reason_enum_values_are_the_documented_strings() -> None:
    expected = {
        "truncated",
        "oversized",
        "length_mismatch",
        "crc",
        "bad_version",
        "bad_type",
        "no_secondary_header",
        "bad_seq_flags",
        "bad_pus_version",
        "bad_time_code",
        "field_range",
    }
    assert {r.value for r in WireReason} == expected
    assert all(isinstance(r, str) for r in WireReason)


packets = st.lists(
    st.one_of(
        st.builds(
            lambda apid, n, data: pack_tm(apid, n, 3, 25, n, 0, b"\x01" * 7, data),
            st.integers(0, 0x7FF),
            st.integers(0, 0x3FFF),
            st.binary(max_size=60),
        ),
        st.builds(
            lambda apid, n, data: pack_tc(apid, n, 17, 1, 0xF, 0, data),
            st.integers(0, 0x7FF),
            st.integers(0, 0x3FFF),
            st.binary(max_size=60),
        ),
    ),
    max_size=8,
)


@settings(deadline=None, max_examples=100)
@given(packets, st.lists(st.integers(0, 1000), max_size=6))
def test_split_packets_streaming(pkts: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(pkts)
    whole, rest = split_packets(stream)
    assert whole == pkts
    assert rest == b""
    # Feed the stream in arbitrary chunks, carrying the remainder: same packets come out.
    bounds = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    out: list[bytes] = []
    carry = b""
    for lo, hi in itertools.pairwise(bounds):
        got, carry = split_packets(bytearray(carry + stream[lo:hi]))
        out += got
    assert out == pkts
    assert carry == b""


def test_split_packets_remainder_and_corruption() -> None:
    a = pack_tm(1, 0, 3, 25, 0, 0, b"", b"x" * 10)
    got, rest = split_packets(a + a[:9])
    assert got == [a]
    assert rest == a[:9]
    with pytest.raises(WireError) as info:
        split_packets(a + b"\xe0" + a[1:])
    assert info.value.reason == "bad_version"
    assert f"offset {len(a)}" in str(info.value)
    huge = pack_primary_header(0, True, 1, 3, 0, DEFAULT_MAX_PACKET_LEN)
    with pytest.raises(WireError) as info:
        split_packets(a + huge)
    assert info.value.reason == "oversized"
    assert split_packets(memoryview(a))[0] == [a]
