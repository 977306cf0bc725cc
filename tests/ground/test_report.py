"""The run report (issue 13, item 5): eclipse and SAA shaded on every time plot, zone limits
on the temperature plot, legends with units, and GNC's "no estimate" never drawn or
summarised as 0. Oracle: the synthetic series given (spans and limits known by
construction), inspected on the matplotlib figures before they are saved."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from ground.cli import main
from ground.report import PLOTS, REPORT_FILES, label, write_plots

N = 40


def _series() -> dict[str, list[float]]:
    t = [60.0 * i for i in range(N)]
    nan = math.nan
    return {
        "t_s": t,
        "altitude_km": [550.0] * N,
        "soc_frac": [0.8] * N,
        "array_w": [100.0] * N,
        "load_w": [90.0] * N,
        "mode": [3.0] * N,
        # two eclipses (samples 5..9 and 25..29) and one SAA pass (samples 15..19)
        "sunlit": [0.0 if 5 <= i < 10 or 25 <= i < 30 else 1.0 for i in range(N)],
        "in_saa": [1.0 if 15 <= i < 20 else 0.0 for i in range(N)],
        "temp_c.battery": [20.0] * N,
        "temp_c.compute": [50.0] * N,
        "compute.jobs_done": [float(i) for i in range(N)],
        "edac.corrected": [float(i // 4) for i in range(N)],
        "gnc.slot_error_km": [nan] * 10 + [1.5] * (N - 10),
        "gnc.altitude_error_m": [nan] * 10 + [40.0] * (N - 10),
    }


def test_every_plot_is_shaded_labelled_and_limited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures: dict[str, Figure] = {}
    original = Figure.savefig

    def keep(self: Figure, fname: Any, *args: Any, **kwargs: Any) -> None:
        figures[Path(fname).stem] = self
        original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    limits = {"soc_floor": (0.3, 1.0), "temp_c.battery": (0.0, 35.0), "temp_c.compute": (5.0, 85.0)}
    written = write_plots(tmp_path, _series(), limits)
    assert {p.name for p in written} == {f"{n}.png" for n in PLOTS}
    assert {p.name for p in written} <= set(REPORT_FILES)
    for name, fig in figures.items():
        (ax,) = fig.axes
        spans = [p for p in ax.patches if isinstance(p, (Polygon, Rectangle))]
        assert len(spans) == 3, name  # two eclipses, one SAA pass
        legend = ax.get_legend()
        assert legend is not None, name
        texts = [t.get_text() for t in legend.get_texts()]
        assert "eclipse" in texts and "SAA" in texts, name
        lines = [t for t in texts if t not in ("eclipse", "SAA")]
        assert lines and all("(" in t and ")" in t for t in lines), (name, texts)
    temps = figures["temperatures"].axes[0]
    flat = set()
    for line in temps.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        if np.all(y == y[0]):
            flat.add(round(float(y[0]), 6))
    assert {0.0, 35.0, 5.0, 85.0} <= flat
    gnc_legend = figures["gnc"].axes[0].get_legend()
    assert gnc_legend is not None
    gnc_texts = [t.get_text() for t in gnc_legend.get_texts()]
    assert "slot error (km)" in gnc_texts and "altitude error (m)" in gnc_texts


def test_labels_name_units() -> None:
    assert label("gnc.slot_error_km") == "slot error (km)"
    assert label("power.array_w") == "array (W)"
    assert label("edac.corrected") == "corrected (count)"
    assert label("x.soc_frac") == "soc (fraction)"


def test_gnc_without_an_estimate_reports_null_never_zero(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["sim", "--duration", "60", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    gnc = summary["gnc"]
    assert gnc["box_samples"] == 0  # OD has not converged within a minute
    assert gnc["slot_error_max_km"] is None and gnc["altitude_error_max_m"] is None
    series = json.loads((out / "series.json").read_text())
    slot = series["gnc.slot_error_km"]
    assert slot and all(v is None or math.isnan(v) for v in slot)  # NaN in JSON: no line
    assert "sunlit" in series and "in_saa" in series
