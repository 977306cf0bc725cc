"""Shared pieces of the security tests: an NV storage that can lose power mid-write, an
independent frame builder (the MAC oracle), and a secured node on loopback."""

from __future__ import annotations

import hmac
import json
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from flight.node import Node, NodeOptions
from flight.testing import node_config
from flight.tmtc import unpack_tm
from ground.uplink import create_key_file


class PowerCut(Exception):
    """The simulated supply failed during a write."""


class FlakyStorage:
    """Dict-backed NV storage (the hal.platform.Storage methods the key store uses).

    ``cut_after``: the write number (1-based) during which power fails: that blob is left
    torn (half written) and :class:`PowerCut` is raised, as on NV without atomic writes.
    """

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.writes = 0
        self.cut_after: int | None = None
        self.capacity_bytes = 1 << 20

    def write(self, name: str, data: bytes) -> None:
        self.writes += 1
        if self.cut_after is not None and self.writes == self.cut_after:
            self.blobs[name] = bytes(data[: len(data) // 2])
            raise PowerCut(name)
        self.blobs[name] = bytes(data)

    def read(self, name: str) -> bytes:
        return self.blobs[name]

    def list(self) -> tuple[str, ...]:
        return tuple(sorted(self.blobs))

    def delete(self, name: str) -> None:
        del self.blobs[name]


def keys_of(key_file: Path) -> dict[int, bytes]:
    doc = json.loads(key_file.read_text())
    return {e["id"]: bytes.fromhex(e["key"]) for e in doc["keys"]}


# -- the independent oracle: CCSDS 232.0 + 355.0 written again, from the standard ----------
def crc16_ccitt(data: bytes) -> int:
    """Bit-serial CRC-16-CCITT-FALSE (poly 0x1021, init 0xFFFF), for the oracle's FECF."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def aes_cmac(key: bytes, msg: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B / RFC 4493) over cryptography's raw AES-ECB block cipher:
    a second CMAC path, independent of the ``cmac.CMAC`` object the node uses."""
    ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()

    def block(b: bytes) -> bytes:
        return ecb.update(b)

    def shift(b: bytes) -> bytes:
        v = (int.from_bytes(b, "big") << 1) & ((1 << 128) - 1)
        if b[0] & 0x80:
            v ^= 0x87
        return v.to_bytes(16, "big")

    k1 = shift(block(bytes(16)))
    k2 = shift(k1)
    n = max(1, -(-len(msg) // 16))
    last = msg[(n - 1) * 16 :]
    if len(last) == 16:
        last = bytes(a ^ b for a, b in zip(last, k1, strict=True))
    else:
        padded = last + b"\x80" + bytes(15 - len(last))
        last = bytes(a ^ b for a, b in zip(padded, k2, strict=True))
    x = bytes(16)
    for i in range(n - 1):
        x = block(bytes(a ^ b for a, b in zip(x, msg[i * 16 : i * 16 + 16], strict=True)))
    return block(bytes(a ^ b for a, b in zip(x, last, strict=True)))


def oracle_frame(
    algorithm: str, key: bytes, *, scid: int, vcid: int, spi: int, counter: int, seq: int,
    user_data: bytes, seg_flags: int = 0b11, map_id: int = 0,
) -> bytes:  # fmt: skip
    """A secured TC frame built from the standards without the project's codec."""
    counter_len = 12 if algorithm == "aes-256-gcm" else 4
    seg = bytes([seg_flags << 6 | map_id])
    sec = struct.pack(">H", spi) + counter.to_bytes(counter_len, "big")
    total = 5 + 1 + len(sec) + len(user_data) + 16 + 2
    hdr = struct.pack(">HHB", 1 << 13 | scid, vcid << 10 | (total - 1), seq)
    masked = hdr[:4] + b"\x00"  # the frame sequence number is outside the authenticated region
    aad = masked + seg + sec
    if algorithm == "aes-256-gcm":
        enc = Cipher(algorithms.AES(key), modes.GCM(counter.to_bytes(12, "big"))).encryptor()
        enc.authenticate_additional_data(aad)
        body = enc.update(user_data) + enc.finalize()
        mac = enc.tag
    elif algorithm == "aes-256-cmac":
        body, mac = user_data, aes_cmac(key, aad + user_data)
    else:
        body, mac = user_data, hmac.new(key, aad + user_data, "sha256").digest()[:16]
    frame = hdr + seg + sec + body + mac
    return frame + crc16_ccitt(frame).to_bytes(2, "big")


# -- a secured node on loopback ----------------------------------------------------------
class SecuredNode:
    """A node with the security app, its key file, a UDP sender and every TM captured."""

    def __init__(self, tmp: Path, overrides: dict[str, Any] | None = None) -> None:
        self.key_file = create_key_file(tmp / "ground-keys.json", 42)
        over: dict[str, Any] = {"security": {"provision": str(self.key_file)}}
        for k, v in (overrides or {}).items():
            over.setdefault(k, {}).update(v)
        cfg = node_config(apps=["security"], overrides=over)
        self.tm: list[bytes] = []
        self.node = Node(cfg, NodeOptions(out_dir=tmp / "out", uplink_port=0,
                                          extra_sinks=[self.tm.append]))  # fmt: skip
        assert self.node.link is not None
        self.address = self.node.link.uplink_address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self.apid = self.node.tmtc.apid
        self.time_len = self.node.tmtc.time_code.length
        self.security = self.node.apps["security"].component

    def send(self, datagrams: list[bytes]) -> None:
        for d in datagrams:
            self.sock.sendto(d, self.address)

    def tick(self, n: int = 1) -> None:
        self.node.executive.run_for(n * self.node.executive.period_ns)

    def drain(self, max_ticks: int = 1000) -> None:
        """Step until the link has nothing waiting (every sent datagram judged)."""
        link = self.node.link
        assert link is not None
        for _ in range(max_ticks):
            before = link.received
            self.tick()
            if link.received == before and not link._ready:
                return
        raise AssertionError("the uplink did not drain")

    def reports(self, service: int, subtype: int) -> list[Any]:
        out = []
        for raw in self.tm:
            if raw[7] == service and raw[8] == subtype:
                out.append(unpack_tm(raw, self.time_len))
        return out

    def completed(self) -> list[int]:
        """Sequence counts of the TCs that completed (TM[1,7] request ids)."""
        return [struct.unpack(">I", t.data[:4])[0] & 0x3FFF for t in self.reports(1, 7)]

    def close(self) -> None:
        self.sock.close()
        self.node.close()


def for_each(items: list[Any], fn: Callable[[Any], None]) -> None:
    for item in items:
        fn(item)
