"""The thermal controller: zone heaters, radiator, compute throttling, prediction, checks.

Each step (1 Hz by default) it reads the temperature channels, runs each zone's control law
(hysteresis or PID), caps the total heater power at the power budget (payload-zone heaters go
off when the power app sheds to that level), sets the radiator emissivity from the compute
zone temperature, predicts the compute zone ``horizon_s`` ahead and asks the AI executor to
throttle before the limit is reached. It also checks its hardware: a heater whose measured
power contradicts its command (stuck on or off), and a temperature channel frozen at one value
(stuck) or jumping further than a zone can physically move in one sample (noisy). A zone
whose temperature is unknown (channel invalid, missing, stuck or noisy) holds its heater at
``fallback_duty`` and is published as unknown (NaN temperature, counted in
``ThermalStatus.unknown_zones``), never as a zone within limits: FDIR watches that count.

Survival: when the power app sheds the payload heaters (SAFE, low SoC), a payload zone's
heater is not simply switched off; it holds the zone ``survival_margin_c`` above its lower
limit (a hysteresis law of band ``survival_margin_c``), so SAFE keeps every heated zone
inside its limits however long it lasts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
from flight.messages import PowerBudget, PowerStatus, ShedLevel, ThermalStatus, ThermalThrottle
from flight.thermal._control import Hysteresis, Pid
from flight.thermal._predict import ZonePredictor
from native.errors import ConfigError, HalError
from native.schema import setting

__all__ = ["ThermalConfig", "ThermalController", "ZoneConfig"]


#: Temperatures a configuration may name (C): absolute zero to well past any material limit.
_T_LO, _T_HI = -273.15, 1000.0


@dataclass(slots=True)
class ZoneConfig:
    """One thermal zone (an entry of ``[[thermal.zones]]``; merged with the defaults by name)."""

    name: str = setting(min_len=1, max_len=32, doc="zone name (unique)")
    channel: str = setting(min_len=1, doc="temperature channel of the sensors device")
    min_c: float = setting(lo=_T_LO, hi=_T_HI, units="C", doc="lower limit")
    max_c: float = setting(lo=_T_LO, hi=_T_HI, units="C", doc="upper limit (above min_c)")
    heater: str = setting("", doc="heater device ('' = none)")
    control: str = setting(
        "hysteresis", choices=("hysteresis", "pid", "none"), doc="heater control law"
    )
    setpoint_c: float = setting(
        10.0, lo=_T_LO, hi=_T_HI, units="C", doc="heater setpoint (within min_c..max_c)"
    )
    band_c: float = setting(
        2.0, lo=0, lo_open=True, hi=100, units="C", doc="hysteresis band around the setpoint"
    )
    kp: float = setting(0.3, lo=0, hi=1000, units="1/K", doc="PID proportional gain (duty)")
    ki: float = setting(0.002, lo=0, hi=1000, units="1/(K s)", doc="PID integral gain")
    kd: float = setting(0.0, lo=0, hi=1000, units="s/K", doc="PID derivative gain")
    payload: bool = setting(False, doc="a payload heater: shed at ShedLevel.PAYLOAD_HEATERS")
    tau_s: float = setting(
        3000.0, lo=0, lo_open=True, hi=1e7, units="s", doc="time constant for prediction"
    )

    def validate(self) -> None:
        """Limits in order; a controlled zone's setpoint inside its limits."""
        if self.min_c >= self.max_c:
            raise ConfigError(f"min_c: {self.min_c!r} C must be below max_c ({self.max_c!r} C)")
        if self.control != "none" and not self.min_c <= self.setpoint_c <= self.max_c:
            raise ConfigError(
                f"setpoint_c: {self.setpoint_c!r} C outside the zone limits "
                f"min_c..max_c [{self.min_c!r}, {self.max_c!r}] C"
            )


