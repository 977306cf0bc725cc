"""FDIR: monitor persistence and baselines, the mode state machine, commands, escalation."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.core import NS_PER_S, CommandError, Executive, ParamStore, SimClock
from flight.fdir import FdirConfig, FdirManager, MonitorDef, MonitorState, parse_config, read_source
from flight.messages import Mode, ModeStatus, PowerStatus, ShedLevel
from native.errors import ConfigError


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
    max_boots: int = 3, store: ParamStore | None = None
) -> tuple[Executive, FdirManager, SimClock]:
    clock = SimClock()
    ex = Executive(clock, 10.0, params=store)
    cfg = FdirConfig(
        boot_s=5,
        clear_s=20,
        recovery_s=10,
        stable_s=30,
        resume_soc=0.4,
        max_boots=max_boots,
        monitors=[MonitorDef("soc", "PowerStatus.soc_frac", low=0.3, persistence=3)],
    )
    f = FdirManager(cfg)
    ex.add(f, 1.0)
    return ex, f, clock


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
    assert f.mode is Mode.NOMINAL
    power(ex, 0.2)
    ex.run_for(4 * NS_PER_S)
    assert f.mode is Mode.SAFE and ex.bus.latest(ModeStatus).mode is Mode.SAFE
    assert [d.monitor for d in f.detections] == ["soc"]
    power(ex, 0.8)
    ex.run_for(25 * NS_PER_S)
    assert f.mode is Mode.RECOVERY
    power(ex, 0.25)  # relapse during recovery
    ex.run_for(2 * NS_PER_S)
    assert f.mode is Mode.SAFE
    power(ex, 0.8)
    ex.run_for(40 * NS_PER_S)
    assert f.mode is Mode.NOMINAL
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
    assert (row.low, row.high) == (pytest.approx(0.2), 1.0)


def test_reset_escalation_latches_safe(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "params.bin"
    for boot in range(1, 4):
        store = ParamStore(path)
        ex, f, _clock = rig(max_boots=3, store=store)
        store.load()
        power(ex, 0.9)
        ex.run_for(8 * NS_PER_S)  # short of stable_s: a "crash" before NOMINAL is stable
        assert f.hk.boot_count == boot
    assert f.latched and f.mode is Mode.SAFE
    with pytest.raises(CommandError):
        f.execute(1, bytes([int(Mode.NOMINAL)]))
    f.execute(5, b"")
    ex.run_for(30 * NS_PER_S)
    assert f.mode is Mode.NOMINAL


def test_parse_config_rejects_bad_rows() -> None:
    with pytest.raises(ConfigError, match="kind"):
        parse_config({"monitors": [{"name": "x", "source": "A.b", "kind": "odd"}]})
    with pytest.raises(ConfigError, match="extra"):
        parse_config({"monitors": [{"name": "x", "source": "A.b", "extra": 1}]})
    with pytest.raises(ConfigError, match="persistence"):
        parse_config({"monitors": [{"name": "x", "source": "A.b", "persistence": 0}]})


def test_stale_source_blocks_nominal_and_silence_means_safe() -> None:
    ex, f, _clock = rig()
    ex.run_for(20 * NS_PER_S)  # no PowerStatus at all: unknown, never NOMINAL
    assert f.mode is Mode.BOOT and f.hk.stale_sources == 1
    power(ex, 0.8)
    ex.run_for(10 * NS_PER_S)
    assert f.mode is Mode.NOMINAL
    power(ex, None)  # the power app falls silent
    ex.run_for(15 * NS_PER_S)
    assert f.mode is Mode.SAFE
    assert f.detections[-1].monitor == "silent:PowerStatus"
    ex.run_for(60 * NS_PER_S)
    assert f.mode is Mode.SAFE  # no recovery without data


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
