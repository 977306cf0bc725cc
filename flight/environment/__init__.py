"""The radiation environment as the spacecraft knows it: South Atlantic Anomaly passes.

The SAA is a region of the inner radiation belt dipping low over the South Atlantic, where
single-event upsets are far more frequent. The :class:`SaaMonitor` compares the GNSS position
(geocentric latitude and longitude) with an ellipse in latitude/longitude from the
configuration, and publishes :class:`~flight.messages.RadiationEnvironment` for the EDAC
scrubber (which tightens its period inside).

Without a fix the position is unknown, and the indicator is conservative: ``in_saa`` is True
(NaN latitude/longitude, ``fix_age_s`` growing) once the last fix is older than
``max_fix_age_s``; every message carries ``valid_for_s`` so that a consumer treats a message
that stopped coming as "inside" too.

``[environment]`` keys: ``gnss`` (device, "gnss"), ``saa_center_lat_deg`` (-25),
``saa_center_lon_deg`` (-50), ``saa_semi_lat_deg`` (20), ``saa_semi_lon_deg`` (45),
``rate_hz`` (0.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flight.core import (
    Component,
    Declaration,
    EventDef,
    FieldType,
    InstallContext,
    Severity,
    TlmField,
)
from flight.messages import RadiationEnvironment
from native import schema
from native.errors import HalError
from native.schema import setting

__all__ = [
    "Config",
    "EnvironmentApp",
    "EnvironmentConfig",
    "SaaMonitor",
    "in_saa",
    "install",
    "parse_config",
]


@dataclass(slots=True)
class EnvironmentConfig:
    """The ``[environment]`` section."""

    gnss: str = setting("gnss", min_len=1, doc="GNSS device")
    saa_center_lat_deg: float = setting(
        -25.0, lo=-90, hi=90, units="deg", doc="SAA ellipse centre, geocentric latitude"
    )
    saa_center_lon_deg: float = setting(
        -50.0, lo=-180, hi=180, units="deg", doc="SAA ellipse centre, longitude"
    )
    saa_semi_lat_deg: float = setting(
        20.0, lo=0, lo_open=True, hi=90, units="deg", doc="SAA ellipse semi-axis in latitude"
    )
    saa_semi_lon_deg: float = setting(
        45.0, lo=0, lo_open=True, hi=180, units="deg", doc="SAA ellipse semi-axis in longitude"
    )
    rate_hz: float = setting(0.1, lo=0, lo_open=True, hi=1000, units="Hz", doc="step rate")
    max_fix_age_s: float = setting(
        30.0,
        lo=0,
        lo_open=True,
        hi=3600,
        units="s",
        doc="an older GNSS fix no longer says where the spacecraft is: assume SAA",
    )


def in_saa(lat_deg: float, lon_deg: float, cfg: EnvironmentConfig) -> bool:
    """True inside the SAA ellipse (longitude difference wrapped to -180..180)."""
    dlon = (lon_deg - cfg.saa_center_lon_deg + 180.0) % 360.0 - 180.0
    dlat = lat_deg - cfg.saa_center_lat_deg
    return (dlat / cfg.saa_semi_lat_deg) ** 2 + (dlon / cfg.saa_semi_lon_deg) ** 2 <= 1.0


class SaaMonitor(Component):
    """Publishes the SAA indicator from GNSS fixes (component 'environment')."""

    DECLARATION = Declaration(
        telemetry=(
            TlmField("in_saa", FieldType.BOOL),
            TlmField("lat_deg", FieldType.F32, "deg"),
            TlmField("lon_deg", FieldType.F32, "deg"),
            TlmField("saa_passes", FieldType.U32),
            TlmField("fix_age_s", FieldType.F32, "s", "age of the last GNSS fix"),
        ),
        events=(EventDef(1, "saa", Severity.INFO, "SAA {state} at lat {lat:.1f} lon {lon:.1f}"),),
    )

    def __init__(self, cfg: EnvironmentConfig, gnss: Any, component_id: int) -> None:
        super().__init__("environment", component_id)
        self.cfg = cfg
        self.gnss = gnss
        self._fix_ns: int | None = None  #: onboard time of the last valid fix
        self._lat_lon = (math.nan, math.nan)

    def on_boot(self) -> None:
        """A processor start forgets the last fix."""
        self._fix_ns = None

    def step(self, t_ns: int) -> None:
        """Read the GNSS fix and publish the SAA indicator; without a fix for longer than
        ``max_fix_age_s``, publish "inside" (conservative)."""
        try:
            fix = self.gnss.read()
            valid = bool(fix.valid)
        except HalError:
            valid = False
        if valid:
            x, y, z = fix.position_ecef_m
            self._fix_ns = t_ns
            self._lat_lon = (
                math.degrees(math.atan2(z, math.hypot(x, y))),
                math.degrees(math.atan2(y, x)),
            )
        age_s = math.inf if self._fix_ns is None else (t_ns - self._fix_ns) / 1e9
        lat, lon = self._lat_lon
        if age_s <= self.cfg.max_fix_age_s:
            inside = in_saa(lat, lon, self.cfg)
        else:
            inside, lat, lon = True, math.nan, math.nan
        # Three periods: a consumer tolerates one missed step before assuming the worst.
        valid_for_s = 3.0 / self.cfg.rate_hz
        hk = self.hk
        hk.fix_age_s = min(age_s, 3.0e38)
        if inside != hk.in_saa:
            hk.saa_passes += int(inside)
            self.emit("saa", state="entry" if inside else "exit", lat=lat, lon=lon)
        hk.in_saa, hk.lat_deg, hk.lon_deg = inside, lat, lon
        self.bus.publish(RadiationEnvironment(t_ns, inside, lat, lon, age_s, valid_for_s))


class EnvironmentApp:
    """The environment application as the node keeps it."""

    def __init__(self, monitor: SaaMonitor) -> None:
        self.monitor = monitor

    def summary(self) -> dict[str, Any]:
        """The ``environment`` section of summary.json."""
        return {"saa_passes": self.monitor.hk.saa_passes}


def parse_config(section: Any) -> EnvironmentConfig:
    """Check the ``[environment]`` table against :class:`EnvironmentConfig` and build it
    (ConfigError naming the key and what is allowed)."""
    return schema.parse(EnvironmentConfig, section, "environment")


def install(ctx: InstallContext, cfg: EnvironmentConfig) -> EnvironmentApp:
    """Add the SAA monitor (component ``environment``; GNSS device from the backend)."""
    from hal import GnssReceiver

    gnss = ctx.device("gnss", cfg.gnss, GnssReceiver)
    monitor = SaaMonitor(cfg, gnss, component_id=ctx.component_id("environment"))
    ctx.add(monitor, cfg.rate_hz)
    return EnvironmentApp(monitor)


#: This application's configuration schema (the ``[environment]`` section).
Config = EnvironmentConfig
