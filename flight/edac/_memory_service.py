"""PUS service 6, memory management: dump and check the protected regions on command.

Registered on the node's :class:`~flight.tmtc.TmtcService` (``register_service(6, ...)``).
Memory ids are the region ids of :class:`~flight.edac.ProtectedRegion`; a start address is a
byte offset inside the region. Data are read through the protection layer, i.e. corrected
(a dump never shows a correctable upset, and an uncorrectable word fails the request).

Application data layouts (big-endian; ``N`` = number of areas, 1..16):

==========  ===================================================================================
TC[6,5]     dump raw memory data:  memory id u16, N u8, N x (start address u32, length u32)
TM[6,6]     memory dump report:    memory id u16, N u8, N x (start address u32, length u32,
                                   data: length octets)
TC[6,9]     check raw memory data: memory id u16, N u8, N x (start address u32, length u32)
TM[6,10]    memory check report:   memory id u16, N u8, N x (start address u32, length u32,
                                   checksum u16)
==========  ===================================================================================

The checksum is CRC-16-CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor:
the same code as the packet error control, check value 0x29B1 over ``b"123456789"``). ECSS-E-
ST-70-41C leaves the checksum algorithm to the mission (the ISO 8473 checksum or a CRC); satnode
uses the CRC it already has in hardware-friendly form.

Acceptance (``check``, no side effects) rejects with a PUS-1 failure code:

* ``ILLEGAL_SUBTYPE``: any subtype other than 5 and 9;
* ``INVALID_LENGTH``: application data shorter or longer than ``3 + 8 N`` octets, N = 0 or N > 16;
* ``ILLEGAL_ARGUMENT``: unknown memory id, an area of length 0 or outside the region, a dump that
  does not fit in one TM packet, or a check of more than ``max_check_bytes`` in total;
* ``NOT_ALLOWED``: the region is BAD (waiting for its reload).

An uncorrectable word met while executing fails the request with ``EXECUTION_FAILED`` (the
region turns BAD and the scrubber reloads it).

Work (:meth:`MemoryService.cost`): a request costs ``1 + ceil(octets / OCTETS_PER_WORK_UNIT)``
work units (reading through the protection layer and checksumming is linear in the octets;
one unit, 64 KiB, is about a third of a millisecond on the development machine). The TM/TC
endpoint spends at most its per-service work budget per step on service 6 and refuses at
acceptance a request that costs more than one step's budget, so that valid checks can no
longer queue a gigabyte of work into one tick.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping

from flight.core import FailureCode
from flight.edac._region import ProtectedRegion, RegionBadError, RegionState
from native import crc16_ccitt
from native.errors import CommandError, WireError

__all__ = ["MAX_AREAS", "OCTETS_PER_WORK_UNIT", "MemoryService"]

#: Most areas in one TC[6,5] / TC[6,9].
MAX_AREAS = 16
#: Octets read (and checksummed) per work unit of a request.
OCTETS_PER_WORK_UNIT = 64 << 10
_HEAD = struct.Struct(">HB")
_AREA = struct.Struct(">II")
_CHECK_ITEM = struct.Struct(">IIH")


class MemoryService:
    """PUS-6 handler over a node's protected regions (a :class:`ServiceHandler`).

    ``regions``: memory id -> region (a live mapping: regions created later are found).
    ``max_dump_octets``: the largest TM[6,6] source data (the node's packet size minus the
    TM overhead and time field); None when unknown at installation: an oversized dump then
    fails at execution (``EXECUTION_FAILED``) when its report cannot be packed.
    ``max_check_bytes``: bound on the bytes one TC[6,9] may checksum (keeps the TC step
    bounded).
    """

    DUMP = 5
    DUMP_REPORT = 6
    CHECK = 9
    CHECK_REPORT = 10

    def __init__(
        self,
        regions: Mapping[int, ProtectedRegion],
        max_dump_octets: int | None,
        max_check_bytes: int = 64 << 20,
    ) -> None:
        self.regions = regions
        self.max_dump_octets = max_dump_octets
        self.max_check_bytes = max_check_bytes
        self.dumps = 0
        self.checks = 0
        self.octets_dumped = 0

    def _parse(self, subtype: int, data: bytes) -> tuple[ProtectedRegion, list[tuple[int, int]]]:
        if subtype not in (self.DUMP, self.CHECK):
            raise CommandError(
                f"service 6 has no TC subtype {subtype}", FailureCode.ILLEGAL_SUBTYPE
            )
        if len(data) < _HEAD.size:
            raise CommandError("TC[6,x] needs memory id and N", FailureCode.INVALID_LENGTH)
        mem_id, n = _HEAD.unpack_from(data)
        if not 1 <= n <= MAX_AREAS:
            raise CommandError(f"N = {n} outside 1..{MAX_AREAS}", FailureCode.INVALID_LENGTH)
        expected = _HEAD.size + n * _AREA.size
        if len(data) != expected:
            raise CommandError(
                f"{n} area(s) need {expected} octets, got {len(data)}", FailureCode.INVALID_LENGTH
            )
        region = self.regions.get(mem_id)
        if region is None:
            raise CommandError(f"no memory id {mem_id}", FailureCode.ILLEGAL_ARGUMENT)
        areas = [_AREA.unpack_from(data, _HEAD.size + i * _AREA.size) for i in range(n)]
        for start, length in areas:
            if length == 0 or start + length > region.size_bytes:
                raise CommandError(
                    f"area [{start}, {start + length}) invalid for memory {mem_id} "
                    f"({region.name}, {region.size_bytes} octets)",
                    FailureCode.ILLEGAL_ARGUMENT,
                )
        total = sum(length for _, length in areas)
        if subtype == self.DUMP:
            size = _HEAD.size + n * _AREA.size + total
            if self.max_dump_octets is not None and size > self.max_dump_octets:
                raise CommandError(
                    f"dump of {size} octets exceeds one TM packet ({self.max_dump_octets})",
                    FailureCode.ILLEGAL_ARGUMENT,
                )
        elif total > self.max_check_bytes:
            raise CommandError(
                f"check of {total} octets exceeds {self.max_check_bytes}",
                FailureCode.ILLEGAL_ARGUMENT,
            )
        if region.state is RegionState.BAD:
            raise CommandError(f"memory {mem_id} ({region.name}) is BAD", FailureCode.NOT_ALLOWED)
        return region, areas

    def check(self, subtype: int, data: bytes) -> None:
        """Validate a TC[6,5]/TC[6,9] completely; raise :class:`CommandError` to reject."""
        self._parse(subtype, data)

    def cost(self, subtype: int, data: bytes) -> int:
        """Work units of a request: ``1 + ceil(octets / OCTETS_PER_WORK_UNIT)`` (1 for a
        request that cannot be parsed: it is rejected without reading memory). Never raises."""
        if subtype not in (self.DUMP, self.CHECK) or len(data) < _HEAD.size:
            return 1
        n = data[2]
        if not 1 <= n <= MAX_AREAS or len(data) != _HEAD.size + n * _AREA.size:
            return 1
        total = 0
        for i in range(n):
            length: int = _AREA.unpack_from(data, _HEAD.size + i * _AREA.size)[1]
            total += length
        return 1 + -(-total // OCTETS_PER_WORK_UNIT)

    def execute(
        self, subtype: int, data: bytes, send_tm: Callable[[int, int, bytes], bytes]
    ) -> None:
        """Read the areas through the protection layer and emit TM[6,6] or TM[6,10]."""
        region, areas = self._parse(subtype, data)
        body = bytearray(_HEAD.pack(region.region_id, len(areas)))
        try:
            for start, length in areas:
                chunk = region.read(start, length)
                if subtype == self.DUMP:
                    body += _AREA.pack(start, length) + chunk
                else:
                    body += _CHECK_ITEM.pack(start, length, crc16_ccitt(chunk))
        except RegionBadError as exc:
            raise CommandError(str(exc), FailureCode.EXECUTION_FAILED) from exc
        if subtype == self.DUMP:
            try:
                send_tm(6, self.DUMP_REPORT, bytes(body))
            except WireError as exc:  # larger than one TM packet (bound unknown at install)
                raise CommandError(
                    f"dump report of {len(body)} octets: {exc}", FailureCode.EXECUTION_FAILED
                ) from exc
            self.dumps += 1
            self.octets_dumped += sum(length for _, length in areas)
        else:
            self.checks += 1
            send_tm(6, self.CHECK_REPORT, bytes(body))

    def summary(self) -> dict[str, int]:
        """Counters (JSON-serialisable)."""
        return {"dumps": self.dumps, "checks": self.checks, "octets_dumped": self.octets_dumped}

    def describe(self) -> dict[str, object]:
        """The service's TC/TM subtypes and data layouts for the ground dictionary (plain
        data, the item grammar of ``TmtcService.SERVICES``), with the memory ids now known."""
        mem_id: dict[str, object] = {"name": "memory_id", "type": "u16", "doc": "region id"}
        count: dict[str, object] = {"name": "n", "type": "u8", "min": 1, "max": MAX_AREAS}
        area: list[dict[str, object]] = [{"name": "start_address", "type": "u32", "unit": "B"},
                {"name": "length", "type": "u32", "unit": "B", "min": 1}]
        request = [mem_id, count, {"name": "areas", "type": "array", "count": "n",
                                   "items": area}]

        def report(last: dict[str, object]) -> list[dict[str, object]]:
            return [mem_id, count, {"name": "areas", "type": "array", "count": "n",
                                    "items": [*area, last]}]

        return {
            "service": 6, "name": "memory management",
            "tc": [
                {"subtype": self.DUMP, "name": "dump_memory", "layout": request,
                 "reply": [6, self.DUMP_REPORT]},
                {"subtype": self.CHECK, "name": "check_memory", "layout": request,
                 "reply": [6, self.CHECK_REPORT]},
            ],
            "tm": [
                {"subtype": self.DUMP_REPORT, "name": "memory_dump_report", "layout": report(
                    {"name": "data", "type": "bytes", "length": "length"})},
                {"subtype": self.CHECK_REPORT, "name": "memory_check_report", "layout": report(
                    {"name": "checksum", "type": "u16",
                     "doc": "CRC-16-CCITT-FALSE of the area (the PEC's algorithm)"})},
            ],
            "memory_ids": {
                str(r.region_id): {"name": r.name, "size_octets": r.size_bytes}
                for r in sorted(self.regions.values(), key=lambda r: r.region_id)
            },
        }  # fmt: skip
