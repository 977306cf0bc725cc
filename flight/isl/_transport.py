"""The transport seam: what the link layer needs from whatever carries its frames.

The same :class:`~flight.isl.IslNetwork` runs over :class:`TerminalTransport` (a HAL laser
terminal, in a node) and over :class:`LossyChannel` ends (in memory, seeded: loss,
duplication, reordering, corruption, latency, link cuts) in unit tests and benchmarks.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from hal.laser import LaserReading, LaserTerminal, PatState
from native.errors import DeviceCommandError, DeviceFaultError, DeviceUnavailableError

__all__ = ["ChannelEnd", "FrameTransport", "LossyChannel", "TerminalTransport"]


@runtime_checkable
class FrameTransport(Protocol):
    """Carries whole frames to one neighbour at a time."""

    @property
    def mtu_bytes(self) -> int:
        """Largest frame :meth:`send` accepts (octets)."""
        ...

    def peer(self) -> str | None:
        """Name of the node at the other end while the link is up, else None."""
        ...

    def rate_bps(self) -> float:
        """Current link data rate (bit/s); 0 while down."""
        ...

    def send(self, frame: bytes) -> bool:
        """Transmit one frame; False when it could not be sent (link down)."""
        ...

    def receive(self) -> bytes | None:
        """Next received frame, or None."""
        ...


class TerminalTransport:
    """A :class:`~hal.laser.LaserTerminal` as a frame transport.

    :meth:`refresh` takes the terminal's newest reading (the component reads the terminal
    once per step); the link is up while that reading says COMM with a named peer.
    """

    def __init__(self, terminal: LaserTerminal) -> None:
        self._terminal = terminal
        self._reading: LaserReading | None = None
        self.send_errors = 0  #: frames the terminal refused (link dropped within the step)

    def refresh(self, reading: LaserReading | None) -> None:
        """Use ``reading`` (None: the terminal could not be read) until the next refresh."""
        self._reading = reading

    @property
    def mtu_bytes(self) -> int:
        """The terminal's MTU (octets)."""
        return self._terminal.mtu_bytes

    def peer(self) -> str | None:
        """The peer while the terminal is in COMM."""
        r = self._reading
        if r is None or r.state is not PatState.COMM or not r.peer:
            return None
        return r.peer

    def rate_bps(self) -> float:
        """Negotiated rate from the newest reading (bit/s)."""
        r = self._reading
        return r.link_rate_bps if r is not None and r.state is PatState.COMM else 0.0

    def send(self, frame: bytes) -> bool:
        """Send through the terminal; a refusal (link lost this step) is counted, not raised."""
        try:
            self._terminal.send(frame)
        except (DeviceCommandError, DeviceFaultError, DeviceUnavailableError):
            self.send_errors += 1
            return False
        return True

    def receive(self) -> bytes | None:
        """Next frame from the terminal (None when empty or unpowered)."""
        try:
            return self._terminal.receive()
        except (DeviceFaultError, DeviceUnavailableError):
            return None


class LossyChannel:
    """An in-memory full-duplex link between two named nodes, deterministic for a seed.

    Each frame sent is lost with probability ``loss``, otherwise delivered after
    ``latency_ns`` plus, with probability ``reorder``, an extra uniform delay up to
    ``reorder_ns`` (which reorders it); it is duplicated with probability ``duplicate`` and
    one bit is flipped with probability ``corrupt``. ``clock()`` gives the onboard time (ns).
    While the channel is cut (:meth:`set_up`), sends fail and frames in flight are lost.
    """

    def __init__(
        self,
        a: str,
        b: str,
        clock: Callable[[], int],
        *,
        seed: int = 0,
        loss: float = 0.0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        reorder_ns: int = 0,
        corrupt: float = 0.0,
        latency_ns: int = 0,
        rate_bps: float = 1e9,
        mtu_bytes: int = 16384,
    ) -> None:
        for name, p in (("loss", loss), ("duplicate", duplicate), ("reorder", reorder),
                        ("corrupt", corrupt)):
            if not 0.0 <= p <= 1.0 or math.isnan(p):
                raise ValueError(f"{name} probability {p} outside [0, 1]")
        if a == b:
            raise ValueError("a channel joins two different nodes")
        if latency_ns < 0 or reorder_ns < 0 or rate_bps <= 0 or mtu_bytes < 1:
            raise ValueError("latency and reorder delay must be >= 0, rate and MTU > 0")
        self._clock = clock
        self._rng = np.random.default_rng(seed)
        self.loss, self.duplicate, self.reorder, self.corrupt = loss, duplicate, reorder, corrupt
        self.reorder_ns, self.latency_ns = reorder_ns, latency_ns
        self.rate = rate_bps
        self.mtu = mtu_bytes
        self.up = True
        self._seq = 0
        self._queues: dict[str, list[tuple[int, int, bytes]]] = {a: [], b: []}
        self._ends = {a: ChannelEnd(self, a, b), b: ChannelEnd(self, b, a)}
        self.sent = self.lost = self.duplicated = self.corrupted = 0

    def end(self, node: str) -> ChannelEnd:
        """The transport seen by ``node`` (KeyError for a node not on this channel)."""
        return self._ends[node]

    def set_up(self, up: bool) -> None:
        """Restore or cut the link; a cut loses every frame in flight."""
        self.up = up
        if not up:
            for q in self._queues.values():
                self.lost += len(q)
                q.clear()

    def _send(self, dst: str, frame: bytes) -> bool:
        if not self.up:
            return False
        if not 0 < len(frame) <= self.mtu:
            raise ValueError(f"frame of {len(frame)} octets outside 1..{self.mtu}")
        self.sent += 1
        rng = self._rng
        if rng.random() < self.loss:
            self.lost += 1
            return True
        copies = 2 if rng.random() < self.duplicate else 1
        self.duplicated += copies - 1
        now = self._clock()
        for _ in range(copies):
            data = frame
            if rng.random() < self.corrupt:
                bit = int(rng.integers(0, len(frame) * 8))
                buf = bytearray(frame)
                buf[bit >> 3] ^= 1 << (bit & 7)
                data = bytes(buf)
                self.corrupted += 1
            at = now + self.latency_ns
            if self.reorder and rng.random() < self.reorder:
                at += int(rng.integers(0, self.reorder_ns + 1))
            self._seq += 1
            heapq.heappush(self._queues[dst], (at, self._seq, data))
        return True

    def _receive(self, node: str) -> bytes | None:
        q = self._queues[node]
        if q and q[0][0] <= self._clock():
            return heapq.heappop(q)[2]
        return None


class ChannelEnd:
    """One node's side of a :class:`LossyChannel` (a :class:`FrameTransport`)."""

    def __init__(self, channel: LossyChannel, node: str, other: str) -> None:
        self._ch, self.node, self.other = channel, node, other

    @property
    def mtu_bytes(self) -> int:
        """The channel's MTU (octets)."""
        return self._ch.mtu

    def peer(self) -> str | None:
        """The other node while the channel is up."""
        return self.other if self._ch.up else None

    def rate_bps(self) -> float:
        """The channel's rate while up (bit/s)."""
        return self._ch.rate if self._ch.up else 0.0

    def send(self, frame: bytes) -> bool:
        """Put ``frame`` on the channel towards the other node."""
        return self._ch._send(self.other, frame)

    def receive(self) -> bytes | None:
        """The next frame due at the current time."""
        return self._ch._receive(self.node)
