"""Simulated attitude control unit: commands the world's kinematic attitude and reports it.

The unit's estimate is the world's true attitude (the estimation error of a real unit is far
below anything the power and thermal models resolve); its wheels are the world's wheel model
(:mod:`hal.sim.world._attitude`): momentum from the disturbance torques, dumped above
``world.attitude.wheel_momentum_max_nms``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from hal._common import Family
from hal.attitude import AttitudeControl, AttitudeMode, AttitudeReading
from hal.sim._base import Options, SimDevice, as_vec3
from hal.sim._context import DeviceContext
from native.errors import ConfigError, DeviceCommandError

__all__ = ["SimAttitude"]


class SimAttitude(SimDevice, AttitudeControl):
    """Simulated attitude control unit (family ``attitude``).

    Keys: ``rail`` (default ``adcs`` when the world has that rail; unpowered, the unit
    answers nothing, while the world keeps the last commanded pointing), ``power_w`` (0.0:
    quiescent draw declared on top of the rail's configured load), ``pointing_tolerance_deg``
    (0.1: on target below this angle). The slew-rate limit and the wheel thresholds are the
    world's (``[world.attitude]``).
    """

    family: ClassVar[Family] = Family.ATTITUDE

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        if "adcs" in tuple(ctx.world.power.rail_names):
            opts.setdefault("rail", "adcs")
        super().__init__(name, ctx, opts)
        self._tol_deg = opts.real("pointing_tolerance_deg", 0.1, lo=0.0, hi=180.0, lo_open=True)
        opts.finish()
        mode = str(ctx.world.attitude.mode)
        if mode not in tuple(AttitudeMode):
            raise ConfigError(
                f"{opts.path}: the world's attitude mode {mode!r} is not one this unit "
                f"commands ({', '.join(m.value for m in AttitudeMode)})"
            )

    @property
    def max_slew_rate_deg_s(self) -> float:
        return math.degrees(float(self.world.attitude.max_slew_rate_rad_s))

    @property
    def pointing_tolerance_deg(self) -> float:
        return self._tol_deg

    @property
    def wheel_momentum_limit_nms(self) -> float:
        return float(self.world.attitude.wheel_momentum_max_nms)

    @property
    def mode(self) -> AttitudeMode:
        """The commanded pointing mode."""
        return AttitudeMode(str(self.world.attitude.mode))

    def set_mode(
        self,
        mode: AttitudeMode | str,
        *,
        q_target_eci: Sequence[float] | None = None,
        target_eci: Sequence[float] | None = None,
    ) -> None:
        self._require_power()
        try:
            m = AttitudeMode(mode)
        except ValueError:
            raise DeviceCommandError(
                f"{self._name}: unknown mode {mode!r} "
                f"(modes: {', '.join(x.value for x in AttitudeMode)})"
            ) from None
        try:
            # The world checks every value before it changes anything.
            self.world.attitude.set_mode(m.value, q_target_eci=q_target_eci, target_eci=target_eci)
        except DeviceCommandError as exc:
            raise DeviceCommandError(f"{self._name}: {exc}") from None

    def read(self) -> AttitudeReading:
        self._require_power()
        att = self.world.attitude
        q = np.asarray(att.q_body_to_eci, dtype=np.float64)
        q = q / np.linalg.norm(q)
        if q[0] < 0.0:
            q = -q
        h = np.asarray(att.wheel_momentum_body_nms, dtype=np.float64)
        angle_deg = math.degrees(float(att.angle_to_target_rad))
        return AttitudeReading(
            self._now(),
            True,
            self.mode,
            (float(q[0]), float(q[1]), float(q[2]), float(q[3])),
            as_vec3(np.asarray(att.rate_body_rad_s, dtype=np.float64)),
            as_vec3(h),
            float(np.linalg.norm(h)),
            angle_deg > self._tol_deg,
            angle_deg,
            bool(att.desaturating),
            int(att.desaturations),
        )
