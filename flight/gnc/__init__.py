"""GNC: orbit determination, onboard propagation, station-keeping and collision avoidance.

Installed by the application registry (:mod:`flight.apps`) from the ``[gnc]`` section:
``install(ctx, cfg)`` looks up the GNSS receiver, the thruster and (optionally) NV storage
through the install context, adds the :class:`GncComponent` (name ``gnc``, id from the
registry) and returns a :class:`GncApp` whose ``summary()`` is the ``gnc`` section of
summary.json. Keys and defaults of ``[gnc]``: :class:`Config` (:class:`GncConfig`).

The component is a thin layer over one module per job: estimation (:class:`OrbitEstimator`),
planning (:class:`ControlBox`, :class:`StationKeepingPlanner`, :func:`burn_window_s`), burn
execution (:class:`BurnExecutor`, a typed state machine), verification
(:class:`BurnVerifier`, :func:`judge_burn`) and screening (:class:`ConjunctionScreener`).
Bus: publishes :class:`~flight.messages.PropulsionPowerRequest` (the power application owns
the PDU and switches the propulsion rail); reads ModeStatus, PowerBudget, EclipseForecast.

Ground interface (PUS-8 function management on the component): ``set_slot``,
``set_autonomy``, ``load_catalogue`` (a TLE/STATE text blob ``gnc_catalogue_<id>.txt``
uploaded to NV storage beforehand, since a catalogue is larger than a telecommand),
``add_object`` (one object inline by its ECI state), ``manual_burn``, ``clear_fault``,
``clear_catalogue``. Every argument is range-checked; a rejected command changes nothing.
"""

from __future__ import annotations

import math
from typing import Any

from flight.core import InstallContext
from flight.gnc._burn import (
    ActiveBurn,
    BurnEnvironment,
    BurnExecutor,
    BurnKind,
    BurnOutcome,
    BurnPlan,
    BurnSegment,
    BurnState,
    FilterState,
)
from flight.gnc._catalogue import Catalogue, CatalogueObject, parse_catalogue, tle_checksum
from flight.gnc._component import MAX_STATE_AGE_S, GncComponent, catalogue_blob_name
from flight.gnc._config import GncConfig, parse_config
from flight.gnc._conjunction import (
    Conjunction,
    collision_probability,
    encounter_frame,
    linear_closest_approach,
    refine_tca,
    rtn_covariance_to_eci,
)
from flight.gnc._estimation import Estimate, OdResult, OrbitEstimator
from flight.gnc._mean import (
    along_track_drift_per_rev_m,
    arg_latitude_rad,
    burn_time_for_delta_v_s,
    circular_decay_rate_m_s,
    delta_v_for_delta_a_m_s,
    drag_acceleration_m_s2,
    j2_secular_rates,
    mean_longitude_rate_rad_s,
    mean_semi_major_axis_m,
    osculating_elements,
    propellant_for_delta_v_kg,
)
from flight.gnc._od import OdConfig, OrbitFilter
from flight.gnc._planning import ControlBox, StationKeepingPlanner, burn_window_s
from flight.gnc._propagator import OrbitPropagator, ThrustArc, calibrate_reference_rate, fit_secular
from flight.gnc._screening import (
    AvoidanceDecision,
    AvoidanceRecord,
    ConjunctionScreener,
    OwnOrbit,
)
from flight.gnc._stats import BoxSample, GncStatistics
from flight.gnc._verification import (
    BurnVerifier,
    FilterComparison,
    PendingVerification,
    Verdict,
    judge_burn,
    judge_delta_a,
)
from hal import GnssReceiver, Storage, Thruster
from hal.registry import Backend, get_device
from native.errors import ConfigError

#: The ``[gnc]`` configuration schema (the application contract's name for it).
Config = GncConfig

