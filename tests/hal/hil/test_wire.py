"""The HIL wire schema (protocol version 3): framing, the value codec against independent
oracles (struct, the MessagePack byte layout of the spec, msgpack's plain decoding that
leaves extension types undecoded), rejection of malformed messages, and the receiver's
allocation limits."""

from __future__ import annotations

import dataclasses
import math
import struct
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hal import Family
from hal.accelerator import JobResult, PowerMode
from hal.hil import (
    EXT_ENUM,
    EXT_LIST,
    EXT_NDARRAY,
    EXT_RECORD,
    EXT_TYPED_TUPLE,
    FAMILY_METHODS,
    FAMILY_PROPERTIES,
    HEADER_LEN,
    MAX_ARRAY_ITEMS,
    MAX_EXT_DEPTH,
    MAX_MAP_PAIRS,
    PROTOCOL_VERSION,
    MessageType,
    RigProtocolError,
    Stream,
    check_message,
    decode_frame,
    decode_value,
    encode_frame,
    encode_value,
    legacy_version_hint,
)
from hal.imager import ImageTiles
from hal.power import CellStatus, PduReading, RailStatus
from hal.sensors import GnssFix, GnssReading, ImuReading, TemperatureChannel, TemperatureReading
from native.errors import DeviceCommandError


def roundtrip(value: Any) -> Any:
    return decode_value(msgpack.packb(encode_value(value)))


def plain(value: Any) -> Any:
    """The oracle: msgpack's own decoding of what the codec sends, extension types left as
    ``ExtType(code, payload)``."""
    return msgpack.unpackb(msgpack.packb(encode_value(value)), use_list=False)


def ext_payload(ext: Any) -> Any:
    return msgpack.unpackb(ext.data, use_list=False)


def test_version_3_is_messagepack() -> None:
    assert PROTOCOL_VERSION == 3


def test_every_family_has_methods_and_properties() -> None:
    assert set(FAMILY_METHODS) == set(Family) == set(FAMILY_PROPERTIES)


def test_frame_is_a_big_endian_length_then_plain_messagepack() -> None:
    msg = {"type": "bye", "seq": 7, "ts": 123}
    frame = encode_frame(msg)
    (n,) = struct.unpack(">I", frame[:HEADER_LEN])
    assert n == len(frame) - HEADER_LEN
    # the spec's byte layout: a fixmap of 3 pairs, fixstr keys, positive fixints
    assert frame[HEADER_LEN] == 0x83
    assert msgpack.unpackb(frame[HEADER_LEN:]) == msg  # any MessagePack decoder reads it
    assert decode_frame(frame[HEADER_LEN:]) == msg


def test_floats_are_float64_with_nan_and_infinities() -> None:
    r = ImuReading(5, False, (math.nan, math.inf, -math.inf))
    enc = plain(r)
    body = ext_payload(enc)
    assert enc.code == EXT_RECORD and body[0] == "ImuReading"
    raw = msgpack.packb(body[1][2])
    # an array of 3, then three float64 (0xcb) big-endian IEEE 754 doubles
    assert raw == b"\x93" + b"".join(b"\xcb" + struct.pack(">d", x) for x in body[1][2])
    out = roundtrip(r)
    assert math.isnan(out.rate_rad_s[0]) and out.rate_rad_s[1:] == (math.inf, -math.inf)


def test_readings_round_trip_exactly() -> None:
    nan3 = (math.nan, math.nan, math.nan)
    g = GnssReading(5, False, GnssFix.NONE, 0, nan3, nan3, 0)
    out = roundtrip(g)
    assert type(out) is GnssReading and out.fix is GnssFix.NONE and out.t_ns == 5
    assert all(math.isnan(x) for x in out.position_ecef_m) and isinstance(
        out.position_ecef_m, tuple
    )
    t = TemperatureReading(9, True, (TemperatureChannel("bat", 21.25, True),))
    assert roundtrip(t) == t
    p = PduReading(1, True, (RailStatus("comms", True, False, 0.5),))
    assert roundtrip(p) == p
    assert roundtrip(CellStatus.FAILED) is CellStatus.FAILED
    assert roundtrip(PowerMode.HIGH) is PowerMode.HIGH  # a StrEnum stays an enum member


