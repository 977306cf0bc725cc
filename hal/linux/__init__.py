"""The ``linux`` HAL backend: devices of a Linux flight computer.

- temperatures from hwmon and thermal zones in sysfs (:class:`SysfsTemperature`);
- the kernel watchdog, ``/dev/watchdog`` with the magic close (:class:`LinuxWatchdog`);
- NV storage as files with fsync and atomic rename (:class:`FileStorage`), every write going
  through one interposable layer (:class:`FileOps`);
- the monotonic clock (:attr:`LinuxBackend.t_ns`).

Opened by name through :mod:`hal.registry` (``open_backend("linux", root="/")``); device
paths come from configuration, resolved under ``root``.
"""

from hal.linux._backend import LinuxBackend, open_linux_backend
from hal.linux._devices import (
    LinuxWatchdog,
    SysfsTemperature,
    discover_temperatures,
    resolve_channel,
)
from hal.linux._fs import DEFAULT_CHUNK_BYTES, TMP_PREFIX, FileOps
from hal.linux._storage import FileStorage

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "TMP_PREFIX",
    "FileOps",
    "FileStorage",
    "LinuxBackend",
    "LinuxWatchdog",
    "SysfsTemperature",
    "discover_temperatures",
    "open_linux_backend",
    "resolve_channel",
]
