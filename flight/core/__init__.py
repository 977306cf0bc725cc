"""The flight core: time, components, executive, software bus, parameters and events.

The vocabulary is F Prime's and cFS's, in Python. See DESIGN.md ("The core vocabulary").
"""

from flight.core._app import Application, AppSpec, BootCounting, InstallContext
from flight.core._bus import SoftwareBus, Subscription
from flight.core._component import Component
from flight.core._declare import (
    Arg,
    CommandDef,
    Declaration,
    EventDef,
    ParamDef,
    Severity,
    TlmField,
)
from flight.core._events import EventLog, EventRecord
from flight.core._executive import ComponentStats, Executive, ExecutiveMonitor, Health, Watchdog
from flight.core._failure import FailureCode
from flight.core._params import (
    ImageMemory,
    LoadOutcome,
    LoadReport,
    ParamImageError,
    ParamStore,
)
from flight.core._time import (
    NS_PER_MS,
    NS_PER_S,
    NS_PER_US,
    Clock,
    MonotonicClock,
    PacedClock,
    SimClock,
    execution_timer,
    perf_counter_ns,
    seconds_to_ns,
)
from flight.core._types import FieldType
from native.errors import (
    BusError,
    CommandError,
    ConfigError,
    FlightError,
    ParameterError,
    SatnodeError,
)

__all__ = [
    "NS_PER_MS",
    "NS_PER_S",
    "NS_PER_US",
    "AppSpec",
    "Application",
    "Arg",
    "BootCounting",
    "BusError",
    "Clock",
    "CommandDef",
    "CommandError",
    "Component",
    "ComponentStats",
    "ConfigError",
    "Declaration",
    "EventDef",
    "EventLog",
    "EventRecord",
    "Executive",
    "ExecutiveMonitor",
    "FailureCode",
    "FieldType",
    "FlightError",
    "Health",
    "ImageMemory",
    "InstallContext",
    "LoadOutcome",
    "LoadReport",
    "MonotonicClock",
    "PacedClock",
    "ParamDef",
    "ParamImageError",
    "ParamStore",
    "ParameterError",
    "SatnodeError",
    "Severity",
    "SimClock",
    "SoftwareBus",
    "Subscription",
    "TlmField",
    "Watchdog",
    "execution_timer",
    "perf_counter_ns",
    "seconds_to_ns",
]
