"""Benchmarks of the bit kernels (SECDED, TMR, CRC) against their peers, in the same run.

``run(quick)`` returns :class:`~ground.bench.record.BenchRecord` s: medians of repeated
single-threaded runs, throughput in GB/s (1e9 bytes per second) of the *input* bytes
(SECDED: the 64-bit data words, check bytes not counted; TMR: all three replicas), ratio =
ours / peer (above 1: satnode faster).

Full mode (a few tens of seconds, ~1.5 GB of RAM):

* SECDED scrub of a clean 256 MiB region (C, best CPU variant) vs the NumPy reference, plus
  each C CPU variant and the Numba kernel, and two ceilings as their own records: memory copy
  (``np.copyto`` of the same buffer, which reads and writes what the scrub only reads) and
  memory read (``np.bitwise_or.reduce``, one read pass like a clean scrub);
* SECDED encode of the same region vs the NumPy reference;
* TMR vote of three 128 MiB replicas vs NumPy ``(a&b)|(a&c)|(b&c)``; TMR repair of clean
  replicas vs the NumPy reference repair;
* CRC-16-CCITT-FALSE over 64 MiB vs crcmod's C extension (and binascii.crc_hqx);
  CRC-32C over 64 MiB vs crcmod's ``crc-32c``; CRC-16 of one 256-byte packet per call
  (microseconds per call, with the Python call overhead that dominates small packets).

Quick mode uses 1-4 MiB buffers and few repeats (a few seconds).
"""

from __future__ import annotations

import binascii
import sys
from collections.abc import Callable
from typing import Any

import crcmod.predefined
import numpy as np

from ground.bench.record import BenchRecord, median_seconds, throughput_record
from native import crc16_ccitt, crc32c, secded_encode, secded_scrub, tmr_repair, tmr_vote
from native.backend import c_library, use_backend
from native.reference import encode_ref, repair_ref, scrub_ref
from native.variants import SECDED_C_VARIANTS, scrub_c

__all__ = ["run"]

_GB = 1e9
_MIB = 1 << 20


def _crcmod_note() -> str:
    # crcmod silently falls back to pure Python when its extension is missing: say which ran.
    using_c = bool(getattr(sys.modules.get("crcmod.crcmod"), "_usingExtension", False))
    return "crcmod C extension" if using_c else "crcmod PURE-PYTHON fallback (no C extension)"


def _gbps(
    name: str,
    nbytes: int,
    ours: Callable[[], object],
    repeats: int,
    peer: str | None = None,
    peer_fn: Callable[[], object] | None = None,
    peer_repeats: int | None = None,
    note: str = "",
) -> BenchRecord:
    ours_s = median_seconds(ours, repeats=repeats)
    peer_s = None
    if peer_fn is not None:
        peer_s = median_seconds(peer_fn, repeats=peer_repeats or repeats)
    return throughput_record(name, "GB/s", nbytes / _GB, ours_s, peer, peer_s, note)


