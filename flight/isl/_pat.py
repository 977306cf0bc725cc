"""Pointing, acquisition and tracking, driven through a HAL laser terminal.

The terminal itself runs the physical sequence (open-loop pointing, spiral scan, coarse and
fine tracking, communication; see :mod:`hal.laser`). :class:`PatManager` decides *whom* to
point at and *when to give up*:

- IDLE: no peer. The best candidate is chosen: enabled, in contact now (per the contact plan
  or unknown to it), not backing off after a failure; highest priority first, then peers
  that traffic is waiting for, then the one served least recently. ``acquire`` -> ACQUIRING.
- ACQUIRING: the terminal works towards COMM. COMM with that peer -> LINKED (an acquisition,
  timed from the attempt). No COMM within ``acq_timeout_ns``, or the terminal giving up by
  itself -> stop, back off that peer for ``retry_backoff_ns`` -> IDLE (a failure).
- LINKED: frames flow. The terminal leaving COMM -> REACQUIRING (a loss, and a new attempt
  with a fresh timeout). A strictly higher-priority candidate preempts after ``min_dwell_ns``
  in the state; an equal-or-higher-priority candidate that waits gets the terminal after
  ``max_dwell_ns`` (terminal time shared by priority, round robin among equals).
- REACQUIRING: as ACQUIRING, towards the same peer.
- FAULT: the terminal is in FAULT or cannot be read; IDLE again once it reads normally.

With a link schedule (``scheduled`` given to :meth:`PatManager.step`, the peer the schedule
names for this slot or ``""``), the schedule decides instead: the scheduled peer is the only
candidate, and a terminal serving or acquiring another peer turns to it at once. Both ends of
a scheduled link follow the same schedule, so each points at the other (a scan only finds a
peer that points back).

One terminal serves one peer at a time. All times are onboard ns.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass

from hal.laser import LaserReading, LaserTerminal, PatState
from native.errors import HalError

__all__ = ["LinkState", "PatManager", "PatPeer"]


@enum.unique
class LinkState(enum.IntEnum):
    """The link manager's state (telemetry ``state``)."""

    IDLE = 0
    ACQUIRING = 1
    LINKED = 2
    REACQUIRING = 3
    FAULT = 4


@dataclass(slots=True)
class PatPeer:
    """A neighbour the terminal may serve."""

    name: str
    priority: int = 1  #: 1..255, higher wins the terminal
    enabled: bool = True
    backoff_until_ns: int = 0  #: no new attempt before this time (after a failure)
    last_served_ns: int = -1  #: when the terminal last turned to this peer


