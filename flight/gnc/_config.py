"""The ``[gnc]`` configuration section: keys, defaults, ranges and relations.

The section is a :mod:`native.schema` dataclass: types, finiteness, ranges and unknown keys
are checked by :func:`native.schema.parse`, relations between keys by
:meth:`GncConfig.validate`. Upper limits keep every step's work bounded (a screening
propagates ``screen_horizon_s / screen_step_s`` samples, an avoidance search doubles its
delta-v up to ``max_avoid_delta_v_m_s``).

Component ids are not configuration: they come from the application registry
(:mod:`flight.apps`). The PDU is not GNC's: thruster power is requested over the bus
(:class:`~flight.messages.PropulsionPowerRequest`) and switched by the power application.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from native import schema
from native.errors import ConfigError
from native.schema import setting

__all__ = ["GncConfig", "parse_config"]

_DAY_S = 86_400.0
_SIGMA: dict[str, Any] = {"lo": 0.0, "lo_open": True, "hi": 1e6, "units": "m"}


@dataclass(frozen=True, slots=True)
class GncConfig:
    """Every ``[gnc]`` key with its default (units in the names)."""

    # devices (names in the HAL backend)
    gnss: str = setting("gnss", min_len=1, doc="GNSS receiver device")
    thruster: str = setting("thruster", min_len=1, doc="electric thruster device")
    storage: str = setting("", doc="NV storage holding uploaded catalogues ('' = none)")
    rate_hz: float = setting(
        0.1, lo=1e-4, hi=10.0, units="Hz", doc="GNC step rate (burn segments re-pointed at it)"
    )
    # orbit determination
    od_interval_s: float = setting(60.0, lo=1.0, hi=_DAY_S, units="s", doc="GNSS fix interval")
    gnss_sigma_pos_m: float = setting(3.0, lo=0.0, lo_open=True, hi=1e5, units="m")
    gnss_sigma_vel_m_s: float = setting(0.03, lo=0.0, lo_open=True, hi=1e3, units="m/s")
    od_sigma_accel_m_s2: float = setting(1e-6, lo=0.0, lo_open=True, hi=1.0, units="m/s^2")
    od_min_updates: int = setting(10, lo=1, hi=10_000, doc="fixes before OD counts as converged")
    # control box (target altitude / slot captured from the first full-orbit estimate when absent)
    target_altitude_km: float | None = setting(
        None, lo=200.0, hi=2000.0, units="km", doc="mean semi-major axis minus R_E"
    )
    slot_arg_lat_deg: float | None = setting(
        None, lo=0.0, hi=360.0, hi_open=True, units="deg",
        doc="reference mean argument of latitude at onboard t = 0",
    )  # fmt: skip
    slot_tolerance_km: float = setting(10.0, lo=0.1, hi=500.0, units="km", doc="+- along-track box")
    altitude_tolerance_m: float = setting(
        300.0, lo=5.0, hi=20_000.0, units="m", doc="+- mean semi-major-axis box"
    )
    box_use_frac: float = setting(
        0.7, lo=0.0, lo_open=True, hi=1.0, doc="fraction of the box the planner aims to use"
    )
    autonomy: bool = setting(True, doc="autonomous station-keeping and avoidance burns")
    # planning
    plan_interval_s: float = setting(
        0.0, lo=0.0, hi=30 * _DAY_S, units="s", doc="0 = one orbital period"
    )
    settle_s: float = setting(
        600.0, lo=0.0, hi=_DAY_S, units="s", doc="after a burn, OD ignored for decay estimation"
    )
    decay_window_s: float = setting(_DAY_S, lo=3600.0, hi=30 * _DAY_S, units="s")
    decay_prior_m_per_day: float = setting(
        0.0, lo=0.0, hi=1e5, units="m/day", doc="used until OD estimates the decay (0 = wait)"
    )
    min_delta_a_m: float = setting(3.0, lo=0.0, hi=1e5, units="m")
    # thruster and burns
    dry_mass_kg: float = setting(650.0, lo=1.0, hi=1e5, units="kg")
    thrust_n: float = setting(0.04, lo=1e-6, hi=10.0, units="N")
    isp_s: float = setting(1500.0, lo=1.0, hi=1e5, units="s")
    thruster_power_w: float = setting(600.0, lo=1e-3, hi=1e5, units="W")
    max_burn_s: float = setting(1200.0, lo=1.0, hi=_DAY_S, units="s")
    min_burn_s: float = setting(60.0, lo=0.0, lo_open=True, hi=_DAY_S, units="s")
    min_interval_s: float = setting(7200.0, lo=0.0, hi=30 * _DAY_S, units="s")
    segment_s: float = setting(
        60.0, lo=1.0, hi=_DAY_S, units="s", doc="re-pointing interval inside a burn"
    )
    rail_timeout_s: float = setting(
        60.0, lo=1.0, hi=3600.0, units="s",
        doc="wait for the thruster to be powered after a PropulsionPowerRequest",
    )  # fmt: skip
    rail_retry_s: float = setting(
        600.0, lo=1.0, hi=_DAY_S, units="s", doc="retry delay after a rail timeout"
    )
    avoid_eclipse: bool = setting(True, doc="burn only in sunlight")
    eclipse_margin_s: float = setting(60.0, lo=0.0, hi=_DAY_S, units="s")
    require_power_budget: bool = setting(True, doc="burn only within the PowerBudget margin")
    power_margin_frac: float = setting(0.2, lo=0.0, hi=10.0)
    min_soc_headroom_frac: float = setting(0.05, lo=0.0, hi=1.0)
    budget_max_age_s: float = setting(1800.0, lo=0.0, hi=_DAY_S, units="s")
    forecast_max_age_s: float = setting(1800.0, lo=0.0, hi=_DAY_S, units="s")
    # verification / FDIR
    verify: bool = setting(True, doc="verify each burn from OD one orbit later")
    verify_min_delta_a_m: float = setting(15.0, lo=0.0, hi=1e5, units="m")
    underperformance_ratio: float = setting(
        0.7, lo=0.0, lo_open=True, hi=1.0, hi_open=True,
        doc="achieved/planned below this (or above its inverse) = thruster fault",
    )  # fmt: skip
    # conjunctions
    pc_threshold: float = setting(1e-4, lo=1e-12, hi=1.0)
    avoid_pc_factor: float = setting(
        0.1, lo=1e-6, hi=1.0, doc="the manoeuvre must bring Pc below threshold * factor"
    )
    hard_body_radius_m: float = setting(20.0, lo=0.01, hi=1000.0, units="m")
    screen_interval_s: float = setting(7200.0, lo=60.0, hi=30 * _DAY_S, units="s")
    screen_horizon_s: float = setting(_DAY_S, lo=600.0, hi=7 * _DAY_S, units="s")
    screen_step_s: float = setting(60.0, lo=1.0, hi=600.0, units="s")
    screen_distance_m: float = setting(10_000.0, lo=1.0, hi=1e6, units="m")
    min_avoid_lead_s: float = setting(600.0, lo=0.0, hi=7 * _DAY_S, units="s")
    max_avoid_delta_v_m_s: float = setting(0.5, lo=0.005, hi=10.0, units="m/s")
    own_sigma_rtn_m: tuple[float, float, float] = setting((20.0, 100.0, 20.0), **_SIGMA)
    tle_sigma_rtn_m: tuple[float, float, float] = setting((200.0, 1000.0, 200.0), **_SIGMA)
    state_sigma_rtn_m: tuple[float, float, float] = setting((50.0, 200.0, 50.0), **_SIGMA)
    drag_uncertainty_frac: float = setting(0.3, lo=0.0, hi=10.0)
    return_time_s: float = setting(
        3 * _DAY_S, lo=600.0, hi=30 * _DAY_S, units="s",
        doc="after TCA, the node must be back in its box within this",
    )  # fmt: skip
    max_catalogue_objects: int = setting(5000, lo=1, hi=100_000)
    catalogue: str = setting("", doc="catalogue text file loaded at start (path on the host)")
    # statistics (bounded: counters plus rings of the last ``history_len`` entries)
    series_interval_s: float = setting(
        1800.0, lo=1.0, hi=_DAY_S, units="s", doc="box-error sampling interval"
    )
    history_len: int = setting(
        32, lo=1, hi=10_000, doc="burns and avoidances kept in the summary rings"
    )

    def validate(self) -> None:
        """Relations between keys (ConfigError ``"<key>: <problem>"``)."""
        if self.min_burn_s > self.max_burn_s:
            raise ConfigError(f"min_burn_s: must not exceed max_burn_s ({self.max_burn_s:g} s)")
        if self.segment_s > self.max_burn_s:
            raise ConfigError(f"segment_s: must not exceed max_burn_s ({self.max_burn_s:g} s)")
        if self.rail_timeout_s * self.rate_hz < 1.0:
            raise ConfigError(
                f"rail_timeout_s: must cover at least one GNC step (>= 1 / rate_hz = "
                f"{1.0 / self.rate_hz:g} s)"
            )


def parse_config(section: Any) -> GncConfig:
    """Build a :class:`GncConfig` from a ``[gnc]`` table.

    Unknown keys, wrong types, NaN/inf, out-of-range values and inconsistent pairs raise a
    one-line :class:`ConfigError` naming the key; nothing is built then.
    """
    return schema.parse(GncConfig, section, "gnc")