def test_enums_are_an_extension_holding_name_and_value() -> None:
    enc = plain(GnssFix.FIX_3D)
    assert enc.code == EXT_ENUM and ext_payload(enc) == ("GnssFix", 3)
    assert ext_payload(plain(PowerMode.HIGH)) == ("PowerMode", "HIGH")
    # another encoder's integer width (uint16 for 3) is still read
    other = msgpack.ExtType(EXT_ENUM, b"\x92\xa7GnssFix\xcd\x00\x03")
    assert decode_value(msgpack.packb(other)) is GnssFix.FIX_3D


def test_lists_and_tuples_stay_apart() -> None:
    assert plain([1, 2]).code == EXT_LIST
    assert plain((1, 2)) == (1, 2)  # a tuple is a plain array
    out = roundtrip({"a": [1, (2, 3)], "b": (4, [5])})
    assert out == {"a": [1, (2, 3)], "b": (4, [5])}
    assert type(out["a"]) is list and type(out["a"][1]) is tuple and type(out["b"][1]) is list


def test_arrays_are_an_extension_with_dtype_shape_and_little_endian_bytes() -> None:
    a = np.array([[1.5, -2.0]], dtype=np.float32)
    enc = plain(a)
    assert enc.code == EXT_NDARRAY
    assert ext_payload(enc) == ("float32", (1, 2), struct.pack("<2f", 1.5, -2.0))
    out = roundtrip(a)
    assert out.dtype == np.float32 and out.shape == (1, 2) and np.array_equal(out, a)
    assert out.flags.writeable
    b = roundtrip(np.array([True, False]))
    assert b.dtype == np.bool_ and b.tolist() == [True, False]
    big = np.arange(3, dtype=">i4")  # a big-endian array crosses as little-endian bytes
    assert ext_payload(plain(big))[2] == struct.pack("<3i", 0, 1, 2)
    assert np.array_equal(roundtrip(big), big)


def test_image_tiles_arrive_read_only_as_from_the_device() -> None:
    bands = np.zeros((1, 3, 2, 2), dtype=np.float32)
    out = roundtrip(ImageTiles(1, True, 4, 0, bands))
    assert out.bands.shape == (1, 3, 2, 2) and not out.bands.flags.writeable


