"""PAT manager: a hypothesis state machine against a model terminal.

The model terminal follows the HAL's PAT contract (acquire -> working towards COMM; COMM can
be lost; the terminal may give up by itself; FAULT). The rules move it and time; the
invariants are the manager's contract: linked only in COMM with the same peer, acquisitions
given up at the timeout, a new attempt always at the highest-priority eligible peer, never a
disabled peer, counters consistent.
"""

from __future__ import annotations

import math
from typing import cast

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from flight.isl import LinkState, PatManager, PatPeer
from hal.laser import LaserReading, LaserTerminal, PatState
from native.errors import DeviceCommandError

PEERS = ("ahead", "behind", "east", "west")
TIMEOUT_NS = 100_000_000_000
S = 1_000_000_000
MAX_STEP_S = 150.0


class ModelTerminal:
    """The terminal contract, reduced to states and the commanded peer."""

    def __init__(self) -> None:
        self.state = PatState.IDLE
        self.peer = ""
        self.t_ns = 0
        self.acquire_calls = 0

    def acquire(self, peer: str) -> None:
        if self.state is PatState.FAULT:
            raise DeviceCommandError("fault")
        if peer not in PEERS:
            raise DeviceCommandError(f"unknown peer {peer}")
        self.acquire_calls += 1
        self.state, self.peer = PatState.POINTING, peer

    def stop(self) -> None:
        if self.state is not PatState.FAULT:
            self.state = PatState.IDLE
        self.peer = ""

    def read(self) -> LaserReading:
        comm = self.state is PatState.COMM
        return LaserReading(self.t_ns, comm, self.state, self.peer, -30.0 if comm else -math.inf,
                            1e9 if comm else 0.0, 5e6, 0, 0, 0, 0)


class PatMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.term = ModelTerminal()
        self.mgr = PatManager(cast(LaserTerminal, self.term), [PatPeer(p) for p in PEERS],
                              acq_timeout_ns=TIMEOUT_NS, retry_backoff_ns=30 * S,
                              min_dwell_ns=10 * S, max_dwell_ns=120 * S)
        self.now = 0
        self.available: set[str] = set(PEERS)
        self.demand: set[str] = set()
        self.prev = (0, 0, 0, 0)
        self.chosen_ok = True

    @rule(dt_s=st.sampled_from([0.1, 1.0, 5.0, 30.0, 99.0, 100.0, 150.0]))
    def tick(self, dt_s: float) -> None:
        self.now += round(dt_s * S)
        self.term.t_ns = self.now
        before_attempts, before_peer = self.mgr.attempts, self.mgr.peer
        before_state = self.mgr.state
        self.mgr.step(self.now, self.term.read(), self.available, self.demand)
        started = self.mgr.attempts > before_attempts and self.mgr.state is LinkState.ACQUIRING
        if started and (before_state is not LinkState.LINKED or before_peer != self.mgr.peer):
            # eligible after the step: a peer given up in this step is backing off
            eligible = self.mgr.eligible(self.now, self.available)
            top = max(p.priority for p in eligible)
            self.chosen_ok = self.mgr.peers[self.mgr.peer].priority == top

    @precondition(lambda self: self.term.state in (PatState.POINTING, PatState.SCANNING))
    @rule()
    def beacon_found(self) -> None:
        if self.term.peer in self.available:
            self.term.state = PatState.COMM

    @precondition(lambda self: self.term.state is PatState.COMM)
    @rule()
    def lose_lock(self) -> None:
        self.term.state = PatState.SCANNING

    @precondition(lambda self: self.term.state in (PatState.POINTING, PatState.SCANNING))
    @rule()
    def terminal_gives_up(self) -> None:
        self.term.state, self.term.peer = PatState.IDLE, ""

    @rule()
    def fault(self) -> None:
        self.term.state, self.term.peer = PatState.FAULT, ""

    @precondition(lambda self: self.term.state is PatState.FAULT)
    @rule()
    def clear_fault(self) -> None:
        self.term.state = PatState.IDLE

    @rule(avail=st.sets(st.sampled_from(PEERS)))
    def contacts(self, avail: set[str]) -> None:
        self.available = avail

    @rule(peer=st.sampled_from(PEERS), prio=st.integers(1, 255))
    def set_priority(self, peer: str, prio: int) -> None:
        self.mgr.peers[peer].priority = prio

    @rule(peer=st.sampled_from(PEERS), on=st.booleans())
    def enable(self, peer: str, on: bool) -> None:
        self.mgr.peers[peer].enabled = on

    @rule(peers=st.sets(st.sampled_from(PEERS)))
    def traffic(self, peers: set[str]) -> None:
        self.demand = peers

    # -- invariants (after every rule; the manager's view is as of its last step) ----------
    @invariant()
    def counters_consistent(self) -> None:
        m = self.mgr
        assert m.acquisitions + m.failures <= m.attempts
        now = (m.attempts, m.acquisitions, m.failures, m.losses)
        assert all(a >= b for a, b in zip(now, self.prev, strict=True))
        self.prev = now
        if m.acquisitions:
            # COMM seen at the first step after the terminal got there: at most one step late
            assert 0.0 <= m.mean_acquisition_s <= TIMEOUT_NS / S + MAX_STEP_S

    @invariant()
    def new_attempts_go_to_the_highest_priority(self) -> None:
        assert self.chosen_ok

    @invariant()
    def peer_named_exactly_when_busy(self) -> None:
        m = self.mgr
        if m.state in (LinkState.IDLE, LinkState.FAULT):
            assert m.peer == ""
        else:
            assert m.peer in PEERS


