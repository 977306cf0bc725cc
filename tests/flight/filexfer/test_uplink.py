"""Image uplink over CFDP through a real node: install, resume after a pass end, refusals.

Oracles: the boot store's own record (slot armed, version, sha256 of the file sent), the
CRC-32 of cfdp-py's filestore (an independent implementation of the CFDP checksum), and byte
counts of what the ground sent.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any

from cfdppy.filestore import NativeFilestore
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from spacepackets.cfdp import ChecksumType, ConditionCode
from spacepackets.cfdp.pdu import NakPdu, PduFactory

from flight.boot import SlotState
from flight.filexfer import (
    PDU_TC_SUBTYPE,
    PDU_TM_SUBTYPE,
    SERVICE,
    missing_ranges,
    unwrap_pdu,
    wrap_pdu,
)
from flight.tmtc import pack_tc, unpack_tm
from ground.filexfer import Sender

_spec = importlib.util.spec_from_file_location(
    "boot_helpers", Path(__file__).parents[1] / "boot" / "_helpers.py"
)
assert _spec is not None and _spec.loader is not None
H = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(H)

K1 = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SEG = 256


class Link:
    """The ground link of one node: TCs injected through the node's PUS endpoint, the node's
    TM[23,129] handed to the sender; ``up`` False is the end of the pass (nothing delivered)."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.up = True
        self.seq = 0
        self.sender: Sender | None = None
        self.rejected = 0
        self.tlen = len(node.tmtc.time_code.encode(0))
        self.received: list[bytes] = []

    def send(self, pdu: bytes) -> None:
        if not self.up:
            return
        tc = pack_tc(100, self.seq, SERVICE, PDU_TC_SUBTYPE, 0, 1, wrap_pdu(pdu))
        self.seq = (self.seq + 1) & 0x3FFF
        if not self.node.tmtc.process(tc):
            self.rejected += 1

    def _tm(self, packet: bytes) -> None:
        tm = unpack_tm(packet, self.tlen)
        if (tm.service, tm.subtype) == (SERVICE, PDU_TM_SUBTYPE) and self.up:
            pdu = unwrap_pdu(bytes(tm.data))
            self.received.append(pdu)
            if self.sender is not None:
                self.sender.on_pdu(pdu)


def make_node(tmp: Path, sink: list[Any]) -> Any:
    from flight.testing import build_node, node_config

    cfg = node_config(
        {
            "filexfer": {"staging": "fxstage", "nv": "bootnv", "slots": "bootslots",
                         "model": H.MODEL, "utc_at_zero_s": H.NOW},
            "devices": {
                "fxstage": {"family": "storage", "directory": str(tmp / "target" / "stage")},
                "bootnv": {"family": "storage", "directory": str(tmp / "target" / "nv")},
                "bootslots": {"family": "storage", "directory": str(tmp / "target" / "slots")},
            },
        },
        apps=["filexfer"],
    )  # fmt: skip
    return build_node(tmp, cfg, extra_sinks=[lambda p: sink[0](p)])


def setup(tmp: Path) -> tuple[Any, Link, Any]:
    store = H.make_store(tmp / "target", [K1], factory=H.make_image(1, [K1]))
    sink: list[Any] = [lambda _p: None]
    node = make_node(tmp, sink)
    link = Link(node)
    sink[0] = link._tm
    return node, link, store


def image(version: int = 2) -> bytes:
    return H.make_image(version, [K1], payload=bytes((i * 7) % 251 for i in range(10_000)))


def test_full_transfer_installs_and_arms(tmp_path: Path) -> None:
    node, link, store = setup(tmp_path)
    data = image()
    sender = Sender(data, link.send, segment_len=SEG)
    link.sender = sender
    sender.first_pass()
    assert sender.result.ok, sender.result
    rec = store.load()
    armed = [s for s in ("A", "B") if rec.slot(s).state is SlotState.INSTALLED]
    assert rec.pending == armed[0] and rec.tries_left == 3
    assert rec.slot(armed[0]).sha256 == hashlib.sha256(data).hexdigest()
    assert store.read_slot(armed[0]) == data
    assert link.rejected == 0
    node.close()


def test_checksum_is_the_cfdp_crc32(tmp_path: Path) -> None:
    data = image()
    f = tmp_path / "img"
    f.write_bytes(data)
    want = NativeFilestore().calculate_checksum(ChecksumType.CRC_32, f, len(data))
    assert Sender(data, lambda _p: None).checksum.to_bytes(4, "big") == want


