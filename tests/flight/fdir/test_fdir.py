"""FDIR: monitor persistence and baselines, the mode state machine, commands, escalation,
installation through the composition contract (sources resolved by name), bounded memory."""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flight.messages
from flight.apps import COMPONENT_IDS, app_spec
from flight.core import (
    NS_PER_S,
    CommandError,
    Executive,
    FieldType,
    InstallContext,
    ParamStore,
    SimClock,
)
from flight.fdir import (
    Config,
    FdirApp,
    FdirConfig,
    FdirManager,
    MonitorDef,
    MonitorState,
    install,
    parse_config,
    read_source,
)
from flight.messages import Mode, ModeStatus, PowerStatus, ShedLevel
from native.errors import ConfigError

#: Every bus message type of flight.messages, by name (what the node gives ctx.message_types).
MESSAGE_TYPES: dict[str, type] = {
    name: obj
    for name, obj in vars(flight.messages).items()
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj)
}


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """A bus message of an application FDIR has never heard of (a laser terminal app)."""

    t_ns: int
    margin_db: float
    terminal: str


def mode_of(f: FdirManager) -> Mode:
    """The manager's mode (a call, so the type checker does not narrow it across steps)."""
    return f.mode


def context(ex: Executive, message_types: Mapping[str, type] = MESSAGE_TYPES) -> InstallContext:
    """The install context a node would build for FDIR, on executive ``ex``."""
    return InstallContext(
        app_spec("fdir"),
        clock=ex.clock,
        bus=ex.bus,
        events=ex.events,
        params=ex.params,
        seed=1,
        base_hz=ex.base_hz,
        add_component=ex.add,
        lookup_device=None,
        capabilities=None,
        register_service=None,
        send_tm=None,
        services={},
        message_types=message_types,
    )


@settings(deadline=None, max_examples=200)
@given(st.lists(st.floats(-1, 2, allow_nan=False), max_size=60), st.integers(1, 5))
def test_limit_monitor_fires_once_per_persistent_violation(values: list[float], n: int) -> None:
    mon = MonitorState(MonitorDef("m", "X.v", low=0.0, high=1.0, persistence=n))
    fired = [mon.check(v) for v in values]
    # Oracle: a detection at index i iff the last n samples violate and it is the n-th of
    # that run of violations.
    run = 0
    expected = []
    for v in values:
        run = run + 1 if (v < 0.0 or v > 1.0) else 0
        expected.append(run == n)
    assert fired == expected


def test_baseline_monitor_tracks_isolated_losses() -> None:
    mon = MonitorState(MonitorDef("cells", "P.c", kind="baseline", persistence=2))
    seq = [28, 28, 27, 27, 27, 27, 26, 26]
    fired = [mon.check(float(v)) for v in seq]
    assert fired == [False, False, False, True, False, False, False, True]


def test_read_source() -> None:
    msg = PowerStatus(0, 0.5, 100.0, 1.0, 20.0, 0.0, 0.0, True, ShedLevel.NONE, True, 28, 120)
    assert read_source("PowerStatus.soc_frac", {"PowerStatus": msg}) == 0.5
    assert math.isnan(read_source("PowerStatus.nope", {"PowerStatus": msg}))
    assert math.isnan(read_source("ThermalStatus.zone:x", {}))


def rig(
    max_boots: int = 3, store: ParamStore | None = None, history: int = 64
) -> tuple[Executive, FdirManager, SimClock]:
    clock = SimClock()
    ex = Executive(clock, 10.0, params=store)
    cfg = parse_config(
        {
            "boot_s": 5,
            "clear_s": 20,
            "recovery_s": 10,
            "stable_s": 30,
            "resume_soc": 0.4,
            "max_boots": max_boots,
            "history": history,
            "monitors": [
                {
                    "name": "soc",
                    "source": "PowerStatus.soc_frac",
                    "low": 0.3,
                    "persistence": 3,
                    "limit_min": 0.1,
                    "limit_max": 1.0,
                }
            ],
        }
    )
    app = install(context(ex), cfg)
    return ex, app.manager, clock


def power(ex: Executive, soc: float | None) -> None:
    """Set the SoC that a live power publisher reports every tick (None: it falls silent)."""
    if not hasattr(ex, "test_soc"):

        def publish(t_ns: int) -> None:
            value = ex.test_soc  # type: ignore[attr-defined]
            if value is not None:
                ex.bus.publish(
                    PowerStatus(
                        t_ns, value, 100.0, 0.0, 20.0, 0.0, 0.0, True, ShedLevel.NONE, True, 28, 120
                    )
                )

        ex.add_tick_hook(publish)
    ex.test_soc = soc  # type: ignore[attr-defined]


