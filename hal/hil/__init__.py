"""The ``hil`` HAL backend: the flight side of hardware-in-the-loop, and the wire schema.

The backend (:class:`HilBackend`, opened through the registry as ``hil`` from configuration:
``[hal] backend = "hil"``, ``rig = "HOST:PORT"``) forwards every device call to a rig
(:mod:`hil`) over the protocol specified in ``hal/hil/PROTOCOL.md``. The wire schema both sides
share (framing, messages, value codec, per-family method tables, errors) is exported here too,
so that the rig imports it from one place.
"""

from hal.hil._backend import HilBackend, LockstepHilBackend, open_hil_backend
from hal.hil._devices import DEVICE_CLASSES, HilDevice
from hal.hil._link import LinkStats, RigLink, parse_rig_address
from hal.hil._wire import (
    BACKEND_TARGET,
    CONTROL_TARGET,
    DEFAULT_MAX_FRAME,
    ERROR_CLASSES,
    FAMILY_METHODS,
    FAMILY_PROPERTIES,
    HEADER_LEN,
    MIN_MAX_FRAME,
    PROTOCOL_VERSION,
    READ_METHODS,
    TAG_ENUM,
    TAG_RECORD,
    TAG_TUPLE,
    TAG_TYPED_TUPLE,
    ClockMode,
    ErrorCode,
    MessageType,
    RigProtocolError,
    RigRefusedError,
    RigTimeoutError,
    Role,
    Stream,
    check_message,
    decode_frame,
    decode_value,
    encode_frame,
    encode_value,
    error_entry,
    raise_entry,
)

__all__ = [
    "BACKEND_TARGET",
    "CONTROL_TARGET",
    "DEFAULT_MAX_FRAME",
    "DEVICE_CLASSES",
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
    "HilBackend",
    "HilDevice",
    "LinkStats",
    "LockstepHilBackend",
    "MessageType",
    "RigLink",
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
    "open_hil_backend",
    "parse_rig_address",
    "raise_entry",
]
