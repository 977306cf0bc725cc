"""Fuzzing the decoders: random and mutated bytes either decode to exactly what spacepackets
sees, or raise WireError whose reason is verifiably true of the bytes; never anything else."""

from __future__ import annotations

import binascii

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacepackets.ccsds.spacepacket import SequenceFlags as SpSequenceFlags
from spacepackets.ecss import PusTc, PusTm

from flight.tmtc import (
    CDS_SHORT,
    CUC_4_2,
    CdsFormat,
    CucFormat,
    TcPacket,
    TmPacket,
    WireError,
    peek_tc_header,
    unpack_tc,
    unpack_tm,
)

MAX_LEN = 300  # small limit so "oversized" is reachable by mutated length fields

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)


def _tm_bytes(time_len: int) -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda *a: TmPacket(*a).pack(),
        st.integers(0, 0x7FF),
        st.integers(0, 0x3FFF),
        u8,
        u8,
        u16,
        u16,
        st.binary(min_size=time_len, max_size=time_len),
        st.binary(max_size=40),
        st.integers(0, 15),
    )


tc_bytes = st.builds(
    lambda *a: TcPacket(*a).pack(),
    st.integers(0, 0x7FF),
    st.integers(0, 0x3FFF),
    u8,
    u8,
    st.integers(0, 15),
    u16,
    st.binary(max_size=40),
)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    buf = bytearray(draw(base))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "extend", "set_len", "fit_len", "byte"]))
        if op == "flip" and buf:
            bit = draw(st.integers(0, 8 * len(buf) - 1))
            buf[bit // 8] ^= 1 << (bit % 8)
        elif op == "truncate":
            del buf[draw(st.integers(0, len(buf))) :]
        elif op == "extend":
            buf += draw(st.binary(min_size=1, max_size=20))
        elif op == "set_len" and len(buf) >= 6:
            buf[4:6] = draw(u16).to_bytes(2, "big")
        elif op == "fit_len" and len(buf) >= 7:
            buf[4:6] = (len(buf) - 7).to_bytes(2, "big")
        elif op == "byte" and buf:
            buf[draw(st.integers(0, min(len(buf), 14) - 1))] = draw(u8)
    if draw(st.booleans()) and len(buf) >= 2:
        # Re-seal the PEC so the decoder's field checks, not only the CRC, are exercised.
        buf[-2:] = binascii.crc_hqx(bytes(buf[:-2]), 0xFFFF).to_bytes(2, "big")
    return bytes(buf)


def reason_holds(buf: bytes, reason: str, expect_tc: bool, min_len: int) -> bool:
    """Independent reading of the raw octets: is the claimed reason true?"""
    n = len(buf)
    if reason == "truncated":
        return n < 6 or n < int.from_bytes(buf[4:6], "big") + 7
    total = int.from_bytes(buf[4:6], "big") + 7
    return {
        "oversized": total > MAX_LEN,
        "length_mismatch": n > total or total < min_len,
        "crc": binascii.crc_hqx(buf[:total], 0xFFFF) != 0,
        "bad_version": buf[0] >> 5 != 0,
        "bad_type": (buf[0] >> 4) & 1 != int(expect_tc),
        "no_secondary_header": not buf[0] & 0x08,
        "bad_seq_flags": buf[2] >> 6 != 0b11,
        "bad_pus_version": n > 6 and buf[6] >> 4 != 2,
    }.get(reason, False)


def spacepackets_view_tm(buf: bytes, time_len: int) -> PusTm | None:
    try:
        return PusTm.unpack(buf, timestamp_len=time_len)
    except Exception:  # spacepackets raises assorted types; only "rejected" matters here
        return None


def check_tm(buf: bytes, time_len: int) -> None:
    try:
        ours = unpack_tm(buf, time_len, max_len=MAX_LEN)
    except WireError as exc:
        assert reason_holds(buf, exc.reason, False, 15 + time_len), (exc.reason, buf.hex())
        return
    theirs = spacepackets_view_tm(buf, time_len)
    assert theirs is not None, buf.hex()
    hdr = theirs.pus_tm_sec_header
    assert theirs.sp_header.ccsds_version == 0
    assert theirs.sp_header.sec_header_flag
    assert theirs.seq_flags == SpSequenceFlags.UNSEGMENTED
    assert (ours.apid, ours.seq_count, ours.service, ours.subtype) == (
        theirs.apid,
        theirs.seq_count,
        theirs.service,
        theirs.message_subtype,
    )
    assert (ours.msg_counter, ours.dest_id, ours.time_ref) == (
        hdr.message_counter,
        hdr.dest_id,
        hdr.spacecraft_time_ref,
    )
    assert hdr.pus_version == 2
    assert (ours.time, ours.data) == (theirs.timestamp, theirs.source_data)


def check_tc(buf: bytes) -> None:
    peek = peek_tc_header(buf)  # must never raise
    if peek is not None:
        assert peek.request_id == int.from_bytes(buf[:4], "big")
        assert (peek.service, peek.subtype) == (buf[7], buf[8])
    try:
        ours = unpack_tc(buf, max_len=MAX_LEN)
    except WireError as exc:
        assert reason_holds(buf, exc.reason, True, 13), (exc.reason, buf.hex())
        return
    try:
        theirs = PusTc.unpack(buf)
    except Exception as exc:  # pragma: no cover - would be a finding
        raise AssertionError(f"spacepackets rejects what we accept: {buf.hex()}") from exc
    hdr = theirs.pus_tc_sec_header
    assert theirs.sp_header.sec_header_flag
    assert theirs.seq_flags == SpSequenceFlags.UNSEGMENTED
    assert (ours.apid, ours.seq_count, ours.service, ours.subtype) == (
        theirs.apid,
        theirs.seq_count,
        theirs.service,
        theirs.message_subtype,
    )
    assert (ours.ack_flags, ours.source_id, ours.data) == (
        hdr.ack_flags,
        hdr.source_id,
        theirs.app_data,
    )
    assert hdr.pus_version == 2
    assert peek is not None
    assert tuple(peek[:5]) == (
        ours.apid,
        ours.seq_count,
        ours.service,
        ours.subtype,
        ours.ack_flags,
    )


FUZZ = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=64), st.sampled_from([0, 7]))
def test_random_bytes_tm(buf: bytes, time_len: int) -> None:
    check_tm(buf, time_len)


