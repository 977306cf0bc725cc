"""Selective-repeat ARQ over link frames, one :class:`ArqLink` per neighbour.

The sender keeps at most ``window`` frames outstanding. A frame is retransmitted when a later
frame (in transmission order) has been acknowledged while it has not (loss inferred from the
SACK bitmap, as RACK does), or when its retransmission timeout ``rto_ns`` expires. The
receiver buffers out-of-order frames inside its window and delivers payloads in sequence
order exactly once; it acknowledges once per poll with its cumulative number and a bitmap.

Sequence numbers are unbounded integers inside, 32-bit on the wire: a wire value is unwrapped
to the number nearest the reference (window << 2**31).

Everything survives a link drop: outstanding frames simply wait (their timers fire again when
the link is back), so a transfer resumes where it stopped. A payload may be *withdrawn*
(its bundle rerouted): its sequence number is then sent as an empty NOP frame so the
receiver's window can still move. A receiver that lost its state (reboot) answers a
mid-session frame with a RESYNC ACK; the sender then starts a new session, re-sending its
unacknowledged payloads from sequence number 0.
"""

from __future__ import annotations

import collections
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from flight.isl._frames import (
    FLAG_NOP,
    FLAG_RESYNC,
    FLAG_SYN,
    FrameKind,
    LinkFrame,
    encode_frame,
    pack_ack,
    unpack_ack,
)

__all__ = ["ArqLink", "ArqReceiver", "ArqSender", "LinkCounters", "unwrap_seq"]

_MOD = 1 << 32
_HALF = 1 << 31


def unwrap_seq(wire: int, reference: int) -> int:
    """The full sequence number congruent to ``wire`` (mod 2**32) nearest ``reference``."""
    diff = (wire - reference) % _MOD
    return reference + diff if diff < _HALF else reference + diff - _MOD


@dataclass(slots=True)
class _Out:
    payload: bytes
    tag: Hashable | None
    nop: bool
    sent_ns: int
    order: int  # transmission order of the latest (re)transmission
    lost: bool


