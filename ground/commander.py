"""``ground.Commander``: command a running node and watch its telemetry, by name.

Everything the Commander knows about the node comes from its dictionary (``satnode dict``,
:func:`ground.dictionary.build_dictionary`): command, argument, parameter, housekeeping and
event names, wire ids, types, units and ranges, the TM/TC layouts of every service, the APID
and the time code. Packet framing (CCSDS primary header, PUS-C secondary headers, CRC) uses
the project's own codec in :mod:`flight.tmtc`, which the tests hold against ``spacepackets``.

Links. Telecommands go out as UDP datagrams to the node's uplink address; telemetry is read
from a UDP socket bound to the address the node's downlink sends to. What goes on the uplink
wire is decided by an :class:`Uplink`: today the bare PUS packet; the authenticated uplink
(SDLS frames signed with the run's ground keys) plugs in there.

Time. Every wait is measured in **onboard time**, read from the time field of the TM the
node sends, never from the ground's clock, so a test or a script behaves the same whether
the node runs at 1x or 1000x real time. The Commander reads its downlink as an ordered
stream:

- ``onboard_ns`` is the time of the newest TM received so far (the ground's knowledge of
  the node's clock, behind it by at most the gap between two TM packets);
- a wait starts at a position in that stream (by default the *cursor*: where the last
  ``send`` drained to, or just after the TM the last ``await_*`` returned) and at the onboard
  time of the TM just before it;
- it ends with the first TM after that position that answers (that one is never discarded,
  whatever its time), or with :class:`CommanderTimeout` at the first TM that does not answer
  and is stamped later than start + timeout.

A node that sends nothing at all cannot advance onboard time; a separate wall-clock cap
(default 60 s without a single datagram) turns that into :class:`CommanderTimeout` with
``reason == "silent"`` instead of a hang. It is a safety net, not a timeout: it never decides
the outcome of a wait while telemetry flows.

Request matching. TCs carry a sequence count (14 bits, from ``first_seq``, wrapping) and ask
for acceptance and completion reports; a report belongs to a request when its request id
(the TC's packet id and sequence control, the first 32 bits) matches and it arrived after
the request was sent.
"""

from __future__ import annotations

import difflib
import enum
import json
import math
import select
import socket
import struct
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Final

from flight.core import NS_PER_S
from flight.tmtc import CdsFormat, CucFormat, pack_tc, unpack_tm
from native.errors import SatnodeError, WireError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_WALL_CAP_S",
    "RUN_SCHEMA",
    "CommandArgumentError",
    "CommandFailed",
    "CommandResult",
    "Commander",
    "CommanderError",
    "CommanderTimeout",
    "Event",
    "Housekeeping",
    "ParameterReport",
    "Request",
    "RunInfo",
    "Stage",
    "Telemetry",
    "Uplink",
    "Value",
    "Verification",
    "dictionary_for_config",
    "format_value",
    "parse_address",
    "parse_value",
    "read_run",
]

#: Default wait for a report, in onboard seconds.
DEFAULT_TIMEOUT_S: Final = 30.0
#: Default wall-clock safety cap: the longest silence (no datagram at all) tolerated, in s.
DEFAULT_WALL_CAP_S: Final = 60.0
#: The ``schema`` value of a run's ``run.json``.
RUN_SCHEMA: Final = "satnode-run/1"

_MAX_DATAGRAM: Final = 65_542  # the largest space packet: 6 + 65,536 octets
_RCVBUF: Final = 4 << 20  # room for bursts from a node running far faster than real time
_SEQ_MODULO: Final = 1 << 14
_TC_WORD0: Final = 0x1800  # version 0, type TC, secondary header flag (apid OR-ed in)
_UNSEGMENTED: Final = 0xC000
_ACK_ACCEPTANCE_COMPLETION: Final = 0b1001
_F32_MAX: Final = 3.4028234663852886e38
_STRUCT_CODES: Final = {
    ("unsigned", 1): "B", ("unsigned", 2): "H", ("unsigned", 4): "I", ("unsigned", 8): "Q",
    ("signed", 1): "b", ("signed", 2): "h", ("signed", 4): "i", ("signed", 8): "q",
    ("float", 4): "f", ("float", 8): "d", ("bool", 1): "B",
}  # fmt: skip
_HIDDEN_UNITS: Final = ("", "1")  # dimensionless values print without a unit


# -- errors ------------------------------------------------------------------------------------
class CommanderError(SatnodeError):
    """A ground-tool failure: no link, an unreadable run folder or dictionary, a bad name.

    Subclasses: :class:`CommandArgumentError` (refused locally, nothing sent),
    :class:`CommanderTimeout` (no answer), :class:`CommandFailed` (the node said no).
    """


class CommandArgumentError(CommanderError, ValueError):
    """An unknown component, command, parameter, event or argument, or a value of the wrong
    type or outside its range: found before anything was sent."""


