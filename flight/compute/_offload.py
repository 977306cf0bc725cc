"""Offload of AI jobs to neighbours over the laser links, and the job ledger.

**Job ledger** (:class:`JobLedger`): every job submitted to *this* node (by the ground or
the workload generator; its *origin*) is opened once and closed exactly once, in one final
outcome (:class:`Outcome`): completed locally, completed remotely, missed, rejected or
failed. A job still open when the run ends is ``pending``. Jobs a neighbour asked this node
to run are not in its ledger (they are in the origin's), so the ledgers of a constellation
add up: ``submitted == completed_local + completed_remote + missed + rejected + failed +
pending`` on every node (:meth:`JobLedger.conserved`).

**Status bundles** (:class:`NodeStatus`): every ``status_period_s`` each node sends its
budget to the nodes within ``max_hops``: whether compute is allowed, the sustained rate it
would run at now (ops/s), the accelerator-seconds of work queued, queue length, power budget
and thermal headroom.

**Cost model** (:func:`choose_site`): a job runs where its estimated finish is earliest
among the sites that meet its deadline with ``margin`` of the time left; local first when it
is feasible (no transfer, no dependence on a link). A neighbour's finish is ``now +
transfer(inputs) + PAT delay (the first hop's link is not up) + its queue / its rate +
job ops / its rate + transfer(result)``; a neighbour whose status is stale, whose compute is
not allowed, whose queue is full or whose route is longer than ``max_hops`` is not a
candidate.

**Protocol** (DATA bundles, first octet the message type; big-endian)::

    STATUS  1: t_ns u64, allowed u8, queue u16, queue_depth u16, rate_ops f64, backlog_s f32,
               budget_w f32, thermal_frac f32
    REQUEST 2: ticket u32, kind u8, priority u8, criticality u8, scene u32, tiles u16,
               deadline_left_s f64, max_time_s f32, max_energy_j f32, n_bands u8, tile_px u16,
               inputs float32[tiles, n_bands, tile_px, tile_px]
    REFUSE  3: ticket u32, reason u8
    RESULT  4: ticket u32, state u8, record (the result record blob, CRC-32C last)

The origin verifies the record's CRC-32C (:func:`flight.compute.decode_result`) before it
counts the job completed remotely; a corrupt result is a failure (or a local retry when there
is time). A refusal or a lost request bundle moves the job to the next candidate
(``retries``) or back to the local executor; no result by the deadline is a miss.
"""

from __future__ import annotations

import enum
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from flight.compute._job import Criticality, JobKind, JobRequest, JobState
from flight.compute._store import RecordError, ResultRecord, decode_result, encode_result
from flight.isl import BundleId, BundleKind, IslNetwork, StorageFullError
from flight.messages import LinkStatus
from native.errors import HalError

if TYPE_CHECKING:
    from flight.compute._executor import ComputeExecutor
    from flight.compute._job import Job

__all__ = [
    "Candidate",
    "JobLedger",
    "MsgType",
    "NodeStatus",
    "OffloadConfig",
    "OffloadManager",
    "Outcome",
    "RemoteRequest",
    "SiteChoice",
    "choose_site",
    "decode_reply",
    "decode_request",
    "decode_status",
    "encode_refuse",
    "encode_request",
    "encode_result_msg",
    "encode_status",
    "remote_finish_s",
]

_STATUS = struct.Struct(">BQBHHdfff")
_REQUEST = struct.Struct(">BIBBBIHdffBH")
_REFUSE = struct.Struct(">BIB")
_RESULT = struct.Struct(">BIB")


@enum.unique
class MsgType(enum.IntEnum):
    """First octet of an offload bundle."""

    STATUS = 1
    REQUEST = 2
    REFUSE = 3
    RESULT = 4


@enum.unique
class Outcome(enum.IntEnum):
    """The one final outcome of a job at its origin."""

    COMPLETED_LOCAL = 1
    COMPLETED_REMOTE = 2
    MISSED = 3
    REJECTED = 4
    FAILED = 5


