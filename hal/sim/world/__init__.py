"""The simulated world: a seeded, deterministic physics plant for the ``sim`` backends.

``World(config, seed)`` holds orbit (point mass + J2 + drag, RK4), environment (Sun,
eclipse, atmosphere, SAA), kinematic attitude, a lumped thermal network, the electrical power
system, propulsion, radiation upsets and constellation neighbours; ``world.advance(dt_ns)``
runs the spacecraft physics in one fused Numba kernel call (neighbours are propagated when
asked). A :class:`Universe` holds many spacecraft in one time, Sun and atmosphere, stepped
together by one kernel call (a lone ``World`` is a universe of one); :func:`link_geometry`
gives the line of sight, range and light time between two states. ``WorldConfig.from_dict(toml["world"])`` validates
the configuration; ``default_world.toml`` is the default section.
"""

from hal.sim.world._attitude import AttitudeView
from hal.sim.world._config import (
    ArrayConfig,
    AttitudeConfig,
    BatteryConfig,
    ConductanceConfig,
    EnvironmentConfig,
    NeighbourConfig,
    NeighboursConfig,
    OrbitConfig,
    PowerConfig,
    PropulsionConfig,
    RadiationConfig,
    RailConfig,
    SpacecraftConfig,
    SurfaceConfig,
    ThermalConfig,
    ThermalNodeConfig,
    WorldConfig,
    default_world_toml,
)
from hal.sim.world._environment import EnvironmentView
from hal.sim.world._links import (
    LinkGeometry,
    contact_windows,
    link_geometry,
    los_max_central_angle_rad,
)
from hal.sim.world._neighbours import NeighboursView
from hal.sim.world._orbit import OrbitView
from hal.sim.world._power import PowerView
from hal.sim.world._propulsion import PropulsionView
from hal.sim.world._radiation import RadiationView
from hal.sim.world._thermal import ThermalView
from hal.sim.world._universe import (
    SpacecraftSpec,
    StepParticipant,
    Universe,
    walker_delta_elements,
)
from hal.sim.world._world import World

__all__ = [
    "ArrayConfig",
    "AttitudeConfig",
    "AttitudeView",
    "BatteryConfig",
    "ConductanceConfig",
    "EnvironmentConfig",
    "EnvironmentView",
    "LinkGeometry",
    "NeighbourConfig",
    "NeighboursConfig",
    "NeighboursView",
    "OrbitConfig",
    "OrbitView",
    "PowerConfig",
    "PowerView",
    "PropulsionConfig",
    "PropulsionView",
    "RadiationConfig",
    "RadiationView",
    "RailConfig",
    "SpacecraftConfig",
    "SpacecraftSpec",
    "StepParticipant",
    "SurfaceConfig",
    "ThermalConfig",
    "ThermalNodeConfig",
    "ThermalView",
    "Universe",
    "World",
    "WorldConfig",
    "contact_windows",
    "default_world_toml",
    "link_geometry",
    "los_max_central_angle_rad",
    "walker_delta_elements",
]
