"""The HIL wire schema shared by the rig (:mod:`hil`) and the flight-side client (:mod:`hal.hil`).

Everything a peer needs to speak the protocol lives here: framing (a 4-byte big-endian
length, then one CBOR-encoded map), the message types and their fields, the value codec (HAL
readings and enums as CBOR tags, NumPy arrays as RFC 8746 typed arrays), the per-family
method and property tables, and the typed errors. ``hal/hil/PROTOCOL.md`` is the prose
specification; this module is its reference implementation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import math
import operator
import socket
import struct
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import cbor2
import numpy as np

from hal._common import Family
from hal.accelerator import (
    AcceleratorReading,
    AcceleratorStatus,
    JobResult,
    JobState,
    ModeSpec,
    PowerMode,
)
from hal.attitude import AttitudeMode, AttitudeReading
from hal.imager import ImageTiles
from hal.laser import LaserReading, PatState
from hal.platform import ResetReason, StorageReading, WatchdogReading
from hal.power import (
    BatteryReading,
    CellStatus,
    PduReading,
    RailStatus,
    SolarArrayReading,
)
from hal.propulsion import ThrusterReading, ThrusterStatus
from hal.sensors import (
    GnssFix,
    GnssReading,
    ImuReading,
    StarTrackerReading,
    SunSensorReading,
    TemperatureChannel,
    TemperatureReading,
)
from hal.thermal import HeaterReading, RadiatorReading
from native.errors import (
    ConfigError,
    DeviceCommandError,
    DeviceFaultError,
    DeviceUnavailableError,
    HalError,
)

__all__ = [
    "BACKEND_TARGET",
    "CONTROL_TARGET",
    "DEFAULT_MAX_FRAME",
    "ERROR_CLASSES",
    "FAMILY_METHODS",
    "FAMILY_PROPERTIES",
    "HEADER_LEN",
    "MIN_MAX_FRAME",
    "PROTOCOL_VERSION",
    "READ_METHODS",
    "TAG_ENUM",
    "TAG_RECORD",
    "TAG_TUPLE",
    "TAG_TYPED_TUPLE",
    "ClockMode",
    "ErrorCode",
    "MessageType",
    "RigProtocolError",
    "RigRefusedError",
    "RigTimeoutError",
    "Role",
    "Stream",
    "check_message",
    "decode_frame",
    "decode_value",
    "encode_frame",
    "encode_value",
    "error_entry",
    "raise_entry",
]

#: Version of the protocol this module speaks; a peer with another version is refused.
#: 2: HAL records carry their fields as an array in declaration order (1: a map by name).
PROTOCOL_VERSION: Final = 2
#: Bytes of the length prefix (unsigned, big-endian) in front of every message.
HEADER_LEN: Final = 4
#: The length prefix itself (unsigned 32-bit, big-endian).
_LENGTH: Final = struct.Struct(">I")
#: Largest message body accepted unless the handshake agrees on another (bytes).
DEFAULT_MAX_FRAME: Final = 8 << 20
#: The smallest ``max_frame`` a peer may announce (bytes): room for the handshake.
MIN_MAX_FRAME: Final = 4096
#: Call target naming the rig's backend itself (reboot, memory registration, scenarios...).
BACKEND_TARGET: Final = "@rig"
#: Call target of the rig control channel (inject, clear, list faults).
CONTROL_TARGET: Final = "@faults"

#: CBOR tag of a tuple (array content). A plain CBOR array is a list.
TAG_TUPLE: Final = 60000
#: CBOR tag of a HAL record: ``[type name, [field values in declaration order]]``.
TAG_RECORD: Final = 60001
#: CBOR tag of a HAL enum member: ``[enum name, value]``.
TAG_ENUM: Final = 60002
#: CBOR tag of a tuple of values of one HAL enum or record type (a battery's cell states, a
#: PDU's rails): ``[type name, [enum value or record field array, ...]]``; one tag instead of
#: one per element.
TAG_TYPED_TUPLE: Final = 60004
#: RFC 8746 multi-dimensional array: ``[shape, typed array]``.
_TAG_NDARRAY: Final = 40
#: RFC 8746 typed-array tags (little endian) by NumPy dtype; bool arrays use uint8 (64)
#: wrapped in :data:`_TAG_BOOL`.
_TYPED_TAGS: Final[dict[str, int]] = {
    "uint8": 64,
    "uint16": 69,
    "uint32": 70,
    "uint64": 71,
    "int8": 72,
    "int16": 77,
    "int32": 78,
    "int64": 79,
    "float32": 85,
    "float64": 86,
}
_TAG_DTYPES: Final[dict[int, np.dtype[Any]]] = {
    tag: np.dtype(name).newbyteorder("<") for name, tag in _TYPED_TAGS.items()
}
_TAG_BOOL: Final = 60003


@enum.unique
class MessageType(enum.StrEnum):
    """The ``type`` field of a message."""

    HELLO = "hello"  #: client -> rig: open a session
    WELCOME = "welcome"  #: rig -> client: session accepted
    REFUSE = "refuse"  #: rig -> client: session refused (then the rig closes)
    CALL = "call"  #: client -> rig: a batch of calls
    ADVANCE = "advance"  #: client -> rig: a batch of calls, then advance the world
    REPLY = "reply"  #: rig -> client: one result per call of a CALL/ADVANCE
    ERROR = "error"  #: either way: a message was rejected (malformed, oversized...)
    BYE = "bye"  #: client -> rig: close the session


@enum.unique
class ClockMode(enum.StrEnum):
    """How time passes on the rig."""

    LOCKSTEP = "lockstep"  #: the world moves only when the flight side asks (deterministic)
    PACED = "paced"  #: the world runs in real time on the rig's clock


@enum.unique
class Role(enum.StrEnum):
    """What a session is for."""

    FLIGHT = "flight"  #: the flight stack driving the devices (one at a time)
    CONTROL = "control"  #: a test or operator injecting faults (any number)


@enum.unique
class ErrorCode(enum.StrEnum):
    """Why a message was rejected (``ERROR``/``REFUSE`` messages)."""

    MALFORMED = "malformed"  #: not CBOR, not a map, unknown tag, field missing or mistyped
    OVERSIZED = "oversized"  #: longer than the agreed ``max_frame`` (the link is closed)
    UNEXPECTED = "unexpected"  #: a valid message at the wrong moment (CALL before HELLO...)
    SEQUENCE = "sequence"  #: ``seq`` did not increase
    VERSION = "version"  #: protocol version mismatch (REFUSE)
    CLOCK = "clock"  #: clock mode mismatch (REFUSE)
    BUSY = "busy"  #: another flight session is open (REFUSE)


class RigTimeoutError(DeviceUnavailableError):
    """The rig did not answer within the call timeout, or the link to it is down.

    A :class:`~native.errors.DeviceUnavailableError`: to the flight software a silent rig is
    a silent device."""


class RigProtocolError(HalError):
    """A message broke the wire protocol (malformed, oversized, out of sequence)."""


class RigRefusedError(ConfigError):
    """The handshake was refused (protocol version, clock mode, busy rig, device table)."""


#: Errors that cross the wire by name (anything else arrives as HalError).
ERROR_CLASSES: Final[dict[str, type[Exception]]] = {
    "DeviceUnavailableError": DeviceUnavailableError,
    "DeviceCommandError": DeviceCommandError,
    "DeviceFaultError": DeviceFaultError,
    "ConfigError": ConfigError,
    "HalError": HalError,
}

# --------------------------------------------------------------------------- families
#: Methods the rig executes per family (anything else is refused as a DeviceCommandError).
FAMILY_METHODS: Final[Mapping[Family, frozenset[str]]] = {
    Family.GNSS: frozenset({"read"}),
    Family.IMU: frozenset({"read"}),
    Family.STAR_TRACKER: frozenset({"read"}),
    Family.SUN_SENSOR: frozenset({"read"}),
    Family.TEMPERATURE: frozenset({"read"}),
    Family.HEATER: frozenset({"set_on", "set_duty", "read"}),
    Family.RADIATOR: frozenset({"set_emissivity", "read"}),
    Family.SOLAR_ARRAY: frozenset({"read"}),
    Family.BATTERY: frozenset({"read"}),
    Family.PDU: frozenset({"set_rail", "reset_rail", "read"}),
    Family.THRUSTER: frozenset({"fire", "read"}),
    Family.LASER_TERMINAL: frozenset({"acquire", "point", "stop", "send", "receive", "read"}),
    Family.ACCELERATOR: frozenset(
        {"set_mode", "submit", "submit_outputs", "state", "result", "reset", "read"}
    ),
    Family.IMAGER: frozenset({"read_tiles"}),
    Family.WATCHDOG: frozenset({"arm", "kick", "disarm", "read"}),
    Family.STORAGE: frozenset({"write", "read", "list", "delete", "status"}),
    Family.ATTITUDE: frozenset({"set_mode", "read"}),
}

#: Methods whose result is a timestamped reading (the reply carries the device's source).
READ_METHODS: Final[frozenset[str]] = frozenset({"read", "status", "read_tiles"})

#: Constant properties of each family, sent once in the WELCOME device list.
FAMILY_PROPERTIES: Final[Mapping[Family, tuple[str, ...]]] = {
    Family.GNSS: (),
    Family.IMU: ("range_rad_s",),
    Family.STAR_TRACKER: (),
    Family.SUN_SENSOR: (),
    Family.TEMPERATURE: ("channel_names",),
    Family.HEATER: ("rated_w",),
    Family.RADIATOR: ("emissivity_range",),
    Family.SOLAR_ARRAY: (),
    Family.BATTERY: (),
    Family.PDU: ("rail_names",),
    Family.THRUSTER: ("max_burn_s",),
    Family.LASER_TERMINAL: ("mtu_bytes",),
    Family.ACCELERATOR: ("modes", "kernels"),
    Family.IMAGER: ("tile_px",),
    Family.WATCHDOG: ("timeout_range_s",),
    Family.STORAGE: ("capacity_bytes",),
    Family.ATTITUDE: (
        "max_slew_rate_deg_s",
        "pointing_tolerance_deg",
        "wheel_momentum_limit_nms",
    ),
}

# ------------------------------------------------------------------------------ values
_RECORDS: Final[dict[str, type]] = {
    cls.__name__: cls
    for cls in (
        GnssReading,
        ImuReading,
        StarTrackerReading,
        SunSensorReading,
        TemperatureChannel,
        TemperatureReading,
        HeaterReading,
        RadiatorReading,
        SolarArrayReading,
        BatteryReading,
        RailStatus,
        PduReading,
        ThrusterReading,
        LaserReading,
        ModeSpec,
        JobResult,
        AcceleratorReading,
        ImageTiles,
        WatchdogReading,
        StorageReading,
        AttitudeReading,
    )
}
_RECORD_FIELDS: Final[dict[type, tuple[str, ...]]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _RECORDS.values()
}
_ENUMS: Final[dict[str, type[enum.Enum]]] = {
    cls.__name__: cls
    for cls in (
        Family,
        GnssFix,
        CellStatus,
        ThrusterStatus,
        PatState,
        PowerMode,
        AcceleratorStatus,
        JobState,
        ResetReason,
        AttitudeMode,
    )
}


def encode_value(value: Any) -> Any:
    """``value`` as CBOR-encodable data: HAL records and enums, tuples and NumPy arrays
    become their tags (see PROTOCOL.md, "Values"); other types must be CBOR-native.

    Raises RigProtocolError for a value the protocol cannot carry (a callable, an object)."""
    # Dispatch on the exact type first: every reading crosses the wire on every call, and a
    # dictionary lookup is several times cheaper than the chain of isinstance checks below.
    fast = _ENCODERS.get(type(value))
    if fast is not None:
        return fast(value)
    return _encode_slow(value)


def _encode_slow(value: Any) -> Any:
    if isinstance(value, enum.Enum):  # first: StrEnum/IntEnum members are str/int too
        cls = type(value)
        if _ENUMS.get(cls.__name__) is not cls:
            raise RigProtocolError(f"enum {cls.__name__} cannot cross the wire")
        return cbor2.CBORTag(TAG_ENUM, [cls.__name__, value.value])
    if value is None or isinstance(value, (bool, str, bytes, int, float)):
        return value
    if isinstance(value, tuple):
        return _encode_tuple(value)
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: encode_value(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, np.generic):
        return encode_value(value.item())
    raise RigProtocolError(f"a {type(value).__name__} cannot cross the wire")


def _identity(value: Any) -> Any:
    return value


def _encode_tuple(value: tuple[Any, ...]) -> cbor2.CBORTag:
    if len(value) > 1:
        first = type(value[0])
        items = _ITEM_ENCODERS.get(first)
        if items is not None and all(type(v) is first for v in value):
            return cbor2.CBORTag(TAG_TYPED_TUPLE, [first.__name__, items(value)])
    return cbor2.CBORTag(TAG_TUPLE, [encode_value(v) for v in value])


def _enum_items(value: tuple[Any, ...]) -> list[Any]:
    return [v.value for v in value]


def _record_items(cls: type) -> Callable[[tuple[Any, ...]], list[Any]]:
    fields = _RECORD_FIELDS[cls]
    get = operator.attrgetter(*fields)
    if len(fields) == 1:
        return lambda value: [[encode_value(get(v))] for v in value]
    return lambda value: [[encode_value(x) for x in get(v)] for v in value]


def _record_encoder(cls: type) -> Callable[[Any], cbor2.CBORTag]:
    name = cls.__name__
    fields = _RECORD_FIELDS[cls]
    get = operator.attrgetter(*fields)
    if len(fields) == 1:  # attrgetter of one name returns the value, not a tuple

        def encode_one(value: Any) -> cbor2.CBORTag:
            return cbor2.CBORTag(TAG_RECORD, [name, [encode_value(get(value))]])

        return encode_one

    def encode(value: Any) -> cbor2.CBORTag:
        return cbor2.CBORTag(TAG_RECORD, [name, [encode_value(v) for v in get(value)]])

    return encode


#: ``(enum name, value)`` -> member, for the decoder.
_ENUM_MEMBERS: Final[dict[tuple[str, Any], enum.Enum]] = {}
#: Encoder of each exactly-typed value (subclasses take the slow path).
_ENCODERS: Final[dict[type, Callable[[Any], Any]]] = {
    t: _identity for t in (type(None), bool, int, float, str, bytes)
}
_ENCODERS[tuple] = _encode_tuple
for _ecls in _ENUMS.values():
    # one table per enum: IntEnum members of different enums compare equal as ints
    _tags: dict[enum.Enum, cbor2.CBORTag] = {}
    for _member in _ecls:
        _tags[_member] = cbor2.CBORTag(TAG_ENUM, [_ecls.__name__, _member.value])
        _ENUM_MEMBERS[(_ecls.__name__, _member.value)] = _member
    _ENCODERS[_ecls] = _tags.__getitem__
#: Element encoders of the homogeneous tuples sent as :data:`TAG_TYPED_TUPLE`.
_ITEM_ENCODERS: Final[dict[type, Callable[[tuple[Any, ...]], list[Any]]]] = {
    e: _enum_items for e in _ENUMS.values()
}
for _rcls in _RECORDS.values():
    _ENCODERS[_rcls] = _record_encoder(_rcls)
    _ITEM_ENCODERS[_rcls] = _record_items(_rcls)
del _ecls, _tags, _member, _rcls


def _encode_array(a: np.ndarray) -> cbor2.CBORTag:
    if a.dtype == np.bool_:
        body = cbor2.CBORTag(_TAG_BOOL, np.ascontiguousarray(a, dtype=np.uint8).tobytes())
    else:
        tag = _TYPED_TAGS.get(a.dtype.name)
        if tag is None:
            raise RigProtocolError(f"arrays of {a.dtype} cannot cross the wire")
        body = cbor2.CBORTag(tag, np.ascontiguousarray(a, dtype=_TAG_DTYPES[tag]).tobytes())
    return cbor2.CBORTag(_TAG_NDARRAY, [list(a.shape), body])


class _Malformed(ValueError):
    """Raised inside the decoder for content the schema does not allow."""


def _tag_hook(first: Any, second: Any) -> Any:
    # cbor2 >= 6 calls hook(tag, immutable); earlier versions hook(decoder, tag). Inside a
    # tag cbor2 >= 6 decodes arrays as tuples and maps as frozendicts: accept both forms.
    tag = first if isinstance(first, cbor2.CBORTag) else second
    num, val = tag.tag, tag.value
    # the protocol's own tags first, cheapest checks first: this runs for every enum, tuple
    # and record of every reading
    if num == TAG_TUPLE:
        if type(val) is tuple:
            return val
        if not isinstance(val, list):
            raise _Malformed("tuple tag must wrap an array")
        return tuple(val)
    if num == TAG_ENUM:
        if not (isinstance(val, (list, tuple)) and len(val) == 2 and isinstance(val[0], str)):
            raise _Malformed("enum tag must wrap [name, value]")
        member = _ENUM_MEMBERS.get((val[0], val[1]))
        if member is None:
            if val[0] not in _ENUMS:
                raise _Malformed(f"unknown enum {val[0]!r}")
            raise _Malformed(f"{val[1]!r} is not a {val[0]}")
        return member
    if num == TAG_TYPED_TUPLE:
        return _decode_typed_tuple(val)
    if num == TAG_RECORD:
        if not (
            isinstance(val, (list, tuple))
            and len(val) == 2
            and isinstance(val[0], str)
            and isinstance(val[1], (list, tuple))
        ):
            raise _Malformed("record tag must wrap [name, [field values]]")
        rcls = _RECORDS.get(val[0])
        if rcls is None:
            raise _Malformed(f"unknown record type {val[0]!r}")
        if len(val[1]) != len(_RECORD_FIELDS[rcls]):
            raise _Malformed(f"fields of {val[0]} do not match its definition")
        rec = rcls(*val[1])
        if rcls is ImageTiles:
            rec.bands.flags.writeable = False  # image memory is read-only, as in sim
        return rec
    if num in _TAG_DTYPES or num == _TAG_BOOL:
        if not isinstance(val, bytes):
            raise _Malformed("typed array tag must wrap a byte string")
        return (num, val)
    if num == _TAG_NDARRAY:
        if not (
            isinstance(val, (list, tuple)) and len(val) == 2 and isinstance(val[0], (list, tuple))
        ):
            raise _Malformed("ndarray tag must wrap [shape, typed array]")
        shape, body = val
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise _Malformed("ndarray shape must be non-negative integers")
        if not (isinstance(body, tuple) and len(body) == 2):
            raise _Malformed("ndarray body must be a typed array")
        kind, raw = body
        dtype = np.dtype(np.uint8) if kind == _TAG_BOOL else _TAG_DTYPES[kind]
        count = math.prod(shape)
        if count * dtype.itemsize != len(raw):
            raise _Malformed("ndarray size does not match its shape")
        arr = np.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)
        if kind == _TAG_BOOL:
            return arr.astype(np.bool_)
        return arr.astype(dtype.newbyteorder("="), copy=False)
    raise _Malformed(f"unknown CBOR tag {num}")


def _decode_typed_tuple(val: Any) -> tuple[Any, ...]:
    if not (
        isinstance(val, (list, tuple))
        and len(val) == 2
        and isinstance(val[0], str)
        and isinstance(val[1], (list, tuple))
    ):
        raise _Malformed("typed tuple tag must wrap [type name, [items]]")
    name, items = val
    ecls = _ENUMS.get(name)
    if ecls is not None:
        out = []
        for v in items:
            member = _ENUM_MEMBERS.get((name, v))
            if member is None:
                raise _Malformed(f"{v!r} is not a {name}")
            out.append(member)
        return tuple(out)
    rcls = _RECORDS.get(name)
    if rcls is None:
        raise _Malformed(f"unknown enum or record type {name!r}")
    n = len(_RECORD_FIELDS[rcls])
    recs = []
    for fields in items:
        if not (isinstance(fields, (list, tuple)) and len(fields) == n):
            raise _Malformed(f"fields of {name} do not match its definition")
        rec = rcls(*fields)
        if rcls is ImageTiles:
            rec.bands.flags.writeable = False
        recs.append(rec)
    return tuple(recs)


def decode_value(data: bytes) -> Any:
    """Decode one CBOR item with the protocol's tags; RigProtocolError if malformed."""
    try:
        return cbor2.loads(data, tag_hook=_tag_hook, max_depth=64)
    except (_Malformed, cbor2.CBORDecodeError, TypeError, ValueError, RecursionError) as exc:
        raise RigProtocolError(f"malformed message: {exc}") from None


