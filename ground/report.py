"""The run report: a bounded ground-side recorder and the PNG plots of ``satnode sim``.

The recorder is not part of the flight software: the ground attaches it to a node as an
observer (:meth:`flight.node.Node.add_observer`). Every ``sample_s`` seconds of onboard time it
samples the software bus (power, thermal, mode), the installed applications that expose
``sample() -> dict[str, float]`` (compute jobs, EDAC counts, slot error...) and, when the
backend is a simulated world, the true altitude. Memory is bounded: when ``max_samples`` is
reached, every other sample is dropped and the sampling interval doubles, so a run of any
length keeps at most ``max_samples`` points per series, evenly spaced.

After the run, :func:`write_plots` draws one PNG per quantity with labelled axes and units
(matplotlib, Agg backend: no display needed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from flight.core import NS_PER_S, SoftwareBus
from flight.messages import ModeStatus, PowerStatus, ThermalStatus

__all__ = ["TelemetryRecorder", "attach_recorder", "write_plots", "write_report"]


class TelemetryRecorder:
    """Samples a node's figures of merit into bounded, evenly spaced time series.

    ``sources``: name -> callable returning ``{key: value}`` (each becomes ``name.key``).
    ``altitude_m``: optional callable giving the true altitude (m) of a simulated world.
    """

    def __init__(
        self,
        bus: SoftwareBus,
        sources: dict[str, Callable[[], dict[str, float]]],
        *,
        sample_s: float = 10.0,
        max_samples: int = 4096,
        altitude_m: Callable[[], float] | None = None,
    ) -> None:
        if not (math.isfinite(sample_s) and sample_s > 0):
            raise ValueError(f"sample_s must be > 0, got {sample_s}")
        if max_samples < 16 or max_samples % 2:
            raise ValueError(f"max_samples must be an even number >= 16, got {max_samples}")
        self.bus = bus
        self.sources = sources
        self.altitude_m = altitude_m
        self.max_samples = max_samples
        self.interval_ns = round(sample_s * NS_PER_S)
        self._next_ns: int | None = None
        self.series: dict[str, list[float]] = {"t_s": []}

    def __call__(self, t_ns: int) -> None:
        """Observer hook: sample when an interval has elapsed (onboard time ``t_ns``)."""
        if self._next_ns is None:
            self._next_ns = t_ns
        if t_ns < self._next_ns:
            return
        self._next_ns += self.interval_ns * max(1, (t_ns - self._next_ns) // self.interval_ns + 1)
        self.sample(t_ns)

    def _put(self, key: str, value: float) -> None:
        col = self.series.get(key)
        if col is None:
            n = len(self.series["t_s"]) - 1
            col = self.series[key] = [math.nan] * n
        col.append(float(value))

    def sample(self, t_ns: int) -> None:
        """Take one sample of everything now; decimate when the bound is reached."""
        if len(self.series["t_s"]) >= self.max_samples:
            for key, col in self.series.items():
                self.series[key] = col[::2]
            self.interval_ns *= 2
        self.series["t_s"].append(t_ns / NS_PER_S)
        if self.altitude_m is not None:
            self._put("altitude_km", self.altitude_m() / 1e3)
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


def attach_recorder(node: Any, sample_s: float = 10.0) -> TelemetryRecorder:
    """Attach a :class:`TelemetryRecorder` to ``node`` (a :class:`flight.node.Node`) as an
    observer; applications with a ``sample()`` method become series sources."""
    sources = {
        name: app.sample
        for name, app in node.apps.items()
        if callable(getattr(app, "sample", None))
    }
    altitude = None
    world = getattr(node.backend, "world", None)  # the simulated world's truth, when there is one
    orbit = getattr(world, "orbit", None)
    if orbit is not None and hasattr(orbit, "altitude_m"):

        def altitude() -> float:
            return float(orbit.altitude_m)

    recorder = TelemetryRecorder(
        node.executive.bus, sources, sample_s=sample_s, altitude_m=altitude
    )
    node.add_observer(recorder)
    return recorder


def write_report(out_dir: Path, recorder: TelemetryRecorder, summary: dict[str, Any]) -> list[Path]:
    """Write the time series (``series.json``) and the PNG plots to ``out_dir``."""
    import json

    (out_dir / "series.json").write_text(json.dumps(recorder.series))
    limits = {"soc_floor": (summary.get("power", {}).get("soc_floor", float("nan")), 1.0)}
    return write_plots(out_dir, recorder.series, limits)


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

    plot("altitude", "Altitude (simulated truth)", "altitude (km)", [("altitude_km", "altitude")])
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
