"""The ground CFDP entity that uplinks an image (class 2, acknowledged), pass by pass.

:class:`Sender` sends a file to the onboard entity (:mod:`flight.filexfer`) as CFDP PDUs
(encoded by ``spacepackets``' CFDP codec, the PDU layer of ``cfdp-py``), each carried by one
``TC[23,128]``; the node answers with ``TM[23,129]``. First pass: Metadata, every File Data
segment, EOF. A pass that ends early loses nothing: the onboard entity keeps what arrived.
The next pass sends Metadata again and a Prompt (NAK); the NAK that comes back lists the
missing ranges, and only those are sent (then EOF if it was never acknowledged). A Finished
PDU ends the transaction; the sender acknowledges it.

The sender's own state (sequence number, EOF acknowledged) is small and JSON-serialisable
(:meth:`Sender.state` / ``resume``), so a ground session can stop between passes.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacepackets.cfdp import (
    ChecksumType,
    ConditionCode,
    CrcFlag,
    DirectiveType,
    TransmissionMode,
)
from spacepackets.cfdp.pdu import (
    AckPdu,
    EofPdu,
    FileDataParams,
    FileDataPdu,
    FinishedPdu,
    MetadataParams,
    MetadataPdu,
    NakPdu,
    PduConfig,
    PduFactory,
    PromptPdu,
    TransactionStatus,
)
from spacepackets.cfdp.pdu.prompt import ResponseRequired
from spacepackets.util import UnsignedByteField

from flight.filexfer import PDU_TC_SUBTYPE, PDU_TM_SUBTYPE, SERVICE, wrap_pdu
from ground.commander import Commander, CommanderTimeout, Telemetry
from native.errors import SatnodeError

__all__ = [
    "PDU_TC_SUBTYPE",
    "PDU_TM_SUBTYPE",
    "SERVICE",
    "STATE_FILE",
    "Sender",
    "TransferResult",
    "add_upload_parser",
    "cmd_upload",
    "upload",
]


@dataclass
class TransferResult:
    """Where a transfer stands: finished or not, the Finished condition and counts."""

    finished: bool = False
    condition: ConditionCode | None = None
    file_octets_sent: int = 0  #: file data octets sent (all passes, B)
    pdus_sent: int = 0
    octets_sent: int = 0  #: every PDU octet sent (B)
    sent_offsets: list[tuple[int, int]] = field(default_factory=list)  #: (offset, length)

    @property
    def ok(self) -> bool:
        """True when the node reported the file delivered without error (installed)."""
        return self.finished and self.condition is ConditionCode.NO_ERROR


class Sender:
    """Sends ``data`` to entity ``dest_id`` as transaction (``source_id``, ``seq``).

    ``send(pdu)`` transmits one PDU (a TC[23,128] through the authenticated uplink, or a
    direct injection in tests). ``segment_len``: file data octets per PDU.
    """

    def __init__(
        self,
        data: bytes,
        send: Callable[[bytes], None],
        *,
        source_id: int = 1,
        dest_id: int = 2,
        seq: int = 1,
        segment_len: int = 512,
        name: str = "image.snimg",
        eof_acked: bool = False,
    ) -> None:
        if not data:
            raise SatnodeError("nothing to send: the file is empty")
        if not 1 <= segment_len <= 65000:
            raise SatnodeError(f"segment length {segment_len} outside 1..65000")
        self.data = data
        self._send = send
        self.segment_len = segment_len
        self.name = name
        self.seq = seq
        self.conf = PduConfig(
            source_entity_id=UnsignedByteField(source_id, 2),
            dest_entity_id=UnsignedByteField(dest_id, 2),
            transaction_seq_num=UnsignedByteField(seq, 4),
            trans_mode=TransmissionMode.ACKNOWLEDGED,
            crc_flag=CrcFlag.WITH_CRC,
        )
        self.checksum = zlib.crc32(data)
        self.eof_acked = eof_acked
        self.result = TransferResult()

    def state(self) -> dict[str, Any]:
        """What a later session needs to resume this transfer (JSON-serialisable)."""
        return {"seq": self.seq, "eof_acked": self.eof_acked, "finished": self.result.finished}

    # -- sending ---------------------------------------------------------------------------------
    def _emit(self, pdu: bytes, file_range: tuple[int, int] | None = None) -> None:
        self._send(pdu)
        self.result.pdus_sent += 1
        self.result.octets_sent += len(pdu)
        if file_range is not None:
            self.result.file_octets_sent += file_range[1]
            self.result.sent_offsets.append(file_range)

    def _metadata(self) -> bytes:
        params = MetadataParams(True, ChecksumType.CRC_32, len(self.data), self.name, self.name)
        return bytes(MetadataPdu(self.conf, params).pack())

    def _eof(self) -> bytes:
        return bytes(EofPdu(self.conf, self.checksum.to_bytes(4, "big"), len(self.data)).pack())

    def segments(self, start: int, end: int) -> list[tuple[int, int]]:
        """(offset, length) segments covering ``[start, end)`` on the segment grid."""
        out: list[tuple[int, int]] = []
        at = start
        while at < end:
            nxt = min(end, (at // self.segment_len + 1) * self.segment_len)
            out.append((at, nxt - at))
            at = nxt
        return out

    def _file_data(self, offset: int, length: int) -> bytes:
        chunk = self.data[offset : offset + length]
        return bytes(FileDataPdu(self.conf, FileDataParams(chunk, offset)).pack())

    def first_pass(self) -> None:
        """Metadata, every segment, EOF (stop calling ``send`` when the pass ends)."""
        self._emit(self._metadata())
        for off, ln in self.segments(0, len(self.data)):
            self._emit(self._file_data(off, ln), (off, ln))
        self._emit(self._eof())

    def resume_pass(self) -> None:
        """Start of a later pass: Metadata again, then a Prompt (NAK) for what is missing."""
        self._emit(self._metadata())
        self._emit(bytes(PromptPdu(self.conf, ResponseRequired.NAK).pack()))

    # -- receiving -------------------------------------------------------------------------------
    def on_pdu(self, raw: bytes) -> None:
        """Act on one PDU from the node (the data of a TM[23,129])."""
        pdu = PduFactory.from_raw(raw)
        conf = getattr(pdu, "pdu_header", None)
        if conf is None or conf.pdu_conf.transaction_seq_num.value != self.seq:
            return  # another transaction's
        if isinstance(pdu, AckPdu) and pdu.directive_code_of_acked_pdu == DirectiveType.EOF_PDU:
            self.eof_acked = True
        elif isinstance(pdu, NakPdu):
            for start, end in pdu.segment_requests:
                if start == 0 and end == 0:
                    self._emit(self._metadata())  # (0, 0) asks for the Metadata again
                    continue
                for off, ln in self.segments(start, min(end, len(self.data))):
                    self._emit(self._file_data(off, ln), (off, ln))
            if not self.eof_acked:
                self._emit(self._eof())
        elif isinstance(pdu, FinishedPdu):
            self.result.finished = True
            self.result.condition = pdu.condition_code
            ack = AckPdu(
                self.conf,
                DirectiveType.FINISHED_PDU,
                pdu.condition_code,
                TransactionStatus.TERMINATED,
            )
            self._emit(bytes(ack.pack()))


# -- over a running node ---------------------------------------------------------------------------
#: The ground's state of uplinks into a run: ``{image sha256: Sender.state()}``.
STATE_FILE = "filexfer-state.json"


def _load_state(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SatnodeError(f"{path}: unreadable ({exc})") from None
    return doc if isinstance(doc, dict) else {}


def upload(
    commander: Commander,
    data: bytes,
    *,
    state_file: Path,
    segment_len: int = 512,
    quiet_s: float = 10.0,
    dest_id: int = 2,
    say: Callable[[str], None] | None = None,
) -> TransferResult:
    """One pass of an uplink of ``data`` to the node behind ``commander``.

    A transfer recorded in ``state_file`` for the same file resumes (Metadata, Prompt, only
    the ranges the node NAKs); otherwise a new transaction starts with the next sequence
    number. The pass ends when the node sends Finished, or after ``quiet_s`` onboard seconds
    without a CFDP PDU from it (the pass is over or the link is lost: run it again)."""
    note = say or (lambda _m: None)
    key = hashlib.sha256(data).hexdigest()
    doc = _load_state(state_file)
    prev = doc.get(key)
    resume = isinstance(prev, dict) and not prev.get("finished", False)
    if resume and isinstance(prev, dict):
        seq, eof_acked = int(prev["seq"]), bool(prev.get("eof_acked", False))
    else:
        seq = 1 + max(
            (int(v.get("seq", 0)) for v in doc.values() if isinstance(v, dict)), default=0
        )
        eof_acked = False

    def send(pdu: bytes) -> None:
        commander.send_packet("filexfer.cfdp_pdu", SERVICE, PDU_TC_SUBTYPE, wrap_pdu(pdu))

    sender = Sender(
        data, send, seq=seq, segment_len=segment_len, dest_id=dest_id, eof_acked=eof_acked
    )

    def save() -> None:
        doc[key] = sender.state()
        tmp = state_file.with_name(state_file.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(state_file)

    save()  # the sequence number is taken before anything is sent
    mark = commander.mark()
    if resume:
        note(f"resuming transaction {seq}: asking the node what is missing")
        sender.resume_pass()
    else:
        note(f"transaction {seq}: {len(data)} B in {len(sender.segments(0, len(data)))} segments")
        sender.first_pass()

    def is_pdu(tm: Telemetry) -> bool:
        return (tm.service, tm.subtype) == (SERVICE, PDU_TM_SUBTYPE)

    since: int | None = mark
    while not sender.result.finished:
        try:
            tm = commander.await_tm(is_pdu, quiet_s, since=since)
        except CommanderTimeout:
            note("no answer from the node: the pass is over; run again to resume")
            break
        since = None
        sender.on_pdu(bytes(tm.data["pdu"]))
        save()
    return sender.result


def cmd_upload(args: Any) -> int:
    """``satnode ground upload IMG``: one pass of the image uplink (see :func:`upload`)."""
    from ground.operate import open_commander

    path = Path(args.image)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SatnodeError(f"{path}: {exc}") from None
    state_dir = Path(args.run) if args.run is not None else Path.cwd()
    with open_commander(args, need_uplink=True) as commander:
        result = upload(
            commander,
            data,
            state_file=state_dir / STATE_FILE,
            segment_len=args.segment,
            quiet_s=args.timeout,
            say=print,
        )
    print(
        f"sent {result.file_octets_sent} file octets in {result.pdus_sent} PDUs "
        f"({result.octets_sent} B)"
    )
    if not result.finished:
        print("transfer incomplete: run the same command in the next pass")
        return 1
    assert result.condition is not None
    print(f"node finished the transfer: {result.condition.name}")
    return 0 if result.ok else 1


def add_upload_parser(actions: Any, common: Any) -> None:
    """Add ``upload`` to the ``satnode ground`` sub-commands."""
    up = actions.add_parser(
        "upload",
        parents=[common],
        help="uplink an image over CFDP into the inactive slot (one pass; run again to resume)",
    )
    up.add_argument("image", metavar="IMG", help="a signed image (satnode image build)")
    up.add_argument(
        "--segment", type=int, default=512, metavar="N", help="file octets per PDU (default 512)"
    )
    up.set_defaults(func=cmd_upload)
