"""Conventions of DESIGN.md that tools can check: ruff clean, strict typing.

The linters run as subprocesses on the installed sources (pinned versions in the ``test``
extra), so a style or typing regression fails the suite like any other defect.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["flight", "hal", "native", "hil", "ground"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_clean() -> None:
    res = _run("ruff", "check", *PACKAGES, "tests", "bench")
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_strict() -> None:
    res = _run("mypy", *PACKAGES)
    assert res.returncode == 0, res.stdout + res.stderr
