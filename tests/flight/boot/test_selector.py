"""Boot selection (U-Boot counting, fallback, bit rot), mark-good, rollback, and the health
gate application in a running node. Oracle: the rules of the issue, step by step."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flight.boot import RECORD_BLOB, GateState, RecordError, SlotState, slot_blob

spec = importlib.util.spec_from_file_location(
    "boot_helpers", Path(__file__).with_name("_helpers.py")
)
assert spec is not None and spec.loader is not None
H = importlib.util.module_from_spec(spec)
spec.loader.exec_module(H)

K1 = Ed25519PrivateKey.generate()


def upgraded(tmp: Path) -> object:
    store = H.make_store(tmp, [K1], factory=H.make_image(1, [K1]))
    store.install(H.make_image(2, [K1]), now_utc_s=H.NOW)
    return store


def test_three_failed_tries_then_last_good(tmp_path: Path) -> None:
    store = upgraded(tmp_path)
    kinds = [store.select().kind for _ in range(3)]
    assert kinds == ["trial"] * 3 and store.load().tries_left == 0
    choice = store.select()  # no mark-good came: the upgrade is bad
    assert (choice.slot, choice.kind) == ("factory", "stable")
    rec = store.load()
    assert rec.slot("A").state is SlotState.BAD and rec.pending is None


def test_stable_boots_are_never_counted(tmp_path: Path) -> None:
    """RAUC #490: power cuts of a stable system must not roll it back."""
    store = upgraded(tmp_path)
    store.mark_good(store.select().slot)
    for _ in range(10):
        choice = store.select()  # every boot ends in a power cut: no mark-good
        assert (choice.slot, choice.kind) == ("A", "stable")
    rec = store.load()
    assert rec.tries_left == 0 and rec.slot("A").state is SlotState.GOOD and rec.floor == 2


def test_bit_rot_falls_back_to_last_good_then_factory(tmp_path: Path) -> None:
    store = upgraded(tmp_path)
    store.mark_good(store.select().slot)  # A v2 good
    store.install(H.make_image(3, [K1]), now_utc_s=H.NOW)  # B v3
    store.mark_good(store.select().slot)  # B good, A last-but-one
    for slot in ("B", "A"):
        path = tmp_path / "slots" / slot_blob(slot)
        data = bytearray(path.read_bytes())
        data[-3] ^= 1  # a flipped bit in the payload
        path.write_bytes(bytes(data))
        choice = store.select()
        assert store.load().slot(slot).state is SlotState.BAD
    assert (choice.slot, choice.kind) == ("factory", "fallback")
    (tmp_path / "slots" / slot_blob("factory")).write_bytes(b"rotten")
    with pytest.raises(RecordError, match="no bootable slot"):
        store.select()


def test_damaged_record_is_rebuilt_conservatively(tmp_path: Path) -> None:
    store = upgraded(tmp_path)
    path = tmp_path / "nv" / RECORD_BLOB
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RecordError, match="CRC"):
        store.load()
    notes: list[str] = []
    choice = store.select(notes.append)
    assert choice.slot == "factory" and "rebuilding" in notes[0]
    assert store.load().slot("A").state is SlotState.INSTALLED


def test_mark_good_is_idempotent_and_checks_the_slot(tmp_path: Path) -> None:
    store = upgraded(tmp_path)
    store.select()
    with pytest.raises(RecordError, match="selector started A"):
        store.mark_good("B")
    rec1, changed1 = store.mark_good("A")
    rec2, changed2 = store.mark_good("A")
    assert changed1 and not changed2 and rec2.generation == rec1.generation


def test_rollback(tmp_path: Path) -> None:
    store = upgraded(tmp_path)
    store.mark_good(store.select().slot)  # A v2 good
    store.install(H.make_image(3, [K1]), now_utc_s=H.NOW)
    assert store.select().slot == "B"  # B v3 on trial
    rec = store.rollback()
    assert rec.active == "A" and rec.slot("B").state is SlotState.BAD and rec.pending is None
    assert store.select().slot == "A"
    store2 = H.make_store(tmp_path / "fresh", [K1])  # nothing good to go back to
    with pytest.raises(RecordError, match="no other good slot"):
        store2.rollback()


def _gate_node(tmp: Path, store_dir: Path, gate_s: float) -> object:
    from flight.testing import build_node, node_config

    cfg = node_config(
        {
            "boot": {"health_gate_s": gate_s, "storage": "bootnv"},
            "devices": {"bootnv": {"family": "storage", "directory": str(store_dir)}},
            "fdir": {"boot_s": 2.0},
        }
    )
    return build_node(tmp, cfg)


def test_health_gate_marks_good_in_a_running_node(tmp_path: Path) -> None:
    store = upgraded(tmp_path)
    store.select()  # the selector started A (on trial)
    node = _gate_node(tmp_path / "run", tmp_path / "nv", 5.0)
    try:
        node.run(3.0)
        app = node.apps["boot"]
        assert app.component.state is GateState.WAITING  # FDIR not NOMINAL for 5 s yet
        assert store.load().pending == "A"
        summary = node.run(30.0)
    finally:
        node.close()
    assert summary["boot"]["marked_good"] and summary["boot"]["slot"] == "A"
    rec = store.load()
    assert rec.active == "A" and rec.slot("A").state is SlotState.GOOD and rec.floor == 2


def test_rollback_command_requests_reboot(tmp_path: Path) -> None:
    store = upgraded(tmp_path)
    store.mark_good(store.select().slot)
    store.install(H.make_image(3, [K1]), now_utc_s=H.NOW)
    store.select()  # B on trial
    node = _gate_node(tmp_path / "run", tmp_path / "nv", 600.0)
    try:
        node.run(1.0)
        comp = node.apps["boot"].component
        comp.cmd_rollback()
        assert node.apps["boot"].reboot_requested
    finally:
        node.close()
    assert store.load().active == "A" and store.select().slot == "A"
