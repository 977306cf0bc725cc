"""Client devices of the ``hil`` backend: one class per HAL family, each forwarding every call
to the rig and implementing the family's Protocol (the same one the simulated device does).

Constant properties (ranges, names, ratings) come from the rig's WELCOME device list and cost
no round trip. A Python callable submitted to the accelerator runs here, on the flight
computer, and its outputs go to the rig, which accounts the modelled time and energy and
applies the device's faults, as the simulated accelerator does for local work.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

from hal._common import Family
from hal.accelerator import (
    AcceleratorReading,
    JobResult,
    JobState,
    ModeSpec,
    PowerMode,
)
from hal.attitude import AttitudeMode, AttitudeReading
from hal.imager import ImageTiles
from hal.laser import LaserReading
from hal.platform import StorageReading, WatchdogReading
from hal.power import BatteryReading, PduReading, SolarArrayReading
from hal.propulsion import ThrusterReading
from hal.sensors import (
    GnssReading,
    ImuReading,
    StarTrackerReading,
    SunSensorReading,
    TemperatureReading,
)
from hal.thermal import HeaterReading, RadiatorReading
from native.errors import DeviceCommandError

__all__ = ["DEVICE_CLASSES", "Caller", "HilDevice"]


class Caller(Protocol):
    """What a client device needs of its backend: one call forwarded to the rig."""

    def call(self, target: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Forward ``target.method(*args, **kwargs)``; return its value or raise its error."""
        ...


class HilDevice:
    """Base of the client devices: a name, a family, the rig's constant properties and the
    source of the device on the rig (``"sim"``, ``"driver:module:factory"``)."""

    family: ClassVar[Family]

    def __init__(
        self,
        name: str,
        caller: Caller,
        info: Mapping[str, Any],
        source: str,
        channels: tuple[str, ...] = (),
    ) -> None:
        self._name = name
        self._channels = channels
        self._caller = caller
        self._info = dict(info)
        self._source = source

    @property
    def name(self) -> str:
        """Unique device name (as on the rig)."""
        return self._name

    @property
    def source(self) -> str:
        """What backs the device on the rig: ``"sim"`` or ``"driver:<module:factory>"``."""
        return self._source

    @property
    def fault_channels(self) -> tuple[str, ...]:
        """Channel names a fault scenario may target as ``device.channel`` (from the rig)."""
        return tuple(self._channels)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._caller.call(self._name, method, list(args), kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name!r} ({self._source})>"


class HilGnss(HilDevice):
    """GNSS receiver on the rig (:class:`hal.sensors.GnssReceiver`)."""

    family: ClassVar[Family] = Family.GNSS

    def read(self) -> GnssReading:
        """Latest navigation solution."""
        out: GnssReading = self._call("read")
        return out


class HilImu(HilDevice):
    """Rate gyro on the rig (:class:`hal.sensors.Imu`)."""

    family: ClassVar[Family] = Family.IMU

    @property
    def range_rad_s(self) -> float:
        """Full-scale range per axis (rad/s)."""
        return float(self._info["range_rad_s"])

    def read(self) -> ImuReading:
        """Latest rate sample."""
        out: ImuReading = self._call("read")
        return out


class HilStarTracker(HilDevice):
    """Star tracker on the rig (:class:`hal.sensors.StarTracker`)."""

    family: ClassVar[Family] = Family.STAR_TRACKER

    def read(self) -> StarTrackerReading:
        """Latest attitude solution."""
        out: StarTrackerReading = self._call("read")
        return out


class HilSunSensor(HilDevice):
    """Sun sensor on the rig (:class:`hal.sensors.SunSensor`)."""

    family: ClassVar[Family] = Family.SUN_SENSOR

    def read(self) -> SunSensorReading:
        """Latest Sun direction."""
        out: SunSensorReading = self._call("read")
        return out


