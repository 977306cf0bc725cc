"""Benchmarks of the CCSDS/PUS codec against spacepackets, measured in the same run.

:func:`run` returns :class:`~ground.bench.BenchRecord`-s (medians of repeats, ratios ours/peer
for rates, so above 1 means satnode is faster). ``bench/bench_tmtc.py`` is the command-line
wrapper. spacepackets is a test dependency: without it the records carry no peer.

Workload: a housekeeping-sized TM packet (7-octet CDS short time with P-field, 32 octets of
source data: 54 octets), a 1 KiB-data TM packet (where both sides are bound by the CRC), and
a 16-octet-argument TC. Every iteration uses a different sequence count and message counter.
"""

from __future__ import annotations

import binascii
import importlib.metadata
import importlib.util
from collections.abc import Callable
from typing import Any

from flight.tmtc import (
    CDS_SHORT,
    NS_PER_DAY,
    NS_PER_MS,
    TmPacket,
    crc16,
    pack_tc,
    pack_tm,
    split_packets,
    unpack_tc,
    unpack_tm,
)
from ground.bench.record import BenchRecord, median_seconds, throughput_record

__all__ = ["run"]

_TIME = CDS_SHORT.encode(24_000 * NS_PER_DAY + 12_345_678 * NS_PER_MS)
_TIME_LEN = len(_TIME)


def _have_spacepackets() -> bool:
    return importlib.util.find_spec("spacepackets") is not None


def _spacepackets_label() -> str:
    try:
        return f"spacepackets {importlib.metadata.version('spacepackets')}"
    except importlib.metadata.PackageNotFoundError:
        return "spacepackets"


_SPACEPACKETS = _spacepackets_label()


