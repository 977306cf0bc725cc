"""The run report: a bounded ground-side recorder and the PNG plots of ``satnode sim``.

The recorder is not part of the flight software: the ground attaches it to a node as an
observer (:meth:`flight.node.Node.add_observer`). Every ``sample_s`` seconds of onboard time it
samples the software bus (power, thermal, mode), the installed applications that expose
``sample() -> dict[str, float]`` (compute jobs, EDAC counts, slot error...) and, when the
backend is a simulated world, the true altitude. Memory is bounded: when ``max_samples`` is
reached, every other sample is dropped and the sampling interval doubles, so a run of any
length keeps at most ``max_samples`` points per series, evenly spaced.

Besides the quantities it samples the eclipse state (``PowerStatus.sunlit``: 0 in eclipse)
and the SAA flag (``RadiationEnvironment.in_saa``), and keeps each thermal zone's limits.

After the run, :func:`write_plots` draws one PNG per quantity with labelled axes, legends
that name each line with its unit, eclipse and SAA passes shaded on every plot, and the zone
limits on the temperature plot (matplotlib, Agg backend: no display needed). A quantity with
no value yet (GNC before orbit determination converges) is NaN: no point is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from flight.core import NS_PER_S, SoftwareBus
from flight.messages import ModeStatus, PowerStatus, RadiationEnvironment, ThermalStatus

__all__ = [
    "PLOTS",
    "REPORT_FILES",
    "TelemetryRecorder",
    "attach_recorder",
    "label",
    "write_plots",
    "write_report",
]

#: The plots :func:`write_plots` may draw (file stem -> title).
PLOTS: dict[str, str] = {
    "altitude": "Altitude (simulated truth)",
    "state_of_charge": "Battery state of charge",
    "power": "Power in and out",
    "temperatures": "Zone temperatures and limits",
    "modes": "Spacecraft mode",
    "compute_jobs": "AI executor jobs",
    "edac": "EDAC corrections",
    "gnc": "Station-keeping error",
}

#: Every file the report writes into the output folder.
REPORT_FILES: tuple[str, ...] = ("series.json", *(f"{name}.png" for name in PLOTS))

#: Units of series by name suffix (longest first), for legends.
_UNIT_SUFFIXES = (
    ("_frac", "fraction"),
    ("_km", "km"),
    ("_m", "m"),
    ("_w", "W"),
    ("_a", "A"),
    ("_v", "V"),
    ("_c", "deg C"),
    ("_s", "s"),
    ("_hz", "Hz"),
)


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
        #: thermal zone -> (min_c, max_c), the limits last published
        self.zone_limits: dict[str, tuple[float, float]] = {}

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
            self._put("sunlit", 1.0 if p.sunlit else 0.0)
        rad = self.bus.latest(RadiationEnvironment)
        if rad is not None:
            self._put("in_saa", 1.0 if rad.in_saa else 0.0)
        th = self.bus.latest(ThermalStatus)
        if th is not None:
            for name, temp, lo, hi in th.zones:
                self._put(f"temp_c.{name}", temp)
                self.zone_limits[name] = (float(lo), float(hi))
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


def label(key: str) -> str:
    """Legend text of series ``key``: its name in words with its unit, e.g.
    ``gnc.slot_error_km`` -> ``slot error (km)``; a name without a unit suffix is a count."""
    name = key.split(".", 1)[-1]
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return f"{name[: -len(suffix)].replace('_', ' ')} ({unit})"
    return f"{name.replace('_', ' ')} (count)"


def write_report(out_dir: Path, recorder: TelemetryRecorder, summary: dict[str, Any]) -> list[Path]:
    """Write the time series (``series.json``) and the PNG plots to ``out_dir``."""
    import json

    (out_dir / "series.json").write_text(json.dumps(recorder.series))
    limits = {"soc_floor": (summary.get("power", {}).get("soc_floor", float("nan")), 1.0)}
    for zone, bounds in recorder.zone_limits.items():
        limits[f"temp_c.{zone}"] = bounds
    return write_plots(out_dir, recorder.series, limits)


def _spans(t_h: Any, flag: Any) -> list[tuple[float, float]]:
    """(start, end) in hours of every run of samples where ``flag`` is 1; a run lasts until
    the next sample (the state held since the sample that saw it)."""
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for i, on in enumerate(flag):
        if on > 0.5 and start is None:
            start = float(t_h[i])
        elif not on > 0.5 and start is not None:
            spans.append((start, float(t_h[i])))
            start = None
    if start is not None:
        spans.append((start, float(t_h[-1])))
    return spans


def write_plots(
    out_dir: Path, series: dict[str, list[float]], limits: dict[str, tuple[float, float]]
) -> list[Path]:
    """Draw the run's plots into ``out_dir``; returns the files written.

    ``limits``: ``"soc_floor"`` -> (floor, 1) and ``"temp_c.<zone>"`` -> (min_c, max_c).
    Every plot shades eclipse (series ``sunlit`` == 0) and SAA passes (``in_saa`` == 1).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_h = np.asarray(series.get("t_s", []), dtype=float) / 3600.0
    if t_h.size == 0:
        return []
    written: list[Path] = []
    eclipse: list[tuple[float, float]] = []
    if "sunlit" in series:
        sunlit = np.asarray(series["sunlit"], dtype=float)
        eclipse = _spans(t_h, np.where(np.isnan(sunlit), 0.0, 1.0 - sunlit))
    saa = (
        _spans(t_h, np.nan_to_num(np.asarray(series["in_saa"], dtype=float)))
        if ("in_saa" in series)
        else []
    )

    def shade(ax: Any) -> None:
        for i, (a, b) in enumerate(eclipse):
            ax.axvspan(a, b, color="0.6", alpha=0.25, lw=0, label="eclipse" if i == 0 else None)
        for i, (a, b) in enumerate(saa):
            ax.axvspan(a, b, color="tab:orange", alpha=0.15, lw=0, label="SAA" if i == 0 else None)

    def plot(
        name: str,
        ylabel: str,
        keys: list[tuple[str, str]],
        hlines: tuple[tuple[float, str], ...] = (),
        step: bool = False,
        bands: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        present = [(k, text) for k, text in keys if k in series]
        if not present:
            return
        fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
        shade(ax)
        for key, text in present:
            y = np.asarray(series[key], dtype=float)
            if step:
                (line,) = ax.step(t_h, y, label=text, where="post")
            else:
                (line,) = ax.plot(t_h, y, label=text)
            if bands and key in bands:
                lo, hi = bands[key]
                for value in (lo, hi):
                    if math.isfinite(value):
                        ax.axhline(value, linestyle="--", linewidth=0.8, color=line.get_color())
        for value, text in hlines:
            ax.axhline(value, linestyle="--", linewidth=0.8, color="grey", label=text)
        ax.set_xlabel("time since start (h)")
        ax.set_ylabel(ylabel)
        ax.set_title(PLOTS[name])
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)

    plot("altitude", "altitude (km)", [("altitude_km", "altitude (km)")])
    floor = limits.get("soc_floor", (math.nan, math.nan))[0]
    plot(
        "state_of_charge",
        "state of charge (fraction)",
        [("soc_frac", "state of charge (fraction)")],
        ((floor, f"floor {floor:.2f} (fraction)"),) if math.isfinite(floor) else (),
    )
    plot(
        "power",
        "power (W)",
        [("array_w", "solar array, in (W)"), ("load_w", "loads, out (W)")],
    )
    zone_keys = sorted(k for k in series if k.startswith("temp_c."))
    plot(
        "temperatures",
        "temperature (deg C)",
        [(k, f"{k.split('.', 1)[1]} (deg C; dashed: its limits)") for k in zone_keys],
        bands={k: limits[k] for k in zone_keys if k in limits},
    )
    plot(
        "modes",
        "mode (0 BOOT, 1 SAFE, 2 RECOVERY, 3 NOMINAL)",
        [("mode", "mode (0 BOOT, 1 SAFE, 2 RECOVERY, 3 NOMINAL)")],
        step=True,
    )
    compute_keys = sorted(k for k in series if k.startswith("compute."))
    plot("compute_jobs", "jobs (count)", [(k, label(k)) for k in compute_keys])
    edac_keys = sorted(k for k in series if k.startswith("edac."))
    plot("edac", "words (count)", [(k, label(k)) for k in edac_keys])
    gnc_keys = sorted(k for k in series if k.startswith("gnc."))
    plot("gnc", "error (unit in legend)", [(k, label(k)) for k in gnc_keys])
    return written
