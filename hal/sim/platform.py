"""Simulated platform devices: the hardware watchdog and non-volatile storage.

The watchdog runs on the world clock. When it expires it latches ``expired``, which the
backend reports as ``reboot_pending`` (its :class:`hal.registry.ProcessorReset` capability);
whoever runs the node then calls the backend's ``reboot``, after which ``reset_reason`` reads
WATCHDOG. Storage keeps its blobs across reboots: in memory for the
life of the backend, or in a directory (``directory`` key) across processes.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from hal._common import Family, require_finite
from hal.platform import (
    BLOB_NAME_PATTERN,
    ResetReason,
    Storage,
    StorageReading,
    Watchdog,
    WatchdogReading,
)
from hal.sim._base import Options, SimDevice
from hal.sim._context import DeviceContext
from native.errors import ConfigError, DeviceCommandError, DeviceFaultError

__all__ = ["SimStorage", "SimWatchdog"]


class SimWatchdog(SimDevice, Watchdog):
    """Simulated watchdog timer.

    Keys: ``timeout_min_s`` (0.01), ``timeout_max_s`` (600), ``allow_disarm`` (true).
    """

    family: ClassVar[Family] = Family.WATCHDOG

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts)
        self._tmin = opts.real("timeout_min_s", 0.01, lo=0.0, lo_open=True)
        self._tmax = opts.real("timeout_max_s", 600.0, lo=self._tmin)
        self._allow_disarm = opts.flag("allow_disarm", True)
        opts.finish()
        self._armed = False
        self._timeout_s = 0.0
        self._deadline_ns = 0
        self._expired = False
        self._reason = ResetReason.POWER_ON

    @property
    def timeout_range_s(self) -> tuple[float, float]:
        return (self._tmin, self._tmax)

    @property
    def expired(self) -> bool:
        """True once the timeout elapsed (latched until the reboot)."""
        self._check(self._now())
        return self._expired

    def _check(self, now: int) -> None:
        if self._armed and not self._expired and now >= self._deadline_ns:
            self._expired = True

    def arm(self, timeout_s: float) -> None:
        self._require_power()
        t = require_finite(timeout_s, f"{self._name}: timeout_s")
        if not self._tmin <= t <= self._tmax:
            raise DeviceCommandError(
                f"{self._name}: timeout_s = {t!r} is outside [{self._tmin!r}, {self._tmax!r}]"
            )
        now = self._now()
        self._check(now)
        if self._expired:
            raise DeviceFaultError(f"{self._name}: watchdog expired; reset under way")
        self._armed, self._timeout_s = True, t
        self._deadline_ns = now + round(t * 1e9)

    def kick(self) -> None:
        self._require_power()
        now = self._now()
        self._check(now)
        if self._expired:
            raise DeviceFaultError(f"{self._name}: watchdog expired; reset under way")
        if not self._armed:
            raise DeviceCommandError(f"{self._name}: watchdog not armed")
        self._deadline_ns = now + round(self._timeout_s * 1e9)

    def disarm(self) -> None:
        self._require_power()
        self._check(self._now())
        if not self._allow_disarm:
            raise DeviceCommandError(f"{self._name}: this watchdog cannot be disarmed")
        if self._expired:
            raise DeviceCommandError(f"{self._name}: watchdog expired; reset under way")
        self._armed = False

    def read(self) -> WatchdogReading:
        self._require_power()
        now = self._now()
        self._check(now)
        if self._expired:
            remaining = 0.0
        elif self._armed:
            remaining = (self._deadline_ns - now) / 1e9
        else:
            remaining = math.inf
        return WatchdogReading(
            now, True, self._armed, self._timeout_s, remaining, self._expired, self._reason
        )

    def _post_step(self, t_ns: int) -> None:
        if self.powered:
            self._check(t_ns)

    def _on_reboot(self, reason: Any) -> None:
        self._reason = ResetReason.WATCHDOG if self._expired else ResetReason(reason)
        self._armed = self._expired = False
        self._timeout_s = 0.0


class SimStorage(SimDevice, Storage):
    """Simulated non-volatile storage.

    Keys: ``capacity_bytes`` (64 MiB), ``directory`` (store blobs as files there, written
    atomically with a temporary file, fsync and rename; default: in memory).
    """

    family: ClassVar[Family] = Family.STORAGE

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts)
        self._capacity = opts.integer("capacity_bytes", 64 << 20, lo=1)
        directory = opts.opt_str("directory")
        opts.finish()
        self._dir: Path | None = None
        self._mem: dict[str, bytes] = {}
        if directory is not None:
            self._dir = Path(directory)
            try:
                self._dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"{opts.path}.directory: cannot create {directory!r}: {exc}"
                ) from exc

    @property
    def capacity_bytes(self) -> int:
        return self._capacity

    def _check_name(self, name: str) -> str:
        if not isinstance(name, str) or not BLOB_NAME_PATTERN.fullmatch(name):
            raise DeviceCommandError(
                f"{self._name}: bad blob name {name!r} (pattern {BLOB_NAME_PATTERN.pattern})"
            )
        return name

    def _sizes(self) -> dict[str, int]:
        if self._dir is None:
            return {k: len(v) for k, v in self._mem.items()}
        return {
            p.name: p.stat().st_size
            for p in self._dir.iterdir()
            if p.is_file() and BLOB_NAME_PATTERN.fullmatch(p.name)
        }

    def write(self, name: str, data: bytes) -> None:
        self._require_power()
        self._check_name(name)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DeviceCommandError(f"{self._name}: data must be bytes, got {type(data).__name__}")
        payload = bytes(data)
        sizes = self._sizes()
        used = sum(sizes.values()) - sizes.get(name, 0)
        if used + len(payload) > self._capacity:
            raise DeviceCommandError(
                f"{self._name}: no space for {len(payload)} bytes "
                f"({self._capacity - used} of {self._capacity} free)"
            )
        if self._dir is None:
            self._mem[name] = payload
            return
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self._dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._dir / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dfd = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def read(self, name: str) -> bytes:
        self._require_power()
        self._check_name(name)
        if self._dir is None:
            if name not in self._mem:
                raise DeviceCommandError(f"{self._name}: no blob named {name!r}")
            return self._mem[name]
        try:
            return (self._dir / name).read_bytes()
        except FileNotFoundError:
            raise DeviceCommandError(f"{self._name}: no blob named {name!r}") from None

    def list(self) -> tuple[str, ...]:
        self._require_power()
        return tuple(sorted(self._sizes()))

    def delete(self, name: str) -> None:
        self._require_power()
        self._check_name(name)
        if self._dir is None:
            if self._mem.pop(name, None) is None:
                raise DeviceCommandError(f"{self._name}: no blob named {name!r}")
            return
        try:
            (self._dir / name).unlink()
        except FileNotFoundError:
            raise DeviceCommandError(f"{self._name}: no blob named {name!r}") from None

    def status(self) -> StorageReading:
        self._require_power()
        sizes = self._sizes()
        return StorageReading(self._now(), True, sum(sizes.values()), self._capacity, len(sizes))
