"""Configuration of the simulated world: frozen dataclasses built from a TOML ``[world]`` table.

The sections are :mod:`native.schema` sections (``_f`` below is :func:`native.schema.setting`
with the bounds spelled ``ge``/``gt``/``le``/``lt``). :meth:`WorldConfig.from_dict` validates
every key: an unknown key, a value of the wrong type, a non-finite number or one outside its
range raises one-line :class:`~native.errors.ConfigError` naming the section and the key
(``[world.power.battery] capacity_ah: expected a number > 0, got -1``). Missing keys take the
defaults below, which describe the default node: a ~700 kg, 2 kW-compute-class spacecraft at
550 km, 53 deg (sizing notes on each section). Given to :meth:`WorldConfig.from_dict`
directly, tables of named entries (thermal nodes, rails, neighbours) and arrays of tables
(thermal surfaces and conductances) *replace* the default set; fields missing inside a given
entry take the entry defaults. In a node configuration the user's file is first merged over
``default_world.toml`` (:func:`native.schema.merge`: named tables by name, array entries
appended, ``<array>_replace = true`` to replace).

The TOML form of the defaults is ``hal/sim/world/default_world.toml``
(:func:`default_world_toml` regenerates it; a test keeps the two identical).

Body frame (used for surface normals, the array and pointing): in ``nadir`` mode +Z points to
nadir, -Y along the orbit normal (+Y = -h), +X completes the triad (along the velocity for a
circular orbit). See :mod:`hal.sim.world._attitude` for the other modes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any

from native import schema
from native.errors import ConfigError
from native.schema import setting

__all__ = [
    "ArrayConfig",
    "AttitudeConfig",
    "BatteryConfig",
    "ConductanceConfig",
    "EnvironmentConfig",
    "NeighbourConfig",
    "NeighboursConfig",
    "OrbitConfig",
    "PowerConfig",
    "PropulsionConfig",
    "RadiationConfig",
    "RailConfig",
    "SpacecraftConfig",
    "SurfaceConfig",
    "ThermalConfig",
    "ThermalNodeConfig",
    "WorldConfig",
    "default_world_toml",
]


def _f(
    default: Any,
    doc: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple[str, ...] | None = None,
    length: int | None = None,
) -> Any:
    """A scalar (or tuple) field of a world section: :func:`native.schema.setting` with the
    bounds spelled ``ge``/``gt`` (lower, closed/open) and ``le``/``lt`` (upper)."""
    if isinstance(default, list):
        default = tuple(default)
    return setting(
        default,
        lo=ge if ge is not None else gt,
        lo_open=gt is not None,
        hi=le if le is not None else lt,
        hi_open=lt is not None,
        choices=choices,
        length=length,
        doc=doc,
    )


def _doc(text: str) -> dict[str, Any]:
    """Metadata of a table field (nested section, named entries, array of tables)."""
    return schema.metadata(doc=text)


# ------------------------------------------------------------------------------ sections
@dataclass(frozen=True, slots=True)
class OrbitConfig:
    """Initial orbit (osculating elements at the epoch) and force-model switches."""

    altitude_km: float = _f(550.0, "initial altitude above the equatorial radius", ge=100, le=5e4)
    inclination_deg: float = _f(53.0, "inclination", ge=0, le=180)
    raan_deg: float = _f(0.0, "right ascension of the ascending node", ge=-360, le=360)
    arg_lat_deg: float = _f(0.0, "argument of latitude (perigee + true anomaly)", ge=-360, le=360)
    eccentricity: float = _f(0.0, "eccentricity (semi-major axis = R_E + altitude)", ge=0, lt=0.5)
    arg_perigee_deg: float = _f(0.0, "argument of perigee (used when eccentric)", ge=-360, le=360)
    j2: bool = _f(True, "include the J2 zonal harmonic")
    drag: bool = _f(True, "include atmospheric drag")


@dataclass(frozen=True, slots=True)
class SpacecraftConfig:
    """Mass and drag properties of the own spacecraft (wet mass = dry + propellant).

    Drag area in ``attitude`` mode is ``body_drag_area_m2 + array area * |n_array . v_rel|``
    (the array turns with the sun), in ``fixed`` mode ``drag_area_m2``.
    """

    dry_mass_kg: float = _f(650.0, "dry mass", gt=0, le=1e5)
    drag_coefficient: float = _f(2.2, "drag coefficient C_D", gt=0, le=10)
    body_drag_area_m2: float = _f(3.0, "bus cross-section seen by the flow", ge=0, le=1e4)
    drag_area_mode: str = _f(
        "attitude", "how the drag area is found", choices=("attitude", "fixed")
    )
    drag_area_m2: float = _f(12.0, "drag area in fixed mode (and of the neighbours)", ge=0, le=1e4)


@dataclass(frozen=True, slots=True)
class EnvironmentConfig:
    """Atmosphere, shadow, radiation environment and the South Atlantic Anomaly region.

    Density models: ``exponential`` (Vallado table 8-4, moderate activity),
    ``scaled_exponential`` (the table times a solar-activity factor: at 550 km 0.21x for
    F10.7 = 70, 1x for 150, 8.5x for 250, i.e. the ~40x NRLMSISE-00 span; the factor's log
    grows linearly with height above 120 km), ``harris_priester`` (Montenbruck & Gill table
    with the diurnal bulge, times the same activity factor).
    """

    density_model: str = _f(
        "scaled_exponential",
        "atmosphere model",
        choices=("exponential", "scaled_exponential", "harris_priester"),
    )
    solar_activity: str = _f(
        "moderate",
        "low (F10.7=70), moderate (150), high (250) or f107 (use f107_sfu)",
        choices=("low", "moderate", "high", "f107"),
    )
    f107_sfu: float = _f(150.0, "F10.7 index when solar_activity = f107", ge=50, le=400)
    atmosphere_corotation: bool = _f(True, "atmosphere turns with the Earth (drag uses v_rel)")
    shadow_model: str = _f("conical", "Earth shadow model", choices=("cylindrical", "conical"))
    solar_constant_w_m2: float = _f(1361.0, "solar flux at 1 AU (scaled by 1/r^2)", gt=0, le=2000)
    albedo: float = _f(0.3, "Earth albedo", ge=0, le=1)
    earth_ir_w_m2: float = _f(237.0, "Earth outgoing long-wave flux", ge=0, le=1000)
    saa_center_lat_deg: float = _f(-25.0, "SAA ellipse centre, geocentric latitude", ge=-90, le=90)
    saa_center_lon_deg: float = _f(-50.0, "SAA ellipse centre, longitude", ge=-180, le=180)
    saa_semi_lat_deg: float = _f(20.0, "SAA ellipse semi-axis in latitude", gt=0, le=90)
    saa_semi_lon_deg: float = _f(45.0, "SAA ellipse semi-axis in longitude", gt=0, le=180)


@dataclass(frozen=True, slots=True)
class AttitudeConfig:
    """Kinematic attitude: the body slews toward the commanded mode's target attitude."""

    initial_mode: str = _f("nadir", "initial pointing mode", choices=("nadir", "sun", "min_drag"))
    max_slew_rate_deg_s: float = _f(1.0, "slew-rate limit toward the target", gt=0, le=180)
    # Reaction wheels (see hal.sim.world._attitude): momentum from the disturbance torques,
    # dumped when it exceeds wheel_momentum_max_nms until below wheel_momentum_reset_nms.
    inertia_kg_m2: tuple[float, ...] = _f(
        [1500.0, 800.0, 1800.0],
        "principal moments of inertia about body X, Y, Z",
        length=3,
        gt=0,
        le=1e7,
    )
    disturbance_torque_nm: tuple[float, ...] = _f(
        [2.0e-5, -1.0e-5, 1.5e-5], "constant disturbance torque, body frame", length=3, ge=-1, le=1
    )
    gravity_gradient: bool = _f(True, "add the gravity-gradient torque 3 mu/r^3 (n x I n)")
    wheel_momentum_max_nms: float = _f(8.0, "wheel momentum that starts a dump", gt=0, le=1e4)
    wheel_momentum_reset_nms: float = _f(1.0, "wheel momentum that ends a dump", ge=0, le=1e4)
    desat_torque_nm: float = _f(0.01, "momentum-dumping torque (magnetorquers)", gt=0, le=10)


