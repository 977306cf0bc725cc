"""Suite-wide pytest options and fixtures: the HIL target.

``--target sim`` (default) runs the both-targets tests on the in-process ``sim`` backend;
``--target rig`` runs them against a rig that the fixture starts in a separate process
(``satnode rig``); ``--target rig=HOST:PORT`` against a rig already running there (it must
serve the default configuration in lock-step, seed 1). Markers: ``both_targets`` (the set
that runs under every target), ``rig_only`` (needs a rig process, which the test starts itself).

Waiting on a rig process uses a generous wall-clock cap only to turn a rig that never starts
into a clear error; no test asserts on wall time.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: How long a rig process may take to start before the fixture gives up (wall clock, s).
RIG_START_CAP_S = 120.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        default="sim",
        help="backend of the both-targets tests: sim (default), rig (a rig process started "
        "by the fixture) or rig=HOST:PORT (a running rig)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_targets: runs under --target sim and rig")
    config.addinivalue_line(
        "markers", "rig_only: needs a rig in another process (the test starts its own)"
    )


@dataclass(frozen=True, slots=True)
class Target:
    """The ``--target`` option: ``kind`` "sim" or "rig", and a rig address when given."""

    kind: str
    address: str | None = None


def _parse_target(text: str) -> Target:
    if text == "sim":
        return Target("sim")
    if text == "rig":
        return Target("rig")
    if text.startswith("rig="):
        return Target("rig", text[4:])
    raise pytest.UsageError(f"--target must be sim, rig or rig=HOST:PORT, got {text!r}")


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    """The parsed ``--target`` option."""
    return _parse_target(str(request.config.getoption("--target")))


class RigProcess:
    """A ``satnode rig`` child process (stopped by :meth:`stop`)."""

    def __init__(self, args: list[str], workdir: Path) -> None:
        self.port_file = workdir / f"rig-{os.getpid()}-{id(self)}.port"
        self.log = workdir / (self.port_file.stem + ".log")
        cmd = [
            sys.executable,
            "-c",
            "import sys; from ground.cli import main; sys.exit(main())",
            "rig",
            "--listen",
            "127.0.0.1:0",
            "--port-file",
            str(self.port_file),
            *args,
        ]
        self._log = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + RIG_START_CAP_S
        while not self.port_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"rig exited ({self.proc.returncode}): {self.log.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"rig did not start within {RIG_START_CAP_S} s")
            time.sleep(0.05)
        self.address = self.port_file.read_text().strip()

    def kill(self) -> None:
        """Kill the rig abruptly (SIGKILL): a rig that dies."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        """Stop the rig (SIGTERM, then SIGKILL) and close its log (idempotent)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture
def start_rig(tmp_path: Path) -> Iterator[Callable[..., RigProcess]]:
    """Start ``satnode rig`` processes (``start_rig("--config", f, ...)``); all are stopped
    at the end of the test."""
    started: list[RigProcess] = []

    def start(*args: str) -> RigProcess:
        rig = RigProcess(list(args), tmp_path)
        started.append(rig)
        return rig

    yield start
    for rig in started:
        with contextlib.suppress(Exception):
            rig.stop()


@pytest.fixture(scope="session")
def rig_address(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """The rig of the both-targets tests: None under ``--target sim``; the given address, or
    a rig process serving the default configuration started for the session."""
    if target.kind == "sim":
        yield None
        return
    if target.address is not None:
        yield target.address
        return
    rig = RigProcess([], tmp_path_factory.mktemp("rig"))
    try:
        yield rig.address
    finally:
        rig.stop()