def test_mode_machine_boot_safe_recovery_nominal() -> None:
    ex, f, _clock = rig()
    power(ex, 0.8)
    ex.run_for(10 * NS_PER_S)
    assert mode_of(f) is Mode.NOMINAL
    power(ex, 0.2)
    ex.run_for(4 * NS_PER_S)
    status = ex.bus.latest(ModeStatus)
    assert mode_of(f) is Mode.SAFE and status is not None and status.mode is Mode.SAFE
    assert [d.monitor for d in f.detections] == ["soc"]
    power(ex, 0.8)
    ex.run_for(25 * NS_PER_S)
    assert mode_of(f) is Mode.RECOVERY
    power(ex, 0.25)  # relapse during recovery
    ex.run_for(2 * NS_PER_S)
    assert mode_of(f) is Mode.SAFE
    power(ex, 0.8)
    ex.run_for(40 * NS_PER_S)
    assert mode_of(f) is Mode.NOMINAL
    assert f.seconds_in["SAFE"] > 0 and f.seconds_in["RECOVERY"] > 0


def test_commands_are_range_checked_and_change_nothing_when_rejected() -> None:
    ex, f, _clock = rig()
    ex.start()
    row = f.monitors[0].definition
    before = (row.low, row.high, row.persistence, row.enabled)
    for opcode, args in (
        (3, struct.pack(">Bff", 0, 2.0, 1.0)),  # low > high
        (3, struct.pack(">Bff", 5, 0.0, 1.0)),  # no row 5
        (4, struct.pack(">BH", 0, 0)),  # persistence 0
        (1, struct.pack(">B", 9)),
    ):  # no mode 9
        with pytest.raises(CommandError):
            f.execute(opcode, args)
    assert (row.low, row.high, row.persistence, row.enabled) == before
    f.execute(3, struct.pack(">Bff", 0, 0.2, 1.0))
    assert row.low == pytest.approx(0.2) and row.high == 1.0


