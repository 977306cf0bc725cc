"""A running node on loopback UDP under 100,000 hostile frames, and under a flood.

Fuzz: valid frames (pings with unique sequence counts, in counter order) interleaved with
forged (wrong key), mutated (one bit, FECF recomputed so only the MAC can catch it),
truncated, replayed, reordered (older valid frames after newer ones), wrong-SPI and random
frames. Zero forged commands execute; every valid one executes exactly once. The node is
stepped in onboard time between batches.

Flood: every tick, thousands of unauthenticated datagrams and one valid ping; >= 90 % of the
pings are answered within 2 s of onboard time, and the junk is rejected by the framing
checks, before any cryptography.
"""

from __future__ import annotations

import random
import struct
from collections import Counter
from pathlib import Path

from flight.tmtc import MacEngine, pack_tc, protect_frame, segment
from ground.uplink import SecureUplink
from tests.flight.security._helpers import SecuredNode, crc16_ccitt

_TOTAL = 100_000
_BATCH = 1_000
_VALID_PER_BATCH = 10


def _refcs(frame: bytearray) -> bytes:
    frame[-2:] = crc16_ccitt(bytes(frame[:-2])).to_bytes(2, "big")
    return bytes(frame)


def test_fuzz_100k_frames_zero_forged_executed_valid_exactly_once(tmp_path: Path) -> None:
    n = SecuredNode(tmp_path)
    rng = random.Random(18)
    try:
        up = SecureUplink(n.key_file)
        forger = MacEngine(up._params[1].algorithm, bytes(rng.randrange(256) for _ in range(32)))
        sent_valid: list[int] = []
        history: list[bytes] = []
        judged = 0
        seq = 0
        while judged < _TOTAL:
            batch: list[bytes] = []
            for _ in range(_VALID_PER_BATCH):
                seq += 1
                (frame,) = up.encode(pack_tc(n.apid, seq, 17, 1, 0xF, 0, b""))
                batch.append(frame)
                sent_valid.append(seq)
            junk: list[bytes] = []
            while len(junk) < _BATCH - _VALID_PER_BATCH:
                # Copies come only from frames already sent: a copy of a frame not yet sent
                # would be a legitimate (earlier) delivery of it, not an attack.
                kind = rng.randrange(8) if history else rng.choice([0, 6])
                base = bytearray(rng.choice(history)) if history else bytearray()
                if kind == 0:  # forged: right format, wrong key, counter in the window
                    (seg,) = segment(
                        pack_tc(n.apid, 9000 + len(junk) % 5000, 17, 1, 15, 0, b""), 900
                    )
                    junk.append(protect_frame(up._params[1], forger, 42, 0,
                                              up.next_counter(1) + rng.randrange(10), seg))  # fmt: skip
                elif kind == 1:  # one bit flipped anywhere before the FECF, FECF made good
                    bit = rng.randrange((len(base) - 2) * 8)
                    base[bit // 8] ^= 1 << (bit % 8)
                    junk.append(_refcs(base))
                elif kind == 2:  # truncated
                    junk.append(bytes(base[: rng.randrange(len(base))]))
                elif kind in (3, 4):  # replayed / reordered: an old valid frame again
                    junk.append(bytes(base))
                elif kind == 5:  # wrong SPI (another SA, or none), FECF made good
                    base[6:8] = struct.pack(">H", rng.choice([2, 3, 4, 255, 999]))
                    junk.append(_refcs(base))
                elif kind == 6:  # random bytes
                    junk.append(rng.randbytes(rng.randrange(1, 200)))
                else:  # a counter far ahead, FECF made good (MAC now wrong too)
                    base[8:10] = b"\xff\xff"
                    junk.append(_refcs(base))
            # Valid frames go in counter order; junk copies only of frames sent earlier.
            for i, frame in enumerate(batch):
                junk.insert(rng.randrange(len(junk) + 1) if i == 0 else len(junk), frame)
            order = junk
            n.send(order)
            history.extend(batch)
            judged += len(order)
            n.drain()
        done = Counter(n.completed())
        assert judged >= _TOTAL
        assert n.node.link is not None and n.node.link.kernel_drops == 0
        assert set(done) == set(sent_valid), "a valid frame was lost or a forged one executed"
        assert all(c == 1 for c in done.values()), "a frame executed twice"
        hk = n.security.hk
        assert hk.frames_accepted == len(sent_valid)
        assert hk.frames_received == judged
    finally:
        n.close()


def test_flood_pings_answered_within_2_s_and_junk_costs_no_crypto(tmp_path: Path) -> None:
    n = SecuredNode(tmp_path)
    rng = random.Random(19)
    try:
        up = SecureUplink(n.key_file)
        ticks = 60
        sent_at: dict[int, int] = {}
        for tick in range(ticks):
            junk = [rng.randbytes(rng.randrange(8, 120)) for _ in range(2_000)]
            seq = tick + 1
            (ping,) = up.encode(pack_tc(n.apid, seq, 17, 1, 0xF, 0, b""))
            junk.insert(rng.randrange(len(junk)), ping)
            sent_at[seq] = n.node.clock.now_ns()
            n.send(junk)
            n.tick()
        n.tick(30)
        answered_at: dict[int, int] = {}
        period = n.node.executive.period_ns
        for t in n.reports(1, 7):
            seq = struct.unpack(">I", t.data[:4])[0] & 0x3FFF
            answered_at[seq] = n.node.tmtc.time_code.decode(t.time)
        in_time = [s for s in sent_at if s in answered_at
                   and answered_at[s] - sent_at[s] <= 2_000_000_000 + period]  # fmt: skip
        assert len(in_time) >= 0.9 * ticks
        hk = n.security.hk
        assert hk.rej_mac == 0  # the junk never reached the MAC
        assert hk.rej_frame + hk.rej_bare + hk.rej_spi + hk.rej_sa >= 0.99 * 2_000 * ticks - (
            n.node.link.kernel_drops if n.node.link else 0
        )
    finally:
        n.close()
