"""The software-bus vocabulary shared by the onboard applications.

Every message is a frozen, slotted dataclass; its type is its topic. Units are in the field
names. Producers are named in each docstring; any application may read any message.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "AttitudeRequest",
    "AttitudeStatus",
    "EclipseForecast",
    "LinkStatus",
    "Mode",
    "ModeStatus",
    "PowerBudget",
    "PowerStatus",
    "PropulsionPowerRequest",
    "RadiationEnvironment",
    "SensorHealth",
    "ShedLevel",
    "ThermalStatus",
    "ThermalThrottle",
]


@enum.unique
class Mode(enum.IntEnum):
    """Spacecraft modes, from the most protective to full operation."""

    BOOT = 0
    SAFE = 1  #: minimum loads, sun-pointing, waits for ground or for faults to clear
    RECOVERY = 2  #: faults cleared; loads coming back one step at a time
    NOMINAL = 3  #: full operation, compute allowed


@enum.unique
class ShedLevel(enum.IntEnum):
    """Load-shedding depth: each level sheds its own loads and every lower level's."""

    NONE = 0
    COMPUTE = 1  #: the AI accelerator is off
    LASER = 2  #: ... and the laser terminal
    PAYLOAD_HEATERS = 3  #: ... and the payload heaters. Bus, thermal control, comms: never


@dataclass(frozen=True, slots=True)
class PowerStatus:
    """Measured power state (producer: power, every step)."""

    t_ns: int
    soc_frac: float  #: estimated state of charge, 0..1
    battery_v: float
    battery_a: float  #: + charging
    battery_temp_c: float
    array_w: float
    load_w: float  #: sum of rail powers
    sunlit: bool
    shed_level: ShedLevel
    charge_allowed: bool  #: battery temperature inside the charge window
    cells_ok: int
    strings_ok: int


@dataclass(frozen=True, slots=True)
class EclipseForecast:
    """Predicted eclipse timing for the coming orbit (producer: power)."""

    t_ns: int
    in_eclipse: bool
    next_entry_s: float  #: seconds from t_ns to the next umbra entry (inf if none)
    next_exit_s: float  #: seconds from t_ns to the next exit
    eclipse_duration_s: float  #: length of the next (or current) eclipse
    orbit_period_s: float


@dataclass(frozen=True, slots=True)
class PowerBudget:
    """Power the discretionary loads may draw over the coming orbit (producer: power).

    ``compute_w`` is the average accelerator power that keeps the battery above its floor
    through the next eclipse; ``heater_w`` caps the thermal controller's heater total.
    """

    t_ns: int
    compute_w: float
    heater_w: float
    soc_frac: float
    soc_floor_frac: float
    energy_margin_wh: float  #: battery energy above the floor at the end of the next eclipse


@dataclass(frozen=True, slots=True)
class ThermalStatus:
    """Zone temperatures and their limits (producer: thermal)."""

    t_ns: int
    zones: tuple[tuple[str, float, float, float], ...]  #: (name, temp_c, min_c, max_c)
    heater_w: float
    radiator_emissivity: float
    heater_faults: int = 0  #: heaters whose measured power contradicts their command
    stuck_sensors: int = 0  #: temperature channels frozen at one value
    limit_violations: int = 0  #: zones outside [min_c, max_c] now (of the zones known)
    #: zones whose temperature is unknown now (channel invalid, missing, stuck or implausible):
    #: ``limit_violations`` says nothing about them, and their temperature reads NaN
    unknown_zones: int = 0

    def temp_c(self, zone: str) -> float:
        """Temperature of ``zone`` (KeyError if unknown)."""
        for name, t, _, _ in self.zones:
            if name == zone:
                return t
        raise KeyError(zone)


@dataclass(frozen=True, slots=True)
class ThermalThrottle:
    """Request to the AI executor: run at most ``max_power_frac`` of full accelerator power
    (producer: thermal). 1.0 means no limit; 0.0 means stop computing."""

    t_ns: int
    max_power_frac: float
    reason: str


