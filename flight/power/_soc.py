"""State-of-charge estimation: coulomb counting, corrected by open-circuit voltage at rest.

Coulomb counting integrates the measured battery current (A, + charging) over time against
the capacity (Ah); it is precise short-term but drifts with current-sense bias. When the
battery has been at rest (|I| below ``rest_current_a`` for ``rest_time_s``) its terminal
voltage approaches the open-circuit voltage, whose curve against SoC is known from the cell
datasheet; the estimate is then pulled toward the OCV-derived SoC with gain ``ocv_gain`` per
update, which removes the drift without letting voltage noise in.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SocEstimator"]


class SocEstimator:
    """Battery state of charge (fraction 0..1) from current and voltage.

    ``ocv_soc`` and ``ocv_block_v`` tabulate the open-circuit voltage of one series block
    (V) against SoC; the pack voltage is divided by the number of working series blocks.
    """

    def __init__(
        self,
        capacity_ah: float,
        ocv_soc: list[float],
        ocv_block_v: list[float],
        rest_current_a: float = 1.0,
        rest_time_s: float = 300.0,
        ocv_gain: float = 0.05,
    ) -> None:
        if capacity_ah <= 0:
            raise ValueError("capacity_ah must be > 0")
        self.capacity_ah = capacity_ah
        self._soc_table = np.asarray(ocv_soc, dtype=float)
        self._v_table = np.asarray(ocv_block_v, dtype=float)
        if self._soc_table.size < 2 or self._soc_table.size != self._v_table.size:
            raise ValueError("OCV tables need >= 2 matching points")
        if np.any(np.diff(self._v_table) <= 0) or np.any(np.diff(self._soc_table) <= 0):
            raise ValueError("OCV tables must increase strictly")
        self.rest_current_a = rest_current_a
        self.rest_time_s = rest_time_s
        self.ocv_gain = ocv_gain
        self.soc_frac: float | None = None
        self.rest_s = 0.0
        self.corrections = 0

    def soc_from_ocv(self, block_v: float) -> float:
        """SoC whose tabulated open-circuit block voltage is ``block_v`` (clamped to 0..1)."""
        return float(np.interp(block_v, self._v_table, self._soc_table))

    def update(self, current_a: float, pack_v: float, blocks: int, dt_s: float) -> float:
        """Advance the estimate by ``dt_s`` seconds of measured current; returns SoC."""
        block_v = pack_v / max(blocks, 1)
        if self.soc_frac is None:  # first sample after boot: the battery is taken at rest
            self.soc_frac = self.soc_from_ocv(block_v)
            return self.soc_frac
        soc = self.soc_frac + current_a * dt_s / 3600.0 / self.capacity_ah
        if abs(current_a) < self.rest_current_a:
            self.rest_s += dt_s
            if self.rest_s >= self.rest_time_s:
                soc += self.ocv_gain * (self.soc_from_ocv(block_v) - soc)
                self.corrections += 1
        else:
            self.rest_s = 0.0
        self.soc_frac = min(1.0, max(0.0, soc))
        return self.soc_frac
