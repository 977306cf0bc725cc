"""Parameter store: limits, atomic persistence with CRC, recovery from damaged files."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.core import FieldType, LoadOutcome, ParamDef, ParameterError, ParamStore
from flight.core._params import decode_table, encode_table

DEFS = (
    ParamDef(1, "gain", FieldType.F32, 1.0, 0.0, 10.0),
    ParamDef(2, "limit_c", FieldType.I16, 60, -40, 120, "degC"),
    ParamDef(3, "enabled", FieldType.BOOL, True),
)


def make(path: Path | None) -> ParamStore:
    store = ParamStore(path)
    store.register("thermal", DEFS)
    return store


def test_defaults_and_limits() -> None:
    store = make(None)
    assert store.get("thermal", "gain") == 1.0
    store.set("thermal", "gain", 2.5)
    assert store.get("thermal", "gain") == 2.5
    for name, bad in (
        ("gain", 11.0),
        ("gain", "x"),
        ("limit_c", 1.5),
        ("limit_c", 500),
        ("enabled", 2),
        ("nope", 1),
    ):
        with pytest.raises(ParameterError):
            store.set("thermal", name, bad)
    assert store.table() == {"thermal": {"gain": 2.5, "limit_c": 60, "enabled": True}}


def test_file_format_matches_its_specification(tmp_path: Path) -> None:
    store = make(tmp_path / "params.bin")
    store.set("thermal", "limit_c", 70)
    blob = (tmp_path / "params.bin").read_bytes()
    # Oracle: the documented layout, decoded by hand.
    assert blob[:4] == b"SNPR"
    assert int.from_bytes(blob[4:6], "big") == 1
    length = int.from_bytes(blob[6:10], "big")
    crc = int.from_bytes(blob[10:14], "big")
    payload = blob[14:]
    assert length == len(payload) and crc == zlib.crc32(payload)
    assert json.loads(payload)["thermal"]["limit_c"] == 70


def test_persisted_values_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "params.bin"
    a = make(path)
    a.set("thermal", "gain", 3.0)
    a.set("thermal", "enabled", False)
    b = make(path)
    report = b.load()
    assert report.outcome is LoadOutcome.PRIMARY
    assert b.get("thermal", "gain") == 3.0 and b.get("thermal", "enabled") is False


def test_truncated_primary_falls_back_to_backup(tmp_path: Path) -> None:
    path = tmp_path / "params.bin"
    a = make(path)
    a.set("thermal", "gain", 3.0)
    a.set("thermal", "gain", 4.0)  # backup now holds 3.0
    path.write_bytes(path.read_bytes()[:-3])
    b = make(path)
    report = b.load()
    assert report.outcome is LoadOutcome.BACKUP
    assert "length mismatch" in report.problems[0]
    assert b.get("thermal", "gain") == 3.0


def test_both_corrupted_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "params.bin"
    a = make(path)
    a.set("thermal", "gain", 3.0)
    a.set("thermal", "gain", 4.0)
    for p in (path, tmp_path / "params.bin.bak"):
        raw = bytearray(p.read_bytes())
        raw[-1] ^= 0x01
        p.write_bytes(bytes(raw))
    b = make(path)
    report = b.load()
    assert report.outcome is LoadOutcome.DEFAULTS
    assert all("CRC mismatch" in p for p in report.problems)
    assert b.get("thermal", "gain") == 1.0


def test_out_of_limit_value_in_file_is_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "params.bin"
    path.write_bytes(encode_table({"thermal": {"gain": 99.0, "limit_c": 10}, "ghost": {"x": 1}}))
    b = make(path)
    report = b.load()
    assert b.get("thermal", "gain") == 1.0 and b.get("thermal", "limit_c") == 10
    assert any("gain" in p for p in report.problems) and any("ghost" in p for p in report.problems)


@settings(deadline=None, max_examples=200)
@given(
    gain=st.floats(0, 10, width=32),
    limit=st.integers(-40, 120),
    damage=st.lists(st.tuples(st.integers(0, 200), st.integers(1, 255)), max_size=4),
    cut=st.integers(0, 200),
)
def test_damaged_file_never_decodes_to_a_wrong_table(
    gain: float, limit: int, damage: list[tuple[int, int]], cut: int
) -> None:
    table = {"thermal": {"enabled": True, "gain": gain, "limit_c": limit}}
    blob = bytearray(encode_table(table))
    for pos, flip in damage:
        if pos < len(blob):
            blob[pos] ^= flip
    if cut < len(blob):
        del blob[cut:]
    try:
        decoded = decode_table(bytes(blob))
    except (ValueError, UnicodeDecodeError):
        return
    assert decoded == table  # only an undamaged file decodes


# -- damaged files (issue 19): the store's files cannot break it ------------------------------
def _saved(path: Path, gain: float = 3.0) -> ParamStore:
    """A store whose primary and backup both hold a whole table (gain -> ``gain``)."""
    store = make(path)
    store.set("thermal", "gain", 2.0)
    store.set("thermal", "gain", gain)
    return store


def _damage(kind: str, target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn the file at ``target`` into ``kind`` of damage."""
    if kind != "unreadable":
        target.unlink()
    if kind == "directory":
        target.mkdir()
        (target / "inside").write_bytes(b"keep me")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "dev_zero":
        target.symlink_to("/dev/zero")
    elif kind == "huge":
        with open(target, "wb") as fh:  # sparse: 2 GiB of apparent size, no disk used
            fh.truncate(2 << 30)
    elif kind == "nested":
        payload = b"[" * 100_000 + b"]" * 100_000  # CRC-valid, deeper than any parser stack
        target.write_bytes(b"SNPR\x00\x01" + struct.pack(">II", len(payload), zlib.crc32(payload)) + payload)
    elif kind == "unreadable":
        real_open = os.open

        def deny(path: object, flags: int, *args: object) -> int:
            if Path(str(path)) == target and not flags & (os.O_WRONLY | os.O_RDWR):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "open", deny)  # root ignores chmod 000: refuse the read
    else:
        raise AssertionError(kind)