@dataclass(slots=True)
class ThermalConfig:
    """The ``[thermal]`` section (a :mod:`native.schema` section; see ``parse_config``)."""

    sensors: str = setting("temps", min_len=1, doc="temperature sensors device")
    radiator: str = setting("radiator", doc="variable-emissivity radiator device ('' = none)")
    compute_zone: str = setting(
        "compute", doc="zone whose temperature throttles compute ('' = none)"
    )
    radiator_low_c: float = setting(
        25.0, lo=_T_LO, hi=_T_HI, units="C", doc="at or below: minimum emissivity"
    )
    radiator_high_c: float = setting(
        55.0, lo=_T_LO, hi=_T_HI, units="C", doc="at or above: maximum emissivity"
    )
    throttle_margin_c: float = setting(
        10.0,
        lo=0,
        lo_open=True,
        hi=500,
        units="C",
        doc="throttling starts this far below the limit",
    )
    horizon_s: float = setting(
        600.0, lo=0, hi=86400, units="s", doc="prediction horizon of the compute zone"
    )
    stuck_samples: int = setting(
        60, lo=2, hi=1_000_000, doc="identical readings in a row that mark a channel stuck"
    )
    fallback_duty: float = setting(
        0.3, lo=0, hi=1, doc="heater duty of a zone whose sensor is stuck or missing"
    )
    unknown_throttle_frac: float = setting(
        0.5, lo=0, hi=1, doc="throttle asked for while the compute temperature is unknown"
    )
    max_step_c: float = setting(
        1.0,
        lo=0,
        lo_open=True,
        hi=100,
        units="C",
        doc="largest plausible change of a zone temperature between two samples",
    )
    noisy_jumps: int = setting(
        3, lo=1, hi=1000, doc="implausible jumps within noisy_window samples that mark noisy"
    )
    noisy_window: int = setting(
        30, lo=2, hi=100_000, units="samples", doc="window of the implausible-jump count"
    )
    survival_margin_c: float = setting(
        3.0,
        lo=0,
        lo_open=True,
        hi=50,
        units="C",
        doc="a shed payload heater still holds its zone this far above min_c",
    )
    rate_hz: float = setting(1.0, lo=0, lo_open=True, hi=1000, units="Hz", doc="step rate")
    zones: tuple[ZoneConfig, ...] = setting((), max_len=64, doc="[[thermal.zones]] entries")

    def validate(self) -> None:
        """Radiator band in order; the compute zone is one of the zones."""
        if self.radiator_low_c >= self.radiator_high_c:
            raise ConfigError(
                f"radiator_high_c: {self.radiator_high_c!r} C must be above radiator_low_c "
                f"({self.radiator_low_c!r} C)"
            )
        names = [z.name for z in self.zones]
        if self.compute_zone and self.compute_zone not in names:
            raise ConfigError(
                f"compute_zone: no zone named {self.compute_zone!r} "
                f"(zones: {', '.join(names) or 'none'})"
            )


