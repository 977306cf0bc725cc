"""The ``filexfer`` application: CFDP PDUs over PUS service 23, images into the inactive slot.

Wire: ``TC[23,128]`` carries one CFDP PDU from the ground (inside the authenticated TC
frames, like every TC); ``TM[23,129]`` carries one CFDP PDU to the ground (ACK, NAK,
Finished). Both data fields are ``u16 length | PDU`` (:func:`wrap_pdu`), so that the ground
dictionary describes them like any other packet. Acceptance decodes and checks the PDU without side effects (a bad CRC, a PDU for
another entity or of an unknown transaction is rejected with TM[1,2]); execution hands it to
the :class:`~flight.filexfer._receiver.Receiver`, whose answers go out as TM[23,129].

A complete file whose CRC-32 matches is delivered to the boot store's installer
(:meth:`flight.boot.BootStore.install`): signatures, hashes, model, expiry against onboard
time and the anti-rollback floor are verified, the image is written into the inactive slot,
read back and verified again, and only then armed. Refusals are Finished PDUs with
``FILESTORE_REJECTION`` and an event with the one-line reason.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Final

from flight.boot import BootStore
from flight.core import (
    NS_PER_S,
    CommandError,
    Component,
    Declaration,
    EventDef,
    FailureCode,
    FieldType,
    InstallContext,
    Severity,
    TlmField,
)
from flight.filexfer._config import Config
from flight.filexfer._receiver import PduError, Receiver
from hal.platform import Storage
from native.errors import SatnodeError

__all__ = [
    "PDU_TC_SUBTYPE",
    "PDU_TM_SUBTYPE",
    "SERVICE",
    "FileXferApp",
    "FileXferComponent",
    "PduService",
    "install",
    "unwrap_pdu",
    "wrap_pdu",
]

#: PUS service of file transfer (23, "file management"), and our private subtypes for CFDP.
SERVICE: Final = 23
PDU_TC_SUBTYPE: Final = 128
PDU_TM_SUBTYPE: Final = 129


_LEN: Final = struct.Struct(">H")


def wrap_pdu(pdu: bytes) -> bytes:
    """The data field of a TC[23,128]/TM[23,129] carrying ``pdu``: ``u16 length | pdu``."""
    if not 0 < len(pdu) <= 0xFFFF:
        raise ValueError(f"a CFDP PDU of {len(pdu)} octets does not fit")
    return _LEN.pack(len(pdu)) + pdu


def unwrap_pdu(data: bytes) -> bytes:
    """The PDU in a TC[23,128]/TM[23,129] data field (ValueError if the length is wrong)."""
    if len(data) < _LEN.size or _LEN.unpack_from(data)[0] != len(data) - _LEN.size:
        raise ValueError(f"{len(data)} octets are not u16 length | PDU")
    return bytes(data[_LEN.size :])


class FileXferComponent(Component):
    """Housekeeping and events of the CFDP entity (component ``filexfer``)."""

    DECLARATION = Declaration(
        telemetry=(
            TlmField("pdus", FieldType.U32, "", "CFDP PDUs handled"),
            TlmField("octets", FieldType.U32, "B", "file data octets stored"),
            TlmField("duplicates", FieldType.U32, "", "segments already held, not stored"),
            TlmField("received", FieldType.U32, "B", "octets held of the current file"),
            TlmField("missing", FieldType.U32, "B", "octets still missing of the current file"),
            TlmField("installed", FieldType.U32, "", "files installed into a slot"),
        ),
        events=(
            EventDef(1, "opened", Severity.INFO, "transfer: {text}"),
            EventDef(2, "installed", Severity.INFO, "transfer installed: {text}"),
            EventDef(3, "refused", Severity.MEDIUM, "transfer refused: {text}"),
            EventDef(4, "staging", Severity.HIGH, "staging storage: {text}"),
        ),
    )

    def __init__(self, component_id: int) -> None:
        super().__init__("filexfer", component_id)
        self.receiver: Receiver | None = None
        self.installed = 0

    def on_event(self, kind: str, text: str) -> None:
        """The receiver's progress, as events."""
        name = {"opened": "opened", "finished": "installed", "refused": "refused"}.get(kind)
        if name == "installed":
            self.installed += 1
        if name is not None:
            self.emit(name, text=text[:200])
        elif kind == "error":
            self.emit("staging", text=text[:200])

    def step(self, t_ns: int) -> None:
        """Refresh housekeeping from the receiver."""
        r = self.receiver
        if r is None:
            return
        hk = self.hk
        hk.pdus, hk.octets, hk.duplicates = r.pdus, r.octets, r.duplicates
        hk.received = r.received_octets
        hk.missing = sum(b - a for a, b in r.missing())
        hk.installed = self.installed


