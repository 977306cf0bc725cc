"""Fault-injection scenarios: TOML files of timed faults, and the runner that applies them.

A scenario file::

    name = "battery heater stuck"          # optional
    description = "..."                    # optional
    seed = 7                               # optional, world seed when the backend gets none
    [world]                                # optional, the world table (hal.sim.world)

    [[fault]]
    at_s = 120.0                           # simulated time of onset, s (>= 0)
    kind = "sensor_stuck"
    target = "temp.battery"                # device, or device.channel
    duration_s = 300.0                     # optional: cleared after this long (> 0)

Kinds, their targets (device family) and parameters:

=========================  ==========================  ===========================================
kind                       target                      parameters (default)
=========================  ==========================  ===========================================
sensor_stuck               sensor[.channel]            -
sensor_noisy               sensor[.channel]            noise_scale (10.0, > 0)
sensor_dropout             sensor[.channel]            -
heater_stuck_on            heater                      -
heater_stuck_off           heater                      -
battery_cell_loss          battery                     cells (1); permanent, no duration_s
solar_string_loss          solar_array                 strings (1); permanent, no duration_s
thruster_failure           thruster                    thrust_scale (absent: total failure; 0..1)
laser_loss_of_lock         laser_terminal              -
accelerator_hang           accelerator                 - ; latched until reset, no duration_s
accelerator_bit_errors     accelerator                 bits_per_result (1)
seu_burst                  accelerator | radiation.R   n_bits (10); instantaneous, no duration_s
=========================  ==========================  ===========================================

Sensor families: gnss, imu, star_tracker, sun_sensor, temperature, solar_array, battery,
radiator. ``radiation.R`` names a memory region registered with ``world.radiation`` (checked
when the burst fires, since flight registers its regions at start-up).

Every problem (TOML syntax, unknown kind, unknown or wrong-family target, negative time,
missing key, bad parameter) is a :class:`~native.errors.ConfigError` whose message starts with
``<file>:<line>:`` naming the offending line, raised before any simulated time passes.
"""

from __future__ import annotations

import enum
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hal._common import Family
from native.errors import ConfigError

if TYPE_CHECKING:
    from hal.sim._base import SimDevice

__all__ = [
    "Fault",
    "FaultEvent",
    "FaultKind",
    "Scenario",
    "ScenarioRunner",
    "load_scenario",
    "parse_scenario",
]


@enum.unique
class FaultKind(enum.StrEnum):
    """Kinds of injectable faults (the ``kind`` key)."""

    SENSOR_STUCK = "sensor_stuck"
    SENSOR_NOISY = "sensor_noisy"
    SENSOR_DROPOUT = "sensor_dropout"
    HEATER_STUCK_ON = "heater_stuck_on"
    HEATER_STUCK_OFF = "heater_stuck_off"
    BATTERY_CELL_LOSS = "battery_cell_loss"
    SOLAR_STRING_LOSS = "solar_string_loss"
    THRUSTER_FAILURE = "thruster_failure"
    LASER_LOSS_OF_LOCK = "laser_loss_of_lock"
    ACCELERATOR_HANG = "accelerator_hang"
    ACCELERATOR_BIT_ERRORS = "accelerator_bit_errors"
    SEU_BURST = "seu_burst"


_SENSORS = frozenset(
    {
        Family.GNSS,
        Family.IMU,
        Family.STAR_TRACKER,
        Family.SUN_SENSOR,
        Family.TEMPERATURE,
        Family.SOLAR_ARRAY,
        Family.BATTERY,
        Family.RADIATOR,
    }
)


@dataclass(frozen=True, slots=True)
class _Param:
    kind: type  # int or float
    default: float | None  # None: optional without default (absent means "not given")
    lo: float
    hi: float
    lo_open: bool = False


@dataclass(frozen=True, slots=True)
class _Spec:
    families: frozenset[Family]
    params: Mapping[str, _Param] = field(default_factory=dict)
    duration: bool = True  # duration_s allowed
    channels: bool = False  # device.channel targets allowed
    radiation: bool = False  # radiation.<region> targets allowed


