"""Lock-step of a stepped plant (the simulated world, a rig) with the executive."""

from __future__ import annotations

from typing import Any

from flight.core import NS_PER_S, Executive
from native.errors import ConfigError

__all__ = ["attach_plant"]


def attach_plant(executive: Executive, plant: Any, rate_hz: float = 1.0) -> None:
    """Advance ``plant`` (a :class:`hal.registry.SteppedPlant`) to each tick's time before
    the tick's components run, whenever it lags by at least one plant period (1/``rate_hz``
    s), in simulated and in real time alike."""
    from hal.registry import SteppedPlant

    if not isinstance(plant, SteppedPlant):
        raise ConfigError(f"{type(plant).__name__} is not a stepped plant")
    if not rate_hz > 0:
        raise ConfigError(f"plant rate must be > 0 Hz, got {rate_hz}")
    period_ns = round(NS_PER_S / rate_hz)

    def sync_plant(t_ns: int) -> None:
        lag = t_ns - plant.t_ns
        if lag >= period_ns:
            plant.advance(lag)

    executive.add_tick_hook(sync_plant)
