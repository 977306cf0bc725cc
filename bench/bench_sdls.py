"""Benchmark SDLS frame verification per 1 KB TC frame (AES-256-GCM, AES-256-CMAC,
HMAC-SHA-256) and the cost of rejecting junk, medians of repeats.

Usage::

    python bench/bench_sdls.py [--quick]

Each figure is the whole onboard check of one frame (framing, FECF, SPI, window, MAC/tag,
decryption for GCM), as :func:`flight.tmtc.verify_frame` runs it. The peer row is the bare
``cryptography`` primitive on the same 1 KB, in the same run: the ratio shows what framing
and the window add.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from flight.security import MISSION_SAS
from flight.tmtc import (
    MacEngine,
    ReplayWindow,
    SaParams,
    max_payload,
    pec_kernel_status,
    protect_frame,
    verify_frame,
)


class _Table:
    def __init__(self, sa: SaParams, engine: MacEngine) -> None:
        self.entry = (sa, engine, ReplayWindow(0, 10, sa.counter_max))

    def lookup(self, spi: int) -> tuple[SaParams, MacEngine, ReplayWindow]:
        return self.entry


def _median_us(fn, n: int, repeats: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    """Print the medians (µs per frame) and ratios."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    n, repeats = (2_000, 5) if args.quick else (20_000, 7)
    key = bytes(range(32))
    print(f"# {pec_kernel_status()}")
    print(f"{'benchmark':34} {'ours us':>8} {'peer us':>8} {'ratio':>6}  note")
    for sa in MISSION_SAS[:3]:
        engine = MacEngine(sa.algorithm, key)
        user = bytes(1024 - 6 - 1 - sa.overhead - 2 - 5)
        assert len(user) <= max_payload(sa)
        frame = protect_frame(sa, engine, 42, 0, 1, b"\xc0" + user)
        table = _Table(sa, engine)
        ours = _median_us(lambda f=frame, t=table: verify_frame(f, 42, t), n, repeats)
        if sa.algorithm == "aes-256-gcm":
            g = AESGCM(key)
            ct = g.encrypt(bytes(12), user, b"hdr")
            peer = _median_us(lambda g=g, ct=ct: g.decrypt(bytes(12), ct, b"hdr"), n, repeats)
        else:

            def peer_fn(frame: bytes = frame) -> None:
                c = cmac.CMAC(algorithms.AES(key))
                c.update(frame)
                c.finalize()

            peer = _median_us(peer_fn, n, repeats)
        print(
            f"sdls.verify_1k.{sa.algorithm:21} {ours:8.2f} {peer:8.2f} {ours / peer:5.1f}x"
            f"  {len(frame)}-octet frame; peer: the bare primitive"
        )
    junk = bytes(range(256)) * 4
    table = _Table(MISSION_SAS[0], MacEngine(MISSION_SAS[0].algorithm, key))

    def reject() -> None:
        with contextlib.suppress(ValueError):
            verify_frame(junk, 42, table)

    print(
        f"{'sdls.reject_junk_1k':34} {_median_us(reject, n, repeats):8.2f} {'-':>8} {'-':>6}"
        "  random 1 KB datagram: rejected by framing, no cryptography"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
