"""Hardware-in-the-loop over loopback: device-call round trip, and one orbit of the default
node in lock-step over the wire against the in-process run (issue 14).

    python bench/bench_hil.py [--calls 20000] [--orbits 1.0] [--repeat 3] [--json FILE]

A rig (``satnode rig``, the default configuration, lock-step) runs in its own process; this
process is the flight side. Reported, each with its peer measured in the same run:

- round trip of one device call (``imu.read()``) over the wire, median and p99 (us), and of an
  empty batch (the protocol's floor), against the same call on the in-process ``sim`` device
  and a raw 64-byte socket ping-pong with a Python echo process (the floor of any protocol);
- wall time of ``--orbits`` orbits of the full default node on ``sim`` in-process and on
  ``hil`` against the rig, their real-time factors and the ratio (targets: median call
  <= 50 us, hil >= 100x real time and within 3x of sim), for ``--repeat`` interleaved
  sim/hil pairs (each ratio is measured in the same conditions; the median pair is reported
  and every pair's ratio printed), with the round trips the hil run made per tick. The two
  runs' ``tm.bin`` are compared too (lock-step equivalence).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from flight.config import load_config
from flight.node import Node, NodeOptions
from hal.registry import open_backend

ORBIT_S = 5739.0
#: Calls per block when the call cases are interleaved.
_BLOCK = 200


def start_rig(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = workdir / "rig.port"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from ground.cli import main; sys.exit(main())",
         "rig", "--listen", "127.0.0.1:0", "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("bench_hil: the rig did not start")
        time.sleep(0.05)
    return proc, port_file.read_text().strip()


def percentiles(xs_ns: list[int]) -> dict[str, float]:
    xs = sorted(xs_ns)
    return {
        "median_us": statistics.median(xs) / 1e3,
        "p99_us": xs[int(0.99 * (len(xs) - 1))] / 1e3,
    }


_ECHO_SERVER = """
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    data = conn.recv(65536)
    if not data:
        break
    conn.sendall(data)