# ------------------------------------------------------------------------------ frames
def encode_frame(message: Mapping[str, Any]) -> bytes:
    """The length prefix and CBOR body of ``message`` (values already encoded)."""
    body = cbor2.dumps(message)
    return _LENGTH.pack(len(body)) + body


def decode_frame(body: bytes) -> dict[str, Any]:
    """Decode and check one message body; RigProtocolError if malformed."""
    msg = decode_value(body)
    return check_message(msg)


#: Fields every message of a type must have, with their types (beyond type/seq/ts).
_FIELDS: Final[dict[MessageType, dict[str, type | tuple[type, ...]]]] = {
    MessageType.HELLO: {"proto": int, "role": str, "clock": str, "client": str, "max_frame": int},
    MessageType.WELCOME: {
        "re": int,
        "proto": int,
        "clock": str,
        "rig": str,
        "seed": int,
        "t_ns": int,
        "plant_period_ns": int,
        "devices": list,
        "max_frame": int,
    },
    MessageType.REFUSE: {"re": int, "code": str, "reason": str, "proto": int},
    MessageType.CALL: {"calls": list},
    MessageType.ADVANCE: {"calls": list, "to_ns": int},
    MessageType.REPLY: {"re": int, "t_ns": int, "results": list, "status": dict},
    MessageType.ERROR: {"code": str, "reason": str},
    MessageType.BYE: {},
}