@dataclass(frozen=True, slots=True)
class ThermalNodeConfig:
    """One lumped thermal node."""

    capacitance_j_k: float = _f(2.0e4, "heat capacity", gt=0, le=1e10)
    initial_temp_c: float = _f(20.0, "initial temperature", gt=-273.15, le=1000)
    dissipation_w: float = _f(0.0, "initial internal dissipation (devices change it)", ge=0, le=1e5)


@dataclass(frozen=True, slots=True)
class SurfaceConfig:
    """An external flat surface of a node, facing ``normal_body`` (one side)."""

    node: str = _f("structure", "thermal node the surface belongs to")
    area_m2: float = _f(1.0, "area", gt=0, le=1e4)
    absorptivity: float = _f(0.2, "solar absorptivity alpha", ge=0, le=1)
    emissivity: float = _f(0.8, "IR emissivity eps (ignored when variable)", ge=0, le=1)
    normal_body: tuple[float, ...] = _f(
        [1.0, 0.0, 0.0], "outward normal, body frame", length=3, ge=-1, le=1
    )
    variable_emissivity: bool = _f(False, "emissivity is the commanded radiator emissivity")
    name: str = _f("", "entry name: a node configuration merges surfaces by it ('' = unnamed)")


@dataclass(frozen=True, slots=True)
class ConductanceConfig:
    """A linear conductive link ``G (T_b - T_a)`` between two nodes."""

    a: str = _f("compute", "first node")
    b: str = _f("radiator", "second node")
    g_w_k: float = _f(1.0, "conductance", ge=0, le=1e5)
    name: str = _f("", "entry name: a node configuration merges links by it ('' = unnamed)")


