"""The HIL wire schema shared by the rig (:mod:`hil`) and the flight-side client (:mod:`hal.hil`).

Everything a peer needs to speak the protocol lives here: framing (a 4-byte big-endian
length, then one MessagePack-encoded map), the message types and their fields, the value codec
(HAL readings, enums, lists and NumPy arrays as MessagePack extension types), the per-family
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

import msgpack
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
    "EXT_ENUM",
    "EXT_LIST",
    "EXT_NDARRAY",
    "EXT_RECORD",
    "EXT_TYPED_TUPLE",
    "FAMILY_METHODS",
    "FAMILY_PROPERTIES",
    "HEADER_LEN",
    "MAX_ARRAY_ITEMS",
    "MAX_EXT_DEPTH",
    "MAX_MAP_PAIRS",
    "MIN_MAX_FRAME",
    "PROTOCOL_VERSION",
    "READ_METHODS",
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
    "legacy_version_hint",
    "raise_entry",
]

#: Version of the protocol this module speaks; a peer with another version is refused.
#: 3: MessagePack bodies, extension types for HAL values (2: CBOR with tags; 1: CBOR, HAL
#: records as maps by field name).
PROTOCOL_VERSION: Final = 3
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

#: MessagePack extension type of a HAL record; payload ``[type name, [field values in
#: declaration order]]``.
EXT_RECORD: Final = 1
#: Extension type of a HAL enum member; payload ``[enum name, value]``.
EXT_ENUM: Final = 2
#: Extension type of a list (a plain MessagePack array is a tuple); payload ``[items]``.
EXT_LIST: Final = 3
#: Extension type of a tuple of values of one HAL enum or record type (a battery's cell
#: states, a PDU's rails); payload ``[type name, [enum value or record field array, ...]]``:
#: one extension instead of one per element.
EXT_TYPED_TUPLE: Final = 4
#: Extension type of an N-dimensional NumPy array; payload ``[dtype name, [shape], bytes]``
#: (row-major, little endian).
EXT_NDARRAY: Final = 5
#: Most items in one array / pairs in one map a receiver accepts (larger numeric data travels
#: as :data:`EXT_NDARRAY`): MessagePack decoders allocate a container of the announced size
#: before reading its items, so these bound what a hostile peer can make the receiver
#: allocate (with msgpack's nesting limit of 1024 levels per payload).
MAX_ARRAY_ITEMS: Final = 4096
MAX_MAP_PAIRS: Final = 1024
#: Extension payloads nested in extension payloads at most this deep (a PDU reading holds a
#: typed tuple of rail records: 2; a job result a tuple of arrays: 2).
MAX_EXT_DEPTH: Final = 4
#: dtype of each NumPy array kind that crosses the wire, by its name on the wire.
_DTYPES: Final[dict[str, np.dtype[Any]]] = {
    name: np.dtype(name).newbyteorder("<")
    for name in (
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "int8",
        "int16",
        "int32",
        "int64",
        "float32",
        "float64",
    )
}
_DTYPES["bool"] = np.dtype(np.bool_)


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

    MALFORMED = (
        "malformed"  #: not MessagePack, not a map, unknown extension, field missing or mistyped
    )
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
    """``value`` as MessagePack-encodable data: HAL records and enums, lists and NumPy arrays
    become extension types, tuples plain arrays (see PROTOCOL.md, "Values"); other types
    must be MessagePack-native (None, bool, int, float, str, bytes, dict with text keys).

    Raises RigProtocolError for a value the protocol cannot carry (a callable, an object)."""
    # Dispatch on the exact type first: every reading crosses the wire on every call, and a
    # dictionary lookup is several times cheaper than the chain of isinstance checks below.
    fast = _ENCODERS.get(type(value))
    if fast is not None:
        return fast(value)
    return _encode_slow(value)


#: Types MessagePack carries as they are (exact types: subclasses go through the encoder).
_PLAIN: Final = frozenset({type(None), bool, int, float, str, bytes})
#: ``msgpack.ExtType`` is a named tuple whose constructor checks its arguments in Python;
#: the codes and payloads made here are valid by construction, so build it as a tuple.
_new_ext = tuple.__new__
_Ext = msgpack.ExtType


def _pack(obj: Any) -> bytes:
    """One extension payload (MessagePack bytes)."""
    try:
        out: bytes = msgpack.packb(obj)
    except (TypeError, ValueError, OverflowError) as exc:
        raise RigProtocolError(f"a value cannot cross the wire: {exc}") from None
    return out


def _encode_seq(values: Any) -> list[Any]:
    return [v if type(v) in _PLAIN else encode_value(v) for v in values]


def _encode_slow(value: Any) -> Any:
    if isinstance(value, enum.Enum):  # first: StrEnum/IntEnum members are str/int too
        cls = type(value)
        if _ENUMS.get(cls.__name__) is not cls:
            raise RigProtocolError(f"enum {cls.__name__} cannot cross the wire")
        return _new_ext(_Ext, (EXT_ENUM, _pack([cls.__name__, value.value])))
    # subclasses of the plain types travel as their base type
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, int):  # bool is an int subclass, but exactly typed: never here
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, tuple):
        return _encode_tuple(value)
    if isinstance(value, list):
        return _encode_list(value)
    if isinstance(value, dict):
        return _encode_dict(value)
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, np.generic):
        return encode_value(value.item())
    raise RigProtocolError(f"a {type(value).__name__} cannot cross the wire")


def _identity(value: Any) -> Any:
    return value


def _encode_tuple(value: tuple[Any, ...]) -> Any:
    if len(value) > 1:
        first = type(value[0])
        items = _ITEM_ENCODERS.get(first)
        if items is not None and all(type(v) is first for v in value):
            return _new_ext(_Ext, (EXT_TYPED_TUPLE, _pack([first.__name__, items(value)])))
    for v in value:
        if type(v) not in _PLAIN:
            return _encode_seq(value)
    return value  # the common case (a vector, a quaternion): packed as it is


def _encode_list(value: list[Any]) -> Any:
    return _new_ext(_Ext, (EXT_LIST, _pack(_encode_seq(value))))


def _encode_dict(value: dict[Any, Any]) -> dict[str, Any]:
    out = {}
    for k, v in value.items():
        if type(k) is not str:
            raise RigProtocolError(f"map keys must be text, got {type(k).__name__} {k!r}")
        out[k] = v if type(v) in _PLAIN else encode_value(v)
    return out


def _enum_items(value: tuple[Any, ...]) -> list[Any]:
    return [v.value for v in value]


def _record_items(cls: type) -> Callable[[tuple[Any, ...]], list[Any]]:
    fields = _RECORD_FIELDS[cls]
    get = operator.attrgetter(*fields)
    if len(fields) == 1:
        return lambda value: [_encode_seq((get(v),)) for v in value]
    return lambda value: [_encode_seq(get(v)) for v in value]


def _record_encoder(cls: type) -> Callable[[Any], Any]:
    fields = _RECORD_FIELDS[cls]
    get = operator.attrgetter(*fields)
    # the payload is [name, [fields]]: the array header and the name are the same every time
    prefix = b"\x92" + msgpack.packb(cls.__name__)
    packb = msgpack.packb
    if len(fields) == 1:  # attrgetter of one name returns the value, not a tuple

        def encode_one(value: Any) -> Any:
            try:
                body = packb(_encode_seq((get(value),)))
            except (TypeError, ValueError, OverflowError) as exc:
                raise RigProtocolError(f"a value cannot cross the wire: {exc}") from None
            return _new_ext(_Ext, (EXT_RECORD, prefix + body))

        return encode_one

    def encode(value: Any) -> Any:
        try:
            body = packb(_encode_seq(get(value)))
        except (TypeError, ValueError, OverflowError) as exc:
            raise RigProtocolError(f"a value cannot cross the wire: {exc}") from None
        return _new_ext(_Ext, (EXT_RECORD, prefix + body))

    return encode


#: ``(enum name, value)`` -> member, for the decoder.
_ENUM_MEMBERS: Final[dict[tuple[str, Any], enum.Enum]] = {}
#: An enum member's extension payload as this module writes it (canonical MessagePack) ->
#: the member: one dictionary lookup decodes a member.
_ENUM_BY_PAYLOAD: Final[dict[bytes, enum.Enum]] = {}
#: Encoder of each exactly-typed value (subclasses take the slow path).
_ENCODERS: Final[dict[type, Callable[[Any], Any]]] = {t: _identity for t in _PLAIN}
_ENCODERS[tuple] = _encode_tuple
_ENCODERS[list] = _encode_list
_ENCODERS[dict] = _encode_dict
for _ecls in _ENUMS.values():
    # one table per enum: IntEnum members of different enums compare equal as ints
    _exts: dict[enum.Enum, Any] = {}
    for _member in _ecls:
        _payload = msgpack.packb([_ecls.__name__, _member.value])
        _exts[_member] = _Ext(EXT_ENUM, _payload)
        _ENUM_MEMBERS[(_ecls.__name__, _member.value)] = _member
        _ENUM_BY_PAYLOAD[_payload] = _member
    _ENCODERS[_ecls] = _exts.__getitem__
#: Element encoders of the homogeneous tuples sent as :data:`EXT_TYPED_TUPLE`.
_ITEM_ENCODERS: Final[dict[type, Callable[[tuple[Any, ...]], list[Any]]]] = {
    e: _enum_items for e in _ENUMS.values()
}
for _rcls in _RECORDS.values():
    _ENCODERS[_rcls] = _record_encoder(_rcls)
    _ITEM_ENCODERS[_rcls] = _record_items(_rcls)
del _ecls, _exts, _member, _payload, _rcls


def _encode_array(a: np.ndarray) -> Any:
    name = "bool" if a.dtype == np.bool_ else a.dtype.name
    dtype = _DTYPES.get(name)
    if dtype is None:
        raise RigProtocolError(f"arrays of {a.dtype} cannot cross the wire")
    raw = np.ascontiguousarray(a, dtype=dtype).tobytes()
    return _new_ext(_Ext, (EXT_NDARRAY, _pack([name, list(a.shape), raw])))


class _Malformed(ValueError):
    """Raised inside the decoder for content the schema does not allow."""


def _unpack(data: Any, ext_hook: Callable[[int, bytes], Any]) -> Any:
    """One MessagePack item with the receiver's limits (see :data:`MAX_ARRAY_ITEMS`): arrays
    as tuples, text as str, map keys text only, every extension through ``ext_hook``.

    msgpack's one-shot decoder bounds every string, byte string and extension by the input's
    length and every announced array by the length and maps by half of it; a short input
    (every per-call message) is therefore already within the caps, and only a longer one
    needs them passed (each keyword argument costs on every message)."""
    n = len(data)
    if n <= _SMALL_INPUT:
        return msgpack.unpackb(data, use_list=False, ext_hook=ext_hook, timestamp=2)
    return msgpack.unpackb(
        data,
        use_list=False,
        raw=False,
        strict_map_key=True,
        ext_hook=ext_hook,
        timestamp=2,  # the msgpack timestamp (ext -1) is not used: read as integer ns
        max_str_len=n,
        max_bin_len=n,
        max_ext_len=n,
        max_array_len=min(n, MAX_ARRAY_ITEMS),
        max_map_len=min(n // 2, MAX_MAP_PAIRS),
    )


#: Inputs up to this many bytes are within every cap with msgpack's own length-based limits
#: (its defaults since 1.0; raw=False and strict_map_key=True are its defaults too).
_SMALL_INPUT: Final = min(MAX_ARRAY_ITEMS, 2 * MAX_MAP_PAIRS)


def _ext_hook(depth: int) -> Callable[[int, bytes], Any]:
    """The extension decoder for payloads nested ``depth`` deep (one per depth, so that the
    nesting bound needs no shared state between threads)."""

    def hook(code: int, data: bytes) -> Any:
        if code == EXT_ENUM:  # the most frequent: one lookup for canonical payloads
            member = _ENUM_BY_PAYLOAD.get(data)
            if member is not None:
                return member
        if depth >= MAX_EXT_DEPTH:
            raise _Malformed(f"extension values nested deeper than {MAX_EXT_DEPTH}")
        decode = _EXT_DECODERS.get(code)
        if decode is None:
            raise _Malformed(f"unknown extension type {code}")
        return decode(_unpack(data, _HOOKS[depth + 1]))

    return hook


def _name_and_items(what: str, val: Any) -> tuple[str, tuple[Any, ...]]:
    if not (type(val) is tuple and len(val) == 2 and type(val[0]) is str and type(val[1]) is tuple):
        raise _Malformed(f"{what} must hold [name, [items]]")
    return val[0], val[1]


def _decode_record(val: Any) -> Any:
    name, fields = _name_and_items("record", val)
    rcls = _RECORDS.get(name)
    if rcls is None:
        raise _Malformed(f"unknown record type {name!r}")
    if len(fields) != len(_RECORD_FIELDS[rcls]):
        raise _Malformed(f"fields of {name} do not match its definition")
    rec = rcls(*fields)
    if rcls is ImageTiles:
        rec.bands.flags.writeable = False  # image memory is read-only, as in sim
    return rec


def _decode_enum(val: Any) -> enum.Enum:
    # a payload that is not byte-for-byte canonical (another encoder's integer widths)
    if not (type(val) is tuple and len(val) == 2 and type(val[0]) is str):
        raise _Malformed("enum must hold [name, value]")
    try:
        member = _ENUM_MEMBERS.get((val[0], val[1]))
    except TypeError:  # an unhashable value
        member = None
    if member is None:
        if val[0] not in _ENUMS:
            raise _Malformed(f"unknown enum {val[0]!r}")
        raise _Malformed(f"{val[1]!r} is not a {val[0]}")
    return member


def _decode_list(val: Any) -> list[Any]:
    if type(val) is not tuple:
        raise _Malformed("list must hold an array")
    return list(val)


def _decode_typed_tuple(val: Any) -> tuple[Any, ...]:
    name, items = _name_and_items("typed tuple", val)
    ecls = _ENUMS.get(name)
    if ecls is not None:
        out = []
        for v in items:
            try:
                member = _ENUM_MEMBERS.get((name, v))
            except TypeError:
                member = None
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
        if not (type(fields) is tuple and len(fields) == n):
            raise _Malformed(f"fields of {name} do not match its definition")
        rec = rcls(*fields)
        if rcls is ImageTiles:
            rec.bands.flags.writeable = False
        recs.append(rec)
    return tuple(recs)


def _decode_ndarray(val: Any) -> np.ndarray:
    if not (
        type(val) is tuple
        and len(val) == 3
        and type(val[0]) is str
        and type(val[1]) is tuple
        and type(val[2]) is bytes
    ):
        raise _Malformed("ndarray must hold [dtype, [shape], bytes]")
    name, shape, raw = val
    dtype = _DTYPES.get(name)
    if dtype is None:
        raise _Malformed(f"unknown array dtype {name!r}")
    if not all(type(n) is int and n >= 0 for n in shape):
        raise _Malformed("ndarray shape must be non-negative integers")
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise _Malformed("ndarray size does not match its shape")
    arr = np.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=False)


_EXT_DECODERS: Final[dict[int, Callable[[Any], Any]]] = {
    EXT_RECORD: _decode_record,
    EXT_ENUM: _decode_enum,
    EXT_LIST: _decode_list,
    EXT_TYPED_TUPLE: _decode_typed_tuple,
    EXT_NDARRAY: _decode_ndarray,
}
_HOOKS: Final = tuple(_ext_hook(d) for d in range(MAX_EXT_DEPTH + 1))
#: What the decoder raises for bytes that are not a valid message (msgpack's own errors are
#: ValueError subclasses: ExtraData, FormatError, StackError, limits exceeded, bad UTF-8).
_DECODE_ERRORS: Final = (
    ValueError,
    TypeError,
    OverflowError,
    RecursionError,
    msgpack.UnpackException,
)


def decode_value(data: bytes) -> Any:
    """Decode one MessagePack item with the protocol's extension types; RigProtocolError if
    malformed."""
    try:
        return _unpack(data, _HOOKS[0])
    except _DECODE_ERRORS as exc:
        raise RigProtocolError(f"malformed message: {exc or type(exc).__name__}") from None


# ------------------------------------------------------------------------------ frames
def encode_frame(message: Mapping[str, Any]) -> bytes:
    """The length prefix and MessagePack body of ``message`` (values already encoded)."""
    body = _pack(message)
    return _LENGTH.pack(len(body)) + body


def decode_frame(body: bytes) -> dict[str, Any]:
    """Decode and check one message body; RigProtocolError if malformed."""
    msg = decode_value(body)
    return check_message(msg)


#: A MessagePack array as decoded (a tuple) or as built by a sender (a list).
_ARRAY: Final = (tuple, list)
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
        "devices": _ARRAY,
        "max_frame": int,
    },
    MessageType.REFUSE: {"re": int, "code": str, "reason": str, "proto": int},
    MessageType.CALL: {"calls": _ARRAY},
    MessageType.ADVANCE: {"calls": _ARRAY, "to_ns": int},
    MessageType.REPLY: {"re": int, "t_ns": int, "results": _ARRAY, "status": dict},
    MessageType.ERROR: {"code": str, "reason": str},
    MessageType.BYE: {},
}


#: Message type by its text (a lookup cheaper than the enum's constructor).
_TYPES: Final[dict[str, MessageType]] = {m.value: m for m in MessageType}
#: (field, exact types) pairs checked on every message of a type (a decoded message holds
#: exact types only: bool is not an int here).
_CHECKS: Final[dict[MessageType, tuple[tuple[str, frozenset[type]], ...]]] = {
    m: tuple(
        (key, frozenset(tp) if isinstance(tp, tuple) else frozenset({tp}))
        for key, tp in (("seq", int), ("ts", int), *fields.items())
    )
    for m, fields in _FIELDS.items()
}
_CALLS: Final = (MessageType.CALL, MessageType.ADVANCE)


def check_message(msg: Any) -> dict[str, Any]:
    """``msg`` if it is a well-formed message (a map with a known ``type``, ``seq`` >= 1,
    integer ``ts`` and the type's fields); RigProtocolError naming what is wrong otherwise."""
    if type(msg) is not dict:
        raise RigProtocolError("malformed message: not a map")
    text = msg.get("type")
    mtype = _TYPES.get(text) if type(text) is str else None
    if mtype is None:
        raise RigProtocolError(f"malformed message: unknown type {msg.get('type')!r}")
    for key, types in _CHECKS[mtype]:
        if type(msg.get(key)) not in types:
            raise RigProtocolError(f"malformed {mtype.value}: field {key!r} missing or mistyped")
    if msg["seq"] < 1:
        raise RigProtocolError(f"malformed {mtype.value}: seq must be >= 1")
    if mtype in _CALLS:
        for call in msg["calls"]:
            if not (
                type(call) in _ARRAY
                and len(call) == 4
                and type(call[0]) is str
                and type(call[1]) is str
                and type(call[2]) in _ARRAY
                and type(call[3]) is dict
                and (not call[3] or all(type(k) is str for k in call[3]))
            ):
                raise RigProtocolError(
                    f"malformed {mtype.value}: a call must be [target, method, [args], {{kwargs}}]"
                )
    return msg


def legacy_version_hint(body: bytes) -> str | None:
    """Why ``body`` cannot be a message of this version, when it is most likely a message of
    protocol version 1 or 2 (a CBOR map: first byte 0xA0-0xBF, which in MessagePack starts a
    short string, never a valid message); None otherwise. Lets both sides of a handshake
    between versions 2 and 3 say so instead of reporting a malformed message."""
    if body and 0xA0 <= body[0] <= 0xBF:
        return (
            "the peer speaks protocol version 1 or 2 (CBOR bodies); this side speaks "
            f"version {PROTOCOL_VERSION} (MessagePack bodies): run the same satnode version "
            "on both sides"
        )
    return None


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
#: Receive flag for one non-blocking attempt on a blocking socket (0 where the platform has
#: none: receives then only block).
_DONTWAIT: Final = getattr(socket, "MSG_DONTWAIT", 0)
#: How long a receive busy-polls before it blocks (s): see :meth:`Stream._poll`.
DEFAULT_BUSY_POLL_S: Final = 100e-6

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
        #: how long a receive polls before it blocks (s; 0: never polls)
        self.busy_poll_s = DEFAULT_BUSY_POLL_S
        self.seq = 0
        self.sent = 0
        self.received = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self._pack = msgpack.Packer().pack  # one per stream: a Packer is not shared
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
        try:
            body = self._pack(message)
        except (TypeError, ValueError, OverflowError) as exc:  # e.g. an int over 64 bits
            raise DeviceCommandError(f"message cannot be encoded: {exc}") from None
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
                got = self._poll() if _DONTWAIT else None
                if got is None:
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

    def _poll(self) -> int | None:
        """Busy-poll for up to :attr:`busy_poll_s` before a blocking receive: the bytes
        received, or None when nothing came. An answer usually comes within tens of
        microseconds, and a process (or a virtual CPU) put to sleep takes about as long again
        to wake: measured here, a loopback round trip of 53 us blocking, 5.7 us polling."""
        if self.busy_poll_s <= 0.0:
            return None
        view = self._view[self._end :]
        t_end = time.perf_counter() + self.busy_poll_s
        while True:
            try:
                return self.sock.recv_into(view, 0, _DONTWAIT)
            except BlockingIOError:
                if time.perf_counter() >= t_end:
                    return None

    def recv_body(self, deadline: float | None) -> bytes:
        """The next message body (raw MessagePack). RigProtocolError if oversized."""
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
