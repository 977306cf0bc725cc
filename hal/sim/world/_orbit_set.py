"""A set of geometry-only satellites propagated lazily on their own fixed time grid.

Used for a world's catalogue neighbours and for the peer ephemeris of a sharded
constellation (:class:`~hal.sim.world.Universe` with ``peer_ephemeris``). The states are
advanced with the neighbours kernel (RK4, J2, drag with a fixed ballistic coefficient) by
whole ``step_ns`` steps from the grid time, plus one partial step from the last grid point,
only when asked: the answer at a time does not depend on when or how often it was asked.
:meth:`reset` re-anchors the grid on given states (a synchronisation point).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hal.sim.world._kernel import neighbours_advance_kernel
from native.errors import DeviceCommandError

__all__ = ["LazyOrbitSet"]


class LazyOrbitSet:
    """ECI states (M, 6) of M satellites (m, m/s), propagated lazily on a grid.

    ``states0``: the states at ``t0_ns``; ``cdam_m2_kg``: each satellite's ``Cd A / m``
    (m^2/kg, 0 = no drag); ``step_ns``: the grid step; ``params`` and ``dtab``: the force
    model's parameter vector and density table (held by reference, as the kernel reads them).
    """

    __slots__ = ("_cdam", "_dtab", "_grid", "_grid_t_ns", "_now", "_now_t_ns", "_p", "_step_ns")

    def __init__(
        self,
        states0: NDArray[np.float64],
        cdam_m2_kg: NDArray[np.float64],
        step_ns: int,
        params: NDArray[np.float64],
        dtab: NDArray[np.float64],
        t0_ns: int = 0,
    ) -> None:
        self._grid = np.ascontiguousarray(states0, dtype=np.float64).reshape(-1, 6).copy()
        self._now = self._grid.copy()
        self._cdam = np.ascontiguousarray(cdam_m2_kg, dtype=np.float64).reshape(-1).copy()
        if self._cdam.shape[0] != self._grid.shape[0]:
            raise DeviceCommandError("orbit set: one ballistic coefficient per state")
        if step_ns <= 0:
            raise DeviceCommandError(f"orbit set: grid step must be > 0 ns, got {step_ns}")
        self._step_ns = int(step_ns)
        self._p = params
        self._dtab = dtab
        self._grid_t_ns = self._now_t_ns = int(t0_ns)

    def __len__(self) -> int:
        return int(self._grid.shape[0])

    def states(self, t_ns: int) -> NDArray[np.float64]:
        """States (M, 6) at ``t_ns`` (>= the grid time; the array is reused: do not keep it
        across calls)."""
        if self._now_t_ns == t_ns:
            return self._now
        if t_ns < self._grid_t_ns:
            raise DeviceCommandError(f"orbit set at {self._grid_t_ns} ns, asked for {t_ns} ns")
        k, rem = divmod(t_ns - self._grid_t_ns, self._step_ns)
        if k > 0:
            neighbours_advance_kernel(
                self._grid, self._cdam, self._grid_t_ns * 1e-9, k, self._step_ns * 1e-9,
                self._p, self._dtab,
            )  # fmt: skip
            self._grid_t_ns += k * self._step_ns
        self._now[:] = self._grid
        if rem:
            neighbours_advance_kernel(
                self._now, self._cdam, self._grid_t_ns * 1e-9, 1, rem * 1e-9, self._p,
                self._dtab,
            )  # fmt: skip
        self._now_t_ns = t_ns
        return self._now

    def bind_params(self, params: NDArray[np.float64]) -> None:
        """Read the force parameters from ``params`` from now on (after a state move)."""
        self._p = params

    def reset(self, t_ns: int, states: NDArray[np.float64]) -> None:
        """Re-anchor the grid: the satellites are at ``states`` (M, 6) at ``t_ns``. Bad shape
        or non-finite values -> DeviceCommandError, nothing changed."""
        a = np.asarray(states, dtype=np.float64)
        if a.shape != self._grid.shape or not np.all(np.isfinite(a)):
            raise DeviceCommandError(
                f"orbit set reset: need {self._grid.shape} finite states, got {a.shape}"
            )
        self._grid[:] = a
        self._now[:] = a
        self._grid_t_ns = self._now_t_ns = int(t_ns)