def _secded(quick: bool) -> list[BenchRecord]:
    nbytes = (4 if quick else 256) * _MIB
    repeats, peer_repeats = (3, 3) if quick else (7, 3)
    rng = np.random.default_rng(1)
    data = rng.integers(0, 2**64, nbytes // 8, dtype=np.uint64, endpoint=False)
    checks = secded_encode(data)
    size = f"{nbytes // _MIB} MiB"
    records: list[BenchRecord] = []

    def ref_scrub() -> None:
        scrub_ref(data, checks)

    with use_backend("c"):
        records.append(
            _gbps(
                f"secded_scrub clean {size} (C)",
                nbytes,
                lambda: secded_scrub(data, checks),
                repeats,
                "NumPy reference scrub",
                ref_scrub,
                peer_repeats,
                note=f"variant {_secded_variant(0)}",
            )
        )
    _, lib = c_library()
    counts = np.zeros(4, np.int64)
    idx = np.zeros(16, np.int64)
    for v, vname in SECDED_C_VARIANTS.items():
        if lib.satnode_secded_impl(v) != v:
            continue
        records.append(
            _gbps(
                f"secded_scrub clean {size} (C {vname})",
                nbytes,
                lambda v=v: scrub_c(data, checks, counts, idx, impl=v),  # type: ignore[misc]
                repeats,
            )
        )
    with use_backend("numba"):
        records.append(
            _gbps(
                f"secded_scrub clean {size} (Numba)",
                nbytes,
                lambda: secded_scrub(data, checks),
                repeats,
            )
        )
    dst = np.empty_like(data)
    records.append(
        _gbps(
            f"memory copy ceiling {size} (np.copyto)",
            nbytes,
            lambda: np.copyto(dst, data),
            repeats,
            note="reads and writes the buffer; the scrub only reads it",
        )
    )
    records.append(
        _gbps(
            f"memory read ceiling {size} (np.bitwise_or.reduce)",
            nbytes,
            lambda: np.bitwise_or.reduce(data),
            repeats,
            note="reads the buffer once, like a clean scrub",
        )
    )
    out = np.empty_like(checks)
    with use_backend("c"):
        records.append(
            _gbps(
                f"secded_encode {size} (C)",
                nbytes,
                lambda: secded_encode(data, out=out),
                repeats,
                "NumPy reference encode",
                lambda: encode_ref(data),
                peer_repeats,
                note=f"variant {_secded_variant(0)}",
            )
        )
    return records


def _secded_variant(impl: int) -> str:
    _, lib = c_library()
    return SECDED_C_VARIANTS[int(lib.satnode_secded_impl(impl))]


def _tmr(quick: bool) -> list[BenchRecord]:
    nbytes = (2 if quick else 128) * _MIB  # per replica
    repeats = 3 if quick else 7
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2**64, nbytes // 8, dtype=np.uint64, endpoint=False)
    b = a.copy()
    c = a.copy()
    # A sprinkling of upsets so the vote is not trivially all-equal.
    hit = rng.integers(0, a.size, max(1, a.size // 100_000))
    b[hit] ^= np.uint64(1 << 7)
    out = np.empty_like(a)
    size = f"3 x {nbytes // _MIB} MiB"
    records: list[BenchRecord] = []
    for backend in ("c", "numba"):
        with use_backend(backend):
            records.append(
                _gbps(
                    f"tmr_vote {size} ({backend})",
                    3 * nbytes,
                    lambda: tmr_vote(a, b, c, out=out),
                    repeats,
                    "NumPy (a&b)|(a&c)|(b&c)",
                    lambda: (a & b) | (a & c) | (b & c),
                    note="GB/s of input bytes; ours also counts mismatching words",
                )
            )
    b[hit] = a[hit]  # clean replicas: the scrub-pass case

    def ref_repair() -> None:
        voted, _ = repair_ref(a, b, c)
        for r in (a, b, c):
            differs = r != voted
            r[differs] = voted[differs]

    with use_backend("c"):
        records.append(
            _gbps(
                f"tmr_repair clean {size} (C)",
                3 * nbytes,
                lambda: tmr_repair(a, b, c),
                repeats,
                "NumPy reference repair",
                ref_repair,
                note="GB/s of input bytes",
            )
        )
    return records


def _crc(quick: bool) -> list[BenchRecord]:
    nbytes = (4 if quick else 64) * _MIB
    repeats = 3 if quick else 7
    buf = np.random.default_rng(3).integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    size = f"{nbytes // _MIB} MiB"
    peer16 = crcmod.predefined.mkCrcFun("crc-ccitt-false")
    peer32 = crcmod.predefined.mkCrcFun("crc-32c")
    note = _crcmod_note()
    records: list[BenchRecord] = []
    with use_backend("c"):
        records.append(
            _gbps(
                f"crc16_ccitt {size} (C)",
                nbytes,
                lambda: crc16_ccitt(buf),
                repeats,
                "crcmod crc-ccitt-false",
                lambda: peer16(buf),
                note=note + f"; variant {_variant_name('crc16')}",
            )
        )
        records.append(
            _gbps(
                f"crc16_ccitt {size} (C)",
                nbytes,
                lambda: crc16_ccitt(buf),
                repeats,
                "binascii.crc_hqx",
                lambda: binascii.crc_hqx(buf, 0xFFFF),
            )
        )
        records.append(
            _gbps(
                f"crc32c {size} (C)",
                nbytes,
                lambda: crc32c(buf),
                repeats,
                "crcmod crc-32c",
                lambda: peer32(buf),
                note=note + f"; variant {_variant_name('crc32c')}",
            )
        )
    with use_backend("numba"):
        records.append(
            _gbps(
                f"crc16_ccitt {size} (Numba)",
                nbytes,
                lambda: crc16_ccitt(buf),
                repeats,
                "crcmod crc-ccitt-false",
                lambda: peer16(buf),
                note=note,
            )
        )
        records.append(
            _gbps(
                f"crc32c {size} (Numba)",
                nbytes,
                lambda: crc32c(buf),
                repeats,
                "crcmod crc-32c",
                lambda: peer32(buf),
                note=note,
            )
        )
    records.append(_packet_call(peer16, quick, note))
    return records


def _variant_name(which: str) -> str:
    from native.variants import crc16_c_variant, crc32c_c_variant

    return crc16_c_variant() if which == "crc16" else crc32c_c_variant()


def _packet_call(peer16: Callable[..., Any], quick: bool, note: str) -> BenchRecord:
    """Per-call time for one 256-byte packet (time record: ratio = peer / ours)."""
    pkt = bytes(range(256))
    calls = 2_000 if quick else 50_000

    def ours() -> None:
        for _ in range(calls):
            crc16_ccitt(pkt)

    def peer() -> None:
        for _ in range(calls):
            peer16(pkt)

    with use_backend("c"):
        ours_s = median_seconds(ours, repeats=5) / calls
    peer_s = median_seconds(peer, repeats=5) / calls
    return BenchRecord(
        "crc16_ccitt 256-byte packet, per call (C)",
        ours_s * 1e6,
        "us",
        "crcmod crc-ccitt-false",
        peer_s * 1e6,
        peer_s / ours_s,
        note + "; includes argument checks and dispatch",
    )


def run(quick: bool) -> list[BenchRecord]:
    """Run the bit-kernel benchmarks (see the module docstring); single-threaded medians."""
    return [*_secded(quick), *_tmr(quick), *_crc(quick)]
