"""FDIR as an onboard application: installed through the composition contract.

:func:`install` resolves every monitor's source against the node's bus message types
(``ctx.message_types``), builds the :class:`FdirManager` with its registered component id and
adds it to the executive. :class:`FdirApp` reports the ``fdir`` section of ``summary.json``:
counters since start plus the last ``history`` detections and mode changes.
"""

from __future__ import annotations

from typing import Any

from flight.core import InstallContext
from flight.fdir._config import FdirConfig
from flight.fdir._manager import FdirManager
from flight.fdir._monitor import resolve_source

__all__ = ["COMPONENT", "FdirApp", "install"]

#: The component's name in the application registry (:data:`flight.apps.COMPONENT_IDS`).
COMPONENT = "fdir"


class FdirApp:
    """What the node keeps of FDIR: the manager and its summary."""

    def __init__(self, manager: FdirManager) -> None:
        self.manager = manager

    def summary(self) -> dict[str, Any]:
        """The ``fdir`` section of summary.json (bounded: counts plus the last N entries).

        ``detections``: the last ``history`` detections (oldest first), each with ``t_s``,
        ``monitor``, ``value`` and ``action``; ``detections_total`` and
        ``detections_by_monitor`` count every detection since start. ``mode_log``: the last
        ``history`` mode changes as ``[t_s, mode value]``; ``mode_changes`` and
        ``safe_entries`` count them since start. ``seconds_in``: time in each mode (s).
        """
        m = self.manager
        return {
            "detections": [
                {"t_s": d.t_s, "monitor": d.monitor, "value": d.value, "action": d.action}
                for d in m.detections
            ],
            "detections_total": sum(m.detections_by_monitor.values()),
            "detections_by_monitor": dict(m.detections_by_monitor),
            "mode_final": m.mode.name,
            "boot_count": m.hk.boot_count,
            "latched": m.latched,
            "safe_entries": m.hk.safe_entries,
            "seconds_in": dict(m.seconds_in),
            "mode_changes": m.mode_changes,
            "mode_log": [[c.t_s, int(c.mode)] for c in m.mode_log],
            "history": m.cfg.history,
        }

    def sample(self) -> dict[str, float]:
        """Values for the ground's time series: the mode and the detection count."""
        m = self.manager
        return {"mode": float(int(m.mode)), "detections": float(m.hk.detections)}


def install(ctx: InstallContext, cfg: FdirConfig) -> FdirApp:
    """Add the FDIR manager to the node through ``ctx``.

    Raises :class:`~native.errors.ConfigError` naming the monitor and its source when a
    source is not a numeric field of a bus message type the node knows; nothing is added then.
    """
    sources = {
        mon.source.partition(".")[0]: resolve_source(mon.name, mon.source, ctx.message_types)
        for mon in cfg.monitors
    }
    from hal import Battery, GnssReceiver, Imu, SolarArray, StarTracker, SunSensor

    interfaces: dict[str, type] = {
        "gnss": GnssReceiver,
        "imu": Imu,
        "star_tracker": StarTracker,
        "sun_sensor": SunSensor,
        "battery": Battery,
        "array": SolarArray,
    }
    sensors: dict[str, Any] = {
        family: ctx.device(family, getattr(cfg, family), interface)
        for family, interface in interfaces.items()
        if getattr(cfg, family)
    }
    manager = FdirManager(
        cfg, component_id=ctx.component_id(COMPONENT), sources=sources, sensors=sensors
    )
    ctx.add(manager, cfg.rate_hz)
    return FdirApp(manager)