class SteppedPatMachine(PatMachine):
    """Same machine, invariants checked right after each step against the terminal."""

    @rule(dt_s=st.sampled_from([1.0, 50.0, 100.0]))
    def tick_and_check(self, dt_s: float) -> None:
        self.tick(dt_s)
        m, t = self.mgr, self.term
        if m.state is LinkState.LINKED:
            assert t.state is PatState.COMM and t.peer == m.peer
            assert m.peers[m.peer].enabled
        if m.state in (LinkState.ACQUIRING, LinkState.REACQUIRING):
            assert t.peer == m.peer
            assert self.now - m.attempt_start_ns < TIMEOUT_NS
            assert m.peers[m.peer].enabled
        if m.state is LinkState.IDLE:
            assert not m.eligible(self.now, self.available) or t.state is PatState.FAULT
        assert (m.state is LinkState.FAULT) == (t.state is PatState.FAULT)


TestPat = SteppedPatMachine.TestCase
TestPat.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)


def test_acquire_track_reacquire_and_give_up() -> None:
    term = ModelTerminal()
    mgr = PatManager(cast(LaserTerminal, term), [PatPeer("ahead", 5), PatPeer("behind", 1)],
                     acq_timeout_ns=TIMEOUT_NS, retry_backoff_ns=30 * S, min_dwell_ns=0,
                     max_dwell_ns=0)
    mgr.step(0, term.read())
    assert (mgr.state, mgr.peer, term.peer) == (LinkState.ACQUIRING, "ahead", "ahead")
    term.state = PatState.COMM
    mgr.step(40 * S, term.read())
    assert mgr.state is LinkState.LINKED and mgr.mean_acquisition_s == 40.0
    term.state = PatState.SCANNING  # loss of lock
    mgr.step(41 * S, term.read())
    assert mgr.state is LinkState.REACQUIRING and mgr.losses == 1
    term.state = PatState.COMM
    mgr.step(51 * S, term.read())
    assert mgr.state is LinkState.LINKED and mgr.acquisitions == 2
    assert mgr.mean_acquisition_s == 25.0  # (40 + 10) / 2
    term.state = PatState.SCANNING
    mgr.step(60 * S, term.read())
    mgr.step(60 * S + TIMEOUT_NS, term.read())  # no COMM within the timeout: give up
    assert mgr.failures == 1
    # backed off from "ahead": the lower-priority peer gets the terminal
    assert (mgr.state, mgr.peer) == (LinkState.ACQUIRING, "behind")
