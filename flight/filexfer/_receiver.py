"""The onboard CFDP receiving entity: class 2 (acknowledged), state and segments in NV storage.

PDUs are encoded and decoded by the CCSDS CFDP codec of ``spacepackets``, the PDU layer of
``cfdp-py``. The state machine is ours because it must run on onboard time and keep its state
in NV storage: cfdp-py's handlers run on the wall clock and keep it in memory.

Persistence (every write atomic through the storage layer, so a cut at any point leaves a
consistent state): the transaction's metadata is the blob :data:`STATE_BLOB`; every received
segment is its own blob ``fx-<offset>-<length>``, written before it counts as received. The
received ranges are therefore exactly the segment blobs present, after a pass end or a reset.

Procedure (CCSDS 727.0-B-5, acknowledged mode): Metadata opens a transaction; File Data
segments are stored; EOF is acknowledged, then a NAK lists the missing ranges (or, if none,
the file is finished); a Prompt (NAK), sent by the ground at the start of a pass, is answered
with the NAK of what is still missing, so a transfer resumes without resending what arrived.
Finishing: the segments are assembled, the CRC-32 in EOF is checked, and only a complete file
with the right checksum is handed to ``deliver`` (the image installer). A wrong checksum
discards the staged file. Finished PDUs say which; the ground acknowledges them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from spacepackets.cfdp import (
    ChecksumType,
    ConditionCode,
    CrcFlag,
    DeliveryCode,
    Direction,
    DirectiveType,
    FileStatus,
    TransmissionMode,
)
from spacepackets.cfdp.pdu import (
    AckPdu,
    EofPdu,
    FileDataPdu,
    FinishedParams,
    FinishedPdu,
    MetadataPdu,
    NakPdu,
    PduConfig,
    PduFactory,
    PromptPdu,
    TransactionStatus,
)
from spacepackets.util import UnsignedByteField

from hal.platform import Storage
from native.errors import HalError, SatnodeError

__all__ = ["SEGMENT_PREFIX", "STATE_BLOB", "Outcome", "PduError", "Receiver", "missing_ranges"]

STATE_BLOB: Final = "fx-state"
SEGMENT_PREFIX: Final = "fx-"


class PduError(SatnodeError):
    """A PDU this entity refuses (undecodable, bad CRC, not for it, unsupported)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a transaction ended: the Finished PDU's codes and a one-line note."""

    condition: int
    delivery: int
    file_status: int
    note: str


