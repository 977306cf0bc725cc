"""Parameter store: limits, atomic persistence with CRC, recovery from damaged files."""

from __future__ import annotations

import json
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
