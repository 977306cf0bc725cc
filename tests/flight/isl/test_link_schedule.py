"""A link schedule in force: the PAT manager serves only the slot's peer and turns at slot
changes; the ``[isl]`` keys are checked and the slot arithmetic is exact (onboard ns)."""

from __future__ import annotations

from typing import cast

import pytest

from flight.isl import LinkState, PatManager, PatPeer
from flight.isl._config import parse_config
from hal.laser import LaserTerminal, PatState
from native.errors import ConfigError
from tests.flight.isl.test_pat import PEERS, TIMEOUT_NS, ModelTerminal, S


def _manager() -> tuple[ModelTerminal, PatManager]:
    term = ModelTerminal()
    mgr = PatManager(cast(LaserTerminal, term), [PatPeer(p) for p in PEERS],
                     acq_timeout_ns=TIMEOUT_NS, retry_backoff_ns=30 * S,
                     min_dwell_ns=10 * S, max_dwell_ns=120 * S)  # fmt: skip
    return term, mgr


def test_the_schedule_alone_decides_the_peer() -> None:
    term, mgr = _manager()
    # demand and priority would pick "ahead": the schedule says "east"
    mgr.peers["ahead"].priority = 9
    mgr.step(0, term.read(), set(PEERS), {"ahead"}, "east")
    assert mgr.state is LinkState.ACQUIRING and term.peer == "east"
    term.state = PatState.COMM
    mgr.step(1 * S, term.read(), set(PEERS), {"ahead"}, "east")
    assert mgr.state is LinkState.LINKED and mgr.peer == "east"
    # the slot changes: the link is dropped at once (no dwell) for the new peer
    mgr.step(2 * S, term.read(), set(PEERS), (), "west")
    assert mgr.state is LinkState.ACQUIRING and term.peer == "west"
    assert mgr.failures == 0
    # an empty slot, or a scheduled peer out of contact: the terminal stays idle
    mgr.step(3 * S, term.read(), set(PEERS), (), "")
    assert mgr.state is LinkState.IDLE and term.state is PatState.IDLE
    mgr.step(4 * S, term.read(), {"ahead"}, (), "behind")
    assert mgr.state is LinkState.IDLE
    # no schedule (None): the usual choice, highest priority first
    mgr.step(5 * S, term.read(), set(PEERS), (), None)
    assert term.peer == "ahead"


def _isl(**extra: object) -> dict[str, object]:
    return {"node": "me", "peers": [{"name": "a"}, {"name": "b"}, {"name": "c", "link": False}],
            **extra}  # fmt: skip


def test_schedule_keys_are_checked_and_slots_are_exact() -> None:
    cfg = parse_config(_isl(link_schedule=["a", "", "b"], schedule_slot_s=100.0))
    assert cfg.scheduled_peer(0) == "a"
    assert cfg.scheduled_peer(100 * S - 1) == "a"
    assert cfg.scheduled_peer(100 * S) == ""
    assert cfg.scheduled_peer(250 * S) == "b"
    assert cfg.scheduled_peer(300 * S) == "a"  # the cycle repeats
    assert parse_config(_isl()).scheduled_peer(5 * S) is None
    with pytest.raises(ConfigError, match=r"link_schedule\[1\].*'zz'"):
        parse_config(_isl(link_schedule=["a", "zz"]))
    with pytest.raises(ConfigError, match=r"link_schedule\[0\].*'c'"):
        parse_config(_isl(link_schedule=["c"]))  # a routing-only peer has no link
    with pytest.raises(ConfigError, match="schedule_slot_s"):
        parse_config(_isl(link_schedule=["a"], schedule_slot_s=0.0))
