"""TC transfer frames (232.0) and TM transfer frames (132.0).

TM frames are held against ``spacepackets.ccsds.tm_frame`` (its frame support). spacepackets
0.32 has no TC transfer frame (only USLP), so TC frames are held against a bit-level decoder
written here from the standard."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacepackets.ccsds.tm_frame import TmTransferFrame

from flight.tmtc import (
    FrameReason,
    Reassembler,
    TmDeframer,
    TmFramer,
    WireError,
    pack_tc_frame,
    pack_tm,
    segment,
    unpack_tc_frame,
)
from tests.flight.security._helpers import crc16_ccitt


@given(
    st.integers(0, 1023),
    st.integers(0, 63),
    st.integers(0, 255),
    st.binary(min_size=1, max_size=1000),
)
def test_tc_frame_bits_match_the_standard(scid: int, vcid: int, seq: int, data: bytes) -> None:
    frame = pack_tc_frame(scid, vcid, seq, data)
    bits = int.from_bytes(frame[:5], "big")
    assert bits >> 38 == 0  # version
    assert (bits >> 37) & 1 == 1 and (bits >> 36) & 1 == 0  # bypass (Type-B), data frame
    assert (bits >> 34) & 3 == 0  # spare
    assert (bits >> 24) & 0x3FF == scid
    assert (bits >> 18) & 0x3F == vcid
    assert (bits >> 8) & 0x3FF == len(frame) - 1
    assert bits & 0xFF == seq
    assert crc16_ccitt(frame[:-2]) == int.from_bytes(frame[-2:], "big")
    got = unpack_tc_frame(frame, scid=scid)
    assert (got.scid, got.vcid, got.seq, got.data) == (scid, vcid, seq, data)


def test_tc_frame_rejections() -> None:
    frame = pack_tc_frame(42, 0, 1, b"\xc0hello")
    cases = {
        FrameReason.TRUNCATED: frame[:4],
        FrameReason.LENGTH_MISMATCH: frame + b"\x00",
        FrameReason.FECF: frame[:-1] + bytes([frame[-1] ^ 1]),
        FrameReason.WRONG_SCID: pack_tc_frame(43, 0, 1, b"\xc0hello"),
        FrameReason.BAD_HEADER: pack_tc_frame(42, 0, 1, b"\xc0", control=True),
    }
    for reason, raw in cases.items():
        with pytest.raises(WireError) as err:
            unpack_tc_frame(raw, scid=42)
        assert err.value.reason == reason


@given(st.binary(min_size=1, max_size=5000), st.integers(1, 300))
def test_segmentation_round_trip(packet: bytes, size: int) -> None:
    r = Reassembler(8192)
    segs = segment(packet, size, map_id=3)
    assert all(len(s) <= size + 1 for s in segs)
    out = [r.feed(s) for s in segs]
    assert out[-1] == packet and all(o is None for o in out[:-1])


def test_reassembly_errors_drop_the_partial_packet() -> None:
    r = Reassembler(100)
    first, middle, _last = segment(b"x" * 30, 10)
    with pytest.raises(WireError):
        r.feed(middle)  # no first segment
    r.feed(first)
    with pytest.raises(WireError):
        r.feed(first)  # a first segment while one is in progress
    assert r.in_progress == 0
    with pytest.raises(WireError):
        for s in segment(b"y" * 300, 10):
            r.feed(s)  # beyond max_packet_len


def test_tm_frames_decode_with_spacepackets() -> None:
    frames: list[bytes] = []
    framer = TmFramer(42, 3, frames.append, 256)
    rng = random.Random(5)
    packets = [pack_tm(100, i, 3, 25, i, 0, bytes(6), rng.randbytes(rng.randrange(0, 600)))
               for i in range(40)]  # fmt: skip
    for p in packets:
        framer.push(p)
    framer.flush()
    stream = b""
    for i, f in enumerate(frames):
        theirs = TmTransferFrame.unpack(f, 256, True)  # checks the FECF itself
        head = theirs.primary_header
        assert head.master_channel_id.spacecraft_id == 42 and head.vc_id == 3
        assert head.vc_frame_count == i & 0xFF
        fhp = head.frame_datafield_status.first_header_pointer
        if fhp != 0x7FF:
            assert theirs.data_field[fhp : fhp + 2] in {p[:2] for p in packets} | {b"\x07\xff"}
        stream += theirs.data_field
    ours = TmDeframer(256)
    got = [p for f in frames for p in ours.feed(f)]
    assert got == packets
    assert stream.startswith(b"".join(packets))


def test_tm_deframer_resyncs_after_a_lost_frame() -> None:
    frames: list[bytes] = []
    framer = TmFramer(1, 0, frames.append, 128)
    packets = [pack_tm(5, i, 3, 25, i, 0, b"", bytes(50)) for i in range(30)]
    for p in packets:
        framer.push(p)
    framer.flush()
    d = TmDeframer(128)
    got = [p for i, f in enumerate(frames) if i != 3 for p in d.feed(f)]
    assert d.lost_frames == 1
    assert set(got) <= set(packets) and len(got) >= len(packets) - 4