class ArqSender:
    """The sending half of selective repeat: numbering, window, retransmission."""

    def __init__(self, window: int, rto_ns: int) -> None:
        if window < 1 or window >= _HALF:
            raise ValueError(f"ARQ window {window} outside 1..2**31-1")
        if rto_ns <= 0:
            raise ValueError(f"ARQ retransmission timeout {rto_ns} ns must be > 0")
        self.window = window
        self.rto_ns = rto_ns
        self.base = 0  #: lowest unacknowledged sequence number
        self.next_seq = 0  #: next sequence number to assign
        self._out: dict[int, _Out] = {}  # insertion order == sequence order
        self._pending: collections.deque[tuple[bytes, Hashable | None]] = collections.deque()
        self._timers: collections.deque[tuple[int, int, int]] = collections.deque()
        self._order = 0
        self.sent = 0  #: DATA frames transmitted (first time + retransmissions)
        self.retransmitted = 0  #: retransmissions
        self.acked = 0  #: sequence numbers acknowledged

    @property
    def outstanding(self) -> int:
        """Frames sent and not yet acknowledged."""
        return len(self._out)

    @property
    def room(self) -> int:
        """Payloads that can be offered without exceeding the window."""
        return max(0, self.window - len(self._out) - len(self._pending))

    @property
    def idle(self) -> bool:
        """True when nothing is pending or outstanding."""
        return not self._out and not self._pending

    def offer(self, payload: bytes, tag: Hashable | None = None) -> None:
        """Queue ``payload`` (``tag`` comes back from :meth:`on_ack` once it is acknowledged)."""
        self._pending.append((bytes(payload), tag))

    def withdraw(self, tags: Iterable[Hashable]) -> int:
        """Withdraw every queued or outstanding payload whose tag is in ``tags``; outstanding
        ones become NOPs (their numbers still have to reach the receiver). Returns how many."""
        wanted = set(tags)
        n = 0
        kept: collections.deque[tuple[bytes, Hashable | None]] = collections.deque()
        for payload, tag in self._pending:
            if tag in wanted:
                n += 1
            else:
                kept.append((payload, tag))
        self._pending = kept
        for o in self._out.values():
            if not o.nop and o.tag in wanted:
                o.nop, o.payload, o.tag = True, b"", None
                n += 1
        return n

    def drain(self) -> list[tuple[bytes, Hashable | None]]:
        """Remove and return every unacknowledged payload (outstanding first, in sequence
        order, then pending): for a new session."""
        out = [(o.payload, o.tag) for o in self._out.values() if not o.nop]
        out.extend(self._pending)
        self._out.clear()
        self._pending.clear()
        self._timers.clear()
        return out

    def poll(self, now_ns: int, max_frames: int) -> list[tuple[int, bytes, bool]]:
        """Up to ``max_frames`` frames to transmit now, as ``(seq, payload, nop)``:
        retransmissions (lost, then timed out) before new frames."""
        if max_frames <= 0:
            return []
        # timers in transmission order: a constant RTO keeps the deque sorted by deadline
        while self._timers and now_ns - self._timers[0][0] >= self.rto_ns:
            _, seq, order = self._timers.popleft()
            o = self._out.get(seq)
            if o is not None and o.order == order:
                o.lost = True
        frames: list[tuple[int, bytes, bool]] = []
        for seq, o in self._out.items():
            if len(frames) >= max_frames:
                return frames
            if o.lost:
                self.retransmitted += 1
                frames.append(self._transmit(seq, o, now_ns))
        while self._pending and len(frames) < max_frames and len(self._out) < self.window:
            payload, tag = self._pending.popleft()
            seq = self.next_seq
            self.next_seq += 1
            o = _Out(payload, tag, False, now_ns, 0, False)
            self._out[seq] = o
            frames.append(self._transmit(seq, o, now_ns))
        return frames

    def _transmit(self, seq: int, o: _Out, now_ns: int) -> tuple[int, bytes, bool]:
        self._order += 1
        o.order, o.sent_ns, o.lost = self._order, now_ns, False
        self._timers.append((now_ns, seq, self._order))
        self.sent += 1
        return seq, o.payload, o.nop

    def on_ack(self, cum_wire: int, offsets: list[int]) -> list[Hashable]:
        """Process an acknowledgement; returns the tags of newly acknowledged payloads
        (NOPs and untagged payloads excluded). An ACK beyond what was sent is ignored."""
        cum = unwrap_seq(cum_wire, self.base)
        if cum > self.next_seq or cum < self.base - self.window:
            return []
        done: list[Hashable] = []
        top_order = 0
        top_seq = -1
        for seq in range(self.base, max(self.base, cum)):
            o = self._out.pop(seq, None)
            if o is not None:
                self._ack(o, done)
                top_order, top_seq = max(top_order, o.order), seq
        self.base = max(self.base, cum)
        for k in offsets:
            seq = cum + k
            o = self._out.pop(seq, None)
            if o is not None:
                self._ack(o, done)
                if o.order > top_order:
                    top_order = o.order
                top_seq = max(top_seq, seq)
        if self._out:
            self.base = next(iter(self._out))
        else:
            self.base = self.next_seq
        # Anything sent before a frame that got through, and still unacknowledged, is lost.
        for seq, o in self._out.items():
            if seq > top_seq:
                break
            if o.order < top_order:
                o.lost = True
        return done

    def _ack(self, o: _Out, done: list[Hashable]) -> None:
        self.acked += 1
        if not o.nop and o.tag is not None:
            done.append(o.tag)


class ArqReceiver:
    """The receiving half: in-window buffering, in-order exactly-once delivery, SACK."""

    def __init__(self, window: int) -> None:
        if window < 1 or window >= _HALF:
            raise ValueError(f"ARQ window {window} outside 1..2**31-1")
        self.window = window
        self.expected = 0  #: next in-order sequence number
        self._buf: dict[int, tuple[bytes, bool]] = {}
        self.ack_due = False
        self.duplicates = 0  #: frames received again (already delivered or buffered)
        self.out_of_window = 0  #: frames beyond the window (dropped)

    def on_data(self, seq_wire: int, payload: bytes, nop: bool) -> list[bytes]:
        """Accept one DATA frame; returns the payloads now deliverable, in order."""
        seq = unwrap_seq(seq_wire, self.expected)
        self.ack_due = True
        if seq < self.expected or seq in self._buf:
            self.duplicates += 1
            return []
        if seq >= self.expected + self.window:
            self.out_of_window += 1
            return []
        self._buf[seq] = (payload, nop)
        out: list[bytes] = []
        while self.expected in self._buf:
            data, is_nop = self._buf.pop(self.expected)
            if not is_nop:
                out.append(data)
            self.expected += 1
        return out

    def ack_payload(self) -> bytes:
        """The ACK payload for the current state (clears ``ack_due``)."""
        self.ack_due = False
        return pack_ack(self.expected, sorted(self._buf))


