"""The one exception tree of satnode.

It lives in ``native`` because ``native`` is the bottom layer: every other package may import
it, and it imports nothing of the project. ``flight.core``, ``hal`` and ``native`` re-export
the classes they raise.

Tree::

    SatnodeError                      root; catch this to catch anything satnode raises
    ├── ConfigError                   bad configuration, scenario or environment setting
    ├── NativeError                   native kernels
    │   ├── BackendUnavailableError   the requested kernel backend is not built/installed
    │   └── KernelArgumentError       wrong shape, dtype, contiguity or size for a kernel
    ├── HalError                      device layer (hal)
    │   ├── BackendNotFoundError      unknown or unavailable HAL backend name
    │   ├── DeviceUnavailableError    device missing, powered off or not answering
    │   ├── DeviceFaultError          device reported or showed a fault
    │   └── DeviceCommandError        command out of range or invalid for the device
    ├── FlightError                   flight core and applications
    │   ├── CommandError              telecommand rejected (carries a PUS-1 failure code)
    │   ├── ParameterError            parameter unknown, wrong type or out of limits
    │   └── BusError                  software-bus misuse (unknown topic, wrong type)
    └── WireError                     CCSDS/PUS codec: malformed bytes (carries a reason code)
        └── CrcError                  packet error control mismatch
"""

from __future__ import annotations

__all__ = [
    "BackendNotFoundError",
    "BackendUnavailableError",
    "BusError",
    "CommandError",
    "ConfigError",
    "CrcError",
    "DeviceCommandError",
    "DeviceFaultError",
    "DeviceUnavailableError",
    "FlightError",
    "HalError",
    "KernelArgumentError",
    "NativeError",
    "ParameterError",
    "SatnodeError",
    "WireError",
]


class SatnodeError(Exception):
    """Root of every exception satnode raises on purpose (see the module docstring)."""


class ConfigError(SatnodeError):
    """Invalid configuration, scenario file or environment setting."""


class NativeError(SatnodeError):
    """Failure in the native kernel layer."""


class BackendUnavailableError(NativeError):
    """The kernel backend that was asked for is not available (not built, not installed)."""


class KernelArgumentError(NativeError, ValueError):
    """A kernel was given an array of the wrong shape, dtype, contiguity or size."""


class HalError(SatnodeError):
    """Failure in the hardware abstraction layer."""


class BackendNotFoundError(HalError):
    """Unknown or unavailable HAL backend name."""


class DeviceUnavailableError(HalError):
    """The device is missing, powered off or does not answer."""


class DeviceFaultError(HalError):
    """The device reported a fault or behaved as a faulty device."""


class DeviceCommandError(HalError, ValueError):
    """A device command was out of range or not valid in the device's state."""


class FlightError(SatnodeError):
    """Failure in the flight core or an onboard application."""


class CommandError(FlightError):
    """A telecommand was rejected before or during execution.

    ``code`` is the PUS-1 failure code sent in the verification failure report.
    """

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class ParameterError(FlightError, ValueError):
    """Parameter unknown, of the wrong type, or outside its limits."""


class BusError(FlightError):
    """Software-bus misuse: unknown topic or message of the wrong type."""


class WireError(SatnodeError, ValueError):
    """Malformed CCSDS/PUS bytes. ``reason`` is a short machine-readable code."""

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


class CrcError(WireError):
    """The packet error control field does not match the packet."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="crc")