def _default_nodes() -> dict[str, ThermalNodeConfig]:
    n = ThermalNodeConfig
    return {
        # Accelerator boards and cold plates (~35 kg of Al/Cu); the accelerator sets its load.
        "compute": n(3.0e4, 20.0, 0.0),
        # Two-sided deployable radiator, 2 x 3.2 m^2 (~1.5 m^2 per kW at 300 K, REFERENCE.md).
        "radiator": n(2.5e4, 10.0, 0.0),
        # 28s Li-ion pack, ~45 kg.
        "battery": n(4.5e4, 20.0, 0.0),
        # Laser terminals' optical bench; its electronics dissipate ~20 W.
        "optical_bench": n(1.5e4, 20.0, 20.0),
        # Bus structure and avionics (~180 kg of structure and boxes).
        "structure": n(1.6e5, 20.0, 300.0),
    }


def _surface(
    name: str, node: str, area: float, alpha: float, eps: float, n: list[float], var: bool = False
) -> SurfaceConfig:
    return SurfaceConfig(node, area, alpha, eps, tuple(n), var, name)


def _default_surfaces() -> tuple[SurfaceConfig, ...]:
    # MLI-covered faces use effective properties (alpha* = 0.02, eps* = 0.03) of the blanket.
    return (
        _surface("radiator_py", "radiator", 3.2, 0.12, 0.88, [0.0, 1.0, 0.0], True),
        _surface("radiator_my", "radiator", 3.2, 0.12, 0.88, [0.0, -1.0, 0.0], True),
        _surface("bus_osr_py", "structure", 0.45, 0.12, 0.85, [0.0, 1.0, 0.0]),  # OSR
        _surface("bus_osr_my", "structure", 0.45, 0.12, 0.85, [0.0, -1.0, 0.0]),
        _surface("mli_pz", "structure", 3.0, 0.02, 0.03, [0.0, 0.0, 1.0]),
        _surface("mli_mz", "structure", 3.0, 0.02, 0.03, [0.0, 0.0, -1.0]),
        _surface("mli_px", "structure", 2.5, 0.02, 0.03, [1.0, 0.0, 0.0]),
        _surface("mli_mx", "structure", 2.5, 0.02, 0.03, [-1.0, 0.0, 0.0]),
        _surface("battery_mx", "battery", 0.06, 0.12, 0.85, [-1.0, 0.0, 0.0]),
        _surface("optical_px", "optical_bench", 0.25, 0.30, 0.80, [1.0, 0.0, 0.0]),
    )