def test_pass_end_resumes_without_resending(tmp_path: Path) -> None:
    node, link, store = setup(tmp_path)
    data = image()
    sender = Sender(data, link.send, segment_len=SEG)
    link.sender = sender
    n_seg = len(sender.segments(0, len(data)))
    cut = n_seg // 3
    delivered = 0

    def send_until_cut(pdu: bytes) -> None:
        nonlocal delivered
        # PDUs 0 (Metadata) .. cut reach the node, then the pass ends
        link.up = delivered <= cut
        delivered += 1
        link.send(pdu)

    sender._send = send_until_cut
    sender.first_pass()
    assert not sender.result.finished and store.load().pending is None
    got = node.apps["filexfer"].receiver
    held = got.received_octets
    assert held == cut * SEG and got.missing() == [(cut * SEG, len(data))]

    # next pass, on a new node process reading the same NV storage (resume survives a reset)
    node.close()
    sink: list[Any] = [lambda _p: None]
    node2 = make_node(tmp_path, sink)
    link2 = Link(node2)
    sink[0] = link2._tm
    before = sender.result.file_octets_sent, len(sender.result.sent_offsets)
    pass1_offsets = {o for o, _ in sender.result.sent_offsets[:cut]}
    sender._send = link2.send
    link2.sender = sender
    sender.resume_pass()
    assert sender.result.ok, sender.result
    pass2 = sender.result.sent_offsets[before[1] :]
    assert sender.result.file_octets_sent - before[0] == len(data) - held
    assert not pass1_offsets & {o for o, _ in pass2}
    assert sorted(pass2) == sender.segments(held, len(data))
    rec = store.load()
    assert rec.pending is not None and store.read_slot(rec.pending) == data
    node2.close()


def test_corrupted_segment_never_installs(tmp_path: Path) -> None:
    node, link, store = setup(tmp_path)
    data = image()
    bad = bytearray(data)
    bad[3000] ^= 0x01
    sender = Sender(data, link.send, segment_len=SEG)
    sender.data = bytes(bad)  # segments carry the flipped bit, EOF the checksum of the good file
    link.sender = sender
    before = H.snapshot(tmp_path / "target" / "slots")
    sender.first_pass()
    assert sender.result.finished and sender.result.condition is ConditionCode.FILE_CHECKSUM_FAILURE
    assert store.load().pending is None
    assert H.snapshot(tmp_path / "target" / "slots") == before
    # the bad file was discarded, and the ground's ACK of Finished closed the transaction
    assert not any((tmp_path / "target" / "stage").iterdir())
    node.close()


def test_wrong_checksum_never_installs(tmp_path: Path) -> None:
    node, link, store = setup(tmp_path)
    sender = Sender(image(), link.send, segment_len=SEG)
    sender.checksum ^= 0xDEADBEEF
    link.sender = sender
    sender.first_pass()
    assert sender.result.condition is ConditionCode.FILE_CHECKSUM_FAILURE
    assert store.load().pending is None
    node.close()


def test_verified_file_with_bad_image_is_refused(tmp_path: Path) -> None:
    """A complete file with the right CRC but an image the store refuses (downgrade below
    the factory's floor) is not installed: Finished says FILESTORE_REJECTION."""
    node, link, store = setup(tmp_path)
    rec0 = store.load()
    sender = Sender(H.make_image(1, [K1]), link.send, segment_len=SEG)
    link.sender = sender
    sender.first_pass()
    assert sender.result.condition is ConditionCode.FILESTORE_REJECTION
    assert store.load().pending is None and store.load().slot("A") == rec0.slot("A")
    node.close()


def test_incomplete_file_is_not_installed_until_complete(tmp_path: Path) -> None:
    node, link, store = setup(tmp_path)
    data = image()
    sender = Sender(data, link.send, segment_len=SEG)
    segs = sender.segments(0, len(data))
    # Metadata, every segment but one, EOF: the node NAKs the hole, which the link drops
    link.send(sender._metadata())
    hole = segs[-2]
    for off, ln in segs:
        if (off, ln) != hole:
            link.send(sender._file_data(off, ln))
    link.send(sender._eof())
    naks = [p for p in link.received if PduFactory.from_raw(p).__class__ is NakPdu]
    assert naks and NakPdu.unpack(naks[-1]).segment_requests == [(hole[0], hole[0] + hole[1])]
    assert store.load().pending is None  # everything but one segment, and EOF: not installed
    link.send(sender._file_data(*hole))
    assert store.load().pending is not None  # the last hole filled: verified, installed
    node.close()


def test_missing_ranges_closed_form() -> None:
    assert missing_ranges(10, []) == [(0, 10)]
    assert missing_ranges(10, [(0, 3), (5, 2)]) == [(3, 5), (7, 10)]
    assert missing_ranges(10, [(2, 8), (0, 2)]) == []
    assert missing_ranges(10, [(0, 4), (2, 4)]) == [(6, 10)]


def test_bad_pdus_are_rejected_and_change_nothing(tmp_path: Path) -> None:
    node, link, _store = setup(tmp_path)
    sender = Sender(image(), link.send, segment_len=SEG)
    fd = bytearray(sender._file_data(0, SEG))
    link.send(bytes(fd))  # no Metadata yet: unknown transaction
    fd[-3] ^= 0xFF  # bad PDU CRC
    link.send(bytes(fd))
    link.send(b"\x00\x01")
    link.up = True
    tc = pack_tc(100, 0, SERVICE, PDU_TC_SUBTYPE, 0, 1, b"\x00\x09" + sender._metadata())
    assert not node.tmtc.process(tc)  # length prefix wrong
    assert link.rejected == 3
    assert not (tmp_path / "target" / "stage").exists() or not any(
        (tmp_path / "target" / "stage").iterdir()
    )
    node.close()
