"""Simulated AI accelerator: runs the work on the CPU, models time, energy and heat.

Submitted work runs at once, synchronously, on the host CPU (NumPy or Numba code runs for
real). Its *modelled* duration is ``ops / (tops * 1e12)`` for the power mode in force at
submission; jobs execute back to back in submission order on the simulated clock, and a job's
result becomes visible once the world's time reaches its modelled end. While a job runs the
device draws the mode's ``power_w``, otherwise its ``idle_w``; the average over every physics
step is declared on the ``compute`` rail and dissipated into the ``compute`` thermal node, so
the modelled energy of a job (``power_w * modelled_s``) reaches the battery and the radiator.

Faults: ``accelerator_hang`` (the job running at the fault, or the next one submitted, never
completes, nor do the jobs behind it, until :meth:`reset`; status turns HUNG once the hung job
overruns its modelled time), ``accelerator_bit_errors`` (param ``bits_per_result``, default 1:
bits flipped in the numpy results of every job submitted while active; silent, counted only in
:attr:`SimAccelerator.injected_bit_flips`), ``seu_burst`` (param ``n_bits``: upsets in the
device memory, corrected by its ECC and counted in ``ecc_corrected``).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hal._common import Family
from hal.accelerator import (
    STANDARD_KERNELS,
    Accelerator,
    AcceleratorReading,
    AcceleratorStatus,
    JobResult,
    JobState,
    ModeSpec,
    PowerMode,
)
from hal.sim._base import Options, SimDevice
from hal.sim._context import DeviceContext
from native.errors import ConfigError, DeviceCommandError, DeviceFaultError, DeviceUnavailableError

__all__ = ["DEFAULT_MODES", "SimAccelerator"]

#: Default mode table (a ~2 kW compute payload; override per mode with the ``modes`` key).
DEFAULT_MODES: Mapping[PowerMode, ModeSpec] = {
    PowerMode.OFF: ModeSpec(tops=0.0, power_w=0.0, idle_w=0.0),
    PowerMode.LOW: ModeSpec(tops=200.0, power_w=300.0, idle_w=50.0),
    PowerMode.MID: ModeSpec(tops=600.0, power_w=900.0, idle_w=80.0),
    PowerMode.HIGH: ModeSpec(tops=1200.0, power_w=2000.0, idle_w=120.0),
}

_NEVER = 1 << 62  # "never" on the ns clock (a hung job's end)
_KEEP_DONE = 4096  # finished jobs kept for result()
# Finished jobs whose result was already read are forgotten sooner: their outputs are the
# bulk of the device's memory (a real accelerator frees a result buffer once it is read).
_KEEP_COLLECTED = 64


@dataclass(slots=True)
class _Job:
    job_id: int
    kernel: str
    outputs: Any
    ops: float
    modelled_s: float
    power_w: float
    t_submit_ns: int
    t_start_ns: int
    dur_ns: int
    t_end_ns: int
    hung: bool = False
    lost: bool = False
    counted: bool = False

    def state(self, t_ns: int) -> JobState:
        if self.lost:
            return JobState.LOST
        if t_ns >= self.t_end_ns:
            return JobState.DONE
        if t_ns >= self.t_start_ns:
            return JobState.RUNNING
        return JobState.QUEUED


class SimAccelerator(SimDevice, Accelerator):
    """Simulated accelerator card.

    Keys: ``node`` ("compute", thermal node heated), ``rail`` (default "compute"),
    ``initial_mode`` ("OFF"), ``modes`` (table mode -> {tops, power_w, idle_w}; replaces the
    given fields of :data:`DEFAULT_MODES`), ``noise_c`` (0.1, temperature sensor),
    ``max_pending`` (4096 queued jobs).

    Results stay readable until 4,096 more jobs have finished, or, once read, until 64 more
    results have been read (the outputs are the bulk of the device's memory); a job forgotten
    since is an unknown id.
    """

    family: ClassVar[Family] = Family.ACCELERATOR
    FAULTS: ClassVar[frozenset[str]] = frozenset(
        {"accelerator_hang", "accelerator_bit_errors", "seu_burst"}
    )

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        if "compute" in tuple(ctx.world.power.rail_names):
            opts.setdefault("rail", "compute")
        super().__init__(name, ctx, opts)
        self._node = opts.string("node", "compute", tuple(self.world.thermal.node_names))
        self._initial_mode = PowerMode(
            opts.string("initial_mode", "OFF", tuple(m.value for m in PowerMode))
        )
        self._modes = _parse_modes(opts.table("modes"), f"{opts.path}.modes")
        self._noise_c = opts.real("noise_c", 0.1, lo=0.0)
        self._max_pending = opts.integer("max_pending", 4096, lo=1)
        opts.finish()
        self._mode = self._initial_mode
        self._jobs: dict[int, _Job] = {}  # every job still known, by id
        self._pending: list[_Job] = []  # not finished and not lost, in start order
        self._finished: collections.deque[int] = collections.deque()  # ids, oldest first
        self._collected: dict[int, None] = {}  # finished ids whose result was read, in order
        self._next_id = 1
        self._busy_until_ns = 0
        self._hang_armed = False
        self._bit_errors = 0
        self.injected_bit_flips = 0
        self._jobs_done = 0
        self._energy_j = 0.0
        self._ecc_corrected = 0
        self._ecc_uncorrected = 0
        self._resets = 0
        self._window: tuple[int, int] | None = None

    # ----------------------------------------------------------------------- properties
    @property
    def modes(self) -> Mapping[PowerMode, ModeSpec]:
        return dict(self._modes)

    @property
    def kernels(self) -> tuple[str, ...]:
        return tuple(STANDARD_KERNELS)

    @property
    def mode(self) -> PowerMode:
        """Current power mode."""
        return self._mode

    # ------------------------------------------------------------------------- commands
    def set_mode(self, mode: PowerMode | str) -> None:
        self._require_power()
        try:
            m = PowerMode(mode)
        except ValueError:
            raise DeviceCommandError(
                f"{self._name}: unknown power mode {mode!r} "
                f"(modes: {', '.join(p.value for p in PowerMode)})"
            ) from None
        if m is PowerMode.OFF:
            self._lose_pending(self._now())
        self._mode = m
        self._loads_changed()

    def submit(self, work: str | Callable[..., Any], *inputs: Any, ops: float | None = None) -> int:
        self._require_power()
        if self._mode is PowerMode.OFF:
            raise DeviceUnavailableError(f"{self._name}: accelerator is in mode OFF")
        now = self._now()
        self._settle(now)
        if len(self._pending) >= self._max_pending:
            raise DeviceCommandError(f"{self._name}: job queue full ({self._max_pending})")
        if ops is not None:
            if isinstance(ops, bool) or not isinstance(ops, (int, float)):
                raise DeviceCommandError(f"{self._name}: ops must be a number, got {ops!r}")
            if not (math.isfinite(ops) and ops >= 0):
                raise DeviceCommandError(f"{self._name}: ops must be finite and >= 0, got {ops!r}")
        if isinstance(work, str):
            kern = STANDARD_KERNELS.get(work)
            if kern is None:
                raise DeviceCommandError(
                    f"{self._name}: unknown kernel {work!r} (kernels: {', '.join(STANDARD_KERNELS)})"
                )
            if len(inputs) != kern.n_inputs:
                raise DeviceCommandError(
                    f"{self._name}: kernel {work!r} takes {kern.n_inputs} inputs, got {len(inputs)}"
                )
            args = tuple(np.asarray(x) for x in inputs)
            try:
                n_ops = float(kern.ops(*args)) if ops is None else float(ops)
            except (ValueError, IndexError) as exc:
                raise DeviceCommandError(f"{self._name}: bad inputs for {work!r}: {exc}") from exc
            fn, label = kern.fn, kern.name
        elif callable(work):
            if ops is None:
                raise DeviceCommandError(f"{self._name}: ops is required with a callable")
            fn, label, args, n_ops = work, getattr(work, "__name__", "callable"), inputs, float(ops)
        else:
            raise DeviceCommandError(f"{self._name}: work must be a kernel name or a callable")

        try:
            outputs = fn(*args)  # the real computation, on the CPU
        except (ValueError, IndexError) as exc:
            if isinstance(work, str):
                raise DeviceCommandError(f"{self._name}: bad inputs for {work!r}: {exc}") from exc
            raise
        if self._bit_errors:
            outputs = self._flip_bits(outputs, self._bit_errors)

        spec = self._modes[self._mode]
        modelled_s = spec.modelled_s(n_ops)
        dur_ns = round(modelled_s * 1e9)
        start = max(now, self._busy_until_ns)
        job = _Job(
            self._next_id,
            label,
            outputs,
            n_ops,
            modelled_s,
            spec.power_w,
            now,
            start,
            dur_ns,
            min(start + dur_ns, _NEVER) if start < _NEVER else _NEVER,
        )
        if self._hang_armed:
            self._hang_armed = False
            job.hung, job.t_end_ns = True, _NEVER
        self._busy_until_ns = job.t_end_ns
        self._jobs[job.job_id] = job
        self._pending.append(job)
        self._next_id += 1
        self._loads_changed()
        return job.job_id

    def _job(self, job_id: int) -> _Job:
        job = self._jobs.get(job_id) if isinstance(job_id, int) else None
        if job is None:
            raise DeviceCommandError(f"{self._name}: unknown job id {job_id!r}")
        return job

    def state(self, job_id: int) -> JobState:
        self._require_power()
        return self._job(job_id).state(self._now())

    def result(self, job_id: int) -> JobResult | None:
        self._require_power()
        job = self._job(job_id)
        now = self._now()
        st = job.state(now)
        if st is JobState.LOST:
            raise DeviceFaultError(f"{self._name}: job {job_id} was lost (reset or power loss)")
        if st is not JobState.DONE:
            return None
        self._settle(now)
        collected = self._collected
        if job.job_id not in collected:
            collected[job.job_id] = None
            while len(collected) > _KEEP_COLLECTED:
                self._jobs.pop(next(iter(collected)), None)
                del collected[next(iter(collected))]
        return JobResult(
            job.job_id,
            job.kernel,
            job.outputs,
            job.ops,
            job.modelled_s,
            job.power_w * job.modelled_s,
            job.t_submit_ns,
            job.t_start_ns,
            job.t_end_ns,
        )

    def reset(self) -> None:
        self._require_power()
        self._lose_pending(self._now())
        self._resets += 1
        self._loads_changed()

    def read(self) -> AcceleratorReading:
        self._require_power()
        now = self._now()
        self._settle(now)
        m = self._measure_temp()
        return AcceleratorReading(
            now,
            True,
            self._status(now),
            self._mode,
            self._power_at(now),
            m,
            len(self._pending),
            self._jobs_done,
            self._energy_j,
            self._ecc_corrected,
            self._ecc_uncorrected,
            self._resets,
        )

    # -------------------------------------------------------------------------- model
    def _measure_temp(self) -> float:
        t = float(self.world.thermal.temp_c(self._node))
        return t + self._noise_c * float(self._rng.standard_normal()) if self._noise_c else t

    def _status(self, now: int) -> AcceleratorStatus:
        if self._mode is PowerMode.OFF:
            return AcceleratorStatus.OFF
        busy = False
        for j in self._pending:
            if now >= j.t_end_ns:
                continue
            if j.hung and now > j.t_start_ns + j.dur_ns:
                return AcceleratorStatus.HUNG
            busy = True
        return AcceleratorStatus.BUSY if busy else AcceleratorStatus.IDLE

    def _settle(self, now: int) -> None:
        """Account jobs that finished by ``now`` (count, energy); forget the oldest results."""
        # Pending jobs run back to back, so their ends are non-decreasing.
        if self._pending and self._pending[0].t_end_ns <= now:
            still = []
            for j in self._pending:
                if j.t_end_ns <= now:
                    j.counted = True
                    self._jobs_done += 1
                    self._energy_j += j.power_w * j.modelled_s
                    self._finished.append(j.job_id)
                else:
                    still.append(j)
            self._pending = still
        while len(self._finished) > _KEEP_DONE:
            old = self._finished.popleft()
            self._jobs.pop(old, None)
            self._collected.pop(old, None)

    def _lose_pending(self, now: int) -> None:
        self._settle(now)
        for j in self._pending:
            j.lost = True
            self._finished.append(j.job_id)
        self._pending = []
        self._busy_until_ns = now
        self._hang_armed = False

    def _power_at(self, t: int) -> float:
        if self._mode is PowerMode.OFF or not self.powered:
            return 0.0
        for j in self._pending:
            if j.t_start_ns <= t < j.t_end_ns:
                return j.power_w
        return self._modes[self._mode].idle_w

    def _avg_power(self, t0: int, t1: int) -> float:
        """Average electrical power over [t0, t1) (W)."""
        if t1 <= t0:
            return self._power_at(t0)
        if self._mode is PowerMode.OFF or not self.powered:
            return 0.0
        idle = self._modes[self._mode].idle_w
        extra = 0.0
        for j in self._pending:
            overlap = min(j.t_end_ns, t1) - max(j.t_start_ns, t0)
            if overlap > 0:
                extra += overlap * (j.power_w - idle)
        return idle + extra / (t1 - t0)

    def _electrical_w(self) -> float:
        now = self._now()
        if self._window is not None and self._window[0] == now:
            p = self._avg_power(*self._window)
        else:
            p = self._power_at(now)
        return self._quiescent_w + p

    def _heat(self) -> Iterable[tuple[str, str, float]]:
        return (("dissipation", self._node, self._electrical_w() if self.powered else 0.0),)

    def _pre_step(self, t0_ns: int, dt_ns: int) -> None:
        self._window = (t0_ns, t0_ns + dt_ns)

    def _post_step(self, t_ns: int) -> None:
        self._window = None
        if not self.powered and (self._mode is not PowerMode.OFF or self._pending):
            # Power loss: the card restarts in its initial mode without its jobs.
            self._lose_pending(t_ns)
            self._mode = PowerMode.OFF
        self._settle(t_ns)

    def _on_reboot(self, reason: Any) -> None:
        self._lose_pending(self._now())
        self._mode = self._initial_mode

    def _flip_bits(self, outputs: Any, n_bits: int) -> Any:
        """Copy the numpy arrays among ``outputs`` and flip ``n_bits`` random bits in them."""
        if isinstance(outputs, np.ndarray):
            arrays = [np.array(outputs, copy=True, order="C")]
            rebuilt: Any = None
        elif isinstance(outputs, (tuple, list)):
            arrays = [
                np.array(o, copy=True, order="C") if isinstance(o, np.ndarray) else o
                for o in outputs
            ]
            rebuilt = type(outputs)
        else:
            return outputs
        targets = [a for a in arrays if isinstance(a, np.ndarray) and a.nbytes > 0]
        if not targets:
            return outputs
        sizes = np.array([a.nbytes for a in targets], dtype=np.float64)
        for _ in range(n_bits):
            a = targets[int(self._rng.choice(len(targets), p=sizes / sizes.sum()))]
            flat = a.reshape(-1).view(np.uint8)
            flat[int(self._rng.integers(flat.size))] ^= np.uint8(1 << int(self._rng.integers(8)))
            self.injected_bit_flips += 1
        if rebuilt is None:
            return arrays[0]
        return rebuilt(arrays)

    # ------------------------------------------------------------------------- faults
    def apply_fault(self, kind: str, channel: str | None, params: Mapping[str, Any]) -> None:
        if kind == "accelerator_hang":
            now = self._now()
            self._settle(now)
            pending = self._pending
            if not pending:
                self._hang_armed = True
                return
            first = pending[0]
            first.hung, first.t_end_ns = True, _NEVER
            for j in pending[1:]:
                j.t_start_ns = j.t_end_ns = _NEVER
            self._busy_until_ns = _NEVER
        elif kind == "accelerator_bit_errors":
            self._bit_errors = int(params.get("bits_per_result", 1))
        elif kind == "seu_burst":
            self._ecc_corrected += int(params.get("n_bits", 1))
        else:
            super().apply_fault(kind, channel, params)

    def clear_fault(self, kind: str, channel: str | None) -> None:
        if kind == "accelerator_bit_errors":
            self._bit_errors = 0
        # A hang is latched until reset(); an SEU burst is instantaneous.


def _parse_modes(table: Mapping[str, Any] | None, path: str) -> dict[PowerMode, ModeSpec]:
    modes = dict(DEFAULT_MODES)
    for key, spec in (table or {}).items():
        try:
            mode = PowerMode(key)
        except ValueError:
            raise ConfigError(
                f"{path}.{key}: unknown mode (modes: {', '.join(m.value for m in PowerMode)})"
            ) from None
        o = Options(spec, f"{path}.{key}")
        base = modes[mode]
        tops = o.real("tops", base.tops, lo=0.0)
        power = o.real("power_w", base.power_w, lo=0.0)
        idle = o.real("idle_w", base.idle_w, lo=0.0)
        o.finish()
        if mode is not PowerMode.OFF and tops <= 0:
            raise ConfigError(f"{path}.{key}.tops: must be > 0 outside mode OFF")
        modes[mode] = ModeSpec(tops=tops, power_w=power, idle_w=idle)
    return modes
