"""Table-driven parameter monitoring in the style of PUS-12, with event-action links (PUS-19).

A monitor reads one field of the latest bus message of a type (``source = "Type.field"``,
``"ThermalStatus.zone:battery"`` for a zone temperature) and checks it every step:

- ``kind = "limit"``: violated when ``value < low`` or ``value > high`` (either may be absent);
- ``kind = "baseline"``: violated when the value falls below the baseline taken at the first
  sample (a count of working cells or strings). After a detection the baseline follows the new
  value: the failed unit has been isolated, and the monitor watches for further losses.

A violation must persist for ``persistence`` consecutive checks to count as a detection; the
detection fires the monitor's ``action`` (the event-action link) once, and the monitor stays
"active" until it passes again.

Sources are resolved against the node's bus message types when FDIR is installed
(:func:`resolve_source`): any application's message can be monitored by configuration, and a
misspelt type or field is a :class:`~native.errors.ConfigError` before the run, never a
monitor that silently reads NaN.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from native.errors import ConfigError
from native.schema import setting

__all__ = [
    "ACTIONS",
    "KINDS",
    "MAX_PERSISTENCE",
    "MonitorDef",
    "MonitorState",
    "read_source",
    "resolve_source",
]

#: Actions an event-action link may trigger.
ACTIONS = ("safe", "event")
#: Kinds of check a monitor row performs.
KINDS = ("limit", "baseline")
#: Largest persistence (checks): the range of the ``set_persistence`` command's U16 argument.
MAX_PERSISTENCE = 3600
#: Longest monitor name (characters): it appears in events and in the summary.
MAX_NAME_LEN = 32
#: Longest source (characters): ``Type.field``, both Python identifiers.
MAX_SOURCE_LEN = 96
#: Prefix of a zone-temperature source (``ThermalStatus.zone:<zone name>``), read through the
#: message's ``temp_c(zone)`` method.
ZONE_PREFIX = "zone:"


@dataclass(slots=True)
class MonitorDef:
    """One row of the monitoring table: an entry of ``[[fdir.monitors]]`` (a
    :mod:`native.schema` section; ``low``/``high`` in the units of the source field).

    Mutable on purpose: the ``enable_monitor``, ``set_limits`` and ``set_persistence``
    commands change a row in flight.
    """

    name: str = setting(
        min_len=1,
        max_len=MAX_NAME_LEN,
        doc="row name, unique (a user file's row replaces the default row of that name)",
    )
    source: str = setting(
        min_len=3,
        max_len=MAX_SOURCE_LEN,
        doc="bus message field read: 'Type.field' or 'ThermalStatus.zone:<zone>'",
    )
    kind: str = setting(
        "limit",
        choices=KINDS,
        doc="'limit': outside [low, high]; 'baseline': below the first (or last isolated) value",
    )
    # Thresholds are in the units of whatever field the row reads (a fraction, C, a count),
    # so no range other than finiteness applies here; limit rows check low <= high.
    low: float | None = setting(None, doc="limit rows: violated below this (source units)")
    high: float | None = setting(None, doc="limit rows: violated above this (source units)")
    persistence: int = setting(
        3,
        lo=1,
        hi=MAX_PERSISTENCE,
        units="samples",
        doc="consecutive violating checks before a detection",
    )
    action: str = setting(
        "safe", choices=ACTIONS, doc="event-action link: 'safe' enters SAFE, 'event' only reports"
    )
    enabled: bool = setting(True, doc="the row is checked")
    # The envelope a ground command may move the thresholds in (source units): the
    # physically meaningful range of the quantity. Without it, set_limits is refused.
    limit_min: float | None = setting(
        None, doc="limit rows: lowest threshold set_limits may command (source units)"
    )
    limit_max: float | None = setting(
        None, doc="limit rows: highest threshold set_limits may command (source units)"
    )

    def validate(self) -> None:
        """A ``Type.field`` source; a limit row has a threshold and ``low <= high``; a
        baseline row has none (the source's existence is checked at install)."""
        type_name, dot, attr = self.source.partition(".")
        if not (dot and type_name and attr):
            raise ConfigError(
                f"source: {self.source!r} must be 'Type.field' (e.g. 'PowerStatus.soc_frac')"
            )
        if self.kind == "limit":
            if self.low is None and self.high is None:
                raise ConfigError("low: a limit monitor needs low, high or both")
            if self.low is not None and self.high is not None and self.low > self.high:
                raise ConfigError(f"high: {self.high!r} is below low ({self.low!r})")
            lo_env, hi_env = self.limit_min, self.limit_max
            if (lo_env is None) != (hi_env is None):
                raise ConfigError("limit_max: limit_min and limit_max go together")
            if lo_env is not None and hi_env is not None:
                if lo_env > hi_env:
                    raise ConfigError(f"limit_max: {hi_env!r} is below limit_min ({lo_env!r})")
                for key, v in (("low", self.low), ("high", self.high)):
                    if v is not None and not lo_env <= v <= hi_env:
                        raise ConfigError(
                            f"{key}: {v!r} outside limit_min..limit_max [{lo_env!r}, {hi_env!r}]"
                        )
        elif self.low is not None or self.high is not None:
            raise ConfigError(
                f"{'low' if self.low is not None else 'high'}: a baseline monitor "
                "(kind = 'baseline') takes no low or high"
            )


@dataclass(slots=True)
class MonitorState:
    """Run-time state of a monitor."""

    definition: MonitorDef
    count: int = 0
    active: bool = False
    baseline: float | None = None
    detections: int = 0
    last_value: float = math.nan
    checks: int = 0

    @property
    def source_type(self) -> str:
        """Name of the bus message type the monitor reads (``"PowerStatus"``...)."""
        return self.definition.source.partition(".")[0]

    def check(self, value: float) -> bool:
        """Feed one sample; True exactly when a detection fires on this sample."""
        d = self.definition
        self.last_value = value
        self.checks += 1
        if not d.enabled:
            self.count = 0
            return False
        if math.isnan(value):
            return False  # unknown: neither a violation nor a pass (state kept)
        if d.kind == "baseline":
            if self.baseline is None or (value > self.baseline and not self.active):
                self.baseline = value
            violated = value < self.baseline
        else:
            violated = (d.low is not None and value < d.low) or (
                d.high is not None and value > d.high
            )
        if not violated:
            self.count = 0
            self.active = False
            return False
        self.count += 1
        if self.count >= d.persistence and not self.active:
            self.active = True
            self.detections += 1
            if d.kind == "baseline":
                self.baseline = value  # isolated: watch for further losses from here
                self.active = False
                self.count = 0
            return True
        return False

    @property
    def violating(self) -> bool:
        """True while the latest sample violates (before or after persistence)."""
        return self.count > 0 or self.active


def read_source(source: str, messages: dict[str, Any]) -> float:
    """Value of ``source`` ("Type.field" or "ThermalStatus.zone:<name>") from ``messages``
    (latest message by type name); NaN when absent."""
    type_name, _, attr = source.partition(".")
    msg = messages.get(type_name)
    if msg is None:
        return math.nan
    if attr.startswith(ZONE_PREFIX):
        try:
            return float(msg.temp_c(attr[len(ZONE_PREFIX) :]))
        except KeyError:
            return math.nan
    value = getattr(msg, attr, None)
    return math.nan if value is None else float(value)


def resolve_source(name: str, source: str, message_types: Mapping[str, type]) -> type:
    """The bus message type that monitor ``name`` reads through ``source``, checked.

    ``source`` is ``"Type.field"`` where ``Type`` is a key of ``message_types`` (every bus
    message the node knows) and ``field`` a numeric (int, float, bool or an int enum) field
    of it, or ``"Type.zone:<zone>"`` on a type with a ``temp_c(zone)`` method. Raises
    :class:`ConfigError` naming the monitor and the source otherwise.
    """
    type_name, dot, attr = source.partition(".")
    where = f"[[fdir.monitors]] {name!r}: source {source!r}"
    if not dot or not type_name or not attr:
        raise ConfigError(f"{where}: must be 'Type.field' (e.g. 'PowerStatus.soc_frac')")
    msg_type = message_types.get(type_name)
    if msg_type is None:
        known = ", ".join(sorted(message_types)) or "none"
        raise ConfigError(f"{where}: no bus message type {type_name!r} (known: {known})")
    if attr.startswith(ZONE_PREFIX):
        if not attr[len(ZONE_PREFIX) :] or not callable(getattr(msg_type, "temp_c", None)):
            raise ConfigError(f"{where}: {type_name} has no zone temperatures")
        return msg_type
    if not dataclasses.is_dataclass(msg_type):
        raise ConfigError(f"{where}: {type_name} is not a bus message dataclass")
    names = [f.name for f in dataclasses.fields(msg_type) if f.name != "t_ns"]
    if attr not in names:
        raise ConfigError(
            f"{where}: {type_name} has no field {attr!r} (fields: {', '.join(names)})"
        )
    hint = typing.get_type_hints(msg_type).get(attr)
    if not (isinstance(hint, type) and issubclass(hint, int | float)):
        raise ConfigError(f"{where}: field {attr!r} is a {hint}, not a number")
    return msg_type