def _default_conductances() -> tuple[ConductanceConfig, ...]:
    c = ConductanceConfig
    return (
        c("compute", "radiator", 100.0, "heat_pipes"),  # loop heat pipes
        c("structure", "radiator", 1.5, "structure_radiator"),
        c("compute", "structure", 0.5, "compute_mounts"),  # isolating mounts
        c("battery", "structure", 1.5, "battery_mounts"),
        c("optical_bench", "structure", 0.8, "optical_mounts"),
    )


@dataclass(frozen=True, slots=True)
class ThermalConfig:
    """Lumped-parameter thermal network (see :func:`native.thermal_step` for the equations)."""

    nodes: dict[str, ThermalNodeConfig] = field(
        default_factory=_default_nodes, metadata=_doc("thermal nodes by name")
    )
    surfaces: tuple[SurfaceConfig, ...] = field(
        default_factory=_default_surfaces, metadata=_doc("external surfaces")
    )
    conductances: tuple[ConductanceConfig, ...] = field(
        default_factory=_default_conductances, metadata=_doc("conductive links")
    )
    radiator_node: str = _f("radiator", "node whose variable-emissivity surfaces are commanded")
    radiator_emissivity_min: float = _f(0.25, "lowest commandable radiator emissivity", ge=0, le=1)
    radiator_emissivity_max: float = _f(0.88, "highest commandable radiator emissivity", ge=0, le=1)
    radiator_emissivity_initial: float = _f(0.88, "initial radiator emissivity", ge=0, le=1)


@dataclass(frozen=True, slots=True)
class ArrayConfig:
    """Solar array. Sized by the SMAD rule for a 2.6 kW orbit-average load at beta = 0
    (5.8 kW in sunlight): 20 m^2 of 29.8 % triple-junction cells, 0.88 packing ~ 6.6 kW BOL.

    Tracking ``one_axis_y``: the wings turn about body +Y to face the sun as far as one axis
    allows (incidence cosine ``sqrt(1 - s_y^2)``); ``body_fixed``: normal ``normal_body``.
    """

    area_m2: float = _f(20.0, "total array area", gt=0, le=1e4)
    efficiency: float = _f(0.298, "cell efficiency at ref_temp_c", gt=0, le=1)
    packing_factor: float = _f(0.88, "cell area / array area", gt=0, le=1)
    temp_coeff_per_k: float = _f(-0.0025, "relative power change per kelvin", ge=-0.05, le=0.05)
    ref_temp_c: float = _f(28.0, "reference cell temperature", ge=-100, le=150)
    degradation_frac: float = _f(1.0, "remaining power fraction (radiation, ageing)", gt=0, le=1)
    strings: int = _f(120, "parallel strings", ge=1, le=100000)
    cells_per_string: int = _f(48, "series cells per string", ge=1, le=10000)
    cell_vmp_v: float = _f(2.41, "cell maximum-power voltage at ref_temp_c", gt=0, le=10)
    cell_vmp_temp_coeff_v_k: float = _f(-0.0062, "cell Vmp change per kelvin", ge=-0.1, le=0.1)
    regulator_efficiency: float = _f(0.97, "array regulator (MPPT) efficiency", gt=0, le=1)
    absorptivity: float = _f(0.91, "front solar absorptivity", ge=0, le=1)
    emissivity_front: float = _f(0.85, "front IR emissivity", ge=0, le=1)
    emissivity_back: float = _f(0.85, "back IR emissivity", ge=0, le=1)
    areal_heat_capacity_j_m2_k: float = _f(2200.0, "heat capacity per m^2", gt=0, le=1e6)
    initial_temp_c: float = _f(20.0, "initial array temperature", gt=-273.15, le=500)
    tracking: str = _f("one_axis_y", "sun tracking", choices=("one_axis_y", "body_fixed"))
    normal_body: tuple[float, ...] = _f(
        [0.0, 0.0, -1.0], "normal when body_fixed", length=3, ge=-1, le=1
    )


