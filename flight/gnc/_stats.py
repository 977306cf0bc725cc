"""Statistics of the station-keeping run, kept incrementally in constant memory.

* Box errors: the largest |slot| and |altitude| error of full-orbit estimates outside
  avoidances, the number of samples, and box exits (one ``box_exit`` event per exit).
* The analytic drag make-up delta-v, integrated as the decay estimate evolves: for a circular
  orbit the drag acceleration is ``a_D = |da/dt| n / 2`` (REFERENCE.md), so the delta-v that
  makes it up over ``dt`` is ``0.5 n D dt``. It is back-filled from the first converged fix
  once the decay is first known.
* A ring of the last ``history_len`` (t, slot error, altitude error) samples.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["BoxSample", "GncStatistics"]


@dataclass(frozen=True, slots=True)
class BoxSample:
    """One sample of the box errors: onboard s, slot error km (+ ahead), altitude error m."""

    t_s: float
    slot_error_km: float
    altitude_error_m: float


class GncStatistics:
    """Bounded statistics (see the module docstring)."""

    def __init__(self, history_len: int) -> None:
        self.slot_err_max_m = 0.0
        self.alt_err_max_m = 0.0
        self.samples = 0  #: box samples taken (every series_interval_s)
        self.box_exits = 0
        self.in_box = True
        self.recent: deque[BoxSample] = deque(maxlen=history_len)
        self.dv_analytic_m_s = 0.0
        self._analytic_t_s: float | None = None

    def judge(self, slot_m: float, alt_m: float, in_box: bool) -> bool:
        """Account a full-orbit estimate's errors (m); True when the node just left the box."""
        self.slot_err_max_m = max(self.slot_err_max_m, abs(slot_m))
        self.alt_err_max_m = max(self.alt_err_max_m, abs(alt_m))
        exited = self.in_box and not in_box
        if exited:
            self.box_exits += 1
        self.in_box = in_box
        return exited

    def reset_box(self) -> None:
        """A new box was commanded: the node counts as inside it until judged."""
        self.in_box = True

    def sample(self, t_s: float, slot_m: float, alt_m: float) -> None:
        """Keep one sample in the ring (m in, km/m stored)."""
        self.samples += 1
        self.recent.append(BoxSample(t_s, slot_m / 1e3, alt_m))

    def integrate_analytic(
        self, t_s: float, mean_motion_rad_s: float, decay_m_s: float | None
    ) -> None:
        """Advance the analytic drag make-up integral to ``t_s`` with the current decay."""
        if decay_m_s is None:
            return
        if self._analytic_t_s is not None:
            self.dv_analytic_m_s += 0.5 * mean_motion_rad_s * decay_m_s * (t_s - self._analytic_t_s)
        self._analytic_t_s = t_s

    def backfill_from(self, t_s: float) -> None:
        """Start the analytic integral at ``t_s`` (the first converged fix) when the decay
        becomes known, so the time before it is counted too."""
        self._analytic_t_s = t_s
