"""Onboard deployment: signed A/B images, the boot record, boot selection and the health gate.

- :mod:`flight.boot._image`: the image container, its Ed25519-signed manifest, verification
  (:func:`verify_image`, every refusal an :class:`ImageError` with a :class:`Refusal`);
- :mod:`flight.boot._record`: the boot record in NV storage (:class:`BootRecord`);
- :mod:`flight.boot._store`: install, select (U-Boot counting: tries only while an upgrade
  is pending; fallback to the last good slot, then ``factory``), mark-good, rollback;
- :mod:`flight.boot._target`: a target's layout (``target.json``) and :func:`open_target`;
- :mod:`flight.boot._launch`: the selector loop (:func:`boot_target`) and
  :mod:`flight.boot._stack`, the stack run from a slot's own code;
- the ``boot`` application (``[boot]``, component id 27): the health gate (FDIR NOMINAL for
  ``health_gate_s``, telemetry flowing, no unexpected reset) that marks the running slot
  good, the ``boot.rollback`` telecommand, and boot-record telemetry.
"""

from flight.boot._app import BootApp, install
from flight.boot._component import SLOT_CODES, BootComponent, GateState
from flight.boot._config import Config, parse_config
from flight.boot._image import (
    IMAGE_MAGIC,
    MANIFEST_SCHEMA,
    SIGNING_CONTEXT,
    FileEntry,
    Image,
    ImageError,
    Refusal,
    TrustPolicy,
    canonical_json,
    key_id,
    pack_image,
    parse_container,
    verify_image,
)
from flight.boot._launch import BootOutcome, boot_target, prepare_slot, verify_site
from flight.boot._record import (
    MAX_TRIES,
    RECORD_BLOB,
    SLOTS,
    BootRecord,
    HistoryEntry,
    RecordError,
    SlotInfo,
    SlotState,
    decode_record,
    encode_record,
)
from flight.boot._stack import EXIT_REBOOT, load_stack_config
from flight.boot._stack import main as run_stack
from flight.boot._store import (
    POLICY_BLOB,
    TRUST_PREFIX,
    BootChoice,
    BootStore,
    InstallError,
    InstallResult,
    slot_blob,
)
from flight.boot._target import (
    RUNTIME_DISTS,
    TARGET_FILE,
    Target,
    default_target_doc,
    open_target,
    runtime_fingerprint,
)

__all__ = [
    "EXIT_REBOOT",
    "IMAGE_MAGIC",
    "MANIFEST_SCHEMA",
    "MAX_TRIES",
    "POLICY_BLOB",
    "RECORD_BLOB",
    "RUNTIME_DISTS",
    "SIGNING_CONTEXT",
    "SLOTS",
    "SLOT_CODES",
    "TARGET_FILE",
    "TRUST_PREFIX",
    "BootApp",
    "BootChoice",
    "BootComponent",
    "BootOutcome",
    "BootRecord",
    "BootStore",
    "Config",
    "FileEntry",
    "GateState",
    "HistoryEntry",
    "Image",
    "ImageError",
    "InstallError",
    "InstallResult",
    "RecordError",
    "Refusal",
    "SlotInfo",
    "SlotState",
    "Target",
    "TrustPolicy",
    "boot_target",
    "canonical_json",
    "decode_record",
    "default_target_doc",
    "encode_record",
    "install",
    "key_id",
    "load_stack_config",
    "open_target",
    "pack_image",
    "parse_config",
    "parse_container",
    "prepare_slot",
    "run_stack",
    "runtime_fingerprint",
    "slot_blob",
    "verify_image",
    "verify_site",
]
