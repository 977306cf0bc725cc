"""The ``sim`` HAL backend: simulated devices on a seeded, deterministic physics world.

Open it through the registry (``hal.registry.open_backend("sim", seed=1)``) so that flight code
never names this package. Device families live one per module (:mod:`hal.sim.sensors`,
:mod:`hal.sim.thermal`, :mod:`hal.sim.power`, :mod:`hal.sim.propulsion`, :mod:`hal.sim.laser`,
:mod:`hal.sim.accelerator`, :mod:`hal.sim.platform`, :mod:`hal.sim.attitude`); faults come from scenario files
(:mod:`hal.sim._scenario`); the physics is :mod:`hal.sim.world`.
"""

from hal.sim._backend import DEVICE_CLASSES, SimBackend, open_sim_backend
from hal.sim._base import Options, SensorChannel, SimDevice, SimSensor
from hal.sim._context import DeviceContext, OpticalMedium
from hal.sim._scenario import (
    Fault,
    FaultEvent,
    FaultKind,
    Scenario,
    ScenarioRunner,
    check_targets,
    load_scenario,
    parse_scenario,
)
from hal.sim.accelerator import DEFAULT_MODES, SimAccelerator
from hal.sim.attitude import SimAttitude
from hal.sim.laser import DEFAULT_OPTICAL_CHANNEL, OpticalChannel, SimLaserTerminal
from hal.sim.platform import SimStorage, SimWatchdog
from hal.sim.power import SimBattery, SimPdu, SimSolarArray
from hal.sim.propulsion import SimThruster
from hal.sim.sensors import SimGnss, SimImu, SimStarTracker, SimSunSensor, SimTemperature
from hal.sim.thermal import SimHeater, SimRadiator
from hal.sim.world import World, WorldConfig

__all__ = [
    "DEFAULT_MODES",
    "DEFAULT_OPTICAL_CHANNEL",
    "DEVICE_CLASSES",
    "DeviceContext",
    "Fault",
    "FaultEvent",
    "FaultKind",
    "OpticalChannel",
    "OpticalMedium",
    "Options",
    "Scenario",
    "ScenarioRunner",
    "SensorChannel",
    "SimAccelerator",
    "SimAttitude",
    "SimBackend",
    "SimBattery",
    "SimDevice",
    "SimGnss",
    "SimHeater",
    "SimImu",
    "SimLaserTerminal",
    "SimPdu",
    "SimRadiator",
    "SimSensor",
    "SimSolarArray",
    "SimStarTracker",
    "SimStorage",
    "SimSunSensor",
    "SimTemperature",
    "SimThruster",
    "SimWatchdog",
    "World",
    "WorldConfig",
    "check_targets",
    "load_scenario",
    "open_sim_backend",
    "parse_scenario",
]
