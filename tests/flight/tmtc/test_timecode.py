"""CCSDS time codes: CDS against spacepackets' CdsShortTimestamp, CUC against exact rational
arithmetic (fractions.Fraction) and hand-made P-fields from CCSDS 301.0-B-4."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacepackets.ccsds.time import CdsShortTimestamp

from flight.tmtc import (
    CCSDS_TO_UNIX_EPOCH_NS,
    CDS_SHORT,
    CUC_4_2,
    NS_PER_DAY,
    NS_PER_MS,
    NS_PER_S,
    CdsFormat,
    CucFormat,
    WireError,
)
from native.errors import ConfigError

SETTINGS = settings(deadline=None, max_examples=150)


def test_epoch_constant_from_calendar() -> None:
    days = (dt.date(1970, 1, 1) - dt.date(1958, 1, 1)).days
    assert days == 4383
    assert days * 86_400 * NS_PER_S == CCSDS_TO_UNIX_EPOCH_NS


# --- CDS ---------------------------------------------------------------------------------


@SETTINGS
@given(st.integers(0, 0xFFFF), st.integers(0, 86_399_999), st.integers(0, NS_PER_MS - 1))
def test_cds_short_matches_spacepackets(days: int, ms: int, sub_ns: int) -> None:
    t = days * NS_PER_DAY + ms * NS_PER_MS + sub_ns
    code = CDS_SHORT.encode(t)
    assert code == CdsShortTimestamp(days, ms).pack()
    assert CdsShortTimestamp.unpack_from_raw(code) == (days, ms)
    assert CDS_SHORT.decode(CdsShortTimestamp(days, ms).pack()) == t - sub_ns


@SETTINGS
@given(
    st.datetimes(
        min_value=dt.datetime(1970, 1, 2),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.just(dt.UTC),
    )
)
def test_cds_short_from_datetime_matches_spacepackets(when: dt.datetime) -> None:
    # Mid-millisecond instants, so spacepackets' float arithmetic cannot straddle a boundary.
    when = when.replace(microsecond=(when.microsecond // 1000) * 1000 + 500)
    unix_ns = (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000
    assert CDS_SHORT.encode(unix_ns + CCSDS_TO_UNIX_EPOCH_NS) == (
        CdsShortTimestamp.from_datetime(when).pack()
    )
    unix_epoch = CdsFormat(epoch_offset_ns=CCSDS_TO_UNIX_EPOCH_NS)
    assert unix_epoch.encode(unix_ns) == CdsShortTimestamp.from_datetime(when).pack()


cds_formats = st.builds(
    CdsFormat,
    day_octets=st.sampled_from([2, 3]),
    submillis_octets=st.sampled_from([0, 2, 4]),
    p_field=st.booleans(),
    agency_epoch=st.booleans(),
    epoch_offset_ns=st.integers(0, 10 * NS_PER_DAY),
)


@SETTINGS
@given(cds_formats, st.data())
def test_cds_round_trip_within_resolution(fmt: CdsFormat, data: st.DataObject) -> None:
    t = data.draw(st.integers(-fmt.epoch_offset_ns, fmt.max_ns))
    code = fmt.encode(t)
    assert len(code) == fmt.length
    back = fmt.decode(code)
    assert back == t - (t + fmt.epoch_offset_ns) % fmt.resolution_ns  # floor to resolution
    assert fmt.encode(back) == code
    if fmt.p_field:
        assert CdsFormat.from_p_field(code, epoch_offset_ns=fmt.epoch_offset_ns) == fmt


def test_cds_fields_by_hand() -> None:
    # P-field 0b0100_EDSS (CCSDS 301.0-B-4 3.3): ID 100, epoch bit, 24-bit day bit, submillis.
    assert CdsFormat().p_field_bytes == b"\x40"
    assert CdsFormat(submillis_octets=2).p_field_bytes == b"\x41"
    assert CdsFormat(submillis_octets=4).p_field_bytes == b"\x42"
    assert CdsFormat(day_octets=3).p_field_bytes == b"\x44"
    assert CdsFormat(agency_epoch=True).p_field_bytes == b"\x48"
    t = 2 * NS_PER_DAY + 3_723_004 * NS_PER_MS + 5_678  # day 2, 01:02:03.004 + 5.678 us
    assert CdsFormat(submillis_octets=2).encode(t).hex() == "41" + "0002" + "0038cefc" + "0005"
    assert CdsFormat(submillis_octets=4, p_field=False).encode(t).hex() == (
        "0002" + "0038cefc" + f"{5_678_000:08x}"
    )


@pytest.mark.parametrize(
    ("fmt", "code", "reason"),
    [
        (CDS_SHORT, bytes.fromhex("400000"), "truncated"),
        (CDS_SHORT, bytes.fromhex("40000000000000ff"), "length_mismatch"),
        (CDS_SHORT, bytes.fromhex("41000000000000"), "bad_time_code"),
        (CDS_SHORT, bytes.fromhex("40000005265c00"), "bad_time_code"),  # ms of day 86,400,000
        (CdsFormat(submillis_octets=2), bytes.fromhex("41000000000000" + "03e8"), "bad_time_code"),
        (
            CdsFormat(submillis_octets=4),
            bytes.fromhex("42000000000000" + "3b9aca00"),
            "bad_time_code",
        ),
    ],
)
def test_cds_rejections(fmt: CdsFormat, code: bytes, reason: str) -> None:
    with pytest.raises(WireError) as info:
        fmt.decode(code)
    assert info.value.reason == reason


def test_cds_range_and_config() -> None:
    with pytest.raises(WireError) as info:
        CDS_SHORT.encode(-1)
    assert info.value.reason == "field_range"
    with pytest.raises(WireError):
        CDS_SHORT.encode(CDS_SHORT.max_ns + 1)
    assert CDS_SHORT.decode(CDS_SHORT.encode(CDS_SHORT.max_ns)) == CDS_SHORT.max_ns - 999_999
    with pytest.raises(ConfigError):
        CdsFormat(day_octets=4)
    with pytest.raises(ConfigError):
        CdsFormat(submillis_octets=1)
    with pytest.raises(WireError):
        CdsFormat.from_p_field(b"\x43")
    with pytest.raises(WireError):
        CdsFormat.from_p_field(b"\x1e")


# --- CUC ---------------------------------------------------------------------------------

cuc_formats = st.builds(
    CucFormat,
    coarse_octets=st.integers(1, 7),
    fine_octets=st.integers(0, 10),
    p_field=st.booleans(),
    agency_epoch=st.booleans(),
    epoch_offset_ns=st.integers(0, 1000 * NS_PER_S),
)


@SETTINGS
@given(cuc_formats, st.data())
def test_cuc_encode_against_rational_arithmetic(fmt: CucFormat, data: st.DataObject) -> None:
    t = data.draw(st.integers(-fmt.epoch_offset_ns, fmt.max_ns))
    code = fmt.encode(t)
    assert len(code) == fmt.length
    assert code.startswith(fmt.p_field_bytes)
    tfield = code[len(fmt.p_field_bytes) :]
    coarse = int.from_bytes(tfield[: fmt.coarse_octets], "big")
    fine = int.from_bytes(tfield[fmt.coarse_octets :], "big")
    step = Fraction(1, 256**fmt.fine_octets)
    seconds = Fraction(t + fmt.epoch_offset_ns, NS_PER_S)
    # The code is the largest representable time not after t (truncation).
    assert coarse + fine * step <= seconds < coarse + (fine + 1) * step
    back = fmt.decode(code)
    assert 0 <= t - back < fmt.resolution_ns
    # decode returns the earliest nanosecond with this code.
    assert Fraction(back + fmt.epoch_offset_ns, NS_PER_S) >= coarse + fine * step
    if back > -fmt.epoch_offset_ns:
        assert Fraction(back - 1 + fmt.epoch_offset_ns, NS_PER_S) < coarse + fine * step
    if fmt.fine_octets <= 3:
        assert fmt.encode(back) == code
    else:
        assert back == t  # finer than a nanosecond: exact
    if fmt.p_field:
        assert CucFormat.from_p_field(code, epoch_offset_ns=fmt.epoch_offset_ns) == fmt


@SETTINGS
@given(st.binary(min_size=6, max_size=6))
def test_cuc_every_tfield_is_stable(tfield: bytes) -> None:
    code = CUC_4_2.p_field_bytes + tfield
    assert CUC_4_2.encode(CUC_4_2.decode(code)) == code


def test_cuc_fields_by_hand() -> None:
    # P-field: ext(1)=0 | ID(3)=001 CCSDS epoch | coarse-1 (2) | fine (2)  -> 0b0001_1110.
    assert CUC_4_2.p_field_bytes == b"\x1e"
    assert CUC_4_2.encode(1_500_000_000) == bytes.fromhex("1e" + "00000001" + "8000")
    assert CUC_4_2.decode(bytes.fromhex("1e00000001" + "8000")) == 1_500_000_000
    assert CucFormat(agency_epoch=True).p_field_bytes == b"\x2e"
    assert CucFormat(1, 0).p_field_bytes == b"\x10"
    assert CucFormat(4, 3, p_field=False).encode(NS_PER_S - 1) == bytes.fromhex("00000000ffffff")
    # Extension octet: ext | 001 | 11 | 11, then 0 | +1 coarse | +1 fine | 00.
    ext = CucFormat(5, 4)
    assert ext.p_field_bytes == bytes([0x9F, 0x24])
    assert ext.length == 2 + 5 + 4
    # One fine step of 2**-16 s is 15258.78906 ns: decode rounds up to 15259.
    assert CUC_4_2.decode(bytes.fromhex("1e00000000" + "0001")) == 15_259
    assert CUC_4_2.resolution_ns == pytest.approx(15_258.789, abs=1e-3)


def test_cuc_epoch_offset_shifts_the_count() -> None:
    offset = 12 * NS_PER_S + 34
    shifted = CucFormat(epoch_offset_ns=offset)
    for t in (0, 1, 987_654_321_000, -offset):
        assert shifted.encode(t) == CUC_4_2.encode(t + offset)
        assert (
            shifted.decode(CUC_4_2.encode(t + offset))
            == CUC_4_2.decode(CUC_4_2.encode(t + offset)) - offset
        )


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (bytes.fromhex("1e0000"), "truncated"),
        (bytes.fromhex("1e00000000000000"), "length_mismatch"),
        (bytes.fromhex("2e000000000000"), "bad_time_code"),
        (bytes.fromhex("40000000000000"), "bad_time_code"),
    ],
)
def test_cuc_rejections(code: bytes, reason: str) -> None:
    with pytest.raises(WireError) as info:
        CUC_4_2.decode(code)
    assert info.value.reason == reason


def test_cuc_range_and_config() -> None:
    for t in (-1, CUC_4_2.max_ns + 1):
        with pytest.raises(WireError) as info:
            CUC_4_2.encode(t)
        assert info.value.reason == "field_range"
    assert CUC_4_2.max_ns == (1 << 32) * NS_PER_S - 1
    with pytest.raises(TypeError):
        CUC_4_2.encode(1.5)  # type: ignore[arg-type]
    for bad in ((0, 2), (8, 0), (4, 11)):
        with pytest.raises(ConfigError):
            CucFormat(*bad)
    for pfield in (b"", b"\x40", b"\x9f", b"\x9f\x00", b"\x9f\x80", b"\x97\x20"):
        with pytest.raises(WireError):
            CucFormat.from_p_field(pfield)