@dataclass(frozen=True, slots=True)
class ModeStatus:
    """Current spacecraft mode (producer: fdir)."""

    t_ns: int
    mode: Mode
    since_ns: int
    reason: str


@dataclass(frozen=True, slots=True)
class AttitudeRequest:
    """Requested pointing (producer: fdir's mode manager, 'sun' in SAFE and 'nadir' in
    NOMINAL; consumer: adcs). ``pointing`` is a :class:`hal.attitude.AttitudeMode` value:
    'nadir', 'sun', 'inertial' (with ``q_target_eci``, a unit quaternion body -> ECI,
    scalar first) or 'target_vector' (with ``target_eci``, an ECI direction)."""

    t_ns: int
    pointing: str
    q_target_eci: tuple[float, float, float, float] | None = None
    target_eci: tuple[float, float, float] | None = None


@dataclass(frozen=True, slots=True)
class AttitudeStatus:
    """Attitude as the control unit reports it, every adcs step (producer: adcs)."""

    t_ns: int
    mode: str  #: commanded pointing mode (an AttitudeMode value)
    on_target: bool  #: within the unit's pointing tolerance of the mode's target
    angle_to_target_deg: float  #: rotation angle to the target attitude, deg
    body_rate_deg_s: float  #: magnitude of the body angular rate, deg/s
    wheel_momentum_nms: float  #: momentum stored in the reaction wheels, N m s
    desaturating: bool  #: a momentum dump is running


@dataclass(frozen=True, slots=True)
class RadiationEnvironment:
    """Where the spacecraft is with respect to the South Atlantic Anomaly (producer:
    environment, from the GNSS position and the configured SAA region)."""

    t_ns: int
    in_saa: bool  #: True also when the position is unknown (conservative)
    lat_deg: float  #: geocentric latitude (NaN when unknown)
    lon_deg: float  #: longitude, -180..180 (NaN when unknown)
    #: age of the GNSS fix the indicator comes from, s (inf: no fix since start)
    fix_age_s: float = 0.0
    #: a consumer treats the message as "inside the SAA" once it is older than this (s):
    #: a stale indicator must never keep the scrubber at the quiet rate through an SAA pass
    valid_for_s: float = float("inf")


@dataclass(frozen=True, slots=True)
class SensorHealth:
    """How long each sensor family has been blind (producer: fdir, every step).

    Each ``*_age_s`` is the onboard time since the device last gave a valid reading (s;
    since start when it never has; NaN when the node has no such device). A device read that
    raises counts as invalid.
    """

    t_ns: int
    gnss_age_s: float
    imu_age_s: float
    star_tracker_age_s: float
    sun_sensor_age_s: float
    battery_age_s: float
    array_age_s: float


@dataclass(frozen=True, slots=True)
class PropulsionPowerRequest:
    """GNC asks for the propulsion rail on (before a burn) or off (after it) (producer: gnc).

    The power application owns the PDU: it switches the rail to follow the latest request,
    and may refuse an ``on`` (SAFE mode, battery at its floor, deep load shedding). GNC fires
    only once the thruster itself reports powered and ready.
    """

    t_ns: int
    on: bool
    reason: str  #: why (e.g. "stationkeeping burn"), for events and telemetry


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The laser link manager's state (producer: isl, every step).

    ``state`` is :class:`flight.isl.LinkState` as an int (0 IDLE, 1 ACQUIRING, 2 LINKED,
    3 REACQUIRING, 4 FAULT); ``peer`` the neighbour acquired or served ("" when none).
    """

    t_ns: int
    state: int
    peer: str
    link_up: bool
    time_in_state_s: float
    link_rate_bps: float  #: 0 while down
    rx_power_dbm: float  #: -inf without light from the peer
    pointing_error_rad: float  #: NaN without a measurement
    range_m: float  #: NaN without a peer
    bundles_stored: int
    store_bytes: int
    next_contact_s: float  #: to the next planned contact with any enabled peer (inf: none)