@dataclass(slots=True)
class JobLedger:
    """Open and final jobs of this node's origin (see the module docstring).

    Keys are opaque hashables (the executor uses ``("local", job_id)`` and
    ``("remote", ticket)``); :meth:`close` of an unknown or already closed key is refused
    (returns False), so no job is counted twice.
    """

    submitted: int = 0
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    deadline_met: int = 0
    offloaded: int = 0
    latency_s_sum: float = 0.0  #: capture (submission) to result, completed jobs
    tiles_submitted: int = 0
    tiles_completed: int = 0
    #: open jobs: key -> (submission ns, tiles)
    open: dict[object, tuple[int, int]] = field(default_factory=dict)

    def open_job(self, key: object, t_ns: int, tiles: int = 0) -> None:
        """A job of ``tiles`` tiles is submitted (counted once); ValueError if ``key`` is
        already open."""
        if key in self.open:
            raise ValueError(f"job {key!r} is already open")
        self.open[key] = (t_ns, tiles)
        self.submitted += 1
        self.tiles_submitted += tiles

    def reject_new(self, tiles: int = 0) -> None:
        """A job submitted and refused at once (submitted and rejected, never open)."""
        self.submitted += 1
        self.tiles_submitted += tiles
        self.counts[Outcome.REJECTED] += 1

    def rekey(self, old: object, new: object) -> None:
        """The same job now known by ``new`` (moved between local and remote)."""
        if new in self.open:
            raise ValueError(f"job {new!r} is already open")
        self.open[new] = self.open.pop(old)

    def close(self, key: object, outcome: Outcome, t_ns: int, *, met: bool = False) -> bool:
        """The job's final outcome at ``t_ns`` (met: completed by its deadline)."""
        entry = self.open.pop(key, None)
        if entry is None:
            return False
        t0, tiles = entry
        self.counts[outcome] += 1
        if outcome in (Outcome.COMPLETED_LOCAL, Outcome.COMPLETED_REMOTE):
            self.tiles_completed += tiles
            self.latency_s_sum += max(0, t_ns - t0) / 1e9
            if met:
                self.deadline_met += 1
        return True

    @property
    def pending(self) -> int:
        """Jobs not final yet."""
        return len(self.open)

    def conserved(self) -> bool:
        """Every submitted job is in exactly one final state or pending."""
        return sum(self.counts.values()) + self.pending == self.submitted

    def summary(self) -> dict[str, float | int | bool]:
        """The ``jobs`` part of the compute summary."""
        c = self.counts
        done = c[Outcome.COMPLETED_LOCAL] + c[Outcome.COMPLETED_REMOTE]
        return {
            "jobs_submitted": self.submitted,
            "deadline_met": self.deadline_met,
            "completed_local": c[Outcome.COMPLETED_LOCAL],
            "completed_remote": c[Outcome.COMPLETED_REMOTE],
            "offloaded": self.offloaded,
            "missed": c[Outcome.MISSED],
            "rejected": c[Outcome.REJECTED],
            "failed": c[Outcome.FAILED],
            "pending": self.pending,
            "mean_latency_s": self.latency_s_sum / done if done else 0.0,
            "tiles_submitted": self.tiles_submitted,
            "tiles_completed": self.tiles_completed,
            "conserved": self.conserved(),
        }


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """A node's advertised budget (see the module docstring); ``t_ns`` onboard time."""

    t_ns: int
    allowed: bool
    queue_len: int
    queue_depth: int
    rate_ops: float  #: sustained ops/s it would run new work at now (0: none)
    backlog_s: float  #: accelerator seconds of work queued, at ``rate_ops``
    budget_w: float
    thermal_frac: float  #: thermal cap as a fraction of full accelerator power


def encode_status(s: NodeStatus) -> bytes:
    """The STATUS bundle payload."""
    return _STATUS.pack(
        MsgType.STATUS, s.t_ns, int(s.allowed), min(s.queue_len, 0xFFFF),
        min(s.queue_depth, 0xFFFF), s.rate_ops, s.backlog_s, s.budget_w, s.thermal_frac,
    )  # fmt: skip