def test_reset_escalation_latches_safe(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "params.bin"
    for boot in range(1, 4):
        store = ParamStore(path)
        ex, f, _clock = rig(max_boots=3, store=store)
        store.load()
        power(ex, 0.9)
        ex.run_for(8 * NS_PER_S)  # short of stable_s: a "crash" before NOMINAL is stable
        assert f.hk.boot_count == boot
    assert f.latched and mode_of(f) is Mode.SAFE
    with pytest.raises(CommandError):
        f.execute(1, bytes([int(Mode.NOMINAL)]))
    f.execute(5, b"")
    ex.run_for(30 * NS_PER_S)
    assert mode_of(f) is Mode.NOMINAL


def test_parse_config_rejects_bad_rows() -> None:
    with pytest.raises(ConfigError, match="kind"):
        parse_config({"monitors": [{"name": "x", "source": "A.b", "kind": "odd", "low": 0}]})
    with pytest.raises(ConfigError, match="extra"):
        parse_config({"monitors": [{"name": "x", "source": "A.b", "extra": 1}]})
    with pytest.raises(ConfigError, match="persistence"):
        parse_config({"monitors": [{"name": "x", "source": "A.b", "persistence": 0, "low": 0}]})


def _row(**keys: Any) -> dict[str, Any]:
    return {"name": "x", "source": "PowerStatus.soc_frac", "low": 0.1, **keys}


@pytest.mark.parametrize(
    ("table", "names"),
    [
        ({"boot_s": "ten"}, "boot_s"),
        ({"boot_s": math.nan}, "boot_s"),
        ({"clear_s": math.inf}, "clear_s"),
        ({"recovery_s": -1.0}, "recovery_s"),
        ({"stable_s": True}, "stable_s"),
        ({"resume_soc": 1.5}, "resume_soc"),
        ({"stale_s": 0.0}, "stale_s"),
        ({"rate_hz": 0}, "rate_hz"),
        ({"max_boots": 0}, "max_boots"),
        ({"max_boots": 2.5}, "max_boots"),
        ({"history": 0}, "history"),
        ({"history": 10**6}, "history"),
        ({"bogus": 1}, "bogus"),
        ({"monitors": {"name": "x"}}, "monitors"),
        ({"monitors": [_row(name=f"m{i}") for i in range(65)]}, "at most 64"),
        ({"monitors": [_row(), _row()]}, "monitors[1].name: 'x' is used by entry 0 too"),
        ({"monitors": [_row(name="")]}, "name"),
        ({"monitors": [_row(source="soc_frac")]}, "[fdir.monitors[x]] source: 'soc_frac'"),
        ({"monitors": [_row(low=None)]}, "[fdir.monitors[x]] low: expected a number"),
        ({"monitors": [_row(low=math.nan)]}, "[fdir.monitors[x]] low: expected a number"),
        ({"monitors": [_row(high="1")]}, "[fdir.monitors[x]] high: expected a number"),
        ({"monitors": [_row(low=2.0, high=1.0)]}, "[fdir.monitors[x]] high: 1.0 is below low"),
        ({"monitors": [{"name": "x", "source": "PowerStatus.soc_frac"}]}, "x]] low: a limit"),
        ({"monitors": [_row(kind="baseline")]}, "[fdir.monitors[x]] low: a baseline"),
        ({"monitors": [_row(action="reboot")]}, "[fdir.monitors[x]] action: expected one of"),
        ({"monitors": [_row(persistence=3601)]}, "[fdir.monitors[x]] persistence: expected"),
        ({"monitors": [_row(persistence=2.0)]}, "[fdir.monitors[x]] persistence: expected"),
        ({"monitors": [_row(enabled="yes")]}, "[fdir.monitors[x]] enabled: expected true"),
        ({"monitors": ["soc"]}, "[fdir] monitors[0]: expected a table"),
        ({"stale_s": 0.5}, "[fdir] stale_s: 0.5 s is shorter than one FDIR step"),
        ({"resume_soc": 0.1, "monitors": [_row()]}, "resume_soc: 0.1 must be above the SoC floor"),
    ],
)
def test_parse_config_names_the_bad_key(table: dict[str, Any], names: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(names)):
        parse_config(table)


def test_parse_config_of_the_default_table_and_config_alias() -> None:
    assert Config is FdirConfig
    cfg = parse_config({"boot_s": 10, "max_boots": 3, "monitors": [_row(high=0.9)]})
    assert isinstance(cfg.boot_s, float) and cfg.boot_s == 10.0
    assert cfg.monitors[0].low == 0.1 and cfg.monitors[0].high == 0.9
    assert parse_config({}) == FdirConfig()


# -- install: the composition contract ---------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("PowerStaus.soc_frac", "no bus message type 'PowerStaus'"),
        ("PowerStatus.soc", "PowerStatus has no field 'soc'"),
        ("PowerStatus.t_ns", "PowerStatus has no field 't_ns'"),
        ("ThermalStatus.zones", "'zones' is a"),
        ("ThermalThrottle.reason", "'reason' is a"),
        ("PowerStatus.zone:battery", "PowerStatus has no zone temperatures"),
        ("ThermalStatus.zone:", "ThermalStatus has no zone temperatures"),
    ],
)
def test_install_refuses_a_source_that_does_not_resolve(source: str, why: str) -> None:
    ex = Executive(SimClock(), 10.0)
    before = list(ex.components)
    cfg = parse_config({"monitors": [{"name": "bad_row", "source": source, "high": 1.0}]})
    with pytest.raises(ConfigError, match=rf"'bad_row': source '{source}'.*{why}"):
        install(context(ex), cfg)
    assert ex.components == before  # nothing added


def test_install_takes_the_registered_id_and_polls_only_the_table_sources() -> None:
    ex = Executive(SimClock(), 10.0)
    cfg = parse_config(
        {
            "monitors": [
                {"name": "hot", "source": "ThermalStatus.zone:battery", "high": 40.0},
                {"name": "cells", "source": "PowerStatus.cells_ok", "kind": "baseline"},
                {"name": "mode", "source": "ModeStatus.mode", "high": 5},
            ]
        }
    )
    before = list(ex.components)
    app = install(context(ex), cfg)
    assert isinstance(app, FdirApp) and ex.components == [*before, app.manager]
    assert app.manager.component_id == COMPONENT_IDS["fdir"] == 22
    assert {t.__name__ for t in app.manager.source_types} == {
        "ThermalStatus",
        "PowerStatus",
        "ModeStatus",
    }