_OCV_SOC = [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0]
# NMC Li-ion cell open-circuit voltage (typical shape; 3.0 V empty, 4.18 V full).
_OCV_V = [3.00, 3.30, 3.45, 3.55, 3.62, 3.68, 3.74, 3.82, 3.90, 3.98, 4.07, 4.12, 4.18]


@dataclass(frozen=True, slots=True)
class BatteryConfig:
    """Li-ion battery: ``cells_series`` blocks in series (a block = cells in parallel).

    Sized for ~25 % depth of discharge in the longest eclipse: 2.6 kW x 35.6 min = 1.54 kWh
    of 6.05 kWh (28s x 3.6 V x 60 Ah). A failed block is bypassed: the pack keeps its Ah but
    loses one block's voltage.  The 4.1 V per block charge limit (constant-voltage taper) stops
    charging near 92 % state of charge, as LEO batteries are operated for cycle life.
    """

    cells_series: int = _f(28, "series blocks", ge=1, le=1000)
    capacity_ah: float = _f(60.0, "capacity", gt=0, le=1e4)
    initial_soc_frac: float = _f(0.9, "initial state of charge", ge=0, le=1)
    cell_resistance_ohm: float = _f(0.002, "block internal resistance at 25 C", ge=0, le=10)
    resistance_temp_coeff_per_k: float = _f(0.015, "R(T) = R25 exp(-k (T - 25 C))", ge=0, le=0.2)
    ocv_soc_frac: tuple[float, ...] = _f(_OCV_SOC, "OCV table: state of charge (increasing)")
    ocv_cell_v: tuple[float, ...] = _f(_OCV_V, "OCV table: block voltage")
    charge_efficiency: float = _f(0.99, "coulombic efficiency when charging", gt=0, le=1)
    max_charge_c_rate: float = _f(0.5, "charge-current limit in C", gt=0, le=10)
    max_cell_voltage_v: float = _f(4.1, "charge voltage limit per block (CV taper)", gt=0, le=10)
    charge_temp_min_c: float = _f(0.0, "no charging below", ge=-100, le=100)
    charge_temp_max_c: float = _f(45.0, "no charging above", ge=-100, le=100)
    thermal_node: str = _f("battery", "thermal node holding the battery")


@dataclass(frozen=True, slots=True)
class RailConfig:
    """A switched, overcurrent-protected PDU rail."""

    voltage_v: float = _f(28.0, "regulated rail voltage", gt=0, le=1000)
    trip_a: float = _f(10.0, "overcurrent trip threshold", gt=0, le=1e4)
    load_w: float = _f(0.0, "initial load (devices declare theirs)", ge=0, le=1e5)
    on: bool = _f(True, "initially switched on")
    efficiency: float = _f(0.95, "converter efficiency from the battery bus", gt=0, le=1)


def _rail(v: float, trip: float, load: float, on: bool = True, eff: float = 0.95) -> RailConfig:
    return RailConfig(v, trip, load, on, eff)