def decode_status(data: bytes) -> NodeStatus:
    """Parse a STATUS payload (ValueError if malformed)."""
    if len(data) != _STATUS.size or data[0] != MsgType.STATUS:
        raise ValueError("not a status bundle")
    _, t, allowed, q, depth, rate, backlog, budget, frac = _STATUS.unpack(data)
    if not all(math.isfinite(v) and v >= 0 for v in (rate, backlog, budget, frac)):
        raise ValueError("status: negative or non-finite figures")
    return NodeStatus(t, bool(allowed), q, depth, rate, backlog, budget, frac)


@dataclass(frozen=True, slots=True)
class RemoteRequest:
    """A job as a neighbour receives it: the request and its input tiles."""

    ticket: int
    kind: int
    priority: int
    criticality: int
    scene_id: int
    tiles: int
    deadline_left_s: float
    max_time_s: float
    max_energy_j: float
    inputs: NDArray[np.float32]


def encode_request(r: RemoteRequest) -> bytes:
    """The REQUEST bundle payload (inputs as big-endian float32)."""
    n, bands, px, _ = r.inputs.shape
    if n != r.tiles:
        raise ValueError(f"request: {n} input tiles for a job of {r.tiles}")
    head = _REQUEST.pack(
        MsgType.REQUEST, r.ticket, r.kind, r.priority, r.criticality, r.scene_id, r.tiles,
        r.deadline_left_s, r.max_time_s, r.max_energy_j, bands, px,
    )  # fmt: skip
    return head + np.ascontiguousarray(r.inputs, dtype=">f4").tobytes()


def decode_request(data: bytes) -> RemoteRequest:
    """Parse a REQUEST payload (ValueError if malformed)."""
    if len(data) < _REQUEST.size or data[0] != MsgType.REQUEST:
        raise ValueError("not a request bundle")
    f = _REQUEST.unpack_from(data)
    tiles, bands, px = f[6], f[10], f[11]
    body = data[_REQUEST.size :]
    if tiles < 1 or bands < 1 or px < 1 or len(body) != 4 * tiles * bands * px * px:
        raise ValueError("request: input size does not match its shape")
    if not (math.isfinite(f[7]) and f[7] > 0):
        raise ValueError("request: deadline already passed")
    inputs = np.frombuffer(body, dtype=">f4").astype(np.float32).reshape(tiles, bands, px, px)
    return RemoteRequest(f[1], f[2], f[3], f[4], f[5], tiles, f[7], f[8], f[9], inputs)


def encode_refuse(ticket: int, reason: int) -> bytes:
    """The REFUSE bundle payload."""
    return _REFUSE.pack(MsgType.REFUSE, ticket, reason & 0xFF)


def encode_result_msg(ticket: int, state: int, record: bytes) -> bytes:
    """The RESULT bundle payload: the ticket, the final state and the result record."""
    return _RESULT.pack(MsgType.RESULT, ticket, state) + record


def decode_reply(data: bytes) -> tuple[MsgType, int, int, bytes]:
    """(type, ticket, state or reason, record) of a REFUSE or RESULT payload."""
    if len(data) < _RESULT.size or data[0] not in (MsgType.REFUSE, MsgType.RESULT):
        raise ValueError("not a reply bundle")
    kind, ticket, code = _RESULT.unpack_from(data)
    return MsgType(kind), ticket, code, data[_RESULT.size :]


# ------------------------------------------------------------------------- cost model
@dataclass(frozen=True, slots=True)
class Candidate:
    """A neighbour as the cost model sees it (seconds from now)."""

    name: str
    status: NodeStatus
    transfer_s: float  #: inputs there (route's earliest arrival, waiting for contacts included)
    return_s: float  #: the result back
    hops: int
    link_up: bool  #: the first hop's link is up now (else a PAT delay is added)


@dataclass(frozen=True, slots=True)
class SiteChoice:
    """The decision for one job: ``site`` ("" = local, else the neighbour), its estimated
    finish (s from now), and every candidate's estimate (None: not a candidate)."""

    site: str
    finish_s: float
    estimates: Mapping[str, float | None]


