"""The Numba cache never stops a read-only flight image from starting (issue 19).

Each case runs a fresh interpreter (the cache folder is chosen at import) that imports the
kernels and runs one, with a home that cannot be written (as root a mode bit is no obstacle,
so the home is a path under /proc, where nothing can be created).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from native.jit import CACHE_ENV, resolve_cache_dir

_PROBE = """
import numpy as np
from native import jit
from native.jit import kernel

@kernel
def twice(x):
    return 2.0 * x

assert twice(np.float64(2.0)) == 4.0
print(jit.CACHE_DIR)
print(jit.JIT_OPTIONS["cache"])
"""


def _run(env_extra: dict[str, str], cwd: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", CACHE_ENV)}
    env.update(env_extra)
    probe = cwd / "probe.py"  # a file: Numba caches only functions defined in one
    probe.write_text(_PROBE)
    done = subprocess.run(
        [sys.executable, str(probe)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_no_writable_home_means_no_cache_not_a_crash(tmp_path: Path) -> None:
    out = _run({"HOME": "/proc/satnode-no-home"}, tmp_path)
    assert out == ["None", "False"]


def test_the_cache_goes_where_the_environment_says(tmp_path: Path) -> None:
    folder = tmp_path / "numba-cache"
    out = _run({CACHE_ENV: str(folder), "HOME": "/proc/satnode-no-home"}, tmp_path)
    assert out == [str(folder), "True"]
    assert any(folder.rglob("*.nbi"))  # the compiled kernel was stored there


def test_resolution_rules(tmp_path: Path) -> None:
    assert resolve_cache_dir({CACHE_ENV: "off"})[0] is None
    assert resolve_cache_dir({CACHE_ENV: "/proc/nope/cache"})[0] is None
    assert resolve_cache_dir({"XDG_CACHE_HOME": str(tmp_path)})[0] == tmp_path / "satnode" / "numba"
    assert resolve_cache_dir({"HOME": str(tmp_path)})[0] == tmp_path / ".cache" / "satnode" / "numba"
