"""GNC: orbit determination, onboard propagation, station-keeping and collision avoidance.

``install(node, section)`` adds the :class:`GncComponent` (name ``gnc``) to a node from the
``[gnc]`` configuration section (keys and defaults: :class:`GncConfig`) and returns a
:class:`GncApp` whose ``summary()`` is the ``gnc`` section of summary.json.

Ground interface (PUS-8 function management on the component): ``set_slot``,
``set_autonomy``, ``load_catalogue`` (a TLE/STATE text blob ``gnc_catalogue_<id>.txt``
uploaded to NV storage beforehand, since a catalogue is larger than a telecommand),
``add_object`` (one object inline by its ECI state), ``manual_burn``, ``clear_fault``,
``clear_catalogue``. Every argument is range-checked; a rejected command changes nothing.
"""

from __future__ import annotations

from typing import Any

from flight.gnc._catalogue import Catalogue, CatalogueObject, parse_catalogue, tle_checksum
from flight.gnc._component import BurnRecord, GncComponent, catalogue_blob_name
from flight.gnc._config import GncConfig, parse_config
from flight.gnc._conjunction import (
    Conjunction,
    collision_probability,
    encounter_frame,
    linear_closest_approach,
    refine_tca,
    rtn_covariance_to_eci,
)
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
from flight.gnc._propagator import OrbitPropagator, ThrustArc, calibrate_reference_rate, fit_secular
from native.errors import ConfigError

__all__ = [
    "BurnRecord",
    "Catalogue",
    "CatalogueObject",
    "Conjunction",
    "GncApp",
    "GncComponent",
    "GncConfig",
    "OdConfig",
    "OrbitFilter",
    "OrbitPropagator",
    "ThrustArc",
    "along_track_drift_per_rev_m",
    "arg_latitude_rad",
    "build_component",
    "burn_time_for_delta_v_s",
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
        hk = self.component.hk
        return {
            "slot_error_km": float(hk.slot_error_km),
            "altitude_error_m": float(hk.altitude_error_m),
        }

    def summary(self) -> dict[str, Any]:
        """The ``gnc`` section of summary.json (see :meth:`GncComponent.summary`)."""
        return self.component.summary()


def build_component(backend: Any, section: dict[str, Any]) -> GncComponent:
    """Make the GNC component from a HAL backend and a ``[gnc]`` table (no executive needed)."""
    from hal import GnssReceiver, Pdu, Storage, Thruster
    from hal.registry import get_device

    cfg = parse_config(section)
    if backend is None:
        raise ConfigError("[gnc] needs a HAL backend ([hal] section)")
    gnss = get_device(backend, cfg.gnss, GnssReceiver)
    thruster = get_device(backend, cfg.thruster, Thruster)
    pdu = get_device(backend, cfg.pdu, Pdu) if cfg.pdu else None
    storage = get_device(backend, cfg.storage, Storage) if cfg.storage else None
    return GncComponent(cfg, gnss, thruster, pdu, storage)


def install(node: Any, section: dict[str, Any]) -> GncApp:
    """Add the GNC component to ``node`` at ``rate_hz`` (devices by name from its backend)."""
    comp = build_component(node.backend, section)
    node.executive.add(comp, comp.cfg.rate_hz)
    return GncApp(comp)
