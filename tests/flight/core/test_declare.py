"""Declarations drive dispatch, argument checks and housekeeping packing."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.core import (
    Arg,
    CommandDef,
    CommandError,
    Component,
    Declaration,
    EventDef,
    FailureCode,
    FieldType,
    ParamDef,
    Severity,
    TlmField,
)


class Heater(Component):
    DECLARATION = Declaration(
        commands=(
            CommandDef(
                1,
                "set_duty",
                (Arg("zone", FieldType.U8, 0, 4), Arg("duty", FieldType.F32, 0.0, 1.0)),
            ),
            CommandDef(2, "reset"),
        ),
        telemetry=(
            TlmField("zone", FieldType.U8),
            TlmField("duty", FieldType.F32, "1"),
            TlmField("power_w", FieldType.F64, "W"),
            TlmField("on", FieldType.BOOL, initial=False),
            TlmField("count", FieldType.I32),
        ),
        events=(EventDef(1, "duty_set", Severity.INFO, "zone {zone} duty {duty:.2f}"),),
        params=(ParamDef(1, "max_w", FieldType.F32, 50.0, 0, 100, "W"),),
    )

    def cmd_set_duty(self, zone: int, duty: float) -> None:
        self.hk.zone = zone
        self.hk.duty = duty
        self.hk.count += 1

    def cmd_reset(self) -> None:
        raise RuntimeError("hardware refused")


def test_declaration_requires_a_handler_per_command() -> None:
    with pytest.raises(TypeError, match="cmd_go"):

        class Broken(Component):
            DECLARATION = Declaration(commands=(CommandDef(1, "go"),))


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Declaration(telemetry=(TlmField("a", FieldType.U8), TlmField("a", FieldType.U8)))
    with pytest.raises(ValueError, match="duplicate"):
        Declaration(events=(EventDef(1, "a", Severity.LOW, ""), EventDef(1, "b", Severity.LOW, "")))


@settings(deadline=None, max_examples=100)
@given(zone=st.integers(0, 255), duty=st.floats(-2, 2, width=32, allow_nan=False))
def test_dispatch_checks_ranges_and_changes_nothing_on_rejection(zone: int, duty: float) -> None:
    h = Heater("heater", 5)
    before = h.pack_housekeeping()
    args = struct.pack(">Bf", zone, duty)
    if zone <= 4 and 0.0 <= duty <= 1.0:
        h.execute(1, args)
        assert h.hk.zone == zone and h.hk.duty == pytest.approx(duty)
    else:
        with pytest.raises(CommandError) as err:
            h.execute(1, args)
        assert err.value.code == FailureCode.ILLEGAL_ARGUMENT
        assert h.pack_housekeeping() == before


def test_bad_length_unknown_opcode_and_handler_failure() -> None:
    h = Heater("heater", 5)
    with pytest.raises(CommandError) as e1:
        h.execute(1, b"\x01")
    assert e1.value.code == FailureCode.INVALID_LENGTH
    with pytest.raises(CommandError) as e2:
        h.execute(9, b"")
    assert e2.value.code == FailureCode.UNKNOWN_FUNCTION
    with pytest.raises(CommandError) as e3:
        h.execute(2, b"")
    assert e3.value.code == FailureCode.EXECUTION_FAILED


def test_housekeeping_packs_declared_fields_big_endian() -> None:
    h = Heater("heater", 5)
    h.hk.zone, h.hk.duty, h.hk.power_w, h.hk.on, h.hk.count = 3, 0.5, 12.25, True, -7
    # Oracle: struct with the declared order and types, written out by hand.
    assert h.pack_housekeeping() == struct.pack(">Bfd?i", 3, 0.5, 12.25, True, -7)
    assert Heater.DECLARATION.hk_struct.size == 1 + 4 + 8 + 1 + 4


def test_field_type_coercion() -> None:
    assert FieldType.U8.coerce(255) == 255
    with pytest.raises(ValueError):
        FieldType.U8.coerce(256)
    with pytest.raises(TypeError):
        FieldType.U16.coerce(True)
    with pytest.raises(ValueError):
        FieldType.F64.coerce(float("nan"))
    assert FieldType.parse("i16") is FieldType.I16


@pytest.mark.parametrize("n_fields", [0, 1, 2, 3])
def test_housekeeping_packing_for_any_number_of_fields(n_fields: int) -> None:
    fields = tuple(TlmField(f"f{i}", FieldType.U16, initial=i + 1) for i in range(n_fields))

    class Small(Component):
        DECLARATION = Declaration(telemetry=fields)

    c = Small("small", 7)
    assert c.pack_housekeeping() == struct.pack(">" + "H" * n_fields, *range(1, n_fields + 1))