DAMAGE = ("directory", "unreadable", "fifo", "dev_zero", "huge", "nested")


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_primary_falls_back_and_the_next_save_repairs_it(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "params.bin"
    _saved(path, gain=3.0)  # backup holds gain 2.0, primary 3.0
    _damage(kind, path, monkeypatch)
    b = make(path)
    report = b.load()  # must return: no hang (FIFO), no memory blow-up, no RecursionError
    assert report.outcome is LoadOutcome.BACKUP
    assert b.get("thermal", "gain") == 2.0
    assert report.problems and report.problems[0].startswith("params.bin:")
    monkeypatch.undo()
    b.set("thermal", "gain", 5.0)  # the next good write repairs the primary
    assert b.write_failures == 0
    for copy in (path, tmp_path / "params.bin.bak"):
        assert copy.is_file() and not copy.is_symlink()
        decode_table(copy.read_bytes())
    assert make(path).load().outcome is LoadOutcome.PRIMARY
    c = make(path)
    c.load()
    assert c.get("thermal", "gain") == 5.0
    if kind == "directory":  # moved aside, never deleted
        assert (tmp_path / "params.bin.damaged-0" / "inside").read_bytes() == b"keep me"


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_backup_is_reported_and_repaired(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "params.bin"
    backup = tmp_path / "params.bin.bak"
    _saved(path)
    _damage(kind, backup, monkeypatch)
    path.write_bytes(path.read_bytes()[:-1])  # and the primary truncated: both unusable
    b = make(path)
    report = b.load()
    assert report.outcome is LoadOutcome.DEFAULTS and len(report.problems) == 2
    assert report.problems[1].startswith("params.bin.bak:")
    b.set("thermal", "gain", 7.0)  # still unreadable: rewritten, since it cannot be trusted
    for copy in (path, backup):
        assert decode_table(copy.read_bytes())["thermal"]["gain"] == 7.0


@pytest.mark.parametrize("cut", [0, 5, 14, 20])
def test_truncated_files_fall_back(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "params.bin"
    _saved(path)
    path.write_bytes(path.read_bytes()[:cut])
    b = make(path)
    assert b.load().outcome is LoadOutcome.BACKUP and b.get("thermal", "gain") == 2.0


def test_every_single_bit_flip_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "params.bin"
    _saved(path)
    blob = path.read_bytes()
    for bit in range(8 * len(blob)):
        flipped = bytearray(blob)
        flipped[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(flipped))
        b = make(path)
        assert b.load().outcome is LoadOutcome.BACKUP, bit
        assert b.get("thermal", "gain") == 2.0


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "params.bin"
    path.write_bytes(encode_table({"thermal": {"gain": 3.0}}) + b" " * 100)
    store = ParamStore(path, max_file_bytes=64)
    store.register("thermal", DEFS)
    report = store.load()
    assert report.outcome is LoadOutcome.DEFAULTS
    assert "more than the 64 allowed" in report.problems[0]


def test_nested_and_non_scalar_payloads_are_refused() -> None:
    def blob(payload: bytes) -> bytes:
        return b"SNPR\x00\x01" + struct.pack(">II", len(payload), zlib.crc32(payload)) + payload

    for payload in (b'{"a":{"b":{"c":1}}}', b'{"a":{"b":[1]}}', b'{"a":{"b":"x"}}', b"[" * 5000):
        with pytest.raises(ValueError):
            decode_table(blob(payload))
    # brackets inside a (escaped) string are not nesting
    assert decode_table(blob(b'{"a\\"[[[{":{"b":1}}')) == {'a"[[[{': {"b": 1}}


def test_a_write_failure_is_counted_reported_and_repaired(tmp_path: Path) -> None:
    path = tmp_path / "params.bin"
    store = _saved(path)
    seen: list[str] = []
    store.add_write_listener(seen.append)
    tmp = tmp_path / "params.bin.tmp"
    tmp.mkdir()
    (tmp / "x").write_bytes(b"")  # the temporary path blocked
    original = ParamStore._move_aside

    def refuse(self: ParamStore, p: Path) -> None:
        raise OSError(f"cannot move {p.name}")

    ParamStore._move_aside = refuse  # type: ignore[method-assign]
    try:
        with pytest.raises(ParameterError):
            store.set("thermal", "gain", 9.0)
    finally:
        ParamStore._move_aside = original  # type: ignore[method-assign]
    assert store.get("thermal", "gain") == 3.0  # unchanged: all or nothing
    assert store.write_failures == 1 and len(seen) == 1 and "params.bin.tmp" in seen[0]
    assert store.last_write_error == seen[0]
    store.set("thermal", "gain", 9.0)  # the next good write goes through
    assert store.last_write_error == "" and store.write_failures == 1
    assert decode_table(path.read_bytes())["thermal"]["gain"] == 9.0
    assert decode_table((tmp_path / "params.bin.bak").read_bytes())["thermal"]["gain"] == 3.0


def test_a_write_failure_is_an_executive_event(tmp_path: Path) -> None:
    from flight.core import Executive, SimClock

    path = tmp_path / "params.bin"
    store = _saved(path)
    ex = Executive(SimClock(), 10.0, params=store)
    (tmp_path / "sub").write_bytes(b"")  # a file where the store's folder should be
    store.path = tmp_path / "sub" / "params.bin"
    with pytest.raises(ParameterError):
        store.set("thermal", "gain", 4.0)
    (record,) = ex.events.find("params_write_failed")
    assert "(1 failures)" in record.message and store.write_failures == 1


def test_discard_files_moves_obstacles_aside(tmp_path: Path) -> None:
    path = tmp_path / "params.bin"
    _saved(path)
    (tmp_path / "params.bin.bak").unlink()
    (tmp_path / "params.bin.bak").mkdir()
    store = make(path)
    store.discard_files()
    assert not os.path.lexists(path) and not os.path.lexists(tmp_path / "params.bin.bak")
    assert (tmp_path / "params.bin.bak.damaged-0").is_dir()
    assert store.load().outcome is LoadOutcome.NO_FILE


@pytest.mark.parametrize("fresh", [True, False])
def test_a_node_starts_when_its_parameter_file_is_a_directory(tmp_path: Path, fresh: bool) -> None:
    from flight.testing import build_node, node_config

    (tmp_path / "out" / "params.bin").mkdir(parents=True)
    node = build_node(tmp_path, node_config(), fresh_params=fresh)
    try:
        node.run(2.0)
        assert decode_table((tmp_path / "out" / "params.bin").read_bytes())  # repaired
        assert node.params.write_failures == 0
    finally:
        node.close()
