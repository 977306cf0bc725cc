"""Simulated accelerator: real CPU work, modelled time/energy/heat, faults, power modes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from hal import AcceleratorStatus, JobState, PowerMode
from hal.registry import open_backend
from hal.sim import SimAccelerator, SimBackend
from native.errors import DeviceCommandError, DeviceFaultError, DeviceUnavailableError
from native.jit import kernel

# A slow mode with round numbers: 1 TOPS, 100 W busy, 10 W idle.
MODES = {"LOW": {"tops": 1.0, "power_w": 100.0, "idle_w": 10.0}, "HIGH": {"tops": 4.0}}
S = 1_000_000_000


def _acc(**cfg: Any) -> tuple[SimBackend, SimAccelerator]:
    b = open_backend("sim", seed=5)
    assert isinstance(b, SimBackend)
    acc = b.create("accelerator", "acc", {"modes": MODES, "initial_mode": "LOW", **cfg})
    assert isinstance(acc, SimAccelerator)
    return b, acc


def _wait(b: SimBackend, acc: SimAccelerator, job: int, max_s: int = 100) -> Any:
    for _ in range(max_s):
        res = acc.result(job)
        if res is not None:
            return res
        b.advance(S)
    raise AssertionError("job never finished")


def _softmax_oracle(x: np.ndarray) -> np.ndarray:
    e = np.exp(x.astype(np.float64) - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize(
    ("kernel_name", "inputs", "oracle", "ops"),
    [
        ("matmul", ((3, 4), (4, 5)), lambda a, b: np.einsum("ij,jk->ik", a, b), 2 * 3 * 4 * 5),
        (
            "matmul",
            ((2, 3, 4), (4, 5)),
            lambda a, b: np.einsum("bij,jk->bik", a, b),
            2 * 2 * 3 * 4 * 5,
        ),
        ("matmul", ((4,), (4,)), lambda a, b: np.einsum("i,i->", a, b), 2 * 4),
        ("add", ((6, 7), (7,)), lambda a, b: a + b, 42),
        ("relu", ((50,),), lambda x: np.where(x > 0, x, 0.0), 50),
        ("softmax", ((4, 9),), _softmax_oracle, 5 * 36),
    ],
)
def test_named_kernels_compute_and_count(
    kernel_name: str, inputs: tuple, oracle: Any, ops: int
) -> None:
    b, acc = _acc()
    rng = np.random.default_rng(1)
    args = [rng.standard_normal(shape) for shape in inputs]
    res = _wait(b, acc, acc.submit(kernel_name, *args))
    np.testing.assert_allclose(res.outputs, oracle(*args), rtol=1e-12, atol=1e-12)
    assert res.ops == ops and res.kernel == kernel_name


def test_modelled_time_and_energy() -> None:
    b, acc = _acc()
    b.advance(S)
    job = acc.submit(lambda: "done", ops=2.5e12)  # 2.5 s at 1 TOPS
    assert acc.state(job) is JobState.RUNNING
    b.advance(2 * S)
    assert acc.result(job) is None and acc.read().status is AcceleratorStatus.BUSY
    b.advance(S)
    res = acc.result(job)
    assert res is not None and res.outputs == "done"
    assert res.modelled_s == 2.5
    assert res.energy_j == 100.0 * 2.5  # P x modelled time
    assert (res.t_submit_ns, res.t_start_ns, res.t_done_ns) == (S, S, S + 2_500_000_000)
    r = acc.read()
    assert (r.jobs_done, r.energy_j, r.jobs_pending, r.status) == (
        1,
        250.0,
        0,
        AcceleratorStatus.IDLE,
    )


def test_jobs_queue_back_to_back_and_keep_their_mode() -> None:
    b, acc = _acc()
    j1 = acc.submit(np.sum, np.ones(3), ops=1.5e12)
    j2 = acc.submit(np.sum, np.ones(3), ops=1.5e12)
    acc.set_mode("HIGH")
    j3 = acc.submit(np.sum, np.ones(3), ops=4e12)  # 1 s at 4 TOPS
    assert acc.state(j2) is JobState.QUEUED
    b.advance(5 * S)
    r1, r2, r3 = (acc.result(j) for j in (j1, j2, j3))
    assert r1 and r2 and r3
    assert r2.t_start_ns == r1.t_done_ns == 1_500_000_000
    assert r3.t_start_ns == r2.t_done_ns == 3_000_000_000
    assert r3.modelled_s == 1.0 and r3.t_done_ns == 4_000_000_000
    hi = acc.modes[PowerMode.HIGH]
    assert r3.energy_j == hi.power_w * 1.0 and r1.energy_j == 150.0


def test_power_declared_to_rail_and_node_is_the_step_average(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b, acc = _acc()
    seen: list[tuple[float, float]] = []
    u = b.world.universe
    w = b.world

    class Probe:  # attached after the backend: sees the loads the physics step will use
        def universe_before_step(self, t0_ns: int, dt_ns: int) -> None:
            seen.append((w.thermal.dissipation_w("compute"), w.power.rail_load_w("compute")))

        def universe_after_step(self, t1_ns: int) -> None:
            pass

    probe = Probe()
    u.attach(probe)
    acc.submit(lambda: None, ops=0.25e12)  # busy for the first quarter of the step
    b.advance(S)
    b.advance(S)
    expect_first = 10.0 + 0.25 * (100.0 - 10.0)
    assert seen[0] == (pytest.approx(expect_first), pytest.approx(expect_first))
    assert seen[1] == (pytest.approx(10.0), pytest.approx(10.0))
    # Energy conservation: what went into the world is job energy + idle energy.
    assert sum(d for d, _ in seen) * 1.0 == pytest.approx(0.25 * 100.0 + 1.75 * 10.0)


def test_dissipation_heats_the_compute_node() -> None:
    b, acc = _acc(modes={"HIGH": {"tops": 1.0, "power_w": 2000.0, "idle_w": 120.0}})
    ref, ref_acc = _acc(modes={"HIGH": {"tops": 1.0, "power_w": 2000.0, "idle_w": 120.0}})
    for x in (acc, ref_acc):
        x.set_mode("HIGH")
    acc.submit(lambda: None, ops=1e15)  # busy for the whole run
    b.run_for(60 * S)
    ref.run_for(60 * S)
    dt = b.world.thermal.temp_c("compute") - ref.world.thermal.temp_c("compute")
    cap = b.world.config.thermal.nodes["compute"].capacitance_j_k
    # Short-time limit of C dT/dt = dP (the conductive losses are a few % over 60 s).
    assert dt == pytest.approx((2000.0 - 120.0) * 60.0 / cap, rel=0.15)


def test_real_numba_work_runs_on_the_cpu() -> None:
    @kernel
    def saxpy(a: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = a * x[i] + y[i]
        return out

    b, acc = _acc()
    x, y = np.arange(10.0), np.ones(10)
    res = _wait(b, acc, acc.submit(saxpy, 3.0, x, y, ops=2 * x.size))
    np.testing.assert_array_equal(res.outputs, 3.0 * x + y)
    assert res.kernel == "saxpy"


def test_hang_then_reset() -> None:
    b, acc = _acc()
    j1 = acc.submit(lambda: 1, ops=2e12)  # 2 s
    j2 = acc.submit(lambda: 2, ops=1e12)
    acc.apply_fault("accelerator_hang", None, {})
    b.advance(S)
    assert acc.read().status is AcceleratorStatus.BUSY  # not yet overdue
    b.run_for(10 * S)
    assert acc.read().status is AcceleratorStatus.HUNG
    assert acc.state(j1) is JobState.RUNNING and acc.state(j2) is JobState.QUEUED
    assert acc.result(j1) is None and acc.result(j2) is None
    acc.reset()
    for j in (j1, j2):
        assert acc.state(j) is JobState.LOST
        with pytest.raises(DeviceFaultError):
            acc.result(j)
    r = acc.read()
    assert (r.status, r.resets, r.jobs_pending, r.jobs_done) == (AcceleratorStatus.IDLE, 1, 0, 0)
    res = _wait(b, acc, acc.submit(lambda: 3, ops=1e12))
    assert res.outputs == 3


def test_hang_armed_while_idle_catches_the_next_job() -> None:
    b, acc = _acc()
    acc.apply_fault("accelerator_hang", None, {})
    j = acc.submit(lambda: 1, ops=1e9)
    b.run_for(5 * S)
    assert acc.result(j) is None and acc.read().status is AcceleratorStatus.HUNG


def test_bit_errors_are_reproducible_from_the_seed() -> None:
    def run() -> np.ndarray:
        b, acc = _acc()
        acc.apply_fault("accelerator_bit_errors", None, {"bits_per_result": 5})
        return _wait(b, acc, acc.submit("relu", np.ones(64))).outputs

    a, c = run(), run()
    assert np.array_equal(a.view(np.uint8), c.view(np.uint8))
    assert not np.array_equal(a, np.ones(64))


def test_bit_errors_hit_tuple_outputs_and_leave_inputs_alone() -> None:
    b, acc = _acc()
    acc.apply_fault("accelerator_bit_errors", None, {"bits_per_result": 8})
    x = np.zeros(16)
    res = _wait(b, acc, acc.submit(lambda v: (v, v * 0), x, ops=16))
    flipped = sum(int(np.unpackbits(o.view(np.uint8)).sum()) for o in res.outputs)
    assert 0 < flipped <= 8 and not x.any()
    assert isinstance(res.outputs, tuple)


def test_mode_off_and_power_loss() -> None:
    b, acc = _acc()
    j = acc.submit(lambda: 1, ops=5e12)
    acc.set_mode(PowerMode.OFF)
    assert acc.state(j) is JobState.LOST and acc.read().status is AcceleratorStatus.OFF
    with pytest.raises(DeviceUnavailableError, match="OFF"):
        acc.submit("relu", np.ones(2))
    assert acc.read().power_w == 0.0
    acc.set_mode("LOW")
    j = acc.submit(lambda: 1, ops=5e12)
    b.world.power.set_rail_on("compute", False)
    with pytest.raises(DeviceUnavailableError):
        acc.read()
    b.advance(S)
    assert b.world.thermal.dissipation_w("compute") == 0.0
    b.world.power.set_rail_on("compute", True)
    b.advance(S)
    r = acc.read()
    assert r.mode is PowerMode.OFF and acc.state(j) is JobState.LOST


def test_command_errors_change_nothing() -> None:
    _, acc = _acc(max_pending=2)
    before = acc.read()
    with pytest.raises(DeviceCommandError, match="bad inputs"):
        acc.submit("matmul", np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(DeviceCommandError, match="ops"):
        acc.submit(np.add, 1, 2, ops=math.inf)
    with pytest.raises(DeviceCommandError, match="kernel name or a callable"):
        acc.submit(42)  # type: ignore[arg-type]

    def boom() -> None:
        raise RuntimeError("user bug")

    with pytest.raises(RuntimeError, match="user bug"):
        acc.submit(boom, ops=1.0)
    assert acc.read().jobs_pending == before.jobs_pending == 0
    acc.submit(lambda: 0, ops=1e13)
    acc.submit(lambda: 0, ops=1e13)
    with pytest.raises(DeviceCommandError, match="queue full"):
        acc.submit(lambda: 0, ops=1.0)
    with pytest.raises(DeviceCommandError, match="unknown job"):
        acc.result(99)


def test_telemetry_temperature_tracks_the_node() -> None:
    b, acc = _acc(noise_c=0.0)
    assert acc.read().temp_c == b.world.thermal.temp_c("compute")
