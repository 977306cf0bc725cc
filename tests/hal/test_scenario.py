"""Scenario files: parsing, rejection with the offending line, and the effect of every fault."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal import (
    AcceleratorStatus,
    DeviceFaultError,
    Family,
    PatState,
    PowerMode,
    ThrusterStatus,
)
from hal.registry import open_backend
from hal.sim import (
    FaultKind,
    ScenarioRunner,
    SimBackend,
    load_scenario,
    parse_scenario,
)
from native.errors import ConfigError

S = 1_000_000_000

DEVICES: dict[str, dict[str, Any]] = {
    "temp": {"family": "temperature", "channels": {"battery": "battery", "cpu": "compute"}},
    "gyro": {"family": "imu"},
    "gnss": {"family": "gnss"},
    "htr": {"family": "heater", "node": "battery", "rated_w": 12.0},
    "bat": {"family": "battery"},
    "sa": {"family": "solar_array"},
    "thr": {"family": "thruster"},
    "lct": {"family": "laser_terminal"},
    "acc": {"family": "accelerator", "initial_mode": "LOW"},
}
TARGETS = {n: Family(c["family"]) for n, c in DEVICES.items()}
CHANNELS = {"temp": ("battery", "cpu"), "gnss": ("position", "velocity"), "gyro": ("rate",)}

GOOD = """\
name = "everything"
description = "one fault of every kind"
seed = 5

[[fault]]
at_s = 10.0
kind = "sensor_stuck"
target = "temp.battery"
duration_s = 300

[[fault]]
at_s = 0
kind = "sensor_noisy"
target = "gyro"
noise_scale = 50.0

[[fault]]   # comment after a header
at_s = 5.5
kind = "sensor_dropout"
target = "gnss.position"
duration_s = 1.5

[[fault]]
at_s = 20
kind = "heater_stuck_on"
target = "htr"

[[fault]]
at_s = 20
kind = "heater_stuck_off"
target = "htr"
duration_s = 10

[[fault]]
at_s = 30
kind = "battery_cell_loss"
target = "bat"
cells = 2

[[fault]]
at_s = 30
kind = "solar_string_loss"
target = "sa"

[[fault]]
at_s = 40
kind = "thruster_failure"
target = "thr"
thrust_scale = 0.5

[[fault]]
at_s = 50
kind = "laser_loss_of_lock"
target = "lct"
duration_s = 20

[[fault]]
at_s = 60
kind = "accelerator_hang"
target = "acc"

[[fault]]
at_s = 70
kind = "accelerator_bit_errors"
target = "acc"
bits_per_result = 3

[[fault]]
at_s = 80
kind = "seu_burst"
target = "radiation.params"
n_bits = 4

