"""Simulated electric thruster driving the world's propulsion model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from hal._common import Family, require_finite
from hal.propulsion import Thruster, ThrusterReading, ThrusterStatus
from hal.sim._base import Options, SimDevice
from hal.sim._context import DeviceContext
from native.errors import DeviceCommandError, DeviceFaultError

__all__ = ["SimThruster"]

G0_M_S2 = 9.80665


class SimThruster(SimDevice, Thruster):
    """A Hall thruster and its power processing unit.

    Keys: ``max_burn_s`` (3600), ``efficiency`` (0.5: jet power / electrical power; the PPU
    draws ``thrust * g0 * Isp / (2 efficiency)`` on its rail while firing, ~590 W for the
    default 40 mN / 1500 s), ``rail`` (default ``propulsion`` when the world has it).
    Fault ``thruster_failure``: with param ``thrust_scale`` the thruster is degraded to that
    fraction of its thrust, without it the thruster is failed (status FAULT).
    """

    family: ClassVar[Family] = Family.THRUSTER
    FAULTS: ClassVar[frozenset[str]] = frozenset({"thruster_failure"})

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        if "propulsion" in tuple(ctx.world.power.rail_names):
            opts.setdefault("rail", "propulsion")
        super().__init__(name, ctx, opts)
        self._max_burn_s = opts.real("max_burn_s", 3600.0, lo=0.0, lo_open=True)
        self._eff = opts.real("efficiency", 0.5, lo=0.0, hi=1.0, lo_open=True)
        opts.finish()
        self._failed = False

    @property
    def max_burn_s(self) -> float:
        return self._max_burn_s

    def _firing(self) -> bool:
        return bool(self.world.propulsion.firing)

    def _status(self) -> ThrusterStatus:
        prop = self.world.propulsion
        if self._failed:
            return ThrusterStatus.FAULT
        if float(prop.propellant_kg) <= 0.0:
            return ThrusterStatus.DEPLETED
        if self._firing():
            return ThrusterStatus.FIRING
        return ThrusterStatus.READY

    def fire(self, direction_eci: Sequence[float], duration_s: float) -> None:
        self._require_power()
        try:
            d = np.array([float(x) for x in direction_eci], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DeviceCommandError(f"{self._name}: direction must be 3 numbers") from exc
        if d.shape != (3,) or not np.all(np.isfinite(d)) or float(np.linalg.norm(d)) < 1e-9:
            raise DeviceCommandError(
                f"{self._name}: direction must be 3 finite numbers, not all zero"
            )
        dur = require_finite(duration_s, f"{self._name}: duration_s")
        if not 0.0 < dur <= self._max_burn_s:
            raise DeviceCommandError(
                f"{self._name}: duration_s = {dur!r} is outside (0, {self._max_burn_s!r}]"
            )
        status = self._status()
        if status is ThrusterStatus.FAULT:
            raise DeviceFaultError(f"{self._name}: thruster failed")
        if status is ThrusterStatus.DEPLETED:
            raise DeviceFaultError(f"{self._name}: no propellant left")
        if status is ThrusterStatus.FIRING:
            raise DeviceCommandError(f"{self._name}: already firing")
        self.world.propulsion.fire(d / np.linalg.norm(d), dur)
        self._loads_changed()

    def read(self) -> ThrusterReading:
        self._require_power()
        prop = self.world.propulsion
        now = self._now()
        firing = self._firing()
        remaining = float(prop.burn_remaining_s) if firing else 0.0
        return ThrusterReading(
            now,
            True,
            self._status(),
            float(prop.thrust_n) if firing else 0.0,
            float(prop.isp_s),
            float(prop.propellant_kg),
            remaining,
        )

    def _electrical_w(self) -> float:
        w = self._quiescent_w
        if self._firing():
            prop = self.world.propulsion
            w += float(prop.thrust_n) * G0_M_S2 * float(prop.isp_s) / (2.0 * self._eff)
        return w

    def _post_step(self, t_ns: int) -> None:
        # The power processing unit cannot run a burn without its supply.
        if not self.powered and float(self.world.propulsion.burn_remaining_s) > 0.0:
            self.world.propulsion.stop()

    def _set_switch(self, on: bool) -> None:
        super()._set_switch(on)
        self._post_step(self._now())

    def apply_fault(self, kind: str, channel: str | None, params: Mapping[str, Any]) -> None:
        if kind != "thruster_failure":
            super().apply_fault(kind, channel, params)
            return
        prop = self.world.propulsion
        if "thrust_scale" in params:
            prop.set_thrust_scale(float(params["thrust_scale"]))
        else:
            self._failed = True
            prop.set_failed(True)

    def clear_fault(self, kind: str, channel: str | None) -> None:
        if kind == "thruster_failure":
            prop = self.world.propulsion
            prop.set_thrust_scale(1.0)
            if self._failed:
                self._failed = False
                prop.set_failed(False)
