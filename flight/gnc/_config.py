"""The ``[gnc]`` configuration section: keys, defaults and validation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from native.errors import ConfigError

__all__ = ["GncConfig", "parse_config"]


@dataclass(frozen=True, slots=True)
class GncConfig:
    """Every ``[gnc]`` key with its default (units in the names)."""

    # devices (names in the HAL backend)
    gnss: str = "gnss"
    thruster: str = "thruster"
    pdu: str = ""  #: PDU switching the thruster rail around burns ('' = rail managed elsewhere)
    thruster_rail: str = "propulsion"
    storage: str = ""  #: NV storage holding uploaded catalogues ('' = none)
    component_id: int = 25
    rate_hz: float = 0.1  #: GNC step rate (burn segments are re-pointed at this rate)
    # orbit determination
    od_interval_s: float = 60.0
    gnss_sigma_pos_m: float = 3.0
    gnss_sigma_vel_m_s: float = 0.03
    od_sigma_accel_m_s2: float = 1e-6
    od_min_updates: int = 10
    # control box (target altitude / slot captured from the first full-orbit estimate when absent)
    target_altitude_km: float | None = None  #: mean semi-major axis minus R_E
    slot_arg_lat_deg: float | None = None  #: reference mean argument of latitude at onboard t = 0
    slot_tolerance_km: float = 10.0  #: +- along-track box
    altitude_tolerance_m: float = 300.0  #: +- mean semi-major-axis box
    box_use_frac: float = 0.7  #: fraction of the box the planner aims to use
    autonomy: bool = True
    # planning
    plan_interval_s: float = 0.0  #: 0 = one orbital period
    settle_s: float = 600.0  #: after a burn, OD samples ignored for decay estimation
    decay_window_s: float = 86400.0
    decay_prior_m_per_day: float = 0.0  #: used until the OD has a decay estimate (0 = wait)
    min_delta_a_m: float = 3.0
    # thruster and burns
    dry_mass_kg: float = 650.0
    thrust_n: float = 0.04
    isp_s: float = 1500.0
    thruster_power_w: float = 600.0
    max_burn_s: float = 1200.0
    min_burn_s: float = 60.0
    min_interval_s: float = 7200.0
    segment_s: float = 60.0  #: re-pointing interval inside a burn
    avoid_eclipse: bool = True
    eclipse_margin_s: float = 60.0
    require_power_budget: bool = True
    power_margin_frac: float = 0.2
    min_soc_headroom_frac: float = 0.05
    budget_max_age_s: float = 1800.0
    forecast_max_age_s: float = 1800.0
    # verification / FDIR
    verify: bool = True
    verify_min_delta_a_m: float = 15.0
    underperformance_ratio: float = (
        0.7  #: achieved/planned below this (or above its inverse) = fault
    )
    # conjunctions
    pc_threshold: float = 1e-4
    avoid_pc_factor: float = 0.1  #: the manoeuvre must bring Pc below threshold * factor
    hard_body_radius_m: float = 20.0
    screen_interval_s: float = 7200.0
    screen_horizon_s: float = 86400.0
    screen_step_s: float = 60.0
    screen_distance_m: float = 10_000.0
    min_avoid_lead_s: float = 600.0
    max_avoid_delta_v_m_s: float = 0.5
    own_sigma_rtn_m: list[float] = field(default_factory=lambda: [20.0, 100.0, 20.0])
    tle_sigma_rtn_m: list[float] = field(default_factory=lambda: [200.0, 1000.0, 200.0])
    state_sigma_rtn_m: list[float] = field(default_factory=lambda: [50.0, 200.0, 50.0])
    drag_uncertainty_frac: float = 0.3
    return_time_s: float = 3 * 86400.0  #: after TCA, the node must be back in its box within this
    max_catalogue_objects: int = 5000
    catalogue: str = ""  #: optional catalogue text file loaded at start (path on the host)
    # telemetry series
    series_interval_s: float = 1800.0


_POSITIVE = [
    "rate_hz",
    "od_interval_s",
    "gnss_sigma_pos_m",
    "gnss_sigma_vel_m_s",
    "od_sigma_accel_m_s2",
    "slot_tolerance_km",
    "altitude_tolerance_m",
    "box_use_frac",
    "decay_window_s",
    "dry_mass_kg",
    "thrust_n",
    "isp_s",
    "thruster_power_w",
    "max_burn_s",
    "min_burn_s",
    "segment_s",
    "pc_threshold",
    "avoid_pc_factor",
    "hard_body_radius_m",
    "screen_interval_s",
    "screen_horizon_s",
    "screen_step_s",
    "screen_distance_m",
    "max_avoid_delta_v_m_s",
    "return_time_s",
    "series_interval_s",
    "underperformance_ratio",
]


def parse_config(section: dict[str, Any]) -> GncConfig:
    """Build a :class:`GncConfig`; unknown keys, wrong types or bad ranges -> ConfigError."""
    known = {f.name for f in fields(GncConfig)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) in [gnc]: {', '.join(unknown)}")
    try:
        cfg = GncConfig(**section)
    except TypeError as exc:
        raise ConfigError(f"[gnc]: {exc}") from None
    for name in _POSITIVE:
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
            raise ConfigError(f"[gnc] {name} must be a finite number > 0, got {v!r}")
    if not 0.0 < cfg.box_use_frac <= 1.0 or not 0.0 < cfg.underperformance_ratio < 1.0:
        raise ConfigError(
            "[gnc] box_use_frac must be in (0, 1] and underperformance_ratio in (0, 1)"
        )
    if cfg.min_burn_s > cfg.max_burn_s or cfg.segment_s > cfg.max_burn_s:
        raise ConfigError("[gnc] min_burn_s and segment_s must not exceed max_burn_s")
    if cfg.target_altitude_km is not None and not 200.0 <= cfg.target_altitude_km <= 2000.0:
        raise ConfigError("[gnc] target_altitude_km must be in [200, 2000]")
    if cfg.slot_arg_lat_deg is not None and not 0.0 <= cfg.slot_arg_lat_deg < 360.0:
        raise ConfigError("[gnc] slot_arg_lat_deg must be in [0, 360)")
    for name in ("own_sigma_rtn_m", "tle_sigma_rtn_m", "state_sigma_rtn_m"):
        v = getattr(cfg, name)
        if len(v) != 3 or not all(isinstance(x, int | float) and x > 0 for x in v):
            raise ConfigError(f"[gnc] {name} must be three positive numbers")
    if not 1 <= cfg.component_id <= 255:
        raise ConfigError("[gnc] component_id must be in 1..255")
    return cfg
