"""The run report: a telemetry recorder component and the PNG plots of ``satnode sim``.

The recorder samples the bus (and the GNSS receiver, for altitude) every ``sample_s`` seconds
of onboard time; applications that expose ``sample() -> dict[str, float]`` add their own
series (compute jobs, EDAC counts, slot error...). After the run, :func:`write_plots` draws one
PNG per quantity with labelled axes and units (matplotlib, Agg backend: no display needed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from flight.core import NS_PER_S, Component
from flight.messages import ModeStatus, PowerStatus, ThermalStatus
from native._orbit_constants import EARTH_RADIUS_M
from native.errors import HalError

__all__ = ["TelemetryRecorder", "write_plots"]


class TelemetryRecorder(Component):
    """Samples the node's figures of merit into time series (lists of floats)."""

    def __init__(
        self,
        gnss: Any | None,
        sources: dict[str, Callable[[], dict[str, float]]],
        component_id: int = 30,
    ) -> None:
        super().__init__("recorder", component_id)
        self.gnss = gnss
        self.sources = sources
        self.series: dict[str, list[float]] = {"t_s": []}

    def _put(self, key: str, value: float) -> None:
        col = self.series.get(key)
        if col is None:
            n = len(self.series["t_s"]) - 1
            col = self.series[key] = [math.nan] * n
        col.append(float(value))

    def step(self, t_ns: int) -> None:
        """Take one sample of everything."""
        self.series["t_s"].append(t_ns / NS_PER_S)
        if self.gnss is not None:
            try:
                fix = self.gnss.read()
                alt = (
                    (math.dist((0, 0, 0), fix.position_ecef_m) - EARTH_RADIUS_M) / 1e3
                    if fix.valid
                    else math.nan
                )
            except HalError:
                alt = math.nan
            self._put("altitude_km", alt)
        p = self.bus.latest(PowerStatus)
        if p is not None:
            self._put("soc_frac", p.soc_frac)
            self._put("array_w", p.array_w)
            self._put("load_w", p.load_w)
            self._put("battery_a", p.battery_a)
            self._put("shed_level", int(p.shed_level))
        th = self.bus.latest(ThermalStatus)
        if th is not None:
            for name, temp, _, _ in th.zones:
                self._put(f"temp_c.{name}", temp)
        m = self.bus.latest(ModeStatus)
        if m is not None:
            self._put("mode", int(m.mode))
        for prefix, source in self.sources.items():
            for key, value in source().items():
                self._put(f"{prefix}.{key}", value)
        # Keep every column the same length (a source that skipped a sample gets NaN).
        n = len(self.series["t_s"])
        for col in self.series.values():
            if len(col) < n:
                col.append(math.nan)


def write_plots(
    out_dir: Path, series: dict[str, list[float]], limits: dict[str, tuple[float, float]]
) -> list[Path]:
    """Draw the run's plots into ``out_dir``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_h = np.asarray(series.get("t_s", []), dtype=float) / 3600.0
    if t_h.size == 0:
        return []
    written: list[Path] = []

    def plot(
        name: str,
        title: str,
        ylabel: str,
        keys: list[tuple[str, str]],
        hlines: tuple[tuple[float, str], ...] = (),
        step: bool = False,
    ) -> None:
        present = [(k, label) for k, label in keys if k in series]
        if not present:
            return
        fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
        for key, label in present:
            y = np.asarray(series[key], dtype=float)
            if step:
                ax.step(t_h, y, label=label, where="post")
            else:
                ax.plot(t_h, y, label=label)
        for value, label in hlines:
            ax.axhline(value, linestyle="--", linewidth=0.8, color="grey")
            ax.annotate(label, (t_h[0], value), fontsize=7, color="grey", va="bottom")
        ax.set_xlabel("time since start (h)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        if len(present) > 1:
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)

    plot("altitude", "Altitude (GNSS)", "altitude (km)", [("altitude_km", "altitude")])
    floor = limits.get("soc_floor", (math.nan, math.nan))[0]
    plot(
        "state_of_charge",
        "Battery state of charge",
        "state of charge (fraction)",
        [("soc_frac", "SoC")],
        ((floor, "floor"),) if math.isfinite(floor) else (),
    )
    plot(
        "power",
        "Power in and out",
        "power (W)",
        [("array_w", "solar array (in)"), ("load_w", "loads (out)")],
    )
    zone_keys = sorted(k for k in series if k.startswith("temp_c."))
    plot(
        "temperatures",
        "Zone temperatures",
        "temperature (deg C)",
        [(k, k.split(".", 1)[1]) for k in zone_keys],
    )
    plot(
        "modes",
        "Spacecraft mode",
        "mode (0 BOOT, 1 SAFE, 2 RECOVERY, 3 NOMINAL)",
        [("mode", "mode")],
        step=True,
    )
    compute_keys = sorted(k for k in series if k.startswith("compute."))
    plot(
        "compute_jobs",
        "AI executor jobs",
        "jobs (count)",
        [(k, k.split(".", 1)[1]) for k in compute_keys],
    )
    edac_keys = sorted(k for k in series if k.startswith("edac."))
    plot("edac", "EDAC corrections", "count", [(k, k.split(".", 1)[1]) for k in edac_keys])
    gnc_keys = sorted(k for k in series if k.startswith("gnc."))
    plot(
        "gnc",
        "Station-keeping",
        "value (see legend for units)",
        [(k, k.split(".", 1)[1]) for k in gnc_keys],
    )
    return written