def test_a_new_apps_message_is_monitored_by_configuration_alone() -> None:
    """LinkStatus is not in flight.messages: registering it is all FDIR needs."""
    clock = SimClock()
    ex = Executive(clock, 10.0)
    types = {**MESSAGE_TYPES, "LinkStatus": LinkStatus}
    with pytest.raises(ConfigError, match="'terminal' is a"):
        install(
            context(ex, types),
            parse_config({"monitors": [{"name": "t", "source": "LinkStatus.terminal", "low": 0}]}),
        )
    cfg = parse_config(
        {
            "boot_s": 2,
            "monitors": [
                {"name": "link_margin", "source": "LinkStatus.margin_db", "low": 3.0,
                 "persistence": 2, "action": "event"},
            ],
        }
    )  # fmt: skip
    f = install(context(ex, types), cfg).manager
    margin = {"db": 6.0}

    def publish(t_ns: int) -> None:
        ex.bus.publish(LinkStatus(t_ns, margin["db"], "port"))
        ex.bus.publish(
            PowerStatus(t_ns, 0.8, 100.0, 0.0, 20.0, 0.0, 0.0, True, ShedLevel.NONE, True, 28, 120)
        )

    ex.add_tick_hook(publish)
    ex.run_for(5 * NS_PER_S)
    assert mode_of(f) is Mode.NOMINAL and not f.detections
    margin["db"] = 1.0
    ex.run_for(3 * NS_PER_S)
    assert [d.monitor for d in f.detections] == ["link_margin"]
    assert f.detections[0].value == 1.0 and mode_of(f) is Mode.NOMINAL  # action "event": no SAFE
    assert [e.name for e in ex.events.history()].count("detection") == 1


# -- bounded memory ---------------------------------------------------------------------------
def test_detection_and_mode_rings_are_bounded_and_counters_count_everything() -> None:
    history = 3
    ex, f, _clock = rig(history=history)
    power(ex, 0.8)
    ex.run_for(6 * NS_PER_S)
    cycles = 7  # each cycle: one soc detection, NOMINAL/RECOVERY -> SAFE -> RECOVERY
    for _ in range(cycles):
        power(ex, 0.1)
        ex.run_for(4 * NS_PER_S)
        assert mode_of(f) is Mode.SAFE
        power(ex, 0.8)
        ex.run_for(22 * NS_PER_S)
        assert mode_of(f) is Mode.RECOVERY
    assert len(f.detections) == history and len(f.mode_log) == history
    assert f.detections_by_monitor == {"soc": cycles} and f.hk.detections == cycles
    assert f.hk.safe_entries == cycles
    assert f.mode_changes == 1 + 2 * cycles  # BOOT -> NOMINAL, then SAFE, RECOVERY per cycle
    assert [c.mode for c in f.mode_log] == [Mode.RECOVERY, Mode.SAFE, Mode.RECOVERY]
    summary = FdirApp(f).summary()
    assert summary["detections_total"] == cycles and len(summary["detections"]) == history
    assert summary["mode_changes"] == 1 + 2 * cycles and len(summary["mode_log"]) == history
    assert summary["safe_entries"] == cycles and summary["mode_final"] == "RECOVERY"


def test_counters_saturate_at_their_field_maximum_and_still_pack() -> None:
    ex, f, _clock = rig()
    power(ex, 0.8)
    ex.run_for(6 * NS_PER_S)
    f.hk.safe_entries = int(FieldType.U16.hi)
    f.hk.detections = int(FieldType.U32.hi)
    power(ex, 0.1)
    ex.run_for(4 * NS_PER_S)
    assert mode_of(f) is Mode.SAFE and f.detections_by_monitor["soc"] == 1
    assert f.hk.safe_entries == FieldType.U16.hi and f.hk.detections == FieldType.U32.hi
    f.pack_housekeeping()  # would raise struct.error on overflow


def test_stale_source_blocks_nominal_and_silence_means_safe() -> None:
    ex, f, _clock = rig()
    ex.run_for(20 * NS_PER_S)  # no PowerStatus at all: unknown, never NOMINAL
    assert mode_of(f) is Mode.BOOT and f.hk.stale_sources == 1
    power(ex, 0.8)
    ex.run_for(10 * NS_PER_S)
    assert mode_of(f) is Mode.NOMINAL
    power(ex, None)  # the power app falls silent
    ex.run_for(15 * NS_PER_S)
    assert mode_of(f) is Mode.SAFE
    assert f.detections[-1].monitor == "silent:PowerStatus"
    ex.run_for(60 * NS_PER_S)
    assert mode_of(f) is Mode.SAFE  # no recovery without data


def test_unknown_value_neither_raises_nor_clears_a_violation() -> None:
    mon = MonitorState(MonitorDef("m", "X.v", low=0.0, persistence=3))
    assert [mon.check(v) for v in (-1.0, -1.0, math.nan, math.nan, -1.0)] == [
        False,
        False,
        False,
        False,
        True,
    ]
    assert mon.violating
    mon.check(math.nan)
    assert mon.violating