_SPECS: Mapping[FaultKind, _Spec] = {
    FaultKind.SENSOR_STUCK: _Spec(_SENSORS, channels=True),
    FaultKind.SENSOR_NOISY: _Spec(
        _SENSORS, {"noise_scale": _Param(float, 10.0, 0.0, 1e6, lo_open=True)}, channels=True
    ),
    FaultKind.SENSOR_DROPOUT: _Spec(_SENSORS, channels=True),
    FaultKind.HEATER_STUCK_ON: _Spec(frozenset({Family.HEATER})),
    FaultKind.HEATER_STUCK_OFF: _Spec(frozenset({Family.HEATER})),
    FaultKind.BATTERY_CELL_LOSS: _Spec(
        frozenset({Family.BATTERY}), {"cells": _Param(int, 1, 1, 10_000)}, duration=False
    ),
    FaultKind.SOLAR_STRING_LOSS: _Spec(
        frozenset({Family.SOLAR_ARRAY}), {"strings": _Param(int, 1, 1, 100_000)}, duration=False
    ),
    FaultKind.THRUSTER_FAILURE: _Spec(
        frozenset({Family.THRUSTER}), {"thrust_scale": _Param(float, None, 0.0, 1.0)}
    ),
    FaultKind.LASER_LOSS_OF_LOCK: _Spec(frozenset({Family.LASER_TERMINAL})),
    FaultKind.ACCELERATOR_HANG: _Spec(frozenset({Family.ACCELERATOR}), duration=False),
    FaultKind.ACCELERATOR_BIT_ERRORS: _Spec(
        frozenset({Family.ACCELERATOR}), {"bits_per_result": _Param(int, 1, 1, 1_000_000)}
    ),
    FaultKind.SEU_BURST: _Spec(
        frozenset({Family.ACCELERATOR}),
        {"n_bits": _Param(int, 10, 1, 100_000_000)},
        duration=False,
        radiation=True,
    ),
}

_BASE_KEYS = ("at_s", "kind", "target", "duration_s")
_TOP_KEYS = ("name", "description", "seed", "world", "fault")