def test_job_outputs_keep_tuples_and_arrays() -> None:
    mask = np.arange(4, dtype=np.uint8)
    j = JobResult(1, "process_tiles", (mask, np.zeros(0, np.float32)), 1.0, 2.0, 3.0, 1, 2, 3)
    out = roundtrip(j)
    assert isinstance(out.outputs, tuple) and np.array_equal(out.outputs[0], mask)


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**64 - 1)
        | st.floats(allow_nan=False)
        | st.text(max_size=20)
        | st.binary(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.lists(inner, max_size=4).map(tuple)
            | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_plain_values_round_trip(value: Any) -> None:
    out = roundtrip(value)
    assert out == value

    def types(v: Any) -> Any:  # list and tuple compare equal only to their own kind
        if isinstance(v, (list, tuple)):
            return (type(v), [types(x) for x in v])
        if isinstance(v, dict):
            return {k: types(x) for k, x in v.items()}
        return type(v)

    assert types(out) == types(value)


def _msg(**extra: Any) -> bytes:
    out: bytes = msgpack.packb({"type": "bye", "seq": 1, "ts": 0, **extra})
    return out


def _ext(code: int, payload: Any) -> msgpack.ExtType:
    return msgpack.ExtType(code, msgpack.packb(payload))


@pytest.mark.parametrize(
    "body",
    [
        b"\xc1",  # never used in MessagePack
        b"\xff\xfe\xfd",  # an integer, then bytes after the item
        msgpack.packb([1, 2]),  # not a map
        msgpack.packb({"type": "nope", "seq": 1, "ts": 0}),
        msgpack.packb({"type": "call", "seq": 1, "ts": 0}),  # calls missing
        msgpack.packb({"type": "call", "seq": 0, "ts": 0, "calls": []}),  # seq < 1
        msgpack.packb({"type": "call", "seq": 1, "ts": 0, "calls": [["x", "read"]]}),
        msgpack.packb({"type": "call", "seq": True, "ts": 0, "calls": []}),  # bool is no int
        msgpack.packb({"type": ["call"], "seq": 1, "ts": 0, "calls": []}),  # unhashable type
        msgpack.packb({1: "bye", "seq": 1, "ts": 0}),  # a map key that is not text
        _msg(x=_ext(EXT_RECORD, ["os.system", []])),
        _msg(x=msgpack.ExtType(99, b"")),  # unknown extension type
        _msg(x=_ext(EXT_RECORD, ["GnssReading", [1]])),  # positional fields, all of them
        _msg(x=_ext(EXT_RECORD, ["GnssReading", {"t_ns": 1}])),  # version 1's map form
        _msg(x=_ext(EXT_ENUM, ["CellStatus", 99])),  # a value the enum does not have
        _msg(x=_ext(EXT_ENUM, ["CellStatus", [1]])),  # an unhashable value
        _msg(x=_ext(EXT_ENUM, ["os", 1])),
        _msg(x=_ext(EXT_NDARRAY, ["float32", [3], b"\0" * 4])),  # size vs shape
        _msg(x=_ext(EXT_NDARRAY, ["object", [1], b"\0" * 8])),
        _msg(x=_ext(EXT_NDARRAY, ["uint8", [-1], b""])),
        _msg(x=_ext(EXT_LIST, {"a": 1})),
        _msg(x=msgpack.ExtType(EXT_RECORD, b"\x92\xa3abc")),  # a payload cut short
        b"\x81\xa4type\xa3\xff\xfe\xfd",  # text that is not UTF-8
    ],
)
def test_malformed_messages_are_typed_errors(body: bytes) -> None:
    with pytest.raises(RigProtocolError):
        decode_frame(body)


@pytest.mark.parametrize(
    "body",
    [
        b"\xdd\xff\xff\xff\xff",  # an array announcing 2**32 - 1 items
        b"\xdf\xff\xff\xff\xff",  # a map announcing 2**32 - 1 pairs
        b"\xdc\x10\x01" * 1000,  # nested arrays each announcing MAX_ARRAY_ITEMS + 1
        b"\xdb\xff\xff\xff\xff",  # a string announcing 4 GiB
        b"\xc6\xff\xff\xff\xff",  # bytes announcing 4 GiB
        b"\xc9\xff\xff\xff\xff\x01",  # an extension announcing 4 GiB
        b"\x91" * 2000 + b"\xc0",  # nested deeper than the decoder's stack
    ],
)
def test_announced_sizes_beyond_the_limits_are_refused_before_allocation(body: bytes) -> None:
    with pytest.raises(RigProtocolError):
        decode_value(body)


def test_containers_up_to_the_limits_are_accepted() -> None:
    items = tuple(range(MAX_ARRAY_ITEMS))
    assert decode_value(msgpack.packb(items)) == items
    pairs = {str(i): i for i in range(MAX_MAP_PAIRS)}
    assert decode_value(msgpack.packb(pairs)) == pairs
    with pytest.raises(RigProtocolError):
        decode_value(msgpack.packb((*items, 0)))
    with pytest.raises(RigProtocolError):
        decode_value(msgpack.packb({**pairs, "x": 0}))


def test_extension_nesting_is_bounded() -> None:
    value: Any = 1
    for _ in range(MAX_EXT_DEPTH):
        value = [value]
    assert roundtrip(value) == value  # as deep as allowed
    with pytest.raises(RigProtocolError, match="nested deeper"):
        roundtrip([value])


def test_values_the_protocol_cannot_carry_are_refused() -> None:
    with pytest.raises(RigProtocolError):
        encode_value(lambda: 1)
    with pytest.raises(RigProtocolError):
        encode_value(np.array(["a"]))
    with pytest.raises(RigProtocolError):
        encode_value({1: "a"})  # map keys are text
    with pytest.raises(RigProtocolError):
        encode_value([2**64])  # beyond MessagePack's integers


def test_a_message_that_cannot_be_encoded_is_refused_before_sending() -> None:
    import socket

    srv = socket.create_server(("127.0.0.1", 0))
    a = socket.create_connection(srv.getsockname())
    b, _ = srv.accept()
    try:
        s = Stream(a)
        with pytest.raises(DeviceCommandError):
            s.send({"type": "bye", "ts": 2**70})
        assert s.seq == 0 and s.sent == 0 and s.bytes_sent == 0
    finally:
        for x in (a, b, srv):
            x.close()


def test_check_message_accepts_every_documented_type() -> None:
    for mtype in MessageType:
        assert isinstance(mtype.value, str)
    ok = {"type": "advance", "seq": 3, "ts": 1, "calls": [["gnss", "read", [], {}]], "to_ns": 10}
    assert check_message(ok) is ok
    decoded = decode_frame(msgpack.packb(ok))  # as received: arrays are tuples
    assert decoded["calls"] == (("gnss", "read", (), {}),)


def test_records_carry_their_fields_in_declaration_order() -> None:
    p = PduReading(1, True, (RailStatus("comms", True, False, 0.5),))
    enc = plain(p)
    name, fields = ext_payload(enc)
    assert enc.code == EXT_RECORD and name == "PduReading"
    assert len(fields) == len(dataclasses.fields(PduReading))
    assert fields[:2] == (1, True)
    (rail,) = fields[2]  # a plain array (tuple) of one RailStatus record
    assert rail.code == EXT_RECORD
    assert ext_payload(rail) == ("RailStatus", ("comms", True, False, 0.5))


def test_int_enums_of_different_types_keep_their_type() -> None:
    # IntEnum members of different enums compare equal as ints: each keeps its own class
    assert roundtrip(CellStatus(0)) is CellStatus(0)
    assert roundtrip(GnssFix(0)) is GnssFix(0)
    assert roundtrip((CellStatus(1), GnssFix(1))) == (CellStatus(1), GnssFix(1))
    assert type(roundtrip((CellStatus(1), GnssFix(1)))[1]) is GnssFix


def test_tuples_of_one_hal_type_travel_as_one_typed_tuple() -> None:
    cells = (CellStatus.OK, CellStatus.FAILED, CellStatus.OK)
    enc = plain(cells)
    assert enc.code == EXT_TYPED_TUPLE
    assert ext_payload(enc) == (
        "CellStatus",
        (CellStatus.OK.value, CellStatus.FAILED.value, CellStatus.OK.value),
    )
    out = roundtrip(cells)
    assert out == cells and all(type(c) is CellStatus for c in out)
    rails = (RailStatus("a", True, False, 0.5), RailStatus("b", False, True, 0.0))
    assert ext_payload(plain(rails)) == (
        "RailStatus",
        (("a", True, False, 0.5), ("b", False, True, 0.0)),
    )
    assert roundtrip(rails) == rails
    mixed = (CellStatus.OK, GnssFix.NONE)  # not one type: a plain array of enum extensions
    assert [e.code for e in plain(mixed)] == [EXT_ENUM, EXT_ENUM]
    assert roundtrip(mixed) == mixed


@pytest.mark.parametrize(
    "value",
    [
        ["CellStatus", [0, 99]],  # not a member
        ["NoSuchType", [0]],
        ["RailStatus", [["a", True]]],  # field count
        ["CellStatus"],
    ],
)
def test_malformed_typed_tuples_are_refused(value: Any) -> None:
    with pytest.raises(RigProtocolError):
        decode_value(msgpack.packb(_ext(EXT_TYPED_TUPLE, value)))


def test_a_version_2_body_is_recognised() -> None:
    # the CBOR (RFC 8949) encoding of the map {"type": "bye"}: 0xA1 = map of one pair,
    # 0x64 = text of 4 bytes, 0x63 = text of 3 bytes (RFC 8949 section 3.1)
    cbor_bye = b"\xa1\x64type\x63bye"
    assert "version 1 or 2" in (legacy_version_hint(cbor_bye) or "")
    assert legacy_version_hint(encode_frame({"type": "bye", "seq": 1, "ts": 0})[4:]) is None
    with pytest.raises(RigProtocolError):
        decode_frame(cbor_bye)
