"""Bounded resources and strict decoding at the TM/TC endpoint (issue 19).

Oracles: the independent ``spacepackets`` library builds every TC and decodes every TM; the
expected counts come from the request itself (distinct structure ids, octets to check).
"""

from __future__ import annotations

import struct

import numpy as np
from spacepackets.ecss import PusTc, PusTm

from flight.core import (
    Arg,
    CommandDef,
    Component,
    Declaration,
    Executive,
    FailureCode,
    FieldType,
    ParamDef,
    SimClock,
    TlmField,
)
from flight.edac import MemoryBlobStore, MemoryService, ProtectedRegion
from flight.edac._memory_service import OCTETS_PER_WORK_UNIT
from flight.tmtc import TmtcService

APID = 0x64


class Switch(Component):
    DECLARATION = Declaration(
        commands=(CommandDef(1, "set", (Arg("on", FieldType.BOOL), Arg("level", FieldType.U8))),),
        telemetry=(
            TlmField("on", FieldType.BOOL),
            TlmField("count", FieldType.U16),
            TlmField("total", FieldType.U32),
            TlmField("offset", FieldType.I8),
        ),
        params=(ParamDef(1, "armed", FieldType.BOOL, False),),
    )

    def __init__(self) -> None:
        super().__init__("switch", 10)
        self.calls: list[tuple[bool, int]] = []

    def cmd_set(self, on: bool, level: int) -> None:
        self.calls.append((on, level))


class Rig:
    def __init__(self) -> None:
        self.clock = SimClock()
        self.ex = Executive(self.clock, 10.0)
        self.tm: list[bytes] = []
        self.svc = TmtcService(self.ex, APID, sinks=[self.tm.append], hk_interval_s=1e6)
        self.switch = Switch()
        self.ex.add(self.switch, 1.0)

    def start(self) -> None:
        self.ex.start()
        self.tm.clear()

    def decoded(self) -> list[PusTm]:
        return [PusTm.unpack(p, timestamp_len=self.svc.time_code.length) for p in self.tm]

    def kinds(self) -> list[tuple[int, int]]:
        return [(p.service, p.message_subtype) for p in self.decoded()]


def tc(service: int, subtype: int, data: bytes = b"", seq: int = 1) -> bytes:
    return PusTc(
        service=service, message_subtype=subtype, apid=APID, app_data=data, seq_count=seq
    ).pack()


def failure_code(packet: PusTm) -> FailureCode:
    return FailureCode(struct.unpack(">IH", packet.source_data)[1])


# -- BOOL arguments ----------------------------------------------------------------------
def test_bool_octets_other_than_0_and_1_are_rejected_at_acceptance() -> None:
    rig = Rig()
    rig.start()
    for octet in (0x02, 0x7F, 0x80, 0xFF):
        rig.tm.clear()
        assert not rig.svc.process(tc(8, 1, bytes([10, 1, octet, 5])))
        (report,) = [p for p in rig.decoded() if p.service == 1]
        assert (report.service, report.message_subtype) == (1, 2)  # acceptance, not TM[1,8]
        assert failure_code(report) is FailureCode.ILLEGAL_ARGUMENT
    assert rig.switch.calls == []
    for octet, value in ((0, False), (1, True)):
        assert rig.svc.process(tc(8, 1, bytes([10, 1, octet, 5])))
        assert rig.switch.calls[-1] == (value, 5) and type(rig.switch.calls[-1][0]) is bool


def test_bool_parameter_values_other_than_0_and_1_are_rejected() -> None:
    rig = Rig()
    rig.start()
    pid = (10 << 8) | 1
    assert not rig.svc.process(tc(20, 3, bytes([1]) + struct.pack(">HB", pid, 2)))
    assert [k for k in rig.kinds() if k[0] == 1] == [(1, 2)]
    assert rig.ex.params.get("switch", "armed") is False
    assert rig.svc.process(tc(20, 3, bytes([1]) + struct.pack(">HB", pid, 1)))
    assert rig.ex.params.get("switch", "armed") is True


