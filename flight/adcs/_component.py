"""The adcs component: applies pointing requests and ground commands to the attitude unit.

Each step it takes the :class:`~flight.messages.AttitudeRequest` messages received since the
last step (FDIR asks for the Sun in SAFE and for nadir in NOMINAL), commands the unit, reads
it back and publishes :class:`~flight.messages.AttitudeStatus`. The ground can point the
spacecraft with PUS-8 commands; whichever command came last (request or ground) is in force.
"""

from __future__ import annotations

import math
from typing import Any

from flight.adcs._config import Config
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
    Severity,
    Subscription,
    TlmField,
)
from flight.messages import AttitudeRequest, AttitudeStatus
from hal.attitude import (
    QUAT_NORM_TOLERANCE,
    AttitudeControl,
    AttitudeMode,
    AttitudeReading,
)
from native.errors import HalError

__all__ = ["MODE_CODES", "AdcsComponent"]

#: Wire code of each mode (housekeeping ``mode`` field and the ``set_mode`` argument).
MODE_CODES: dict[AttitudeMode, int] = {
    AttitudeMode.NADIR: 0,
    AttitudeMode.SUN: 1,
    AttitudeMode.INERTIAL: 2,
    AttitudeMode.TARGET_VECTOR: 3,
}
_BY_CODE = {code: mode for mode, code in MODE_CODES.items()}

#: Requests kept between two steps; FDIR sends one per mode change, so a full queue means a
#: fault upstream (the drops are counted by the bus).
REQUEST_QUEUE_DEPTH = 8