@dataclass(frozen=True, slots=True)
class Fault:
    """One timed fault of a scenario."""

    index: int  #: 1-based position in the file
    line: int  #: line of its ``[[fault]]`` header (0 when unknown)
    at_ns: int  #: onset, ns of simulated time
    kind: FaultKind
    target: str  #: ``device``, ``device.channel`` or ``radiation.region``
    duration_ns: int | None  #: None: not cleared by time
    params: tuple[tuple[str, float | int], ...]  #: kind parameters, defaults filled in

    @property
    def at_s(self) -> float:
        """Onset, s."""
        return self.at_ns / 1e9

    @property
    def device(self) -> str:
        """Target device (or ``radiation``)."""
        return self.target.split(".", 1)[0]

    @property
    def channel(self) -> str | None:
        """Target channel or region, None for a whole device."""
        parts = self.target.split(".", 1)
        return parts[1] if len(parts) == 2 else None

    def param_dict(self) -> dict[str, float | int]:
        """The parameters as a dict."""
        return dict(self.params)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A parsed, validated scenario."""

    source: str  #: file name (or ``<string>``) used in messages
    faults: tuple[Fault, ...]  #: ordered by onset, then by position
    name: str = ""
    description: str = ""
    seed: int | None = None
    world: Mapping[str, Any] | None = None
    key_lines: Mapping[int, Mapping[str, int]] = field(default_factory=dict, repr=False)

    def where(self, fault: Fault, key: str | None = None) -> str:
        """``source:line`` of ``fault`` (of its ``key`` when known)."""
        line = self.key_lines.get(fault.index, {}).get(key or "", 0) or fault.line
        return f"{self.source}:{line}"

    def check(
        self,
        targets: Mapping[str, Family],
        channels: Mapping[str, Iterable[str]],
        *,
        regions: Iterable[str] | None = None,
        end_ns: int | None = None,
    ) -> tuple[str, ...]:
        """Check the scenario against the node that will run it, before it runs.

        ``targets``/``channels``: the node's devices (name -> family, name -> fault channels);
        ``regions``: the memory regions registered with the radiation model (None: not
        checked); ``end_ns``: the run's length (ns of simulated time). Raises ConfigError
        (naming the line) for an unknown device, channel or region; returns one warning per
        fault that the run will not reach (onset at or after ``end_ns``).
        """
        check_targets(self, targets, channels)
        if regions is not None:
            known = tuple(regions)
            for f in self.faults:
                radiation = f.device == "radiation" and _SPECS[f.kind].radiation
                if radiation and f.channel not in known:
                    raise ConfigError(
                        f"{self.where(f, 'target')}: fault #{f.index}: unknown memory "
                        f"region {f.channel!r} (registered: {', '.join(known) or 'none'})"
                    )
        warnings: list[str] = []
        if end_ns is not None:
            for f in self.faults:
                if f.at_ns >= end_ns:
                    warnings.append(
                        f"{self.where(f, 'at_s')}: fault #{f.index} ({f.kind.value} on "
                        f"{f.target}) at {f.at_s:g} s is at or after the end of the run "
                        f"({end_ns / 1e9:g} s): it will not be applied"
                    )
        return tuple(warnings)


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """A fault applied or cleared by the runner."""

    t_ns: int
    action: str  #: "apply" or "clear"
    fault: Fault


# ------------------------------------------------------------------------------ parsing
_HEADER_RE = re.compile(r"^\s*\[\[\s*fault\s*\]\]\s*(#.*)?$")
_TABLE_RE = re.compile(r"^\s*\[")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def _locate(text: str) -> list[tuple[int, dict[str, int]]]:
    """(header line, {key: line}) of every ``[[fault]]`` table, in order."""
    lines = text.splitlines()
    out: list[tuple[int, dict[str, int]]] = []
    current: dict[str, int] | None = None
    for no, line in enumerate(lines, start=1):
        if _HEADER_RE.match(line):
            current = {}
            out.append((no, current))
        elif _TABLE_RE.match(line):
            current = None
        elif current is not None:
            m = _KEY_RE.match(line)
            if m:
                current.setdefault(m.group(1), no)
    return out


def _top_key_line(text: str, key: str) -> int:
    pat = re.compile(rf"^\s*(\[+\s*{re.escape(key)}\b|{re.escape(key)}\s*=)")
    for no, line in enumerate(text.splitlines(), start=1):
        if pat.match(line):
            return no
    return 0


def parse_scenario(
    text: str,
    source: str = "<string>",
    targets: Mapping[str, Family] | None = None,
    channels: Mapping[str, Iterable[str]] | None = None,
) -> Scenario:
    """Parse and validate scenario TOML ``text``.

    With ``targets`` (device name -> family) and ``channels`` (device name -> channel names)
    the targets are checked too; otherwise only their syntax is.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"{source}:{m.group(1) if m else 0}: invalid TOML: {exc}") from exc
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"{source}:{_top_key_line(text, key)}: unknown top-level key {key!r} "
                f"(allowed: {', '.join(_TOP_KEYS)})"
            )
    name = data.get("name", "")
    desc = data.get("description", "")
    for k, v in (("name", name), ("description", desc)):
        if not isinstance(v, str):
            raise ConfigError(f"{source}:{_top_key_line(text, k)}: {k} must be a string")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ConfigError(f"{source}:{_top_key_line(text, 'seed')}: seed must be an int >= 0")
    world = data.get("world")
    if world is not None and not isinstance(world, dict):
        raise ConfigError(f"{source}:{_top_key_line(text, 'world')}: world must be a table")
    raw = data.get("fault", [])
    if not isinstance(raw, list) or not all(isinstance(f, dict) for f in raw):
        raise ConfigError(
            f"{source}:{_top_key_line(text, 'fault')}: faults must be [[fault]] tables"
        )
    located = _locate(text)
    if len(located) != len(raw):  # e.g. an inline array: no per-fault lines
        fallback = _top_key_line(text, "fault")
        located = [(fallback, {}) for _ in raw]
    faults = []
    key_lines: dict[int, Mapping[str, int]] = {}
    for i, (table, (header, keys)) in enumerate(zip(raw, located, strict=True), start=1):
        faults.append(_parse_fault(table, i, header, keys, source))
        key_lines[i] = keys
    faults.sort(key=lambda f: (f.at_ns, f.index))
    scn = Scenario(source, tuple(faults), name, desc, seed, world, key_lines)
    if targets is not None:
        check_targets(scn, targets, channels or {})
    return scn