"""


def bench_raw_socket(n: int) -> dict[str, float]:
    """Round trip of a 64-byte message through a Python echo server in another process over
    loopback TCP (TCP_NODELAY, one ``sendall`` and one ``recv`` per side): the floor under
    any protocol, measured in the same conditions as the calls."""
    proc = subprocess.Popen([sys.executable, "-c", _ECHO_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(5.0)  # as the link does: a timed socket
        payload = bytes(64)
        samples = []
        for i in range(n + 500):
            t0 = time.perf_counter_ns()
            sock.sendall(payload)
            got = 0
            while got < len(payload):
                got += len(sock.recv(65536))
            if i >= 500:  # warm-up
                samples.append(time.perf_counter_ns() - t0)
        sock.close()
    finally:
        proc.wait(timeout=10)
    return percentiles(samples)


def bench_calls(address: str, n: int) -> dict[str, Any]:
    config = load_config(None)
    imu_table = config["devices"]["imu"]
    out: dict[str, Any] = {}
    hil: Any = open_backend("hil", rig=address, seed=1)
    sim: Any = open_backend("sim", seed=1)
    try:
        imu = hil.create("imu", "imu", imu_table)
        sim_imu = sim.create("imu", "imu", imu_table)
        for _ in range(500):  # warm-up
            imu.read()
        cases = (
            ("hil_read", imu.read),
            ("hil_empty_batch", lambda: hil._request_calls([])),
            ("sim_read", sim_imu.read),
        )
        samples: dict[str, list[int]] = {label: [] for label, _ in cases}
        # interleaved in blocks, so that a burst of load on the shared machine hits every
        # case alike
        for _ in range(max(1, n // _BLOCK)):
            for label, fn in cases:
                got = samples[label]
                for _ in range(_BLOCK):
                    t0 = time.perf_counter_ns()
                    fn()
                    got.append(time.perf_counter_ns() - t0)
        for label, got in samples.items():
            out[label] = percentiles(got)
    finally:
        hil.close()
        sim.close()
    out["ratio_hil_to_sim_read"] = out["hil_read"]["median_us"] / out["sim_read"]["median_us"]
    return out


def run_node(
    config: dict[str, Any], out_dir: Path, duration_s: float
) -> tuple[float, bytes, dict[str, Any]]:
    node = Node(config, NodeOptions(out_dir=out_dir, seed=1))
    try:
        summary = node.run(duration_s)
        wall = node.wall_seconds
    finally:
        node.close()
    return wall, (out_dir / "tm.bin").read_bytes(), summary


def bench_orbit(address: str, orbits: float, repeat: int, workdir: Path) -> dict[str, Any]:
    """``repeat`` pairs of runs, sim then hil, interleaved so that each pair's ratio is
    measured in the same conditions (the machine is shared); the median pair is reported."""
    duration = orbits * ORBIT_S
    pairs = []
    for i in range(repeat):
        sim_wall, sim_tm, _ = run_node(load_config(None), workdir / f"sim{i}", duration)
        config = load_config(None)
        config["hal"] = {**config["hal"], "backend": "hil", "rig": address}
        hil_wall, hil_tm, summary = run_node(config, workdir / f"hil{i}", duration)
        link = summary["hal"]["link"]
        ticks = int(summary["executive"]["ticks"])
        pairs.append(
            {
                "sim_wall_s": sim_wall,
                "hil_wall_s": hil_wall,
                "ratio_hil_to_sim": hil_wall / sim_wall,
                "tm_bin_identical": sim_tm == hil_tm,
                "tm_bin_bytes": len(sim_tm),
                "ticks": ticks,
                "round_trips": int(link["requests"]),
                "round_trips_per_tick": int(link["requests"]) / ticks,
                "calls_per_tick": int(link["calls"]) / ticks,
            }
        )
    ratios = [p["ratio_hil_to_sim"] for p in pairs]
    mid = pairs[ratios.index(statistics.median_low(ratios))]
    return {
        "onboard_s": duration,
        **mid,
        "sim_realtime_factor": duration / mid["sim_wall_s"],
        "hil_realtime_factor": duration / mid["hil_wall_s"],
        "ratios": ratios,
        "pairs": pairs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--orbits", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3, help="sim/hil run pairs (median)")
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hil-") as tmp:
        work = Path(tmp)
        proc, address = start_rig(work)
        try:
            calls = bench_calls(address, args.calls)
            calls["raw_socket"] = bench_raw_socket(args.calls)
            orbit = bench_orbit(address, args.orbits, args.repeat, work)
        finally:
            proc.terminate()
            proc.wait()
    for label in ("hil_read", "hil_empty_batch", "raw_socket", "sim_read"):
        c = calls[label]
        print(f"{label:16s} median {c['median_us']:8.1f} us   p99 {c['p99_us']:8.1f} us")
    print(
        f"hil/sim read ratio: {calls['ratio_hil_to_sim_read']:.1f}x (target: hil median <= 50 us)"
    )
    print(
        f"{orbit['onboard_s']:.0f} s onboard (median of {len(orbit['ratios'])} interleaved "
        f"pairs): sim {orbit['sim_wall_s']:.2f} s ({orbit['sim_realtime_factor']:.0f}x real "
        f"time), hil {orbit['hil_wall_s']:.2f} s ({orbit['hil_realtime_factor']:.0f}x real "
        f"time); hil/sim {orbit['ratio_hil_to_sim']:.2f}x (targets: >= 100x, <= 3x); "
        f"tm.bin identical: {all(p['tm_bin_identical'] for p in orbit['pairs'])}"
    )
    print("hil/sim ratio of each pair: " + ", ".join(f"{r:.2f}x" for r in orbit["ratios"]))
    print(
        f"round trips per tick: {orbit['round_trips_per_tick']:.2f} "
        f"({orbit['calls_per_tick']:.2f} calls per tick, {orbit['ticks']} ticks)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"calls": calls, "orbit": orbit}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