class AdcsComponent(Component):
    """Attitude mode commanding (component ``adcs``)."""

    DECLARATION = Declaration(
        commands=(
            CommandDef(
                1,
                "set_mode",
                (Arg("mode", FieldType.U8, 0, 1, doc="0 nadir, 1 sun"),),
                "point nadir or at the Sun (modes that need no target)",
            ),
            CommandDef(
                2,
                "point_inertial",
                (
                    Arg("qw", FieldType.F32, -1.0, 1.0),
                    Arg("qx", FieldType.F32, -1.0, 1.0),
                    Arg("qy", FieldType.F32, -1.0, 1.0),
                    Arg("qz", FieldType.F32, -1.0, 1.0),
                ),
                "hold an inertial attitude (unit quaternion body -> ECI, scalar first)",
            ),
            CommandDef(
                3,
                "point_target",
                (
                    Arg("x", FieldType.F32, -1.0, 1.0),
                    Arg("y", FieldType.F32, -1.0, 1.0),
                    Arg("z", FieldType.F32, -1.0, 1.0),
                ),
                "point the +Z (payload) axis along an ECI direction",
            ),
        ),
        telemetry=(
            TlmField("mode", FieldType.U8, "", "0 nadir, 1 sun, 2 inertial, 3 target vector"),
            TlmField("on_target", FieldType.BOOL),
            TlmField("angle_to_target_deg", FieldType.F32, "deg"),
            TlmField("body_rate_deg_s", FieldType.F32, "deg/s"),
            TlmField("wheel_momentum_nms", FieldType.F32, "N m s"),
            TlmField("wheel_momentum_max_nms", FieldType.F32, "N m s"),
            TlmField("desaturating", FieldType.BOOL),
            TlmField("desaturations", FieldType.U32),
            TlmField("mode_changes", FieldType.U32),
            TlmField("slews_completed", FieldType.U32),
            TlmField("requests", FieldType.U32),
            TlmField("requests_rejected", FieldType.U32),
            TlmField("read_errors", FieldType.U32),
        ),
        events=(
            EventDef(1, "mode_change", Severity.LOW, "attitude {old} -> {new} ({source})"),
            EventDef(2, "on_target", Severity.INFO, "{mode} on target after {slew_s:.1f} s"),
            EventDef(3, "request_rejected", Severity.MEDIUM, "{source} {pointing}: {error}"),
            EventDef(4, "device_error", Severity.LOW, "attitude unit: {error}"),
            EventDef(5, "desaturation", Severity.INFO, "momentum dump at {momentum_nms:.2f} N m s"),
        ),
    )

    def __init__(self, cfg: Config, unit: AttitudeControl, component_id: int) -> None:
        super().__init__("adcs", component_id)
        self.cfg = cfg
        self.unit = unit
        self._requests: Subscription[AttitudeRequest] | None = None
        self._last_t_ns: int | None = None
        self._mode: AttitudeMode | None = None
        self._slew_start_ns: int | None = None
        self._was_slewing = False
        self._desats_seen: int | None = None
        #: seconds spent in each commanded mode (for the run summary; bounded: one per mode)
        self.seconds_in: dict[AttitudeMode, float] = {m: 0.0 for m in AttitudeMode}
        self.wheel_momentum_peak_nms = 0.0

    @property
    def mode(self) -> AttitudeMode | None:
        """The mode last commanded or read back (None before the first)."""
        return self._mode

    # -- lifecycle -------------------------------------------------------------------------
    def on_init(self) -> None:
        """Subscribe to pointing requests once (a restart keeps the queue and its contents)."""
        if self._requests is None:
            self._requests = self.bus.subscribe(AttitudeRequest, REQUEST_QUEUE_DEPTH)

    def on_boot(self) -> None:
        """A processor reset: the unit keeps pointing (it has its own processor); only the
        step bookkeeping restarts."""
        self._last_t_ns = None
        self._slew_start_ns = None
        self._was_slewing = False

    # -- commands --------------------------------------------------------------------------
    def cmd_set_mode(self, mode: int) -> None:
        """Ground: point nadir (0) or at the Sun (1)."""
        self._command("ground", _BY_CODE[mode])

    def check_point_inertial(self, qw: float, qx: float, qy: float, qz: float) -> None:
        """Acceptance: the four values must form a unit quaternion."""
        n = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
        # F32 arguments carry ~1e-7 relative rounding; the unit's own tolerance is wider.
        if abs(n - 1.0) > QUAT_NORM_TOLERANCE:
            raise CommandError(
                f"adcs.point_inertial: quaternion norm {n:.6f} is not 1",
                FailureCode.ILLEGAL_ARGUMENT,
            )

    def cmd_point_inertial(self, qw: float, qx: float, qy: float, qz: float) -> None:
        """Ground: hold the inertial attitude ``q`` (body -> ECI)."""
        self._command("ground", AttitudeMode.INERTIAL, q_target_eci=(qw, qx, qy, qz))

    def check_point_target(self, x: float, y: float, z: float) -> None:
        """Acceptance: the direction must not be (nearly) zero."""
        if math.sqrt(x * x + y * y + z * z) < 1e-3:
            raise CommandError(
                "adcs.point_target: direction has (nearly) zero length",
                FailureCode.ILLEGAL_ARGUMENT,
            )

    def cmd_point_target(self, x: float, y: float, z: float) -> None:
        """Ground: point +Z along the ECI direction (x, y, z)."""
        self._command("ground", AttitudeMode.TARGET_VECTOR, target_eci=(x, y, z))

    def _command(self, source: str, mode: AttitudeMode, **targets: Any) -> None:
        """Command the unit; a refusal raises (ground) after counting nothing new."""
        old = self._mode
        self.unit.set_mode(mode, **targets)
        self._mode = mode
        if old is not mode or targets:
            self.hk.mode_changes += 1
            self._slew_start_ns = self.clock.now_ns()
            self.emit(
                "mode_change", old=old.value if old else "unknown", new=mode.value, source=source
            )

    # -- step ------------------------------------------------------------------------------
    def step(self, t_ns: int) -> None:
        """Apply the requests received since the last step, read the unit, publish status."""
        if self._requests is not None:
            for req in self._requests.drain():
                self._apply_request(req)
        try:
            r = self.unit.read()
        except HalError as exc:
            self.hk.read_errors += 1
            self.emit("device_error", error=str(exc))
            self._last_t_ns = t_ns
            return
        if self._last_t_ns is not None and self._mode is not None:
            self.seconds_in[self._mode] += (t_ns - self._last_t_ns) / NS_PER_S
        self._last_t_ns = t_ns
        self._update(t_ns, r)

    def _apply_request(self, req: AttitudeRequest) -> None:
        self.hk.requests += 1
        try:
            mode = AttitudeMode(req.pointing)
            targets: dict[str, Any] = {}
            if req.q_target_eci is not None:
                targets["q_target_eci"] = req.q_target_eci
            if req.target_eci is not None:
                targets["target_eci"] = req.target_eci
            if mode is self._mode and not targets:
                return  # already in force
            self._command("request", mode, **targets)
        except (ValueError, HalError) as exc:
            self.hk.requests_rejected += 1
            self.emit("request_rejected", source="request", pointing=req.pointing, error=str(exc))

    def _update(self, t_ns: int, r: AttitudeReading) -> None:
        hk = self.hk
        self._mode = r.mode
        hk.mode = MODE_CODES[r.mode]
        hk.on_target = r.valid and not r.slewing
        hk.angle_to_target_deg = r.angle_to_target_deg
        rate = math.degrees(math.sqrt(sum(w * w for w in r.rate_body_rad_s)))
        hk.body_rate_deg_s = rate
        hk.wheel_momentum_nms = r.wheel_momentum_nms
        self.wheel_momentum_peak_nms = max(self.wheel_momentum_peak_nms, r.wheel_momentum_nms)
        hk.wheel_momentum_max_nms = self.wheel_momentum_peak_nms
        hk.desaturating = r.desaturating
        if self._desats_seen is not None and r.desaturations > self._desats_seen:
            self.emit("desaturation", momentum_nms=r.wheel_momentum_nms)
        self._desats_seen = r.desaturations
        hk.desaturations = r.desaturations
        # A slew runs from the command (or the first step found off target) to the first
        # step found on target again.
        if r.slewing:
            if self._slew_start_ns is None:
                self._slew_start_ns = t_ns
            self._was_slewing = True
        else:
            if self._was_slewing and self._slew_start_ns is not None:
                hk.slews_completed += 1
                slew_s = (t_ns - self._slew_start_ns) / NS_PER_S
                self.emit("on_target", mode=r.mode.value, slew_s=slew_s)
            self._slew_start_ns = None
            self._was_slewing = False
        self.bus.publish(
            AttitudeStatus(
                t_ns,
                r.mode.value,
                hk.on_target,
                r.angle_to_target_deg,
                rate,
                r.wheel_momentum_nms,
                r.desaturating,
            )
        )