__all__ = [
    "MAX_STATE_AGE_S",
    "ActiveBurn",
    "AvoidanceDecision",
    "AvoidanceRecord",
    "BoxSample",
    "BurnEnvironment",
    "BurnExecutor",
    "BurnKind",
    "BurnOutcome",
    "BurnPlan",
    "BurnSegment",
    "BurnState",
    "BurnVerifier",
    "Catalogue",
    "CatalogueObject",
    "Config",
    "Conjunction",
    "ConjunctionScreener",
    "ControlBox",
    "Estimate",
    "FilterComparison",
    "FilterState",
    "GncApp",
    "GncComponent",
    "GncConfig",
    "GncStatistics",
    "OdConfig",
    "OdResult",
    "OrbitEstimator",
    "OrbitFilter",
    "OrbitPropagator",
    "OwnOrbit",
    "PendingVerification",
    "StationKeepingPlanner",
    "ThrustArc",
    "Verdict",
    "along_track_drift_per_rev_m",
    "arg_latitude_rad",
    "build_component",
    "burn_time_for_delta_v_s",
    "burn_window_s",
    "calibrate_reference_rate",
    "catalogue_blob_name",
    "circular_decay_rate_m_s",
    "collision_probability",
    "delta_v_for_delta_a_m_s",
    "drag_acceleration_m_s2",
    "encounter_frame",
    "fit_secular",
    "install",
    "j2_secular_rates",
    "judge_burn",
    "judge_delta_a",
    "linear_closest_approach",
    "mean_longitude_rate_rad_s",
    "mean_semi_major_axis_m",
    "osculating_elements",
    "parse_catalogue",
    "parse_config",
    "propellant_for_delta_v_kg",
    "refine_tca",
    "rtn_covariance_to_eci",
    "tle_checksum",
]


class GncApp:
    """What the node keeps of the GNC application: its component and its summary."""

    def __init__(self, component: GncComponent) -> None:
        self.component = component

    def sample(self) -> dict[str, float]:
        """Slot and altitude error against their box, for the run's plots (NaN before the
        orbit determination has converged)."""
        if not self.component.od_ready():
            # no estimate yet: NaN (no point on the plot), never a made-up 0
            return {"slot_error_km": math.nan, "altitude_error_m": math.nan}
        hk = self.component.hk
        return {
            "slot_error_km": float(hk.slot_error_km),
            "altitude_error_m": float(hk.altitude_error_m),
        }

    def summary(self) -> dict[str, Any]:
        """The ``gnc`` section of summary.json (see :meth:`GncComponent.summary`)."""
        return self.component.summary()


def build_component(
    backend: Backend, cfg: GncConfig | dict[str, Any], component_id: int | None = None
) -> GncComponent:
    """The GNC component on the devices of a HAL backend, without a node (tests, benches).

    ``cfg`` is a :class:`GncConfig` or a ``[gnc]`` table; ``component_id`` defaults to the
    id of ``gnc`` in the application registry's table. GNC does not switch the propulsion
    rail: something playing the power application's role must follow its
    PropulsionPowerRequest.
    """
    from flight.apps import COMPONENT_IDS  # lazy: the registry may come to import app packages

    config = cfg if isinstance(cfg, GncConfig) else parse_config(cfg)
    cid = COMPONENT_IDS["gnc"] if component_id is None else component_id
    gnss = get_device(backend, config.gnss, GnssReceiver)
    thruster = get_device(backend, config.thruster, Thruster)
    storage = get_device(backend, config.storage, Storage) if config.storage else None
    return GncComponent(config, cid, gnss, thruster, storage)


def install(ctx: InstallContext, cfg: GncConfig) -> GncApp:
    """Add the GNC component through the install context (devices by name, id from the
    application registry) at ``cfg.rate_hz``."""
    if not isinstance(cfg, GncConfig):
        raise ConfigError(f"{ctx.where}: install needs a GncConfig, got {type(cfg).__name__}")
    gnss = ctx.device("gnss", cfg.gnss, GnssReceiver)
    thruster = ctx.device("thruster", cfg.thruster, Thruster)
    storage = ctx.device("storage", cfg.storage, Storage) if cfg.storage else None
    comp = GncComponent(cfg, ctx.component_id("gnc"), gnss, thruster, storage)
    ctx.add(comp, cfg.rate_hz)
    return GncApp(comp)