def _default_rails() -> dict[str, RailConfig]:
    return {
        "compute": _rail(48.0, 60.0, 0.0, True, 0.96),
        "avionics": _rail(28.0, 8.0, 120.0),
        "adcs": _rail(28.0, 8.0, 100.0),
        "comms": _rail(28.0, 5.0, 60.0),
        "isl": _rail(28.0, 10.0, 150.0),
        "propulsion": _rail(100.0, 12.0, 0.0, False),
        "heaters": _rail(28.0, 15.0, 0.0),
    }


@dataclass(frozen=True, slots=True)
class PowerConfig:
    """Electrical power system: array, battery, PDU rails.

    Heater power set with ``thermal.set_heater_w`` is drawn from ``heater_rail`` (on top of
    its declared load) and heats only while that rail is on and not tripped.
    """

    array: ArrayConfig = field(default_factory=ArrayConfig, metadata=_doc("solar array"))
    battery: BatteryConfig = field(default_factory=BatteryConfig, metadata=_doc("battery"))
    rails: dict[str, RailConfig] = field(
        default_factory=_default_rails, metadata=_doc("PDU rails by name")
    )
    heater_rail: str = _f("heaters", "rail that powers the thermal heaters")


@dataclass(frozen=True, slots=True)
class PropulsionConfig:
    """Electric thruster (Hall effect, ~SPT-70 class)."""

    thrust_n: float = _f(0.04, "thrust", ge=0, le=100)
    isp_s: float = _f(1500.0, "specific impulse", gt=0, le=1e5)
    propellant_kg: float = _f(50.0, "initial propellant (xenon)", ge=0, le=1e5)


@dataclass(frozen=True, slots=True)
class RadiationConfig:
    """Single-event upsets in registered memory (REFERENCE.md: ~4e-7 /bit/day in LEO)."""

    seu_rate_per_bit_day: float = _f(4e-7, "upset rate outside the SAA", ge=0, le=1)
    saa_enhancement: float = _f(10.0, "rate multiplier inside the SAA", ge=0, le=1e4)
    mbu_fraction: float = _f(0.014, "fraction of upsets that flip two adjacent bits", ge=0, le=1)


@dataclass(frozen=True, slots=True)
class NeighbourConfig:
    """A neighbour satellite: the own initial orbit offset by these deltas."""

    delta_arg_lat_deg: float = _f(0.0, "along-track phase offset", ge=-360, le=360)
    delta_raan_deg: float = _f(0.0, "plane offset in RAAN", ge=-360, le=360)
    delta_altitude_km: float = _f(0.0, "altitude offset", ge=-500, le=5000)
    delta_inclination_deg: float = _f(0.0, "inclination offset", ge=-180, le=180)


def _default_neighbours() -> dict[str, NeighbourConfig]:
    # A Walker-like shell: 22 satellites per plane (16.36 deg apart), planes 5 deg apart.
    d = 360.0 / 22.0
    n = NeighbourConfig
    return {
        "ahead": n(delta_arg_lat_deg=d),
        "behind": n(delta_arg_lat_deg=-d),
        "east": n(delta_raan_deg=5.0, delta_arg_lat_deg=d / 2),
        "west": n(delta_raan_deg=-5.0, delta_arg_lat_deg=-d / 2),
    }