class CommanderTimeout(CommanderError, TimeoutError):
    """No answer in time.

    ``reason`` is ``"onboard"`` (TM kept arriving, but none answered before the onboard
    deadline) or ``"silent"`` (no datagram at all for the wall-clock cap). ``deadline_ns``
    is the onboard deadline (None when the node never sent anything), ``last_ns`` the onboard
    time of the newest TM received.
    """

    def __init__(
        self, message: str, *, reason: str, deadline_ns: int | None, last_ns: int | None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.deadline_ns = deadline_ns
        self.last_ns = last_ns


class CommandFailed(CommanderError):
    """The node refused or failed a request (``result`` holds the failure report)."""

    def __init__(self, message: str, result: CommandResult) -> None:
        super().__init__(message)
        self.result = result


# -- decoded telemetry -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Value:
    """One named value with its unit (``""`` or ``"1"`` when dimensionless)."""

    name: str
    value: bool | int | float
    unit: str
    #: the dictionary's type label (``f32``, ``u8``, ...): decides how the value prints
    type: str = ""

    def __str__(self) -> str:
        text = f"{self.name}={format_value(self.value, self.type)}"
        return text if self.unit in _HIDDEN_UNITS else f"{text} {self.unit}"


@dataclass(frozen=True, slots=True)
class Housekeeping:
    """A TM[3,25] report: one component's housekeeping structure, by field name."""

    component: str
    sid: int
    values: Mapping[str, Value]

    def __getitem__(self, name: str) -> bool | int | float:
        return self.values[name].value

    def __str__(self) -> str:
        return f"HK {self.component}: " + " ".join(str(v) for v in self.values.values())


@dataclass(frozen=True, slots=True)
class Event:
    """A TM[5,x] event report: ``component.name``, its severity and its formatted text."""

    component: str
    name: str
    id: int
    severity: str
    message: str

    @property
    def qualified_name(self) -> str:
        """``component.name``."""
        return f"{self.component}.{self.name}"

    def __str__(self) -> str:
        return f"EVENT {self.severity} {self.qualified_name}: {self.message}"


@enum.unique
class Stage(enum.Enum):
    """A PUS-1 verification stage; the value is its success report's subtype (the failure
    report's subtype is one more)."""

    ACCEPTANCE = 1
    START = 3
    PROGRESS = 5
    COMPLETION = 7


@dataclass(frozen=True, slots=True)
class Verification:
    """A TM[1,x] report: stage, success, the request it answers and, for a failure, the
    failure code (number and dictionary name)."""

    stage: Stage
    success: bool
    request_id: int
    failure_code: int | None = None
    failure: str | None = None

    def __str__(self) -> str:
        stage = self.stage.name.lower()
        if self.success:
            return f"VERIFY {stage} success (request {self.request_id:#010x})"
        return (
            f"VERIFY {stage} FAILURE {self.failure} ({self.failure_code}) "
            f"(request {self.request_id:#010x})"
        )


@dataclass(frozen=True, slots=True)
class ParameterReport:
    """A TM[20,2] report: parameter values by ``component.name``."""

    values: Mapping[str, Value]

    def __str__(self) -> str:
        return "PARAMS " + " ".join(str(v) for v in self.values.values())


Content = Housekeeping | Event | Verification | ParameterReport


@dataclass(frozen=True, slots=True)
class Telemetry:
    """One decoded TM packet.

    ``index`` is its position in this Commander's receive order (0 for the first), ``name``
    the dictionary's name of its TM type, ``data`` its decoded data items (as the dictionary
    layout names them), ``content`` the typed view of the kinds the Commander knows (None for
    others).
    """

    index: int
    service: int
    subtype: int
    name: str
    apid: int
    seq_count: int
    onboard_ns: int
    data: Mapping[str, Any]
    content: Content | None = None

    @property
    def onboard_s(self) -> float:
        """The packet's onboard time in seconds."""
        return self.onboard_ns / NS_PER_S

    def __str__(self) -> str:
        what = str(self.content) if self.content is not None else self._generic()
        return f"{self.onboard_s:12.3f} s  {what}"

    def _generic(self) -> str:
        items = " ".join(f"{k}={_short(v)}" for k, v in self.data.items())
        return f"TM[{self.service},{self.subtype}] {self.name}" + (f" {items}" if items else "")


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, float) else format(value, ".6g")
    return text if len(text) <= 120 else text[:117] + "..."


def format_value(value: bool | int | float, type_label: str = "") -> str:
    """A value as an operator reads it: f32 with the digits an f32 holds (``0.3``, not
    ``0.30000001192092896``), f64 as the shortest round-trip text, integers and bools as such."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if type_label == "f32":
            return format(value, ".7g")
        return repr(value)
    return str(value)


# -- requests and results ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Request:
    """A TC the Commander sent: what it was, its sequence count and request id, where the
    downlink stream stood (``mark``) and the onboard time known (``onboard_ns``) when it
    went out."""

    name: str
    service: int
    subtype: int
    seq_count: int
    request_id: int
    packet: bytes
    mark: int
    onboard_ns: int | None


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The verification of one request: its acceptance and completion reports, or the
    failure report (acceptance TM[1,2], start TM[1,4] or completion TM[1,8]) with the failure
    code named; ``telemetry`` holds every TM received while waiting, in order."""

    request: Request
    accepted: Verification | None
    completed: Verification | None
    failure: Verification | None
    telemetry: tuple[Telemetry, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        """True when the node accepted and completed the request."""
        return self.failure is None and self.completed is not None

    @property
    def failure_code(self) -> int | None:
        """The PUS-1 failure code (None on success)."""
        return None if self.failure is None else self.failure.failure_code

    @property
    def failure_name(self) -> str | None:
        """The failure code's dictionary name, e.g. ``"ILLEGAL_ARGUMENT"`` (None on success)."""
        return None if self.failure is None else self.failure.failure

    def time_of(self, report: Verification | None) -> int | None:
        """Onboard time (ns) of the TM that carried ``report`` (None if not among them)."""
        for tm in self.telemetry:
            if report is not None and tm.content is report:
                return tm.onboard_ns
        return None

    def reports(self, service: int, subtype: int) -> list[Telemetry]:
        """The TM[service,subtype] packets received while waiting."""
        return [t for t in self.telemetry if (t.service, t.subtype) == (service, subtype)]

    def explanation(self) -> str | None:
        """The text of the node's ``tc_rejected``/``tc_failed`` event received with a failure,
        when one arrived (it says why, in words)."""
        if self.failure is None:
            return None
        for tm in self.telemetry:
            ev = tm.content
            if isinstance(ev, Event) and ev.name in ("tc_rejected", "tc_failed"):
                return ev.message
        return None

    def raise_for_failure(self) -> CommandResult:
        """Raise :class:`CommandFailed` when the node reported a failure; return self."""
        if self.failure is not None:
            why = self.explanation()
            raise CommandFailed(
                f"{self.request.name}: {self.failure.stage.name.lower()} failed with "
                f"{self.failure.failure} ({self.failure.failure_code})"
                + (f": {why}" if why else ""),
                self,
            )
        return self


# -- run folders -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RunInfo:
    """The parts of a run's ``run.json`` the ground tool uses (addresses as (host, port))."""

    path: Path
    node: str
    apid: int
    time_code: Mapping[str, Any]
    uplink: tuple[str, int] | None
    downlink: tuple[str, int] | None
    speed: float | None
    keys: str | None
    raw: Mapping[str, Any] = field(repr=False)


def _address_field(doc: Mapping[str, Any], key: str, path: Path) -> tuple[str, int] | None:
    value = doc.get(key)
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("host"), str)
        or not isinstance(value.get("port"), int)
        or not 0 < value["port"] < 65536
    ):
        raise CommanderError(f"{path}: {key} must be {{host, port}} or null, got {value!r}")
    return value["host"], int(value["port"])


def read_run(run_dir: str | Path) -> RunInfo:
    """Read ``run_dir/run.json`` (written by ``satnode sim`` before its first tick).

    Raises :class:`CommanderError` when the folder or file is missing or not a satnode run.
    """
    path = Path(run_dir) / "run.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommanderError(
            f"{path}: not found (is {run_dir} the --out folder of a started `satnode sim`?)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommanderError(f"{path}: cannot read: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != RUN_SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise CommanderError(f"{path}: schema {got!r}, expected {RUN_SCHEMA!r}")
    apid = doc.get("apid")
    if not isinstance(apid, int):
        raise CommanderError(f"{path}: apid must be an integer, got {apid!r}")
    speed = doc.get("speed")
    keys = doc.get("keys")
    return RunInfo(
        path=path,
        node=str(doc.get("node", "")),
        apid=apid,
        time_code=doc.get("time_code") or {},
        uplink=_address_field(doc, "uplink", path),
        downlink=_address_field(doc, "downlink", path),
        speed=float(speed) if isinstance(speed, int | float) else None,
        keys=keys if isinstance(keys, str) else None,
        raw=doc,
    )