class PduService:
    """PUS service 23 handler: TC[23,128] in, TM[23,129] out."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def check(self, subtype: int, data: bytes) -> None:
        """Accept a TC[23,128] whose PDU decodes and belongs here (no side effects)."""
        if subtype != PDU_TC_SUBTYPE:
            raise CommandError(
                f"service 23 has no TC subtype {subtype}", FailureCode.ILLEGAL_SUBTYPE
            )
        try:
            self.receiver.decode(unwrap_pdu(bytes(data)))
        except ValueError as exc:
            raise CommandError(f"TC[23,128]: {exc}", FailureCode.INVALID_LENGTH) from None
        except PduError as exc:
            raise CommandError(f"CFDP: {exc}", FailureCode.ILLEGAL_ARGUMENT) from None

    def execute(
        self, subtype: int, data: bytes, send_tm: Callable[[int, int, bytes], bytes]
    ) -> None:
        """Hand the PDU to the receiver; send its answers as TM[23,129]."""
        try:
            answers = self.receiver.handle(unwrap_pdu(bytes(data)))
        except (PduError, SatnodeError) as exc:
            raise CommandError(f"CFDP: {exc}", FailureCode.EXECUTION_FAILED) from None
        for pdu in answers:
            send_tm(SERVICE, PDU_TM_SUBTYPE, wrap_pdu(pdu))

    def describe(self) -> dict[str, object]:
        """The service's subtypes and layouts for the ground dictionary."""
        layout: list[dict[str, object]] = [
            {"name": "length", "type": "u16", "unit": "B", "min": 1, "doc": "PDU octets"},
            {"name": "pdu", "type": "bytes", "length": "length",
             "doc": "one CCSDS CFDP PDU (727.0-B-5), CRC included"},
        ]  # fmt: skip
        return {
            "service": SERVICE,
            "name": "file transfer (CFDP)",
            "tc": [{"subtype": PDU_TC_SUBTYPE, "name": "cfdp_pdu", "layout": layout}],
            "tm": [{"subtype": PDU_TM_SUBTYPE, "name": "cfdp_pdu_report", "layout": layout}],
        }


class FileXferApp:
    """The installed application: its component and receiver."""

    def __init__(self, component: FileXferComponent, receiver: Receiver) -> None:
        self.component = component
        self.receiver = receiver

    def summary(self) -> dict[str, Any]:
        """The ``filexfer`` section of summary.json."""
        r = self.receiver
        o = r.outcome
        return {
            "transaction": list(r.transaction) if r.transaction else None,
            "received_octets": r.received_octets,
            "installed": self.component.installed,
            "outcome": None if o is None else {"condition": o.condition, "note": o.note},
        }


def install(ctx: InstallContext, cfg: Config) -> FileXferApp:
    """Add the ``filexfer`` component and PUS service 23 on the configured storages."""
    staging = ctx.device("staging", cfg.staging, Storage)
    nv = ctx.device("nv", cfg.nv, Storage)
    slots = ctx.device("slots", cfg.slots, Storage)
    store = BootStore(nv, slots, model=cfg.model)
    clock = ctx.clock

    def deliver(data: bytes) -> str:
        now = cfg.utc_at_zero_s + clock.now_ns() / NS_PER_S
        res = store.install(data, now_utc_s=now)
        return f"slot {res.slot} v{res.version} armed, {res.tries} tries"

    component = FileXferComponent(ctx.component_id("filexfer"))
    receiver = Receiver(
        staging,
        entity_id=cfg.entity_id,
        max_file_bytes=cfg.max_file_bytes,
        deliver=deliver,
        on_event=component.on_event,
    )
    component.receiver = receiver
    ctx.register_service(SERVICE, PduService(receiver))
    ctx.add(component, 1.0)
    return FileXferApp(component, receiver)