#: Message type by its text (a lookup cheaper than the enum's constructor).
_TYPES: Final[dict[str, MessageType]] = {m.value: m for m in MessageType}
#: (field, type) pairs checked on every message of a type.
_CHECKS: Final[dict[MessageType, tuple[tuple[str, type | tuple[type, ...]], ...]]] = {
    m: (("seq", int), ("ts", int), *fields.items()) for m, fields in _FIELDS.items()
}


def check_message(msg: Any) -> dict[str, Any]:
    """``msg`` if it is a well-formed message (a map with a known ``type``, ``seq`` >= 1,
    integer ``ts`` and the type's fields); RigProtocolError naming what is wrong otherwise."""
    if not isinstance(msg, dict):
        raise RigProtocolError("malformed message: not a map")
    text = msg.get("type")
    mtype = _TYPES.get(text) if isinstance(text, str) else None
    if mtype is None:
        raise RigProtocolError(f"malformed message: unknown type {msg.get('type')!r}")
    for key, tp in _CHECKS[mtype]:
        val = msg.get(key)
        if not isinstance(val, tp) or (tp is int and type(val) is bool):
            raise RigProtocolError(f"malformed {mtype.value}: field {key!r} missing or mistyped")
    if msg["seq"] < 1:
        raise RigProtocolError(f"malformed {mtype.value}: seq must be >= 1")
    if mtype in (MessageType.CALL, MessageType.ADVANCE):
        for call in msg["calls"]:
            if not (
                type(call) is list
                and len(call) == 4
                and type(call[0]) is str
                and type(call[1]) is str
                and type(call[2]) is list
                and type(call[3]) is dict
                and all(type(k) is str for k in call[3])
            ):
                raise RigProtocolError(
                    f"malformed {mtype.value}: a call must be [target, method, [args], {{kwargs}}]"
                )
    return msg