class HilTemperature(HilDevice):
    """Temperature channels on the rig (:class:`hal.sensors.TemperatureSensors`)."""

    family: ClassVar[Family] = Family.TEMPERATURE

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Channel names in scan order."""
        return tuple(self._info["channel_names"])

    def read(self) -> TemperatureReading:
        """Scan every channel."""
        out: TemperatureReading = self._call("read")
        return out


class HilHeater(HilDevice):
    """Heater on the rig (:class:`hal.thermal.Heater`)."""

    family: ClassVar[Family] = Family.HEATER

    @property
    def rated_w(self) -> float:
        """Power at 100 % duty (W)."""
        return float(self._info["rated_w"])

    def set_on(self, on: bool) -> None:
        """Switch the heater on or off."""
        self._call("set_on", bool(on))

    def set_duty(self, duty_frac: float) -> None:
        """Set the PWM duty cycle, 0..1."""
        self._call("set_duty", duty_frac)

    def read(self) -> HeaterReading:
        """Heater state and measured power."""
        out: HeaterReading = self._call("read")
        return out


class HilRadiator(HilDevice):
    """Variable-emissivity radiator on the rig (:class:`hal.thermal.Radiator`)."""

    family: ClassVar[Family] = Family.RADIATOR

    @property
    def emissivity_range(self) -> tuple[float, float]:
        """(eps_min, eps_max)."""
        lo, hi = self._info["emissivity_range"]
        return (float(lo), float(hi))

    def set_emissivity(self, emissivity: float) -> None:
        """Set the effective emissivity."""
        self._call("set_emissivity", emissivity)

    def read(self) -> RadiatorReading:
        """Emissivity setting and panel temperature."""
        out: RadiatorReading = self._call("read")
        return out


class HilSolarArray(HilDevice):
    """Solar array on the rig (:class:`hal.power.SolarArray`)."""

    family: ClassVar[Family] = Family.SOLAR_ARRAY

    def read(self) -> SolarArrayReading:
        """Latest array telemetry."""
        out: SolarArrayReading = self._call("read")
        return out


class HilBattery(HilDevice):
    """Battery on the rig (:class:`hal.power.Battery`)."""

    family: ClassVar[Family] = Family.BATTERY

    def read(self) -> BatteryReading:
        """Latest pack telemetry."""
        out: BatteryReading = self._call("read")
        return out


class HilPdu(HilDevice):
    """Power distribution unit on the rig (:class:`hal.power.Pdu`)."""

    family: ClassVar[Family] = Family.PDU

    @property
    def rail_names(self) -> tuple[str, ...]:
        """Names of the switchable rails."""
        return tuple(self._info["rail_names"])

    def set_rail(self, rail: str, on: bool) -> None:
        """Switch rail ``rail`` on or off."""
        self._call("set_rail", rail, bool(on))

    def reset_rail(self, rail: str) -> None:
        """Clear the overcurrent latch of ``rail``."""
        self._call("reset_rail", rail)

    def read(self) -> PduReading:
        """Status of every rail."""
        out: PduReading = self._call("read")
        return out


class HilThruster(HilDevice):
    """Electric thruster on the rig (:class:`hal.propulsion.Thruster`)."""

    family: ClassVar[Family] = Family.THRUSTER

    @property
    def max_burn_s(self) -> float:
        """Longest single burn accepted (s)."""
        return float(self._info["max_burn_s"])

    def fire(self, direction_eci: Sequence[float], duration_s: float) -> None:
        """Fire along ``direction_eci`` for ``duration_s``."""
        if isinstance(direction_eci, (str, bytes)) or not hasattr(direction_eci, "__len__"):
            raise DeviceCommandError(f"{self._name}: direction must be 3 numbers")
        self._call("fire", tuple(float(x) for x in direction_eci), duration_s)

    def read(self) -> ThrusterReading:
        """Thruster telemetry."""
        out: ThrusterReading = self._call("read")
        return out


class HilLaserTerminal(HilDevice):
    """Optical terminal on the rig (:class:`hal.laser.LaserTerminal`)."""

    family: ClassVar[Family] = Family.LASER_TERMINAL

    @property
    def mtu_bytes(self) -> int:
        """Largest frame accepted by :meth:`send` (bytes)."""
        return int(self._info["mtu_bytes"])

    def acquire(self, peer: str) -> None:
        """Start PAT towards ``peer``."""
        self._call("acquire", peer)

    def point(self, az_rad: float, el_rad: float) -> None:
        """Open-loop point at body azimuth/elevation (rad)."""
        self._call("point", az_rad, el_rad)

    def stop(self) -> None:
        """Abandon the link."""
        self._call("stop")

    def send(self, frame: bytes) -> None:
        """Transmit one frame to the peer."""
        if not isinstance(frame, (bytes, bytearray, memoryview)):
            raise DeviceCommandError(f"{self._name}: a frame must be bytes")
        self._call("send", bytes(frame))

    def receive(self) -> bytes | None:
        """Next received frame, or None."""
        out: bytes | None = self._call("receive")
        return out

    def read(self) -> LaserReading:
        """Terminal telemetry."""
        out: LaserReading = self._call("read")
        return out


class HilAccelerator(HilDevice):
    """AI accelerator on the rig (:class:`hal.accelerator.Accelerator`)."""

    family: ClassVar[Family] = Family.ACCELERATOR

    @property
    def modes(self) -> Mapping[PowerMode, ModeSpec]:
        """Throughput and power of every mode."""
        return types.MappingProxyType({PowerMode(k): v for k, v in self._info["modes"].items()})

    @property
    def kernels(self) -> tuple[str, ...]:
        """Kernel names accepted by :meth:`submit`."""
        return tuple(self._info["kernels"])

    def set_mode(self, mode: PowerMode | str) -> None:
        """Change the power mode."""
        self._call("set_mode", str(mode.value if isinstance(mode, PowerMode) else mode))

    def submit(self, work: str | Callable[..., Any], *inputs: Any, ops: float | None = None) -> int:
        """Queue work; returns the job id. A kernel name travels with its inputs; a
        callable runs here and its outputs travel (the rig accounts and faults them)."""
        if isinstance(work, str):
            job: int = self._call("submit", work, *inputs, ops=ops)
            return job
        if not callable(work):
            raise DeviceCommandError(f"{self._name}: work must be a kernel name or a callable")
        if ops is None:
            raise DeviceCommandError(f"{self._name}: ops is required with a callable")
        if (
            isinstance(ops, bool)
            or not isinstance(ops, (int, float))
            or not (math.isfinite(ops) and ops >= 0)
        ):
            raise DeviceCommandError(f"{self._name}: ops must be finite and >= 0, got {ops!r}")
        outputs = work(*inputs)  # the computation, on the flight computer's CPU
        label = getattr(work, "__name__", "callable")
        job = self._call("submit_outputs", label, outputs, ops=ops)
        return job

    def state(self, job_id: int) -> JobState:
        """State of job ``job_id``."""
        out: JobState = self._call("state", job_id)
        return out

    def result(self, job_id: int) -> JobResult | None:
        """Result of a finished job, or None while pending."""
        out: JobResult | None = self._call("result", job_id)
        return out

    def reset(self) -> None:
        """Reset the accelerator."""
        self._call("reset")

    def read(self) -> AcceleratorReading:
        """Accelerator telemetry."""
        out: AcceleratorReading = self._call("read")
        return out


class HilImager(HilDevice):
    """Payload camera on the rig (:class:`hal.imager.Imager`)."""

    family: ClassVar[Family] = Family.IMAGER

    @property
    def tile_px(self) -> int:
        """Tile edge in pixels."""
        return int(self._info["tile_px"])

    def read_tiles(self, scene_id: int, first_tile: int, count: int) -> ImageTiles:
        """Read ``count`` tiles of a scene."""
        out: ImageTiles = self._call("read_tiles", scene_id, first_tile, count)
        return out


class HilWatchdog(HilDevice):
    """Hardware watchdog on the rig (:class:`hal.platform.Watchdog`)."""

    family: ClassVar[Family] = Family.WATCHDOG

    @property
    def timeout_range_s(self) -> tuple[float, float]:
        """(min, max) timeout (s)."""
        lo, hi = self._info["timeout_range_s"]
        return (float(lo), float(hi))

    def arm(self, timeout_s: float) -> None:
        """Start or restart the watchdog."""
        self._call("arm", timeout_s)

    def kick(self) -> None:
        """Stroke the watchdog."""
        self._call("kick")

    def disarm(self) -> None:
        """Stop the watchdog."""
        self._call("disarm")

    def read(self) -> WatchdogReading:
        """Watchdog state."""
        out: WatchdogReading = self._call("read")
        return out


class HilStorage(HilDevice):
    """Non-volatile storage on the rig (:class:`hal.platform.Storage`)."""

    family: ClassVar[Family] = Family.STORAGE

    @property
    def capacity_bytes(self) -> int:
        """Total payload capacity (bytes)."""
        return int(self._info["capacity_bytes"])

    def write(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` atomically."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DeviceCommandError(f"{self._name}: data must be bytes, got {type(data).__name__}")
        self._call("write", name, bytes(data))

    def read(self, name: str) -> bytes:
        """Content of blob ``name``."""
        out: bytes = self._call("read", name)
        return out

    def list(self) -> tuple[str, ...]:
        """Names of all blobs, sorted."""
        return tuple(self._call("list"))

    def delete(self, name: str) -> None:
        """Remove blob ``name``."""
        self._call("delete", name)

    def status(self) -> StorageReading:
        """Usage figures."""
        out: StorageReading = self._call("status")
        return out


class HilAttitude(HilDevice):
    """Attitude control unit on the rig (:class:`hal.attitude.AttitudeControl`)."""

    family: ClassVar[Family] = Family.ATTITUDE

    @property
    def max_slew_rate_deg_s(self) -> float:
        """Slew-rate limit (deg/s)."""
        return float(self._info["max_slew_rate_deg_s"])

    @property
    def pointing_tolerance_deg(self) -> float:
        """On-target tolerance (deg)."""
        return float(self._info["pointing_tolerance_deg"])

    @property
    def wheel_momentum_limit_nms(self) -> float:
        """Momentum-dump threshold (N m s)."""
        return float(self._info["wheel_momentum_limit_nms"])

    def set_mode(
        self,
        mode: AttitudeMode | str,
        *,
        q_target_eci: Sequence[float] | None = None,
        target_eci: Sequence[float] | None = None,
    ) -> None:
        """Command a pointing mode."""
        kwargs: dict[str, Any] = {}
        if q_target_eci is not None:
            kwargs["q_target_eci"] = _floats(q_target_eci)
        if target_eci is not None:
            kwargs["target_eci"] = _floats(target_eci)
        self._call(
            "set_mode", str(mode.value if isinstance(mode, AttitudeMode) else mode), **kwargs
        )

    def read(self) -> AttitudeReading:
        """Attitude, rate, wheel momentum and slew state."""
        out: AttitudeReading = self._call("read")
        return out


def _floats(v: Sequence[float]) -> Any:
    """A vector argument as it crosses the wire (a tuple when it is a sequence; the rig
    checks its content exactly as the simulated device does)."""
    if isinstance(v, (str, bytes)) or not hasattr(v, "__len__"):
        return v
    return tuple(x.item() if hasattr(x, "item") else x for x in v)


#: The client device class of each family.
DEVICE_CLASSES: Mapping[Family, type[HilDevice]] = types.MappingProxyType(
    {
        cls.family: cls
        for cls in (
            HilGnss,
            HilImu,
            HilStarTracker,
            HilSunSensor,
            HilTemperature,
            HilHeater,
            HilRadiator,
            HilSolarArray,
            HilBattery,
            HilPdu,
            HilThruster,
            HilLaserTerminal,
            HilAccelerator,
            HilImager,
            HilWatchdog,
            HilStorage,
            HilAttitude,
        )
    }
)
