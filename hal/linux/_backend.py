"""The ``linux`` backend: a Linux flight computer's own devices.

Families: ``temperature`` (hwmon and thermal zones in sysfs), ``watchdog`` (the kernel
watchdog) and ``storage`` (NV storage as files). Its clock is the monotonic clock. Every
device path is configured and resolved under the backend option ``root`` (``/`` by default),
so a test points the whole backend at a temporary tree shaped like sysfs and /dev.

Capabilities (:mod:`hal.registry`): RunReport only. Time is real (no SteppedPlant), resets
are real (no ProcessorReset: the boot selector restarts the flight stack) and so is radiation.
"""

from __future__ import annotations

import os
import time
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hal._common import Device, Family
from hal._device_table import create_all, lookup, new_device
from hal.linux._devices import LinuxWatchdog, SysfsTemperature, discover_temperatures
from hal.linux._fs import FileOps
from hal.linux._storage import FileStorage
from native.errors import ConfigError

__all__ = ["LinuxBackend", "open_linux_backend"]

_FAMILIES = (Family.TEMPERATURE, Family.WATCHDOG, Family.STORAGE)
_KEYS: Mapping[Family, tuple[str, ...]] = {
    Family.TEMPERATURE: ("sysfs", "channels"),
    Family.WATCHDOG: ("path", "timeout_range_s"),
    Family.STORAGE: ("directory", "capacity_bytes"),
}


class LinuxBackend:
    """The ``linux`` HAL backend (registry name ``linux``).

    Options: ``root`` (path prefix of every device path, default ``/``), ``clock`` (callable
    returning ns; default :func:`time.monotonic_ns`), ``fs`` (the storage's file primitives,
    :class:`~hal.linux.FileOps`; a power-loss campaign interposes there), ``seed`` (accepted
    and unused: the node passes its seed to every backend).

    Device keys: temperature ``sysfs`` (default ``sys/class``) and ``channels`` (``{name:
    spec}``, see :func:`~hal.linux.resolve_channel`; the string ``"auto"`` takes every source
    found); watchdog ``path`` (default ``dev/watchdog``) and ``timeout_range_s`` (default
    [1, 600]); storage ``directory`` (required) and ``capacity_bytes`` (default 1 GiB).
    """

    name = "linux"

    def __init__(
        self,
        *,
        root: str | os.PathLike[str] = "/",
        clock: Callable[[], int] | None = None,
        fs: FileOps | None = None,
        seed: int | None = None,
    ) -> None:
        self._root = Path(root)
        if not self._root.is_dir():
            raise ConfigError(f"linux.root: {self._root} is not a directory")
        self._clock: Callable[[], int] = clock if clock is not None else time.monotonic_ns
        self._fs = fs if fs is not None else FileOps()
        self._devices: dict[str, Any] = {}
        self._closed = False

    def path(self, configured: str) -> Path:
        """A configured device path resolved under ``root`` (a leading ``/`` is ignored)."""
        return self._root / str(configured).lstrip("/")

    @property
    def root(self) -> Path:
        """The path prefix of every device path."""
        return self._root

    @property
    def families(self) -> tuple[Family, ...]:
        """The families this backend creates."""
        return _FAMILIES

    @property
    def t_ns(self) -> int:
        """The monotonic clock (ns)."""
        return int(self._clock())

    @property
    def devices(self) -> Mapping[str, Device]:
        """Read-only view of the devices by name."""
        return types.MappingProxyType(self._devices)

    def create(
        self, family: Family | str, name: str, config: Mapping[str, Any] | None = None
    ) -> Device:
        """Create device ``name`` of ``family`` from its table (unknown keys -> ConfigError)."""
        where, fam = new_device(name, family, self._devices, allowed=_FAMILIES, backend="linux")
        table = dict(config or {})
        table.pop("family", None)
        unknown = sorted(set(table) - set(_KEYS[fam]))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)} (keys: {', '.join(_KEYS[fam])})"
            )
        dev: Any
        if fam is Family.TEMPERATURE:
            sysfs = self.path(str(table.get("sysfs", "sys/class")))
            channels = table.get("channels", "auto")
            if channels == "auto":
                channels = discover_temperatures(sysfs)
                if not channels:
                    raise ConfigError(f"{where}.channels: no temperature source in {sysfs}")
            dev = SysfsTemperature(name, sysfs, channels, self._clock)
        elif fam is Family.WATCHDOG:
            rng = table.get("timeout_range_s", [1.0, 600.0])
            if not isinstance(rng, (list, tuple)) or len(rng) != 2:
                raise ConfigError(f"{where}.timeout_range_s: must be [min, max] in seconds")
            dev = LinuxWatchdog(
                name,
                self.path(str(table.get("path", "dev/watchdog"))),
                (float(rng[0]), float(rng[1])),
                self._clock,
            )
        else:
            if "directory" not in table:
                raise ConfigError(f"{where}.directory: missing required key")
            dev = FileStorage(
                name,
                self.path(str(table["directory"])),
                capacity_bytes=table.get("capacity_bytes", 1 << 30),
                fs=self._fs,
                clock=self._clock,
            )
        self._devices[name] = dev
        return dev  # type: ignore[no-any-return]

    def create_devices(self, devices: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Device]:
        """Create every device of ``{name: {"family": ..., ...}}``; all or nothing."""
        return create_all(devices, self.create, self._forget)

    def _forget(self, name: str, dev: Device) -> None:
        self._devices.pop(name, None)
        if isinstance(dev, LinuxWatchdog):
            dev.close()

    def device(self, name: str) -> Device:
        """The device called ``name``; DeviceUnavailableError if there is none."""
        dev: Device = lookup(self._devices, name)
        return dev

    def set_device_power(self, name: str, on: bool) -> None:
        """Harness switch in front of device ``name`` (conformance kit): off, every call
        raises DeviceUnavailableError."""
        dev = self.device(name)
        dev._set_switch(on)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Release the watchdog with the magic close (idempotent)."""
        if self._closed:
            return
        for dev in self._devices.values():
            if isinstance(dev, LinuxWatchdog):
                dev.close()
        self._closed = True

    def summary(self) -> dict[str, Any]:
        """RunReport: root, clock and devices by family."""
        return {
            "backend": self.name,
            "root": str(self._root),
            "t_s": self.t_ns / 1e9,
            "devices": {n: d.family.value for n, d in self._devices.items()},
        }


_OPTIONS = ("root", "clock", "fs", "seed")


def open_linux_backend(**options: Any) -> LinuxBackend:
    """Registry factory of the ``linux`` backend; unknown options -> ConfigError."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigError(
            f"linux backend: unknown option(s) {', '.join(map(repr, unknown))} "
            f"(options: {', '.join(_OPTIONS)})"
        )
    return LinuxBackend(**options)
