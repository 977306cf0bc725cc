"""Determinism (issue 13, item 2): the same seed and configuration give a byte-identical
``tm.bin`` and the same ``summary.json`` once its ``"wall"`` section (the host's own
measurements) is removed. The two runs are separate processes, so nothing (JIT state, the
hash seed, a warm cache) is shared but the inputs. Oracle: the first run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flight.tmtc import split_packets

RUN_S = "1800"


def _run(out: Path, hash_seed: str) -> tuple[bytes, dict[str, object]]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run(
        [sys.executable, "-m", "ground.cli", "sim", "--duration", RUN_S, "--seed", "11",
         "--out", str(out)],
        check=True, env=env, capture_output=True, text=True,
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    return (out / "tm.bin").read_bytes(), summary


def test_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    tm1, s1 = _run(tmp_path / "a", "1")
    tm2, s2 = _run(tmp_path / "b", "2")
    assert len(tm1) > 100_000
    if tm1 != tm2:  # name the first packet that differs
        p1, _ = split_packets(tm1)
        p2, _ = split_packets(tm2)
        first = next((i for i, (x, y) in enumerate(zip(p1, p2, strict=False)) if x != y), None)
        where = "lengths" if first is None else f"{p1[first]!r} != {p2[first]!r}"
        raise AssertionError(f"tm.bin differs: {len(p1)} vs {len(p2)} packets; first: {where}")
    wall1, wall2 = s1.pop("wall"), s2.pop("wall")
    assert isinstance(wall1, dict) and isinstance(wall2, dict)
    assert set(wall1) == {"wall_seconds", "realtime_factor", "wall_overruns", "pacing_resyncs",
                          "peak_rss_mb", "components"}  # fmt: skip
    assert s1 == s2
    executive = s1["executive"]
    assert isinstance(executive, dict) and executive["cycle_slips"] == 0
