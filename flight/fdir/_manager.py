"""FDIR: monitoring, event-action, the mode manager and reset escalation.

Modes (:class:`flight.messages.Mode`) and their transitions, checked every step:

- BOOT -> NOMINAL after ``boot_s`` with no monitor violating, or -> SAFE at once on a
  detection, or when the reset-escalation latch is set (``boot_count >= max_boots``).
- any -> SAFE on a detection whose action is ``safe``. Entry: event, ModeStatus,
  AttitudeRequest("sun"); the power app then sheds every sheddable load.
- SAFE -> RECOVERY when no monitor has violated for ``clear_s``, SoC >= ``resume_soc`` and the
  latch is clear.
- RECOVERY -> NOMINAL after ``recovery_s`` more without violation (any violation -> SAFE).

The boot counter is a persisted parameter: it is incremented at every start and cleared once
the node has been NOMINAL for ``stable_s``. ``max_boots`` starts without reaching that
latch SAFE until the ground clears it (``clear_latch``). The monitoring table is changed by
command (enable, limits, persistence) and every change is range-checked.

Memory is bounded however long the node flies: detections and mode changes are counted
(counters saturate at their telemetry field's maximum) and only the last ``history`` of each
are kept, in rings. The message types polled are the ones the monitoring table names,
resolved at install (:func:`flight.fdir.resolve_source`), plus ``PowerStatus`` for the SoC
that gates leaving SAFE.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from flight.core import (
    NS_PER_S,
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
from flight.fdir._config import FdirConfig
from flight.fdir._monitor import MonitorState, read_source
from flight.messages import AttitudeRequest, Mode, ModeStatus, PowerStatus, SensorHealth
from native.errors import ConfigError, HalError, ParameterError

__all__ = ["SENSOR_FAMILIES", "Detection", "FdirManager", "ModeChange"]

#: Sensor families FDIR watches, in the order of :class:`~flight.messages.SensorHealth`'s
#: ``<family>_age_s`` fields.
SENSOR_FAMILIES = ("gnss", "imu", "star_tracker", "sun_sensor", "battery", "array")

#: Saturation limits of the counters, from their telemetry fields (packing never overflows).
_DETECTIONS_MAX = int(FieldType.U32.hi)
_SAFE_ENTRIES_MAX = int(FieldType.U16.hi)
_BOOT_COUNT_MAX = int(FieldType.U16.hi)
#: Largest threshold a command may carry (source units): a bound on the wire; each row's own
#: ``limit_min``..``limit_max`` is the physically meaningful one, checked at acceptance.
_LIMIT_ABS = 1e4


@dataclass(frozen=True, slots=True)
class Detection:
    """A monitor that fired: when, which, with what value, and the action taken."""

    t_s: float
    monitor: str
    value: float
    action: str


class ModeChange(NamedTuple):
    """A mode transition: when (s of onboard time) and the mode entered."""

    t_s: float
    mode: Mode


class FdirManager(Component):
    """Monitors, event-action and the mode manager (component 'fdir')."""

    DECLARATION = Declaration(
        commands=(
            CommandDef(
                1,
                "set_mode",
                (Arg("mode", FieldType.U8, int(Mode.SAFE), int(Mode.NOMINAL)),),
                "ground mode request (SAFE, RECOVERY or NOMINAL); leaving SAFE must be armed",
                hazardous=True,
            ),
            CommandDef(
                2,
                "enable_monitor",
                (Arg("index", FieldType.U8, 0, 63), Arg("enabled", FieldType.BOOL)),
                "enable or disable a monitoring table row; disabling must be armed and is "
                "refused for the last enabled row that watches a quantity",
                hazardous=True,
            ),
            CommandDef(
                3,
                "set_limits",
                (
                    Arg("index", FieldType.U8, 0, 63),
                    Arg("low", FieldType.F32, -_LIMIT_ABS, _LIMIT_ABS),
                    Arg("high", FieldType.F32, -_LIMIT_ABS, _LIMIT_ABS),
                ),
                "change a limit row (low <= high, inside the row's limit_min..limit_max)",
                hazardous=True,
            ),
            CommandDef(
                4,
                "set_persistence",
                (Arg("index", FieldType.U8, 0, 63), Arg("steps", FieldType.U16, 1, 600)),
                "change a row's persistence (a longer one delays detection: armed)",
                hazardous=True,
            ),
            CommandDef(
                5,
                "clear_latch",
                (),
                "clear the reset-escalation latch and boot counter (boot record: armed)",
                hazardous=True,
            ),
        ),
        telemetry=(
            TlmField("mode", FieldType.U8),
            TlmField("detections", FieldType.U32),
            TlmField("violating", FieldType.U8, "", "monitors violating now"),
            TlmField("boot_count", FieldType.U16),
            TlmField("latched", FieldType.BOOL),
            TlmField("safe_entries", FieldType.U16),
            TlmField("stale_sources", FieldType.U8, "", "monitored message types stale or absent"),
            TlmField(
                "disabled_mask",
                FieldType.U64,
                "",
                "monitoring table rows disabled (bit i: row i)",
            ),
            TlmField("sensors_blind", FieldType.U8, "", "sensor families without a valid reading"),
        ),
        events=(
            EventDef(
                1,
                "detection",
                Severity.HIGH,
                "monitor {monitor} fired (value {value:.4g}); action {action}",
            ),
            EventDef(2, "mode_change", Severity.MEDIUM, "mode {old} -> {new}: {reason}"),
            EventDef(
                3,
                "escalation",
                Severity.HIGH,
                "{boots} starts without a stable NOMINAL: SAFE latched",
            ),
            EventDef(
                4,
                "monitors_changed",
                Severity.HIGH,
                "monitor {monitor} {change}; disabled rows now {mask:#x}",
            ),
        ),
        params=(
            ParamDef(
                1,
                "boot_count",
                FieldType.U16,
                0,
                0,
                65535,
                "",
                "starts since the last stable NOMINAL",
                ground_writable=False,
            ),
        ),
    )

    def __init__(
        self,
        cfg: FdirConfig,
        *,
        component_id: int,
        sources: Mapping[str, type],
        sensors: Mapping[str, Any] | None = None,
    ) -> None:
        """``component_id``: from the application registry. ``sources``: bus message types
        by name, at least every type the monitoring table reads (see
        :func:`flight.fdir.resolve_source`); ``PowerStatus`` is always polled (SAFE exit).
        ``sensors``: sensor devices by family (a ``SensorHealth`` field prefix: ``gnss``,
        ``imu``, ``star_tracker``, ``sun_sensor``, ``battery``, ``array``), each with a
        ``read()`` whose result has ``valid``; FDIR reads them every step and publishes
        :class:`~flight.messages.SensorHealth`."""
        super().__init__("fdir", component_id)
        self.cfg = cfg
        self.sensors: dict[str, Any] = dict(sensors or {})
        unknown = sorted(set(self.sensors) - set(SENSOR_FAMILIES))
        if unknown:
            raise ConfigError(f"[fdir]: unknown sensor families {', '.join(unknown)}")
        self._last_valid_ns: dict[str, int] = {}
        self._boot_ns = 0  #: onboard time of the last processor start (ns)
        self.monitors = [MonitorState(m) for m in cfg.monitors]
        self._update_mask()
        missing = sorted({m.source_type for m in self.monitors} - set(sources))
        if missing:
            raise ConfigError(f"[fdir]: no bus message type for source(s) {', '.join(missing)}")
        self._sources: tuple[type, ...] = tuple(
            dict.fromkeys([*(sources[m.source_type] for m in self.monitors), PowerStatus])
        )
        self.mode = Mode.BOOT
        self.mode_since_ns = 0
        self.last_violation_ns = 0
        self.seconds_in: dict[str, float] = {m.name: 0.0 for m in Mode}
        self.latched = False
        self._last_t_ns: int | None = None
        self._last_sense_ns: int | None = None
        self._sense_period_ns = round(cfg.sense_period_s * NS_PER_S)
        self._nominal_since_ns: int | None = None
        #: the last ``cfg.history`` detections, oldest first
        self.detections: deque[Detection] = deque(maxlen=cfg.history)
        #: the last ``cfg.history`` mode changes, oldest first
        self.mode_log: deque[ModeChange] = deque(maxlen=cfg.history)
        #: detections since start, by monitor name (``silent:<Type>`` for a silent source)
        self.detections_by_monitor: dict[str, int] = {m.definition.name: 0 for m in self.monitors}
        #: mode changes since start (the ring keeps only the last ``history``)
        self.mode_changes = 0

    def _sense(self, t_ns: int) -> None:
        """Read every watched sensor and publish how long each family has been blind."""
        ages: dict[str, float] = {}
        for family in SENSOR_FAMILIES:
            device = self.sensors.get(family)
            if device is None:
                ages[family] = math.nan
                continue
            try:
                valid = bool(device.read().valid)
            except HalError:
                valid = False  # a device that cannot be read is blind
            if valid:
                self._last_valid_ns[family] = t_ns
            last = self._last_valid_ns.setdefault(family, t_ns if valid else self._boot_ns)
            ages[family] = max(0.0, (t_ns - last) / NS_PER_S)
        self.hk.sensors_blind = sum(
            1 for f in self.sensors if self._last_valid_ns.get(f) != t_ns
        )
        self.bus.publish(SensorHealth(t_ns, *(ages[f] for f in SENSOR_FAMILIES)))

    @property
    def source_types(self) -> tuple[type, ...]:
        """The bus message types polled every step."""
        return self._sources

    def on_boot(self) -> None:
        """Processor start: count it; latch SAFE after too many starts without a stable
        NOMINAL. The mode is volatile state: every start begins in BOOT, and the boot checks
        (or the latch) decide where to go. A component restart does not come here."""
        boots = min(int(self.param["boot_count"]) + 1, _BOOT_COUNT_MAX)
        self._store_boot_count(boots)
        self.hk.boot_count = boots
        if boots >= self.cfg.max_boots:
            self.latched = True
            self.emit("escalation", boots=boots)
        now = self._clock.now_ns() if self._clock is not None else 0
        self.mode = Mode.BOOT
        self.mode_since_ns = now
        self.last_violation_ns = now
        self._nominal_since_ns = None
        self._boot_ns = now
        self._last_valid_ns.clear()
        self._last_sense_ns = None

    def on_init(self) -> None:
        """(Re)start of the component: only the step timing is reset."""
        self._last_t_ns = None

    def _store_boot_count(self, value: int) -> None:
        """Persist the boot counter; a storage failure is reported, never raised."""
        try:
            self._params.set(self.name, "boot_count", value)  # type: ignore[union-attr]
        except ParameterError as exc:
            self.emit("escalation", boots=f"unknown (boot counter not stored: {exc})")

    # -- commands ------------------------------------------------------------------------
    def _row(self, index: int) -> MonitorState:
        if not 0 <= index < len(self.monitors):
            raise CommandError(f"no monitor row {index}", FailureCode.ILLEGAL_ARGUMENT)
        return self.monitors[index]

    def cmd_set_mode(self, mode: int) -> None:
        """Ground request of a mode; NOMINAL is refused while a monitor violates or latched."""
        self.check_set_mode(mode)
        self._enter(Mode(mode), self.clock.now_ns(), "ground command")

    def hazard_set_mode(self, mode: int) -> bool:
        """Entering SAFE is always allowed unarmed; any other request leaves SAFE or BOOT."""
        return Mode(mode) is not Mode.SAFE

    def check_set_mode(self, mode: int) -> None:
        """Refused at acceptance while a monitor violates or SAFE is latched (except SAFE)."""
        if Mode(mode) is not Mode.SAFE and (
            self.latched or any(m.violating for m in self.monitors)
        ):
            raise CommandError("faults active or SAFE latched", FailureCode.NOT_ALLOWED)

    def hazard_enable_monitor(self, index: int, enabled: bool) -> bool:
        """Disabling blinds FDIR; enabling is harmless."""
        return not enabled

    def check_enable_monitor(self, index: int, enabled: bool) -> None:
        """A row must exist; the last enabled row watching a quantity may not be disabled."""
        row = self._row(index)
        if enabled or not row.definition.enabled:
            return
        others = [
            m
            for m in self.monitors
            if m is not row and m.definition.enabled and m.definition.source == row.definition.source
        ]
        if not others:
            raise CommandError(
                f"{row.definition.name} is the last enabled monitor of "
                f"{row.definition.source}: disabling it would blind FDIR",
                FailureCode.NOT_ALLOWED,
            )

    def cmd_enable_monitor(self, index: int, enabled: bool) -> None:
        """Enable or disable a row (checked by :meth:`check_enable_monitor`)."""
        self.check_enable_monitor(index, enabled)
        row = self._row(index)
        if row.definition.enabled == enabled:
            return
        row.definition.enabled = enabled
        self._update_mask()
        self.emit(
            "monitors_changed",
            monitor=row.definition.name,
            change="enabled" if enabled else "disabled",
            mask=self.hk.disabled_mask,
        )

    def check_set_limits(self, index: int, low: float, high: float) -> None:
        """A limit row, finite ``low <= high`` inside the row's ``limit_min..limit_max``."""
        d = self._row(index).definition
        if d.kind != "limit":
            raise CommandError("row is not a limit check", FailureCode.NOT_ALLOWED)
        if not (math.isfinite(low) and math.isfinite(high) and low <= high):
            raise CommandError("need finite low <= high", FailureCode.ILLEGAL_ARGUMENT)
        if d.limit_min is None or d.limit_max is None:
            raise CommandError(
                f"{d.name} has no limit_min/limit_max: its limits are fixed by configuration",
                FailureCode.NOT_ALLOWED,
            )
        if low < d.limit_min or high > d.limit_max:
            raise CommandError(
                f"{d.name}: [{low}, {high}] outside [{d.limit_min}, {d.limit_max}]",
                FailureCode.ILLEGAL_ARGUMENT,
            )

    def cmd_set_limits(self, index: int, low: float, high: float) -> None:
        """Change a limit row's thresholds (checked by :meth:`check_set_limits`)."""
        self.check_set_limits(index, low, high)
        row = self._row(index)
        row.definition.low, row.definition.high = low, high
        self.emit(
            "monitors_changed",
            monitor=row.definition.name,
            change=f"limits [{low:.4g}, {high:.4g}]",
            mask=self.hk.disabled_mask,
        )

    def check_set_persistence(self, index: int, steps: int) -> None:
        """The row must exist."""
        self._row(index)

    def cmd_set_persistence(self, index: int, steps: int) -> None:
        """Change a row's persistence."""
        self._row(index).definition.persistence = steps
        self.emit(
            "monitors_changed",
            monitor=self._row(index).definition.name,
            change=f"persistence {steps}",
            mask=self.hk.disabled_mask,
        )

    def _update_mask(self) -> None:
        self.hk.disabled_mask = sum(
            1 << i for i, m in enumerate(self.monitors) if not m.definition.enabled
        )

    def cmd_clear_latch(self) -> None:
        """Clear the escalation latch and the boot counter."""
        self.latched = False
        self._store_boot_count(0)

    # -- step ----------------------------------------------------------------------------
    def step(self, t_ns: int) -> None:
        """Run every monitor, fire actions, then run the mode state machine."""
        dt_s = 0.0 if self._last_t_ns is None else (t_ns - self._last_t_ns) / NS_PER_S
        self._last_t_ns = t_ns
        self.seconds_in[self.mode.name] += dt_s
        # Reading every watched sensor costs a device read each; once per sense period is
        # enough for staleness monitors whose thresholds are several periods long.
        if self.sensors and (
            self._last_sense_ns is None
            or t_ns - self._last_sense_ns >= self._sense_period_ns
        ):
            self._last_sense_ns = t_ns
            self._sense(t_ns)
        # Only fresh data counts: a source older than stale_s reads as unknown (NaN), which
        # neither raises nor clears a violation, and blocks every step toward NOMINAL.
        messages: dict[str, Any] = {}
        stale_ns = round(self.cfg.stale_s * NS_PER_S)
        for topic in self._sources:
            msg = self.bus.latest(topic)
            if msg is not None and t_ns - msg.t_ns <= stale_ns:
                messages[topic.__name__] = msg
        missing = sorted(
            {m.source_type for m in self.monitors if m.definition.enabled} - messages.keys()
        )
        self.hk.stale_sources = len(missing)
        safe_request = None
        for mon in self.monitors:
            value = read_source(mon.definition.source, messages)
            if mon.check(value):
                d = Detection(t_ns / NS_PER_S, mon.definition.name, value, mon.definition.action)
                self._record(d)
                if d.action == "safe":
                    safe_request = d
        violating = sum(m.violating for m in self.monitors)
        if violating or safe_request is not None:
            self.last_violation_ns = t_ns
        self.hk.violating = violating
        if missing and self.mode in (Mode.NOMINAL, Mode.RECOVERY) and safe_request is None:
            # A silent publisher (a dead power or thermal app) is itself a fault.
            silent = Detection(t_ns / NS_PER_S, f"silent:{missing[0]}", math.nan, "safe")
            self._record(silent)
            safe_request = silent
        if missing:
            self.last_violation_ns = t_ns
        soc = getattr(messages.get("PowerStatus"), "soc_frac", math.nan)
        self._modes(t_ns, safe_request, soc=soc)
        self.hk.mode = int(self.mode)
        self.hk.latched = self.latched
        self.bus.publish(ModeStatus(t_ns, self.mode, self.mode_since_ns, ""))

    def _record(self, d: Detection) -> None:
        """Count a detection (saturating), keep it in the ring and report it."""
        self.detections.append(d)
        self.detections_by_monitor[d.monitor] = self.detections_by_monitor.get(d.monitor, 0) + 1
        self.hk.detections = min(self.hk.detections + 1, _DETECTIONS_MAX)
        self.emit("detection", monitor=d.monitor, value=d.value, action=d.action)

    def _modes(self, t_ns: int, safe_request: Detection | None, soc: float) -> None:
        cfg = self.cfg
        in_mode_s = (t_ns - self.mode_since_ns) / NS_PER_S
        quiet_s = (t_ns - self.last_violation_ns) / NS_PER_S
        if safe_request is not None and self.mode is not Mode.SAFE:
            self._enter(Mode.SAFE, t_ns, f"monitor {safe_request.monitor}")
        elif self.mode is Mode.BOOT:
            if self.latched:
                self._enter(Mode.SAFE, t_ns, "reset escalation latch")
            elif in_mode_s >= cfg.boot_s and quiet_s >= cfg.boot_s:
                self._enter(Mode.NOMINAL, t_ns, "boot checks passed")
        elif self.mode is Mode.SAFE:
            if (
                not self.latched
                and quiet_s >= cfg.clear_s
                and in_mode_s >= cfg.clear_s
                and soc >= cfg.resume_soc
            ):
                self._enter(Mode.RECOVERY, t_ns, f"no violation for {cfg.clear_s:.0f} s")
        elif self.mode is Mode.RECOVERY:
            if quiet_s < in_mode_s:
                self._enter(Mode.SAFE, t_ns, "violation during recovery")
            elif in_mode_s >= cfg.recovery_s:
                self._enter(Mode.NOMINAL, t_ns, "recovery complete")
        elif (
            self.mode is Mode.NOMINAL
            and self._nominal_since_ns is not None
            and (t_ns - self._nominal_since_ns) / NS_PER_S >= cfg.stable_s
            and self.param["boot_count"]
        ):
            self._store_boot_count(0)

    def _enter(self, mode: Mode, t_ns: int, reason: str) -> None:
        if mode is self.mode:
            return
        old = self.mode
        self.mode = mode
        self.mode_since_ns = t_ns
        self._nominal_since_ns = t_ns if mode is Mode.NOMINAL else None
        self.mode_log.append(ModeChange(t_ns / NS_PER_S, mode))
        self.mode_changes += 1
        if mode is Mode.SAFE:
            self.hk.safe_entries = min(self.hk.safe_entries + 1, _SAFE_ENTRIES_MAX)
            self.bus.publish(AttitudeRequest(t_ns, "sun"))
        elif mode is Mode.NOMINAL:
            self.bus.publish(AttitudeRequest(t_ns, "nadir"))
        self.emit("mode_change", old=old.name, new=mode.name, reason=reason)
        self.bus.publish(ModeStatus(t_ns, mode, t_ns, reason))
