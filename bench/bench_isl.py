"""ARQ goodput under frame loss against the selective-repeat bound (issue 15).

Two :class:`flight.isl.ArqLink` ends exchange frames over a seeded in-memory
:class:`flight.isl.LossyChannel` in simulated time: each step the channel carries
``--frames-per-step`` frames each way (its rate), with a one-way latency of ``--latency-ms``;
DATA frames and ACK frames are both lost with probability p. The sender always has data.

The bound (closed form) for ideal selective repeat with a window above the bandwidth-delay
product is ``goodput = (1 - p) x rate``: every frame slot carries new data except the lost
ones, which are sent again once. Goodput is measured as payload frames delivered in order to
the receiver per step, after a warm-up; framing overhead (24 octets per frame) is reported
apart and is not part of the comparison.

For each loss rate (default 1e-4 and 1e-2) and ``--repeats`` seeds it prints the median
goodput / bound ratio (acceptance: >= 0.90), the retransmission count against the expected
``n p / (1 - p)``, and the wall time per simulated frame. Exit status 1 if the acceptance
fails. ``--json FILE`` writes the figures.

Usage: ``python bench/bench_isl.py [--steps 4000] [--frames-per-step 50] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from flight.isl import FRAME_OVERHEAD_BYTES, ArqLink, LossyChannel, decode_frame, node_address

STEP_NS = 1_000_000  # 1 ms per step
ACCEPT = 0.90


def run_once(loss: float, *, seed: int, steps: int, frames_per_step: int, payload: int,
             window: int, latency_ms: float, warmup: int) -> dict[str, float]:
    """One simulated transfer; returns goodput figures."""
    now = [0]
    ch = LossyChannel("a", "b", lambda: now[0], seed=seed, loss=loss,
                      latency_ns=round(latency_ms * 1e6), rate_bps=1e9,
                      mtu_bytes=payload + FRAME_OVERHEAD_BYTES)
    a_addr, b_addr = node_address("a"), node_address("b")
    rto_ns = round((2 * latency_ms + 5) * 1e6)
    tx = ArqLink(a_addr, b_addr, window=window, rto_ns=rto_ns, session=1)
    rx = ArqLink(b_addr, a_addr, window=window, rto_ns=rto_ns, session=2)
    block = bytes(payload)
    delivered = 0
    delivered_at_warmup = 0
    t0 = time.perf_counter()
    for step in range(steps):
        if tx.sender.room > 0:
            for _ in range(tx.sender.room):
                tx.sender.offer(block, None)
        for link, end in ((tx, "a"), (rx, "b")):
            e = ch.end(end)
            while (raw := e.receive()) is not None:
                got = link.on_frame(decode_frame(raw))
                if link is rx:
                    delivered += len(got)
            for raw in link.poll(now[0], frames_per_step):
                e.send(raw)
        if step == warmup:
            delivered_at_warmup = delivered
        now[0] += STEP_NS
    wall = time.perf_counter() - t0
    measured_steps = steps - warmup - 1
    # ACK frames share the reverse direction only: the forward slots are all DATA
    goodput = (delivered - delivered_at_warmup) / measured_steps  # frames per step
    bound = (1.0 - loss) * frames_per_step
    sent = tx.sender.sent
    return {
        "ratio": goodput / bound,
        "goodput_frames_per_step": goodput,
        "bound_frames_per_step": bound,
        "retransmitted": float(tx.counters.frames_retransmitted),
        "expected_retransmissions": sent * loss,
        "frames_sent": float(sent),
        "wall_us_per_frame": wall / max(sent, 1) * 1e6,
        "payload_efficiency": payload / (payload + FRAME_OVERHEAD_BYTES),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loss", type=float, nargs="+", default=[1e-4, 1e-2])
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--frames-per-step", type=int, default=50)
    ap.add_argument("--payload", type=int, default=8192)
    ap.add_argument("--window", type=int, default=4096)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    ok = True
    print(f"{'loss':>8} {'goodput/bound':>14} {'retx':>8} {'retx expected':>14} "
          f"{'us/frame':>9}")
    for loss in args.loss:
        runs = [run_once(loss, seed=s, steps=args.steps, frames_per_step=args.frames_per_step,
                         payload=args.payload, window=args.window, latency_ms=args.latency_ms,
                         warmup=args.warmup) for s in range(args.repeats)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        results[f"{loss:g}"] = med
        ok &= med["ratio"] >= ACCEPT
        print(f"{loss:8.0e} {med['ratio']:14.4f} {med['retransmitted']:8.0f} "
              f"{med['expected_retransmissions']:14.1f} {med['wall_us_per_frame']:9.1f}")
    print(f"acceptance: goodput >= {ACCEPT:.0%} of (1 - p) x rate: {'PASS' if ok else 'FAIL'}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
