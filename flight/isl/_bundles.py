"""Store-and-forward bundles: coding, segments and custody signals, and bounded storage.

A bundle (in the spirit of BPv7) is identified by its source node and the source's sequence
number; it has a destination, a priority (0 bulk .. 3 critical), a creation time and a
lifetime (it is deleted, and its loss reported, once ``created_ns + lifetime_ns`` passes).
Its payload carries a CRC-32C set at the source and checked at the destination (end to end);
the whole coded bundle carries another, checked at every hop.

Bundle layout (big-endian)::

    version u8 | kind u8 | priority u8 | hops u8 | seq u32 | created_ns i64 | lifetime_ns u64 |
    payload_crc u32 | len u8 + source | len u8 + destination | payload | crc32c u32

Between two neighbours a bundle travels as ARQ payloads: segments of it, and custody signals
by which the next hop accepts (or refuses) responsibility for the whole bundle. Only an
accepted custody signal lets the sender delete its copy, so a bundle is never lost in the
gap between two nodes.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from flight.isl._frames import node_address
from native import crc32c
from native.errors import CrcError, FlightError, WireError

__all__ = [
    "PRIORITIES",
    "Bundle",
    "BundleId",
    "BundleKind",
    "BundleStore",
    "Custody",
    "LossReason",
    "LostBundle",
    "Segment",
    "StorageFullError",
    "decode_bundle",
    "decode_link_payload",
    "decode_report",
    "encode_bundle",
    "encode_custody",
    "encode_report",
    "segment_bundle",
]

#: number of bundle priority levels (0 bulk, 1 normal, 2 expedited, 3 critical)
PRIORITIES = 4
_VERSION = 1
_HEAD = struct.Struct(">BBBBIqQI")
_CRC = struct.Struct(">I")
_SEG = struct.Struct(">BIIII")  # type, source address, seq, offset, total
_CUST = struct.Struct(">BIIB")  # type, source address, seq, accepted
_T_SEGMENT, _T_CUSTODY = 1, 2
#: octets a segment adds in front of its slice of the bundle
SEGMENT_OVERHEAD_BYTES = _SEG.size


class StorageFullError(FlightError):
    """A bundle does not fit in the bounded store (nothing of lower priority to evict)."""


@enum.unique
class BundleKind(enum.IntEnum):
    """What a bundle carries."""

    DATA = 1  #: application data
    REPORT = 2  #: a status report: a bundle of the destination's was lost (see LostBundle)
    EPHEMERIS = 3  #: a node's orbit state, for the neighbours' contact planning


@enum.unique
class LossReason(enum.IntEnum):
    """Why a bundle was deleted before delivery."""

    EXPIRED = 1  #: its lifetime ended before it reached its destination
    STORAGE = 2  #: evicted for a higher-priority bundle, or refused by a full store
    HOP_LIMIT = 3  #: it took more hops than allowed (a routing loop)
    CORRUPT = 4  #: its payload failed the end-to-end CRC-32C at the destination


@dataclass(frozen=True, slots=True, order=True)
class BundleId:
    """A bundle's identity: source node and the source's sequence number."""

    source: str
    seq: int


@dataclass(frozen=True, slots=True)
class Bundle:
    """One bundle; times in onboard ns."""

    source: str
    seq: int
    destination: str
    priority: int
    created_ns: int
    lifetime_ns: int
    kind: BundleKind
    payload: bytes
    payload_crc: int
    hops: int = 0

    @property
    def id(self) -> BundleId:
        """``BundleId(source, seq)``."""
        return BundleId(self.source, self.seq)

    @property
    def expires_ns(self) -> int:
        """Onboard time (ns) after which the bundle is deleted."""
        return self.created_ns + self.lifetime_ns


@dataclass(frozen=True, slots=True)
class LostBundle:
    """A bundle deleted before delivery: which, why, where (node name) and when (ns)."""

    bundle: BundleId
    destination: str
    reason: LossReason
    node: str
    t_ns: int


@dataclass(frozen=True, slots=True)
class Segment:
    """A slice ``[offset, offset + len(data))`` of a coded bundle of ``total`` octets."""

    source_addr: int
    seq: int
    offset: int
    total: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Custody:
    """The next hop took (``accepted``) or refused responsibility for a bundle."""

    source_addr: int
    seq: int
    accepted: bool


def _name(text: str, what: str) -> bytes:
    raw = text.encode()
    if not 0 < len(raw) <= 255:
        raise ValueError(f"{what} name {text!r} must be 1..255 UTF-8 octets")
    return bytes([len(raw)]) + raw


def encode_bundle(b: Bundle) -> bytes:
    """The coded bundle with its hop CRC-32C (ValueError on a field out of range)."""
    if not 0 <= b.priority < PRIORITIES:
        raise ValueError(f"priority {b.priority} outside 0..{PRIORITIES - 1}")
    if not 0 <= b.hops <= 255 or not 0 <= b.seq < 1 << 32 or b.lifetime_ns < 0:
        raise ValueError("bundle hops, seq or lifetime out of range")
    head = _HEAD.pack(_VERSION, int(b.kind), b.priority, b.hops, b.seq, b.created_ns,
                      b.lifetime_ns, b.payload_crc)
    body = head + _name(b.source, "source") + _name(b.destination, "destination") + b.payload
    return body + _CRC.pack(crc32c(body))


def decode_bundle(data: bytes) -> Bundle:
    """Decode a coded bundle; :class:`CrcError` / :class:`WireError` on bad octets."""
    if len(data) < _HEAD.size + _CRC.size + 4:
        raise WireError(f"bundle of {len(data)} octets is too short", "short")
    body = memoryview(data)[: len(data) - _CRC.size]
    if crc32c(body) != _CRC.unpack_from(data, len(data) - _CRC.size)[0]:
        raise CrcError("bundle CRC-32C mismatch")
    version, kind, prio, hops, seq, created, life, pcrc = _HEAD.unpack_from(data, 0)
    if version != _VERSION:
        raise WireError(f"bundle version {version}", "version")
    try:
        bkind = BundleKind(kind)
    except ValueError:
        raise WireError(f"unknown bundle kind {kind}", "kind") from None
    if prio >= PRIORITIES:
        raise WireError(f"bundle priority {prio}", "priority")
    pos = _HEAD.size
    names: list[str] = []
    for _ in range(2):
        n = body[pos]
        if n == 0 or pos + 1 + n > len(body):
            raise WireError("bundle name field overruns the bundle", "name")
        try:
            names.append(bytes(body[pos + 1 : pos + 1 + n]).decode())
        except UnicodeDecodeError:
            raise WireError("bundle name is not UTF-8", "name") from None
        pos += 1 + n
    return Bundle(names[0], seq, names[1], prio, created, life, bkind, bytes(body[pos:]), pcrc,
                  hops)


def segment_bundle(b: Bundle, coded: bytes, max_payload: int) -> list[bytes]:
    """ARQ payloads carrying ``coded`` (the coded ``b``), each at most ``max_payload`` octets."""
    room = max_payload - _SEG.size
    if room < 1:
        raise ValueError(f"link payload of {max_payload} octets leaves no room for data")
    addr = node_address(b.source)
    total = len(coded)
    return [
        _SEG.pack(_T_SEGMENT, addr, b.seq, off, total) + coded[off : off + room]
        for off in range(0, total, room)
    ]


def encode_custody(c: Custody) -> bytes:
    """ARQ payload of a custody signal."""
    return _CUST.pack(_T_CUSTODY, c.source_addr, c.seq, 1 if c.accepted else 0)


def decode_link_payload(data: bytes) -> Segment | Custody:
    """Decode an ARQ payload (WireError on bad octets)."""
    if data and data[0] == _T_SEGMENT and len(data) > _SEG.size:
        _, addr, seq, off, total = _SEG.unpack_from(data, 0)
        seg = Segment(addr, seq, off, total, data[_SEG.size :])
        if off + len(seg.data) > total:
            raise WireError("segment beyond its bundle", "segment")
        return seg
    if data and data[0] == _T_CUSTODY and len(data) == _CUST.size:
        _, addr, seq, ok = _CUST.unpack(data)
        return Custody(addr, seq, bool(ok))
    raise WireError("unknown link payload", "payload")


_REPORT = struct.Struct(">BIq")


def encode_report(lost: LostBundle) -> bytes:
    """Payload of a REPORT bundle telling the source about ``lost``."""
    return (
        _REPORT.pack(int(lost.reason), lost.bundle.seq, lost.t_ns)
        + _name(lost.bundle.source, "source")
        + _name(lost.destination, "destination")
        + _name(lost.node, "node")
    )


def decode_report(payload: bytes) -> LostBundle:
    """Decode a REPORT bundle's payload (WireError on bad octets)."""
    try:
        reason, seq, t_ns = _REPORT.unpack_from(payload, 0)
        pos = _REPORT.size
        names = []
        for _ in range(3):
            n = payload[pos]
            names.append(payload[pos + 1 : pos + 1 + n].decode())
            pos += 1 + n
        return LostBundle(BundleId(names[0], seq), names[1], LossReason(reason), names[2], t_ns)
    except (struct.error, IndexError, ValueError) as exc:
        raise WireError(f"bad status report: {exc}", "report") from None


