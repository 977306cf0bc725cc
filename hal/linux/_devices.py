"""Linux devices: sysfs temperatures (hwmon, thermal zones) and the kernel watchdog.

Paths come from configuration and are resolved under the backend's ``root`` (``/`` on a
flight computer; a temporary tree shaped like sysfs in tests).
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from hal._common import Family
from hal.platform import ResetReason, Watchdog, WatchdogReading
from hal.sensors import TemperatureChannel, TemperatureReading, TemperatureSensors
from native.errors import ConfigError, DeviceCommandError, DeviceFaultError, DeviceUnavailableError

__all__ = [
    "WDIOC_GETBOOTSTATUS",
    "WDIOC_KEEPALIVE",
    "WDIOC_SETTIMEOUT",
    "WDIOF_CARDRESET",
    "LinuxWatchdog",
    "SysfsTemperature",
    "discover_temperatures",
    "resolve_channel",
]

# <linux/watchdog.h>: _IOR('W', 2, int), _IOR('W', 5, int), _IOWR('W', 6, int)
WDIOC_GETBOOTSTATUS = 0x80045702
WDIOC_KEEPALIVE = 0x80045705
WDIOC_SETTIMEOUT = 0xC0045706
#: boot-status flag: the last reset was caused by the watchdog
WDIOF_CARDRESET = 0x0020

Clock = Callable[[], int]


class _LinuxDevice:
    """Name, family, a harness power switch and the backend clock."""

    family: ClassVar[Family]

    def __init__(self, name: str, clock: Clock) -> None:
        self._name = name
        self._clock = clock
        self._powered = True

    @property
    def name(self) -> str:
        """Device name (its key under ``[devices]``)."""
        return self._name

    def _require_power(self) -> None:
        if not self._powered:
            raise DeviceUnavailableError(f"{self._name}: switched off")

    def _set_switch(self, on: bool) -> None:
        self._powered = bool(on)


def resolve_channel(sysfs: Path, spec: str) -> Path:
    """The file holding a temperature in millidegrees C for channel ``spec``.

    ``spec`` forms: ``thermal_zoneN`` (``<sysfs>/thermal/thermal_zoneN/temp``),
    ``hwmonN/tempK`` (``<sysfs>/hwmon/hwmonN/tempK_input``) or ``hwmon:CHIP/tempK`` (the hwmon
    device whose ``name`` file says CHIP). ConfigError for another form or a missing chip.
    """
    if spec.startswith("thermal_zone") and "/" not in spec:
        return sysfs / "thermal" / spec / "temp"
    head, sep, tail = spec.partition("/")
    if not sep or not tail.startswith("temp") or not tail[4:].isdigit():
        raise ConfigError(
            f"temperature channel {spec!r}: expected 'thermal_zoneN', 'hwmonN/tempK' or "
            "'hwmon:CHIP/tempK'"
        )
    if head.startswith("hwmon:"):
        chip = head[len("hwmon:") :]
        for dev in sorted((sysfs / "hwmon").glob("hwmon*")):
            try:
                if (dev / "name").read_text().strip() == chip:
                    return dev / f"{tail}_input"
            except OSError:
                continue
        raise ConfigError(f"temperature channel {spec!r}: no hwmon chip named {chip!r}")
    if head.startswith("hwmon") and head[5:].isdigit():
        return sysfs / "hwmon" / head / f"{tail}_input"
    raise ConfigError(f"temperature channel {spec!r}: unknown source {head!r}")


def discover_temperatures(sysfs: Path) -> dict[str, str]:
    """Every temperature source under ``sysfs`` as ``{channel name: spec}``: thermal zones
    by their ``type`` (``zoneN_TYPE``) and hwmon inputs by chip (``CHIP_tempK``)."""
    found: dict[str, str] = {}
    for zone in sorted((sysfs / "thermal").glob("thermal_zone*")):
        if (zone / "temp").is_file():
            try:
                kind = (zone / "type").read_text().strip()
            except OSError:
                kind = "zone"
            found[f"{zone.name}_{kind}".replace("-", "_")] = zone.name
    for dev in sorted((sysfs / "hwmon").glob("hwmon*")):
        try:
            chip = (dev / "name").read_text().strip()
        except OSError:
            chip = dev.name
        for inp in sorted(dev.glob("temp*_input")):
            k = inp.name[: -len("_input")]
            found[f"{dev.name}_{chip}_{k}".replace("-", "_")] = f"{dev.name}/{k}"
    return found


class SysfsTemperature(_LinuxDevice, TemperatureSensors):
    """Temperature channels read from sysfs (family ``temperature``).

    ``channels``: ``{channel name: spec}`` (see :func:`resolve_channel`), resolved under
    ``sysfs``. A channel whose file cannot be read, or holds no integer, or a value outside
    -100..200 deg C, is invalid (NaN) for that scan.
    """

    family: ClassVar[Family] = Family.TEMPERATURE

    def __init__(self, name: str, sysfs: Path, channels: Mapping[str, str], clock: Clock) -> None:
        super().__init__(name, clock)
        if not isinstance(channels, Mapping) or not channels:
            raise ConfigError(f"devices.{name}.channels: must be a non-empty table")
        self._paths: dict[str, Path] = {}
        for ch, spec in channels.items():
            if not isinstance(spec, str):
                raise ConfigError(f"devices.{name}.channels.{ch}: must be a string")
            try:
                self._paths[str(ch)] = resolve_channel(sysfs, spec)
            except ConfigError as exc:
                raise ConfigError(f"devices.{name}.channels.{ch}: {exc}") from None

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Channel names in scan order."""
        return tuple(self._paths)

    @property
    def paths(self) -> Mapping[str, Path]:
        """The sysfs file of each channel."""
        return dict(self._paths)

    def read(self) -> TemperatureReading:
        """Scan every channel (millidegrees C in sysfs -> deg C)."""
        self._require_power()
        t = self._clock()
        out: list[TemperatureChannel] = []
        for ch, path in self._paths.items():
            try:
                value = int(path.read_text().strip()) / 1000.0
            except (OSError, ValueError):
                value = math.nan
            ok = math.isfinite(value) and -100.0 <= value <= 200.0
            out.append(TemperatureChannel(ch, value if ok else math.nan, ok))
        return TemperatureReading(t, all(c.valid for c in out), tuple(out))


