"""The one declaration of a component: commands, housekeeping, events and parameters.

A component class holds a single :class:`Declaration`. From it the framework derives command
dispatch and argument checking, housekeeping packet packing, parameter limits and the
command/telemetry dictionary (``satnode dict``). Nothing about a command or a telemetry field
is written down anywhere else.
"""

from __future__ import annotations

import enum
import string
import struct
from dataclasses import dataclass, field
from typing import Any

from flight.core._types import FieldType

__all__ = [
    "Arg",
    "CommandDef",
    "Declaration",
    "EventDef",
    "ParamDef",
    "Severity",
    "TlmField",
]


@enum.unique
class Severity(enum.IntEnum):
    """Event severity, numbered as the PUS-5 report subtype that carries it.

    INFO -> TM[5,1] informative; LOW -> TM[5,2]; MEDIUM -> TM[5,3]; HIGH -> TM[5,4].
    """

    INFO = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4


def _check_name(kind: str, name: str) -> None:
    if not name.isidentifier():
        raise ValueError(f"{kind} name {name!r} is not an identifier")


@dataclass(frozen=True, slots=True)
class Arg:
    """A typed command argument with an inclusive range and a unit ('' when dimensionless)."""

    name: str
    type: FieldType
    min: float | None = None
    max: float | None = None
    unit: str = ""
    doc: str = ""

    def __post_init__(self) -> None:
        _check_name("argument", self.name)
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"argument {self.name}: min > max")

    def check(self, value: object) -> bool | int | float:
        """Coerce ``value`` to the argument's type and check its range (``ValueError`` if not)."""
        v = self.type.coerce(value)
        if self.min is not None and v < self.min:
            raise ValueError(f"{self.name}={v} below minimum {self.min} {self.unit}".rstrip())
        if self.max is not None and v > self.max:
            raise ValueError(f"{self.name}={v} above maximum {self.max} {self.unit}".rstrip())
        return v


@dataclass(frozen=True, slots=True)
class CommandDef:
    """A component command: opcode (0-255, unique in the component), name and arguments.

    The component implements it as the method ``cmd_<name>(**args)``. Arguments travel
    big-endian, packed in declaration order (see :attr:`arg_struct`).

    ``hazardous``: the command can hurt the spacecraft (fire a thruster, move the orbit slot,
    blind FDIR, leave SAFE...). It is accepted only when armed first (TC[8,128] within the
    arming window, onboard time); an unarmed or expired request is refused at acceptance
    with ``FailureCode.NOT_ARMED`` and changes nothing. A component may narrow the hazard to
    some argument values with ``hazard_<name>(**args) -> bool`` (e.g. entering SAFE is
    harmless, leaving it is not).
    """

    opcode: int
    name: str
    args: tuple[Arg, ...] = ()
    doc: str = ""
    hazardous: bool = False
    arg_struct: struct.Struct = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name("command", self.name)
        if not 0 <= self.opcode <= 255:
            raise ValueError(f"command {self.name}: opcode {self.opcode} outside 0..255")
        fmt = ">" + "".join(a.type.code for a in self.args)
        object.__setattr__(self, "arg_struct", struct.Struct(fmt))


@dataclass(frozen=True, slots=True)
class TlmField:
    """A housekeeping telemetry field: name, wire type, unit, and its initial value."""

    name: str
    type: FieldType
    unit: str = ""
    doc: str = ""
    initial: bool | int | float = 0

    def __post_init__(self) -> None:
        _check_name("telemetry field", self.name)


@dataclass(frozen=True, slots=True)
class EventDef:
    """An event: id (1-255 within the component), name, severity and message template.

    On the wire the event id is ``component_id * 256 + id`` (16 bits, PUS-5).

    The template uses ``str.format`` fields; the event's arguments must name them all.
    """

    id: int
    name: str
    severity: Severity
    template: str

    def __post_init__(self) -> None:
        _check_name("event", self.name)
        if not 1 <= self.id <= 255:
            raise ValueError(f"event {self.name}: id {self.id} outside 1..255")

    @property
    def fields(self) -> tuple[str, ...]:
        """Names the template refers to."""
        return tuple(
            name.split(".")[0].split("[")[0]
            for _, name, _, _ in string.Formatter().parse(self.template)
            if name
        )


@dataclass(frozen=True, slots=True)
class ParamDef:
    """A parameter: id (1-255 within the component), name, type, default and inclusive limits.

    ``ground_writable=False`` marks state kept by the software itself (a boot counter), not
    tuning: TC[20,3] refuses it at acceptance (``FailureCode.NOT_ALLOWED``); the ground may
    still read it with TC[20,1].
    """

    id: int
    name: str
    type: FieldType
    default: bool | int | float
    min: float | None = None
    max: float | None = None
    unit: str = ""
    doc: str = ""
    ground_writable: bool = True

    def __post_init__(self) -> None:
        _check_name("parameter", self.name)
        if not 1 <= self.id <= 255:
            raise ValueError(f"parameter {self.name}: id {self.id} outside 1..255")
        self.check(self.default)

    def check(self, value: object) -> bool | int | float:
        """Coerce and range-check a candidate value (``ValueError``/``TypeError`` if invalid)."""
        v = self.type.coerce(value)
        if self.min is not None and v < self.min:
            raise ValueError(f"{self.name}={v} below minimum {self.min}")
        if self.max is not None and v > self.max:
            raise ValueError(f"{self.name}={v} above maximum {self.max}")
        return v


def _unique(kind: str, items: tuple[Any, ...], key: str) -> None:
    seen: set[object] = set()
    for item in items:
        k = getattr(item, key)
        if k in seen:
            raise ValueError(f"duplicate {kind} {key} {k!r}")
        seen.add(k)


@dataclass(frozen=True, slots=True)
class Declaration:
    """Everything a component exposes to the ground, in one place.

    ``telemetry`` defines the component's housekeeping structure (one per component; its
    structure id is the component id). ``hk_struct`` packs it big-endian in declared order.
    """

    commands: tuple[CommandDef, ...] = ()
    telemetry: tuple[TlmField, ...] = ()
    events: tuple[EventDef, ...] = ()
    params: tuple[ParamDef, ...] = ()
    hk_struct: struct.Struct = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for kind, items, keys in (
            ("command", self.commands, ("opcode", "name")),
            ("telemetry field", self.telemetry, ("name",)),
            ("event", self.events, ("id", "name")),
            ("parameter", self.params, ("id", "name")),
        ):
            for key in keys:
                _unique(kind, items, key)
        object.__setattr__(
            self, "hk_struct", struct.Struct(">" + "".join(f.type.code for f in self.telemetry))
        )

    def command(self, opcode: int) -> CommandDef | None:
        """The command with ``opcode``, or None."""
        for c in self.commands:
            if c.opcode == opcode:
                return c
        return None

    def event(self, name: str) -> EventDef:
        """The event called ``name`` (``KeyError`` if undeclared)."""
        for e in self.events:
            if e.name == name:
                return e
        raise KeyError(name)

    def merged(self, other: Declaration) -> Declaration:
        """A declaration holding this one's items followed by ``other``'s (for subclassing)."""
        return Declaration(
            self.commands + other.commands,
            self.telemetry + other.telemetry,
            self.events + other.events,
            self.params + other.params,
        )