[world]
physics_step_s = 1.0
"""


def _backend(scenario: Any = None, seed: int = 4, **extra: dict[str, Any]) -> SimBackend:
    b = open_backend("sim", seed=seed, scenario=scenario)
    b.create_devices({**DEVICES, **extra})
    assert isinstance(b, SimBackend)
    return b


# ----------------------------------------------------------------------------- parsing
def test_good_scenario_parses() -> None:
    scn = parse_scenario(GOOD, "good.toml", TARGETS, CHANNELS)
    assert scn.name == "everything" and scn.seed == 5 and scn.world == {"physics_step_s": 1.0}
    assert {f.kind for f in scn.faults} == set(FaultKind)
    assert [f.at_ns for f in scn.faults] == sorted(f.at_ns for f in scn.faults)
    first = scn.faults[0]
    assert (first.kind, first.target, first.line, first.index) == (
        FaultKind.SENSOR_NOISY,
        "gyro",
        11,
        2,
    )
    stuck = next(f for f in scn.faults if f.kind is FaultKind.SENSOR_STUCK)
    assert (stuck.device, stuck.channel, stuck.at_s, stuck.duration_ns) == (
        "temp",
        "battery",
        10.0,
        300_000_000_000,
    )
    assert stuck.line == 5
    defaults = {f.kind: f.param_dict() for f in scn.faults}
    assert defaults[FaultKind.SOLAR_STRING_LOSS] == {"strings": 1}
    assert defaults[FaultKind.BATTERY_CELL_LOSS] == {"cells": 2}
    assert defaults[FaultKind.THRUSTER_FAILURE] == {"thrust_scale": 0.5}
    assert defaults[FaultKind.SENSOR_DROPOUT] == {}


def test_load_from_file(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text(GOOD)
    assert load_scenario(p).source == str(p)
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")


def _fault(body: str, header_line: int = 3) -> str:
    """A scenario whose single fault table starts at ``header_line``."""
    pad = "\n" * (header_line - 1)
    return pad + "[[fault]]\n" + textwrap.dedent(body)


# Each malformed case: text, the line the message must name, a fragment of the problem.
MALFORMED = [
    (
        _fault('at_s = 1\nkind = "sensor_melted"\ntarget = "gyro"\n'),
        5,
        "unknown kind 'sensor_melted'",
    ),
    (
        _fault('at_s = 1\nkind = "sensor_stuck"\ntarget = "toaster"\n'),
        6,
        "unknown target 'toaster'",
    ),
    (
        _fault('at_s = 1\nkind = "sensor_stuck"\ntarget = "temp.attic"\n'),
        6,
        "unknown target 'temp.attic'",
    ),
    (_fault('at_s = 1\nkind = "heater_stuck_on"\ntarget = "gyro"\n'), 6, "is a imu"),
    (_fault('at_s = -2.0\nkind = "sensor_stuck"\ntarget = "gyro"\n'), 4, "negative time"),
    (_fault('kind = "sensor_stuck"\ntarget = "gyro"\n'), 3, "missing key 'at_s'"),
    (_fault('at_s = 1\ntarget = "gyro"\n'), 3, "missing key 'kind'"),
    (_fault('at_s = 1\nkind = "sensor_stuck"\n'), 3, "missing key 'target'"),
    (
        _fault('at_s = 1\nkind = "sensor_stuck"\ntarget = "gyro"\nduration_s = 0\n'),
        7,
        "duration_s must be",
    ),
    (
        _fault('at_s = 1\nkind = "sensor_stuck"\ntarget = "gyro"\ncells = 2\n'),
        7,
        "unknown key 'cells'",
    ),
    (
        _fault('at_s = 1\nkind = "battery_cell_loss"\ntarget = "bat"\nduration_s = 5\n'),
        7,
        "no duration_s",
    ),
    (_fault('at_s = 1\nkind = "battery_cell_loss"\ntarget = "bat"\ncells = 0\n'), 7, "cells = 0"),
    (_fault('at_s = 1\nkind = "battery_cell_loss"\ntarget = "bat"\ncells = 1.5\n'), 7, "integer"),
    (
        _fault('at_s = 1\nkind = "thruster_failure"\ntarget = "thr"\nthrust_scale = 2\n'),
        7,
        "thrust_scale",
    ),
    (
        _fault('at_s = 1\nkind = "sensor_noisy"\ntarget = "gyro"\nnoise_scale = 0\n'),
        7,
        "noise_scale",
    ),
    (
        _fault('at_s = 1\nkind = "accelerator_hang"\ntarget = "acc"\nduration_s = 3\n'),
        7,
        "no duration_s",
    ),
    (
        _fault('at_s = 1\nkind = "heater_stuck_on"\ntarget = "htr.coil"\n'),
        6,
        "not channel 'htr.coil'",
    ),
    (_fault('at_s = 1\nkind = "seu_burst"\ntarget = "radiation"\n'), 6, "radiation.<region>"),
    (_fault('at_s = 1\nkind = "sensor_stuck"\ntarget = "radiation.x"\n'), 6, "radiation region"),
    (_fault('at_s = "soon"\nkind = "sensor_stuck"\ntarget = "gyro"\n'), 4, "finite number"),
    ("seed = 1\n\n[[fault]\nat_s = 1\n", 3, "invalid TOML"),
    ('\nmode = "chaos"\n', 2, "unknown top-level key 'mode'"),
    ("\n\nfault = 3\n", 3, "[[fault]] tables"),
]


@pytest.mark.parametrize(("text", "line", "problem"), MALFORMED)
def test_malformed_scenario_names_line_and_problem(text: str, line: int, problem: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_scenario(text, "bad.toml", TARGETS, CHANNELS)
    msg = str(exc.value)
    assert msg.startswith(f"bad.toml:{line}:"), msg
    assert problem in msg, msg


def test_second_fault_is_named_by_its_own_line() -> None:
    text = GOOD.replace('target = "sa"', 'target = "bat"')
    with pytest.raises(ConfigError) as exc:
        parse_scenario(text, "s.toml", TARGETS, CHANNELS)
    line = GOOD.splitlines().index('target = "sa"') + 1
    assert str(exc.value).startswith(f"s.toml:{line}: fault #7:")
    assert "is a battery; solar_string_loss needs one of: solar_array" in str(exc.value)


def test_backend_rejects_unknown_target_before_time_passes(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text(_fault('at_s = 100\nkind = "sensor_stuck"\ntarget = "gyro2"\n'))
    b = open_backend("sim", scenario=p)
    with pytest.raises(ConfigError, match=r"s\.toml:6: .*unknown target 'gyro2'"):
        b.create_devices(DEVICES)
    assert dict(b.devices) == {} and b.t_ns == 0


def test_scenario_supplies_world_and_seed(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text("seed = 9\n[world.orbit]\naltitude_km = 600.0\n")
    b = open_backend("sim", scenario=p)
    assert b.seed == 9
    assert b.world.orbit.altitude_m == pytest.approx(600e3, rel=1e-6)


# ------------------------------------------------------------------------------ runner
def test_runner_applies_and_clears_on_time() -> None:
    scn = parse_scenario(GOOD, "good.toml")
    b = _backend(scn)
    b.world.radiation.register_memory("params", np.zeros(64, dtype=np.uint8))
    runner = b.scenario_runner()
    assert runner is not None
    b.run_for(6_000_000_000)  # t = 6 s
    kinds = [e.fault.kind for e in runner.events]
    assert kinds == [FaultKind.SENSOR_NOISY, FaultKind.SENSOR_DROPOUT]
    assert not b.device("gnss").read().valid
    b.run_for(2_000_000_000)  # dropout of 1.5 s cleared at the 8 s boundary
    assert runner.events[-1].action == "clear" and b.device("gnss").read().valid
    b.run_for(100_000_000_000)
    applied = [e.fault.kind for e in runner.events if e.action == "apply"]
    assert set(applied) == set(FaultKind)
    assert b.world.radiation.upsets_by_region["params"] == 4
    assert not runner.finished  # the stuck sensor clears at 310 s
    b.run_for(210_000_000_000)
    assert runner.finished
    report = json.loads(json.dumps(b.summary()))
    assert report["scenario"]["faults"] == len(FaultKind)
    assert len(report["scenario"]["events"]) == len(runner.events)
    assert report["devices"]["acc"] == "accelerator" and report["t_s"] == b.t_ns / 1e9
    assert {f.kind for f in runner.active} == {
        FaultKind.SENSOR_NOISY,
        FaultKind.HEATER_STUCK_ON,
        FaultKind.BATTERY_CELL_LOSS,
        FaultKind.SOLAR_STRING_LOSS,
        FaultKind.THRUSTER_FAILURE,
        FaultKind.ACCELERATOR_HANG,
        FaultKind.ACCELERATOR_BIT_ERRORS,
        FaultKind.SEU_BURST,
    }


def test_seu_burst_on_unregistered_region_is_a_config_error() -> None:
    scn = parse_scenario(_fault('at_s = 5\nkind = "seu_burst"\ntarget = "radiation.x"\n'))
    b = _backend(scn)
    b.world.radiation.register_memory("y", np.zeros(8, dtype=np.uint8))
    with pytest.raises(ConfigError, match=r"<string>:6: .*unknown memory region 'x'.*: y"):
        b.run_for(6_000_000_000)


def _one(kind: str, target: str, extra: str = "", at_s: float = 0.0) -> Any:
    return parse_scenario(
        f'[[fault]]\nat_s = {at_s}\nkind = "{kind}"\ntarget = "{target}"\n{extra}', "t.toml"
    )


# ----------------------------------------------------------------------- fault effects
def test_stuck_sensor_returns_a_constant_then_recovers() -> None:
    b = _backend(
        _one("sensor_stuck", "temp.battery", "duration_s = 600", at_s=10),
        big={"family": "heater", "node": "battery", "rated_w": 400.0},
    )
    temp = b.device("temp")
    b.run_for(10_000_000_000)
    b.device("big").set_on(True)  # heat the battery: the truth moves
    stuck = [temp.read() for _ in range(3)]
    for _ in range(20):
        b.run_for(20_000_000_000)
        stuck.append(temp.read())
    assert len({r.channel("battery").temp_c for r in stuck}) == 1
    assert all(r.channel("battery").valid for r in stuck)
    assert len({r.channel("cpu").temp_c for r in stuck}) > 1  # other channel unaffected
    truth_moved = b.world.thermal.temp_c("battery") - stuck[0].channel("battery").temp_c
    assert abs(truth_moved) > 0.2
    b.run_for(200_000_000_000)
    assert abs(temp.read().channel("battery").temp_c - b.world.thermal.temp_c("battery")) < 0.5


def test_noisy_sensor_has_larger_spread() -> None:
    def spread(backend: SimBackend) -> float:
        g = backend.device("gyro")
        return float(np.std([g.read().rate_rad_s[0] for _ in range(400)]))

    quiet = spread(_backend())
    loud = spread(_backend(_one("sensor_noisy", "gyro", "noise_scale = 20.0")))
    assert 15.0 < loud / quiet < 25.0


def test_dropout_invalidates_readings() -> None:
    b = _backend(_one("sensor_dropout", "gyro"))
    b.advance(1)
    r = b.device("gyro").read()
    assert not r.valid and all(math.isnan(x) for x in r.rate_rad_s)


def test_heater_stuck_on_keeps_power_while_commanded_off() -> None:
    b = _backend(_one("heater_stuck_on", "htr"))
    htr = b.device("htr")
    htr.set_on(False)
    b.advance(1_000_000_000)
    r = htr.read()
    assert not r.on and r.power_w == 12.0
    assert b.world.thermal.heater_w("battery") == 12.0
    t0 = b.world.thermal.temp_c("battery")
    ref = _backend()
    ref.advance(1_000_000_000)
    b.run_for(600_000_000_000)
    ref.run_for(600_000_000_000)
    assert b.world.thermal.temp_c("battery") > ref.world.thermal.temp_c("battery") + 0.05
    assert t0 == pytest.approx(ref.world.thermal.temp_c("battery"), abs=0.5)


def test_heater_stuck_off_gives_no_power_while_commanded_on() -> None:
    b = _backend(_one("heater_stuck_off", "htr", "duration_s = 5"))
    htr = b.device("htr")
    b.advance(1)
    htr.set_on(True)
    assert htr.read().power_w == 0.0 and b.world.thermal.heater_w("battery") == 0.0
    b.run_for(6_000_000_000)
    assert htr.read().power_w == 12.0 and b.world.thermal.heater_w("battery") == 12.0


def test_battery_cell_loss_lowers_voltage() -> None:
    ref, b = _backend(seed=3), _backend(_one("battery_cell_loss", "bat", "cells = 2", 5), seed=3)
    for x in (ref, b):
        x.run_for(10_000_000_000)
    r_ref, r = ref.device("bat").read(), b.device("bat").read()
    assert (r.cells_ok, r.cells_total, r_ref.cells_ok) == (26, 28, 28)
    # The pack loses two of 28 block voltages (the world's model: a bypassed block).
    assert r.voltage_v == pytest.approx(r_ref.voltage_v * 26 / 28, rel=0.02)


def test_solar_string_loss_lowers_array_current() -> None:
    ref, b = _backend(seed=3), _backend(_one("solar_string_loss", "sa", "strings = 100", 5), seed=3)
    for x in (ref, b):
        x.run_for(10_000_000_000)
    r_ref, r = ref.device("sa").read(), b.device("sa").read()
    assert r.strings_ok == 20 and r_ref.strings_ok == 120
    # With 20 strings the array cannot cover the load: it delivers all it has, which is
    # proportional to the working strings (the reference shunts its surplus).
    pw = b.world.power
    assert pw.array_available_w == pytest.approx(
        ref.world.power.array_available_w * 20 / 120, rel=0.02
    )
    assert r.power_w == pytest.approx(pw.array_current_a * pw.array_voltage_v, rel=0.03)
    assert r.power_w < 0.6 * r_ref.power_w


def test_thruster_failure_and_degradation() -> None:
    b = _backend(_one("thruster_failure", "thr", "duration_s = 10"))
    b.world.power.set_rail_on("propulsion", True)
    b.advance(1)
    thr = b.device("thr")
    assert thr.read().status is ThrusterStatus.FAULT
    with pytest.raises(DeviceFaultError):
        thr.fire((1.0, 0.0, 0.0), 5.0)
    b.run_for(11_000_000_000)
    assert thr.read().status is ThrusterStatus.READY
    thr.fire((1.0, 0.0, 0.0), 5.0)
    assert thr.read().thrust_n == b.world.propulsion.rated_thrust_n

    half = _backend(_one("thruster_failure", "thr", "thrust_scale = 0.5"))
    half.world.power.set_rail_on("propulsion", True)
    half.advance(1)
    t = half.device("thr")
    t.fire((0.0, 1.0, 0.0), 5.0)
    r = t.read()
    assert r.status is ThrusterStatus.FIRING
    assert r.thrust_n == pytest.approx(0.5 * half.world.propulsion.rated_thrust_n)


def _until(b: SimBackend, cond: Any, max_s: int = 200) -> int:
    for s in range(max_s):
        if cond():
            return s
        b.advance(1_000_000_000)
    raise AssertionError("condition never met")


def test_laser_loss_of_lock_drops_link_until_cleared() -> None:
    b = _backend(_one("laser_loss_of_lock", "lct", "duration_s = 60", at_s=100))
    lct = b.device("lct")
    lct.acquire("ahead")
    _until(b, lambda: lct.read().state is PatState.COMM)
    assert b.t_ns < 100_000_000_000
    b.run_for(100_000_000_000 - b.t_ns + 1_000_000_000)
    states = set()
    for _ in range(50):
        states.add(lct.read().state)
        b.advance(1_000_000_000)
    assert PatState.COMM not in states and PatState.SCANNING in states
    # Cleared at 160 s, within the re-acquisition timeout: the link comes back by itself.
    _until(b, lambda: lct.read().state is PatState.COMM, max_s=60)


def test_accelerator_hang_until_reset() -> None:
    b = _backend(_one("accelerator_hang", "acc", at_s=1))
    acc = b.device("acc")
    b.advance(1_000_000_000)
    job = acc.submit(np.multiply, np.ones(4), np.ones(4), ops=4e14)  # 2 s at 200 TOPS
    b.run_for(30_000_000_000)
    assert acc.result(job) is None
    assert acc.read().status is AcceleratorStatus.HUNG
    acc.reset()
    with pytest.raises(DeviceFaultError, match="lost"):
        acc.result(job)
    job2 = acc.submit("add", np.ones(3), np.ones(3))
    b.advance(1_000_000_000)
    res = acc.result(job2)
    assert res is not None and np.array_equal(res.outputs, np.full(3, 2.0))
    assert acc.read().status is AcceleratorStatus.IDLE and acc.read().resets == 1


def test_accelerator_bit_errors_flip_exactly_n_bits() -> None:
    b = _backend(_one("accelerator_bit_errors", "acc", "bits_per_result = 3\nduration_s = 5"))
    acc = b.device("acc")
    b.advance(1)
    a = np.arange(256, dtype=np.float64)
    job = acc.submit("relu", a)
    b.advance(1_000_000_000)
    res = acc.result(job)
    assert res is not None
    diff = np.unpackbits(np.bitwise_xor(res.outputs.view(np.uint8), a.view(np.uint8)))
    assert int(diff.sum()) in (1, 3)  # three flips (two may land on one bit and cancel)
    assert acc.injected_bit_flips == 3
    assert acc.read().ecc_corrected == 0  # silent corruption
    b.run_for(6_000_000_000)
    job = acc.submit("relu", a)
    b.advance(1_000_000_000)
    assert np.array_equal(acc.result(job).outputs, a)


def test_seu_burst_on_accelerator_counts_ecc() -> None:
    b = _backend(_one("seu_burst", "acc", "n_bits = 7"))
    b.advance(1)
    assert b.device("acc").read().ecc_corrected == 7


def test_scenario_runs_are_deterministic() -> None:
    def run() -> list[Any]:
        b = _backend(parse_scenario(GOOD), seed=21)
        b.world.radiation.register_memory("params", np.zeros(64, dtype=np.uint8))
        b.device("acc").set_mode(PowerMode.LOW)
        out = []
        for _ in range(90):
            b.advance(1_000_000_000)
            out.append((b.device("temp").read(), b.device("gyro").read(), b.device("lct").read()))
        return out

    assert run() == run()


def test_runner_standalone_validates_targets() -> None:
    b = _backend()
    with pytest.raises(ConfigError, match="unknown target 'nope'"):
        ScenarioRunner(_one("sensor_stuck", "nope"), b.world, b.devices)  # type: ignore[arg-type]


# ------------------------------------------------------------------- property: round trip
_KIND_TARGETS = {
    FaultKind.SENSOR_STUCK: ["temp.battery", "gyro", "gnss.velocity"],
    FaultKind.SENSOR_NOISY: ["temp.cpu", "gnss"],
    FaultKind.SENSOR_DROPOUT: ["gyro.rate", "bat"],
    FaultKind.HEATER_STUCK_ON: ["htr"],
    FaultKind.HEATER_STUCK_OFF: ["htr"],
    FaultKind.BATTERY_CELL_LOSS: ["bat"],
    FaultKind.SOLAR_STRING_LOSS: ["sa"],
    FaultKind.THRUSTER_FAILURE: ["thr"],
    FaultKind.LASER_LOSS_OF_LOCK: ["lct"],
    FaultKind.ACCELERATOR_HANG: ["acc"],
    FaultKind.ACCELERATOR_BIT_ERRORS: ["acc"],
    FaultKind.SEU_BURST: ["acc", "radiation.params"],
}
_NO_DURATION = {
    FaultKind.BATTERY_CELL_LOSS,
    FaultKind.SOLAR_STRING_LOSS,
    FaultKind.ACCELERATOR_HANG,
    FaultKind.SEU_BURST,
}
CHANNELS_ALL = {**CHANNELS, "bat": ("voltage", "current", "temp")}


@st.composite
def _fault_tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(list(FaultKind)))
        f: dict[str, Any] = {
            "at_s": draw(st.floats(0, 1e5, allow_nan=False).map(lambda x: round(x, 3))),
            "kind": kind.value,
            "target": draw(st.sampled_from(_KIND_TARGETS[kind])),
        }
        if kind not in _NO_DURATION and draw(st.booleans()):
            f["duration_s"] = draw(st.integers(1, 10_000))
        out.append(f)
    return out


@settings(deadline=None, max_examples=60)
@given(tables=_fault_tables(), gaps=st.lists(st.integers(0, 3), min_size=7, max_size=7))
def test_generated_scenarios_round_trip_with_lines(
    tables: list[dict[str, Any]], gaps: list[int]
) -> None:
    lines = ['name = "generated"']
    headers = []
    for i, f in enumerate(tables):
        lines += ["# spacer"] * gaps[i % len(gaps)]
        lines.append("[[fault]]")
        headers.append(len(lines))
        for k, v in f.items():
            lines.append(f"{k} = {v!r}".replace("'", '"'))
    scn = parse_scenario("\n".join(lines) + "\n", "gen.toml", TARGETS, CHANNELS_ALL)
    by_index = {f.index: f for f in scn.faults}
    assert sorted(by_index) == list(range(1, len(tables) + 1))
    for i, f in enumerate(tables, start=1):
        got = by_index[i]
        assert got.line == headers[i - 1]
        assert (got.kind.value, got.target) == (f["kind"], f["target"])
        assert got.at_ns == round(f["at_s"] * 1e9)
        assert got.duration_ns == (None if "duration_s" not in f else f["duration_s"] * S)
        # Breaking the target of fault i is reported on that fault's target line.
        if f["target"] != "radiation.params":
            bad = list(lines)
            h = headers[i - 1]  # lines[h - 1] is the header; at_s, kind, target follow
            assert bad[h + 2].startswith("target")
            bad[h + 2] = 'target = "ghost"'
            with pytest.raises(ConfigError) as exc:
                parse_scenario("\n".join(bad), "gen.toml", TARGETS, CHANNELS_ALL)
            assert str(exc.value).startswith(f"gen.toml:{h + 3}: fault #{i}:")