def _parse_fault(
    table: Mapping[str, Any], index: int, header: int, keys: Mapping[str, int], source: str
) -> Fault:
    def err(key: str | None, msg: str) -> ConfigError:
        line = keys.get(key, header) if key else header
        return ConfigError(f"{source}:{line}: fault #{index}: {msg}")

    for key in ("at_s", "kind", "target"):
        if key not in table:
            raise err(None, f"missing key {key!r}")
    kind_s = table["kind"]
    try:
        kind = FaultKind(kind_s)
    except ValueError:
        raise err(
            "kind", f"unknown kind {kind_s!r} (kinds: {', '.join(k.value for k in FaultKind)})"
        ) from None
    spec = _SPECS[kind]
    for key in table:
        if key not in _BASE_KEYS and key not in spec.params:
            allowed = ", ".join((*_BASE_KEYS, *spec.params))
            raise err(key, f"unknown key {key!r} for {kind.value} (allowed: {allowed})")
    at = table["at_s"]
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
        raise err("at_s", f"at_s must be a finite number, got {at!r}")
    if at < 0:
        raise err("at_s", f"negative time at_s = {at!r}")
    target = table["target"]
    if not isinstance(target, str) or not re.fullmatch(r"[^.\s]+(\.[^\s]+)?", target):
        raise err("target", f"target must be 'device' or 'device.channel', got {target!r}")
    if target.startswith("radiation.") and not spec.radiation:
        raise err("target", f"{kind.value} cannot target a radiation region ({target!r})")
    if spec.radiation and target == "radiation":
        raise err("target", "name the memory region: 'radiation.<region>'")
    duration_ns = None
    if "duration_s" in table:
        if not spec.duration:
            raise err("duration_s", f"{kind.value} takes no duration_s (it is not cleared by time)")
        d = table["duration_s"]
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not math.isfinite(d) or d <= 0:
            raise err("duration_s", f"duration_s must be a number > 0, got {d!r}")
        duration_ns = round(d * 1e9)
    params: list[tuple[str, float | int]] = []
    for pname, p in spec.params.items():
        if pname not in table:
            if p.default is not None:
                params.append((pname, p.kind(p.default)))
            continue
        v = table[pname]
        if p.kind is int:
            ok = isinstance(v, int) and not isinstance(v, bool)
        else:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if not ok:
            raise err(pname, f"{pname} must be {'an integer' if p.kind is int else 'a number'}")
        if v < p.lo or v > p.hi or (p.lo_open and v == p.lo):
            lo_b = "(" if p.lo_open else "["
            raise err(pname, f"{pname} = {v!r} is outside {lo_b}{p.lo}, {p.hi}]")
        params.append((pname, p.kind(v)))
    return Fault(index, header, round(at * 1e9), kind, target, duration_ns, tuple(params))


def load_scenario(
    path: str | Path,
    targets: Mapping[str, Family] | None = None,
    channels: Mapping[str, Iterable[str]] | None = None,
) -> Scenario:
    """Read and parse the scenario file ``path`` (see :func:`parse_scenario`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read scenario: {exc}") from exc
    return parse_scenario(text, str(p), targets, channels)


def check_targets(
    scenario: Scenario, targets: Mapping[str, Family], channels: Mapping[str, Iterable[str]]
) -> None:
    """Check every fault's target against the devices (name -> family, name -> channels)."""
    for f in scenario.faults:
        spec = _SPECS[f.kind]
        where = scenario.where(f, "target")
        if spec.radiation and f.device == "radiation":
            continue
        if f.device not in targets:
            known = ", ".join(sorted(targets)) or "none"
            raise ConfigError(
                f"{where}: fault #{f.index}: unknown target {f.target!r} (devices: {known})"
            )
        fam = Family(targets[f.device])
        if fam not in spec.families:
            need = ", ".join(sorted(x.value for x in spec.families))
            raise ConfigError(
                f"{where}: fault #{f.index}: target {f.device!r} is a {fam.value}; "
                f"{f.kind.value} needs one of: {need}"
            )
        if f.channel is not None:
            chans = tuple(channels.get(f.device, ()))
            if not spec.channels:
                raise ConfigError(
                    f"{where}: fault #{f.index}: {f.kind.value} targets whole devices, "
                    f"not channel {f.target!r}"
                )
            if f.channel not in chans:
                raise ConfigError(
                    f"{where}: fault #{f.index}: unknown target {f.target!r} "
                    f"(channels of {f.device!r}: {', '.join(chans) or 'none'})"
                )


