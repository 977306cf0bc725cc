"""``satnode faults power-cut``: cut power at every write and fsync point of an update.

The procedure under test is the whole update of a target: install an image (verify, write
the inactive slot, read it back, arm), boot (the selector's counted try) and mark-good. The
campaign first runs it once on a copy of the target, counting every storage point
(:class:`hal.linux.FileOps` open, write, fsync, rename, fsync_dir, unlink); then, for each point
``k``, it runs the procedure on a fresh copy and cuts power at point ``k``: that operation and
everything after it never happen, and every file loses the data written since its last fsync
(truncated to its durable length; a rename carries the durable length with it). Then it
reboots: the boot selector runs on the copy with ordinary storage.

A cut point is **bootable** when, after the reboot, the boot record decodes without being
rebuilt and passes its consistency rules, the selector chose a slot that verifies, and that
slot holds exactly one of the images that were ever installed (never a partial one).

``--kills N`` adds a run with real processes: the procedure runs in a child process that is
killed (SIGKILL) at a random moment, then the same reboot check.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flight.boot import RecordError, open_target, slot_blob
from hal.linux import FileOps

__all__ = [
    "CampaignReport",
    "CuttingFileOps",
    "PowerCut",
    "reboot_check",
    "run_kill_campaign",
    "run_power_cut_campaign",
    "update_procedure",
]


class PowerCut(Exception):
    """Raised at the cut point: the power is gone."""


class CuttingFileOps(FileOps):
    """File primitives that count points and cut power at point ``cut_at`` (None: never).

    ``fsync_enabled=False`` models a storage layer that forgets to fsync (the campaign must
    then find unbootable points: a check that it can fail)."""

    def __init__(
        self, cut_at: int | None = None, *, chunk_bytes: int = 256 << 10, fsync_enabled: bool = True
    ) -> None:
        super().__init__(chunk_bytes)
        self.cut_at = cut_at
        self.count = 0
        self.points: list[tuple[str, str]] = []
        self.durable: dict[Path, int] = {}
        self.fsync_enabled = fsync_enabled

    def point(self, kind: str, path: Path, data: bytes | None = None) -> None:
        if self.cut_at is not None and self.count == self.cut_at:
            raise PowerCut(f"power cut at point {self.count}: {kind} {path.name}")
        self.points.append((kind, path.name))
        self.count += 1

    def open_new(self, path: Path) -> int:
        fd = super().open_new(path)
        self.durable[path] = 0
        return fd

    def fsync(self, fd: int, path: Path) -> None:
        if self.fsync_enabled:
            super().fsync(fd, path)
            self.durable[path] = os.fstat(fd).st_size
        else:
            self.point("fsync", path)

    def rename(self, src: Path, dst: Path) -> None:
        super().rename(src, dst)
        if src in self.durable:
            self.durable[dst] = self.durable.pop(src)

    def lose_unsynced(self) -> int:
        """Apply the power loss: truncate every file to its durable length. Returns the
        number of files that lost data."""
        lost = 0
        for path, size in self.durable.items():
            try:
                if path.stat().st_size > size:
                    os.truncate(path, size)
                    lost += 1
            except FileNotFoundError:
                continue
        return lost


def update_procedure(root: Path, image: bytes, now_utc_s: float, fs: FileOps | None) -> None:
    """Install ``image``, boot it (the selector's try) and mark it good, on ``root``."""
    target = open_target(root, fs=fs)
    try:
        target.store.install(image, now_utc_s=now_utc_s)
        choice = target.store.select()
        target.store.mark_good(choice.slot)
    finally:
        target.close()


def reboot_check(root: Path, known_images: set[str]) -> dict[str, Any]:
    """Reboot a target after a cut: the outcome of the selector and the NV checks."""
    import hashlib

    target = open_target(root)
    try:
        try:
            target.store.load().check()
            consistent = True
        except RecordError:
            consistent = False
        try:
            choice = target.store.select()
        except RecordError as exc:
            return {"bootable": False, "consistent": consistent, "error": str(exc)}
        blob = target.store.slots.read(slot_blob(choice.slot))
        known = hashlib.sha256(blob).hexdigest() in known_images
        rec = target.store.load()
        rec.check()
        return {
            "bootable": consistent and known,
            "consistent": consistent,
            "slot": choice.slot,
            "version": choice.image.version,
            "kind": choice.kind,
            "known_image": known,
        }
    finally:
        target.close()


def _known_images(root: Path, image: bytes) -> set[str]:
    import hashlib

    out = {hashlib.sha256(image).hexdigest()}
    target = open_target(root)
    try:
        for slot in ("A", "B", "factory"):
            try:
                out.add(hashlib.sha256(target.store.read_slot(slot)).hexdigest())
            except RecordError:
                continue
    finally:
        target.close()
    return out


@dataclass
class CampaignReport:
    """The campaign's outcome (``as_dict`` is the ``--json`` document)."""

    points: int = 0
    bootable: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    kills: int = 0
    kills_bootable: int = 0
    wall_seconds: float = 0.0

    @property
    def fraction(self) -> float:
        """Bootable cut points / points (1.0 with no points)."""
        return self.bootable / self.points if self.points else 1.0

    @property
    def passed(self) -> bool:
        """Every cut point and every kill ended bootable."""
        return self.bootable == self.points and self.kills_bootable == self.kills

    def as_dict(self) -> dict[str, Any]:
        """JSON form: points, bootable, fraction, per-kind counts, failures, kills."""
        return {
            "points": self.points,
            "bootable": self.bootable,
            "bootable_fraction": self.fraction,
            "point_kinds": self.kinds,
            "outcomes": self.outcomes,
            "failures": self.failures,
            "kills": self.kills,
            "kills_bootable": self.kills_bootable,
            "passed": self.passed,
            "wall_seconds": self.wall_seconds,
        }


def run_power_cut_campaign(
    target: Path,
    image: bytes,
    *,
    now_utc_s: float,
    points: list[int] | None = None,
    fsync_enabled: bool = True,
    chunk_bytes: int = 256 << 10,
    progress: Callable[[int, int], None] | None = None,
) -> CampaignReport:
    """Cut power at every point (or at ``points``) of the update of a copy of ``target``;
    the target itself is never changed."""
    t0 = time.perf_counter()
    report = CampaignReport()
    with tempfile.TemporaryDirectory(prefix="satnode-powercut-") as tmp:
        work = Path(tmp)
        template = work / "template"
        shutil.copytree(target, template, ignore=shutil.ignore_patterns("run", "data"))
        known = _known_images(template, image)
        counter = CuttingFileOps(None, chunk_bytes=chunk_bytes, fsync_enabled=fsync_enabled)
        probe = work / "probe"
        shutil.copytree(template, probe)
        update_procedure(probe, image, now_utc_s, counter)
        for kind, _ in counter.points:
            report.kinds[kind] = report.kinds.get(kind, 0) + 1
        todo = list(range(counter.count)) if points is None else sorted(set(points))
        for i, k in enumerate(todo):
            trial = work / f"cut-{k}"
            shutil.copytree(template, trial)
            ops = CuttingFileOps(k, chunk_bytes=chunk_bytes, fsync_enabled=fsync_enabled)
            with contextlib.suppress(PowerCut):
                update_procedure(trial, image, now_utc_s, ops)
            ops.lose_unsynced()
            outcome = reboot_check(trial, known)
            report.points += 1
            key = f"{outcome.get('kind', 'none')} {outcome.get('slot', '-')}"
            report.outcomes[key] = report.outcomes.get(key, 0) + 1
            if outcome["bootable"]:
                report.bootable += 1
            else:
                where = counter.points[k] if k < len(counter.points) else ("end", "")
                report.failures.append({"point": k, "at": list(where), **outcome})
            shutil.rmtree(trial)
            if progress is not None:
                progress(i + 1, len(todo))
    report.wall_seconds = time.perf_counter() - t0
    return report


_CHILD = (
    "import sys\n"
    "from pathlib import Path\n"
    "from ground.powercut import update_procedure\n"
    "update_procedure(Path(sys.argv[1]), Path(sys.argv[2]).read_bytes(), float(sys.argv[3]), None)\n"
)


def run_kill_campaign(
    target: Path,
    image_path: Path,
    *,
    now_utc_s: float,
    kills: int,
    seed: int = 1,
    report: CampaignReport | None = None,
) -> CampaignReport:
    """Run the update in a real child process and SIGKILL it at random moments (uniform over
    one measured run's duration), ``kills`` times; reboot-check each copy."""
    rep = report if report is not None else CampaignReport()
    rng = random.Random(seed)
    image = image_path.read_bytes()
    with tempfile.TemporaryDirectory(prefix="satnode-kill-") as tmp:
        work = Path(tmp)
        template = work / "template"
        shutil.copytree(target, template, ignore=shutil.ignore_patterns("run", "data"))
        known = _known_images(template, image)
        cmd = [sys.executable, "-c", _CHILD]
        full = work / "full"
        shutil.copytree(template, full)
        t0 = time.perf_counter()
        subprocess.run([*cmd, str(full), str(image_path), repr(now_utc_s)], check=True)
        span = time.perf_counter() - t0
        for i in range(kills):
            trial = work / f"kill-{i}"
            shutil.copytree(template, trial)
            proc = subprocess.Popen([*cmd, str(trial), str(image_path), repr(now_utc_s)])
            try:
                proc.wait(timeout=rng.uniform(0.0, span))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            outcome = reboot_check(trial, known)
            rep.kills += 1
            if outcome["bootable"]:
                rep.kills_bootable += 1
            else:
                rep.failures.append({"kill": i, **outcome})
            shutil.rmtree(trial)
    return rep
