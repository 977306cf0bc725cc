"""The boot selector's loop: choose a slot, unpack it, run its flight stack, repeat on reboot.

:func:`boot_target` is what ``satnode boot`` (and ``python -m flight.boot`` on a flight
computer without the ground tools) runs. Each boot: the boot store selects a slot (counting
a try only for a pending upgrade, re-verifying the slot's hashes), the slot's wheel is
unpacked into the target's run folder (kept between boots of the same image and re-checked
against the wheel's RECORD hashes every time), and the stack runs in a child process from
the slot's own code. The child's exit says what happens next: 0, the run is over;
:data:`~flight.boot._stack.EXIT_REBOOT`, boot again (``boot.rollback``); anything else is an
unexpected reset, after which the selector runs again (a pending upgrade loses a try).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flight.boot._stack import BOOTSTRAP, EXIT_REBOOT
from flight.boot._store import BootChoice
from flight.boot._target import Target, open_target
from native.errors import SatnodeError

__all__ = ["BootOutcome", "boot_target", "prepare_slot", "verify_site"]


@dataclass
class BootOutcome:
    """What a run of the selector did: one entry per boot, and the last exit status."""

    boots: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int = 0


def _record_hash(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify_site(site: Path) -> bool:
    """True when every file the wheel's RECORD lists is present with its recorded hash."""
    records = list(site.glob("*.dist-info/RECORD"))
    if len(records) != 1:
        return False
    for line in records[0].read_text(encoding="utf-8").splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) != 3 or not parts[1]:
            continue  # RECORD lists itself without a hash
        path = site / parts[0]
        try:
            if _record_hash(path) != parts[1]:
                return False
        except OSError:
            return False
    return True


def prepare_slot(target: Target, choice: BootChoice) -> tuple[Path, Path, bool]:
    """Unpack the chosen slot's wheel and configuration under the run folder; returns
    (site folder, configuration file, configuration is complete)."""
    image = choice.image
    wheel = image.content(image.file("wheel"))
    cfg_entry = image.file("config")
    complete = bool(image.manifest.get("config_complete", False))
    home = target.run_dir.resolve() / f"{choice.slot}-{image.sha256[:16]}"
    site = home / "site"
    if not (site.is_dir() and verify_site(site)):
        shutil.rmtree(home, ignore_errors=True)
        tmp = home.with_name(home.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "site").mkdir(parents=True)
        with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
            zf.extractall(tmp / "site")
        tmp.rename(home)
        if not verify_site(site):
            raise SatnodeError(f"slot {choice.slot}: the unpacked wheel does not match its RECORD")
    config = home / "config.toml"
    content = image.content(cfg_entry)
    if not config.is_file() or config.read_bytes() != content:
        config.write_bytes(content)
    return site, config, complete


def _overrides(target: Target, choice: BootChoice, config: Path) -> dict[str, Any]:
    """The target's additions to a slot's configuration: the boot record's NV storage."""
    nv = target.nv_dir
    if nv is None:
        raise SatnodeError("the target's NV storage has no directory for the flight stack")
    directory = str(nv.resolve())
    try:
        hal = tomllib.loads(config.read_text(encoding="utf-8")).get("hal", {})
    except (OSError, tomllib.TOMLDecodeError):
        hal = {}
    if hal.get("backend") == "linux":
        # linux device paths resolve under [hal] root
        directory = os.path.relpath(directory, str(hal.get("root", "/")))
    return {
        "boot": {"slot": choice.slot, "storage": "bootnv"},
        "devices": {"bootnv": {"family": "storage", "directory": directory}},
    }


def boot_target(
    root: str | Path,
    *,
    duration_s: float,
    speed: float | None = None,
    max_boots: int = 8,
    python: str = sys.executable,
    on_event: Callable[[str], None] | None = None,
    timing: Path | None = None,
    extra_args: list[str] | None = None,
) -> BootOutcome:
    """Boot the target at ``root`` until a stack runs its ``duration_s`` (onboard seconds)
    or ``max_boots`` boots were made (module docstring). ``speed``: pacing (None: as fast as
    possible; 1: real time). ``timing``: the last stack's cold-start stamps go there."""
    say = on_event or (lambda _m: None)
    outcome = BootOutcome()
    for _ in range(max_boots):
        target = open_target(root)
        try:
            choice = target.store.select(say)
            site, config, complete = prepare_slot(target, choice)
            overrides = _overrides(target, choice, config)
            data_dir = target.data_dir
            run_dir = target.run_dir
        finally:
            target.close()
        say(
            f"boot {choice.record.boots}: slot {choice.slot} v{choice.image.version} "
            f"({choice.kind}, tries left {choice.record.tries_left})"
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [python, "-s", "-c", BOOTSTRAP, str(site), "--config", str(config)]
        if complete:
            cmd.append("--complete")
        cmd += ["--out", str(data_dir), "--duration", repr(float(duration_s))]
        cmd += ["--overrides", json.dumps(overrides)]
        if speed is not None:
            cmd += ["--speed", repr(float(speed))]
        if timing is not None:
            cmd += ["--timing", str(timing)]
        cmd += extra_args or []
        env = dict(os.environ)
        # caches outside the verified slot folder: the JIT's and the byte-code's
        env["NUMBA_CACHE_DIR"] = str(run_dir / "numba-cache")
        env["PYTHONPYCACHEPREFIX"] = str(run_dir / "pycache")
        env.pop("PYTHONPATH", None)
        rc = subprocess.run(cmd, env=env, check=False).returncode
        outcome.boots.append(
            {"slot": choice.slot, "version": choice.image.version, "kind": choice.kind,
             "exit": rc}
        )  # fmt: skip
        outcome.exit_code = rc
        if rc == 0:
            return outcome
        say(
            f"slot {choice.slot}: stack exited with {rc} "
            + ("(reboot requested)" if rc == EXIT_REBOOT else "(unexpected reset)")
        )
    return outcome