@dataclass(slots=True)
class LinkCounters:
    """Frame counters of one link (monotonic)."""

    frames_sent: int = 0  #: every frame put on the transport (DATA and ACK)
    frames_received: int = 0  #: frames decoded for this link
    frames_retransmitted: int = 0  #: DATA retransmissions
    frames_duplicate: int = 0  #: DATA frames received twice
    resyncs: int = 0  #: sessions restarted after the peer lost its state


class ArqLink:
    """Selective-repeat ARQ with one neighbour: both halves, sessions and frame coding.

    ``session`` is this side's first session number (any 32-bit value; a different one after
    each processor boot keeps stale frames of an earlier life from being accepted).
    """

    def __init__(
        self, local: int, peer: int, *, window: int, rto_ns: int, session: int
    ) -> None:
        self.local, self.peer = local, peer
        self._window, self._rto = window, rto_ns
        self.sender = ArqSender(window, rto_ns)
        self.receiver = ArqReceiver(window)
        self.tx_session = session % _MOD
        self.rx_session: int | None = None
        self._synced = False
        self._resync_for: int | None = None
        self.acked_tags: list[Hashable] = []  #: tags acknowledged since last drained
        self.counters = LinkCounters()

    def on_frame(self, frame: LinkFrame) -> list[bytes]:
        """Handle a decoded frame from the peer; returns payloads delivered in order."""
        self.counters.frames_received += 1
        if frame.kind is FrameKind.ACK:
            if frame.session != self.tx_session:
                return []  # an ACK of an earlier session
            if frame.flags & FLAG_RESYNC:
                self._restart_session()
                return []
            cum, offsets = unpack_ack(frame.payload)
            self._synced = True
            self.acked_tags.extend(self.sender.on_ack(cum, offsets))
            return []
        if frame.session != self.rx_session:
            if not frame.flags & FLAG_SYN:
                self._resync_for = frame.session  # we lost this session's state
                return []
            self.rx_session = frame.session
            self.receiver = ArqReceiver(self._window)
        before = self.receiver.duplicates
        out = self.receiver.on_data(frame.seq, frame.payload, bool(frame.flags & FLAG_NOP))
        self.counters.frames_duplicate += self.receiver.duplicates - before
        return out

    def _restart_session(self) -> None:
        payloads = self.sender.drain()
        self.sender = ArqSender(self._window, self._rto)
        for payload, tag in payloads:
            self.sender.offer(payload, tag)
        self.tx_session = (self.tx_session + 1) % _MOD
        self._synced = False
        self.counters.resyncs += 1

    def poll(self, now_ns: int, max_frames: int) -> list[bytes]:
        """Encoded frames to put on the transport now (an ACK first when one is due)."""
        frames: list[bytes] = []
        if max_frames <= 0:
            return frames
        if self._resync_for is not None:
            frames.append(
                encode_frame(
                    LinkFrame(FrameKind.ACK, FLAG_RESYNC, self.local, self.peer,
                              self._resync_for, 0, b"\0\0\0\0")
                )
            )
            self._resync_for = None
        if self.receiver.ack_due and self.rx_session is not None:
            frames.append(
                encode_frame(
                    LinkFrame(FrameKind.ACK, 0, self.local, self.peer, self.rx_session, 0,
                              self.receiver.ack_payload())
                )
            )
        before = self.sender.retransmitted
        syn = 0 if self._synced else FLAG_SYN
        for seq, payload, nop in self.sender.poll(now_ns, max_frames - len(frames)):
            flags = syn | (FLAG_NOP if nop else 0)
            frames.append(
                encode_frame(
                    LinkFrame(FrameKind.DATA, flags, self.local, self.peer, self.tx_session,
                              seq % _MOD, payload)
                )
            )
        self.counters.frames_retransmitted += self.sender.retransmitted - before
        self.counters.frames_sent += len(frames)
        return frames

    def take_acked(self) -> list[Hashable]:
        """Tags acknowledged since the last call."""
        out, self.acked_tags = self.acked_tags, []
        return out