def error_entry(exc: BaseException) -> dict[str, str]:
    """The result entry of a call that raised ``exc``."""
    name = type(exc).__name__
    for cls_name, cls in ERROR_CLASSES.items():
        if isinstance(exc, cls):
            name = cls_name
            break
    else:
        name = "HalError"
    return {"err": name, "msg": str(exc)}


def raise_entry(entry: Mapping[str, Any]) -> None:
    """Raise the exception a result entry carries (typed by name)."""
    cls = ERROR_CLASSES.get(str(entry.get("err")), HalError)
    raise cls(str(entry.get("msg", "")))


# ------------------------------------------------------------------------------ stream
#: Initial size of a stream's receive buffer (bytes; grown for larger frames).
_RECV_BUFFER = 1 << 16
#: A receive deadline may be overshot by this much rather than re-arming the socket's
#: timeout (a system call) on every request (s).
_TIMEOUT_SLACK_S = 0.01
#: Kernel-level socket timeouts (SO_RCVTIMEO/SO_SNDTIMEO take a struct timeval here):
#: a blocking socket then needs one system call per receive instead of three (Python's
#: own timeouts re-set the descriptor's blocking mode and poll before every recv).
_KERNEL_TIMEOUTS = sys.platform.startswith("linux") or sys.platform == "darwin"
_TIMEVAL: Final = struct.Struct("@ll")