def remote_finish_s(
    c: Candidate, job_ops: float, *, pat_delay_s: float, max_hops: int, stale_s: float,
    now_ns: int,
) -> float | None:  # fmt: skip
    """Estimated seconds from now until the result of ``job_ops`` run at ``c`` is back
    here, or None when ``c`` cannot take it (stale status, compute not allowed, no rate,
    queue full, too many hops, no route)."""
    s = c.status
    if (now_ns - s.t_ns) / 1e9 > stale_s or not s.allowed or s.rate_ops <= 0.0:
        return None
    if s.queue_len >= s.queue_depth or c.hops > max_hops or c.hops < 1:
        return None
    if not (math.isfinite(c.transfer_s) and math.isfinite(c.return_s)):
        return None
    pat = 0.0 if c.link_up else pat_delay_s
    return c.transfer_s + pat + s.backlog_s + job_ops / s.rate_ops + c.return_s


def choose_site(
    *,
    job_ops: float,
    deadline_left_s: float,
    local_finish_s: float | None,
    candidates: Sequence[Candidate],
    now_ns: int,
    pat_delay_s: float = 40.0,
    max_hops: int = 2,
    stale_s: float = 90.0,
    margin: float = 0.8,
) -> SiteChoice:
    """Where a job of ``job_ops`` (all replicas) with ``deadline_left_s`` should run.

    ``local_finish_s``: the local estimate (None: local compute unavailable). A site is
    feasible when its finish is at most ``margin * deadline_left_s``. Local wins when it is
    feasible; otherwise the feasible neighbour with the earliest finish (ties: fewer hops,
    then name); with no feasible site, local (its admission then decides).
    """
    est: dict[str, float | None] = {}
    limit = margin * deadline_left_s
    if local_finish_s is not None and local_finish_s <= limit:
        return SiteChoice("", local_finish_s, est)
    best: tuple[float, int, str] | None = None
    for c in candidates:
        f = remote_finish_s(
            c, job_ops, pat_delay_s=pat_delay_s, max_hops=max_hops, stale_s=stale_s,
            now_ns=now_ns,
        )  # fmt: skip
        est[c.name] = f
        if f is not None and f <= limit:
            key = (f, c.hops, c.name)
            if best is None or key < best:
                best = key
    if best is None:
        return SiteChoice("", local_finish_s if local_finish_s is not None else math.inf, est)
    return SiteChoice(best[2], best[0], est)



# ------------------------------------------------------------------------- the manager
@dataclass(frozen=True, slots=True)
class OffloadConfig:
    """The offload keys of ``[compute]`` (see :class:`flight.compute.ComputeConfig`)."""

    status_period_s: float = 30.0
    max_hops: int = 2
    retries: int = 1
    pat_delay_s: float = 40.0  #: expected acquisition when the first hop's link is down
    margin: float = 0.8  #: a site is feasible when it finishes within this of the time left
    result_lifetime_s: float = 900.0


@dataclass(slots=True)
class _Remote:
    """An origin job sent to a neighbour, awaiting its result."""

    ticket: int
    req: JobRequest
    arrival_ns: int
    deadline_ns: int
    job_ops: float
    inputs: NDArray[np.float32]
    site: str = ""
    bundle: BundleId | None = None
    tried: list[str] = field(default_factory=list)


@dataclass(slots=True)
class OffloadCounters:
    """What the manager did (the ``offload`` summary section)."""

    status_sent: int = 0
    status_received: int = 0
    requests_sent: int = 0
    refusals_received: int = 0
    retries: int = 0
    local_fallbacks: int = 0
    lost_requests: int = 0
    results_verified: int = 0
    results_corrupt: int = 0
    late_results: int = 0
    timeouts: int = 0
    served_accepted: int = 0
    served_refused: int = 0
    served_returned: int = 0
    bad_bundles: int = 0
    send_errors: int = 0