def dictionary_for_config(config: str | Path | None = None) -> dict[str, Any]:
    """The dictionary of the node that ``config`` (None: the embedded default) describes,
    built the way ``satnode dict`` builds it (a node composed in a scratch folder)."""
    from flight.config import load_config
    from flight.node import Node, NodeOptions
    from ground.dictionary import build_dictionary

    cfg = load_config(config)
    cfg.setdefault("tmtc", {})["ground_link"] = False
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(cfg, NodeOptions(out_dir=Path(tmp)))
        try:
            if node.tmtc is None:
                raise CommanderError("the configuration has no TM/TC endpoint: nothing to command")
            return build_dictionary(node.executive, node.tmtc)
        finally:
            node.close()


def parse_address(text: str | tuple[str, int], what: str = "address") -> tuple[str, int]:
    """``"HOST:PORT"`` (or a (host, port) pair) -> (host, port); port 0 is allowed (an
    ephemeral port, for binding). :class:`CommanderError` when malformed."""
    if isinstance(text, tuple):
        host, port = text
    else:
        host, sep, port_text = str(text).rpartition(":")
        if not sep or not host or not port_text.isdigit():
            raise CommanderError(f"{what}: expected HOST:PORT, got {text!r}")
        port = int(port_text)
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise CommanderError(f"{what}: port {port!r} outside 0..65535")
    return str(host), port


# -- the uplink seam ---------------------------------------------------------------------------
class Uplink:
    """Turns one PUS TC packet into the datagrams that carry it on the uplink.

    This one sends the bare packet in one datagram (the node's UDP uplink today). The
    authenticated uplink (CCSDS TC transfer frames with SDLS: SPI, anti-replay sequence
    number, MAC; a long packet segmented over several frames; keys from the run's ground
    key file) is a subclass overriding :meth:`encode`; :meth:`Commander.from_run` builds it
    from ``run.json``'s ``keys`` through its ``secure_uplink`` argument.
    """

    def encode(self, packet: bytes) -> list[bytes]:
        """The datagrams, in sending order, that carry ``packet``."""
        return [packet]


# -- the dictionary codec ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Scalar:
    label: str
    kind: str
    codec: struct.Struct
    lo: float | None
    hi: float | None