class ThermalController(Component):
    """Zone control, radiator control, throttle requests and thermal hardware checks."""

    DECLARATION = Declaration(
        commands=(
            CommandDef(
                1,
                "set_setpoint",
                (
                    Arg("zone", FieldType.U8, 0, 31),
                    Arg("setpoint_c", FieldType.F32, -40.0, 80.0, "degC"),
                ),
                "change a zone's heater setpoint",
            ),
            CommandDef(
                2,
                "set_radiator_auto",
                (Arg("auto", FieldType.BOOL),),
                "radiator automatic control on/off",
            ),
        ),
        telemetry=(
            TlmField("heater_w", FieldType.F32, "W"),
            TlmField("radiator_emissivity", FieldType.F32, "1"),
            TlmField("compute_temp_c", FieldType.F32, "degC"),
            TlmField("compute_pred_c", FieldType.F32, "degC"),
            TlmField("throttle_frac", FieldType.F32, "1", initial=1.0),
            TlmField("heater_faults", FieldType.U8),
            TlmField("stuck_sensors", FieldType.U8),
            TlmField("limit_violations", FieldType.U8),
            TlmField("read_errors", FieldType.U32),
            TlmField("unknown_zones", FieldType.U8, "", "zones whose temperature is unknown"),
        ),
        events=(
            EventDef(
                1,
                "limit",
                Severity.HIGH,
                "zone {zone} at {temp_c:.1f} C outside [{min_c}, {max_c}]",
            ),
            EventDef(
                2,
                "throttle",
                Severity.LOW,
                "compute throttled to {frac:.2f} (predicted {pred_c:.1f} C)",
            ),
            EventDef(
                3,
                "heater_fault",
                Severity.HIGH,
                "heater {heater}: commanded {cmd_w:.1f} W, measured {meas_w:.1f} W",
            ),
            EventDef(
                4,
                "sensor_stuck",
                Severity.HIGH,
                "temperature channel {channel} stuck at {temp_c:.2f} C",
            ),
            EventDef(5, "device_error", Severity.LOW, "{device}: {error}"),
            EventDef(
                6,
                "sensor_noisy",
                Severity.HIGH,
                "temperature channel {channel}: {jumps} jumps over {max_step_c} C",
            ),
            EventDef(7, "zone_unknown", Severity.HIGH, "zone {zone}: temperature unknown ({why})"),
        ),
        params=(
            ParamDef(
                1,
                "heater_mismatch_steps",
                FieldType.U16,
                5,
                1,
                60,
                "",
                "steps before a heater is faulty",
            ),
        ),
    )

    def __init__(
        self,
        cfg: ThermalConfig,
        sensors: Any,
        heaters: dict[str, Any],
        radiator: Any | None,
        component_id: int,
    ) -> None:
        super().__init__("thermal", component_id)
        self.cfg = cfg
        self.sensors = sensors
        self.heaters = heaters
        self.radiator = radiator
        self.radiator_auto = True
        self._compute_zone = next((z for z in cfg.zones if z.name == cfg.compute_zone), None)
        self.laws: dict[str, Hysteresis | Pid | None] = {}
        self.predictors = {z.name: ZonePredictor(z.tau_s, cfg.horizon_s) for z in cfg.zones}
        self.zone_min_c = {z.name: float("inf") for z in cfg.zones}
        self.zone_max_c = {z.name: float("-inf") for z in cfg.zones}
        self.violation_s = {z.name: 0.0 for z in cfg.zones}
        self._last_value: dict[str, float] = {}
        self._last_noisy_value: dict[str, float] = {}
        self._same_count: dict[str, int] = {}
        self._mismatch: dict[str, int] = {}
        self._commanded_w: dict[str, float] = {}
        self._last_duty: dict[str, float] = {}
        self._last_eps: float | None = None
        self._last_t_ns: int | None = None
        self.stuck: set[str] = set()
        self.noisy: set[str] = set()
        self._jumps: dict[str, list[int]] = {}  #: sample counts of recent implausible jumps
        self._samples = 0
        self.unknown: set[str] = set()  #: zones whose temperature is unknown now
        self.faulty_heaters: set[str] = set()
        self._survival = {
            z.name: Hysteresis(z.min_c + 2.0 * cfg.survival_margin_c, cfg.survival_margin_c)
            for z in cfg.zones
        }

    def on_boot(self) -> None:
        """A processor reset restores automatic radiator control."""
        self.radiator_auto = True

    def on_init(self) -> None:
        """Build the control laws from the configuration (and forget what was commanded)."""
        self._last_duty.clear()
        self._last_eps = None
        for z in self.cfg.zones:
            if z.control == "pid":
                self.laws[z.name] = Pid(z.setpoint_c, z.kp, z.ki, z.kd)
            elif z.control == "hysteresis":
                self.laws[z.name] = Hysteresis(z.setpoint_c, z.band_c)
            else:
                self.laws[z.name] = None
        self._last_t_ns = None

    def cmd_set_setpoint(self, zone: int, setpoint_c: float) -> None:
        """Change zone ``zone``'s (index in the configuration) setpoint."""
        if zone >= len(self.cfg.zones):
            raise CommandError(f"no zone {zone}", FailureCode.ILLEGAL_ARGUMENT)
        z = self.cfg.zones[zone]
        if not z.min_c <= setpoint_c <= z.max_c:
            raise CommandError(
                f"setpoint {setpoint_c} outside zone limits", FailureCode.ILLEGAL_ARGUMENT
            )
        law = self.laws.get(z.name)
        if law is None:
            raise CommandError(f"zone {z.name} has no heater control", FailureCode.NOT_ALLOWED)
        z.setpoint_c = setpoint_c
        law.setpoint_c = setpoint_c

    def cmd_set_radiator_auto(self, auto: bool) -> None:
        """Enable or disable automatic radiator control."""
        self.radiator_auto = auto

    # -- step ----------------------------------------------------------------------------
    def step(self, t_ns: int) -> None:
        """Read, check, control, predict, publish."""
        dt_s = 0.0 if self._last_t_ns is None else (t_ns - self._last_t_ns) / NS_PER_S
        self._last_t_ns = t_ns
        self._samples += 1
        temps: dict[str, float] = {}
        why: dict[str, str] = {}
        try:
            reading = self.sensors.read()
        except HalError as exc:
            # Blind: every zone is unknown (published so, never as "no violation").
            self.hk.read_errors += 1
            self.emit("device_error", device="temperature", error=str(exc))
            why = {z.name: "sensor read failed" for z in self.cfg.zones}
        else:
            for z in self.cfg.zones:
                try:
                    ch = reading.channel(z.channel)
                except KeyError:
                    why[z.name] = "no such channel"
                    continue
                if not ch.valid:
                    why[z.name] = "channel invalid"
                    continue
                self._check_stuck(z.channel, ch.temp_c)
                self._check_noisy(z.channel, ch.temp_c)
                if z.channel in self.stuck:
                    why[z.name] = "channel stuck"
                elif z.channel in self.noisy:
                    why[z.name] = "channel noisy"
                else:
                    temps[z.name] = ch.temp_c
        for zone, reason in why.items():
            if zone not in self.unknown:
                self.emit("zone_unknown", zone=zone, why=reason)
        self.unknown = set(why)
        self._check_heaters()
        budget = self.bus.latest(PowerBudget)
        power = self.bus.latest(PowerStatus)
        shed_payload = power is not None and power.shed_level >= ShedLevel.PAYLOAD_HEATERS
        # Zone control, then cap the heater total at the budget.
        duties: dict[str, float] = {}
        violations = 0
        for z in self.cfg.zones:
            t = temps.get(z.name)
            if t is not None:
                self.zone_min_c[z.name] = min(self.zone_min_c[z.name], t)
                self.zone_max_c[z.name] = max(self.zone_max_c[z.name], t)
                if not z.min_c <= t <= z.max_c:
                    violations += 1
                    self.violation_s[z.name] += dt_s
                    self.emit("limit", zone=z.name, temp_c=t, min_c=z.min_c, max_c=z.max_c)
            if not z.heater or z.heater not in self.heaters:
                continue
            law = self.laws.get(z.name)
            if z.payload and shed_payload:
                # Shed, but never below survival: hold the zone just above its lower limit.
                survival = self._survival[z.name]
                duties[z.heater] = (
                    self.cfg.fallback_duty if t is None else survival.update(t, dt_s)
                )
            elif t is None or law is None:
                duties[z.heater] = self.cfg.fallback_duty if law is not None else 0.0
            else:
                duties[z.heater] = law.update(t, dt_s)
        cap_w = budget.heater_w if budget is not None else float("inf")
        total_w = sum(duties[h] * self.heaters[h].rated_w for h in duties)
        scale = min(1.0, cap_w / total_w) if total_w > 0 else 1.0
        heater_w = 0.0
        for h, duty in duties.items():
            d = duty * scale
            heater_w += self._command_heater(h, d)
        # A stuck or missing compute reading is unknown: the radiator and the throttle fall
        # back to their safe settings instead of acting on a frozen value.
        compute_zone = self._compute_zone
        compute_c = temps.get(self.cfg.compute_zone)
        emissivity = self._radiator(compute_c, known=compute_zone is None or compute_c is not None)
        self._throttle(t_ns, compute_zone, compute_c)
        hk = self.hk
        hk.heater_w = heater_w
        hk.limit_violations = violations
        hk.heater_faults = len(self.faulty_heaters)
        hk.stuck_sensors = len(self.stuck)
        hk.unknown_zones = len(self.unknown)
        zones = tuple(
            (z.name, temps.get(z.name, float("nan")), z.min_c, z.max_c) for z in self.cfg.zones
        )
        self.bus.publish(
            ThermalStatus(
                t_ns,
                zones,
                heater_w,
                emissivity,
                len(self.faulty_heaters),
                len(self.stuck),
                violations,
                len(self.unknown),
            )
        )

    def _check_stuck(self, channel: str, value: float) -> None:
        if self._last_value.get(channel) == value:
            self._same_count[channel] = self._same_count.get(channel, 0) + 1
        else:
            self._same_count[channel] = 0
            self.stuck.discard(channel)
        self._last_value[channel] = value
        if self._same_count[channel] >= self.cfg.stuck_samples and channel not in self.stuck:
            self.stuck.add(channel)
            self.emit("sensor_stuck", channel=channel, temp_c=value)

    def _check_noisy(self, channel: str, value: float) -> None:
        """Count jumps larger than a zone can move in one sample; ``noisy_jumps`` of them
        within ``noisy_window`` samples mark the channel noisy, none clears it."""
        last = self._last_noisy_value.get(channel)
        self._last_noisy_value[channel] = value
        jumps = self._jumps.setdefault(channel, [])
        if last is not None and abs(value - last) > self.cfg.max_step_c:
            jumps.append(self._samples)
        while jumps and jumps[0] <= self._samples - self.cfg.noisy_window:
            jumps.pop(0)
        if len(jumps) >= self.cfg.noisy_jumps and channel not in self.noisy:
            self.noisy.add(channel)
            self.emit(
                "sensor_noisy", channel=channel, jumps=len(jumps), max_step_c=self.cfg.max_step_c
            )
        elif not jumps:
            self.noisy.discard(channel)

    def _command_heater(self, name: str, duty: float) -> float:
        heater = self.heaters[name]
        # Command only changes (a duty step under 1 % is not worth a bus transaction).
        last = self._last_duty.get(name)
        if last is not None and abs(last - duty) < 0.01 and (last > 0) == (duty > 0):
            return self._commanded_w[name]
        try:
            if duty > 0:
                heater.set_duty(duty)
                heater.set_on(True)
            else:
                heater.set_on(False)
            self._last_duty[name] = duty
        except HalError as exc:
            self.emit("device_error", device=name, error=str(exc))
            return 0.0
        self._commanded_w[name] = duty * heater.rated_w
        return self._commanded_w[name]

    def _check_heaters(self) -> None:
        """Compare each heater's measured power with last step's command."""
        limit = int(self.param["heater_mismatch_steps"])
        for name, heater in self.heaters.items():
            if name not in self._commanded_w:
                continue
            try:
                r = heater.read()
            except HalError:
                continue
            cmd_w = self._commanded_w[name]
            tolerance = 0.1 * heater.rated_w + 1.0
            if abs(r.power_w - cmd_w) > tolerance:
                self._mismatch[name] = self._mismatch.get(name, 0) + 1
                if self._mismatch[name] == limit:
                    self.faulty_heaters.add(name)
                    self.emit("heater_fault", heater=name, cmd_w=cmd_w, meas_w=r.power_w)
            else:
                self._mismatch[name] = 0
                self.faulty_heaters.discard(name)

    def _radiator(self, compute_c: float | None, known: bool) -> float:
        """Command the radiator from the compute temperature; maximum emissivity (full
        cooling) when that temperature is unknown. Returns the emissivity in force."""
        if self.radiator is None:
            return float("nan")
        lo, hi = self.radiator.emissivity_range
        if not self.radiator_auto or (compute_c is None and known):
            try:
                return float(self.radiator.read().emissivity)
            except HalError as exc:
                self.emit("device_error", device="radiator", error=str(exc))
                return float("nan")
        if compute_c is None:
            eps = hi
        else:
            f = (compute_c - self.cfg.radiator_low_c) / (
                self.cfg.radiator_high_c - self.cfg.radiator_low_c
            )
            eps = lo + min(1.0, max(0.0, f)) * (hi - lo)
        if self._last_eps is not None and abs(eps - self._last_eps) < 0.005:
            return self._last_eps
        try:
            self.radiator.set_emissivity(eps)
            self._last_eps = eps
        except HalError as exc:
            self.emit("device_error", device="radiator", error=str(exc))
        self.hk.radiator_emissivity = eps
        return float(eps)

    def _throttle(self, t_ns: int, zone: ZoneConfig | None, compute_c: float | None) -> None:
        """Ask the AI executor to throttle before the compute limit is reached; without a
        valid compute temperature, ask for ``unknown_throttle_frac`` (fail-safe)."""
        if zone is None:
            return
        hk = self.hk
        if compute_c is None:
            frac = self.cfg.unknown_throttle_frac
            if frac != hk.throttle_frac:
                self.emit("throttle", frac=frac, pred_c=float("nan"))
            hk.throttle_frac = frac
            self.bus.publish(ThermalThrottle(t_ns, frac, "compute temperature unknown"))
            return
        pred = self.predictors[zone.name].update(t_ns / NS_PER_S, compute_c)
        worst = max(pred, compute_c)
        frac = min(1.0, max(0.0, (zone.max_c - worst) / self.cfg.throttle_margin_c))
        if abs(frac - hk.throttle_frac) >= 0.25 or (frac < 1.0) != (hk.throttle_frac < 1.0):
            self.emit("throttle", frac=frac, pred_c=pred)
        hk.compute_temp_c, hk.compute_pred_c, hk.throttle_frac = compute_c, pred, frac
        self.bus.publish(ThermalThrottle(t_ns, frac, f"compute predicted {pred:.1f} C"))
