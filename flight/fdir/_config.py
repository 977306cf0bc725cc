"""The ``[fdir]`` configuration section (a :mod:`native.schema` section).

Every key is checked for type, finiteness and range, and the monitoring table for consistency
(unique names, a limit row with at least one threshold and ``low <= high``, a baseline row
without thresholds), so that a configuration FDIR cannot honour is refused before the run
with a :class:`~native.errors.ConfigError` that names the section, the row and the key.
Sources are checked against the node's bus message types at install
(:func:`flight.fdir.resolve_source`), because only the node knows every message.

``[[fdir.monitors]]`` rows merge by ``name`` (:func:`native.schema.merge`): a user file's row
replaces the default row of that name, a new name is appended, and every other default row
(the SoC floor among them) stays unless ``monitors_replace = true``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flight.fdir._monitor import MonitorDef
from native import schema
from native.errors import ConfigError
from native.schema import setting

__all__ = ["MAX_HISTORY", "MAX_MONITORS", "FdirConfig", "parse_config"]

#: Rows of the monitoring table: the commands address a row with a U8 index 0..63.
MAX_MONITORS = 64
#: Largest ring of recent detections and mode changes kept for the summary (entries).
MAX_HISTORY = 4096
#: Largest boot counter (starts): the persistent ``boot_count`` parameter is a U16.
_MAX_BOOTS = 65535
#: Longest mode timer (s): a day; a quiet time longer than that would keep FDIR in BOOT, SAFE
#: or RECOVERY for a whole day of ground passes.
_MAX_TIMER_S = 86400.0
#: Longest stable time (s): a week of NOMINAL clears the boot counter at the latest.
_MAX_STABLE_S = 7 * 86400.0
#: The bus field a SoC-floor row reads (its ``low`` must stay below ``resume_soc``).
_SOC_SOURCE = "PowerStatus.soc_frac"


@dataclass(slots=True)
class FdirConfig:
    """The ``[fdir]`` section (times in s, rates in Hz, SoC as a fraction 0..1)."""

    boot_s: float = setting(
        10.0, lo=0, hi=_MAX_TIMER_S, units="s", doc="quiet time in BOOT before NOMINAL"
    )
    clear_s: float = setting(
        60.0, lo=0, hi=_MAX_TIMER_S, units="s", doc="quiet time in SAFE before RECOVERY"
    )
    recovery_s: float = setting(
        60.0, lo=0, hi=_MAX_TIMER_S, units="s", doc="quiet time in RECOVERY before NOMINAL"
    )
    stable_s: float = setting(
        600.0,
        lo=0,
        hi=_MAX_STABLE_S,
        units="s",
        doc="time in NOMINAL after which the boot counter is cleared",
    )
    resume_soc: float = setting(
        0.45, lo=0, hi=1, doc="state of charge needed to leave SAFE (fraction 0..1)"
    )
    max_boots: int = setting(
        3, lo=1, hi=_MAX_BOOTS, doc="starts without a stable NOMINAL that latch SAFE"
    )
    stale_s: float = setting(
        10.0,
        lo=0,
        lo_open=True,
        hi=_MAX_TIMER_S,
        units="s",
        doc="a monitored bus message older than this is unknown (>= one FDIR step)",
    )
    rate_hz: float = setting(
        1.0, lo=0, lo_open=True, hi=1000, units="Hz", doc="step rate (divides the base rate)"
    )
    history: int = setting(
        64,
        lo=1,
        hi=MAX_HISTORY,
        units="entries",
        doc="recent detections and mode changes kept for the summary",
    )
    sense_period_s: float = setting(
        2.0,
        lo=0,
        lo_open=True,
        hi=60,
        units="s",
        doc="how often the watched sensors are read for SensorHealth (>= one FDIR step)",
    )
    # Sensor devices FDIR reads for staleness and validity (SensorHealth); '' = not watched.
    gnss: str = setting("", doc="GNSS receiver device watched for validity ('' = none)")
    imu: str = setting("", doc="IMU device watched for validity ('' = none)")
    star_tracker: str = setting("", doc="star tracker device watched for validity ('' = none)")
    sun_sensor: str = setting("", doc="sun sensor device watched for validity ('' = none)")
    battery: str = setting("", doc="battery device watched for validity ('' = none)")
    array: str = setting("", doc="solar array device watched for validity ('' = none)")
    monitors: tuple[MonitorDef, ...] = setting(
        (),
        max_len=MAX_MONITORS,
        doc="[[fdir.monitors]] rows, merged by name (monitors_replace = true drops the defaults)",
    )

    def validate(self) -> None:
        """Messages stay fresh for at least one step; SAFE is left above every SoC floor."""
        step_s = 1.0 / self.rate_hz
        if self.stale_s < step_s:
            raise ConfigError(
                f"stale_s: {self.stale_s!r} s is shorter than one FDIR step "
                f"(1 / rate_hz = {step_s!r} s): every monitor would read 'unknown'"
            )
        for mon in self.monitors:
            floor = mon.low
            if (
                mon.enabled
                and mon.action == "safe"
                and mon.kind == "limit"
                and mon.source == _SOC_SOURCE
                and floor is not None
                and self.resume_soc <= floor
            ):
                raise ConfigError(
                    f"resume_soc: {self.resume_soc!r} must be above the SoC floor of monitor "
                    f"{mon.name!r} (low = {floor!r}), or SAFE is left at the floor and "
                    "entered again"
                )


def parse_config(table: Any) -> FdirConfig:
    """Check the ``[fdir]`` table against :class:`FdirConfig` (rows included) and build it.

    ConfigError (one line naming the key, e.g. ``[fdir.monitors[soc_floor]] low``) on an
    unknown key, a wrong type, a non-finite or out-of-range number, a row FDIR cannot
    honour, duplicate row names or the relations of :meth:`FdirConfig.validate`.
    """
    return schema.parse(FdirConfig, table, "fdir")
