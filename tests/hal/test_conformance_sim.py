"""The conformance kit run on every simulated device, and the kit's own power to catch faults.

The second half feeds the kit deliberately broken devices (subclasses of the sim devices that
violate one rule each) and checks that it rejects every one: a kit that passes everything
would be no oracle at all.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from hal import Family
from hal.registry import open_backend, open_from_config
from hal.sensors import ImuReading
from hal.sim import SimBackend, SimHeater, SimImu, SimLaserTerminal, SimStorage, SimWatchdog
from hal.testing import (
    CHECKS,
    ConformanceError,
    check_backend,
    check_device,
    check_reading_type,
)
from native.errors import DeviceCommandError

#: One configuration per family (the laser uses the default world's "ahead" neighbour).
DEVICES: dict[str, dict[str, Any]] = {
    "gnss": {"family": "gnss"},
    "imu": {"family": "imu"},
    "star_tracker": {"family": "star_tracker"},
    "sun_sensor": {"family": "sun_sensor", "fov_half_angle_deg": 180.0},
    "temperature": {"family": "temperature", "channels": {"bat": "battery", "cpu": "compute"}},
    "heater": {"family": "heater", "node": "battery", "rated_w": 15.0},
    "radiator": {"family": "radiator"},
    "solar_array": {"family": "solar_array"},
    "battery": {"family": "battery"},
    "pdu": {"family": "pdu"},
    "thruster": {"family": "thruster"},
    "laser_terminal": {"family": "laser_terminal"},
    "accelerator": {"family": "accelerator"},
    "imager": {"family": "imager", "tile_px": 32},
    "watchdog": {"family": "watchdog"},
    "storage": {"family": "storage", "capacity_bytes": 1 << 20},
    "attitude": {"family": "attitude"},
}
OPTIONS: dict[str, dict[str, Any]] = {
    "laser_terminal": {"peer": "ahead"},
    "pdu": {"toggle_rail": "comms"},
}


def _backend(**devices: dict[str, Any]) -> SimBackend:
    b = open_from_config({"backend": "sim", "seed": 11, "devices": devices})
    b.world.power.set_rail_on("propulsion", True)  # the thruster's rail starts off
    assert isinstance(b, SimBackend)
    return b


def test_every_family_has_a_check_and_a_sim_device() -> None:
    assert set(CHECKS) == set(Family)
    assert {Family(c["family"]) for c in DEVICES.values()} == set(Family)


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_sim_device_conforms(name: str) -> None:
    b = _backend(**{name: DEVICES[name]})
    check_device(b.device(name), b, **OPTIONS.get(name, {}))


def test_whole_backend_conforms_together() -> None:
    b = _backend(**DEVICES)
    results = check_backend(b, options=OPTIONS)
    assert {k: v for k, v in results.items() if v is not None} == {}


def test_storage_directory_backend_conforms(tmp_path: Any) -> None:
    b = _backend(nvm={"family": "storage", "directory": str(tmp_path / "nvm")})
    check_device(b.device("nvm"), b)


def test_watchdog_without_reboot_harness_skips_expiry() -> None:
    b = _backend(wd={"family": "watchdog"})

    class NoReboot:
        advance = b.advance
        set_device_power = b.set_device_power

    check_device(b.device("wd"), NoReboot())
    assert not b.device("wd").read().expired


# ------------------------------------------------------------- the kit catches bad devices
class _LaxHeater(SimHeater):
    def set_duty(self, duty_frac: float) -> None:  # accepts anything
        self._duty = float(duty_frac)


class _HalfCommitHeater(SimHeater):
    def set_duty(self, duty_frac: float) -> None:  # changes state, then complains
        self._duty = 0.25
        super().set_duty(duty_frac)


class _AlwaysOnImu(SimImu):
    @property
    def powered(self) -> bool:  # ignores its supply
        return True

    def _require_power(self) -> None:
        return None


class _StaleClockImu(SimImu):
    def read(self) -> ImuReading:
        return dataclasses.replace(super().read(), t_ns=0)


class _IntRateImu(SimImu):
    def read(self) -> ImuReading:
        r = super().read()
        return ImuReading(r.t_ns, r.valid, (0, 0, 0))  # type: ignore[arg-type]


class _NoisyNanImu(SimImu):
    def read(self) -> ImuReading:
        r = super().read()
        return ImuReading(r.t_ns, True, (math.nan, 0.0, 0.0))


class _ForgetfulStorage(SimStorage):
    def _set_switch(self, on: bool) -> None:
        super()._set_switch(on)
        if not on:
            self._mem.clear()  # volatile!


class _NeverExpiringWatchdog(SimWatchdog):
    def _check(self, now: int) -> None:
        return None


class _ChattyLaser(SimLaserTerminal):
    def send(self, frame: bytes) -> None:  # sends whatever the state
        self._sent += 1


@pytest.mark.parametrize(
    ("family", "cls", "config"),
    [
        ("heater", _LaxHeater, {"node": "battery"}),
        ("heater", _HalfCommitHeater, {"node": "battery"}),
        ("imu", _AlwaysOnImu, {}),
        ("imu", _StaleClockImu, {}),
        ("imu", _IntRateImu, {}),
        ("imu", _NoisyNanImu, {}),
        ("storage", _ForgetfulStorage, {}),
        ("watchdog", _NeverExpiringWatchdog, {}),
        ("laser_terminal", _ChattyLaser, {}),
    ],
)
def test_kit_rejects_broken_devices(
    family: str, cls: type, config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hal.sim import _backend as backend_mod

    classes = dict(backend_mod.DEVICE_CLASSES)
    classes[Family(family)] = cls
    monkeypatch.setattr(backend_mod, "DEVICE_CLASSES", classes)
    b = open_backend("sim", seed=2)
    dev = b.create(family, "dut", config)
    assert type(dev) is cls
    with pytest.raises(ConformanceError):
        check_device(dev, b)


def test_reading_type_check_catches_mutable_or_unslotted() -> None:
    @dataclasses.dataclass
    class Loose:
        t_ns: int
        valid: bool

    with pytest.raises(ConformanceError, match="not slotted"):
        check_reading_type(Loose(0, True), Loose)

    @dataclasses.dataclass(slots=True)
    class Mutable:
        t_ns: int
        valid: bool

    with pytest.raises(ConformanceError, match="not frozen"):
        check_reading_type(Mutable(0, True), Mutable)


def test_rejected_command_really_raises_command_error() -> None:
    b = _backend(h={"family": "heater", "node": "battery"})
    with pytest.raises(DeviceCommandError):
        b.device("h").set_duty(2.0)  # type: ignore[attr-defined]