# ------------------------------------------------------------------------------- runner
class ScenarioRunner:
    """Applies a scenario's faults to a world and its simulated devices as time passes.

    Construction checks every target (ConfigError naming the line). :meth:`update` applies
    every fault whose onset has come and clears every fault whose duration has run out; call
    it whenever simulated time moved (the sim backend does, before and after each step).
    Overlapping faults of one kind on one target are not reference-counted: the first clear
    ends the effect.
    """

    def __init__(self, scenario: Scenario, world: Any, devices: Mapping[str, SimDevice]):
        check_targets(
            scenario,
            {n: d.family for n, d in devices.items()},
            {n: d.fault_channels for n, d in devices.items()},
        )
        self._scn = scenario
        self._world = world
        self._devices = devices
        self._pending = list(scenario.faults)  # sorted by onset
        self._clears: list[tuple[int, Fault]] = []
        self._active: list[Fault] = []
        self._events: list[FaultEvent] = []

    @property
    def scenario(self) -> Scenario:
        """The scenario being run."""
        return self._scn

    @property
    def active(self) -> tuple[Fault, ...]:
        """Faults applied and not (yet) cleared, including permanent ones."""
        return tuple(self._active)

    @property
    def events(self) -> tuple[FaultEvent, ...]:
        """Every application and clearance so far, in order."""
        return tuple(self._events)

    @property
    def finished(self) -> bool:
        """True when nothing is left to apply or clear."""
        return not self._pending and not self._clears

    def update(self, t_ns: int | None = None) -> tuple[FaultEvent, ...]:
        """Apply and clear what is due at ``t_ns`` (default: the world's time)."""
        t = int(self._world.t_ns) if t_ns is None else t_ns
        new: list[FaultEvent] = []
        while True:
            # Take the earliest due action; clears before onsets at the same instant.
            next_clear = min(self._clears, key=lambda c: c[0], default=None)
            next_on = self._pending[0] if self._pending else None
            if (
                next_clear is not None
                and next_clear[0] <= t
                and (next_on is None or next_clear[0] <= next_on.at_ns)
            ):
                self._clears.remove(next_clear)
                fault = next_clear[1]
                self._clear(fault)
                new.append(FaultEvent(t, "clear", fault))
            elif next_on is not None and next_on.at_ns <= t:
                self._pending.pop(0)
                self._apply(next_on)
                new.append(FaultEvent(t, "apply", next_on))
                if next_on.duration_ns is not None:
                    self._clears.append((next_on.at_ns + next_on.duration_ns, next_on))
            else:
                break
        self._events.extend(new)
        return tuple(new)

    def _apply(self, f: Fault) -> None:
        params = f.param_dict()
        if f.kind is FaultKind.SEU_BURST and f.device == "radiation":
            region = f.channel or ""
            rad = self._world.radiation
            regions = getattr(rad, "regions", None)
            if regions is not None and region not in tuple(regions):
                raise ConfigError(
                    f"{self._scn.where(f, 'target')}: fault #{f.index}: unknown memory region "
                    f"{region!r} (registered: {', '.join(tuple(regions)) or 'none'})"
                )
            rad.inject_burst(region, int(params["n_bits"]))
        else:
            self._devices[f.device].apply_fault(f.kind.value, f.channel, params)
        self._active.append(f)

    def _clear(self, f: Fault) -> None:
        if f.device in self._devices:
            self._devices[f.device].clear_fault(f.kind.value, f.channel)
        if f in self._active:
            self._active.remove(f)