# -- housekeeping requests ---------------------------------------------------------------
def test_duplicate_structure_ids_make_one_report_each() -> None:
    rig = Rig()
    rig.start()
    data = bytes([255]) + struct.pack(">H", 10) * 255  # the campaign's 524-octet TC, 255 x SID 10
    assert rig.svc.process(tc(3, 27, data))
    assert rig.kinds().count((3, 25)) == 1
    rig.tm.clear()
    mixed = bytes([6]) + struct.pack(">6H", 10, 1, 10, 2, 1, 10)
    assert rig.svc.process(tc(3, 27, mixed))
    sids = [struct.unpack_from(">H", p.source_data)[0] for p in rig.decoded() if p.service == 3]
    assert sids == [10, 1, 2]  # first appearance order, once each


def test_an_interval_change_naming_a_structure_twice_is_refused() -> None:
    rig = Rig()
    rig.start()
    data = bytes([2]) + struct.pack(">HIHI", 10, 1000, 10, 5000)
    assert not rig.svc.process(tc(3, 31, data))
    assert [k for k in rig.kinds() if k[0] == 1] == [(1, 2)]


# -- counters saturate --------------------------------------------------------------------
def test_housekeeping_counters_saturate_at_their_wire_range() -> None:
    rig = Rig()
    rig.start()
    hk = rig.switch.hk
    hk.count, hk.total, hk.offset = 70_000, np.int64(2**40), -1000
    _on, count, total, offset = struct.unpack(">?HIb", rig.switch.pack_housekeeping())
    assert (count, total, offset) == (0xFFFF, 0xFFFFFFFF, -128)
    rig.svc.hk.tc_received = 2**32 + 5
    packet = rig.svc.report_housekeeping(rig.svc.component_id)  # still packable
    assert PusTm.unpack(packet, timestamp_len=rig.svc.time_code.length).service == 3


# -- work budget per service -------------------------------------------------------------
def _memory(rig: Rig, size: int) -> ProtectedRegion:
    region = ProtectedRegion("big", 1, size, store=MemoryBlobStore())
    rig.svc.register_service(6, MemoryService({1: region}, None, max_check_bytes=64 << 20))
    return region


def check_tc(length: int, seq: int) -> bytes:
    return tc(6, 9, struct.pack(">HB", 1, 1) + struct.pack(">II", 0, length), seq)


def test_a_check_costs_by_octets_and_one_too_big_for_a_step_is_refused() -> None:
    rig = Rig()
    _memory(rig, 4 << 20)
    rig.start()
    budget = int(rig.svc.param["service_work_per_step"])
    svc6 = rig.svc.extra_services[6]
    assert svc6.cost(9, struct.pack(">HBII", 1, 1, 0, 1)) == 2  # type: ignore[attr-defined]
    largest = (budget - 1) * OCTETS_PER_WORK_UNIT
    assert svc6.cost(9, struct.pack(">HBII", 1, 1, 0, largest)) == budget  # type: ignore[attr-defined]
    assert rig.svc.process(check_tc(largest, 1))
    rig.tm.clear()
    assert not rig.svc.process(check_tc(largest + 1, 2))
    (report,) = [p for p in rig.decoded() if p.service == 1]
    assert (report.service, report.message_subtype) == (1, 2)
    assert failure_code(report) is FailureCode.ILLEGAL_ARGUMENT


def test_a_flood_of_checks_is_spread_over_steps_and_pings_still_pass() -> None:
    rig = Rig()
    _memory(rig, 4 << 20)
    rig.start()
    budget = int(rig.svc.param["service_work_per_step"])
    per_check = 1 + 4  # 256 KiB: 4 units + 1
    length = 4 * OCTETS_PER_WORK_UNIT
    for seq in range(40):
        rig.svc.receive(check_tc(length, seq))
    for seq in range(40, 44):
        rig.svc.receive(tc(17, 1, seq=seq))  # pings behind the flood
    rig.ex.tick()  # one base step
    kinds = rig.kinds()
    checks_done = kinds.count((6, 10))
    assert checks_done == budget // per_check  # the work budget, not the TC count, bounds it
    assert kinds.count((17, 2)) == 4  # other services are not starved
    assert rig.svc.hk.tc_deferred == 40 - checks_done
    # the rest follow in order over the next steps
    steps = 1
    while rig.kinds().count((6, 10)) < 40:
        rig.clock.advance(rig.ex.period_ns)
        rig.ex.tick()
        steps += 1
    assert steps == -(-40 // checks_done)