@FUZZ
@given(st.binary(max_size=64))
def test_random_bytes_tc(buf: bytes) -> None:
    check_tc(buf)


@FUZZ
@given(st.sampled_from([0, 7]).flatmap(lambda tl: st.tuples(mutated(_tm_bytes(tl)), st.just(tl))))
def test_mutated_tm(case: tuple[bytes, int]) -> None:
    buf, time_len = case
    check_tm(buf, time_len)


@FUZZ
@given(mutated(tc_bytes))
def test_mutated_tc(buf: bytes) -> None:
    check_tc(buf)


@FUZZ
@given(mutated(tc_bytes))
def test_tc_bytes_fed_to_tm_decoder(buf: bytes) -> None:
    check_tm(buf, 0)


@settings(deadline=None, max_examples=200)
@given(
    st.sampled_from([CUC_4_2, CDS_SHORT, CucFormat(2, 0, False), CdsFormat(3, 4), CucFormat(6, 5)]),
    st.binary(max_size=16),
)
def test_time_decoders_never_raise_anything_else(fmt: CucFormat | CdsFormat, buf: bytes) -> None:
    try:
        t = fmt.decode(buf)
    except WireError as exc:
        assert exc.reason in {"truncated", "length_mismatch", "bad_time_code"}
    else:
        assert isinstance(t, int)
        assert len(buf) == fmt.length
