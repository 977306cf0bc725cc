"""Anti-replay state across a processor reset and a power cut during the counter write."""

from __future__ import annotations

from pathlib import Path

import pytest

from flight.security import SecurityState, StateError
from flight.tmtc import pack_tc
from ground.uplink import SecureUplink, create_key_file
from tests.flight.security._helpers import FlakyStorage, SecuredNode


def test_reset_between_two_frames_does_not_reopen_the_window(tmp_path: Path) -> None:
    n = SecuredNode(tmp_path)
    try:
        up = SecureUplink(n.key_file)
        first = up.encode(pack_tc(n.apid, 1, 17, 1, 0xF, 0, b""))
        n.send(first)
        n.drain()
        n.security.on_boot()  # processor reset: RAM state gone, reloaded from NV
        n.send(first)  # the replay after the reset
        second = up.encode(pack_tc(n.apid, 2, 17, 1, 0xF, 0, b""))
        n.send(second)
        n.drain()
        assert n.completed() == [1, 2]
        assert n.security.hk.rej_replay == 1
    finally:
        n.close()


def _state(tmp: Path, storage: FlakyStorage) -> SecurityState:
    key_file = create_key_file(tmp / "k.json", 42)
    return SecurityState.open(storage, 10, key_file)  # type: ignore[arg-type]


def test_power_cut_during_the_counter_write(tmp_path: Path) -> None:
    storage = FlakyStorage()
    state = _state(tmp_path, storage)
    state.advance({1: 5})
    storage.cut_after = storage.writes + 1  # the next write is torn
    with pytest.raises(StateError):
        state.advance({1: 6})  # the frame with counter 6 must not execute
    assert state.sa_status(1)[2] == 5  # nothing advanced in RAM either
    rebooted = SecurityState.open(storage, 10)  # type: ignore[arg-type]
    assert rebooted.origin == "loaded" and rebooted.bad_slots == 1
    assert rebooted.sa_status(1)[2] == 5  # the previous record is in force
    rebooted.advance({1: 6})  # the ground resends: it executes once
    again = SecurityState.open(storage, 10)  # type: ignore[arg-type]
    assert again.sa_status(1)[2] == 6 and again.bad_slots == 0


@pytest.mark.parametrize("cut", range(1, 6))
def test_every_cut_point_keeps_executed_counters_persisted(tmp_path: Path, cut: int) -> None:
    # Invariant: whatever write the power cut hits, every counter whose advance returned
    # (whose frame may have executed) is at or below what NV holds after the reboot.
    storage = FlakyStorage()
    state = _state(tmp_path, storage)
    storage.cut_after = storage.writes + cut
    executed = 0
    for counter in range(1, 10):
        try:
            state.advance({2: counter})
        except StateError:
            break
        executed = counter
    rebooted = SecurityState.open(storage, 10)  # type: ignore[arg-type]
    assert rebooted.sa_status(2)[2] >= executed
    assert rebooted.sa_status(2)[2] == executed  # and no frame was lost beyond the cut one


def test_node_refuses_a_frame_whose_counter_cannot_be_persisted(tmp_path: Path) -> None:
    n = SecuredNode(tmp_path)
    try:
        state = n.security.state
        flaky = FlakyStorage()
        flaky.blobs = {k: state.storage.read(k) for k in state.storage.list()}
        state.storage = flaky  # type: ignore[assignment]
        flaky.cut_after = flaky.writes + 1
        up = SecureUplink(n.key_file)
        frame = up.encode(pack_tc(n.apid, 1, 17, 1, 0xF, 0, b""))
        n.send(frame)
        n.drain()
        assert n.completed() == [] and n.security.hk.rej_persist == 1
        n.security.on_boot()  # the reboot after the cut: the frame was never executed
        n.send(frame)
        n.drain()
        assert n.completed() == [1]
    finally:
        n.close()