@dataclass(frozen=True, slots=True)
class NeighboursConfig:
    """Other satellites of the constellation, propagated with the same force model."""

    grazing_height_km: float = _f(100.0, "line of sight must clear the Earth by this", ge=0, le=1e4)
    propagation_step_s: float = _f(10.0, "RK4 step of the neighbours' propagation", ge=0.1, le=60)
    satellites: dict[str, NeighbourConfig] = field(
        default_factory=_default_neighbours, metadata=_doc("neighbours by name")
    )


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """The whole simulated world (the ``[world]`` table of the node configuration)."""

    epoch_utc: str = _f("2025-06-01T00:00:00Z", "UTC ISO 8601 time of t_ns = 0")
    physics_step_s: float = _f(1.0, "fixed physics step", ge=0.01, le=60)
    orbit: OrbitConfig = field(default_factory=OrbitConfig, metadata=_doc("initial orbit"))
    spacecraft: SpacecraftConfig = field(
        default_factory=SpacecraftConfig, metadata=_doc("mass and drag")
    )
    environment: EnvironmentConfig = field(
        default_factory=EnvironmentConfig, metadata=_doc("environment models")
    )
    attitude: AttitudeConfig = field(
        default_factory=AttitudeConfig, metadata=_doc("attitude kinematics")
    )
    thermal: ThermalConfig = field(default_factory=ThermalConfig, metadata=_doc("thermal network"))
    power: PowerConfig = field(default_factory=PowerConfig, metadata=_doc("electrical power"))
    propulsion: PropulsionConfig = field(
        default_factory=PropulsionConfig, metadata=_doc("thruster")
    )
    radiation: RadiationConfig = field(
        default_factory=RadiationConfig, metadata=_doc("single-event upsets")
    )
    neighbours: NeighboursConfig = field(
        default_factory=NeighboursConfig, metadata=_doc("constellation neighbours")
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> WorldConfig:
        """Validate ``data`` (the ``[world]`` table) and build the configuration.

        Raises :class:`~native.errors.ConfigError` naming the offending key.
        """
        cfg = schema.parse(cls, {} if data is None else data, "world")
        _cross_check(cfg)
        return cfg

    @classmethod
    def default(cls) -> WorldConfig:
        """The default world (identical to ``default_world.toml``)."""
        return cls.from_dict({})

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict/list form (round-trips through :meth:`from_dict`)."""
        return _to_plain(self)  # type: ignore[no-any-return]

    @property
    def epoch_datetime(self) -> datetime:
        """``epoch_utc`` as a timezone-aware UTC datetime."""
        return _parse_epoch(self.epoch_utc, "[world] epoch_utc")


# ------------------------------------------------------------------------------ machinery
def _parse_epoch(text: str, path: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"{path}: not an ISO 8601 time: {text!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _cross_check(cfg: WorldConfig) -> None:
    """Checks that involve more than one key (errors name the section and key)."""
    _parse_epoch(cfg.epoch_utc, "[world] epoch_utc")
    th = cfg.thermal
    if not th.nodes:
        raise ConfigError("[world.thermal] nodes: at least one node is required")
    for i, s in enumerate(th.surfaces):
        if s.node not in th.nodes:
            raise ConfigError(f"[world.thermal.surfaces[{i}]] node: unknown node {s.node!r}")
        if math.hypot(*s.normal_body) < 1e-9:
            raise ConfigError(f"[world.thermal.surfaces[{i}]] normal_body: zero vector")
    for i, c in enumerate(th.conductances):
        for end in ("a", "b"):
            if getattr(c, end) not in th.nodes:
                raise ConfigError(
                    f"[world.thermal.conductances[{i}]] {end}: unknown node {getattr(c, end)!r}"
                )
        if c.a == c.b:
            raise ConfigError(f"[world.thermal.conductances[{i}]] b: links a node to itself")
    if th.radiator_node not in th.nodes:
        raise ConfigError(f"[world.thermal] radiator_node: unknown node {th.radiator_node!r}")
    if th.radiator_emissivity_min > th.radiator_emissivity_max:
        raise ConfigError(
            "[world.thermal] radiator_emissivity_min: greater than radiator_emissivity_max"
        )
    if not (
        th.radiator_emissivity_min <= th.radiator_emissivity_initial <= th.radiator_emissivity_max
    ):
        raise ConfigError(
            "[world.thermal] radiator_emissivity_initial: outside "
            "[radiator_emissivity_min, radiator_emissivity_max]"
        )
    bat = cfg.power.battery
    if bat.thermal_node not in th.nodes:
        raise ConfigError(f"[world.power.battery] thermal_node: unknown node {bat.thermal_node!r}")
    soc, ocv = bat.ocv_soc_frac, bat.ocv_cell_v
    if len(soc) < 2 or len(soc) != len(ocv):
        raise ConfigError(
            "[world.power.battery] ocv_cell_v: needs >= 2 values, one per ocv_soc_frac point"
        )
    if soc[0] != 0.0 or soc[-1] != 1.0 or any(b <= a for a, b in itertools.pairwise(soc)):
        raise ConfigError("[world.power.battery] ocv_soc_frac: must rise strictly from 0 to 1")
    if any(v <= 0 for v in ocv) or any(b < a for a, b in itertools.pairwise(ocv)):
        raise ConfigError("[world.power.battery] ocv_cell_v: must be positive and non-decreasing")
    if bat.charge_temp_min_c >= bat.charge_temp_max_c:
        raise ConfigError("[world.power.battery] charge_temp_min_c: not below charge_temp_max_c")
    if cfg.power.heater_rail not in cfg.power.rails:
        raise ConfigError(f"[world.power] heater_rail: unknown rail {cfg.power.heater_rail!r}")
    if math.hypot(*cfg.power.array.normal_body) < 1e-9:
        raise ConfigError("[world.power.array] normal_body: zero vector")
    att = cfg.attitude
    if att.wheel_momentum_reset_nms >= att.wheel_momentum_max_nms:
        raise ConfigError(
            "[world.attitude] wheel_momentum_reset_nms: must be below wheel_momentum_max_nms"
        )


def _to_plain(obj: Any) -> Any:
    if is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple | list):
        return [_to_plain(v) for v in obj]
    return obj


# ------------------------------------------------------------------------------ TOML writer
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def _emit(obj: Any, path: str, out: list[str], header: str) -> None:
    """Write dataclass ``obj`` as TOML table ``path`` (scalars first, then sub-tables)."""
    out.append("")
    out.append(f"{header}")
    doc = (type(obj).__doc__ or "").strip().splitlines()[0]
    out.append(f"# {doc}")
    subs: list[tuple[str, Any, Any]] = []
    for f in fields(obj):
        v = getattr(obj, f.name)
        if (
            is_dataclass(v)
            or isinstance(v, dict)
            or (isinstance(v, tuple) and v and is_dataclass(v[0]))
        ):
            subs.append((f.name, v, f))
            continue
        line = f"{f.name} = {_toml_value(_to_plain(v))}"
        out.append(f"{line:<52} # {schema.rule_of(f).doc}")
    for name, v, f in subs:
        sub = f"{path}.{name}"
        if is_dataclass(v):
            _emit(v, sub, out, f"[{sub}]")
        elif isinstance(v, dict):
            out.append("")
            out.append(f"# [{sub}.<name>]: {schema.rule_of(f).doc} (merged by name)")
            for k, entry in v.items():
                _emit(entry, f"{sub}.{k}", out, f"[{sub}.{k}]")
        else:
            out.append("")
            out.append(
                f"# [[{sub}]]: {schema.rule_of(f).doc} (appended; {name}_replace = true replaces)"
            )
            for entry in v:
                _emit(entry, sub, out, f"[[{sub}]]")


def default_world_toml() -> str:
    """The default ``[world]`` section as TOML text (the content of default_world.toml)."""
    out = [
        "# Default simulated world of a satnode node: the [world] section of the node",
        "# configuration. Generated from hal.sim.world._config (default_world_toml());",
        "# SI units as named in the keys. Tests check it equals WorldConfig.default().",
    ]
    _emit(WorldConfig.default(), "world", out, "[world]")
    return "\n".join(out).replace("\n\n\n", "\n\n") + "\n"
