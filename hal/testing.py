"""Conformance kit: the checks every backend's devices must pass, family by family.

Use it from a test of any backend::

    from hal.testing import check_device
    backend = open_backend("sim", seed=1); backend.create_devices({...})
    for dev in backend.devices.values():
        check_device(dev, backend)          # the sim backend is its own harness

A :class:`Harness` lets the kit move time (``advance``; a hardware rig sleeps) and cut a
device's supply (``set_device_power``); with ``reboot`` (:class:`RebootHarness`) the watchdog
expiry path is checked too. Every check raises :class:`ConformanceError` (an AssertionError)
describing the first violation. What is checked, per family:

- types: the reading is a frozen, slotted dataclass whose fields have their declared types
  (``float`` fields are floats, vectors are tuples of floats, enums are enum members...);
- units/ranges: plausible physical ranges, unit vectors and quaternions of norm 1, NaN when
  invalid, counts consistent with totals;
- timestamps: non-decreasing between reads, strictly increasing across ``advance``;
- validity flags consistent with the values;
- error behaviour: out-of-range commands raise DeviceCommandError and change nothing; a device
  without power raises DeviceUnavailableError for reads and commands and works again once
  powered (storage keeps its blobs).

The checks assume a healthy, powered device (no injected faults) and restore the command state
they changed when they can (a thruster check burns a little propellant).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from hal import FAMILY_INTERFACES
from hal._common import Device, Family
from hal.accelerator import STANDARD_KERNELS, Accelerator, AcceleratorStatus, JobState, PowerMode
from hal.attitude import AttitudeControl, AttitudeMode
from hal.imager import Imager
from hal.laser import LaserTerminal, PatState
from hal.platform import ResetReason, Storage, Watchdog
from hal.power import Battery, CellStatus, Pdu, SolarArray
from hal.propulsion import Thruster, ThrusterStatus
from hal.sensors import GnssFix, GnssReceiver, Imu, StarTracker, SunSensor, TemperatureSensors
from hal.thermal import Heater, Radiator
from native.errors import DeviceCommandError, DeviceFaultError, DeviceUnavailableError

__all__ = [
    "CHECKS",
    "STEP_NS",
    "ConformanceError",
    "Harness",
    "RebootHarness",
    "check_accelerator",
    "check_attitude",
    "check_backend",
    "check_battery",
    "check_device",
    "check_gnss",
    "check_heater",
    "check_imager",
    "check_imu",
    "check_laser_terminal",
    "check_pdu",
    "check_radiator",
    "check_reading_type",
    "check_solar_array",
    "check_star_tracker",
    "check_storage",
    "check_sun_sensor",
    "check_temperature",
    "check_thruster",
    "check_timestamps",
    "check_unavailable_when_off",
    "check_watchdog",
]

#: Time step the kit advances by (1 s).
STEP_NS = 1_000_000_000
_G0 = 9.80665


class ConformanceError(AssertionError):
    """A device violated its interface contract."""


@runtime_checkable
class Harness(Protocol):
    """How the kit controls time and power around a device under test."""

    def advance(self, dt_ns: int) -> None:
        """Let ``dt_ns`` of backend time pass."""
        ...

    def set_device_power(self, name: str, on: bool) -> None:
        """Cut or restore the supply of device ``name``."""
        ...


@runtime_checkable
class RebootHarness(Harness, Protocol):
    """A harness that can restart the flight computer (for the watchdog expiry check)."""

    def reboot(self, reason: ResetReason = ResetReason.COMMANDED) -> Any:
        """Restart the flight computer."""
        ...


# ------------------------------------------------------------------------------ helpers
def _fail(dev: Device | None, msg: str) -> ConformanceError:
    who = f"{dev.family.value} {dev.name!r}: " if dev is not None else ""
    return ConformanceError(who + msg)


def _ensure(cond: bool, dev: Device | None, msg: str) -> None:
    if not cond:
        raise _fail(dev, msg)


def _check_value(value: Any, tp: Any, path: str) -> None:
    origin = typing.get_origin(tp)
    if tp is Any:
        return
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, float):
            raise ConformanceError(f"{path}: expected float, got {type(value).__name__}")
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConformanceError(f"{path}: expected int, got {type(value).__name__}")
    elif tp is bool or tp is str:
        if type(value) is not tp:
            raise ConformanceError(f"{path}: expected {tp.__name__}, got {type(value).__name__}")
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        if not isinstance(value, tp):
            raise ConformanceError(f"{path}: expected {tp.__name__}, got {value!r}")
    elif origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, tuple):
            raise ConformanceError(f"{path}: expected tuple, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            for i, v in enumerate(value):
                _check_value(v, args[0], f"{path}[{i}]")
        else:
            if len(value) != len(args):
                raise ConformanceError(f"{path}: expected {len(args)} items, got {len(value)}")
            for i, (v, a) in enumerate(zip(value, args, strict=True)):
                _check_value(v, a, f"{path}[{i}]")
    elif dataclasses.is_dataclass(tp):
        if not isinstance(value, tp):  # type: ignore[arg-type]
            raise ConformanceError(f"{path}: expected {getattr(tp, '__name__', tp)}, got {value!r}")
        _check_fields(value, f"{path}")


def _check_fields(obj: Any, path: str) -> None:
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        _check_value(getattr(obj, f.name), hints[f.name], f"{path}.{f.name}")


def check_reading_type(reading: Any, cls: type, dev: Device | None = None) -> None:
    """``reading`` is a frozen, slotted ``cls`` with ``t_ns``/``valid`` first and typed fields."""
    _ensure(
        type(reading) is cls, dev, f"read() returned {type(reading).__name__}, not {cls.__name__}"
    )
    _ensure(dataclasses.is_dataclass(reading), dev, f"{cls.__name__} is not a dataclass")
    _ensure(not hasattr(reading, "__dict__"), dev, f"{cls.__name__} is not slotted")
    names = [f.name for f in dataclasses.fields(reading)]
    _ensure(names[:2] == ["t_ns", "valid"], dev, f"{cls.__name__} must start with t_ns, valid")
    try:
        setattr(reading, names[0], 0)
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise _fail(dev, f"{cls.__name__} is not frozen")
    try:
        _check_fields(reading, cls.__name__)
    except ConformanceError as exc:
        raise _fail(dev, str(exc)) from None
    _ensure(reading.t_ns >= 0, dev, f"negative timestamp {reading.t_ns}")


def check_timestamps(dev: Device, read: Callable[[], Any], harness: Harness) -> None:
    """Timestamps never go backwards, and move forward when time passes."""
    r1 = read()
    r2 = read()
    _ensure(r2.t_ns >= r1.t_ns, dev, f"timestamp went backwards: {r1.t_ns} -> {r2.t_ns}")
    harness.advance(STEP_NS)
    r3 = read()
    _ensure(r3.t_ns > r2.t_ns, dev, f"timestamp did not advance with time: {r2.t_ns} -> {r3.t_ns}")


def check_unavailable_when_off(
    dev: Device,
    harness: Harness,
    read: Callable[[], Any],
    commands: Mapping[str, Callable[[], Any]] | None = None,
) -> None:
    """Without power, reads and commands raise DeviceUnavailableError; with power back the
    device reads again."""
    harness.set_device_power(dev.name, False)
    try:
        for label, call in {"read": read, **dict(commands or {})}.items():
            try:
                call()
            except DeviceUnavailableError:
                continue
            except Exception as exc:
                raise _fail(
                    dev,
                    f"{label} without power raised {type(exc).__name__}, "
                    "not DeviceUnavailableError",
                ) from exc
            raise _fail(dev, f"{label} without power did not raise DeviceUnavailableError")
    finally:
        harness.set_device_power(dev.name, True)
    read()


def _expect_command_error(dev: Device, label: str, call: Callable[[], Any]) -> None:
    try:
        call()
    except DeviceCommandError:
        return
    except Exception as exc:
        raise _fail(dev, f"{label} raised {type(exc).__name__}, not DeviceCommandError") from exc
    raise _fail(dev, f"{label} was accepted; expected DeviceCommandError")


def _isnan_all(v: tuple[float, ...]) -> bool:
    return all(math.isnan(x) for x in v)


def _finite_all(v: tuple[float, ...]) -> bool:
    return all(math.isfinite(x) for x in v)


def _norm(v: tuple[float, ...]) -> float:
    return math.sqrt(sum(x * x for x in v))


def _interface(dev: Device, iface: type) -> None:
    _ensure(isinstance(dev, iface), dev, f"does not implement {iface.__name__}")
    _ensure(isinstance(dev.name, str) and bool(dev.name), dev, "name must be a non-empty str")
    _ensure(FAMILY_INTERFACES[dev.family] is iface, dev, f"family {dev.family} is not {iface}")


# ------------------------------------------------------------------------------ sensors
def check_gnss(dev: GnssReceiver, harness: Harness) -> None:
    """GNSS receiver conformance."""
    from hal.sensors import GnssReading

    _interface(dev, GnssReceiver)
    r = dev.read()
    check_reading_type(r, GnssReading, dev)
    _ensure(r.valid == (r.fix is GnssFix.FIX_3D), dev, "valid must equal fix == FIX_3D")
    if r.valid:
        rn, vn = _norm(r.position_ecef_m), _norm(r.velocity_ecef_m_s)
        _ensure(6.4e6 <= rn <= 5.0e7, dev, f"|position| = {rn:.0f} m is not an orbit radius")
        _ensure(vn < 1.2e4, dev, f"|velocity| = {vn:.0f} m/s too large")
        _ensure(r.sats_used >= 4, dev, f"3-D fix with {r.sats_used} satellites")
        _ensure(r.utc_ns > 946_684_800 * 10**9, dev, f"utc_ns {r.utc_ns} before 2000")
    else:
        _ensure(_isnan_all(r.position_ecef_m + r.velocity_ecef_m_s), dev, "invalid fix not NaN")
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(dev, harness, dev.read)


def check_imu(dev: Imu, harness: Harness) -> None:
    """Gyro/IMU conformance."""
    from hal.sensors import ImuReading

    _interface(dev, Imu)
    rng = dev.range_rad_s
    _ensure(isinstance(rng, float) and rng > 0, dev, f"range_rad_s = {rng!r}")
    r = dev.read()
    check_reading_type(r, ImuReading, dev)
    if r.valid:
        _ensure(_finite_all(r.rate_rad_s), dev, "valid rate not finite")
        _ensure(all(abs(x) <= rng for x in r.rate_rad_s), dev, "rate beyond range_rad_s")
    else:
        _ensure(_isnan_all(r.rate_rad_s), dev, "invalid rate not NaN")
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(dev, harness, dev.read)


def check_star_tracker(dev: StarTracker, harness: Harness) -> None:
    """Star tracker conformance."""
    from hal.sensors import StarTrackerReading

    _interface(dev, StarTracker)
    r = dev.read()
    check_reading_type(r, StarTrackerReading, dev)
    if r.valid:
        n = _norm(r.q_body_to_eci)
        _ensure(abs(n - 1.0) < 1e-6, dev, f"quaternion norm {n!r}")
    else:
        _ensure(_isnan_all(r.q_body_to_eci), dev, "invalid quaternion not NaN")
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(dev, harness, dev.read)


def check_sun_sensor(dev: SunSensor, harness: Harness) -> None:
    """Sun sensor conformance."""
    from hal.sensors import SunSensorReading

    _interface(dev, SunSensor)
    r = dev.read()
    check_reading_type(r, SunSensorReading, dev)
    if r.valid:
        n = _norm(r.sun_body_unit)
        _ensure(abs(n - 1.0) < 1e-6, dev, f"sun vector norm {n!r}")
    else:
        _ensure(_isnan_all(r.sun_body_unit), dev, "invalid sun vector not NaN")
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(dev, harness, dev.read)


def check_temperature(dev: TemperatureSensors, harness: Harness) -> None:
    """Temperature channels conformance."""
    from hal.sensors import TemperatureReading

    _interface(dev, TemperatureSensors)
    names = dev.channel_names
    _ensure(len(names) > 0 and len(set(names)) == len(names), dev, f"channel names {names!r}")
    r = dev.read()
    check_reading_type(r, TemperatureReading, dev)
    _ensure(tuple(c.name for c in r.channels) == names, dev, "channels differ from channel_names")
    _ensure(r.valid == all(c.valid for c in r.channels), dev, "valid must be all channels valid")
    for c in r.channels:
        if c.valid:
            _ensure(-100.0 <= c.temp_c <= 200.0, dev, f"{c.name}: {c.temp_c!r} deg C")
        else:
            _ensure(math.isnan(c.temp_c), dev, f"{c.name}: invalid but not NaN")
        _ensure(r.channel(c.name) is c, dev, "channel(name) lookup")
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(dev, harness, dev.read)


# ------------------------------------------------------------------------------ thermal
def check_heater(dev: Heater, harness: Harness) -> None:
    """Heater conformance: duty range, power = rated * duty when on, bad duty rejected."""
    from hal.thermal import HeaterReading

    _interface(dev, Heater)
    rated = dev.rated_w
    _ensure(isinstance(rated, float) and rated > 0, dev, f"rated_w = {rated!r}")
    r0 = dev.read()
    check_reading_type(r0, HeaterReading, dev)
    _ensure(0.0 <= r0.duty_frac <= 1.0, dev, f"duty {r0.duty_frac!r}")
    _ensure(0.0 <= r0.power_w <= rated * (1 + 1e-9), dev, f"power {r0.power_w!r}")
    for bad in (-0.1, 1.1, math.nan, math.inf):
        _expect_command_error(dev, f"set_duty({bad})", functools.partial(dev.set_duty, bad))
        r = dev.read()
        _ensure((r.on, r.duty_frac) == (r0.on, r0.duty_frac), dev, "rejected duty changed state")
    try:
        dev.set_duty(0.5)
        dev.set_on(True)
        r = dev.read()
        _ensure(r.on and r.duty_frac == 0.5, dev, "set_on/set_duty not reflected")
        _ensure(math.isclose(r.power_w, 0.5 * rated, rel_tol=1e-3), dev, f"power {r.power_w!r}")
        dev.set_on(False)
        r = dev.read()
        _ensure(not r.on and r.power_w == 0.0, dev, f"off but power {r.power_w!r}")
    finally:
        dev.set_duty(r0.duty_frac)
        dev.set_on(r0.on)
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(
        dev,
        harness,
        dev.read,
        {"set_on": lambda: dev.set_on(True), "set_duty": lambda: dev.set_duty(1.0)},
    )


def check_radiator(dev: Radiator, harness: Harness) -> None:
    """Radiator conformance: settable range, out-of-range rejected."""
    from hal.thermal import RadiatorReading

    _interface(dev, Radiator)
    lo, hi = dev.emissivity_range
    _ensure(0.0 <= lo <= hi <= 1.0, dev, f"emissivity_range ({lo}, {hi})")
    r0 = dev.read()
    check_reading_type(r0, RadiatorReading, dev)
    _ensure(lo - 1e-9 <= r0.emissivity <= hi + 1e-9, dev, f"emissivity {r0.emissivity!r}")
    if r0.valid:
        _ensure(-200.0 <= r0.temp_c <= 200.0, dev, f"temp {r0.temp_c!r}")
    for bad in (hi + 0.05, lo - 0.05, math.nan):
        if 0.0 <= bad <= 1.0 and lo <= bad <= hi:
            continue
        _expect_command_error(
            dev, f"set_emissivity({bad})", functools.partial(dev.set_emissivity, bad)
        )
        _ensure(dev.read().emissivity == r0.emissivity, dev, "rejected emissivity changed state")
    try:
        mid = 0.5 * (lo + hi)
        dev.set_emissivity(mid)
        _ensure(abs(dev.read().emissivity - mid) < 1e-9, dev, "set_emissivity not reflected")
    finally:
        dev.set_emissivity(min(max(r0.emissivity, lo), hi))
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(
        dev, harness, dev.read, {"set_emissivity": lambda: dev.set_emissivity(hi)}
    )


# -------------------------------------------------------------------------------- power
def check_solar_array(dev: SolarArray, harness: Harness) -> None:
    """Solar array telemetry conformance."""
    from hal.power import SolarArrayReading

    _interface(dev, SolarArray)
    r = dev.read()
    check_reading_type(r, SolarArrayReading, dev)
    _ensure(r.strings_total >= 1 and 0 <= r.strings_ok <= r.strings_total, dev, "string counts")
    if r.valid:
        _ensure(r.current_a >= 0 and r.voltage_v >= 0, dev, "negative current or voltage")
        _ensure(
            math.isclose(r.power_w, r.current_a * r.voltage_v, rel_tol=1e-6, abs_tol=1e-9),
            dev,
            "power_w != current_a * voltage_v",
        )
        _ensure(-200.0 <= r.temp_c <= 200.0, dev, f"temp {r.temp_c!r}")
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(dev, harness, dev.read)


def check_battery(dev: Battery, harness: Harness) -> None:
    """Battery telemetry conformance."""
    from hal.power import BatteryReading

    _interface(dev, Battery)
    r = dev.read()
    check_reading_type(r, BatteryReading, dev)
    _ensure(r.cells_total >= 1 and 0 <= r.cells_ok <= r.cells_total, dev, "cell counts")
    _ensure(len(r.cell_status) == r.cells_total, dev, "one cell_status per cell")
    _ensure(r.cell_status.count(CellStatus.OK) == r.cells_ok, dev, "cell_status vs cells_ok")
    if r.valid:
        _ensure(0.0 < r.voltage_v < 1000.0, dev, f"voltage {r.voltage_v!r}")
        _ensure(math.isfinite(r.current_a), dev, "current not finite")
        _ensure(-100.0 <= r.temp_c <= 200.0, dev, f"temp {r.temp_c!r}")
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(dev, harness, dev.read)


def check_pdu(dev: Pdu, harness: Harness, *, toggle_rail: str | None = None) -> None:
    """PDU conformance; with ``toggle_rail`` that rail is switched off and on again."""
    from hal.power import PduReading

    _interface(dev, Pdu)
    names = dev.rail_names
    _ensure(len(names) > 0, dev, "no rails")
    r = dev.read()
    check_reading_type(r, PduReading, dev)
    _ensure(tuple(x.name for x in r.rails) == names, dev, "rails differ from rail_names")
    for x in r.rails:
        _ensure(x.current_a >= 0.0, dev, f"{x.name}: negative current")
        _ensure(not (x.tripped and x.on), dev, f"{x.name}: tripped yet on")
        _ensure(x.on or x.current_a == 0.0, dev, f"{x.name}: off but draws current")
    _expect_command_error(dev, "set_rail(unknown)", lambda: dev.set_rail("__no_such_rail__", True))
    _expect_command_error(dev, "reset_rail(unknown)", lambda: dev.reset_rail("__no_such_rail__"))
    switches = tuple((x.name, x.on, x.tripped) for x in dev.read().rails)
    _ensure(switches == tuple((x.name, x.on, x.tripped) for x in r.rails), dev, "rails changed")
    if toggle_rail is not None:
        was_on = r.rail(toggle_rail).on
        try:
            dev.set_rail(toggle_rail, False)
            _ensure(not dev.read().rail(toggle_rail).on, dev, "set_rail(off) not reflected")
            harness.advance(STEP_NS)
            _ensure(dev.read().rail(toggle_rail).current_a == 0.0, dev, "off rail draws current")
            dev.set_rail(toggle_rail, True)
            _ensure(dev.read().rail(toggle_rail).on, dev, "set_rail(on) not reflected")
        finally:
            dev.set_rail(toggle_rail, was_on)
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(
        dev, harness, dev.read, {"set_rail": lambda: dev.set_rail(names[0], True)}
    )


# --------------------------------------------------------------------------- propulsion
def check_thruster(dev: Thruster, harness: Harness, *, burn: bool = True) -> None:
    """Thruster conformance; with ``burn`` a 2 s burn checks firing and propellant use."""
    from hal.propulsion import ThrusterReading

    _interface(dev, Thruster)
    _ensure(dev.max_burn_s > 0, dev, "max_burn_s must be > 0")
    r0 = dev.read()
    check_reading_type(r0, ThrusterReading, dev)
    _ensure(r0.status is ThrusterStatus.READY, dev, f"conformance needs READY, got {r0.status}")
    _ensure(r0.thrust_n == 0.0 and r0.burn_remaining_s == 0.0, dev, "idle thruster thrusts")
    _ensure(r0.isp_s > 0 and r0.propellant_kg >= 0, dev, "isp/propellant")
    bad: dict[str, Callable[[], Any]] = {
        "zero direction": lambda: dev.fire((0.0, 0.0, 0.0), 1.0),
        "NaN direction": lambda: dev.fire((math.nan, 0.0, 0.0), 1.0),
        "2-component direction": lambda: dev.fire((1.0, 0.0), 1.0),
        "zero duration": lambda: dev.fire((1.0, 0.0, 0.0), 0.0),
        "negative duration": lambda: dev.fire((1.0, 0.0, 0.0), -1.0),
        "NaN duration": lambda: dev.fire((1.0, 0.0, 0.0), math.nan),
        "too long a burn": lambda: dev.fire((1.0, 0.0, 0.0), dev.max_burn_s * 2),
    }
    for label, call in bad.items():
        _expect_command_error(dev, f"fire with {label}", call)
        r = dev.read()
        _ensure(
            r.status is ThrusterStatus.READY and r.propellant_kg == r0.propellant_kg,
            dev,
            f"rejected fire ({label}) changed state",
        )
    if burn:
        dev.fire((0.0, 1.0, 0.0), 2.0)
        r = dev.read()
        _ensure(r.status is ThrusterStatus.FIRING and r.thrust_n > 0, dev, "not firing")
        _ensure(0 < r.burn_remaining_s <= 2.0, dev, f"burn_remaining_s {r.burn_remaining_s!r}")
        _expect_command_error(dev, "fire while firing", lambda: dev.fire((0.0, 1.0, 0.0), 1.0))
        thrust, isp = r.thrust_n, r.isp_s
        harness.advance(3 * STEP_NS)
        r2 = dev.read()
        _ensure(r2.status is ThrusterStatus.READY, dev, f"burn did not end: {r2.status}")
        used = r0.propellant_kg - r2.propellant_kg
        expect = thrust * 2.0 / (isp * _G0)
        _ensure(
            math.isclose(used, expect, rel_tol=0.1), dev, f"used {used!r} kg, expected {expect!r}"
        )
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(
        dev, harness, dev.read, {"fire": lambda: dev.fire((1.0, 0.0, 0.0), 1.0)}
    )


# -------------------------------------------------------------------------------- laser
def check_laser_terminal(
    dev: LaserTerminal, harness: Harness, *, peer: str | None = None, max_acq_s: int = 150
) -> None:
    """Laser terminal conformance; with ``peer`` a full acquisition up to COMM is run."""
    from hal.laser import LaserReading

    _interface(dev, LaserTerminal)
    _ensure(isinstance(dev.mtu_bytes, int) and dev.mtu_bytes > 0, dev, "mtu_bytes")
    dev.stop()
    r0 = dev.read()
    check_reading_type(r0, LaserReading, dev)
    _ensure(r0.state is PatState.IDLE and r0.peer == "", dev, "stop() did not give IDLE")
    _ensure(not r0.valid and r0.rx_power_dbm == -math.inf, dev, "IDLE must have no signal")
    _ensure(r0.link_rate_bps == 0.0, dev, "IDLE with a link rate")
    bad: dict[str, Callable[[], Any]] = {
        "acquire(unknown peer)": lambda: dev.acquire("__no_such_peer__"),
        "point(az out of range)": lambda: dev.point(4.0, 0.0),
        "point(el out of range)": lambda: dev.point(0.0, 2.0),
        "point(NaN)": lambda: dev.point(math.nan, 0.0),
        "send while IDLE": lambda: dev.send(b"x"),
        "send(empty)": lambda: dev.send(b""),
        "send(> mtu)": lambda: dev.send(bytes(dev.mtu_bytes + 1)),
    }
    for label, call in bad.items():
        _expect_command_error(dev, label, call)
        r = dev.read()
        _ensure(
            r.state is PatState.IDLE and r.frames_sent == r0.frames_sent,
            dev,
            f"{label} changed state",
        )
    got = dev.receive()
    _ensure(got is None or isinstance(got, bytes), dev, "receive() must give bytes or None")
    dev.point(0.1, 0.2)
    _ensure(dev.read().state is PatState.POINTING, dev, "point() did not give POINTING")
    dev.stop()
    _ensure(dev.read().state is PatState.IDLE, dev, "stop() did not give IDLE")
    if peer is not None:
        dev.acquire(peer)
        r = dev.read()
        _ensure(r.state is PatState.POINTING and r.peer == peer, dev, "acquire() not POINTING")
        seen = {r.state}
        for _ in range(max_acq_s):
            harness.advance(STEP_NS)
            r = dev.read()
            seen.add(r.state)
            if r.state is PatState.COMM:
                break
        _ensure(r.state is PatState.COMM, dev, f"no COMM after {max_acq_s} s: {r.state.name}")
        _ensure(r.valid and math.isfinite(r.rx_power_dbm), dev, "COMM without received power")
        _ensure(r.link_rate_bps > 0 and r.range_m > 0, dev, "COMM without rate or range")
        dev.send(b"conformance")
        _ensure(dev.read().frames_sent == r.frames_sent + 1, dev, "frames_sent not counted")
        dev.stop()
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(
        dev,
        harness,
        dev.read,
        {"point": lambda: dev.point(0.0, 0.0), "send": lambda: dev.send(b"x"), "stop": dev.stop},
    )


# -------------------------------------------------------------------------- accelerator
def check_accelerator(dev: Accelerator, harness: Harness, *, max_wait_s: int = 30) -> None:
    """Accelerator conformance: modes, bad commands, a matmul job's result and accounting,
    reset."""
    from hal.accelerator import AcceleratorReading

    _interface(dev, Accelerator)
    modes = dev.modes
    _ensure(set(modes) == set(PowerMode), dev, "modes must cover every PowerMode")
    _ensure(modes[PowerMode.OFF].tops == 0.0, dev, "mode OFF must have 0 TOPS")
    for m, spec in modes.items():
        if m is not PowerMode.OFF:
            _ensure(spec.tops > 0 and spec.power_w >= spec.idle_w >= 0, dev, f"mode {m}: {spec}")
    _ensure(set(STANDARD_KERNELS) <= set(dev.kernels), dev, "missing standard kernels")
    r0 = dev.read()
    check_reading_type(r0, AcceleratorReading, dev)
    _expect_command_error(dev, "set_mode(unknown)", lambda: dev.set_mode("TURBO"))
    _ensure(dev.read().mode is r0.mode, dev, "rejected set_mode changed the mode")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 64)), rng.standard_normal((64, 64))
    try:
        dev.set_mode(PowerMode.LOW)
        bad: dict[str, Callable[[], Any]] = {
            "unknown kernel": lambda: dev.submit("__no_such_kernel__", a),
            "wrong input count": lambda: dev.submit("matmul", a),
            "callable without ops": lambda: dev.submit(np.add, a, b),
            "negative ops": lambda: dev.submit(np.add, a, b, ops=-1.0),
            "NaN ops": lambda: dev.submit(np.add, a, b, ops=math.nan),
            "state(unknown id)": lambda: dev.state(-12345),
            "result(unknown id)": lambda: dev.result(-12345),
        }
        before = dev.read()
        for label, call in bad.items():
            _expect_command_error(dev, label, call)
        after = dev.read()
        _ensure(after.jobs_pending == before.jobs_pending, dev, "rejected submit queued a job")
        jid = dev.submit("matmul", a, b)
        _ensure(dev.state(jid) is not JobState.LOST, dev, "fresh job LOST")
        res = dev.result(jid)
        for _ in range(max_wait_s):
            if res is not None:
                break
            harness.advance(STEP_NS)
            res = dev.result(jid)
        _ensure(res is not None, dev, f"matmul not done after {max_wait_s} s")
        assert res is not None
        _ensure(dev.state(jid) is JobState.DONE, dev, "result given but state not DONE")
        _ensure(np.allclose(res.outputs, a @ b, rtol=1e-10, atol=1e-10), dev, "wrong matmul")
        spec = modes[PowerMode.LOW]
        ops = 2.0 * 64**3
        _ensure(res.ops == ops, dev, f"ops {res.ops!r}, expected {ops!r}")
        _ensure(
            math.isclose(res.modelled_s, ops / (spec.tops * 1e12), rel_tol=1e-9),
            dev,
            "modelled_s != ops / (tops * 1e12)",
        )
        _ensure(
            math.isclose(res.energy_j, spec.power_w * res.modelled_s, rel_tol=1e-9),
            dev,
            "energy_j != power_w * modelled_s",
        )
        _ensure(res.t_submit_ns <= res.t_start_ns <= res.t_done_ns, dev, "job times out of order")
        r1 = dev.read()
        _ensure(r1.jobs_done >= before.jobs_done + 1, dev, "jobs_done not counted")
        _ensure(r1.energy_j >= before.energy_j + res.energy_j * (1 - 1e-9), dev, "energy_j")
        dev.reset()
        r2 = dev.read()
        _ensure(r2.resets == r1.resets + 1, dev, "reset not counted")
        _ensure(r2.status is AcceleratorStatus.IDLE, dev, f"after reset: {r2.status}")
    finally:
        dev.set_mode(r0.mode)
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(
        dev,
        harness,
        dev.read,
        {"set_mode": lambda: dev.set_mode(PowerMode.LOW), "reset": dev.reset},
    )


# ----------------------------------------------------------------------------- platform
def check_watchdog(dev: Watchdog, harness: Harness) -> None:
    """Watchdog conformance; the expiry path needs a :class:`RebootHarness`."""
    from hal.platform import WatchdogReading

    _interface(dev, Watchdog)
    lo, hi = dev.timeout_range_s
    _ensure(0 < lo <= hi, dev, f"timeout_range_s ({lo}, {hi})")
    r0 = dev.read()
    check_reading_type(r0, WatchdogReading, dev)
    _ensure(not r0.expired, dev, "conformance needs a watchdog that has not expired")
    for bad in (lo / 2, hi * 2, math.nan, -1.0):
        _expect_command_error(dev, f"arm({bad})", functools.partial(dev.arm, bad))
        _ensure(dev.read().armed == r0.armed, dev, "rejected arm changed state")
    if not r0.armed:
        _ensure(r0.remaining_s == math.inf, dev, "disarmed remaining_s must be inf")
        _expect_command_error(dev, "kick() while disarmed", dev.kick)
    timeout = min(max(lo, 4.0), hi)
    step = max(1, math.floor(timeout / 2))
    dev.arm(timeout)
    r = dev.read()
    _ensure(r.armed and r.timeout_s == timeout, dev, "arm() not reflected")
    harness.advance(step * STEP_NS)
    dev.kick()
    _ensure(abs(dev.read().remaining_s - timeout) < 1e-9, dev, "kick() did not restart")
    harness.advance(step * STEP_NS)
    r = dev.read()
    _ensure(not r.expired and 0 < r.remaining_s <= timeout, dev, "expired although kicked")
    try:
        dev.disarm()
        _ensure(not dev.read().armed, dev, "disarm() not reflected")
    except DeviceCommandError:
        pass  # hardware may forbid disarming
    if isinstance(harness, RebootHarness):
        dev.arm(timeout)
        harness.advance(math.ceil(timeout + 1) * STEP_NS)
        r = dev.read()
        _ensure(r.expired and r.remaining_s == 0.0, dev, "did not expire without kicks")
        try:
            dev.kick()
        except DeviceFaultError:
            pass
        else:
            raise _fail(dev, "kick() after expiry must raise DeviceFaultError")
        harness.reboot()
        r = dev.read()
        _ensure(r.reset_reason is ResetReason.WATCHDOG, dev, f"reset_reason {r.reset_reason}")
        _ensure(not r.expired and not r.armed, dev, "reboot did not clear the watchdog")
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(dev, harness, dev.read, {"arm": lambda: dev.arm(timeout)})


def check_storage(dev: Storage, harness: Harness) -> None:
    """Storage conformance: names, atomic replace, capacity, delete, non-volatility."""
    from hal.platform import StorageReading

    _interface(dev, Storage)
    cap = dev.capacity_bytes
    _ensure(isinstance(cap, int) and cap > 0, dev, f"capacity_bytes {cap!r}")
    s0 = dev.status()
    check_reading_type(s0, StorageReading, dev)
    _ensure(0 <= s0.used_bytes <= cap == s0.capacity_bytes, dev, "usage figures")
    names0 = dev.list()
    _ensure(names0 == tuple(sorted(names0)) and len(names0) == s0.blobs, dev, "list() vs blobs")
    for bad in ("", "../escape", ".hidden", "a/b", "x" * 65, "sp ace"):
        _expect_command_error(dev, f"write({bad!r})", functools.partial(dev.write, bad, b"x"))
    _ensure(dev.list() == names0, dev, "rejected write changed the blobs")
    name = "conformance-blob"
    _ensure(name not in names0, dev, f"{name!r} already exists")
    try:
        dev.write(name, b"abc")
        _ensure(dev.read(name) == b"abc", dev, "read back differs")
        _ensure(name in dev.list() and dev.status().blobs == s0.blobs + 1, dev, "not listed")
        dev.write(name, b"xyz!")
        _ensure(dev.read(name) == b"xyz!", dev, "replace failed")
        free = cap - dev.status().used_bytes + 4
        if free <= 256 << 20:
            _expect_command_error(
                dev, "write beyond capacity", lambda: dev.write(name, bytes(free + 1))
            )
            _ensure(dev.read(name) == b"xyz!", dev, "failed write changed the blob")
        check_unavailable_when_off(
            dev,
            harness,
            dev.status,
            {
                "read": lambda: dev.read(name),
                "write": lambda: dev.write(name, b"0"),
                "list": dev.list,
                "delete": lambda: dev.delete(name),
            },
        )
        _ensure(dev.read(name) == b"xyz!", dev, "blob lost across a power cycle")
    finally:
        if name in dev.list():
            dev.delete(name)
    _ensure(name not in dev.list(), dev, "delete() did not remove the blob")
    _expect_command_error(dev, "read(missing)", lambda: dev.read(name))
    _expect_command_error(dev, "delete(missing)", lambda: dev.delete(name))
    check_timestamps(dev, dev.status, harness)


# ------------------------------------------------------------------------------- driver
def check_imager(dev: Imager, harness: Harness) -> None:
    """Imager conformance: tile shape and dtype, read-only data, repeatable reads, bad
    arguments rejected, unavailable when unpowered."""
    import numpy as np

    from hal.imager import N_BANDS, ImageTiles

    _interface(dev, Imager)
    px = dev.tile_px
    _ensure(isinstance(px, int) and px > 0, dev, f"tile_px {px!r}")
    r = dev.read_tiles(3, 0, 2)
    _ensure(type(r) is ImageTiles and r.valid, dev, "read_tiles did not return valid ImageTiles")
    _ensure(r.bands.shape == (2, N_BANDS, px, px), dev, f"bands shape {r.bands.shape}")
    _ensure(
        r.bands.dtype == np.float32 and not r.bands.flags.writeable, dev, "bands dtype/writeable"
    )
    _ensure(bool(np.all(np.isfinite(r.bands))), dev, "non-finite pixels")
    again = dev.read_tiles(3, 1, 1)
    _ensure(np.array_equal(again.bands[0], r.bands[1]), dev, "a tile read twice differs")
    for label, args in (
        ("negative scene", (-1, 0, 1)),
        ("zero count", (0, 0, 0)),
        ("negative tile", (0, -2, 1)),
        ("bool count", (0, 0, True)),
    ):
        _expect_command_error(dev, label, functools.partial(dev.read_tiles, *args))
    check_unavailable_when_off(dev, harness, lambda: dev.read_tiles(0, 0, 1))


def check_attitude(dev: AttitudeControl, harness: Harness, *, slew: bool = True) -> None:
    """Attitude control conformance: reading types and invariants (unit quaternion, angle in
    [0, 180] deg, momentum magnitude = norm of its vector), bad mode commands refused with the
    mode unchanged, an INERTIAL hold of the current attitude is on target at once, and (with
    ``slew``) a commanded SUN slew completes within 180 deg / rate (plus two steps); a unit
    found in NADIR or SUN is commanded back to it. Unavailable when unpowered."""
    from hal.attitude import AttitudeReading

    _interface(dev, AttitudeControl)
    rate = dev.max_slew_rate_deg_s
    tol = dev.pointing_tolerance_deg
    hmax = dev.wheel_momentum_limit_nms
    for label, v in (("max_slew_rate_deg_s", rate), ("pointing_tolerance_deg", tol)):
        _ensure(isinstance(v, float) and 0.0 < v <= 180.0, dev, f"{label} = {v!r}")
    _ensure(isinstance(hmax, float) and hmax > 0.0, dev, f"wheel_momentum_limit_nms {hmax!r}")

    def read_checked() -> AttitudeReading:
        r = dev.read()
        check_reading_type(r, AttitudeReading, dev)
        _ensure(r.valid, dev, "a healthy unit reported an invalid reading")
        _ensure(abs(_norm(r.q_body_to_eci) - 1.0) < 1e-6, dev, "quaternion not unit")
        _ensure(r.q_body_to_eci[0] >= 0.0, dev, "quaternion scalar part negative")
        _ensure(0.0 <= r.angle_to_target_deg <= 180.0 + 1e-9, dev, "angle outside [0, 180]")
        _ensure(
            abs(r.wheel_momentum_nms - _norm(r.wheel_momentum_body_nms)) < 1e-9,
            dev,
            "wheel momentum magnitude differs from its vector's norm",
        )
        _ensure(r.slewing == (r.angle_to_target_deg > tol), dev, "slewing flag vs angle")
        _ensure(r.desaturations >= 0, dev, "negative desaturation count")
        return r

    r0 = read_checked()
    before = r0.mode
    for label, call in (
        ("unknown mode", lambda: dev.set_mode("warp")),
        ("inertial without a quaternion", lambda: dev.set_mode(AttitudeMode.INERTIAL)),
        (
            "inertial with a non-unit quaternion",
            lambda: dev.set_mode(AttitudeMode.INERTIAL, q_target_eci=(2.0, 0.0, 0.0, 0.0)),
        ),
        (
            "inertial with a NaN quaternion",
            lambda: dev.set_mode(AttitudeMode.INERTIAL, q_target_eci=(math.nan, 0, 0, 1.0)),
        ),
        ("target vector without a vector", lambda: dev.set_mode(AttitudeMode.TARGET_VECTOR)),
        (
            "target vector of zero length",
            lambda: dev.set_mode(AttitudeMode.TARGET_VECTOR, target_eci=(0.0, 0.0, 0.0)),
        ),
        (
            "target vector of two numbers",
            lambda: dev.set_mode(AttitudeMode.TARGET_VECTOR, target_eci=(1.0, 0.0)),
        ),
        ("nadir with a target", lambda: dev.set_mode(AttitudeMode.NADIR, target_eci=(1, 0, 0))),
    ):
        _expect_command_error(dev, label, call)
        _ensure(dev.read().mode is before, dev, f"{label}: the mode changed")

    # Holding the current attitude inertially is on target at once (after one step).
    dev.set_mode(AttitudeMode.INERTIAL, q_target_eci=read_checked().q_body_to_eci)
    _ensure(dev.read().mode is AttitudeMode.INERTIAL, dev, "mode not INERTIAL after command")
    harness.advance(STEP_NS)
    r = read_checked()
    _ensure(not r.slewing, dev, f"INERTIAL hold of the current attitude {r.angle_to_target_deg}")

    if slew:
        dev.set_mode(AttitudeMode.SUN)
        harness.advance(STEP_NS)
        max_steps = math.ceil(180.0 / rate * 1e9 / STEP_NS) + 2
        for _ in range(max_steps):
            r = read_checked()
            if not r.slewing:
                break
            harness.advance(STEP_NS)
        _ensure(r.mode is AttitudeMode.SUN and not r.slewing, dev, "SUN slew did not complete")
    if before in (AttitudeMode.NADIR, AttitudeMode.SUN):  # modes that need no target
        dev.set_mode(before)
    check_timestamps(dev, dev.read, harness)
    check_unavailable_when_off(
        dev, harness, dev.read, {"set_mode": lambda: dev.set_mode(AttitudeMode.SUN)}
    )


CHECKS: Mapping[Family, Callable[..., None]] = {
    Family.GNSS: check_gnss,
    Family.IMU: check_imu,
    Family.STAR_TRACKER: check_star_tracker,
    Family.SUN_SENSOR: check_sun_sensor,
    Family.TEMPERATURE: check_temperature,
    Family.HEATER: check_heater,
    Family.RADIATOR: check_radiator,
    Family.SOLAR_ARRAY: check_solar_array,
    Family.BATTERY: check_battery,
    Family.PDU: check_pdu,
    Family.THRUSTER: check_thruster,
    Family.LASER_TERMINAL: check_laser_terminal,
    Family.ACCELERATOR: check_accelerator,
    Family.IMAGER: check_imager,
    Family.WATCHDOG: check_watchdog,
    Family.STORAGE: check_storage,
    Family.ATTITUDE: check_attitude,
}


def check_device(dev: Device, harness: Harness, **options: Any) -> None:
    """Run the conformance checks of ``dev``'s family (``options`` go to that check, e.g.
    ``peer=`` for a laser terminal, ``toggle_rail=`` for a PDU, ``burn=`` for a thruster).

    Any failure, including an exception the contract does not allow, is raised as
    :class:`ConformanceError`."""
    _ensure(isinstance(dev, Device), None, f"{dev!r} is not a Device")
    check = CHECKS.get(Family(dev.family))
    _ensure(check is not None, dev, "no conformance checks for this family")
    assert check is not None
    try:
        check(dev, harness, **options)
    except ConformanceError:
        raise
    except Exception as exc:
        # An exception the contract does not allow at that point is a violation too.
        raise _fail(dev, f"unexpected {type(exc).__name__}: {exc}") from exc


def check_backend(
    backend: Any,
    harness: Harness | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, BaseException | None]:
    """Run :func:`check_device` on every device of ``backend`` (the harness defaults to the
    backend itself). Returns device name -> None (passed) or the exception raised."""
    h = harness if harness is not None else backend
    out: dict[str, BaseException | None] = {}
    for name, dev in dict(backend.devices).items():
        try:
            check_device(dev, h, **dict((options or {}).get(name, {})))
            out[name] = None
        except Exception as exc:
            out[name] = exc
    return out
