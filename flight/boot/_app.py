"""Installing the boot application (the health gate) and what the node keeps of it."""

from __future__ import annotations

from typing import Any

from flight.boot._component import BootComponent
from flight.boot._config import Config
from flight.boot._store import BootStore
from flight.core import InstallContext
from hal.platform import Storage

__all__ = ["BootApp", "install"]


class BootApp:
    """The installed boot application: its component, summary and reboot request."""

    def __init__(self, component: BootComponent) -> None:
        self.component = component

    @property
    def reboot_requested(self) -> bool:
        """True once ``boot.rollback`` asked for a reboot into another slot."""
        return self.component.reboot_requested

    def summary(self) -> dict[str, Any]:
        """The ``boot`` section of summary.json: the running slot and version, the gate's
        outcome and unexpected resets."""
        c = self.component
        return {
            "slot": c.slot,
            "version": c.version,
            "gate": c.state.name.lower(),
            "marked_good": c.marked_good,
            "reboot_requested": c.reboot_requested,
            "resets": int(c.hk.resets),
        }

    def sample(self) -> dict[str, float]:
        """Values for the ground's time series."""
        hk = self.component.hk
        return {"boot.gate_state": float(hk.gate_state), "boot.gate_nominal_s": hk.gate_nominal_s}


def install(ctx: InstallContext, cfg: Config) -> BootApp:
    """Add the ``boot`` component (id from the registry) on the NV storage ``storage``."""
    nv = ctx.device("storage", cfg.storage, Storage)
    # mark-good and rollback touch only the record (NV); slot images are the selector's
    store = BootStore(nv, nv, model="")
    component = BootComponent(cfg, store, ctx.component_id("boot"), ctx.tmtc)
    ctx.add(component, cfg.rate_hz)
    return BootApp(component)
