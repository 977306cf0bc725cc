"""PUS-6 memory management end to end: spacepackets-built TCs in, spacepackets-decoded TM out.

Oracles: ``spacepackets`` (packet codec), ``binascii.crc_hqx(data, 0xFFFF)`` (CRC-16-CCITT-
FALSE, the peer named in REFERENCE.md) and region contents drawn here from a seeded generator
(independent of the protection layer), loaded by the regions' owner (this test).
"""

from __future__ import annotations

import binascii
import struct

import numpy as np
import pytest
from spacepackets.ecss import PusTc, PusTm

from flight.core import Executive, FailureCode, SimClock
from flight.edac import EdacApp, MemoryBlobStore, MemoryService, build_edac, parse_config
from flight.tmtc import TmtcService
from native.errors import CommandError

APID = 0x64


class Rig:
    def __init__(self) -> None:
        self.clock = SimClock()
        self.ex = Executive(self.clock, 10.0)
        self.tm: list[bytes] = []
        self.svc = TmtcService(self.ex, APID, sinks=[self.tm.append], hk_interval_s=1e6)
        self.app: EdacApp = build_edac(self.ex, parse_config({}), MemoryBlobStore(), tmtc=self.svc)
        rng = np.random.default_rng(3)
        self.weights = rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes()
        self.params = rng.integers(0, 256, 1_000, dtype=np.uint8).tobytes()
        self.app.regions.create("weights", 20_000, writable=False, region_id=1).load(self.weights)
        self.app.regions.create("params_copy", 1_000, region_id=5).load(self.params)
        self.ex.start()

    def send(self, subtype: int, data: bytes) -> tuple[PusTc, list[PusTm]]:
        tc = PusTc(service=6, message_subtype=subtype, apid=APID, app_data=data, seq_count=11)
        start = len(self.tm)
        self.svc.process(tc.pack())
        return tc, [
            PusTm.unpack(p, timestamp_len=self.svc.time_code.length) for p in self.tm[start:]
        ]


def areas(mem_id: int, *items: tuple[int, int]) -> bytes:
    return struct.pack(">HB", mem_id, len(items)) + b"".join(struct.pack(">II", *i) for i in items)


def kinds(packets: list[PusTm]) -> list[tuple[int, int]]:
    return [(p.service, p.message_subtype) for p in packets]


def failure_code(tc: PusTc, packets: list[PusTm], subtype: int) -> int:
    (rep,) = [p for p in packets if (p.service, p.message_subtype) == (1, subtype)]
    assert rep.source_data[:4] == tc.pack()[:4]
    return int(struct.unpack(">H", rep.source_data[4:6])[0])


def test_check_memory_reports_crc16_of_each_area() -> None:
    rig = Rig()
    _tc, out = rig.send(9, areas(1, (0, 100), (12_345, 7_655), (3, 1)))
    assert kinds(out) == [(1, 1), (1, 3), (6, 10), (1, 7)]
    body = out[2].source_data
    assert struct.unpack_from(">HB", body) == (1, 3)
    offset = 3
    for start, length in ((0, 100), (12_345, 7_655), (3, 1)):
        s, n, crc = struct.unpack_from(">IIH", body, offset)
        assert (s, n) == (start, length)
        assert crc == binascii.crc_hqx(rig.weights[start : start + length], 0xFFFF)
        offset += 10
    assert offset == len(body)


def test_dump_returns_corrected_bytes() -> None:
    rig = Rig()
    region = rig.app.region("params_copy")
    region.flip(10, 1 << 33)  # an upset inside the dumped area
    _, out = rig.send(5, areas(5, (80, 16), (990, 10)))
    (dump,) = [p for p in out if p.service == 6]
    assert dump.message_subtype == 6
    body = dump.source_data
    assert struct.unpack_from(">HB", body) == (5, 2)
    assert struct.unpack_from(">II", body, 3) == (80, 16)
    assert body[11:27] == rig.params[80:96]
    assert struct.unpack_from(">II", body, 27) == (990, 10)
    assert body[35:] == rig.params[990:1000]
    assert region.corrected == 1
    assert rig.app.memory_service.dumps == 1


@pytest.mark.parametrize(
    ("subtype", "data", "code"),
    [
        (9, areas(3, (0, 10)), FailureCode.ILLEGAL_ARGUMENT),  # unknown memory id
        (9, areas(1, (0, 0)), FailureCode.ILLEGAL_ARGUMENT),  # empty area
        (9, areas(1, (19_990, 11)), FailureCode.ILLEGAL_ARGUMENT),  # past the end
        (5, areas(5, (999, 2)), FailureCode.ILLEGAL_ARGUMENT),
        (5, areas(1, (0, 20_000)), FailureCode.ILLEGAL_ARGUMENT),  # larger than one TM packet
        (9, areas(1, (0, 10))[:-1], FailureCode.INVALID_LENGTH),
        (9, areas(1, (0, 10)) + b"\0", FailureCode.INVALID_LENGTH),
        (9, struct.pack(">HB", 1, 0), FailureCode.INVALID_LENGTH),  # N = 0
        (9, b"\0", FailureCode.INVALID_LENGTH),
        (2, areas(1, (0, 10)), FailureCode.ILLEGAL_SUBTYPE),  # no memory load service
    ],
)
def test_rejections_change_nothing(subtype: int, data: bytes, code: FailureCode) -> None:
    rig = Rig()
    region = rig.app.region("weights")
    region.flip(0, 1)  # would be corrected by any read
    before = (*region.words(), region.counters())
    tc, out = rig.send(subtype, data)
    assert [k for k in kinds(out) if k[0] != 5] == [(1, 2)]  # plus the tc_rejected event
    assert failure_code(tc, out, 2) == code
    words, checks = region.words()
    assert np.array_equal(words, before[0]) and np.array_equal(checks, before[1])
    assert region.counters() == before[2]
    assert rig.svc.hk.tc_rejected == 1


def test_bad_region_is_not_allowed_then_execution_failure() -> None:
    rig = Rig()
    region = rig.app.region("weights")
    region.flip(50, 0b11)
    # Acceptance passes (region still OK), the read meets the uncorrectable word: TM[1,8].
    tc, out = rig.send(9, areas(1, (0, 1000)))
    assert failure_code(tc, out, 8) == FailureCode.EXECUTION_FAILED
    # Now BAD: rejected at acceptance until the scrubber reloads it.
    tc, out = rig.send(5, areas(1, (0, 8)))
    assert failure_code(tc, out, 2) == FailureCode.NOT_ALLOWED
    rig.ex.run_for(1_000_000_000)
    _, out = rig.send(5, areas(1, (400, 8)))
    (dump,) = [p for p in out if p.service == 6]
    assert dump.source_data[11:] == rig.weights[400:408]


def test_dump_bound_unknown_at_install_fails_at_execution() -> None:
    rig = Rig()
    service = MemoryService(rig.app.regions.by_id, None)
    data = areas(1, (0, 20_000))
    service.check(5, data)  # no bound at acceptance: the report's packing decides
    with pytest.raises(CommandError, match="dump report of") as info:
        service.execute(5, data, rig.svc.send_tm)
    assert info.value.code == FailureCode.EXECUTION_FAILED
    assert service.dumps == 0 and not any(
        PusTm.unpack(p, rig.svc.time_code.length).service == 6 for p in rig.tm
    )