class BundleStore:
    """Bundles held by a node, bounded in octets (coded size), with counted drops by priority.

    When a bundle does not fit, lower-priority bundles are evicted (lowest priority first,
    then the one expiring first) if that makes room; otherwise :class:`StorageFullError`.
    """

    def __init__(self, capacity_bytes: int) -> None:
        if capacity_bytes < 1:
            raise ValueError(f"store capacity {capacity_bytes} octets must be >= 1")
        self.capacity_bytes = capacity_bytes
        self.used_bytes = 0
        self._items: dict[BundleId, tuple[Bundle, bytes]] = {}
        self._order: list[Bundle] | None = None  # by_priority's order, until a change
        self.dropped_by_priority = [0] * PRIORITIES  #: evicted or refused, per priority

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, bid: object) -> bool:
        return bid in self._items

    def get(self, bid: BundleId) -> tuple[Bundle, bytes] | None:
        """The bundle and its coded octets, or None."""
        return self._items.get(bid)

    def add(self, bundle: Bundle, coded: bytes) -> list[Bundle]:
        """Store ``bundle``; returns the bundles evicted for it. StorageFullError (and a
        counted drop) when even evicting every lower-priority bundle leaves no room."""
        size = len(coded)
        if bundle.id in self._items:
            return []
        free = self.capacity_bytes - self.used_bytes
        if size > free:
            lower = sorted(
                (b for b, _ in self._items.values() if b.priority < bundle.priority),
                key=lambda b: (b.priority, b.expires_ns),
            )
            if size > free + sum(len(self._items[b.id][1]) for b in lower):
                self.dropped_by_priority[bundle.priority] += 1
                raise StorageFullError(
                    f"bundle of {size} octets does not fit ({free} of "
                    f"{self.capacity_bytes} free)"
                )
            evicted: list[Bundle] = []
            for b in lower:
                if size <= self.capacity_bytes - self.used_bytes:
                    break
                self.remove(b.id)
                self.dropped_by_priority[b.priority] += 1
                evicted.append(b)
        else:
            evicted = []
        self._items[bundle.id] = (bundle, coded)
        self._order = None
        self.used_bytes += size
        return evicted

    def remove(self, bid: BundleId) -> Bundle | None:
        """Remove and return a bundle (None if absent)."""
        item = self._items.pop(bid, None)
        self._order = None
        if item is None:
            return None
        self.used_bytes -= len(item[1])
        return item[0]

    def expired(self, now_ns: int) -> list[Bundle]:
        """Remove and return every bundle whose lifetime ended at or before ``now_ns``."""
        gone = [b for b, _ in self._items.values() if b.expires_ns <= now_ns]
        for b in gone:
            self.remove(b.id)
        return gone

    def by_priority(self) -> Iterator[Bundle]:
        """Bundles, highest priority first, then earliest expiry."""
        if self._order is None:
            self._order = sorted(
                (b for b, _ in self._items.values()),
                key=lambda b: (-b.priority, b.expires_ns, b.id),
            )
        # the list is replaced, never changed in place, on add/remove: iterating it while the
        # store changes is safe, as with a fresh sort
        yield from self._order