def _tm_args(n: int, data_len: int) -> list[tuple[Any, ...]]:
    data = bytes(range(256)) * (data_len // 256 + 1)
    return [
        (0x42, i & 0x3FFF, 3, 25, i & 0xFFFF, 1, _TIME, data[i % 7 : i % 7 + data_len])
        for i in range(n)
    ]


def _rate(
    name: str,
    n: int,
    ours: Callable[[], object],
    peer: Callable[[], object] | None,
    repeats: int,
    unit: str = "packets/s",
    note: str = "",
    peer_name: str | None = None,
) -> BenchRecord:
    ours_s = median_seconds(ours, repeats=repeats)
    if peer is None:
        return throughput_record(name, unit, n, ours_s, note=note)
    peer_s = median_seconds(peer, repeats=repeats)
    return throughput_record(name, unit, n, ours_s, peer_name or _SPACEPACKETS, peer_s, note)


def run(quick: bool = False) -> list[BenchRecord]:
    """Run the codec benchmarks; ``quick`` uses fewer packets and repeats (about 1-2 s total)."""
    n = 2_000 if quick else 20_000
    repeats = 5 if quick else 7
    peer = _have_spacepackets()
    records: list[BenchRecord] = []

    if peer:
        from spacepackets.ccsds.time import CdsShortTimestamp
        from spacepackets.ecss import PusTc, PusTm

    for label, data_len, count in (("", 32, n), ("_1k", 1024, max(n // 10, 200))):
        args = _tm_args(count, data_len)
        raws = [pack_tm(*a) for a in args]

        def ours_pack(args: list[tuple[Any, ...]] = args) -> None:
            for a in args:
                pack_tm(*a)

        def ours_pack_object(args: list[tuple[Any, ...]] = args) -> None:
            for a in args:
                TmPacket(*a).pack()

        def ours_unpack(raws: list[bytes] = raws) -> None:
            for r in raws:
                unpack_tm(r, _TIME_LEN)

        their_pack = their_unpack = None
        if peer:

            def their_pack(args: list[tuple[Any, ...]] = args) -> None:
                for apid, seq, svc, sub, cnt, dest, time, data in args:
                    PusTm(
                        service=svc,
                        message_subtype=sub,
                        timestamp=time,
                        source_data=data,
                        apid=apid,
                        seq_count=seq,
                        message_counter=cnt,
                        destination_id=dest,
                    ).pack()

            def their_unpack(raws: list[bytes] = raws) -> None:
                for r in raws:
                    PusTm.unpack(r, timestamp_len=_TIME_LEN)

        size = f"{len(raws[0])}-octet TM"
        records.append(
            _rate(
                f"tmtc.tm_pack{label}",
                count,
                ours_pack,
                their_pack,
                repeats,
                note=f"{size}: pack_tm() vs PusTm(...).pack()",
            )
        )
        if not label:
            records.append(
                _rate(
                    "tmtc.tm_pack_object",
                    count,
                    ours_pack_object,
                    their_pack,
                    repeats,
                    note=f"{size}: TmPacket(...).pack() vs PusTm(...).pack()",
                )
            )
        records.append(
            _rate(
                f"tmtc.tm_unpack{label}",
                count,
                ours_unpack,
                their_unpack,
                repeats,
                note=f"{size}: unpack_tm() vs PusTm.unpack(), CRC verified by both",
            )
        )

    tc_args = [(0x42, i & 0x3FFF, 8, 1, 0xF, 7, bytes(16)) for i in range(n)]
    tc_raws = [pack_tc(*a) for a in tc_args]

    def ours_tc_pack() -> None:
        for a in tc_args:
            pack_tc(*a)

    def ours_tc_unpack() -> None:
        for r in tc_raws:
            unpack_tc(r)

    their_tc_pack = their_tc_unpack = None
    if peer:

        def their_tc_pack() -> None:
            for apid, seq, svc, sub, ack, src, data in tc_args:
                PusTc(
                    service=svc,
                    message_subtype=sub,
                    apid=apid,
                    app_data=data,
                    seq_count=seq,
                    source_id=src,
                    ack_flags=ack,
                ).pack()

        def their_tc_unpack() -> None:
            for r in tc_raws:
                PusTc.unpack(r)

    size = f"{len(tc_raws[0])}-octet TC"
    records.append(
        _rate("tmtc.tc_pack", n, ours_tc_pack, their_tc_pack, repeats, note=f"{size}: pack_tc()")
    )
    records.append(
        _rate(
            "tmtc.tc_unpack",
            n,
            ours_tc_unpack,
            their_tc_unpack,
            repeats,
            note=f"{size}: unpack_tc()",
        )
    )

    # Time code encoding: CDS short, ours vs spacepackets' CdsShortTimestamp.
    times = [(20_000 + i % 5000) * NS_PER_DAY + i * 997 * NS_PER_MS for i in range(n)]
    fields = [divmod(t // NS_PER_MS, 86_400_000) for t in times]

    def ours_cds() -> None:
        for t in times:
            CDS_SHORT.encode(t)

    their_cds = None
    if peer:

        def their_cds() -> None:
            for days, ms in fields:
                CdsShortTimestamp(days, ms).pack()

    records.append(
        _rate(
            "tmtc.cds_encode",
            n,
            ours_cds,
            their_cds,
            repeats,
            unit="codes/s",
            note="CDS short with P-field: CdsFormat.encode(ns) vs CdsShortTimestamp(d, ms).pack()",
        )
    )

    # Stream splitting of a tm.bin-like archive (no peer in spacepackets 0.32).
    archive = b"".join(pack_tm(*a) for a in _tm_args(n, 32))
    records.append(
        _rate(
            "tmtc.split_packets",
            n,
            lambda: split_packets(archive),
            None,
            repeats,
            note="54-octet TM packets from one concatenated buffer",
        )
    )

    # CRC: crcmod's C extension (the mandated PEC) vs binascii.crc_hqx (same value), for
    # information: a ratio below 1 means crc_hqx is faster.
    bodies = [pack_tm(*a)[:-2] for a in _tm_args(n, 32)]
    big = bytes(range(256)) * (4096 if quick else 16384)

    def crc_small() -> None:
        for r in bodies:
            crc16(r)

    def hqx_small() -> None:
        for r in bodies:
            binascii.crc_hqx(r, 0xFFFF)

    crc_note = "crcmod C extension (PEC) vs binascii.crc_hqx"
    records.append(
        _rate(
            f"tmtc.crc16_{len(bodies[0])}B",
            len(bodies),
            crc_small,
            hqx_small,
            repeats,
            unit="calls/s",
            note=f"{crc_note}, {len(bodies[0])}-octet packet bodies",
            peer_name="binascii.crc_hqx",
        )
    )
    records.append(
        _rate(
            "tmtc.crc16_bulk",
            len(big),
            lambda: crc16(big),
            lambda: binascii.crc_hqx(big, 0xFFFF),
            repeats,
            unit="B/s",
            note=f"{crc_note}, {len(big) >> 20} MiB",
            peer_name="binascii.crc_hqx",
        )
    )
    return records