class Stream:
    """One side of a connection: sends and receives length-prefixed messages.

    ``seq`` numbers the messages this side sends (from 1); :meth:`recv` enforces
    ``max_frame`` (an oversized length is a RigProtocolError and the stream is unusable
    afterwards: its bytes cannot be trusted to be skipped) and the deadline (RigTimeoutError).

    Receiving goes through one preallocated buffer (``recv_into``, no per-message
    allocation but the body's copy). The socket's timeout is the one it had when the stream
    was made (None: block); a deadline shorter than that re-arms it (within
    ``_TIMEOUT_SLACK_S``), and one that the socket's timeout would cut short is honoured by
    receiving again, so no receive waits past its deadline by more than the slack.
    """

    def __init__(self, sock: socket.socket, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.sock = sock
        self.max_frame = max_frame
        self.seq = 0
        self.sent = 0
        self.received = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self._buf = bytearray(_RECV_BUFFER)
        self._view = memoryview(self._buf)
        self._start = 0  # first unread byte
        self._end = 0  # one past the last received byte
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._kernel = False
        self._armed: float | None = None  # the socket's receive timeout now (None: block)
        self._arm(sock.gettimeout(), send_too=True)

    def _arm(self, timeout_s: float | None, send_too: bool = False) -> None:
        """Set the socket's receive (and with ``send_too`` send) timeout."""
        if _KERNEL_TIMEOUTS:
            secs = 0.0 if timeout_s is None else max(timeout_s, 1e-6)  # 0: no timeout
            tv = _TIMEVAL.pack(int(secs), int((secs % 1.0) * 1e6))
            try:
                if not self._kernel:
                    self.sock.settimeout(None)  # blocking descriptor: the kernel times out
                    self._kernel = True
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
                if send_too:
                    self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
                self._armed = timeout_s
                return
            except OSError:
                if self._kernel:  # a closed socket: the next operation reports it
                    self._armed = timeout_s
                    return
        self.sock.settimeout(timeout_s)
        self._armed = timeout_s

    def next_seq(self) -> int:
        """The sequence number of the next message sent (increments)."""
        self.seq += 1
        return self.seq

    def send(self, message: dict[str, Any]) -> None:
        """Number (``seq``) and send ``message`` (length prefix and body in one system
        call). OSError if the link is down; DeviceCommandError, with nothing sent, if it would
        exceed the agreed ``max_frame`` (the peer would have to reject it and close the
        link)."""
        message["seq"] = self.seq + 1
        body = cbor2.dumps(message)
        n = len(body)
        if n > self.max_frame:
            raise DeviceCommandError(
                f"message of {n} bytes exceeds the link's limit of {self.max_frame} bytes"
            )
        self.seq += 1
        self.sock.sendall(_LENGTH.pack(n) + body)
        self.sent += 1
        self.bytes_sent += n + HEADER_LEN

    def send_raw(self, frame: bytes) -> None:
        """Send bytes as they are (tests of malformed input)."""
        self.sock.sendall(frame)

    def _fill(self, n: int, deadline: float | None) -> None:
        """Receive until ``n`` unread bytes are buffered."""
        if self._start + n > len(self._buf):  # make room: move the unread bytes to the front
            keep = self._end - self._start
            if n > len(self._buf):
                buf = bytearray(max(n, 2 * len(self._buf)))
                buf[:keep] = self._view[self._start : self._end]
                self._view.release()
                self._buf, self._view = buf, memoryview(buf)
            else:
                self._buf[:keep] = self._view[self._start : self._end]
            self._start, self._end = 0, keep
        while self._end - self._start < n:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RigTimeoutError("no answer within the call timeout")
                armed = self._armed
                if armed is None or armed > left + _TIMEOUT_SLACK_S:
                    self._arm(left)
            elif self._armed is not None:  # the rig's sessions block
                self._arm(None)
            try:
                got = self.sock.recv_into(self._view[self._end :])
            except (TimeoutError, BlockingIOError):
                if deadline is None or deadline - time.monotonic() <= 0:
                    raise RigTimeoutError("no answer within the call timeout") from None
                self._arm(deadline - time.monotonic())  # cut short by an older timeout
                continue
            if not got:
                raise ConnectionResetError("connection closed by peer")
            self._end += got
            self.bytes_received += got

    def recv_body(self, deadline: float | None) -> bytes:
        """The next message body (raw CBOR). RigProtocolError if oversized."""
        if self._end - self._start < HEADER_LEN:
            self._fill(HEADER_LEN, deadline)
        (length,) = _LENGTH.unpack_from(self._buf, self._start)
        if length > self.max_frame:
            raise RigProtocolError(f"oversized message: {length} bytes, limit {self.max_frame}")
        if self._end - self._start < HEADER_LEN + length:
            self._fill(HEADER_LEN + length, deadline)
        first = self._start + HEADER_LEN
        body = bytes(self._view[first : first + length])
        if first + length == self._end:  # the usual case: the buffer is empty again
            self._start = self._end = 0
        else:
            self._start = first + length
        self.received += 1
        return body

    def recv(self, deadline: float | None) -> dict[str, Any]:
        """The next message, checked (:func:`check_message`)."""
        return decode_frame(self.recv_body(deadline))

    def close(self) -> None:
        """Close the socket (idempotent)."""
        with contextlib.suppress(OSError):
            self.sock.close()


def now_ns() -> int:
    """The sender's monotonic clock (ns) for the ``ts`` field of client messages."""
    return time.monotonic_ns()


#: Signature of the per-call dispatcher a rig implements: (target, method, args, kwargs).
Dispatch = Callable[[str, str, list[Any], dict[str, Any]], Any]
