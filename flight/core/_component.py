"""Components: named units with a lifecycle and one declaration.

A component subclasses :class:`Component`, sets ``DECLARATION`` once, and implements
``cmd_<name>`` for each declared command; an optional side-effect-free ``check_<name>`` (same
arguments) refuses at acceptance, by raising :class:`CommandError`, a command that the
component's state does not allow. A command declared ``hazardous`` must be armed first (the
TM/TC endpoint enforces it); an optional ``hazard_<name>`` (same arguments) says which
argument values are hazardous (:meth:`Component.is_hazardous`). The executive wires in the clock, bus, event log and
parameter store (:meth:`Component.attach`), then drives the lifecycle
``on_init -> on_start -> step ... -> on_stop``.

Housekeeping: ``self.hk`` is a slotted object with one attribute per declared telemetry field,
initialised to the field's initial value; the component writes it, the framework packs it.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Callable
from typing import Any, ClassVar

from flight.core._bus import SoftwareBus
from flight.core._declare import CommandDef, Declaration
from flight.core._events import EventLog, EventRecord
from flight.core._failure import FailureCode
from flight.core._params import ParamStore
from flight.core._time import Clock
from flight.core._types import FieldType
from native.errors import CommandError, FlightError


def _saturate(ftype: FieldType, value: Any) -> Any:
    """``value`` clamped to the range of an integer wire type (other types unchanged)."""
    if ftype.py is not int or isinstance(value, bool):
        return value
    try:
        number = operator.index(value)  # Python and NumPy integers
    except TypeError:
        return value
    return min(max(number, int(ftype.lo)), int(ftype.hi))

__all__ = ["Component"]


def _make_hk_class(owner: str, declaration: Declaration) -> type:
    names = tuple(f.name for f in declaration.telemetry)
    initial = {f.name: f.type.coerce(f.initial) for f in declaration.telemetry}

    def __init__(self: Any) -> None:
        for k, v in initial.items():
            setattr(self, k, v)

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in names)
        return f"{owner}Housekeeping({inner})"

    return type(
        f"{owner}Housekeeping",
        (),
        {"__slots__": names, "__init__": __init__, "__repr__": __repr__},
    )


class Component:
    """Base of every onboard application unit.

    Subclasses set ``DECLARATION``; ids are 1..255 and unique in a node (the id is the
    housekeeping structure id and the high byte of function, event and parameter ids).
    """

    DECLARATION: ClassVar[Declaration] = Declaration()
    _hk_class: ClassVar[type]
    _hk_getter: ClassVar[Callable[[Any], Any]]
    _handlers: ClassVar[dict[int, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        decl = cls.DECLARATION
        cls._hk_class = _make_hk_class(cls.__name__, decl)
        names = [f.name for f in decl.telemetry]
        # staticmethod: a plain function stored on the class would bind to the instance.
        if len(names) == 0:
            cls._hk_getter = staticmethod(lambda _hk: ())
        elif len(names) == 1:
            getter = operator.attrgetter(names[0])
            cls._hk_getter = staticmethod(lambda hk: (getter(hk),))
        else:
            cls._hk_getter = staticmethod(operator.attrgetter(*names))
        cls._handlers = {}
        for cmd in decl.commands:
            method = f"cmd_{cmd.name}"
            if not callable(getattr(cls, method, None)):
                raise TypeError(f"{cls.__name__} declares command {cmd.name!r} without {method}()")
            cls._handlers[cmd.opcode] = method

    def __init__(self, name: str, component_id: int) -> None:
        if not 1 <= component_id <= 255:
            raise ValueError(f"component id {component_id} outside 1..255")
        if not name.isidentifier():
            raise ValueError(f"component name {name!r} is not an identifier")
        self.name = name
        self.component_id = component_id
        self.hk = self._hk_class()
        self._clock: Clock | None = None
        self._bus: SoftwareBus | None = None
        self._events: EventLog | None = None
        self._params: ParamStore | None = None
        self.param: dict[str, bool | int | float] = {}

    # -- wiring --------------------------------------------------------------------------
    def attach(self, clock: Clock, bus: SoftwareBus, events: EventLog, params: ParamStore) -> None:
        """Give the component its services (done by the executive when it is added)."""
        self._clock, self._bus, self._events, self._params = clock, bus, events, params
        params.register(self.name, self.DECLARATION.params)
        self.param = params.values(self.name)

    @property
    def clock(self) -> Clock:
        """Injected onboard clock."""
        if self._clock is None:
            raise FlightError(f"component {self.name} is not attached to an executive")
        return self._clock

    @property
    def bus(self) -> SoftwareBus:
        """Injected software bus."""
        if self._bus is None:
            raise FlightError(f"component {self.name} is not attached to an executive")
        return self._bus

    # -- lifecycle hooks (override) ------------------------------------------------------
    def on_boot(self) -> None:
        """Processor start (power-on or reset): forget volatile state. Called before
        :meth:`on_init` by :meth:`Executive.start`, never on a health-escalation restart."""

    def on_init(self) -> None:
        """Allocate and read configuration. Called once before start (and on restart)."""

    def on_start(self) -> None:
        """Begin operating."""

    def step(self, t_ns: int) -> None:
        """Do one cycle of work at onboard time ``t_ns`` (ns)."""

    def on_stop(self) -> None:
        """Stop operating and release what on_init took."""

    def validate_params(self, candidate: dict[str, bool | int | float]) -> None:
        """Check a whole candidate parameter set (each value already within its own limits)
        for relations between parameters; raise ``ValueError`` to refuse it. Called before a
        parameter change is accepted, so a refused change alters nothing."""

    def health_check(self) -> bool:
        """Answer a health ping: True when the component's own state is sane."""
        return True

    # -- services -------------------------------------------------------------------------
    def emit(self, event: str, **args: object) -> EventRecord | None:
        """Emit a declared event by name (``KeyError`` if undeclared: a programming error)."""
        if self._events is None:
            raise FlightError(f"component {self.name} is not attached to an executive")
        return self._events.emit(self.component_id, self.name, self.DECLARATION.event(event), args)

    def pack_housekeeping(self) -> bytes:
        """The housekeeping structure, packed big-endian in declared field order.

        Integer fields saturate at their wire type's range: a counter that passed 2**32 - 1
        is sent as 2**32 - 1 (and one below the range as its minimum) instead of making the
        whole structure unpackable.
        """
        values = type(self)._hk_getter(self.hk)
        try:
            return self.DECLARATION.hk_struct.pack(*values)
        except (struct.error, OverflowError):
            fields = self.DECLARATION.telemetry
            return self.DECLARATION.hk_struct.pack(
                *(_saturate(f.type, v) for f, v in zip(fields, values, strict=True))
            )

    def decode_command(self, opcode: int, arg_bytes: bytes) -> tuple[CommandDef, dict[str, Any]]:
        """Decode and check a command's arguments without executing it.

        Raises :class:`CommandError` with the PUS-1 failure code when the opcode is unknown or
        an argument is the wrong length, type or out of range.
        """
        cmd = self.DECLARATION.command(opcode)
        if cmd is None:
            raise CommandError(
                f"{self.name}: unknown opcode {opcode}", FailureCode.UNKNOWN_FUNCTION
            )
        if len(arg_bytes) != cmd.arg_struct.size:
            raise CommandError(
                f"{self.name}.{cmd.name}: arguments are {len(arg_bytes)} bytes, "
                f"expected {cmd.arg_struct.size}",
                FailureCode.INVALID_LENGTH,
            )
        values: dict[str, Any] = {}
        offset = 0
        for arg in cmd.args:
            try:
                # Decoded one by one with the type's strict decoder: a BOOL octet other than
                # 0/1 is refused here, at acceptance, instead of executing as True.
                values[arg.name] = arg.check(arg.type.unpack_from(arg_bytes, offset))
            except (TypeError, ValueError) as exc:
                raise CommandError(
                    f"{self.name}.{cmd.name}: {exc}", FailureCode.ILLEGAL_ARGUMENT
                ) from None
            offset += arg.type.size
        # Checks that depend on the component's state (an id that must exist, a precondition)
        # run here too, so that a command that cannot succeed is refused at acceptance.
        checker = getattr(self, f"check_{cmd.name}", None)
        if checker is not None:
            checker(**values)
        return cmd, values

    def is_hazardous(self, cmd: CommandDef, values: dict[str, Any]) -> bool:
        """True when this request of ``cmd`` must be armed before it is accepted.

        A command declared ``hazardous`` is, unless the component defines
        ``hazard_<name>(**values) -> bool`` to narrow the hazard to some argument values.
        """
        if not cmd.hazardous:
            return False
        narrow = getattr(self, f"hazard_{cmd.name}", None)
        return True if narrow is None else bool(narrow(**values))

    def execute(self, opcode: int, arg_bytes: bytes) -> None:
        """Decode, check and run a command. Failures raise :class:`CommandError`.

        A handler that raises anything else is reported as EXECUTION_FAILED; the handler is
        expected to validate before it changes state.
        """
        cmd, values = self.decode_command(opcode, arg_bytes)
        self.invoke(cmd, values)

    def invoke(self, cmd: CommandDef, values: dict[str, Any]) -> None:
        """Run a command already decoded and checked by :meth:`decode_command`."""
        handler = getattr(self, self._handlers[cmd.opcode])
        try:
            handler(**values)
        except CommandError:
            raise
        except Exception as exc:
            raise CommandError(
                f"{self.name}.{cmd.name} failed: {exc!r}", FailureCode.EXECUTION_FAILED
            ) from exc
