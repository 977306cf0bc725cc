"""The bundle network of one node: links, custody, storage, routing, delivery, loss reports.

:class:`IslNetwork` is transport-agnostic (it is given :class:`FrameTransport` objects) and
clock-agnostic (it is stepped with onboard time), so the same code runs in a node over the
laser terminal and in tests over in-memory lossy channels.

Each step:

1. Frames are read from every transport, checked (CRC-32C), and handed to the
   :class:`ArqLink` of their sender. In-order ARQ payloads are bundle segments (reassembled
   per neighbour) and custody signals.
2. A reassembled bundle is checked (hop CRC-32C). At its destination it is delivered once
   (ids are remembered until the bundle's expiry, so a second copy is suppressed) after its
   end-to-end payload CRC-32C passes; elsewhere it is stored. Either way the node signals
   custody accepted; a full store refuses custody and the sender keeps the bundle.
3. Bundles whose lifetime ended are deleted and reported (a REPORT bundle to the source, or
   straight into the source's :meth:`take_lost` when the source is this node).
4. Every stored bundle not yet handed to a link is routed (earliest arrival over the contact
   plan plus the links up now); when its next hop is the peer of a transport that is up and
   the ARQ window has room, its segments are offered to that link. Custody accepted deletes
   the local copy. A bundle waiting on a link that went down stays there and resumes when the
   link returns, unless the route now goes elsewhere, in which case it is withdrawn and
   rerouted; no custody within ``custody_timeout_ns`` of the last segment's acknowledgement
   also withdraws it.
5. Each transport that is up gets ACKs and DATA frames within its byte budget
   (rate x step) and ``max_frames_per_step``.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flight.isl._arq import ArqLink, LinkCounters
from flight.isl._bundles import (
    PRIORITIES,
    Bundle,
    BundleId,
    BundleKind,
    BundleStore,
    Custody,
    LossReason,
    LostBundle,
    Segment,
    StorageFullError,
    decode_bundle,
    decode_link_payload,
    decode_report,
    encode_bundle,
    encode_custody,
    encode_report,
    segment_bundle,
)
from flight.isl._frames import FRAME_OVERHEAD_BYTES, decode_frame, node_address
from flight.isl._routing import (
    Contact,
    Edge,
    Route,
    earliest_arrivals_indexed,
    edge_index,
)
from flight.isl._transport import FrameTransport
from native import crc32c
from native.errors import WireError

__all__ = ["Delivery", "IslNetwork", "NetworkCounters"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """A bundle delivered to this node (its destination) at ``t_ns``."""

    bundle: BundleId
    kind: BundleKind
    priority: int
    created_ns: int
    payload: bytes
    t_ns: int
    hops: int


@dataclass(slots=True)
class NetworkCounters:
    """Bundle counters of one node (monotonic)."""

    bundles_originated: int = 0  #: bundles this node created (data and reports)
    bundles_delivered: int = 0  #: bundles delivered here (their destination)
    bytes_delivered: int = 0  #: payload octets of those
    bundles_forwarded: int = 0  #: bundles handed over (custody accepted by the next hop)
    bundles_received: int = 0  #: bundles reassembled from neighbours
    duplicates_suppressed: int = 0  #: second copies of delivered bundles
    bundles_expired: int = 0  #: deleted here at the end of their lifetime
    bundles_lost_reported: int = 0  #: losses of this node's bundles made known to it
    custody_refused: int = 0  #: custody refused by a next hop (its store full)
    withdrawn: int = 0  #: bundles taken back from a link (reroute or custody timeout)
    frames_in_error: int = 0  #: frames failing CRC or undecodable
    frames_misdirected: int = 0  #: frames for another node or from an unknown one
    corrupt_bundles: int = 0  #: bundles failing a CRC after reassembly
    dropped_by_priority: list[int] = field(default_factory=lambda: [0] * PRIORITIES)


@dataclass(slots=True)
class _InFlight:
    peer: str
    tags: tuple[tuple[BundleId, int], ...]
    acked: int = 0
    all_acked_ns: int = -1


@dataclass(slots=True)
class _Partial:
    total: int
    parts: dict[int, bytes]
    size: int
    touched_ns: int


def _size_class(size_bytes: int) -> int:
    """The size a bundle is routed as: the next power of two octets. Conservative (a contact
    that carries it carries the bundle), so bundles of similar size share one search."""
    return 1 << max(size_bytes - 1, 0).bit_length()


class IslNetwork:
    """Store-and-forward bundle node over selective-repeat ARQ links (see the module doc).

    ``name``: this node. ``known``: names of other nodes (addresses are derived from names;
    a frame or custody signal from a name never made known is counted as misdirected; more
    can be added with :meth:`know`). Sizes in octets, times in ns.
    """

    def __init__(
        self,
        name: str,
        known: Iterable[str] = (),
        *,
        storage_bytes: int = 64 << 20,
        window: int = 512,
        rto_ns: int = 2_000_000_000,
        custody_timeout_ns: int = 30_000_000_000,
        max_frames_per_step: int = 256,
        max_hops: int = 8,
        report_lifetime_ns: int = 3_600_000_000_000,
        live_contact_ns: int = 60_000_000_000,
        reassembly_timeout_ns: int = 600_000_000_000,
        session: int = 0,
    ) -> None:
        if not name or len(name.encode()) > 255:
            raise ValueError(f"node name {name!r} must be 1..255 UTF-8 octets")
        if max_frames_per_step < 1 or max_hops < 1:
            raise ValueError("max_frames_per_step and max_hops must be >= 1")
        self.name = name
        self.address = node_address(name)
        self._names: dict[int, str] = {}
        self.store = BundleStore(storage_bytes)
        self._window, self._rto = window, rto_ns
        self.custody_timeout_ns = custody_timeout_ns
        self.max_frames_per_step = max_frames_per_step
        self.max_hops = max_hops
        self.report_lifetime_ns = report_lifetime_ns
        self.live_contact_ns = live_contact_ns
        self.reassembly_timeout_ns = reassembly_timeout_ns
        self._session = session
        self.links: dict[str, ArqLink] = {}
        self._transports: list[FrameTransport] = []
        self._credit: dict[int, float] = {}
        self._plan: list[Contact] = []
        self._plan_index: dict[str, list[Edge]] = {}
        self._plan_edges: dict[str, list[Edge]] = {}
        self._routes: dict[tuple[int, int, tuple[str, ...]], dict[str, Route]] = {}
        self._next_start: dict[str, int] = {}
        self._plan_stale = True  # the plan's index needs rebuilding
        self._plan_min_end: float = math.inf
        self._in_flight: dict[BundleId, _InFlight] = {}
        self._partials: dict[tuple[str, int, int], _Partial] = {}
        self._delivered: dict[BundleId, int] = {}
        self._inbox: dict[BundleKind, collections.deque[Delivery]] = {
            k: collections.deque() for k in BundleKind
        }
        self._lost: list[LostBundle] = []
        self._refused: dict[str, int] = {}
        self._seq = 0
        self.now_ns = 0
        self.counters = NetworkCounters()
        for n in known:
            self.know(n)

    # ------------------------------------------------------------------ configuration
    def know(self, name: str) -> None:
        """Make node ``name`` known (its frames and custody signals are accepted)."""
        if name != self.name:
            self._names[node_address(name)] = name

    @property
    def known(self) -> tuple[str, ...]:
        """Names of the other nodes known to this one."""
        return tuple(sorted(self._names.values()))

    def add_transport(self, transport: FrameTransport) -> None:
        """Carry frames over ``transport`` from now on."""
        self._transports.append(transport)
        self._credit[id(transport)] = 0.0

    def set_plan(self, contacts: Sequence[Contact]) -> None:
        """Replace the contact plan (contacts between any known nodes, onboard ns)."""
        self._plan = list(contacts)
        for c in self._plan:
            self.know(c.a)
            self.know(c.b)
        self._plan_stale = True
        self._rebuild_index()

    @property
    def plan(self) -> tuple[Contact, ...]:
        """The current contact plan."""
        return tuple(self._plan)

    def _rebuild_index(self) -> None:
        # Routes are a pure function of the index, the time, the size and the refusals: one
        # search per distinct question per step (the cost model asks the same many times).
        self._routes.clear()
        now = self.now_ns
        if self._plan_stale or now >= self._plan_min_end:
            self._rebuild_plan_index(now)
        base = self._plan_edges
        live = self._live_contacts()
        if not live:
            self._plan_index = base
            return
        # The live contacts come first in their nodes' lists, then the plan's: an overlay on
        # the plan's index, which only changes when the plan does.
        front = edge_index(live)
        idx = dict(base)
        for node, edges in front.items():
            idx[node] = edges + base.get(node, [])
        self._plan_index = idx

    def _rebuild_plan_index(self, now: int) -> None:
        """Index the plan by node as edges (contacts that have ended dropped: they carry
        nothing) and note when the next one ends and when each peer's next contact starts."""
        self._plan = [c for c in self._plan if c.end_ns > now]
        self._plan_edges = edge_index(self._plan)
        nxt: dict[str, int] = {}
        for peer, start, *_ in self._plan_edges.get(self.name, ()):
            nxt[peer] = min(nxt.get(peer, start), start)
        self._plan_min_end = min((c.end_ns for c in self._plan), default=math.inf)
        self._next_start = nxt
        self._plan_stale = False

    def _live_contacts(self) -> list[Contact]:
        out = []
        for t in self._transports:
            p = t.peer()
            if p is not None and t.rate_bps() > 0:
                out.append(Contact(self.name, p, self.now_ns, self.now_ns + self.live_contact_ns,
                                   t.rate_bps()))
        return out

    def link(self, peer: str) -> ArqLink:
        """The ARQ link with ``peer`` (created on first use)."""
        lk = self.links.get(peer)
        if lk is None:
            lk = ArqLink(self.address, node_address(peer), window=self._window,
                         rto_ns=self._rto, session=self._session + node_address(peer))
            self.links[peer] = lk
        return lk

    # ------------------------------------------------------------------ application API
    def send(
        self,
        destination: str,
        payload: bytes,
        *,
        priority: int = 1,
        lifetime_ns: int = 600_000_000_000,
        kind: BundleKind = BundleKind.DATA,
    ) -> BundleId:
        """Originate a bundle at the current time; returns its id. ValueError on bad
        arguments, :class:`StorageFullError` when it does not fit (nothing is queued)."""
        if not 0 <= priority < PRIORITIES:
            raise ValueError(f"priority {priority} outside 0..{PRIORITIES - 1}")
        if lifetime_ns <= 0:
            raise ValueError(f"lifetime {lifetime_ns} ns must be > 0")
        data = bytes(payload)
        b = Bundle(self.name, self._seq, destination, priority, self.now_ns, lifetime_ns, kind,
                   data, crc32c(data))
        coded = encode_bundle(b)  # ValueError on a bad name, before any state changes
        if destination == self.name:
            self._seq += 1
            self.counters.bundles_originated += 1
            self._deliver(b, self.now_ns)
            return b.id
        self.know(destination)
        try:
            self._store(b, coded)
        except StorageFullError:
            self.counters.dropped_by_priority[priority] += 1
            raise  # nothing queued; the sequence number stays unused
        self._seq += 1
        self.counters.bundles_originated += 1
        return b.id

    def receive(self, kind: BundleKind = BundleKind.DATA) -> Delivery | None:
        """The next bundle of ``kind`` delivered here, or None."""
        q = self._inbox[kind]
        return q.popleft() if q else None

    def take_lost(self) -> list[LostBundle]:
        """Losses of bundles this node originated, learned since the last call."""
        out, self._lost = self._lost, []
        return out

    def route(self, destination: str, size_bytes: int) -> Route | None:
        """Earliest-arrival route from here now for a bundle of ``size_bytes`` (or None)."""
        return self._cached_route(destination, _size_class(size_bytes), self.now_ns, ())

    @property
    def in_flight(self) -> int:
        """Stored bundles currently handed to a link."""
        return len(self._in_flight)

    def link_counters(self) -> LinkCounters:
        """Frame counters summed over every link."""
        total = LinkCounters()
        for lk in self.links.values():
            c = lk.counters
            total.frames_sent += c.frames_sent
            total.frames_received += c.frames_received
            total.frames_retransmitted += c.frames_retransmitted
            total.frames_duplicate += c.frames_duplicate
            total.resyncs += c.resyncs
        return total

    # ------------------------------------------------------------------ step
    def step(self, now_ns: int, dt_ns: int) -> None:
        """Advance to onboard time ``now_ns``; ``dt_ns`` is the time since the last step
        (the transports' byte budget)."""
        self.now_ns = now_ns
        self._rebuild_index()
        for t in self._transports:
            self._receive_all(t, now_ns)
        self._expire(now_ns)
        self._check_custody(now_ns)
        self._reroute(now_ns)
        for t in self._transports:
            self._transmit(t, now_ns, dt_ns)

    def _receive_all(self, t: FrameTransport, now_ns: int) -> None:
        for _ in range(4 * self.max_frames_per_step + 16):
            raw = t.receive()
            if raw is None:
                return
            try:
                frame = decode_frame(raw)
            except WireError:
                self.counters.frames_in_error += 1
                continue
            src = self._names.get(frame.src)
            if frame.dst != self.address or src is None:
                self.counters.frames_misdirected += 1
                continue
            lk = self.link(src)
            for payload in lk.on_frame(frame):
                self._on_payload(src, payload, now_ns)
            for tag in lk.take_acked():
                self._on_segment_acked(tag, now_ns)  # type: ignore[arg-type]

    def _on_segment_acked(self, tag: tuple[BundleId, int], now_ns: int) -> None:
        fl = self._in_flight.get(tag[0])
        if fl is not None:
            fl.acked += 1
            if fl.acked >= len(fl.tags):
                fl.all_acked_ns = now_ns

    def _on_payload(self, src: str, payload: bytes, now_ns: int) -> None:
        try:
            item = decode_link_payload(payload)
        except WireError:
            self.counters.frames_in_error += 1
            return
        if isinstance(item, Custody):
            self._on_custody(src, item)
            return
        self._on_segment(src, item, now_ns)

    def _on_custody(self, src: str, c: Custody) -> None:
        origin = self.name if c.source_addr == self.address else self._names.get(c.source_addr)
        if origin is None:
            return
        bid = BundleId(origin, c.seq)
        fl = self._in_flight.get(bid)
        if c.accepted:
            # Custody is custody, even of a copy already withdrawn for rerouting: delete ours
            # (and take it back from any other link) so fewer copies roam the network.
            if bid in self.store:
                self._withdraw(bid, counted=fl is None or fl.peer != src)
                self.store.remove(bid)
                self.counters.bundles_forwarded += 1
            return
        if fl is not None and fl.peer == src:
            self._withdraw(bid)
            self.counters.custody_refused += 1
            self._refused[src] = self.now_ns + self.custody_timeout_ns

    def _on_segment(self, src: str, s: Segment, now_ns: int) -> None:
        key = (src, s.source_addr, s.seq)
        part = self._partials.get(key)
        if part is None or part.total != s.total:
            part = _Partial(s.total, {}, 0, now_ns)
            self._partials[key] = part
        old = part.parts.get(s.offset)
        if old is None:
            part.parts[s.offset] = s.data
            part.size += len(s.data)
        elif len(old) != len(s.data):  # another segmentation: start over with this one
            part.parts, part.size = {s.offset: s.data}, len(s.data)
        part.touched_ns = now_ns
        if part.size < part.total:
            return
        del self._partials[key]
        coded = b"".join(part.parts[o] for o in sorted(part.parts))
        try:
            b = decode_bundle(coded)
        except WireError:
            # The hop CRC failed: no custody, so the sender keeps it and tries again.
            self.counters.corrupt_bundles += 1
            return
        self.counters.bundles_received += 1
        self.know(b.source)
        self.know(b.destination)
        accepted = self._accept(b, now_ns)
        self.link(src).sender.offer(encode_custody(Custody(s.source_addr, s.seq, accepted)))

    def _accept(self, b: Bundle, now_ns: int) -> bool:
        """Take custody of a received bundle (True) or refuse it (store full)."""
        if b.destination == self.name:
            self._deliver(b, now_ns)
            return True
        if b.expires_ns <= now_ns:
            self._report(b, LossReason.EXPIRED, now_ns)
            return True
        if b.id in self.store or b.id in self._delivered:
            return True  # a second copy (custody signal lost): we hold it already
        fwd = Bundle(b.source, b.seq, b.destination, b.priority, b.created_ns, b.lifetime_ns,
                     b.kind, b.payload, b.payload_crc, b.hops + 1)
        if fwd.hops > self.max_hops:
            self._report(b, LossReason.HOP_LIMIT, now_ns)
            return True
        try:
            self._store(fwd, encode_bundle(fwd))
        except StorageFullError:
            return False
        return True

    def _store(self, b: Bundle, coded: bytes) -> None:
        for ev in self.store.add(b, coded):
            self.counters.dropped_by_priority[ev.priority] += 1
            self._withdraw(ev.id)
            self._report(ev, LossReason.STORAGE, self.now_ns)

    def _deliver(self, b: Bundle, now_ns: int) -> None:
        if b.id in self._delivered:
            self.counters.duplicates_suppressed += 1
            return
        if crc32c(b.payload) != b.payload_crc:
            self.counters.corrupt_bundles += 1
            self._report(b, LossReason.CORRUPT, now_ns)
            return
        self._delivered[b.id] = max(b.expires_ns, now_ns)
        if b.kind is BundleKind.REPORT:
            try:
                lost = decode_report(b.payload)
            except WireError:
                self.counters.corrupt_bundles += 1
                return
            if lost.bundle.source == self.name:
                self._lost.append(lost)
                self.counters.bundles_lost_reported += 1
        self.counters.bundles_delivered += 1
        self.counters.bytes_delivered += len(b.payload)
        self._inbox[b.kind].append(
            Delivery(b.id, b.kind, b.priority, b.created_ns, b.payload, now_ns, b.hops)
        )

    def _report(self, b: Bundle, reason: LossReason, now_ns: int) -> None:
        """Make the loss of ``b`` known to its source (never silent)."""
        lost = LostBundle(b.id, b.destination, reason, self.name, now_ns)
        if b.source == self.name:
            self._lost.append(lost)
            self.counters.bundles_lost_reported += 1
            return
        if b.kind is BundleKind.REPORT:
            return  # a lost report is counted here only (no reports about reports)
        rep = Bundle(self.name, self._seq, b.source, PRIORITIES - 2, now_ns,
                     self.report_lifetime_ns, BundleKind.REPORT, encode_report(lost), 0)
        payload = rep.payload
        rep = Bundle(rep.source, rep.seq, rep.destination, rep.priority, rep.created_ns,
                     rep.lifetime_ns, rep.kind, payload, crc32c(payload))
        try:
            self._store(rep, encode_bundle(rep))
        except StorageFullError:
            return
        self._seq += 1
        self.counters.bundles_originated += 1

    # ------------------------------------------------------------------ housekeeping
    def _expire(self, now_ns: int) -> None:
        for b in self.store.expired(now_ns):
            self.counters.bundles_expired += 1
            self._withdraw(b.id)
            self._report(b, LossReason.EXPIRED, now_ns)
        for bid in [k for k, exp in self._delivered.items() if exp < now_ns]:
            del self._delivered[bid]
        for key in [k for k, p in self._partials.items()
                    if now_ns - p.touched_ns > self.reassembly_timeout_ns]:
            del self._partials[key]  # the sender still has custody of it

    def _check_custody(self, now_ns: int) -> None:
        for bid, fl in list(self._in_flight.items()):
            if fl.all_acked_ns >= 0 and now_ns - fl.all_acked_ns > self.custody_timeout_ns:
                self._withdraw(bid)

    def _reroute(self, now_ns: int) -> None:
        """Bundles queued on a link that is down resume there when it returns, unless their
        route now leaves through another neighbour: then they are withdrawn and rerouted."""
        up = {p for p in (t.peer() for t in self._transports) if p is not None}
        for bid, fl in list(self._in_flight.items()):
            if fl.peer in up:
                continue
            item = self.store.get(bid)
            if item is None:
                continue
            r = self._route_for(item[0], len(item[1]), now_ns)
            if r is not None and r.next_hop != fl.peer:
                self._withdraw(bid)

    def _withdraw(self, bid: BundleId, *, counted: bool = True) -> None:
        fl = self._in_flight.pop(bid, None)
        if fl is not None:
            self.links[fl.peer].sender.withdraw(fl.tags)
            self.counters.withdrawn += counted

    # ------------------------------------------------------------------ transmission
    def _transmit(self, t: FrameTransport, now_ns: int, dt_ns: int) -> None:
        peer = t.peer()
        rate = t.rate_bps()
        if peer is None or rate <= 0.0:
            self._credit[id(t)] = 0.0
            return
        lk = self.link(peer)
        self._feed(lk, peer, t.mtu_bytes, now_ns)
        credit = min(self._credit[id(t)] + rate * dt_ns / 8e9, rate * max(dt_ns, 1) / 4e9)
        frames = 0
        while credit > 0 and frames < self.max_frames_per_step:
            batch = lk.poll(now_ns, 1)
            if not batch:
                break
            for raw in batch:
                if not t.send(raw):
                    self._credit[id(t)] = 0.0
                    return
                credit -= len(raw)
                frames += 1
        self._credit[id(t)] = min(credit, 0.0) if frames else 0.0

    def _route_for(self, b: Bundle, size: int, now_ns: int) -> Route | None:
        # Routed as the next power of two octets: a conservative size (a window that fits it
        # fits the bundle), so bundles of similar size share one route per step.
        return self._cached_route(b.destination, _size_class(size), now_ns, self._banned(now_ns))

    def _banned(self, now_ns: int) -> tuple[str, ...]:
        """Neighbours that refused custody recently (routes avoid them until then)."""
        if not self._refused:
            return ()
        return tuple(sorted(p for p, until in self._refused.items() if until > now_ns))

    def _cached_route(
        self, destination: str, size: int, now_ns: int, banned: tuple[str, ...]
    ) -> Route | None:
        """The route to ``destination``: one search to every destination per size, time and
        refusals (:func:`earliest_arrivals`), memoised until the next index rebuild."""
        if destination == self.name:
            return Route(destination, now_ns, 0)
        key = (size, now_ns, banned)
        routes = self._routes.get(key)
        if routes is None:
            routes = earliest_arrivals_indexed(self._plan_index, self.name, now_ns, size,
                                       exclude=banned, max_hops=self.max_hops)
            self._routes[key] = routes
        return routes.get(destination)

    def _feed(self, lk: ArqLink, peer: str, mtu: int, now_ns: int) -> None:
        if lk.sender.room <= 0:
            return
        cache: dict[tuple[str, int], str | None] = {}
        for b in self.store.by_priority():
            if lk.sender.room <= 0:
                return
            if b.id in self._in_flight:
                continue
            item = self.store.get(b.id)
            if item is None:
                continue
            coded = item[1]
            key = (b.destination, len(coded).bit_length())
            if key not in cache:
                r = self._route_for(b, len(coded), now_ns)
                cache[key] = r.next_hop if r is not None else None
            if cache[key] != peer:
                continue
            segs = segment_bundle(b, coded, mtu - FRAME_OVERHEAD_BYTES)
            if len(segs) > lk.sender.room and not lk.sender.idle:
                continue  # wait for the window to drain; a smaller bundle may fit
            tags = tuple((b.id, k) for k in range(len(segs)))
            for seg, tag in zip(segs, tags, strict=True):
                lk.sender.offer(seg, tag)
            self._in_flight[b.id] = _InFlight(peer, tags)

    # ------------------------------------------------------------------ introspection
    def next_contact_s(self, peer: str) -> float:
        """Seconds until the next planned contact with ``peer`` starts (0 if in one now,
        inf if none planned)."""
        start = self._next_start.get(peer)
        return math.inf if start is None else max(0.0, (start - self.now_ns) / 1e9)

    def in_contact(self) -> set[str]:
        """Neighbours with a planned contact open now."""
        now = self.now_ns
        return {peer for peer, start, end, *_ in self._plan_edges.get(self.name, ())
                if start <= now < end}

    def demand(self) -> set[str]:
        """Neighbours that stored bundles are routed through now."""
        out: set[str] = set()
        now = self.now_ns
        banned = self._banned(now)
        in_flight = self._in_flight
        for b in self.store.by_priority():
            bid = b.id
            fl = in_flight.get(bid)
            if fl is not None:
                out.add(fl.peer)
                continue
            item = self.store.get(bid)
            if item is not None:
                r = self._cached_route(b.destination, _size_class(len(item[1])), now, banned)
                if r is not None:
                    out.add(r.next_hop)
        return out