class OffloadManager:
    """Offload at the origin and service for neighbours (see the module docstring).

    Driven by the executor: :meth:`arrive` for each new job, :meth:`step` every executor
    cycle, :meth:`served_final` when a job run for a neighbour ends.
    """

    def __init__(
        self, executor: ComputeExecutor, network: IslNetwork, config: OffloadConfig
    ) -> None:
        self.ex = executor
        self.net = network
        self.cfg = config
        self.peers: dict[str, NodeStatus] = {}
        self.pending: dict[int, _Remote] = {}
        self.served: dict[int, tuple[str, int]] = {}  #: local job id -> (origin, ticket)
        self.counters = OffloadCounters()
        self._by_bundle: dict[BundleId, int] = {}
        self._next_ticket = 1
        self._next_status_ns = 0

    # -- origin side ---------------------------------------------------------------------
    def arrive(self, req: JobRequest, now: int) -> None:
        """Place a new job: local when feasible, else the best neighbour, else local."""
        ex = self.ex
        ticket = self._next_ticket
        self._next_ticket += 1
        key = ("ticket", ticket)
        ex.ledger.open_job(key, now, req.tiles)
        job_ops, local_s = ex.local_estimate(req)
        inputs = None
        choice = SiteChoice("", 0.0, {})
        if local_s is None or local_s > self.cfg.margin * req.deadline_s:
            inputs = self._inputs(req)
            if inputs is not None:
                choice = self._choose(job_ops, req.deadline_s, local_s, inputs.nbytes, (), now)
        if choice.site and self._offload(ticket, req, job_ops, inputs, choice.site, now):
            return
        if self._local(key, req, now, final=False):
            return
        # refused here (queue, deadline, compute unavailable): the best neighbour, if any
        if inputs is None:
            inputs = self._inputs(req)
        if inputs is not None:
            choice = self._choose(job_ops, req.deadline_s, None, inputs.nbytes, (), now)
            if choice.site and self._offload(ticket, req, job_ops, inputs, choice.site, now):
                return
        ex.ledger.close(key, Outcome.REJECTED, now)

    def _offload(
        self, ticket: int, req: JobRequest, job_ops: float, inputs: NDArray[np.float32] | None,
        site: str, now: int,
    ) -> bool:  # fmt: skip
        assert inputs is not None
        rec = _Remote(ticket, req, now, now + round(req.deadline_s * 1e9), job_ops, inputs)
        if not self._send(rec, site, now):
            return False
        self.ex.ledger.offloaded += 1
        return True

    def _local(self, key: object, req: JobRequest, now: int, *, final: bool = True) -> bool:
        """Admit ``req`` here; refused: REJECTED when ``final`` (else left open)."""
        adm = self.ex.admit(req)
        if adm.accepted:
            self.ex.ledger.rekey(key, ("local", adm.job_id))
            return True
        if final:
            self.ex.ledger.close(key, Outcome.REJECTED, now)
        return False

    def _inputs(self, req: JobRequest) -> NDArray[np.float32] | None:
        try:
            return np.asarray(
                self.ex.imager.read_tiles(req.scene_id, 0, req.tiles).bands, dtype=np.float32
            )
        except HalError:
            return None

    def _link_peer(self) -> str:
        st = self.ex.bus.latest(LinkStatus)
        return st.peer if st is not None and st.link_up else ""

    def _choose(
        self, job_ops: float, left_s: float, local_s: float | None, size: int,
        exclude: Sequence[str], now: int,
    ) -> SiteChoice:  # fmt: skip
        up = self._link_peer()
        cands: list[Candidate] = []
        for name, status in sorted(self.peers.items()):
            if name in exclude:
                continue
            there = self.net.route(name, size + 64)
            if there is None or there.hops > self.cfg.max_hops:
                continue
            back = self.net.route(name, 4096)
            back_s = (back.arrival_ns - now) / 1e9 if back is not None else math.inf
            cands.append(
                Candidate(name, status, (there.arrival_ns - now) / 1e9, back_s, there.hops,
                          there.next_hop == up)
            )  # fmt: skip
        return choose_site(
            job_ops=job_ops, deadline_left_s=left_s, local_finish_s=local_s, candidates=cands,
            now_ns=now, pat_delay_s=self.cfg.pat_delay_s, max_hops=self.cfg.max_hops,
            stale_s=3.0 * self.cfg.status_period_s, margin=self.cfg.margin,
        )  # fmt: skip

    def _send(self, rec: _Remote, site: str, now: int) -> bool:
        left_s = (rec.deadline_ns - now) / 1e9
        if left_s <= 0:
            return False
        r = rec.req
        payload = encode_request(
            RemoteRequest(rec.ticket, int(r.kind), r.priority, int(r.criticality), r.scene_id,
                          r.tiles, left_s, r.max_time_s, r.max_energy_j, rec.inputs)
        )  # fmt: skip
        try:
            bid = self.net.send(
                site, payload, priority=min(3, 1 + r.priority // 3), lifetime_ns=rec.deadline_ns - now
            )
        except (StorageFullError, ValueError):
            self.counters.send_errors += 1
            return False
        rec.site, rec.bundle = site, bid
        st = self.peers.get(site)
        if st is not None and st.rate_ops > 0.0:
            # until its next status, count the job in the neighbour's queue ourselves
            self.peers[site] = replace(
                st, queue_len=st.queue_len + 1, backlog_s=st.backlog_s + rec.job_ops / st.rate_ops
            )
        rec.tried.append(site)
        self.pending[rec.ticket] = rec
        self._by_bundle[bid] = rec.ticket
        self.counters.requests_sent += 1
        return True

    def _retry(self, rec: _Remote, now: int, *, refused: bool) -> None:
        """A refusal (the next neighbour), a lost request or a corrupt result (any
        neighbour, the same one included) while retries last; else local, else final."""
        self.pending.pop(rec.ticket, None)
        if rec.bundle is not None:
            self._by_bundle.pop(rec.bundle, None)
        key = ("ticket", rec.ticket)
        left_s = (rec.deadline_ns - now) / 1e9
        if left_s <= 0:
            self.ex.ledger.close(key, Outcome.MISSED, now)
            return
        if len(rec.tried) <= self.cfg.retries:
            exclude = rec.tried if refused else ()
            choice = self._choose(rec.job_ops, left_s, None, rec.inputs.nbytes, exclude, now)
            if choice.site and self._send(rec, choice.site, now):
                self.counters.retries += 1
                return
        self.counters.local_fallbacks += 1
        self._local(key, replace(rec.req, deadline_s=left_s), now)

    # -- the cycle -------------------------------------------------------------------------
    def step(self, now: int) -> None:
        """Status broadcast, received bundles, lost requests, deadlines."""
        if now >= self._next_status_ns:
            self._broadcast(now)
            self._next_status_ns = now + round(self.cfg.status_period_s * 1e9)
        while True:
            d = self.net.receive(BundleKind.DATA)
            if d is None:
                break
            try:
                self._on_bundle(d.bundle.source, d.payload, d.created_ns, now)
            except ValueError:
                self.counters.bad_bundles += 1
        for lost in self.net.take_lost():
            ticket = self._by_bundle.pop(lost.bundle, None)
            rec = self.pending.get(ticket) if ticket is not None else None
            if rec is not None and rec.bundle == lost.bundle:
                self.counters.lost_requests += 1
                self._retry(rec, now, refused=False)
        for rec in [r for r in self.pending.values() if r.deadline_ns < now]:
            self.counters.timeouts += 1
            self.pending.pop(rec.ticket)
            self.ex.ledger.close(("ticket", rec.ticket), Outcome.MISSED, now)

    def _broadcast(self, now: int) -> None:
        payload = encode_status(self.ex.status(now))
        life = round(2 * self.cfg.status_period_s * 1e9)
        for name in self.net.known:
            r = self.net.route(name, len(payload) + 64)
            if r is None or r.hops > self.cfg.max_hops:
                continue
            try:
                self.net.send(name, payload, priority=0, lifetime_ns=life)
            except (StorageFullError, ValueError):
                self.counters.send_errors += 1
                continue
            self.counters.status_sent += 1

    def _on_bundle(self, src: str, payload: bytes, created_ns: int, now: int) -> None:
        if not payload:
            raise ValueError("empty bundle")
        kind = payload[0]
        if kind == MsgType.STATUS:
            self.peers[src] = decode_status(payload)
            self.counters.status_received += 1
        elif kind == MsgType.REQUEST:
            self._serve(src, decode_request(payload), created_ns, now)
        elif kind in (MsgType.REFUSE, MsgType.RESULT):
            self._on_reply(decode_reply(payload), now)
        else:
            raise ValueError(f"unknown offload message {kind}")

    def _on_reply(self, reply: tuple[MsgType, int, int, bytes], now: int) -> None:
        kind, ticket, code, record = reply
        rec = self.pending.get(ticket)
        if rec is None:
            self.counters.late_results += int(kind is MsgType.RESULT)
            return
        if kind is MsgType.REFUSE:
            self.counters.refusals_received += 1
            self._retry(rec, now, refused=True)
            return
        try:
            res = decode_result(record)  # checks the record's CRC-32C
        except RecordError:
            self.counters.results_corrupt += 1
            self._retry(rec, now, refused=False)
            return
        self.counters.results_verified += 1
        self.pending.pop(ticket)
        if rec.bundle is not None:
            self._by_bundle.pop(rec.bundle, None)
        key = ("ticket", ticket)
        state = JobState(code) if code in JobState._value2member_map_ else JobState.FAILED
        if state is JobState.COMPLETED:
            met = now <= rec.deadline_ns
            self.ex.ledger.close(key, Outcome.COMPLETED_REMOTE, now, met=met)
            self.ex.store_remote_result(
                replace(res, job_id=self.ex.allocate_id(), t_submit_ns=rec.arrival_ns,
                        t_done_ns=now, deadline_ns=rec.deadline_ns, deadline_met=met)
            )  # fmt: skip
        elif state is JobState.MISSED:
            self.ex.ledger.close(key, Outcome.MISSED, now)
        else:
            self.ex.ledger.close(key, Outcome.FAILED, now)

    # -- neighbour side --------------------------------------------------------------------
    def _serve(self, src: str, r: RemoteRequest, created_ns: int, now: int) -> None:
        """Run a neighbour's job under this node's own admission control."""
        left_s = r.deadline_left_s - max(0, now - created_ns) / 1e9
        try:
            req = JobRequest(JobKind(r.kind), r.priority, left_s, Criticality(r.criticality),
                             r.scene_id, r.tiles, r.max_time_s, r.max_energy_j)  # fmt: skip
        except ValueError:
            req = None
        if req is None or left_s <= 0 or r.inputs.shape[-1] != self.ex.config.tile_px:
            self._refuse(src, r.ticket, 6, now)
            return
        adm = self.ex.admit(req, inputs=r.inputs)
        if not adm.accepted:
            self._refuse(src, r.ticket, int(adm.reason or 0), now)
            return
        self.counters.served_accepted += 1
        self.served[adm.job_id] = (src, r.ticket)

    def _refuse(self, src: str, ticket: int, reason: int, now: int) -> None:
        self.counters.served_refused += 1
        try:
            self.net.send(src, encode_refuse(ticket, reason), priority=2,
                          lifetime_ns=round(self.cfg.result_lifetime_s * 1e9))  # fmt: skip
        except (StorageFullError, ValueError):
            self.counters.send_errors += 1

    def served_final(self, job: Job) -> None:
        """A job run for a neighbour ended: its result record goes back to the origin."""
        origin = self.served.pop(job.job_id, None)
        if origin is None:
            return
        src, ticket = origin
        blob = encode_result(ResultRecord.from_job(job))
        try:
            self.net.send(src, encode_result_msg(ticket, int(job.state), blob), priority=2,
                          lifetime_ns=round(self.cfg.result_lifetime_s * 1e9))  # fmt: skip
        except (StorageFullError, ValueError):
            self.counters.send_errors += 1
            return
        self.counters.served_returned += 1

    def summary(self) -> dict[str, int]:
        """The ``offload`` section of the compute summary."""
        c = self.counters
        out = {name: getattr(c, name) for name in c.__dataclass_fields__}
        out["pending_remote"] = len(self.pending)
        out["serving"] = len(self.served)
        out["peers_known"] = len(self.peers)
        return out

