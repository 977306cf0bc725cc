"""The configuration schema mechanism (native.schema): types, finiteness, ranges, choices,
unknown keys, relations, entries, merging by name, describe.

Oracle: Python's own type and comparison semantics (``isinstance`` with bool excluded from
int, ``math.isfinite``, chained comparisons against the declared bounds) and the TOML rule
that the README states for merging (hand-written expected tables).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from native.errors import ConfigError
from native.schema import describe, merge, parse, setting, to_table


@enum.unique
class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclass(slots=True)
class Entry:
    name: str = setting(min_len=1, doc="entry name")
    level: float = setting(0.0, lo=-10, hi=10, units="V", doc="a level")


@dataclass(frozen=True, slots=True)
class Sub:
    depth_m: float = setting(1.0, lo=0, lo_open=True, units="m", doc="depth")


@dataclass(slots=True)
class Section:
    count: int = setting(3, lo=0, hi=100, doc="a count")
    gain: float = setting(1.5, lo=0, lo_open=True, hi=10, units="1/s", doc="a gain")
    label: str = setting("a", doc="a label")
    flag: bool = setting(True, doc="a flag")
    mode: Mode = setting(Mode.FAST, doc="a mode")
    kind: str = setting("x", choices=("x", "y"), doc="a kind")
    table: list[float] = setting([0.0, 1.0], lo=0, hi=1, min_len=2, doc="a table")
    pair: tuple[int, int] = setting((1, 2), lo=1, doc="a pair")
    names: list[str] = setting([], max_len=3, doc="names")
    volts: dict[str, float] = setting({}, lo=0, units="V", doc="volts by name")
    sub: Sub = setting(default_factory=Sub, doc="a sub-table")
    entries: tuple[Entry, ...] = setting((), doc="entries")
    named: dict[str, Sub] = setting({}, doc="named sub-tables")
    extra: Sub | None = setting(None, doc="optional sub-table")

    def validate(self) -> None:
        if self.count > 50 and self.gain > 5:
            raise ConfigError("gain: must be <= 5 when count > 50")


def error_of(table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as exc:
        parse(Section, table, "sec")
    text = str(exc.value)
    assert "\n" not in text, text
    return text


# ---------------------------------------------------------------------------------- types
WRONG_FOR = {
    "count": [1.0, 2.5, True, "3", [3], {"a": 1}],
    "gain": [True, False, "1.5", [1.5], {"a": 1}],
    "label": [1, 1.0, True, ["a"], {"a": 1}],
    "flag": [1, 0, 1.0, "true", [True]],
}

toml_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)


@given(value=toml_scalars)
def test_scalar_types_follow_python_isinstance(value: Any) -> None:
    """int rejects bool and float; float accepts int, rejects bool/str and non-finite; str
    and bool take only themselves."""
    for key, ok in (
        ("count", isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100),
        (
            "gain",
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and 0 < value <= 10,
        ),
        ("label", isinstance(value, str)),
        ("flag", isinstance(value, bool)),
    ):
        if ok:
            got = getattr(parse(Section, {key: value}, "sec"), key)
            assert got == value
            assert type(got) is {"count": int, "gain": float, "label": str, "flag": bool}[key]
        else:
            assert error_of({key: value}).startswith(f"[sec] {key}: expected ")


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, vs in WRONG_FOR.items() for v in vs])
def test_wrong_types_are_named(key: str, value: Any) -> None:
    assert error_of({key: value}).startswith(f"[sec] {key}: expected ")


@given(x=st.floats(allow_nan=True, allow_infinity=True))
def test_floats_in_ranges(x: float) -> None:
    """(0, 10] for ``gain``: open below, closed above; NaN and +-inf never pass."""
    if math.isfinite(x) and 0 < x <= 10:
        assert parse(Section, {"gain": x}, "sec").gain == x
    else:
        text = error_of({"gain": x})
        assert text.startswith("[sec] gain: expected a number in (0, 10] (1/s), got ")


@given(i=st.integers(min_value=-(10**20), max_value=10**20))
def test_ints_in_ranges(i: int) -> None:
    if 0 <= i <= 100:
        assert parse(Section, {"count": i}, "sec").count == i
    else:
        assert error_of({"count": i}) == f"[sec] count: expected an integer in [0, 100], got {i}"


@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=5))
def test_arrays_of_numbers_check_every_element(values: list[float]) -> None:
    bad = [i for i, v in enumerate(values) if not (math.isfinite(v) and 0 <= v <= 1)]
    if len(values) < 2:
        assert "[sec] table: expected at least 2 entries" in error_of({"table": values})
    elif bad:
        assert error_of({"table": values}).startswith(f"[sec] table[{bad[0]}]: expected a number")
    else:
        assert parse(Section, {"table": values}, "sec").table == values


@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_tables_of_numbers_check_every_value(value: float) -> None:
    if math.isfinite(value) and value >= 0:
        assert parse(Section, {"volts": {"bus": value}}, "sec").volts == {"bus": value}
    else:
        assert error_of({"volts": {"bus": value}}).startswith("[sec] volts.bus: expected")


def test_fixed_tuples_enums_choices_and_optional() -> None:
    cfg = parse(Section, {"pair": [3, 4], "mode": "slow", "kind": "y", "extra": {}}, "sec")
    assert cfg.pair == (3, 4) and cfg.mode is Mode.SLOW and cfg.kind == "y"
    assert cfg.extra == Sub()
    assert parse(Section, {}, "sec").extra is None
    assert "[sec] pair: expected an array of 2 integers" in error_of({"pair": [1, 2, 3]})
    assert error_of({"pair": [1, 0]}).startswith("[sec] pair[1]: expected an integer >= 1")
    assert error_of({"mode": "medium"}) == (
        "[sec] mode: expected one of 'fast', 'slow', got 'medium'"
    )
    assert error_of({"kind": "z"}) == "[sec] kind: expected one of 'x', 'y', got 'z'"
    assert error_of({"names": ["a", "b", "c", "d"]}).startswith(
        "[sec] names: expected at most 3 entries"
    )


# --------------------------------------------------------------------- keys and structure
def test_unknown_key_lists_the_allowed_ones() -> None:
    text = error_of({"cuont": 1})
    assert text.startswith("[sec] cuont: unknown key (allowed: count, entries, extra, flag,")


def test_not_a_table() -> None:
    with pytest.raises(ConfigError, match=r"^\[sec\]: expected a table, got 5$"):
        parse(Section, 5, "sec")
    assert error_of({"sub": [1]}) == "[sec] sub: expected a table, got [1]"


def test_nested_sections_and_entries_are_named_by_path() -> None:
    assert error_of({"sub": {"depth_m": 0}}).startswith("[sec.sub] depth_m: expected a number > 0")
    assert error_of({"sub": {"bogus": 1}}).startswith("[sec.sub] bogus: unknown key")
    text = error_of({"entries": [{"name": "a"}, {"name": "b", "level": float("inf")}]})
    assert text == "[sec.entries[b]] level: expected a number in [-10, 10] (V), got inf"
    assert error_of({"entries": [{"level": 1.0}]}) == (
        "[sec.entries[0]] name: required key missing (a string)"
    )
    assert error_of({"entries": [3]}) == "[sec] entries[0]: expected a table, got 3"
    assert error_of({"named": {"deep": {"depth_m": -1}}}).startswith(
        "[sec.named.deep] depth_m: expected a number > 0 (m)"
    )


def test_entry_names_are_unique() -> None:
    text = error_of({"entries": [{"name": "a"}, {"name": "a"}]})
    assert text == "[sec] entries[1].name: 'a' is used by entry 0 too (names must be unique)"


def test_relations_run_after_construction_and_name_the_section() -> None:
    assert parse(Section, {"count": 60, "gain": 5.0}, "sec").count == 60
    assert error_of({"count": 60, "gain": 6.0}) == "[sec] gain: must be <= 5 when count > 50"


def test_brackets_in_where_are_optional() -> None:
    with pytest.raises(ConfigError, match=r"^\[sec\] count:"):
        parse(Section, {"count": -1}, "[sec]")


def test_defaults_are_not_shared_between_instances() -> None:
    a, b = parse(Section, {}, "sec"), parse(Section, {}, "sec")
    a.table.append(0.5)
    assert b.table == [0.0, 1.0]


@given(
    count=st.integers(0, 50),
    gain=st.floats(min_value=1e-3, max_value=5.0),
    table=st.lists(st.floats(0, 1), min_size=2, max_size=4),
)
def test_to_table_round_trips(count: int, gain: float, table: list[float]) -> None:
    cfg = parse(
        Section,
        {"count": count, "gain": gain, "table": table, "entries": [{"name": "e"}], "mode": "slow"},
        "sec",
    )
    plain = to_table(cfg)
    assert plain["mode"] == "slow" and "extra" not in plain
    assert parse(Section, plain, "sec") == cfg


def test_describe_lists_every_key_with_rules() -> None:
    rows = {r.key: r for r in describe(Section)}
    assert rows["gain"].range == "(0, 10]" and rows["gain"].units == "1/s"
    assert rows["gain"].default == 1.5 and rows["gain"].doc == "a gain"
    assert rows["count"].range == "[0, 100]" and rows["count"].type == "an integer"
    assert rows["kind"].range == "'x', 'y'"
    assert rows["mode"].default == "fast"
    assert rows["sub.depth_m"].range == "> 0"
    assert rows["entries[].level"].units == "V"
    assert rows["named.<name>.depth_m"].default == 1.0
    assert rows["entries[].name"].default is None  # required
    assert all(r.doc for r in rows.values())


def test_setting_refuses_an_empty_range() -> None:
    with pytest.raises(ValueError, match="lo 2 > hi 1"):
        setting(1.5, lo=2, hi=1)


# ------------------------------------------------------------------------------------ merge
BASE: dict[str, Any] = {
    "fdir": {
        "boot_s": 10.0,
        "monitors": [
            {"name": "soc_floor", "low": 0.3, "persistence": 3},
            {"name": "battery_temp", "low": -5.0},
        ],
    },
    "world": {"rails": {"compute": {"voltage_v": 48.0}, "avionics": {"voltage_v": 28.0}}},
}


def test_merge_tables_key_by_key() -> None:
    out = merge(BASE, {"fdir": {"boot_s": 5.0}})
    assert out["fdir"]["boot_s"] == 5.0
    assert out["fdir"]["monitors"] == BASE["fdir"]["monitors"]
    assert BASE["fdir"]["boot_s"] == 10.0  # the defaults are not modified


def test_merge_entry_with_a_default_name_replaces_that_entry() -> None:
    out = merge(BASE, {"fdir": {"monitors": [{"name": "soc_floor", "low": 0.4}]}})
    assert out["fdir"]["monitors"] == [
        {"name": "soc_floor", "low": 0.4},  # replaced whole: persistence takes its default
        {"name": "battery_temp", "low": -5.0},
    ]


def test_merge_entry_with_a_new_name_is_appended() -> None:
    new = {"name": "heater", "high": 0.0}
    out = merge(BASE, {"fdir": {"monitors": [new]}})
    assert out["fdir"]["monitors"] == [*BASE["fdir"]["monitors"], new]
    unnamed = {"high": 1.0}
    assert merge(BASE, {"fdir": {"monitors": [unnamed]}})["fdir"]["monitors"][-1] == unnamed


def test_merge_replace_flag_replaces_the_whole_array() -> None:
    new = {"name": "heater", "high": 0.0}
    out = merge(BASE, {"fdir": {"monitors_replace": True, "monitors": [new]}})
    assert out["fdir"]["monitors"] == [new]
    assert "monitors_replace" not in out["fdir"]
    assert merge(BASE, {"fdir": {"monitors_replace": True}})["fdir"]["monitors"] == []
    keep = merge(BASE, {"fdir": {"monitors_replace": False, "monitors": [new]}})
    assert len(keep["fdir"]["monitors"]) == 3


def test_merge_named_tables_by_name_and_replace() -> None:
    out = merge(BASE, {"world": {"rails": {"isl": {"voltage_v": 28.0}}}})
    assert list(out["world"]["rails"]) == ["compute", "avionics", "isl"]
    out = merge(BASE, {"world": {"rails_replace": True, "rails": {"isl": {"voltage_v": 28.0}}}})
    assert list(out["world"]["rails"]) == ["isl"]


def test_merge_replace_flag_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^\[fdir\] boot_s_replace: unknown key"):
        merge(BASE, {"fdir": {"boot_s_replace": True}})
    with pytest.raises(ConfigError, match=r"^\[fdir\] monitors_replace: expected true or false"):
        merge(BASE, {"fdir": {"monitors_replace": "yes"}})


def test_merge_other_values_replace() -> None:
    out = merge({"a": {"x": [1, 2], "y": {"z": 1}}}, {"a": {"x": [3], "y": 5}})
    assert out == {"a": {"x": [3], "y": 5}}
    assert merge(BASE, {"fdir": {"monitors": []}})["fdir"]["monitors"] == []