def missing_ranges(size: int, have: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ``[start, end)`` byte ranges of ``[0, size)`` not covered by ``have`` (offset,
    length) segments, in order."""
    out: list[tuple[int, int]] = []
    at = 0
    for off, ln in sorted(have):
        if off > at:
            out.append((at, min(off, size)))
        at = max(at, off + ln)
        if at >= size:
            break
    if at < size:
        out.append((at, size))
    return [(a, b) for a, b in out if b > a]


def _seg_name(offset: int, length: int) -> str:
    return f"{SEGMENT_PREFIX}{offset:012d}-{length:06d}"


def _parse_seg(name: str) -> tuple[int, int] | None:
    body = name[len(SEGMENT_PREFIX) :]
    parts = body.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


class Receiver:
    """One CFDP receiving entity on NV storage ``store`` (module docstring).

    ``deliver(data) -> note`` installs a complete, verified file; it raises
    :class:`SatnodeError` (one line) to refuse it. ``on_event(kind, text)`` reports progress.
    """

    def __init__(
        self,
        store: Storage,
        *,
        entity_id: int,
        max_file_bytes: int,
        deliver: Callable[[bytes], str],
        on_event: Callable[[str, str], None] | None = None,
    ) -> None:
        self.store = store
        self.entity_id = entity_id
        self.max_file_bytes = max_file_bytes
        self.deliver = deliver
        self.say = on_event or (lambda _k, _t: None)
        self.state: dict[str, Any] | None = None
        self.segments: list[tuple[int, int]] = []
        #: counters (housekeeping): PDUs handled, file data octets stored, duplicates
        self.pdus = 0
        self.octets = 0
        self.duplicates = 0
        self._load()

    # -- persistence ----------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            names = self.store.list()
            self.state = json.loads(self.store.read(STATE_BLOB)) if STATE_BLOB in names else None
        except (HalError, ValueError) as exc:
            self.say("error", f"staging state unreadable ({exc}); starting empty")
            self.state = None
            names = ()
        segs = [_parse_seg(n) for n in names if n.startswith(SEGMENT_PREFIX) and n != STATE_BLOB]
        self.segments = sorted(s for s in segs if s is not None)

    def _save(self) -> None:
        self.store.write(STATE_BLOB, json.dumps(self.state, sort_keys=True).encode())

    def _clear_segments(self) -> None:
        for off, ln in self.segments:
            self.store.delete(_seg_name(off, ln))
        self.segments = []

    # -- queries --------------------------------------------------------------------------------
    @property
    def transaction(self) -> tuple[int, int] | None:
        """(source entity id, sequence number) of the open or last transaction."""
        if self.state is None:
            return None
        return int(self.state["src"]), int(self.state["seq"])

    @property
    def received_octets(self) -> int:
        """File octets held for the current transaction (B)."""
        size = self._size()
        return size - sum(b - a for a, b in missing_ranges(size, self.segments)) if size else 0

    def missing(self) -> list[tuple[int, int]]:
        """Missing ``[start, end)`` ranges of the current file."""
        return missing_ranges(self._size(), self.segments)

    def _size(self) -> int:
        return int(self.state["size"]) if self.state is not None else 0

    # -- decoding (no side effects) ---------------------------------------------------------------
    def decode(self, raw: bytes) -> object:
        """Decode and check one PDU without changing anything; PduError says why not."""
        try:
            pdu = PduFactory.from_raw(raw)
        except Exception as exc:  # the codec raises several types on bad input
            raise PduError(f"undecodable CFDP PDU: {exc}") from None
        if pdu is None:
            raise PduError("unknown CFDP PDU type")
        conf = pdu.pdu_header.pdu_conf
        if conf.crc_flag != CrcFlag.WITH_CRC:
            raise PduError("PDUs must carry a CRC")
        if conf.trans_mode != TransmissionMode.ACKNOWLEDGED:
            raise PduError("only acknowledged (class 2) transfers are accepted")
        if conf.dest_entity_id.value != self.entity_id:
            raise PduError(f"PDU for entity {conf.dest_entity_id.value}, this is {self.entity_id}")
        if isinstance(pdu, MetadataPdu):
            if pdu.params.checksum_type != ChecksumType.CRC_32:
                raise PduError(f"checksum {pdu.params.checksum_type.name}: only CRC_32")
            if not 0 < pdu.params.file_size <= self.max_file_bytes:
                raise PduError(f"file of {pdu.params.file_size} B: 1..{self.max_file_bytes}")
        elif isinstance(pdu, FileDataPdu | EofPdu | PromptPdu):
            if (conf.source_entity_id.value, conf.transaction_seq_num.value) != self.transaction:
                raise PduError("no open transaction with that id (Metadata first)")
            if isinstance(pdu, FileDataPdu):
                end = pdu.offset + len(pdu.file_data)
                if not pdu.file_data or end > self._size():
                    raise PduError(f"segment ends at {end}, the file has {self._size()} B")
        elif isinstance(pdu, AckPdu):
            if pdu.directive_code_of_acked_pdu != DirectiveType.FINISHED_PDU:
                raise PduError("only Finished PDUs are acknowledged to this entity")
        else:
            raise PduError(f"{type(pdu).__name__} is not expected by a receiver")
        return pdu

    # -- handling --------------------------------------------------------------------------------
    def handle(self, raw: bytes) -> list[bytes]:
        """Act on one PDU (decoded by :meth:`decode`); returns the PDUs to send back."""
        pdu = self.decode(raw)
        self.pdus += 1
        conf = pdu.pdu_header.pdu_conf  # type: ignore[attr-defined]
        if isinstance(pdu, MetadataPdu):
            return self._metadata(conf, pdu)
        if isinstance(pdu, FileDataPdu):
            return self._file_data(pdu)
        if isinstance(pdu, EofPdu):
            return self._eof(pdu)
        if isinstance(pdu, PromptPdu):
            return self._prompt()
        assert isinstance(pdu, AckPdu)
        if self.transaction == (conf.source_entity_id.value, conf.transaction_seq_num.value):
            self._clear_segments()
            self.store.delete(STATE_BLOB)
            self.state = None
            self.say("closed", "transaction closed by the ground")
        return []

    def _metadata(self, conf: PduConfig, pdu: MetadataPdu) -> list[bytes]:
        tid = (conf.source_entity_id.value, conf.transaction_seq_num.value)
        if tid == self.transaction:
            return []  # a pass restart: the Prompt that follows asks what is missing
        # a new transaction supersedes an unfinished one: its segments are dropped first
        self._clear_segments()
        self.state = {
            "src": tid[0],
            "seq": tid[1],
            "src_width": len(conf.source_entity_id),
            "seq_width": len(conf.transaction_seq_num),
            "size": pdu.params.file_size,
            "name": pdu.params.dest_file_name or "",
            "checksum": None,
            "done": None,
        }
        self._save()
        self.say("opened", f"transaction {tid[0]}/{tid[1]}: {pdu.params.file_size} B")
        return []

    def _file_data(self, pdu: FileDataPdu) -> list[bytes]:
        if self.state is None or self.state["done"] is not None:
            return self._prompt()
        off, data = pdu.offset, bytes(pdu.file_data)
        if not missing_ranges(off + len(data), [*self.segments, (0, off)]):
            self.duplicates += 1
            return []
        self.store.write(_seg_name(off, len(data)), data)  # the write makes it received
        self.segments.append((off, len(data)))
        self.segments.sort()
        self.octets += len(data)
        if self.state["checksum"] is not None and not self.missing():
            return self._finish()
        return []

    def _eof(self, pdu: EofPdu) -> list[bytes]:
        assert self.state is not None
        ack = self._pdu_ack(DirectiveType.EOF_PDU, pdu.condition_code)
        if self.state["done"] is not None:
            return [ack, self._pdu_finished()]
        if pdu.file_size != self._size():
            return [
                ack,
                *self._close(
                    ConditionCode.FILE_SIZE_ERROR,
                    DeliveryCode.DATA_INCOMPLETE,
                    FileStatus.DISCARDED_DELIBERATELY,
                    f"EOF says {pdu.file_size} B, Metadata {self._size()} B",
                ),
            ]
        self.state["checksum"] = int.from_bytes(pdu.file_checksum, "big")
        self._save()
        if self.missing():
            return [ack, self._pdu_nak()]
        return [ack, *self._finish()]

    def _prompt(self) -> list[bytes]:
        if self.state is None:
            return []
        if self.state["done"] is not None:
            return [self._pdu_finished()]
        return [self._pdu_nak()]

    def _finish(self) -> list[bytes]:
        """All segments and EOF are in: assemble, check the CRC-32, then deliver."""
        assert self.state is not None
        size = self._size()
        buf = bytearray(size)
        for off, ln in self.segments:
            buf[off : off + ln] = self.store.read(_seg_name(off, ln))
        data = bytes(buf)
        want = int(self.state["checksum"])
        got = zlib.crc32(data)
        if self.missing() or got != want:
            return self._close(
                ConditionCode.FILE_CHECKSUM_FAILURE,
                DeliveryCode.DATA_INCOMPLETE,
                FileStatus.DISCARDED_DELIBERATELY,
                f"file CRC-32 {got:08x}, EOF says {want:08x}: discarded, not installed",
            )
        try:
            note = self.deliver(data)
        except SatnodeError as exc:
            return self._close(
                ConditionCode.FILESTORE_REJECTION,
                DeliveryCode.DATA_COMPLETE,
                FileStatus.DISCARDED_FILESTORE_REJECTION,
                str(exc),
            )
        return self._close(
            ConditionCode.NO_ERROR, DeliveryCode.DATA_COMPLETE, FileStatus.FILE_RETAINED, note
        )

    def _close(
        self, cond: ConditionCode, delivery: DeliveryCode, status: FileStatus, note: str
    ) -> list[bytes]:
        assert self.state is not None
        self.state["done"] = {
            "condition": int(cond), "delivery": int(delivery), "status": int(status), "note": note,
        }  # fmt: skip
        self._save()  # the outcome first: a cut after it never delivers twice
        self._clear_segments()
        self.say("finished" if cond is ConditionCode.NO_ERROR else "refused", note)
        return [self._pdu_finished()]

    @property
    def outcome(self) -> Outcome | None:
        """How the current transaction ended (None while it is open)."""
        if self.state is None or self.state["done"] is None:
            return None
        d = self.state["done"]
        assert isinstance(d, dict)
        return Outcome(int(d["condition"]), int(d["delivery"]), int(d["status"]), str(d["note"]))

    # -- PDUs out ----------------------------------------------------------------------------------
    def _conf(self) -> PduConfig:
        assert self.state is not None
        return PduConfig(
            source_entity_id=UnsignedByteField(
                int(self.state["src"]), int(self.state["src_width"])
            ),
            dest_entity_id=UnsignedByteField(self.entity_id, int(self.state["src_width"])),
            transaction_seq_num=UnsignedByteField(
                int(self.state["seq"]), int(self.state["seq_width"])
            ),
            trans_mode=TransmissionMode.ACKNOWLEDGED,
            crc_flag=CrcFlag.WITH_CRC,
            direction=Direction.TOWARDS_SENDER,
        )

    def _pdu_ack(self, directive: DirectiveType, cond: ConditionCode) -> bytes:
        return bytes(AckPdu(self._conf(), directive, cond, TransactionStatus.ACTIVE).pack())

    def _pdu_nak(self) -> bytes:
        size = self._size()
        # one NAK carries every missing range; the TM packet bounds how many fit
        missing = self.missing()[:200]
        return bytes(NakPdu(self._conf(), 0, size, missing).pack())

    def _pdu_finished(self) -> bytes:
        o = self.outcome
        assert o is not None
        params = FinishedParams(
            ConditionCode(o.condition), DeliveryCode(o.delivery), FileStatus(o.file_status)
        )
        return bytes(FinishedPdu(self._conf(), params).pack())