class PatManager:
    """Chooses the terminal's peer and follows the PAT sequence (see the module doc)."""

    def __init__(
        self,
        terminal: LaserTerminal,
        peers: Collection[PatPeer],
        *,
        acq_timeout_ns: int,
        retry_backoff_ns: int,
        min_dwell_ns: int,
        max_dwell_ns: int,
    ) -> None:
        if acq_timeout_ns <= 0 or retry_backoff_ns < 0 or min_dwell_ns < 0:
            raise ValueError("PAT timeout must be > 0 and backoff/dwell >= 0")
        if max_dwell_ns < min_dwell_ns:
            raise ValueError("max_dwell_ns must be >= min_dwell_ns")
        self._t = terminal
        self.peers: dict[str, PatPeer] = {p.name: p for p in peers}
        self.acq_timeout_ns = acq_timeout_ns
        self.retry_backoff_ns = retry_backoff_ns
        self.min_dwell_ns = min_dwell_ns
        self.max_dwell_ns = max_dwell_ns
        self.state = LinkState.IDLE
        self.peer = ""  #: the peer being acquired or served ("" when IDLE)
        self.state_since_ns = 0  #: when the current state began
        self.attempt_start_ns = 0  #: when the current (re)acquisition began
        self.linked_since_ns = 0  #: when the terminal turned to the current peer
        self.attempts = 0  #: acquisitions started (including re-acquisitions)
        self.acquisitions = 0  #: attempts that reached COMM
        self.failures = 0  #: attempts given up
        self.losses = 0  #: links lost while LINKED
        self.acq_time_total_ns = 0  #: sum of the acquisition times of ``acquisitions``
        self.command_errors = 0  #: terminal commands refused

    @property
    def mean_acquisition_s(self) -> float:
        """Mean time from attempt to COMM (s); 0 before the first acquisition."""
        return self.acq_time_total_ns / self.acquisitions / 1e9 if self.acquisitions else 0.0

    def time_in_state_s(self, now_ns: int) -> float:
        """Seconds since the current state began."""
        return (now_ns - self.state_since_ns) / 1e9

    def _enter(self, state: LinkState, now_ns: int) -> None:
        if state is not self.state:
            self.state, self.state_since_ns = state, now_ns

    def eligible(self, now_ns: int, available: Collection[str] | None) -> list[PatPeer]:
        """Peers the terminal may turn to now (enabled, available, not backing off)."""
        return [
            p for p in self.peers.values()
            if p.enabled and now_ns >= p.backoff_until_ns
            and (available is None or p.name in available)
        ]

    @staticmethod
    def _rank(demand: Collection[str]) -> Callable[[PatPeer], tuple[int, bool, int, str]]:
        return lambda p: (-p.priority, p.name not in demand, p.last_served_ns, p.name)

    def step(
        self,
        now_ns: int,
        reading: LaserReading | None,
        available: Collection[str] | None = None,
        demand: Collection[str] = (),
        scheduled: str | None = None,
    ) -> None:
        """Advance with the terminal's newest ``reading`` (None: unreadable). ``available``:
        peers in contact now (None: all); ``demand``: peers traffic is waiting for;
        ``scheduled``: the link schedule's peer now (``""``: none; None: no schedule)."""
        if scheduled is not None:
            available = (
                {scheduled} if scheduled and (available is None or scheduled in available)
                else set()
            )
            if self.state is not LinkState.IDLE and self.peer != scheduled:
                self._stop(now_ns)  # the slot changed: both ends turn at once
        if reading is None or reading.state is PatState.FAULT:
            if self.state is not LinkState.FAULT:
                self.peer = ""
                self._enter(LinkState.FAULT, now_ns)
            return
        if self.state is LinkState.FAULT:
            self._enter(LinkState.IDLE, now_ns)
        cur = self.peers.get(self.peer)
        if self.state is not LinkState.IDLE and (cur is None or not cur.enabled):
            self._stop(now_ns)
        if self.state in (LinkState.ACQUIRING, LinkState.REACQUIRING):
            if reading.state is PatState.COMM and reading.peer == self.peer:
                self.acquisitions += 1
                self.acq_time_total_ns += now_ns - self.attempt_start_ns
                self._enter(LinkState.LINKED, now_ns)
            elif now_ns - self.attempt_start_ns >= self.acq_timeout_ns or (
                reading.state is PatState.IDLE and now_ns > self.attempt_start_ns
            ):
                self._give_up(now_ns)
        elif self.state is LinkState.LINKED:
            if reading.state is not PatState.COMM or reading.peer != self.peer:
                self.losses += 1
                self.attempts += 1
                self.attempt_start_ns = now_ns
                self._enter(LinkState.REACQUIRING, now_ns)
                if reading.state is PatState.IDLE or reading.peer != self.peer:
                    self._command_acquire(self.peer, now_ns)
            else:
                self._maybe_preempt(now_ns, available, demand)
        if self.state is LinkState.IDLE:
            cands = self.eligible(now_ns, available)
            if cands:
                best = min(cands, key=self._rank(demand))
                self._start(best, now_ns)

    def _maybe_preempt(
        self, now_ns: int, available: Collection[str] | None, demand: Collection[str]
    ) -> None:
        cur = self.peers[self.peer]
        dwell = now_ns - self.linked_since_ns
        others = [p for p in self.eligible(now_ns, available) if p.name != self.peer]
        if not others:
            return
        best = min(others, key=self._rank(demand))
        if (best.priority > cur.priority and dwell >= self.min_dwell_ns) or (
            best.priority >= cur.priority and dwell >= self.max_dwell_ns
            and best.name in demand
        ):
            self._stop(now_ns)
            self._start(best, now_ns)

    def _start(self, peer: PatPeer, now_ns: int) -> None:
        self.peer = peer.name
        peer.last_served_ns = now_ns
        self.linked_since_ns = now_ns
        self.attempts += 1
        self.attempt_start_ns = now_ns
        self._enter(LinkState.ACQUIRING, now_ns)
        self._command_acquire(peer.name, now_ns)

    def _command_acquire(self, name: str, now_ns: int) -> None:
        try:
            self._t.acquire(name)
        except HalError:
            self.command_errors += 1
            self._give_up(now_ns)

    def _give_up(self, now_ns: int) -> None:
        self.failures += 1
        peer = self.peers.get(self.peer)
        if peer is not None:
            peer.backoff_until_ns = now_ns + self.retry_backoff_ns
        self._stop(now_ns)

    def _stop(self, now_ns: int) -> None:
        try:
            self._t.stop()
        except HalError:
            self.command_errors += 1
        self.peer = ""
        self._enter(LinkState.IDLE, now_ns)
