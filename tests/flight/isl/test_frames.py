"""Link frames and ACK coding against an independent CRC-32C (crcmod) and round trips."""

from __future__ import annotations

import crcmod.predefined
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flight.isl import FRAME_OVERHEAD_BYTES, FrameKind, LinkFrame, decode_frame, encode_frame
from flight.isl._frames import pack_ack, unpack_ack
from native.errors import CrcError, WireError

_CRC32C = crcmod.predefined.mkCrcFun("crc-32c")
u32 = st.integers(0, 2**32 - 1)
frames = st.builds(
    LinkFrame,
    st.sampled_from(FrameKind),
    st.integers(0, 0xFFFF),
    u32,
    u32,
    u32,
    u32,
    st.binary(max_size=300),
)


@given(frames)
def test_round_trip_and_crc_matches_crcmod(frame: LinkFrame) -> None:
    raw = encode_frame(frame)
    assert len(raw) == len(frame.payload) + FRAME_OVERHEAD_BYTES
    assert int.from_bytes(raw[-4:], "big") == _CRC32C(raw[:-4])
    assert decode_frame(raw) == frame


@given(frames, st.data())
def test_any_single_bit_flip_is_detected(frame: LinkFrame, data: st.DataObject) -> None:
    raw = bytearray(encode_frame(frame))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit >> 3] ^= 1 << (bit & 7)
    with pytest.raises(CrcError):
        decode_frame(bytes(raw))


def test_short_and_unknown_kind_are_typed_errors() -> None:
    with pytest.raises(WireError):
        decode_frame(b"\x01\x02")
    raw = bytearray(encode_frame(LinkFrame(FrameKind.DATA, 0, 1, 2, 3, 4, b"x")))
    raw[1] = 9
    body = bytes(raw[:-4])
    with pytest.raises(WireError, match="kind"):
        decode_frame(body + _CRC32C(body).to_bytes(4, "big"))
    with pytest.raises(ValueError):
        encode_frame(LinkFrame(FrameKind.DATA, 0, 1, 2, 3, 2**32, b""))


@given(st.integers(0, 2**40), st.sets(st.integers(1, 2000), max_size=64))
def test_ack_bitmap_round_trip(cum: int, offsets: set[int]) -> None:
    wire_cum, got = unpack_ack(pack_ack(cum, [cum + k for k in offsets]))
    assert wire_cum == cum % 2**32
    assert got == sorted(offsets)
