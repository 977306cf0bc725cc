"""Installing the adcs application and what the node keeps of it."""

from __future__ import annotations

from typing import Any

from flight.adcs._component import AdcsComponent
from flight.adcs._config import Config
from flight.core import InstallContext
from hal.attitude import AttitudeControl

__all__ = ["AdcsApp", "install"]


class AdcsApp:
    """The installed adcs application: its component and its run summary."""

    def __init__(self, component: AdcsComponent) -> None:
        self.component = component

    def summary(self) -> dict[str, Any]:
        """The ``adcs`` section of summary.json: seconds per commanded mode, mode changes,
        completed slews, requests (and rejected ones), momentum dumps, peak wheel momentum
        (N m s) and the final mode."""
        c = self.component
        hk = c.hk
        return {
            "seconds_in": {m.value: round(s, 3) for m, s in c.seconds_in.items()},
            "mode_final": c.mode.value if c.mode is not None else None,
            "mode_changes": int(hk.mode_changes),
            "slews_completed": int(hk.slews_completed),
            "requests": int(hk.requests),
            "requests_rejected": int(hk.requests_rejected),
            "desaturations": int(hk.desaturations),
            "wheel_momentum_peak_nms": float(c.wheel_momentum_peak_nms),
            "read_errors": int(hk.read_errors),
        }

    def sample(self) -> dict[str, float]:
        """Values for the ground's time series."""
        hk = self.component.hk
        return {
            "adcs.mode": float(hk.mode),
            "adcs.angle_to_target_deg": float(hk.angle_to_target_deg),
            "adcs.wheel_momentum_nms": float(hk.wheel_momentum_nms),
        }


def install(ctx: InstallContext, cfg: Config) -> AdcsApp:
    """Add the adcs component (id from the registry) with the ``attitude`` device."""
    unit = ctx.device("attitude", cfg.attitude, AttitudeControl)
    component = AdcsComponent(cfg, unit, ctx.component_id("adcs"))
    ctx.add(component, cfg.rate_hz)
    return AdcsApp(component)