class _Codec:
    """Layouts, names and scalar types of one dictionary (see :mod:`ground.dictionary`)."""

    hk: dict[int, dict[str, Any]]
    hk_by_component: dict[str, dict[str, Any]]

    def __init__(self, d: Mapping[str, Any]) -> None:
        if d.get("schema") != "satnode-dictionary":
            raise CommanderError("not a satnode dictionary (no 'schema': 'satnode-dictionary')")
        if d.get("version") != 2:
            raise CommanderError(f"dictionary version {d.get('version')!r}; this tool reads 2")
        try:
            self.apid = int(d["apid"])
            self.max_packet_len = int(d["packet"]["max_packet_octets"])
            self.time_code = _time_format(d["time_code"])
            self.scalars = {
                label: _Scalar(
                    label,
                    t["kind"],
                    struct.Struct(">" + _STRUCT_CODES[(t["kind"], int(t["octets"]))]),
                    t.get("min"),
                    t.get("max"),
                )
                for label, t in d["types"].items()
            }
            self.tm_types = {
                (int(s["service"]), int(t["subtype"])): t for s in d["services"] for t in s["tm"]
            }
            self.tc_types = {
                (int(s["service"]), int(t["subtype"])): t for s in d["services"] for t in s["tc"]
            }
            self.hk = {int(h["structure_id"]): h for h in d["housekeeping"]}
            self.hk_by_component = {h["component"]: h for h in d["housekeeping"]}
            self.commands = {int(c["function_id"]): c for c in d["commands"]}
            self.command_names = {(c["component"], c["name"]): c for c in d["commands"]}
            self.params = {int(p["id"]): p for p in d["parameters"]}
            self.param_names = {(p["component"], p["name"]): p for p in d["parameters"]}
            self.events = {int(e["id"]): e for e in d["events"]}
            self.event_names = {(e["component"], e["name"]): e for e in d["events"]}
            self.failure_names = {int(v): k for k, v in d["failure_codes"].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise CommanderError(f"dictionary is incomplete or malformed: {exc!r}") from None
        self.components = sorted(
            {c for c, _ in self.command_names}
            | {c for c, _ in self.param_names}
            | set(self.hk_by_component)
            | {c for c, _ in self.event_names}
        )

    # -- names --------------------------------------------------------------------------------
    def lookup(
        self, kind: str, qualified: str, table: Mapping[tuple[str, str], dict[str, Any]]
    ) -> dict[str, Any]:
        """The ``table`` entry ``component.name`` (``kind``: "command", "parameter", "event"),
        or :class:`CommandArgumentError` naming what exists."""
        component, dot, name = qualified.partition(".")
        if not dot or not component or not name:
            raise CommandArgumentError(f"expected COMPONENT.{kind.upper()}, got {qualified!r}")
        if (component, name) in table:
            return table[(component, name)]
        if component not in self.components:
            raise CommandArgumentError(
                f"unknown component {component!r}{_suggest(component, self.components)} "
                f"(components: {', '.join(self.components)})"
            )
        names = sorted(n for c, n in table if c == component)
        if not names:
            raise CommandArgumentError(f"{component} has no {kind}s")
        raise CommandArgumentError(
            f"{component} has no {kind} {name!r}{_suggest(name, names)} "
            f"({kind}s: {', '.join(names)})"
        )

    # -- scalars ------------------------------------------------------------------------------
    def encode_scalar(self, label: str, value: Any, item: Mapping[str, Any], where: str) -> bytes:
        """``value`` in type ``label``, checked against the type's and ``item``'s range."""
        sc = self.scalars[label]
        name = f"{where}{item['name']}"
        if sc.kind == "bool":
            if not isinstance(value, bool | Integral) or int(value) not in (0, 1):
                raise CommandArgumentError(f"{name}: expected true or false, got {value!r}")
            return sc.codec.pack(int(value))
        if sc.kind == "float":
            if isinstance(value, bool) or not isinstance(value, Real):
                raise CommandArgumentError(f"{name}: expected a number, got {value!r}")
            number: float | int = float(value)
            if not math.isfinite(number):
                raise CommandArgumentError(f"{name}: {value!r} is not a finite number")
            if sc.codec.size == 4 and abs(number) > _F32_MAX:
                raise CommandArgumentError(f"{name}: {value!r} does not fit a 32-bit float")
        else:
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise CommandArgumentError(f"{name}: expected an integer, got {value!r}")
            number = int(value)
        lo = item.get("min", sc.lo)
        hi = item.get("max", sc.hi)
        lo = sc.lo if lo is None else lo
        hi = sc.hi if hi is None else hi
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            unit = item.get("unit") or ""
            unit = "" if unit in _HIDDEN_UNITS else f" {unit}"
            raise CommandArgumentError(
                f"{name}={value!r}{unit} is outside [{_num(lo)}, {_num(hi)}]{unit}"
            )
        return sc.codec.pack(number)

    def decode_scalar(self, label: str, buf: bytes, pos: int) -> tuple[bool | int | float, int]:
        sc = self.scalars[label]
        if pos + sc.codec.size > len(buf):
            raise WireError(f"{label} at octet {pos} runs past {len(buf)} octets", "truncated")
        (value,) = sc.codec.unpack_from(buf, pos)
        if sc.kind == "bool":
            value = value != 0
        return value, pos + sc.codec.size

    # -- layouts ------------------------------------------------------------------------------
    def _keyed(self, item: Mapping[str, Any], key: Any) -> list[dict[str, Any]]:
        kind = item["type"]
        if kind == "housekeeping_structure":
            if key not in self.hk:
                raise WireError(f"no housekeeping structure {key}", "unknown_structure")
            return [dict(f) for f in self.hk[key]["fields"]]
        if kind == "command_arguments":
            if key not in self.commands:
                raise WireError(f"no function {key}", "unknown_function")
            return [dict(a) for a in self.commands[key]["args"]]
        raise WireError(f"unknown keyed layout item {kind!r}", "unknown_item")

    def decode_layout(
        self, layout: Sequence[Mapping[str, Any]], buf: bytes, pos: int = 0
    ) -> tuple[dict[str, Any], int]:
        """Decode ``layout`` from ``buf`` at ``pos``: (items by name, next position)."""
        out: dict[str, Any] = {}
        for item in layout:
            kind, name = item["type"], item["name"]
            if kind in self.scalars:
                out[name], pos = self.decode_scalar(kind, buf, pos)
            elif kind == "array":
                n = int(out[item["count"]])
                if "max_count" in item:
                    n = min(n, int(item["max_count"]))
                elems = []
                for _ in range(n):
                    elem, pos = self.decode_layout(item["items"], buf, pos)
                    elems.append(elem)
                out[name] = elems
            elif kind == "bytes":
                n = int(out[item["length"]])
                if item.get("length_unit") == "bits":  # an SDLS PDU counts its length in bits
                    n //= 8
                if pos + n > len(buf):
                    raise WireError(f"{name}: {n} octets run past the end", "truncated")
                out[name], pos = buf[pos : pos + n], pos + n
            elif kind == "utf8":
                out[name], pos = buf[pos:].decode("utf-8", "replace"), len(buf)
            elif kind == "parameter_value":
                pid = out[item["key"]]
                if pid not in self.params:
                    raise WireError(f"no parameter {pid}", "unknown_parameter")
                out[name], pos = self.decode_scalar(self.params[pid]["type"], buf, pos)
            else:
                out[name], pos = self.decode_layout(self._keyed(item, out[item["key"]]), buf, pos)
        return out, pos

    def encode_layout(
        self, layout: Sequence[Mapping[str, Any]], values: Mapping[str, Any], where: str = ""
    ) -> bytes:
        """Encode ``values`` per ``layout``; a count item that ``values`` leaves out is the
        length of the array that names it. Unknown or missing names are
        :class:`CommandArgumentError`."""
        counts = {it["count"]: it["name"] for it in layout if it["type"] == "array"}
        names = [it["name"] for it in layout]
        unknown = [k for k in values if k not in names]
        if unknown:
            expected = [n for n in names if n not in counts] or ["none"]
            raise CommandArgumentError(
                f"{where}unknown argument(s) {', '.join(map(repr, unknown))}"
                f"{_suggest(unknown[0], names)} (arguments: {', '.join(expected)})"
            )
        full = dict(values)
        for count_name, array_name in counts.items():
            if count_name not in full and isinstance(full.get(array_name), Sequence):
                full[count_name] = len(full[array_name])
        missing = [n for n in names if n not in full]
        if missing:
            raise CommandArgumentError(f"{where}missing argument(s): {', '.join(missing)}")
        out = bytearray()
        for item in layout:
            kind, name = item["type"], item["name"]
            value = full[name]
            if kind in self.scalars:
                out += self.encode_scalar(kind, value, item, where)
            elif kind == "array":
                if not isinstance(value, Sequence) or len(value) != full[item["count"]]:
                    raise CommandArgumentError(
                        f"{where}{name}: expected a list of {full[item['count']]} item(s)"
                    )
                for i, elem in enumerate(value):
                    if not isinstance(elem, Mapping):
                        raise CommandArgumentError(f"{where}{name}[{i}]: expected a mapping")
                    out += self.encode_layout(item["items"], elem, f"{where}{name}[{i}].")
            elif kind == "bytes" or kind == "utf8":
                out += value.encode("utf-8") if isinstance(value, str) else bytes(value)
            elif kind == "parameter_value":
                pid = full[item["key"]]
                if pid not in self.params:
                    raise CommandArgumentError(f"{where}no parameter with id {pid}")
                p = self.params[pid]
                out += self.encode_scalar(p["type"], value, {**p, "name": name}, where)
            else:
                try:
                    sub = self._keyed(item, full[item["key"]])
                except WireError as exc:
                    raise CommandArgumentError(f"{where}{exc}") from None
                if not isinstance(value, Mapping):
                    raise CommandArgumentError(f"{where}{name}: expected a mapping")
                out += self.encode_layout(sub, value, where)
        return bytes(out)

    # -- packets ------------------------------------------------------------------------------
    def decode(self, datagram: bytes, index: int) -> Telemetry:
        """One TM packet, completely decoded; :class:`WireError` when the dictionary does not
        explain it (another APID, an unknown type, octets left over)."""
        tm = unpack_tm(datagram, self.time_code.length, max_len=max(self.max_packet_len, 7))
        if tm.apid != self.apid:
            raise WireError(f"APID {tm.apid}, not the dictionary's {self.apid}", "foreign_apid")
        key = (tm.service, tm.subtype)
        spec = self.tm_types.get(key)
        if spec is None:
            raise WireError(f"TM[{key[0]},{key[1]}] is not in the dictionary", "unknown_type")
        data, end = self.decode_layout(spec["layout"], bytes(tm.data))
        if end != len(tm.data):
            raise WireError(
                f"TM[{key[0]},{key[1]}]: {len(tm.data) - end} octets left over", "length"
            )
        return Telemetry(
            index=index,
            service=tm.service,
            subtype=tm.subtype,
            name=str(spec["name"]),
            apid=tm.apid,
            seq_count=tm.seq_count,
            onboard_ns=self.time_code.decode(tm.time),
            data=data,
            content=self._content(tm.service, tm.subtype, data),
        )

    def _content(self, service: int, subtype: int, data: dict[str, Any]) -> Content | None:
        if service == 3 and subtype == 25:
            hk = self.hk[int(data["sid"])]
            units = {f["name"]: (f["unit"], f["type"]) for f in hk["fields"]}
            values = {
                k: Value(k, v, units[k][0], units[k][1]) for k, v in data["structure"].items()
            }
            return Housekeeping(hk["component"], int(data["sid"]), values)
        if service == 5 and "event_id" in data:
            eid = int(data["event_id"])
            ev = self.events.get(eid)
            comp, name, sev = (
                (ev["component"], ev["name"], ev["severity"])
                if ev is not None
                else (f"component {eid >> 8}", f"event {eid & 0xFF}", f"severity {subtype}")
            )
            return Event(comp, name, eid, sev, str(data.get("message", "")))
        if service == 1 and "request_id" in data:
            stage = Stage(subtype - 1 + subtype % 2)
            success = subtype % 2 == 1
            code = None if success else int(data["failure_code"])
            return Verification(
                stage,
                success,
                int(data["request_id"]),
                code,
                None if code is None else self.failure_names.get(code, f"code {code}"),
            )
        if service == 20 and subtype == 2:
            values = {}
            for it in data["items"]:
                p = self.params[int(it["parameter_id"])]
                qualified = f"{p['component']}.{p['name']}"
                values[qualified] = Value(qualified, it["value"], p["unit"], p["type"])
            return ParameterReport(values)
        return None


def _time_format(tc: Mapping[str, Any]) -> CucFormat | CdsFormat:
    """The time code the dictionary describes (its P-field, when sent, must agree)."""
    segments = {s["name"]: int(s["octets"]) for s in tc["t_field"]}
    agency = tc["epoch"] == "agency-defined"
    offset = int(tc.get("epoch_offset_ns", 0))
    has_p = tc.get("p_field") is not None
    fmt: CucFormat | CdsFormat
    if tc["format"] == "CUC":
        fmt = CucFormat(segments["coarse"], segments["fine"], has_p, agency, offset)
    elif tc["format"] == "CDS":
        fmt = CdsFormat(segments["day"], segments.get("submillisecond", 0), has_p, agency, offset)
    else:
        raise CommanderError(f"dictionary time code {tc['format']!r}: expected CUC or CDS")
    if has_p and fmt.p_field_bytes.hex() != tc["p_field"]["value"]:
        raise CommanderError(
            f"dictionary time code: P-field {tc['p_field']['value']} does not describe "
            f"{tc['format']} with segments {segments}"
        )
    if fmt.length != int(tc["octets"]):
        raise CommanderError(
            f"dictionary time code: {tc['octets']} octets, layout says {fmt.length}"
        )
    return fmt


def _suggest(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _num(x: float | None) -> str:
    if x is None:
        return "-inf"
    return format(x, "g") if isinstance(x, float) else str(x)


def parse_value(text: str, type_label: str, name: str = "value") -> bool | int | float:
    """Operator text -> a value of the dictionary type ``type_label``: ``true/false/1/0/yes/
    no/on/off`` for bool, decimal or ``0x``/``0b`` integers, decimal floats.
    :class:`CommandArgumentError` otherwise (ranges are checked when encoding)."""
    t = text.strip()
    if type_label == "bool":
        low = t.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise CommandArgumentError(f"{name}: expected true or false, got {text!r}")
    if type_label.startswith("f"):
        try:
            return float(t)
        except ValueError:
            raise CommandArgumentError(f"{name}: expected a number, got {text!r}") from None
    try:
        return int(t, 0)
    except ValueError:
        raise CommandArgumentError(f"{name}: expected an integer, got {text!r}") from None


# -- the Commander -----------------------------------------------------------------------------
Predicate = Callable[[Telemetry], bool]
Since = int | Request | CommandResult | None


class Commander:
    """Command one node and watch its telemetry, by name (see the module docstring).

    ``dictionary``: the node's dictionary (``satnode dict`` JSON, parsed). ``downlink``:
    the address to bind and read TM on (the node's downlink target; port 0 binds an
    ephemeral port, see :attr:`downlink_address`). ``uplink``: the node's TC address (None:
    listen only until :meth:`connect_uplink`). ``timeout_s``: default wait in onboard
    seconds. ``wall_cap_s``: the longest wall-clock silence tolerated before
    :class:`CommanderTimeout` (``reason="silent"``). ``first_seq``: the first TC sequence
    count. ``history``: how many decoded TM packets are kept (oldest dropped first).
    ``on_undecodable(reason)`` is called for each datagram the dictionary does not explain.
    """

    def __init__(
        self,
        dictionary: Mapping[str, Any],
        *,
        downlink: str | tuple[str, int],
        uplink: str | tuple[str, int] | None = None,
        uplink_codec: Uplink | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        wall_cap_s: float = DEFAULT_WALL_CAP_S,
        first_seq: int = 0,
        source_id: int = 0,
        history: int = 100_000,
        on_undecodable: Callable[[str], None] | None = None,
    ) -> None:
        _check_seconds("timeout_s", timeout_s)
        _check_seconds("wall_cap_s", wall_cap_s)
        if not 0 <= first_seq < _SEQ_MODULO:
            raise CommanderError(f"first_seq {first_seq} outside 0..{_SEQ_MODULO - 1}")
        if not 0 <= source_id < 1 << 16:
            raise CommanderError(f"source_id {source_id} outside 0..65535")
        if history < 1:
            raise CommanderError(f"history must keep at least 1 packet, got {history}")
        self.dictionary = dictionary
        self._codec = _Codec(dictionary)
        self._uplink = None if uplink is None else parse_address(uplink, "uplink")
        self.uplink_codec = uplink_codec if uplink_codec is not None else Uplink()
        self.timeout_s = float(timeout_s)
        self.wall_cap_s = float(wall_cap_s)
        self.source_id = source_id
        self.on_undecodable = on_undecodable
        self._seq = first_seq
        host, port = parse_address(downlink, "downlink")
        self._rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            self._rx.bind((host, port))
        except OSError as exc:
            self._rx.close()
            hint = " (is another ground tool listening there?)" if port else ""
            raise CommanderError(
                f"cannot bind the downlink {host}:{port}: {exc.strerror or exc}{hint}"
            ) from None
        self._tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._history: deque[Telemetry] = deque(maxlen=history)
        self._received = 0  # TM packets decoded so far (the next one's index)
        self._cursor = 0
        self.onboard_ns: int | None = None
        #: datagrams the dictionary did not explain
        self.undecodable = 0
        self._names: dict[int, str] = {}  # request id -> what was sent (for messages)

    # -- construction from a run folder ---------------------------------------------------------
    @classmethod
    def from_run(
        cls,
        run_dir: str | Path,
        *,
        dictionary: Mapping[str, Any] | None = None,
        config: str | Path | None = None,
        secure_uplink: Callable[[Path], Uplink] | None = None,
        **options: Any,
    ) -> Commander:
        """A Commander for the run whose ``--out`` folder is ``run_dir``: the uplink and
        downlink addresses from its ``run.json``, the dictionary from ``dictionary``, else
        ``run_dir/dictionary.json`` when the run wrote one, else built from ``config`` (None:
        the embedded default). When ``run.json`` names a ground key file (a secured uplink),
        ``secure_uplink(path)`` builds the :class:`Uplink` that signs TCs with it (default:
        :meth:`ground.uplink.SecureUplink.from_key_file`).
        ``options`` go to the constructor (``downlink``/``uplink`` override the run's)."""
        run = read_run(run_dir)
        if dictionary is None:
            saved = Path(run_dir) / "dictionary.json"
            if saved.is_file():
                try:
                    dictionary = json.loads(saved.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise CommanderError(f"{saved}: cannot read: {exc}") from None
            else:
                dictionary = dictionary_for_config(config)
        assert dictionary is not None
        if dictionary.get("apid") != run.apid:
            raise CommanderError(
                f"{run.path}: APID {run.apid}, but the dictionary describes APID "
                f"{dictionary.get('apid')} (give the run's configuration or dictionary)"
            )
        kind = str(run.time_code.get("kind", "")).upper()
        tc_format = dictionary.get("time_code", {}).get("format")
        if kind and kind != tc_format:
            raise CommanderError(
                f"{run.path}: time code {kind}, but the dictionary describes {tc_format}"
            )
        if run.keys is not None and "uplink_codec" not in options:
            key_file = Path(run_dir) / run.keys
            if not key_file.is_file():
                raise CommanderError(
                    f"{run.path}: the run's uplink is secured with the ground key file "
                    f"{run.keys}, but {key_file} is missing"
                )
            if secure_uplink is None:
                from ground.uplink import SecureUplink

                secure_uplink = SecureUplink.from_key_file
            options["uplink_codec"] = secure_uplink(key_file)
        if "downlink" not in options:
            if run.downlink is None:
                raise CommanderError(
                    f"{run.path}: the run has no downlink (start `satnode sim` with "
                    "--downlink HOST:PORT to receive its telemetry)"
                )
            options["downlink"] = run.downlink
        options.setdefault("uplink", run.uplink)
        return cls(dictionary, **options)

    # -- links -----------------------------------------------------------------------------------
    @property
    def downlink_address(self) -> tuple[str, int]:
        """(host, port) the TM socket is bound to."""
        host, port = self._rx.getsockname()[:2]
        return str(host), int(port)

    @property
    def uplink_address(self) -> tuple[str, int] | None:
        """(host, port) TCs are sent to (None: no uplink)."""
        return self._uplink

    def connect_uplink(self, address: str | tuple[str, int]) -> None:
        """Send TCs to ``address`` from now on."""
        self._uplink = parse_address(address, "uplink")

    def close(self) -> None:
        """Close both sockets (idempotent)."""
        self._rx.close()
        self._tx.close()

    def __enter__(self) -> Commander:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the dictionary --------------------------------------------------------------------------
    @property
    def apid(self) -> int:
        """The node's APID (from the dictionary)."""
        return self._codec.apid

    def command(self, name: str) -> Mapping[str, Any]:
        """The dictionary entry of command ``component.command``."""
        return self._codec.lookup("command", name, self._codec.command_names)

    def parameter(self, name: str) -> Mapping[str, Any]:
        """The dictionary entry of parameter ``component.parameter``."""
        return self._codec.lookup("parameter", name, self._codec.param_names)

    def event(self, name: str) -> Mapping[str, Any]:
        """The dictionary entry of event ``component.event``."""
        return self._codec.lookup("event", name, self._codec.event_names)

    def housekeeping_structure(self, component: str) -> Mapping[str, Any]:
        """The dictionary entry of ``component``'s housekeeping structure."""
        hk = self._codec.hk_by_component.get(component)
        if hk is None:
            names = sorted(self._codec.hk_by_component)
            raise CommandArgumentError(
                f"no housekeeping structure for {component!r}{_suggest(component, names)} "
                f"(components with housekeeping: {', '.join(names)})"
            )
        return hk

    # -- encoding ------------------------------------------------------------------------------
    def encode_tc(
        self, service: int, subtype: int, values: Mapping[str, Any] | None = None
    ) -> bytes:
        """The application data of ``TC[service,subtype]`` with ``values`` (by the dictionary
        layout's item names; array counts may be left out), range-checked."""
        spec = self._codec.tc_types.get((service, subtype))
        if spec is None:
            known = ", ".join(f"TC[{s},{t}]" for s, t in sorted(self._codec.tc_types))
            raise CommandArgumentError(
                f"TC[{service},{subtype}] is not in the dictionary ({known})"
            )
        return self._codec.encode_layout(
            spec["layout"], values or {}, f"TC[{service},{subtype}] {spec['name']}: "
        )

    def encode_command(self, name: str, args: Mapping[str, Any]) -> bytes:
        """The application data of TC[8,1] calling ``component.command`` with ``args``."""
        cmd = self.command(name)
        data = self._codec.encode_layout(cmd["args"], args, f"{name}: ")
        return struct.pack(">H", int(cmd["function_id"])) + data

    # -- sending -------------------------------------------------------------------------------
    def send_packet(self, name: str, service: int, subtype: int, data: bytes) -> Request:
        """Send ``TC[service,subtype]`` with application ``data`` (already encoded); returns
        the :class:`Request`. The stream cursor moves to the newest TM first, so waits that
        follow look only at what the node sent after this TC went out."""
        if self._uplink is None:
            raise CommanderError("no uplink address: give --uplink HOST:PORT or --run DIR")
        seq = self._seq
        packet = pack_tc(
            self.apid,
            seq,
            service,
            subtype,
            _ACK_ACCEPTANCE_COMPLETION,
            self.source_id,
            data,
            max_len=self._codec.max_packet_len,
        )
        self.poll()
        mark = self._received
        self._cursor = mark
        request_id = (_TC_WORD0 | self.apid) << 16 | _UNSEGMENTED | seq
        request = Request(name, service, subtype, seq, request_id, packet, mark, self.onboard_ns)
        try:
            for datagram in self.uplink_codec.encode(packet):
                self._tx.sendto(datagram, self._uplink)
        except OSError as exc:
            host, port = self._uplink
            raise CommanderError(f"cannot send to the uplink {host}:{port}: {exc}") from None
        self._seq = (seq + 1) % _SEQ_MODULO
        self._names[request_id] = name
        return request

    def send(self, name: str, /, args: Mapping[str, Any] | None = None, **kwargs: Any) -> Request:
        """Send command ``component.command`` (TC[8,1]) with its arguments by name, without
        waiting. Unknown names and bad values raise :class:`CommandArgumentError` before
        anything is sent."""
        data = self.encode_command(name, {**(args or {}), **kwargs})
        return self.send_packet(name, 8, 1, data)

    def send_tc(
        self, service: int, subtype: int, values: Mapping[str, Any] | None = None
    ) -> Request:
        """Send any ``TC[service,subtype]`` of the dictionary with ``values`` by layout name."""
        data = self.encode_tc(service, subtype, values)
        name = self._codec.tc_types[(service, subtype)]["name"]
        return self.send_packet(f"TC[{service},{subtype}] {name}", service, subtype, data)

    def arm(self, name: str, timeout_s: float | None = None) -> CommandResult:
        """Arm the hazardous command ``component.command`` with TC[8,128] (the node accepts
        it once within its arming window) and wait for the arming's completion."""
        cmd = self.command(name)
        if not cmd.get("hazardous"):
            raise CommandArgumentError(f"{name}: not a hazardous command, nothing to arm")
        data = struct.pack(">BBH", 8, 1, int(cmd["function_id"]))
        return self.await_request(self.send_packet(f"arm {name}", 8, 128, data), timeout_s)

    def send_management(self, pdus: bytes) -> int:
        """Send SDLS extended-procedure ``pdus`` under the management SA (key and SA
        management); returns the stream position to wait from. Needs a secured uplink (a
        run's key file)."""
        from ground.uplink import SecureUplink

        codec = self.uplink_codec
        if not isinstance(codec, SecureUplink):
            raise CommanderError("key and SA management needs the run's key file (--run DIR)")
        if self._uplink is None:
            raise CommanderError("no uplink address: give --uplink HOST:PORT or --run DIR")
        self.poll()
        mark = self._received
        self._cursor = mark
        try:
            for datagram in codec.management(pdus):
                self._tx.sendto(datagram, self._uplink)
        except OSError as exc:
            host, port = self._uplink
            raise CommanderError(f"cannot send to the uplink {host}:{port}: {exc}") from None
        return mark

    def send_and_await(
        self,
        name: str,
        /,
        args: Mapping[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
        **kwargs: Any,
    ) -> CommandResult:
        """Send ``component.command`` and wait for its acceptance and completion (or failure)
        reports; ``timeout_s`` in onboard seconds (default: the Commander's)."""
        return self.await_request(self.send(name, args, **kwargs), timeout_s)

    def await_request(self, request: Request, timeout_s: float | None = None) -> CommandResult:
        """Wait for ``request``'s acceptance and completion reports, or a failure report.

        Returns the :class:`CommandResult` (a failure is a result, not an exception);
        :class:`CommanderTimeout` when neither completion nor failure arrives in time.
        """
        accepted: list[Verification] = []
        seen: list[Telemetry] = []

        def answers(tm: Telemetry) -> bool:
            seen.append(tm)
            v = tm.content
            if not isinstance(v, Verification) or v.request_id != request.request_id:
                return False
            if v.stage is Stage.ACCEPTANCE and v.success:
                accepted.append(v)
                return False
            return not v.success or v.stage is Stage.COMPLETION

        try:
            end = self._wait(
                answers,
                timeout_s,
                start=request.mark,
                anchor_ns=request.onboard_ns,
                what=f"completion report for {request.name}",
                move_cursor=False,
            )
        except CommanderTimeout as exc:
            if not accepted:
                raise
            raise CommanderTimeout(
                f"{request.name} was accepted, but {exc}",
                reason=exc.reason,
                deadline_ns=exc.deadline_ns,
                last_ns=exc.last_ns,
            ) from None
        v = end.content
        assert isinstance(v, Verification)
        return CommandResult(
            request,
            accepted[0] if accepted else None,
            v if v.success else None,
            None if v.success else v,
            tuple(seen),
        )

    # -- services by name ------------------------------------------------------------------------
    def ping(self, timeout_s: float | None = None) -> CommandResult:
        """TC[17,1] are-you-alive; the result's ``reports(17, 2)`` holds the alive report."""
        return self.await_request(self.send_tc(17, 1), timeout_s)

    def set_param(
        self, name: str, value: bool | int | float, timeout_s: float | None = None
    ) -> CommandResult:
        """TC[20,3]: set parameter ``component.parameter`` to ``value`` (range-checked)."""
        p = self.parameter(name)
        self._codec.encode_scalar(p["type"], value, {**p, "name": name}, "")  # named errors
        data = self._codec.encode_layout(
            self._codec.tc_types[(20, 3)]["layout"],
            {"items": [{"parameter_id": int(p["id"]), "value": value}]},
        )
        return self.await_request(self.send_packet(f"set {name}", 20, 3, data), timeout_s)

    def get_param(self, name: str, timeout_s: float | None = None) -> Value:
        """TC[20,1]: the current value of ``component.parameter``, from the node's TM[20,2].
        :class:`CommandFailed` when the node refuses."""
        p = self.parameter(name)
        data = self._codec.encode_layout(
            self._codec.tc_types[(20, 1)]["layout"], {"items": [{"parameter_id": int(p["id"])}]}
        )
        result = self.await_request(self.send_packet(f"get {name}", 20, 1, data), timeout_s)
        result.raise_for_failure()
        for tm in result.reports(20, 2):
            if isinstance(tm.content, ParameterReport) and name in tm.content.values:
                return tm.content.values[name]
        raise CommanderError(f"get {name}: completed, but no TM[20,2] with its value arrived")

    def request_housekeeping(self, component: str, timeout_s: float | None = None) -> Housekeeping:
        """TC[3,27]: a one-shot housekeeping report of ``component`` now."""
        sid = int(self.housekeeping_structure(component)["structure_id"])
        request = self.send_tc(3, 27, {"items": [{"sid": sid}]})
        result = self.await_request(request, timeout_s).raise_for_failure()
        # The one-shot report goes out while the TC executes: before its completion report.
        reports = [
            tm.content
            for tm in result.telemetry
            if isinstance(tm.content, Housekeeping) and tm.content.sid == sid
        ]
        if not reports:
            raise CommanderError(f"housekeeping of {component}: completed, but no report came")
        return reports[-1]

    def enable_housekeeping(
        self, component: str, enabled: bool = True, timeout_s: float | None = None
    ) -> CommandResult:
        """TC[3,5]/TC[3,6]: start or stop ``component``'s periodic housekeeping."""
        sid = int(self.housekeeping_structure(component)["structure_id"])
        request = self.send_tc(3, 5 if enabled else 6, {"items": [{"sid": sid}]})
        return self.await_request(request, timeout_s)

    def set_housekeeping_interval(
        self, component: str, interval_s: float, timeout_s: float | None = None
    ) -> CommandResult:
        """TC[3,31]: report ``component``'s housekeeping every ``interval_s`` seconds."""
        sid = int(self.housekeeping_structure(component)["structure_id"])
        if not math.isfinite(interval_s):
            raise CommandArgumentError(f"interval_s must be finite, got {interval_s!r}")
        ms = round(interval_s * 1000)
        request = self.send_tc(3, 31, {"items": [{"sid": sid, "interval_ms": ms}]})
        return self.await_request(request, timeout_s)

    # -- waiting ---------------------------------------------------------------------------------
    def await_tm(
        self, predicate: Predicate, timeout_s: float | None = None, *, since: Since = None
    ) -> Telemetry:
        """The first TM after the stream position ``since`` (None: the cursor; an index; or a
        :class:`Request`/:class:`CommandResult`: just after that TC was sent) for which
        ``predicate`` is true. ``timeout_s`` is in onboard seconds from that position's
        onboard time. Moves the cursor past the packet returned."""
        start, anchor = self._start(since)
        return self._wait(predicate, timeout_s, start=start, anchor_ns=anchor, what="the TM")

    def await_event(
        self, name: str, timeout_s: float | None = None, *, since: Since = None
    ) -> Event:
        """The next event ``component.event`` (see :meth:`await_tm` for ``since``)."""
        ev = self.event(name)
        eid = int(ev["id"])
        start, anchor = self._start(since)
        tm = self._wait(
            lambda t: isinstance(t.content, Event) and t.content.id == eid,
            timeout_s,
            start=start,
            anchor_ns=anchor,
            what=f"event {name}",
        )
        assert isinstance(tm.content, Event)
        return tm.content

    def await_housekeeping(
        self,
        component: str,
        predicate: Callable[[Housekeeping], bool] | None = None,
        timeout_s: float | None = None,
        *,
        since: Since = None,
    ) -> Housekeeping:
        """The next housekeeping report of ``component`` (for which ``predicate`` holds)."""
        sid = int(self.housekeeping_structure(component)["structure_id"])

        def match(t: Telemetry) -> bool:
            hk = t.content
            return (
                isinstance(hk, Housekeeping)
                and hk.sid == sid
                and (predicate is None or predicate(hk))
            )

        start, anchor = self._start(since)
        tm = self._wait(
            match, timeout_s, start=start, anchor_ns=anchor, what=f"housekeeping of {component}"
        )
        assert isinstance(tm.content, Housekeeping)
        return tm.content

    def stream(
        self, *, count: int | None = None, duration_s: float | None = None
    ) -> Iterator[Telemetry]:
        """Every TM from the cursor on, as it arrives: ``count`` packets, or until the first
        packet stamped more than ``duration_s`` onboard seconds after the first one (not
        yielded), or forever. The wall-clock cap applies to silences."""
        if count is not None and count < 0:
            raise CommanderError(f"count must be >= 0, got {count}")
        if duration_s is not None:
            _check_seconds("duration_s", duration_s, allow_zero=True)
        n = 0
        end_ns: int | None = None
        while count is None or n < count:
            tm = self._next(self._cursor, "telemetry")
            self._cursor = tm.index + 1
            if duration_s is not None:
                if end_ns is None:
                    end_ns = tm.onboard_ns + round(duration_s * NS_PER_S)
                elif tm.onboard_ns > end_ns:
                    return
            n += 1
            yield tm

    @property
    def history(self) -> tuple[Telemetry, ...]:
        """The decoded TM kept so far, oldest first."""
        return tuple(self._history)

    def mark(self) -> int:
        """The stream position after every TM received so far (drains the socket first)."""
        self.poll()
        return self._received

    def describe(self, tm: Telemetry) -> str:
        """One line for ``tm``, naming the request a verification report answers when this
        Commander sent it."""
        text = str(tm)
        v = tm.content
        if isinstance(v, Verification) and v.request_id in self._names:
            text += f" {self._names[v.request_id]}"
        return text

    # -- receiving -------------------------------------------------------------------------------
    def poll(self) -> list[Telemetry]:
        """Decode every datagram waiting on the downlink, without blocking."""
        out: list[Telemetry] = []
        while True:
            ready, _, _ = select.select([self._rx], [], [], 0)
            if not ready:
                return out
            tm = self._receive()
            if tm is not None:
                out.append(tm)

    def _receive(self) -> Telemetry | None:
        datagram = self._rx.recv(_MAX_DATAGRAM)
        try:
            tm = self._codec.decode(datagram, self._received)
        except (WireError, KeyError, ValueError) as exc:
            self.undecodable += 1
            if self.on_undecodable is not None:
                self.on_undecodable(f"{len(datagram)}-octet datagram: {exc}")
            return None
        self._received += 1
        self._history.append(tm)
        self.onboard_ns = tm.onboard_ns
        return tm

    def _next(self, index: int, what: str) -> Telemetry:
        """The TM at stream position ``index``, receiving (with the wall-clock cap) until it
        has arrived."""
        while index >= self._received:
            ready, _, _ = select.select([self._rx], [], [], self.wall_cap_s)
            if not ready:
                host, port = self.downlink_address
                raise CommanderTimeout(
                    f"waiting for {what}: no telemetry at all on {host}:{port} for "
                    f"{self.wall_cap_s:g} s of wall-clock time (is the node running, with "
                    "its downlink pointed here?)",
                    reason="silent",
                    deadline_ns=None,
                    last_ns=self.onboard_ns,
                )
            self._receive()
        oldest = self._received - len(self._history)
        return self._history[max(index, oldest) - oldest]

    def _start(self, since: Since) -> tuple[int, int | None]:
        """(stream position, onboard time it stands at) of ``since``."""
        if since is None:
            index = self._cursor
        elif isinstance(since, CommandResult):
            return since.request.mark, since.request.onboard_ns
        elif isinstance(since, Request):
            return since.mark, since.onboard_ns
        else:
            index = int(since)
        if not 0 <= index <= self._received:
            raise CommanderError(f"stream position {index} outside 0..{self._received}")
        oldest = self._received - len(self._history)
        before = index - 1
        if before < 0:
            return index, None
        return index, self._history[max(before, oldest) - oldest].onboard_ns

    def _wait(
        self,
        predicate: Predicate,
        timeout_s: float | None,
        *,
        start: int,
        anchor_ns: int | None,
        what: str,
        move_cursor: bool = True,
    ) -> Telemetry:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        _check_seconds("timeout_s", timeout)
        budget_ns = round(timeout * NS_PER_S)
        deadline = None if anchor_ns is None else anchor_ns + budget_ns
        index = start
        while True:
            tm = self._next(index, what)
            index = tm.index + 1
            if predicate(tm):
                if move_cursor:
                    self._cursor = index
                return tm
            if deadline is None:  # nothing was known before: the first TM starts the clock
                deadline = tm.onboard_ns + budget_ns
            elif tm.onboard_ns > deadline:
                if move_cursor:
                    self._cursor = index
                raise CommanderTimeout(
                    f"no {what} within {timeout:g} s of onboard time (waited from "
                    f"{(deadline - budget_ns) / NS_PER_S:.3f} s to {tm.onboard_s:.3f} s onboard)",
                    reason="onboard",
                    deadline_ns=deadline,
                    last_ns=tm.onboard_ns,
                )


def _check_seconds(name: str, value: float, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise CommanderError(f"{name} must be a finite number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise CommanderError(f"{name} must be positive, got {value!r}")
