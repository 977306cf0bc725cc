"""The TM downlink ring (flight.tmtc.DownlinkBuffer) over a plain memory, and its routing in
TmtcService.

Oracles: a byte-budget FIFO model written here (what the ring must send and drop), the
documented record layout rebuilt with struct and a bitwise CRC-32C written here (checked
against the catalogue check value 0xE3069283 of b"123456789"), and an identical TmtcService
without a buffer (the packets must be the same octets).
"""

from __future__ import annotations

import struct
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.core import Executive, SimClock
from flight.tmtc import RECORD_HEADER_LEN, DownlinkBuffer, DownlinkMemory, TmtcService
from native.errors import FlightError


def crc32c_bitwise(data: bytes) -> int:
    """CRC-32C (Castagnoli), reflected poly 0x82F63B78, init and xorout 0xFFFFFFFF."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_crc_oracle_check_value() -> None:
    assert crc32c_bitwise(b"123456789") == 0xE3069283


class Ram:
    """A DownlinkMemory in a bytearray; ``poison`` octets make reads fail, ``bad`` refuses."""

    def __init__(self, size: int) -> None:
        self.buf = bytearray(size)
        self.bad = False
        self.poison: set[int] = set()

    @property
    def size_bytes(self) -> int:
        return len(self.buf)

    @property
    def is_bad(self) -> bool:
        return self.bad

    def read(self, offset: int, length: int) -> bytes:
        if self.bad or any(offset <= p < offset + length for p in self.poison):
            raise FlightError("uncorrectable")
        return bytes(self.buf[offset : offset + length])

    def write(self, offset: int, payload: bytes) -> None:
        if self.bad:
            raise FlightError("refused")
        self.buf[offset : offset + len(payload)] = payload


def span(n: int) -> int:
    return -(-(RECORD_HEADER_LEN + n) // 8) * 8


def test_record_layout_is_documented_and_wraps() -> None:
    ram = Ram(64)
    ring = DownlinkBuffer(ram)
    assert isinstance(ram, DownlinkMemory) and ring.capacity == 64
    p1 = bytes(range(1, 20))  # 19 octets: span 32
    assert ring.push(p1)
    assert ram.buf[:32] == struct.pack(">II", 19, crc32c_bitwise(p1)) + p1 + bytes(5)
    p2 = b"\xaa" * 20  # span 32: fills the ring
    assert ring.push(p2)
    p3 = b"\x55" * 10  # span 24: overwrites p1, lands at offset 0
    assert ring.push(p3)
    assert ram.buf[:24] == struct.pack(">II", 10, crc32c_bitwise(p3)) + p3 + bytes(6)
    assert ring.dropped_overwritten == 1
    out: list[bytes] = []
    assert ring.drain(out.append) == 2 and out == [p2, p3]
    # A record that straddles the end of the ring: head is at 24, a 40-octet span wraps.
    p4 = bytes(range(100, 132))
    assert ring.push(p4)
    head = struct.pack(">II", 32, crc32c_bitwise(p4)) + p4
    assert ram.buf[24:64] == head[:40] and ring.used_bytes == 40
    assert ring.drain(out.append) == 1 and out[-1] == p4


@settings(max_examples=60, deadline=None)
@given(
    cap=st.integers(2, 40).map(lambda k: 8 * k),
    ops=st.lists(st.one_of(st.integers(1, 300), st.just(-1), st.just(-2)), min_size=1, max_size=80),
)
def test_ring_matches_a_byte_budget_fifo(cap: int, ops: list[int]) -> None:
    ram = Ram(cap + 5)  # a ragged size: the ring uses whole words only
    ring = DownlinkBuffer(ram)
    assert ring.capacity == cap
    model: deque[bytes] = deque()
    sent: list[bytes] = []
    expected: list[bytes] = []
    dropped = bypassed = 0
    for i, op in enumerate(ops):
        if op == -1:  # drain everything
            ring.drain(sent.append)
            expected.extend(model)
            model.clear()
        elif op == -2:  # drain one
            ring.drain(sent.append, max_packets=1)
            if model:
                expected.append(model.popleft())
        else:
            packet = bytes([i & 0xFF]) * op
            if span(op) > cap:
                assert not ring.push(packet)
                bypassed += 1
                continue
            while sum(span(len(p)) for p in model) + span(op) > cap:
                model.popleft()
                dropped += 1
            assert ring.push(packet)
            model.append(packet)
        assert len(ring) == len(model)
        assert ring.used_bytes == sum(span(len(p)) for p in model)
    assert sent == expected
    assert (ring.dropped_overwritten, ring.bypassed, ring.dropped_corrupt) == (dropped, bypassed, 0)


def test_unreadable_and_mismatching_records_are_dropped_never_sent() -> None:
    ram = Ram(256)
    ring = DownlinkBuffer(ram)
    packets = [bytes([k]) * 20 for k in range(1, 5)]  # spans of 32 at 0, 32, 64, 96
    for p in packets:
        assert ring.push(p)
    ram.poison.add(40)  # inside record 2
    ram.buf[64 + 8] ^= 0x01  # record 3's packet changed behind the ring's back
    out: list[bytes] = []
    assert ring.drain(out.append) == 2
    assert out == [packets[0], packets[3]] and ring.dropped_corrupt == 2


def test_records_wait_while_the_memory_refuses_and_new_packets_bypass() -> None:
    ram = Ram(128)
    ring = DownlinkBuffer(ram)
    assert ring.push(b"one")
    ram.bad = True
    out: list[bytes] = []
    assert ring.drain(out.append) == 0 and len(ring) == 1  # waits for the repair
    assert not ring.push(b"two") and ring.bypassed == 1
    ram.bad = False
    assert ring.drain(out.append) == 1 and out == [b"one"]
    with pytest.raises(ValueError):
        ring.push(b"")
    with pytest.raises(ValueError):
        DownlinkBuffer(Ram(15))
    with pytest.raises(TypeError):
        DownlinkBuffer(object())  # type: ignore[arg-type]


def make_service(tm: list[bytes], max_packet_len: int = 256) -> tuple[Executive, TmtcService]:
    ex = Executive(SimClock(), 10.0, timer=lambda: 0)  # no wall time in the housekeeping
    svc = TmtcService(ex, 0x64, sinks=[tm.append], hk_interval_s=0.5, max_packet_len=max_packet_len)
    return ex, svc


def test_service_with_a_buffer_sends_the_same_packets_at_its_step() -> None:
    plain: list[bytes] = []
    buffered: list[bytes] = []
    ex_a, a = make_service(plain)
    ex_b, b = make_service(buffered)
    ring = DownlinkBuffer(Ram(4096))
    b.attach_downlink_buffer(ring)
    for ex in (ex_a, ex_b):
        ex.start()
    made = b.send_tm(17, 2)
    a.send_tm(17, 2)
    assert plain == [made] and buffered == []  # queued until the endpoint's step
    for ex in (ex_a, ex_b):
        ex.run_for(2_000_000_000)
    ex_a.stop()
    ex_b.stop()
    assert buffered == plain and len(plain) > 3  # housekeeping and events included
    assert len(ring) == 0 and ring.sent == len(buffered)


def test_attach_checks_the_ring_holds_one_packet() -> None:
    _, svc = make_service([], max_packet_len=256)
    with pytest.raises(ValueError, match="at most 248"):
        svc.attach_downlink_buffer(DownlinkBuffer(Ram(256)))
    assert svc.downlink_buffer is None
    svc.attach_downlink_buffer(DownlinkBuffer(Ram(264)))
    with pytest.raises(ValueError, match="already"):
        svc.attach_downlink_buffer(DownlinkBuffer(Ram(264)))
    with pytest.raises(TypeError):
        svc.attach_downlink_buffer(object())  # type: ignore[arg-type]
    assert svc.flush_downlink() == 0