class LinuxWatchdog(_LinuxDevice, Watchdog):
    """The kernel watchdog (``/dev/watchdog``; family ``watchdog``).

    Opening the device starts it; :meth:`kick` writes a byte; :meth:`disarm` is the magic
    close (write ``V``, then close), which the kernel honours unless built with
    ``NOWAYOUT``. The timeout is set with ``WDIOC_SETTIMEOUT`` and the reason of the last
    reset read with ``WDIOC_GETBOOTSTATUS``. A path that is not a watchdog (a plain file in
    tests) takes the same writes; the ioctls then do nothing and the reset reason is
    POWER_ON. Expiry is computed from the backend clock: on real hardware an expired watchdog
    resets the machine, so only a late kick observes it.
    """

    family: ClassVar[Family] = Family.WATCHDOG

    def __init__(
        self, name: str, path: Path, timeout_range_s: tuple[float, float], clock: Clock
    ) -> None:
        super().__init__(name, clock)
        lo, hi = timeout_range_s
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
            raise ConfigError(f"devices.{name}.timeout_range_s: need 0 < min <= max")
        self._path = path
        self._range = (float(lo), float(hi))
        self._fd: int | None = None
        self._timeout_s = 0.0
        self._last_kick_ns = 0
        self._expired = False
        self._reason = self._boot_status()

    def _boot_status(self) -> ResetReason:
        try:
            fd = os.open(self._path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return ResetReason.POWER_ON
        try:
            buf = fcntl.ioctl(fd, WDIOC_GETBOOTSTATUS, struct.pack("i", 0))
            status = struct.unpack("i", buf)[0]
        except OSError:
            return ResetReason.POWER_ON
        finally:
            os.close(fd)
        return ResetReason.WATCHDOG if status & WDIOF_CARDRESET else ResetReason.POWER_ON

    @property
    def path(self) -> Path:
        """The watchdog device file."""
        return self._path

    @property
    def timeout_range_s(self) -> tuple[float, float]:
        """(min, max) timeout accepted by :meth:`arm` (s)."""
        return self._range

    def _ioctl(self, request: int, value: int) -> None:
        assert self._fd is not None
        try:
            fcntl.ioctl(self._fd, request, struct.pack("i", value))
        except OSError as exc:
            if exc.errno not in (errno.ENOTTY, errno.EINVAL, errno.EOPNOTSUPP):
                raise DeviceFaultError(f"{self._name}: ioctl on {self._path}: {exc}") from exc

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        try:
            os.write(self._fd, data)
        except OSError as exc:
            raise DeviceFaultError(f"{self._name}: write to {self._path}: {exc}") from exc

    def arm(self, timeout_s: float) -> None:
        """Open the device (starting it) and set ``timeout_s`` (whole seconds, rounded up)."""
        self._require_power()
        try:
            t = float(timeout_s)
        except (TypeError, ValueError):
            raise DeviceCommandError(
                f"{self._name}: timeout {timeout_s!r} is not a number"
            ) from None
        lo, hi = self._range
        if not (math.isfinite(t) and lo <= t <= hi):
            raise DeviceCommandError(f"{self._name}: timeout {t!r} s outside [{lo}, {hi}]")
        if self._expired:
            raise DeviceFaultError(f"{self._name}: expired; the reset is under way")
        if self._fd is None:
            try:
                self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND)
            except OSError as exc:
                raise DeviceUnavailableError(
                    f"{self._name}: cannot open {self._path}: {exc}"
                ) from exc
        self._ioctl(WDIOC_SETTIMEOUT, math.ceil(t))
        self._timeout_s = t
        self._last_kick_ns = self._clock()
        self._write(b"\0")

    def _check_expiry(self) -> None:
        late = self._clock() - self._last_kick_ns > round(self._timeout_s * 1e9)
        if self._fd is not None and not self._expired and late:
            self._expired = True

    def kick(self) -> None:
        """Stroke the watchdog (write a byte and ``WDIOC_KEEPALIVE``)."""
        self._require_power()
        if self._fd is None:
            raise DeviceCommandError(f"{self._name}: not armed")
        self._check_expiry()
        if self._expired:
            raise DeviceFaultError(f"{self._name}: expired; the reset is under way")
        self._write(b"\0")
        self._ioctl(WDIOC_KEEPALIVE, 0)
        self._last_kick_ns = self._clock()

    def disarm(self) -> None:
        """Magic close: write ``V`` and close the device, which stops the kernel watchdog."""
        self._require_power()
        if self._fd is None:
            return
        self._check_expiry()
        if self._expired:
            raise DeviceCommandError(f"{self._name}: expired; cannot disarm")
        self._write(b"V")
        os.close(self._fd)
        self._fd = None
        self._timeout_s = 0.0

    def read(self) -> WatchdogReading:
        """Watchdog state (remaining time from the backend clock)."""
        self._require_power()
        self._check_expiry()
        now = self._clock()
        armed = self._fd is not None
        if not armed:
            remaining = math.inf
        elif self._expired:
            remaining = 0.0
        else:
            remaining = max(0.0, self._timeout_s - (now - self._last_kick_ns) / 1e9)
        return WatchdogReading(
            now, True, armed, self._timeout_s, remaining, self._expired, self._reason
        )

    def close(self) -> None:
        """Release the device with the magic close (a clean stop must not reset the
        computer); an expired watchdog is left to do its job."""
        if self._fd is not None and not self._expired:
            try:
                os.write(self._fd, b"V")
            finally:
                os.close(self._fd)
                self._fd = None
