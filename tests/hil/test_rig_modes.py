"""Paced clock mode and reading sources, on an in-process rig (its own threads)."""

from __future__ import annotations

import time
from typing import Any

from hal import Family, TemperatureChannel, TemperatureReading
from hal.hil import HilBackend, LockstepHilBackend
from hal.registry import SteppedPlant, open_backend
from hil import Rig

#: Wall-clock cap for waiting on a paced rig's world (only turns a stuck rig into a failure).
CAP_S = 60.0


class FixedTemperature:
    """A stand-in for a real temperature driver: one channel at a fixed 21.5 C."""

    family = Family.TEMPERATURE

    def __init__(self, name: str, config: dict[str, Any]) -> None:
        self.name = name
        self.channel_names = ("bench",)
        self.fault_channels = ()

    def read(self) -> TemperatureReading:
        return TemperatureReading(1, True, (TemperatureChannel("bench", 21.5, True),))


def test_paced_rig_runs_its_world_in_real_time_and_reports_overruns() -> None:
    rig = Rig(seed=3, devices={"imu": {"family": "imu"}}, clock="paced", plant_rate_hz=20.0)
    host, port = rig.listen()
    backend: Any = open_backend("hil", rig=f"{host}:{port}", seed=3)
    try:
        assert isinstance(backend, HilBackend) and not isinstance(backend, LockstepHilBackend)
        assert not isinstance(backend, SteppedPlant)  # the node will not try to step it
        imu = backend.create("imu", "imu", {"family": "imu"})
        first = imu.read().t_ns
        deadline = time.monotonic() + CAP_S
        while imu.read().t_ns <= first:  # the world moves with no advance from us
            assert time.monotonic() < deadline, "paced rig's world did not move"
            time.sleep(0.01)
        assert backend.t_ns > first and backend.t_ns % 50_000_000 == 0
        summary = backend.summary()
        assert summary["clock"] == "paced"
        assert isinstance(summary["rig_summary"]["stats"]["overruns"], int)
    finally:
        backend.close()
        rig.close()


def test_every_reading_carries_its_source_and_a_mixed_run_says_so() -> None:
    devices = {
        "imu": {"family": "imu"},
        "bench": {"family": "temperature", "driver": f"{__name__}:FixedTemperature"},
    }
    rig = Rig(seed=3, devices=devices)
    host, port = rig.listen()
    backend: Any = open_backend("hil", rig=f"{host}:{port}", seed=3)
    try:
        backend.create_devices({"imu": {"family": "imu"}, "bench": {"family": "temperature"}})
        assert backend.device("bench").source == f"driver:{__name__}:FixedTemperature"
        assert backend.device("imu").source == "sim"
        assert backend.device("bench").read().temp_c("bench") == 21.5
        backend.device("imu").read()
        summary = backend.summary()
        assert summary["mixed_sources"] is True
        assert summary["readings_by_source"] == {
            "sim": 1,
            f"driver:{__name__}:FixedTemperature": 1,
        }
    finally:
        backend.close()
        rig.close()
