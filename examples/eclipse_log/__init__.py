"""A worked example of a satnode application: an eclipse logger.

It is the README's "Write your own application" example, installed and run by
``tests/examples/test_eclipse_log.py``. It shows the whole contract of an application:

- a configuration schema (``Config``, checked by :func:`native.schema.parse`);
- one component with a declaration: housekeeping with units, an event, a command and a
  parameter, all of which reach the ground dictionary and PUS services without extra code;
- a bus topic consumed (:class:`flight.messages.PowerStatus`, published by power);
- ``install(ctx, cfg)``, which gets an :class:`flight.core.InstallContext`, never the node;
- a ``summary()`` for ``summary.json``.

To add it to a node, put the package under ``flight/`` and add one line to
``flight.apps.APPLICATIONS``::

    AppSpec("eclipse_log", "flight.eclipse_log", components=(("eclipse_log", 90),),
            consumes=("PowerStatus",)),

then add an ``[eclipse_log]`` section to the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flight.core import (
    NS_PER_S,
    CommandDef,
    Component,
    Declaration,
    EventDef,
    FieldType,
    InstallContext,
    ParamDef,
    Severity,
    TlmField,
)
from flight.messages import PowerStatus
from native.schema import parse, setting

__all__ = ["Config", "EclipseLog", "EclipseLogApp", "install", "parse_config"]


@dataclass(frozen=True, slots=True)
class Config:
    """The ``[eclipse_log]`` section."""

    rate_hz: float = setting(1.0, lo=0.0, lo_open=True, hi=10.0, units="Hz", doc="step rate")


def parse_config(table: Any) -> Config:
    """Check ``[eclipse_log]`` against :class:`Config` (ConfigError names the key)."""
    return parse(Config, table, "eclipse_log")


class EclipseLog(Component):
    """Counts eclipses and sunlit time from the power app's :class:`PowerStatus`."""

    DECLARATION = Declaration(
        commands=(CommandDef(1, "reset"),),
        telemetry=(
            TlmField("eclipses", FieldType.U32, "", "eclipse entries seen"),
            TlmField("sunlit_s", FieldType.F64, "s", "time in sunlight"),
            TlmField("eclipse_s", FieldType.F64, "s", "time in eclipse"),
        ),
        events=(EventDef(1, "eclipse_entry", Severity.INFO, "eclipse {n} entered"),),
        params=(
            ParamDef(1, "report_every", FieldType.U16, 1, 1, 100, "", "event every N eclipses"),
        ),
    )

    def __init__(self, component_id: int) -> None:
        super().__init__("eclipse_log", component_id)
        self._last_ns: int | None = None
        self._sunlit: bool | None = None

    def cmd_reset(self) -> None:
        """Zero the counters (PUS-8 from the ground)."""
        self.hk.eclipses, self.hk.sunlit_s, self.hk.eclipse_s = 0, 0.0, 0.0

    def step(self, t_ns: int) -> None:
        """Integrate sunlit/eclipse time (s) from the newest PowerStatus; count entries."""
        status = self.bus.latest(PowerStatus)
        if status is None:
            return
        if self._last_ns is not None and self._sunlit is not None:
            dt_s = (t_ns - self._last_ns) / NS_PER_S
            if self._sunlit:
                self.hk.sunlit_s += dt_s
            else:
                self.hk.eclipse_s += dt_s
        if self._sunlit and not status.sunlit:
            self.hk.eclipses += 1
            if self.hk.eclipses % int(self.param["report_every"]) == 0:
                self.emit("eclipse_entry", n=self.hk.eclipses)
        self._sunlit, self._last_ns = status.sunlit, t_ns


@dataclass(slots=True)
class EclipseLogApp:
    """What the node keeps of the app: its component and its summary section."""

    component: EclipseLog

    def summary(self) -> dict[str, Any]:
        """The ``eclipse_log`` section of summary.json."""
        hk = self.component.hk
        return {"eclipses": hk.eclipses, "sunlit_s": hk.sunlit_s, "eclipse_s": hk.eclipse_s}


def install(ctx: InstallContext, cfg: Config) -> EclipseLogApp:
    """Add the logger at its rate, with its registered id."""
    component = EclipseLog(ctx.component_id("eclipse_log"))
    ctx.add(component, cfg.rate_hz)
    return EclipseLogApp(component)
