"""The power controller: SoC, eclipse forecast, budget, load shedding, battery protection.

One component, stepped at 1 Hz by default. Each step it reads the battery, solar array and PDU
through their HAL interfaces, updates the SoC estimate, applies shedding (by SoC with
hysteresis, and by mode: SAFE sheds all sheddable loads, RECOVERY keeps compute off), and
publishes :class:`PowerStatus`. Every ``forecast_period_s`` it predicts the coming eclipse from
the GNSS orbit and publishes :class:`EclipseForecast` and :class:`PowerBudget`.

The charge temperature window is monitored and reported (``PowerStatus.charge_allowed``,
event, FDIR monitor on the battery temperature); the HAL has no charge-inhibit actuator yet,
so enforcing it in hardware (a charge-enable line or array-string disconnect) is left to the
battery interface's next revision.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from flight.core import (
    NS_PER_S,
    Arg,
    CommandDef,
    Component,
    Declaration,
    EventDef,
    FieldType,
    ParamDef,
    Severity,
    TlmField,
)
from flight.messages import (
    EclipseForecast,
    Mode,
    ModeStatus,
    PowerBudget,
    PowerStatus,
    PropulsionPowerRequest,
    ShedLevel,
)
from flight.power._budget import BudgetInputs, compute_budget
from flight.power._eclipse import EclipseWindow, predict_eclipse
from flight.power._shedding import NEVER_SHED, ShedPolicy
from flight.power._soc import SocEstimator
from hal import Battery, GnssReceiver, Pdu, PduReading, SolarArray, ecef_to_eci
from native.errors import ConfigError, HalError
from native.schema import setting

__all__ = ["PowerConfig", "PowerController"]


@dataclass(slots=True)
class PowerConfig:
    """The ``[power]`` section (schema: :mod:`native.schema`; parsed by ``parse_config``)."""

    battery: str = setting("battery", min_len=1, doc="battery device")
    array: str = setting("solar_array", min_len=1, doc="solar array device")
    pdu: str = setting("pdu", min_len=1, doc="power distribution unit device")
    gnss: str = setting("gnss", doc="GNSS device for the eclipse forecast ('' = no forecast)")
    capacity_ah: float = setting(
        60.0, lo=0, lo_open=True, hi=10000, units="Ah", doc="battery capacity"
    )
    ocv_soc: list[float] = setting(
        [0.0, 1.0],
        lo=0,
        hi=1,
        min_len=2,
        max_len=256,
        doc="OCV table: state of charge (rising 0..1)",
    )
    ocv_block_v: list[float] = setting(
        [3.0, 4.18],
        lo=0,
        lo_open=True,
        hi=10,
        units="V",
        min_len=2,
        max_len=256,
        doc="OCV table: block voltage at each ocv_soc point (non-decreasing)",
    )
    shed_rails: list[str] = setting(
        ["compute", "isl"], max_len=32, doc="rails in shedding order (level n sheds the first n)"
    )
    propulsion_rail: str = setting(
        "propulsion",
        min_len=1,
        max_len=32,
        doc="PDU rail of the thrusters, switched on GNC's PropulsionPowerRequest",
    )
    rate_hz: float = setting(1.0, lo=0, lo_open=True, hi=1000, units="Hz", doc="step rate")
    forecast_period_s: float = setting(
        300.0, lo=10, hi=86400, units="s", doc="eclipse forecast and budget period"
    )
    rail_voltage_v: dict[str, float] = setting(
        {}, lo=0, lo_open=True, hi=1000, units="V", doc="rail voltage by rail name"
    )
    default_rail_v: float = setting(
        28.0, lo=0, lo_open=True, hi=1000, units="V", doc="voltage of rails not listed"
    )

    def validate(self) -> None:
        """OCV tables that interpolate; never-shed rails stay off the shedding list."""
        soc, ocv = self.ocv_soc, self.ocv_block_v
        if len(soc) != len(ocv):
            raise ConfigError(
                f"ocv_block_v: {len(ocv)} values for {len(soc)} ocv_soc points (one per point)"
            )
        if soc[0] != 0.0 or soc[-1] != 1.0 or any(b <= a for a, b in itertools.pairwise(soc)):
            raise ConfigError("ocv_soc: must rise strictly from 0 to 1")
        if any(b < a for a, b in itertools.pairwise(ocv)):
            raise ConfigError("ocv_block_v: must not decrease with the state of charge")
        bad = sorted(set(self.shed_rails) & NEVER_SHED)
        if bad:
            raise ConfigError(f"shed_rails: may not include never-shed rails {bad}")
        if len(set(self.shed_rails)) != len(self.shed_rails):
            raise ConfigError("shed_rails: a rail is listed twice")
        if self.propulsion_rail in self.shed_rails:
            raise ConfigError(
                f"propulsion_rail: {self.propulsion_rail!r} is switched on request, it may not "
                "also be in shed_rails"
            )


class PowerController(Component):
    """State of charge, eclipse prediction, power budget, load shedding, battery protection."""

    DECLARATION = Declaration(
        commands=(
            CommandDef(
                1,
                "set_soc",
                (Arg("soc_frac", FieldType.F32, 0.0, 1.0),),
                "ground reset of the SoC estimate",
            ),
            CommandDef(
                2,
                "force_shed",
                (Arg("level", FieldType.U8, 0, 3),),
                "minimum shed level until cleared with level 0",
            ),
        ),
        telemetry=(
            TlmField("soc_frac", FieldType.F32, "1"),
            TlmField("soc_min_frac", FieldType.F32, "1", initial=1.0),
            TlmField("battery_v", FieldType.F32, "V"),
            TlmField("battery_a", FieldType.F32, "A"),
            TlmField("battery_temp_c", FieldType.F32, "degC"),
            TlmField("array_w", FieldType.F32, "W"),
            TlmField("load_w", FieldType.F32, "W"),
            TlmField("shed_level", FieldType.U8),
            TlmField("charge_allowed", FieldType.BOOL, initial=True),
            TlmField("eclipse_entry_s", FieldType.F32, "s"),
            TlmField("eclipse_duration_s", FieldType.F32, "s"),
            TlmField("budget_compute_w", FieldType.F32, "W"),
            TlmField("energy_shed_wh", FieldType.F64, "Wh"),
            TlmField("read_errors", FieldType.U32),
            TlmField("propulsion_rail_on", FieldType.BOOL),
            TlmField("propulsion_refusals", FieldType.U32),
        ),
        events=(
            EventDef(
                1, "shed", Severity.MEDIUM, "shed level {old} -> {new} (SoC {soc:.3f}, mode {mode})"
            ),
            EventDef(2, "restored", Severity.INFO, "shed level {old} -> {new} (SoC {soc:.3f})"),
            EventDef(3, "soc_floor", Severity.HIGH, "SoC {soc:.3f} below floor {floor:.2f}"),
            EventDef(
                4, "charge_window", Severity.MEDIUM, "battery {temp_c:.1f} C: charging {state}"
            ),
            EventDef(5, "device_error", Severity.LOW, "{device}: {error}"),
            EventDef(
                6, "propulsion_refused", Severity.MEDIUM, "propulsion power refused: {reason}"
            ),
            EventDef(7, "propulsion_switched", Severity.INFO, "propulsion rail {state}: {reason}"),
        ),
        params=(
            # Bounds are physical, not just representable: below a 20 % floor the Li-ion
            # pack is at risk in one eclipse; charging outside 0..45 C plates lithium or
            # ages the cells; a heater budget under 400 W cannot run the survival heaters.
            ParamDef(
                1, "soc_floor_frac", FieldType.F32, 0.30, 0.2, 0.9, "1", "depth-of-discharge floor"
            ),
            ParamDef(2, "shed_compute_soc", FieldType.F32, 0.45, 0.1, 0.95),
            ParamDef(3, "shed_laser_soc", FieldType.F32, 0.40, 0.1, 0.95),
            ParamDef(4, "shed_heaters_soc", FieldType.F32, 0.35, 0.1, 0.95),
            ParamDef(5, "hysteresis_frac", FieldType.F32, 0.05, 0.01, 0.3),
            ParamDef(6, "charge_min_c", FieldType.F32, 0.0, 0.0, 15.0, "degC"),
            ParamDef(7, "charge_max_c", FieldType.F32, 45.0, 25.0, 45.0, "degC"),
            ParamDef(8, "reserve_frac", FieldType.F32, 0.05, 0.0, 0.5),
            ParamDef(9, "heater_budget_w", FieldType.F32, 400.0, 400.0, 2000.0, "W"),
        ),
    )

    def __init__(self, cfg: PowerConfig, devices: dict[str, Any], component_id: int) -> None:
        super().__init__("power", component_id)
        self.cfg = cfg
        self.battery: Battery = devices["battery"]
        self.array: SolarArray = devices["array"]
        self.pdu: Pdu = devices["pdu"]
        self.gnss: GnssReceiver | None = devices.get("gnss")
        self.soc = SocEstimator(cfg.capacity_ah, cfg.ocv_soc, cfg.ocv_block_v)
        self.policy: ShedPolicy | None = None
        self.forced = ShedLevel.NONE
        self.applied = ShedLevel.NONE
        self.target = ShedLevel.NONE
        self._policy_revision = -1  #: parameter revision the shed policy was built from
        self._last_t_ns: int | None = None
        self._last_forecast_ns = -(10**18)
        self.forecast: EclipseWindow | None = None
        self.array_sun_w = 0.0
        self.rail_nominal_w: dict[str, float] = {}
        self.battery_wh = 0.0
        self.soc_floor_violations = 0
        self._propulsion_refusal = ""  #: why the standing propulsion request is refused

    _SHED_KEYS = ("shed_compute_soc", "shed_laser_soc", "shed_heaters_soc")

    def _thresholds(
        self, p: dict[str, bool | int | float]
    ) -> tuple[tuple[float, float, float], float]:
        a, b, c = (float(p[k]) for k in self._SHED_KEYS)
        return (a, b, c), float(p["hysteresis_frac"])

    def validate_params(self, candidate: dict[str, bool | int | float]) -> None:
        """Shed thresholds must fall (compute > laser > payload heaters) and stay above the
        DoD floor, else shedding could never happen in the right order."""
        (a, b, c), hyst = self._thresholds(candidate)
        ShedPolicy((a, b, c), hyst)  # raises ValueError when they do not decrease
        if c <= float(candidate["soc_floor_frac"]):
            raise ValueError("shed_heaters_soc must be above soc_floor_frac")

    def _build_policy(self) -> None:
        """(Re)build the shed policy from the live parameters; declared defaults if those are
        inconsistent (a damaged or older parameter file), with an event."""
        try:
            self.validate_params(self.param)
            thresholds, hyst = self._thresholds(self.param)
        except ValueError as exc:
            defaults = {p.name: p.default for p in self.DECLARATION.params}
            thresholds, hyst = self._thresholds(defaults)
            self.emit("device_error", device="parameters", error=f"{exc}; shed defaults used")
        level = self.policy.level if self.policy is not None else ShedLevel.NONE
        self.policy = ShedPolicy(thresholds, hyst)
        self.policy.level = level
        self._policy_revision = self._params.revision if self._params is not None else -1

    def on_boot(self) -> None:
        """A processor reset forgets the RAM state: SoC restarts from OCV, no ground hold."""
        self.soc.soc_frac = None
        self.soc.rest_s = 0.0
        self.forced = ShedLevel.NONE
        self.array_sun_w = 0.0
        self.policy = None

    def on_init(self) -> None:
        """(Re)build the shed policy; a restart re-reads everything from the devices."""
        self._build_policy()
        self._last_t_ns = None
        # Load the compiled orbit/shadow kernels now (lifecycle time), not in the first step.
        r0 = np.array([6_928_137.0, 0.0, 0.0])
        predict_eclipse(r0, np.array([0.0, 7585.0, 0.0]), 1_750_000_000 * NS_PER_S, step_s=600.0)

    # -- commands ------------------------------------------------------------------------
    def cmd_set_soc(self, soc_frac: float) -> None:
        """Overwrite the SoC estimate (after a ground calibration)."""
        self.soc.soc_frac = soc_frac

    def cmd_force_shed(self, level: int) -> None:
        """Hold at least ``level`` of shedding (0 releases the hold)."""
        self.forced = ShedLevel(level)

    # -- step ----------------------------------------------------------------------------
    def step(self, t_ns: int) -> None:
        """Read, estimate, shed, protect, publish."""
        dt_s = 0.0 if self._last_t_ns is None else (t_ns - self._last_t_ns) / NS_PER_S
        self._last_t_ns = t_ns
        try:
            bat = self.battery.read()
            arr = self.array.read()
            pdu = self.pdu.read()
        except HalError as exc:
            self.hk.read_errors += 1
            self.emit("device_error", device="power", error=str(exc))
            return
        hk = self.hk
        if not bat.valid:
            hk.read_errors += 1
            return
        blocks = max(bat.cells_ok, 1)
        soc = self.soc.update(bat.current_a, bat.voltage_v, blocks, dt_s)
        self.battery_wh = self.cfg.capacity_ah * bat.voltage_v
        load_w = 0.0
        for r in pdu.rails:
            # The PDU senses current on each regulated rail; its voltage is a design constant.
            w = r.current_a * self.cfg.rail_voltage_v.get(r.name, self.cfg.default_rail_v)
            load_w += w
            if r.on and r.name in self.cfg.shed_rails and w > 1.0:
                self.rail_nominal_w[r.name] = w
        sunlit = arr.valid and arr.power_w > 0.05 * max(self.array_sun_w, 1.0)
        if arr.valid and arr.power_w > self.array_sun_w * 0.9:
            self.array_sun_w = max(self.array_sun_w * 0.99, arr.power_w)
        p = self.param
        charge_allowed = float(p["charge_min_c"]) <= bat.temp_c <= float(p["charge_max_c"])
        if charge_allowed != hk.charge_allowed:
            self.emit(
                "charge_window",
                temp_c=bat.temp_c,
                state="allowed" if charge_allowed else "inhibited",
            )
        floor = float(p["soc_floor_frac"])
        if soc < floor:
            self.soc_floor_violations += 1
            self.emit("soc_floor", soc=soc, floor=floor)
        # Shedding: SoC policy, mode minimum, ground hold, and the floor (everything).
        mode = self.bus.latest(ModeStatus)
        minimum = self.forced
        if mode is not None and mode.mode is Mode.SAFE:
            minimum = ShedLevel(max(minimum, ShedLevel.PAYLOAD_HEATERS))
        elif mode is not None and mode.mode in (Mode.BOOT, Mode.RECOVERY):
            minimum = ShedLevel(max(minimum, ShedLevel.COMPUTE))
        if soc < floor:
            minimum = ShedLevel.PAYLOAD_HEATERS
        if (
            self.policy is None
            or self._params is None
            or self._params.revision != self._policy_revision
        ):
            self._build_policy()  # a parameter change (PUS-20) takes effect at once
        assert self.policy is not None
        level = self.policy.update(soc, minimum)
        self._apply(level, soc, mode.mode.name if mode else "BOOT", pdu)
        self._propulsion(mode, soc, floor, pdu)
        for rail in self.cfg.shed_rails[: int(self.applied)]:
            hk.energy_shed_wh += self.rail_nominal_w.get(rail, 0.0) * dt_s / 3600.0
        hk.soc_frac = soc
        hk.soc_min_frac = min(hk.soc_min_frac, soc)
        hk.battery_v, hk.battery_a, hk.battery_temp_c = bat.voltage_v, bat.current_a, bat.temp_c
        hk.array_w, hk.load_w = arr.power_w, load_w
        hk.charge_allowed = charge_allowed
        hk.shed_level = int(self.applied)  # the level in force on the rails now
        self.bus.publish(
            PowerStatus(
                t_ns,
                soc,
                bat.voltage_v,
                bat.current_a,
                bat.temp_c,
                arr.power_w,
                load_w,
                bool(sunlit),
                self.applied,
                charge_allowed,
                bat.cells_ok,
                arr.strings_ok,
            )
        )
        if t_ns - self._last_forecast_ns >= self.cfg.forecast_period_s * NS_PER_S:
            self._forecast(t_ns, soc, load_w)

    def _apply(self, level: ShedLevel, soc: float, mode: str, pdu: PduReading) -> None:
        """Bring the shed rails to ``level`` (level 3, payload heaters, is the thermal app's).

        Reconciled every step against the PDU's reading: a command that failed is sent again
        next step, and :attr:`applied` (what PowerStatus reports and energy accounting uses)
        moves only once every rail is where the level wants it.
        """
        if level != self.target:
            event = "shed" if level > self.target else "restored"
            self.emit(event, old=self.target.name, new=level.name, soc=soc, mode=mode)
            self.target = level
        reached = True
        for i, rail in enumerate(self.cfg.shed_rails):
            want_on = level < i + 1
            try:
                status = pdu.rail(rail)
                if status.on == want_on:
                    continue
                reached = False
                if not status.tripped:  # a tripped rail waits for its reset (ground/FDIR)
                    self.pdu.set_rail(rail, want_on)
                    reached = True
            except (HalError, KeyError) as exc:
                reached = False
                self.emit("device_error", device=f"pdu.{rail}", error=str(exc))
        if reached:
            self.applied = level

    def _propulsion(
        self, mode: ModeStatus | None, soc: float, floor: float, pdu: PduReading
    ) -> None:
        """Switch the propulsion rail to follow GNC's latest PropulsionPowerRequest.

        Power owns the PDU: GNC asks, this decides. An ``on`` request is refused (rail off,
        event once per reason) in SAFE mode, with the SoC under its floor, or while shedding
        deeper than compute: a ~600 W thruster would take the battery further down. Compute
        shedding alone does not refuse, because RECOVERY and BOOT shed compute by mode and a
        collision-avoidance burn must stay possible there. Reconciled every step against the
        PDU's reading, like the shed rails.
        """
        req = self.bus.latest(PropulsionPowerRequest)
        want = req is not None and req.on
        refusal = ""
        if want:
            if mode is not None and mode.mode is Mode.SAFE:
                refusal = "mode SAFE"
            elif soc < floor:
                refusal = f"SoC {soc:.3f} below floor {floor:.2f}"
            elif self.applied > ShedLevel.COMPUTE:
                refusal = f"load shedding at {self.applied.name}"
        try:
            status = pdu.rail(self.cfg.propulsion_rail)
        except KeyError:
            if want:
                refusal = f"the PDU has no {self.cfg.propulsion_rail!r} rail"
            status = None
        if status is not None and want and not refusal and status.tripped:
            refusal = "propulsion rail tripped (reset it first)"
        if refusal and refusal != self._propulsion_refusal:
            self.hk.propulsion_refusals += 1
            self.emit("propulsion_refused", reason=refusal)
        self._propulsion_refusal = refusal
        if status is None:
            self.hk.propulsion_rail_on = False
            return
        on = want and not refusal
        self.hk.propulsion_rail_on = status.on
        if status.on == on or (on and status.tripped):
            return
        try:
            self.pdu.set_rail(self.cfg.propulsion_rail, on)
        except HalError as exc:
            self.emit("device_error", device=f"pdu.{self.cfg.propulsion_rail}", error=str(exc))
            return
        self.hk.propulsion_rail_on = on
        reason = req.reason if req is not None else "no request"
        self.emit("propulsion_switched", state="on" if on else "off", reason=refusal or reason)

    def _forecast(self, t_ns: int, soc: float, load_w: float) -> None:
        if self.gnss is None:
            return
        try:
            fix = self.gnss.read()
        except HalError as exc:
            self.emit("device_error", device="gnss", error=str(exc))
            return
        if not fix.valid or fix.utc_ns == 0:
            return
        r, v = ecef_to_eci(fix.position_ecef_m, fix.velocity_ecef_m_s, fix.utc_ns)
        self.forecast = w = predict_eclipse(np.asarray(r), np.asarray(v), fix.utc_ns)
        self._last_forecast_ns = t_ns
        self.bus.publish(
            EclipseForecast(
                t_ns, w.in_eclipse, w.next_entry_s, w.next_exit_s, w.duration_s, w.period_s
            )
        )
        # Never-shed load: what is drawn now minus the sheddable rails still on.
        still_on = self.cfg.shed_rails[int(self.applied) :]
        bus_w = max(0.0, load_w - sum(self.rail_nominal_w.get(r, 0.0) for r in still_on))
        p = self.param
        compute_w, margin_wh = compute_budget(
            BudgetInputs(
                soc,
                float(p["soc_floor_frac"]),
                float(p["reserve_frac"]),
                self.battery_wh,
                self.array_sun_w,
                bus_w,
                w.sunlit_fraction,
                w.in_eclipse,
                w.next_entry_s,
                w.next_exit_s,
                w.duration_s,
                w.period_s,
            )
        )
        heater_w = float(p["heater_budget_w"]) * (1.0 if soc > float(p["soc_floor_frac"]) else 0.5)
        self.hk.eclipse_entry_s = w.next_entry_s if math.isfinite(w.next_entry_s) else -1.0
        self.hk.eclipse_duration_s = w.duration_s
        self.hk.budget_compute_w = compute_w
        self.bus.publish(
            PowerBudget(t_ns, compute_w, heater_w, soc, float(p["soc_floor_frac"]), margin_wh)
        )
