"""Offload of AI jobs: the cost model against its closed form, the bundle codecs, the job
ledger against an independent model under random operations, and two executors joined by a
lossy in-memory link: a job travels with its inputs, runs under the neighbour's admission
control, and its result comes back verified and equal to the NumPy reference on the
origin's tiles; job conservation under link cuts, refusals and a corrupt result.

Oracles: the closed-form finish time; a plain dict model of the ledger; the NumPy
reference of the EO processing (``process_tiles_ref``) on the origin imager's scene.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from flight.compute import (
    Candidate,
    ComputeExecutor,
    Criticality,
    ExecutorConfig,
    JobKind,
    JobLedger,
    JobRequest,
    NodeStatus,
    OffloadConfig,
    OffloadManager,
    Outcome,
    RemoteRequest,
    choose_site,
    decode_request,
    decode_status,
    detector_weights,
    encode_request,
    encode_status,
    find_detections,
    process_tiles_ref,
    remote_finish_s,
)
from flight.core import Executive, SimClock, seconds_to_ns
from flight.isl import Contact, IslNetwork, LossyChannel
from flight.messages import PowerBudget, ThermalThrottle
from flight.node import attach_plant
from hal.registry import open_backend
from hal.sim._scenes import make_tiles

S = 1_000_000_000
NOW = 1_000 * S


def status(**kw: Any) -> NodeStatus:
    base: dict[str, Any] = dict(t_ns=NOW - 5 * S, allowed=True, queue_len=2, queue_depth=8,
                                rate_ops=2e14, backlog_s=30.0, budget_w=900.0, thermal_frac=1.0)
    base.update(kw)
    return NodeStatus(**base)


def cand(name: str = "b", **kw: Any) -> Candidate:
    base: dict[str, Any] = dict(status=status(), transfer_s=4.0, return_s=1.5, hops=1,
                                link_up=True)
    base.update(kw)
    return Candidate(name, **base)


# ---------------------------------------------------------------------------- cost model
def test_remote_finish_is_the_closed_form() -> None:
    ops = 6e15
    kw = dict(pat_delay_s=40.0, max_hops=2, stale_s=60.0, now_ns=NOW)
    # transfer + queue + job at the neighbour's rate + return
    assert remote_finish_s(cand(), ops, **kw) == pytest.approx(4.0 + 30.0 + 6e15 / 2e14 + 1.5)
    # the link is down: the PAT delay is added
    assert remote_finish_s(cand(link_up=False), ops, **kw) == pytest.approx(
        4.0 + 40.0 + 30.0 + 30.0 + 1.5)
    for bad in (
        cand(status=status(t_ns=NOW - 61 * S)),  # stale
        cand(status=status(allowed=False)),
        cand(status=status(rate_ops=0.0)),
        cand(status=status(queue_len=8)),  # queue full
        cand(hops=3),  # beyond max_hops
        cand(transfer_s=math.inf),  # no route
    ):
        assert remote_finish_s(bad, ops, **kw) is None
    # a farther node's status comes by relays: stale after relay_stale_s (default: stale_s
    # per hop)
    two = dict(transfer_s=9.0, hops=2)
    assert remote_finish_s(cand(status=status(t_ns=NOW - 119 * S), **two), ops, **kw) == (
        pytest.approx(9.0 + 30.0 + 30.0 + 1.5))
    assert remote_finish_s(cand(status=status(t_ns=NOW - 121 * S), **two), ops, **kw) is None
    old = cand(status=status(t_ns=NOW - 199 * S), **two)
    assert remote_finish_s(old, ops, relay_stale_s=200.0, **kw) is not None
    assert remote_finish_s(old, ops, relay_stale_s=198.0, **kw) is None
    assert remote_finish_s(cand(status=status(t_ns=NOW - 61 * S)), ops, relay_stale_s=200.0,
                           **kw) is None  # one hop: stale_s still


def test_choose_site_prefers_feasible_local_then_earliest_neighbour() -> None:
    ops = 6e15
    far = cand("c", transfer_s=20.0, hops=2)
    near = cand("b")
    common = dict(job_ops=ops, now_ns=NOW, pat_delay_s=40.0, max_hops=2, stale_s=60.0,
                  margin=0.8)
    # local feasible (50 s <= 0.8 * 100 s): local, without looking further
    c = choose_site(deadline_left_s=100.0, local_finish_s=50.0, candidates=[near], **common)
    assert c.site == "" and c.finish_s == 50.0
    # local too slow: the earliest feasible neighbour
    c = choose_site(deadline_left_s=100.0, local_finish_s=90.0, candidates=[far, near], **common)
    assert c.site == "b" and c.finish_s == pytest.approx(65.5)
    assert c.estimates["c"] == pytest.approx(81.5)
    # equal finish: fewer hops wins, then the name
    twin = cand("a", hops=2)
    c = choose_site(deadline_left_s=100.0, local_finish_s=None, candidates=[twin, near],
                    **common)
    assert c.site == "b"
    # nothing meets 0.8 * deadline: local (its admission decides)
    c = choose_site(deadline_left_s=60.0, local_finish_s=None, candidates=[near, far], **common)
    assert c.site == "" and c.finish_s == math.inf


# ---------------------------------------------------------------------------- codecs
def test_status_and_request_round_trip_and_refuse_garbage() -> None:
    s = status()
    assert decode_status(encode_status(s)) == s
    rng = np.random.default_rng(1)
    x = rng.random((3, 3, 16, 16), dtype=np.float32)
    r = RemoteRequest(7, 2, 4, 1, 99, 3, 123.5, 0.0, 0.0, x)
    back = decode_request(encode_request(r))
    assert back.ticket == 7 and back.tiles == 3 and back.deadline_left_s == 123.5
    assert np.array_equal(back.inputs, x)
    with pytest.raises(ValueError):
        decode_request(encode_request(r)[:-1])  # inputs truncated
    with pytest.raises(ValueError):
        decode_status(encode_status(s)[:-1])
    with pytest.raises(ValueError):
        encode_request(RemoteRequest(7, 2, 4, 1, 99, 2, 1.0, 0.0, 0.0, x))  # shape != tiles


# ---------------------------------------------------------------------------- ledger
def test_ledger_against_a_model_under_random_operations() -> None:
    rng = np.random.default_rng(12)
    ledger = JobLedger()
    model: dict[object, str] = {}  # key -> "open" | outcome name
    finals = dict.fromkeys(Outcome, 0)
    n = opened = instant = 0
    for step in range(3000):
        op = rng.integers(0, 5)
        open_keys = [k for k, v in model.items() if v == "open"]
        if op == 0 or not open_keys:
            key = ("local", n)
            n += 1
            ledger.open_job(key, step * S, int(rng.integers(1, 9)))
            model[key] = "open"
            opened += 1
        elif op == 1:  # a job moves (offloaded, or back to local)
            old = open_keys[int(rng.integers(len(open_keys)))]
            new = ("ticket", n)
            n += 1
            ledger.rekey(old, new)
            model[new] = model.pop(old)
        elif op == 2:
            ledger.reject_new(2)
            finals[Outcome.REJECTED] += 1
            instant += 1
        else:
            key = open_keys[int(rng.integers(len(open_keys)))]
            outcome = Outcome(int(rng.integers(1, 6)))
            assert ledger.close(key, outcome, step * S, met=bool(rng.integers(2)))
            assert not ledger.close(key, Outcome.FAILED, step * S)  # never twice
            model[key] = outcome.name
            finals[outcome] += 1
        assert ledger.conserved()
    assert ledger.counts == finals
    assert ledger.pending == sum(v == "open" for v in model.values())
    assert ledger.submitted == opened + instant
    with pytest.raises(ValueError):
        ledger.open_job(next(iter(ledger.open)), 0)


# ---------------------------------------------------------------------------- two executors
class Node:
    """An executor on its own sim backend, executive and bundle network."""

    def __init__(self, name: str, seed: int, budget_w: float, **cfg: Any) -> None:
        b = open_backend("sim", seed=seed)
        b.create("accelerator", "accel", {"noise_c": 0.0})
        b.create("storage", "nv", {})
        b.create("imager", "imager", {})
        self.seed = seed
        self.clock = SimClock(b.t_ns)
        self.ex = Executive(self.clock, 2.0)
        attach_plant(self.ex, b, 2.0)
        self.net = IslNetwork(name, session=3, rto_ns=S // 2, custody_timeout_ns=5 * S)
        self.comp = ComputeExecutor(
            b.device("accel"), b.device("nv"), b.device("imager"),
            ExecutorConfig(seed=5, **cfg), component_id=40,
        )  # fmt: skip
        self.comp.offload = OffloadManager(
            self.comp, self.net, OffloadConfig(status_period_s=5.0, retries=1, pat_delay_s=5.0)
        )
        self.budget_w = budget_w
        last = [0]

        def net_step(t: int) -> None:
            self.net.step(t, t - last[0])
            last[0] = t
            self.ex.bus.publish(PowerBudget(t, self.budget_w, 0.0, 0.9, 0.3, 100.0))
            self.ex.bus.publish(ThermalThrottle(t, 1.0, "test"))

        self.ex.add_tick_hook(net_step)
        self.ex.add(self.comp, 2.0)
        self.ex.start()


class Pair:
    def __init__(self, *, loss: float = 0.0, helper_depth: int = 32) -> None:
        self.a = Node("a", 3, 0.0)  # no power budget: it cannot compute at all
        self.b = Node("b", 9, 5000.0, queue_depth=helper_depth)
        self.ch = LossyChannel("a", "b", self.a.clock.now_ns, seed=4, loss=loss,
                               rate_bps=1e8, mtu_bytes=8000, latency_ns=10_000_000)
        for n in (self.a, self.b):
            n.net.add_transport(self.ch.end(n.net.name))
            n.net.set_plan([Contact("a", "b", 0, 10**15, 1e8)])

    def run(self, seconds: float, cut: np.random.Generator | None = None) -> None:
        for _ in range(round(seconds)):
            if cut is not None:
                self.ch.set_up(bool(cut.random() > 0.1))
            for n in (self.a, self.b):
                n.ex.run_for(seconds_to_ns(1.0))


def arrive(n: Node, req: JobRequest) -> None:
    assert n.comp.offload is not None
    n.comp.offload.arrive(req, n.clock.now_ns())


def test_a_job_runs_on_the_neighbour_with_the_origins_inputs_and_verified_result() -> None:
    p = Pair()
    p.run(12)  # statuses exchanged
    req = JobRequest(JobKind.SHIP_DETECT, 3, 300.0, Criticality.NORMAL, 21, 3)
    arrive(p.a, req)
    p.run(60)
    led = p.a.comp.ledger
    assert led.counts[Outcome.COMPLETED_REMOTE] == 1 and led.deadline_met == 1
    assert led.offloaded == 1 and led.conserved() and led.pending == 0
    off = p.a.comp.offload
    assert off is not None and off.counters.results_verified == 1
    # the helper ran it under its own admission, outside its own ledger
    assert p.b.comp.ledger.submitted == 0 and p.b.comp.hk.jobs_completed == 1
    # the result equals the NumPy reference on the ORIGIN's scene (inputs travelled)
    (rec,) = p.a.comp.store.results.values()
    x = make_tiles(p.a.seed, 21, 0, 3)
    mask, logits = process_tiles_ref(x, *detector_weights().arrays(), True)
    ref = [(d.tile, d.head, d.row, d.col) for d in find_detections(mask, logits, JobKind.SHIP_DETECT.heads)]
    assert [(d.tile, d.head, d.row, d.col) for d in rec.detections] == ref
    assert ref != [(d.tile, d.head, d.row, d.col) for d in find_detections(
        *process_tiles_ref(make_tiles(p.b.seed, 21, 0, 3), *detector_weights().arrays(), True),
        JobKind.SHIP_DETECT.heads)]  # the helper's own scene would give another answer


def test_a_corrupt_result_is_caught_and_retried() -> None:
    p = Pair()
    p.run(12)
    arrive(p.a, JobRequest(JobKind.SHIP_DETECT, 3, 300.0, Criticality.NORMAL, 21, 2))
    off = p.a.comp.offload
    assert off is not None
    # intercept the helper's reply: flip one bit of the result record on its way
    real = off._on_reply
    flipped: list[int] = []

    def tamper(reply: tuple[Any, int, int, bytes]) -> None:
        kind, ticket, code, record = reply
        if record and not flipped:
            flipped.append(ticket)
            record = record[:10] + bytes([record[10] ^ 0x10]) + record[11:]
        real((kind, ticket, code, record), p.a.clock.now_ns())

    off._on_reply = lambda reply, now: tamper(reply)  # type: ignore[method-assign]
    p.run(90)
    led = p.a.comp.ledger
    assert flipped and off.counters.results_corrupt == 1
    assert off.counters.retries == 1  # sent again (the only neighbour)
    assert led.counts[Outcome.COMPLETED_REMOTE] == 1 and off.counters.results_verified == 1
    assert led.conserved() and led.pending == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_job_conservation_under_link_cuts_loss_and_refusals(seed: int) -> None:
    p = Pair(loss=0.02, helper_depth=2)
    p.run(12)
    rng = np.random.default_rng(seed)
    for k in range(14):
        tiles = int(rng.integers(1, 5))
        arrive(p.a, JobRequest(JobKind.FIRE_DETECT, 3, float(rng.uniform(20, 200)),
                               Criticality(int(rng.integers(0, 3))), 100 + k, tiles))
        p.run(int(rng.integers(1, 8)), cut=rng)
    p.run(240, cut=rng)
    led = p.a.comp.ledger
    off = p.a.comp.offload
    assert off is not None
    c = led.counts
    assert led.submitted == 14 and led.conserved()
    assert sum(c.values()) + led.pending == 14
    assert led.pending == len(off.pending)  # only remote waits can still be open
    # every remote completion came from a verified result; nothing ran locally (no budget)
    assert c[Outcome.COMPLETED_REMOTE] <= off.counters.results_verified
    assert c[Outcome.COMPLETED_LOCAL] == 0 and c[Outcome.COMPLETED_REMOTE] >= 1
    assert off.counters.refusals_received + c[Outcome.REJECTED] >= 1  # the small queue refused
