"""Job conservation at node level under random faults, on small constellations of whole nodes
(flight stack, sim backend, parameter store each) sharing one universe and optical channel.

Faults: accelerator hangs and bit errors, laser loss of lock (the scenario's terminal fault),
processor resets (a watchdog expiry), in any mix and at random times (hypothesis). After the
run every node's ledger must add up, and its open jobs must be exactly the work still alive
on that node (its queued jobs and its offloaded jobs awaiting a result): the executor's own
tables are the independent oracle of ``pending``, so a job lost by a reset (or counted twice)
shows. Every remote completion must come from a verified result, and every result for a
ticket no longer awaited is counted.

Also: a node three hops from nothing but gossip learns its far neighbour's status (status
reach), and the NV journal's codec round-trips and refuses damage.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flight.compute import (
    ComputeApp,
    Criticality,
    JobKind,
    JobLedger,
    JobRequest,
    NodeStatus,
    Outcome,
    PendingRemote,
    decode_journal,
    decode_status_digest,
    encode_journal,
    encode_status_digest,
)
from flight.testing import build_node, node_config
from hal.sim import OpticalChannel
from hal.sim.world import SpacecraftSpec, Universe, WorldConfig

R_E = 6378137.0
ALT = 550e3
S = 1_000_000_000


def _elements(arg_lat_deg: float) -> tuple[float, ...]:
    return (R_E + ALT, 0.0, math.radians(53.0), 0.0, 0.0, math.radians(arg_lat_deg))


def _isl_keys(arg_lat_deg: float) -> dict[str, float]:
    return {"altitude_km": ALT / 1e3, "inclination_deg": 53.0, "raan_deg": 0.0,
            "arg_lat_deg": arg_lat_deg}


BUSY = {
    "mean_interarrival_s": 6.0,
    "classes": {
        "alert": {"kind": "fire_detect", "weight": 1.0, "tiles": [2, 6],
                  "deadline_s": [60.0, 240.0], "priority": 5, "correct_frac": 0.3},
    },
}


class Cluster:
    """Whole nodes in one plane ``spacing_deg`` apart: ``n1`` busy and short of compute,
    the others idle. ``chain``: only consecutive nodes may link (``n1`` reaches ``n3`` in
    two hops)."""

    def __init__(self, tmp: Path, n: int = 3, *, spacing_deg: float = 12.0, chain: bool = False,
                 seed: int = 1, scenarios: dict[str, str] | None = None,
                 offload: dict[str, Any] | None = None) -> None:
        names = [f"n{k + 1}" for k in range(n)]
        lat = {name: k * spacing_deg for k, name in enumerate(names)}
        self.universe = Universe(
            WorldConfig(), seed,
            {name: SpacecraftSpec(elements=_elements(lat[name])) for name in names},
        )
        self.channel = OpticalChannel()
        self.nodes: dict[str, Any] = {}
        try:
            self._build(tmp, names, lat, chain, seed, scenarios or {}, offload or {})
        except BaseException:
            self.close()
            raise

    def _build(self, tmp: Path, names: list[str], lat: dict[str, float], chain: bool,
               seed: int, scenarios: dict[str, str], offload: dict[str, Any]) -> None:
        for k, name in enumerate(names):
            peers = []
            for j, other in enumerate(names):
                if other == name:
                    continue
                peers.append({"name": other, "link": not chain or abs(j - k) == 1,
                              **_isl_keys(lat[other])})
            compute: dict[str, Any] = {
                "offload": True, "offload_status_s": 10.0, "offload_retries": 1,
                "workload": BUSY if name == "n1" else {"enabled": False},
                **offload,
            }
            if name == "n1":
                compute["default_compute_w"] = 0.0  # n1's accelerator cannot keep up
            cfg = node_config(
                {
                    "node": {"name": name, "seed": seed * 1009 + k, "apid": 100 + k},
                    "isl": {"node": name, "peers": peers, **_isl_keys(lat[name])},
                    "compute": compute,
                    "params": {"file": f"params-{name}.bin"},
                },
                apps=["edac", "compute", "isl"],
            )
            (tmp / name).mkdir(parents=True, exist_ok=True)
            self.nodes[name] = build_node(
                tmp / name, cfg, scenario=scenarios.get(name),
                hal_options={"universe": self.universe, "spacecraft": name,
                             "optical_channel": self.channel},
            )

    def advance(self, seconds: float, resets: dict[int, list[str]] | None = None) -> None:
        """Lock-step in 1 s slices; ``resets[second]`` names nodes whose watchdog is made to
        expire then (armed with the shortest timeout: the next plant step finds it expired
        and the node resets the flight computer)."""
        for t in range(round(seconds)):
            for name in (resets or {}).get(t, []):
                self.nodes[name].watchdog.arm(0.01)
            for node in self.nodes.values():
                node.advance(1.0)

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()

    def app(self, name: str) -> ComputeApp:
        app = self.nodes[name].apps["compute"]
        assert isinstance(app, ComputeApp)
        return app


def check_conservation(c: Cluster, extra_submitted: int = 0) -> dict[str, int]:
    """Every node's ledger adds up and its open jobs are exactly its live work;
    ``extra_submitted``: jobs the test submitted itself besides the workload generators."""
    total = dict.fromkeys(("submitted", "final", "pending", "remote_done", "verified"), 0)
    for name, node in c.nodes.items():
        ex = c.app(name).executor
        led, off = ex.ledger, ex.offload
        assert off is not None
        assert led.conserved(), (name, led.summary())
        # the oracle of `pending`: the executor's and the offload manager's own tables
        live_local = {("local", j) for j in ex.jobs if j not in off.served}
        live_remote = {("ticket", t) for t in off.pending}
        assert set(led.open) == live_local | live_remote, (name, led.open, live_local,
                                                           live_remote)
        assert not set(off.served) - set(ex.jobs)  # a served job is a queued job here
        assert led.counts[Outcome.COMPLETED_REMOTE] <= off.counters.results_verified
        assert off.counters.late_verified <= off.counters.late_results
        total["submitted"] += led.submitted
        total["final"] += sum(led.counts.values())
        total["pending"] += led.pending
        total["remote_done"] += led.counts[Outcome.COMPLETED_REMOTE]
        total["verified"] += off.counters.results_verified
        assert node.summary()["compute"]["jobs"]["conserved"] is True
    assert total["final"] + total["pending"] == total["submitted"]
    # counted once, at the origin: as many as the workloads generated (no ground submissions),
    # so a neighbour's job a reset turned into one of the helper's own would show
    gens = [c.app(n).generator for n in c.nodes]
    generated = sum(g.generated for g in gens if g is not None)
    assert total["submitted"] == generated + extra_submitted
    return total


# ------------------------------------------------------------------------ the journal codec
def test_journal_round_trips_and_refuses_damage() -> None:
    led = JobLedger()
    led.open_job(("local", 7), 3 * S, 4, 90 * S)
    led.open_job(("ticket", 12), 5 * S, 2, 80 * S)
    led.open_job(("ticket", 13), 6 * S, 3, 70 * S)
    led.reject_new(2)
    led.close(("ticket", 13), Outcome.COMPLETED_REMOTE, 40 * S, met=True)
    req = JobRequest(JobKind.SHIP_DETECT, 4, 75.0, Criticality.DETECT, 99, 2, 10.0, 500.0)
    rec = PendingRemote(12, req, 5 * S, 80 * S, 3.5e15, None, "n3", None, ["n2", "n3"],
                        20 * S, 50 * S)
    body = encode_journal(led, [rec], 513)
    j = decode_journal(body)
    assert j.ticket_hwm == 513
    assert j.ledger.open == led.open and j.ledger.counts == led.counts
    assert (j.ledger.submitted, j.ledger.deadline_met, j.ledger.tiles_completed) == (4, 1, 3)
    assert j.ledger.latency_s_sum == led.latency_s_sum
    (back,) = j.remotes
    assert (back.ticket, back.req, back.tried, back.site) == (12, req, ["n2", "n3"], "n3")
    assert (back.arrival_ns, back.deadline_ns, back.sent_ns, back.expect_ns) == (
        5 * S, 80 * S, 20 * S, 50 * S)
    for bad in (body[:-1], body + b"\0", b"XXXX" + body[4:]):
        with pytest.raises(ValueError):
            decode_journal(bad)
    # totals that do not add up are refused (a journal is never half-believed)
    led.counts[Outcome.FAILED] += 1
    with pytest.raises(ValueError, match="add up"):
        decode_journal(encode_journal(led, [], 1))
    with pytest.raises(ValueError):
        encode_journal(JobLedger(open={"odd-key": (0, 0, 0)}), [], 1)


def test_status_digest_round_trips() -> None:
    own = NodeStatus(9 * S, True, 2, 32, 4e14, 12.5, 800.0, 0.75)
    far = NodeStatus(7 * S, False, 0, 16, 0.0, 0.0, 0.0, 0.5)
    data = encode_status_digest(own, [("n3", 1, far), ("n4", 2, own)])
    assert decode_status_digest(data) == (own, [("n3", 1, far), ("n4", 2, own)])
    assert decode_status_digest(encode_status_digest(own, [])) == (own, [])
    for bad in (data[:-1], data + b"\0"):
        with pytest.raises(ValueError):
            decode_status_digest(bad)


# ------------------------------------------------------------------------ whole nodes
def test_a_reset_keeps_the_ledger_and_the_neighbours_jobs(tmp_path: Path) -> None:
    """A processor reset of the busy origin mid-run and of a helper: nothing is lost, every
    job is still accounted for, neighbours' jobs resume on the origin's inputs."""
    c = Cluster(tmp_path)
    try:
        c.advance(150)
        n1, n2 = c.app("n1").executor, c.app("n2").executor
        assert n1.offload is not None and n1.ledger.offloaded > 0
        before = n1.ledger.summary()
        c.advance(60, resets={0: ["n1"], 30: ["n2"]})
        assert [r["reason"] for r in c.nodes["n1"].resets] == ["WATCHDOG"]
        assert [r["reason"] for r in c.nodes["n2"].resets] == ["WATCHDOG"]
        after = n1.ledger
        # nothing counted before the reset was forgotten
        assert after.submitted >= int(before["jobs_submitted"])
        for k in ("completed_local", "completed_remote", "missed", "rejected", "failed"):
            assert after.summary()[k] >= before[k], k
        assert n1.persistence["boots"] == 2 and n2.persistence["boots"] == 2
        assert n1.persistence["journal_writes"] > 0
        # the helper was running n1's jobs when it reset: they resumed on n1's inputs
        assert n2.persistence["served_restored"] >= 1
        assert n1.persistence["remote_restored"] >= 1  # n1 still waits for its offloads
        c.advance(240)
        check_conservation(c)
        off = n1.offload
        assert off.counters.results_verified > 0 and off.counters.results_corrupt == 0
    finally:
        c.close()


def _scenario(faults: list[tuple[str, float, str, float | None]]) -> str:
    out = []
    for kind, at_s, target, duration in faults:
        out.append(f'[[fault]]\nat_s = {at_s}\nkind = "{kind}"\ntarget = "{target}"\n')
        if duration is not None:
            out.append(f"duration_s = {duration}\n")
    return "".join(out)


_FAULT = st.sampled_from(["hang", "bits", "lock", "reset"])


@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    faults=st.lists(
        st.tuples(_FAULT, st.sampled_from(["n1", "n2", "n3"]), st.integers(20, 260),
                  st.integers(5, 60)),
        min_size=2, max_size=6,
    ),
    seed=st.integers(1, 50),
)
def test_job_conservation_under_random_faults(tmp_path_factory: pytest.TempPathFactory,
                                              faults: list[tuple[str, str, int, int]],
                                              seed: int) -> None:
    tmp = tmp_path_factory.mktemp("faults")
    per_node: dict[str, list[tuple[str, float, str, float | None]]] = {}
    resets: dict[int, list[str]] = {}
    for kind, node, at, dur in faults:
        if kind == "reset":
            resets.setdefault(at, []).append(node)
        elif kind == "hang":
            per_node.setdefault(node, []).append(("accelerator_hang", at, "accel", None))
        elif kind == "bits":
            per_node.setdefault(node, []).append(("accelerator_bit_errors", at, "accel", dur))
        else:
            per_node.setdefault(node, []).append(("laser_loss_of_lock", at, "lct1", dur))
    c = Cluster(tmp, seed=seed, scenarios={n: _scenario(f) for n, f in per_node.items()})
    try:
        c.advance(300, resets=resets)
        total = check_conservation(c)
        assert total["submitted"] > 0
        for name in resets.get(0, []):
            assert c.nodes[name].resets
    finally:
        c.close()


def test_status_reaches_two_hops_through_the_digest(tmp_path: Path) -> None:
    """A chain n1 - n2 - n3 (n1 and n3 never link; n2's terminal serves one at a time, 300 s
    each at most): n1 learns n3's status through n2's digest, two hops away."""
    c = Cluster(tmp_path, chain=True, spacing_deg=10.0)
    try:
        pat1 = c.nodes["n1"].apps["isl"].component.pat
        assert set(pat1.peers) == {"n2"}  # n3 is never linked from n1
        c.advance(700)
        off = c.app("n1").executor.offload
        assert off is not None
        assert off.peer_hops.get("n3") == 2 and off.counters.status_relayed > 0
        assert off.peers["n3"].queue_depth == c.app("n3").executor.config.queue_depth
        assert c.nodes["n1"].summary()["compute"]["offload"]["peers_beyond_one_hop"] == 1
        # n3 hears of n1 the same way
        off3 = c.app("n3").executor.offload
        assert off3 is not None and off3.peer_hops.get("n1") == 2
        check_conservation(c)
    finally:
        c.close()


def test_late_result_falls_back_locally_and_the_late_result_is_counted(tmp_path: Path) -> None:
    """A job offloaded to a neighbour whose result is held up past its estimate runs at the
    origin once that meets the deadline; the neighbour's result, when it comes, is counted
    late and changes nothing."""
    c = Cluster(tmp_path, n=2, offload={"workload": {"enabled": False}})
    try:
        c.advance(60)
        o = c.app("n1").executor
        off = o.offload
        assert off is not None and "n2" in off.peers
        # n1 cannot compute (no budget): the job goes to n2
        off.arrive(JobRequest(JobKind.SHIP_DETECT, 4, 400.0, Criticality.NORMAL, 5, 3),
                   o.clock.now_ns())
        (rec,) = off.pending.values()
        assert rec.site == "n2" and rec.expect_ns > rec.sent_ns
        # the link is held down (both terminals told not to serve it): the result is late
        for name in ("n1", "n2"):
            c.nodes[name].apps["isl"].component.cmd_disable_peer(0)
        o.config = dataclasses.replace(o.config, default_compute_w=3000.0)  # n1 can compute
        late_s = off.cfg.late_factor * (rec.expect_ns - rec.sent_ns) / S
        c.advance(math.ceil(late_s) + 5)
        assert off.counters.early_fallbacks == 1 and not off.pending
        assert ("ticket", rec.ticket) not in o.ledger.open
        for name in ("n1", "n2"):
            c.nodes[name].apps["isl"].component.cmd_enable_peer(0)
        c.advance(300)
        led = o.ledger
        assert led.counts[Outcome.COMPLETED_LOCAL] == 1
        assert led.counts[Outcome.COMPLETED_REMOTE] == 0 and led.submitted == 1
        assert off.counters.late_results == 1 and off.counters.late_verified == 1
        check_conservation(c, extra_submitted=1)
    finally:
        c.close()


def test_random_seeds_give_reproducible_totals(tmp_path: Path) -> None:
    """The same seed twice gives the same ledgers (resets and faults included)."""
    scen = {"n2": _scenario([("accelerator_hang", 40.0, "accel", None)])}
    out = []
    for k in range(2):
        c = Cluster(tmp_path / str(k), seed=4, scenarios=scen)
        try:
            c.advance(150, resets={70: ["n1"]})
            out.append({n: c.app(n).executor.ledger.summary() for n in c.nodes})
        finally:
            c.close()
    assert out[0] == out[1]
    assert np.isfinite(out[0]["n1"]["mean_latency_s"])
