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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["ACTIONS", "MonitorDef", "MonitorState", "read_source"]

#: Actions an event-action link may trigger.
ACTIONS = ("safe", "event")


@dataclass(slots=True)
class MonitorDef:
    """One row of the monitoring table (an entry of ``[[fdir.monitors]]``)."""

    name: str
    source: str
    kind: str = "limit"  #: "limit" | "baseline"
    low: float | None = None
    high: float | None = None
    persistence: int = 3
    action: str = "safe"
    enabled: bool = True


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
    if attr.startswith("zone:"):
        try:
            return float(msg.temp_c(attr[5:]))
        except KeyError:
            return math.nan
    value = getattr(msg, attr, None)
    return math.nan if value is None else float(value)
