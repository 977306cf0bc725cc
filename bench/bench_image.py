"""Deployment image: verification throughput against hashlib, and cold start of ``satnode boot``.

1. **Verification** (:func:`flight.boot.verify_image`: container, Ed25519 signature, sha256 of
   every file) of an image with a ``--mib`` MiB payload, against ``hashlib.sha256`` over the
   same image bytes, in the same run: medians of ``--repeats`` runs; acceptance: throughput
   ratio (hashlib time / verify time) >= 0.9.
2. **Cold start**: a target is laid out in a temporary folder with an image of this tree (the
   flight wheel built with pip), booted once to warm the caches (byte code, JIT), then
   ``satnode boot --duration 1`` is run ``--boots`` times. Parts (medians, s; performance
   counter stamps, comparable between processes on Linux): ``selector`` (``satnode`` start,
   boot record, slot re-verification, unpacked-wheel check, spawn), ``imports`` (the slot's
   interpreter start and flight imports), ``compose`` (node composition: backend, apps, compiled
   kernels), ``first_tick`` (boot to the first tick), ``first_hk`` (first tick to the first
   housekeeping packet), and ``total``. Acceptance: total <= 3 s.

Usage: ``python bench/bench_image.py [--mib 64] [--repeats 7] [--boots 5] [--json FILE]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flight.boot import (
    MANIFEST_SCHEMA,
    SIGNING_CONTEXT,
    TrustPolicy,
    canonical_json,
    key_id,
    pack_image,
    verify_image,
)


def bench_verify(mib: int, repeats: int) -> dict[str, float]:
    """Median times of verify_image and of hashlib.sha256 on the same image bytes."""
    key = Ed25519PrivateKey.generate()
    wheel = os.urandom(mib << 20)
    config = b"[node]\nname = 'bench'\n"
    files = [("w.whl", "wheel", wheel), ("config.toml", "config", config)]
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA, "version": 1, "models": ["bench"], "expires_utc_s": 4e9,
        "files": [{"name": n, "role": r, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                  for n, r, b in files],
    }  # fmt: skip
    sig = key.sign(SIGNING_CONTEXT + canonical_json(manifest)).hex()
    data = pack_image(manifest, [{"keyid": key_id(key.public_key()), "sig": sig}], wheel + config)
    trust = TrustPolicy({key_id(key.public_key()): key.public_key()})
    t_verify: list[float] = []
    t_hash: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        hashlib.sha256(data).digest()
        t_hash.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        verify_image(data, trust, model="bench")
        t_verify.append(time.perf_counter() - t0)
    v, h = statistics.median(t_verify), statistics.median(t_hash)
    mb = len(data) / 1e6
    return {"image_mb": mb, "verify_s": v, "hashlib_s": h, "verify_mb_s": mb / v,
            "hashlib_mb_s": mb / h, "ratio": h / v}  # fmt: skip


def _satnode(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ground.cli", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def bench_cold_start(boots: int) -> dict[str, Any]:
    """Median parts of the cold start of ``satnode boot`` to the first HK packet."""
    from ground.image import build_flight_wheel

    with tempfile.TemporaryDirectory(prefix="satnode-bench-") as tmp:
        d = Path(tmp)
        wheel = build_flight_wheel(d / "wheel")
        _satnode("image", "keygen", "--out", str(d / "k"))
        _satnode("image", "build", "--version", "1", "--key", str(d / "k"), "--wheel", str(wheel),
                 "--out", str(d / "v1.img"))  # fmt: skip
        _satnode("target", "init", str(d / "T"), "--trust", str(d / "k.pub"), "--factory",
                 str(d / "v1.img"))  # fmt: skip
        timing = d / "timing.json"
        cmd = [sys.executable, "-m", "ground.cli", "boot", "--target", str(d / "T"),
               "--duration", "1", "--timing", str(timing)]  # fmt: skip
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)  # warm the caches
        parts: dict[str, list[float]] = {}
        for _ in range(boots):
            t0 = time.perf_counter_ns()
            subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
            s = json.loads(timing.read_text())
            marks = {
                "selector": s["start"] - t0,
                "imports": s["imports"] - s["start"],
                "compose": s["composed"] - s["imports"],
                "first_tick": s["first_tick"] - s["composed"],
                "first_hk": s["first_hk"] - s["first_tick"],
                "total": s["first_hk"] - t0,
            }
            for k, v in marks.items():
                parts.setdefault(k, []).append(v / 1e9)
        return {k: statistics.median(v) for k, v in parts.items()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mib", type=int, default=64)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--boots", type=int, default=5)
    p.add_argument("--json")
    args = p.parse_args()
    v = bench_verify(args.mib, args.repeats)
    print(f"verify {v['image_mb']:.0f} MB: {v['verify_mb_s']:.0f} MB/s; hashlib sha256 "
          f"{v['hashlib_mb_s']:.0f} MB/s; ratio {v['ratio']:.3f} (>= 0.9)")  # fmt: skip
    c = bench_cold_start(args.boots)
    print("cold start (median s): " + ", ".join(f"{k} {val:.3f}" for k, val in c.items())
          + " (total <= 3 s)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"verify": v, "cold_start": c}, indent=2))
    return 0 if v["ratio"] >= 0.9 and c["total"] <= 3.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
