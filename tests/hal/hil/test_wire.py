"""The HIL wire schema: framing, the value codec against independent oracles (struct, RFC 8746
byte layouts, cbor2's plain decoding), and rejection of malformed messages."""

from __future__ import annotations

import math
import struct
from typing import Any

import cbor2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hal import Family
from hal.accelerator import JobResult, PowerMode
from hal.hil import (
    FAMILY_METHODS,
    FAMILY_PROPERTIES,
    HEADER_LEN,
    TAG_RECORD,
    MessageType,
    RigProtocolError,
    check_message,
    decode_frame,
    decode_value,
    encode_frame,
    encode_value,
)
from hal.imager import ImageTiles
from hal.power import CellStatus, PduReading, RailStatus
from hal.sensors import GnssFix, GnssReading, TemperatureChannel, TemperatureReading


def roundtrip(value: Any) -> Any:
    return decode_value(cbor2.dumps(encode_value(value)))


def test_every_family_has_methods_and_properties() -> None:
    assert set(FAMILY_METHODS) == set(Family) == set(FAMILY_PROPERTIES)


def test_frame_is_a_big_endian_length_then_plain_cbor() -> None:
    msg = {"type": "bye", "seq": 7, "ts": 123}
    frame = encode_frame(msg)
    (n,) = struct.unpack(">I", frame[:HEADER_LEN])
    assert n == len(frame) - HEADER_LEN
    assert cbor2.loads(frame[HEADER_LEN:]) == msg  # any CBOR decoder reads the body
    assert decode_frame(frame[HEADER_LEN:]) == msg


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


def test_arrays_use_rfc8746_typed_arrays() -> None:
    a = np.array([[1.5, -2.0]], dtype=np.float32)
    enc = encode_value(a)
    assert enc.tag == 40 and enc.value[0] == [1, 2]
    # RFC 8746: tag 85 = float32 little endian, the raw bytes
    assert enc.value[1].tag == 85 and enc.value[1].value == struct.pack("<2f", 1.5, -2.0)
    out = roundtrip(a)
    assert out.dtype == np.float32 and out.shape == (1, 2) and np.array_equal(out, a)
    b = roundtrip(np.array([True, False]))
    assert b.dtype == np.bool_ and b.tolist() == [True, False]


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
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False)
        | st.text(max_size=20)
        | st.binary(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4).map(tuple)
            | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_plain_values_round_trip(value: Any) -> None:
    assert roundtrip(value) == value


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xff",  # not CBOR
        cbor2.dumps([1, 2]),  # not a map
        cbor2.dumps({"type": "nope", "seq": 1, "ts": 0}),
        cbor2.dumps({"type": "call", "seq": 1, "ts": 0}),  # calls missing
        cbor2.dumps({"type": "call", "seq": 0, "ts": 0, "calls": []}),  # seq < 1
        cbor2.dumps({"type": "call", "seq": 1, "ts": 0, "calls": [["x", "read"]]}),
        cbor2.dumps({"type": "call", "seq": True, "ts": 0, "calls": []}),  # bool is no int
        cbor2.dumps(cbor2.CBORTag(TAG_RECORD, ["os.system", {}])),
        cbor2.dumps({"type": "bye", "seq": 1, "ts": 0, "x": cbor2.CBORTag(99999, 1)}),
        cbor2.dumps(
            {
                "type": "bye",
                "seq": 1,
                "ts": 0,
                "x": cbor2.CBORTag(TAG_RECORD, ["GnssReading", {"t_ns": 1}]),
            }
        ),
        cbor2.dumps(  # version 2: positional fields, all of them
            {"type": "bye", "seq": 1, "ts": 0, "x": cbor2.CBORTag(TAG_RECORD, ["GnssReading", [1]])}
        ),
        cbor2.dumps({"type": ["call"], "seq": 1, "ts": 0, "calls": []}),  # unhashable type
        cbor2.dumps(  # an enum value the enum does not have
            {"type": "bye", "seq": 1, "ts": 0, "x": cbor2.CBORTag(60002, ["CellStatus", 99])}
        ),
        cbor2.dumps(
            {
                "type": "bye",
                "seq": 1,
                "ts": 0,
                "x": cbor2.CBORTag(40, [[3], cbor2.CBORTag(85, b"\0" * 4)]),
            }
        ),
    ],
)
def test_malformed_messages_are_typed_errors(body: bytes) -> None:
    with pytest.raises(RigProtocolError):
        decode_frame(body)


def test_values_the_protocol_cannot_carry_are_refused() -> None:
    with pytest.raises(RigProtocolError):
        encode_value(lambda: 1)
    with pytest.raises(RigProtocolError):
        encode_value(np.array(["a"]))


def test_check_message_accepts_every_documented_type() -> None:
    for mtype in MessageType:
        assert isinstance(mtype.value, str)
    ok = {"type": "advance", "seq": 3, "ts": 1, "calls": [["gnss", "read", [], {}]], "to_ns": 10}
    assert check_message(ok) is ok


def test_records_carry_their_fields_in_declaration_order() -> None:
    # oracle: cbor2's plain decoding and the dataclass's own field order
    import dataclasses

    p = PduReading(1, True, (RailStatus("comms", True, False, 0.5),))
    plain = cbor2.loads(cbor2.dumps(encode_value(p)))
    assert plain.tag == TAG_RECORD and plain.value[0] == "PduReading"
    assert len(plain.value[1]) == len(dataclasses.fields(PduReading))
    assert list(plain.value[1][:2]) == [1, True]
    rail = plain.value[1][2].value[0]  # a tuple (tag 60000) of one RailStatus record
    assert rail.tag == TAG_RECORD and rail.value[0] == "RailStatus"
    assert list(rail.value[1]) == ["comms", True, False, 0.5]


def test_int_enums_of_different_types_keep_their_type() -> None:
    # IntEnum members of different enums compare equal as ints: each keeps its own class
    assert roundtrip(CellStatus(0)) is CellStatus(0)
    assert roundtrip(GnssFix(0)) is GnssFix(0)
    assert roundtrip((CellStatus(1), GnssFix(1))) == (CellStatus(1), GnssFix(1))
    assert type(roundtrip((CellStatus(1), GnssFix(1)))[1]) is GnssFix


def test_tuples_of_one_hal_type_travel_as_one_typed_tuple() -> None:
    from hal.hil import TAG_TYPED_TUPLE

    cells = (CellStatus.OK, CellStatus.FAILED, CellStatus.OK)
    plain = cbor2.loads(cbor2.dumps(encode_value(cells)))  # oracle: cbor2's plain decoding
    assert plain.tag == TAG_TYPED_TUPLE and plain.value[0] == "CellStatus"
    assert list(plain.value[1]) == [
        CellStatus.OK.value,
        CellStatus.FAILED.value,
        CellStatus.OK.value,
    ]
    out = roundtrip(cells)
    assert out == cells and all(type(c) is CellStatus for c in out)
    rails = (RailStatus("a", True, False, 0.5), RailStatus("b", False, True, 0.0))
    assert roundtrip(rails) == rails
    mixed = (CellStatus.OK, GnssFix.NONE)  # not one type: a plain tuple of tags
    assert cbor2.loads(cbor2.dumps(encode_value(mixed))).tag == 60000
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
        decode_value(cbor2.dumps(cbor2.CBORTag(60004, value)))
