"""Offload of AI jobs to neighbours over the laser links, and the job ledger.

**Job ledger** (:class:`JobLedger`): every job submitted to *this* node (by the ground or
the workload generator; its *origin*) is opened once and closed exactly once, in one final
outcome (:class:`Outcome`): completed locally, completed remotely, missed, rejected or
failed. A job still open when the run ends is ``pending``. Jobs a neighbour asked this node
to run are not in its ledger (they are in the origin's), so the ledgers of a constellation
add up: ``submitted == completed_local + completed_remote + missed + rejected + failed +
pending`` on every node (:meth:`JobLedger.conserved`).

**Across a processor reset** the ledger is kept in NV storage as a journal
(:func:`encode_journal`): its counts, its open jobs (with their submission time, tiles and
deadline), the offloaded jobs awaiting a result (request, site, expected result time) and a
ticket high-water mark. The executor rewrites it (atomically, with a CRC-32C) at the end of
every cycle that changed it, and at boot reconciles it with the records that are
authoritative for each job (:meth:`ComputeExecutor.on_init`): an open local job resumes from
its checkpoint, or was completed (its stored result), or is counted ``failed`` (``missed``
past its deadline); an offloaded job waits for its result again (its inputs are read again
from the imager if they are needed); a checkpointed job the journal does not know (admitted
in the cycle the reset cut short) is opened. Tickets are leased in blocks above the persisted
high-water mark, so no ticket is reused after a reset and an old result never matches a new
job. A result or refusal for a ticket this node no longer waits for (it timed out, fell back
to local, or the reset's reconciliation closed it) is counted (``late_results``,
``late_verified``, ``late_refusals``) and never changes the ledger: its job is already final.
A neighbour's job run here is kept in NV with its inputs and origin
(:meth:`ResultStore.save_served`), so after a reset it resumes on the origin's tiles and its
result still goes back.

**Status bundles** (:class:`NodeStatus`): every ``status_period_s`` each node sends its
budget to the nodes within ``max_hops``: whether compute is allowed, the sustained rate it
would run at now (ops/s), the accelerator-seconds of work queued, queue length, power budget
and thermal headroom. A node mostly hears from its current link partner (one terminal, one
link at a time), so each status bundle also carries the fresh statuses its sender heard from
others with their hop counts (:func:`encode_status_digest`): a status travels up to
``max_hops`` hops by this gossip, and the cost model sees every node within ``max_hops``.

**Cost model** (:func:`choose_site`): a job runs where its estimated finish is earliest
among the sites that meet its deadline with ``margin`` of the time left; local first when it
is feasible (no transfer, no dependence on a link). A neighbour's finish is ``now +
transfer(inputs) + PAT delay (the first hop's link is not up) + its queue / its rate +
job ops / its rate + transfer(result)``; a neighbour whose status is stale (older than
``stale_s``, or ``relay_stale_s`` when it is two hops or more away), whose compute is
not allowed, whose queue is full or whose route is longer than ``max_hops`` is not a
candidate.

**Protocol** (DATA bundles, first octet the message type; big-endian)::

    STATUS  1: t_ns u64, allowed u8, queue u16, queue_depth u16, rate_ops f64, backlog_s f32,
               budget_w f32, thermal_frac f32 [, n u8, n x (name_len u8, name, hops u8,
               the same nine status figures)]  (the digest: others' statuses, hops from
               the sender)
    REQUEST 2: ticket u32, kind u8, priority u8, criticality u8, scene u32, tiles u16,
               deadline_left_s f64, max_time_s f32, max_energy_j f32, n_bands u8, tile_px u16,
               inputs float32[tiles, n_bands, tile_px, tile_px]
    REFUSE  3: ticket u32, reason u8
    RESULT  4: ticket u32, state u8, record (the result record blob, CRC-32C last)

The origin verifies the record's CRC-32C (:func:`flight.compute.decode_result`) before it
counts the job completed remotely; a corrupt result is a failure (or a local retry when there
is time). A refusal or a lost request bundle moves the job to the next candidate
(``retries``) or back to the local executor; no result by the deadline is a miss. **Early
local fallback:** a result not back ``late_factor`` times its estimated round trip after the
request left is late; if the job can still finish here within ``margin`` of the time left,
it runs here (the neighbour's result, if it comes, is counted late).
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
    "JOURNAL_MAGIC",
    "Candidate",
    "JobLedger",
    "Journal",
    "MsgType",
    "NodeStatus",
    "OffloadConfig",
    "OffloadCounters",
    "OffloadManager",
    "Outcome",
    "PendingRemote",
    "RemoteRequest",
    "SiteChoice",
    "choose_site",
    "decode_journal",
    "decode_reply",
    "decode_request",
    "decode_status",
    "decode_status_digest",
    "encode_journal",
    "encode_refuse",
    "encode_request",
    "encode_result_msg",
    "encode_status",
    "encode_status_digest",
    "remote_finish_s",
]

_STATUS = struct.Struct(">BQBHHdfff")
_STATUS_BODY = struct.Struct(">QBHHdfff")  #: a digest entry's figures (no type octet)
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

    Keys are ``("local", job_id)`` (admitted here) and ``("ticket", ticket)`` (being placed,
    or offloaded); :meth:`close` of an unknown or already closed key is refused (returns
    False), so no job is counted twice. Every change sets :attr:`dirty` (the executor then
    rewrites the NV journal).
    """

    submitted: int = 0
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    deadline_met: int = 0
    offloaded: int = 0
    latency_s_sum: float = 0.0  #: capture (submission) to result, completed jobs
    tiles_submitted: int = 0
    tiles_completed: int = 0
    #: open jobs: key -> (submission ns, tiles, deadline ns; 0: unknown)
    open: dict[object, tuple[int, int, int]] = field(default_factory=dict)
    dirty: bool = False  #: changed since the journal was last written

    def open_job(self, key: object, t_ns: int, tiles: int = 0, deadline_ns: int = 0) -> None:
        """A job of ``tiles`` tiles due at ``deadline_ns`` is submitted (counted once);
        ValueError if ``key`` is already open."""
        if key in self.open:
            raise ValueError(f"job {key!r} is already open")
        self.open[key] = (t_ns, tiles, deadline_ns)
        self.submitted += 1
        self.tiles_submitted += tiles
        self.dirty = True

    def reject_new(self, tiles: int = 0) -> None:
        """A job submitted and refused at once (submitted and rejected, never open)."""
        self.submitted += 1
        self.tiles_submitted += tiles
        self.counts[Outcome.REJECTED] += 1
        self.dirty = True

    def rekey(self, old: object, new: object) -> None:
        """The same job now known by ``new`` (moved between local and remote)."""
        if new in self.open:
            raise ValueError(f"job {new!r} is already open")
        self.open[new] = self.open.pop(old)
        self.dirty = True

    def close(self, key: object, outcome: Outcome, t_ns: int, *, met: bool = False) -> bool:
        """The job's final outcome at ``t_ns`` (met: completed by its deadline)."""
        entry = self.open.pop(key, None)
        if entry is None:
            return False
        t0, tiles, _ = entry
        self.counts[outcome] += 1
        if outcome in (Outcome.COMPLETED_LOCAL, Outcome.COMPLETED_REMOTE):
            self.tiles_completed += tiles
            self.latency_s_sum += max(0, t_ns - t0) / 1e9
            if met:
                self.deadline_met += 1
        self.dirty = True
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


def _status_fields(s: NodeStatus) -> tuple[int, int, int, int, float, float, float, float]:
    return (s.t_ns, int(s.allowed), min(s.queue_len, 0xFFFF), min(s.queue_depth, 0xFFFF),
            s.rate_ops, s.backlog_s, s.budget_w, s.thermal_frac)  # fmt: skip


def _status_from(f: Sequence[float | int]) -> NodeStatus:
    t, allowed, q, depth, rate, backlog, budget, frac = f
    if not all(math.isfinite(v) and v >= 0 for v in (rate, backlog, budget, frac)):
        raise ValueError("status: negative or non-finite figures")
    return NodeStatus(int(t), bool(allowed), int(q), int(depth), float(rate), float(backlog),
                      float(budget), float(frac))  # fmt: skip


def encode_status_digest(own: NodeStatus, others: Sequence[tuple[str, int, NodeStatus]]) -> bytes:
    """A STATUS payload with a digest: the sender's own status, then ``others`` as
    ``(name, hops from the sender, status)`` (at most 255; names of 1..255 UTF-8 octets)."""
    if len(others) > 255:
        raise ValueError(f"status digest: {len(others)} entries (at most 255)")
    out = [encode_status(own), bytes([len(others)])]
    for name, hops, st in others:
        raw = name.encode()
        if not 1 <= len(raw) <= 255 or not 1 <= hops <= 255:
            raise ValueError(f"status digest: bad entry {name!r} at {hops} hops")
        out.append(bytes([len(raw)]) + raw + bytes([hops]) + _STATUS_BODY.pack(*_status_fields(st)))
    return b"".join(out)


def decode_status_digest(data: bytes) -> tuple[NodeStatus, list[tuple[str, int, NodeStatus]]]:
    """``(own status, [(name, hops from the sender, status)])`` of a STATUS payload, with or
    without a digest (ValueError if malformed)."""
    if len(data) == _STATUS.size:
        return decode_status(data), []
    own = decode_status(data[: _STATUS.size])
    if len(data) < _STATUS.size + 1:
        raise ValueError("status digest: truncated")
    n, pos, out = data[_STATUS.size], _STATUS.size + 1, []
    for _ in range(n):
        if pos >= len(data):
            raise ValueError("status digest: truncated")
        k = data[pos]
        end = pos + 1 + k + 1 + _STATUS_BODY.size
        if k == 0 or end > len(data):
            raise ValueError("status digest: truncated entry")
        try:
            name = data[pos + 1 : pos + 1 + k].decode()
        except UnicodeDecodeError:
            raise ValueError("status digest: name is not UTF-8") from None
        hops = data[pos + 1 + k]
        if hops < 1:
            raise ValueError("status digest: 0 hops")
        out.append((name, hops, _status_from(_STATUS_BODY.unpack_from(data, pos + 2 + k))))
        pos = end
    if pos != len(data):
        raise ValueError("status digest: trailing octets")
    return own, out


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
    now_ns: int, relay_stale_s: float | None = None,
) -> float | None:  # fmt: skip
    """Estimated seconds from now until the result of ``job_ops`` run at ``c`` is back
    here, or None when ``c`` cannot take it (stale status: older than ``stale_s`` for a
    neighbour one hop away, else ``relay_stale_s`` (None: ``stale_s`` per hop), since a
    farther node's status comes by relays that hold it until their next link; compute not
    allowed, no rate, queue full, too many hops, no route)."""
    s = c.status
    age_s = (now_ns - s.t_ns) / 1e9
    if c.hops <= 1:
        limit = stale_s
    else:
        limit = relay_stale_s if relay_stale_s is not None else stale_s * c.hops
    if age_s > limit or not s.allowed or s.rate_ops <= 0.0:
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
    relay_stale_s: float | None = None,
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
            now_ns=now_ns, relay_stale_s=relay_stale_s,
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
    #: a status that came by relays (a node 2+ hops away) is stale after this many status
    #: periods (a relay holds it until its next link: in a Walker shell, minutes)
    relay_stale_periods: float = 10.0
    #: a result not back after this times its estimated round trip is late (early local
    #: fallback when local still meets the deadline); 0: never
    late_factor: float = 1.5


@dataclass(slots=True)
class PendingRemote:
    """An origin job sent to a neighbour, awaiting its result (journaled: see
    :func:`encode_journal`). ``inputs`` are read from the imager when first needed."""

    ticket: int
    req: JobRequest
    arrival_ns: int
    deadline_ns: int
    job_ops: float
    inputs: NDArray[np.float32] | None = None
    site: str = ""
    bundle: BundleId | None = None
    tried: list[str] = field(default_factory=list)
    sent_ns: int = 0  #: when the request last left
    expect_ns: int = 0  #: when its result is expected back (cost model; 0: unknown)
    next_check_ns: int = 0  #: next early-fallback check


JOURNAL_MAGIC = b"SNJ1"
_J_HEAD = struct.Struct(">4sI5IIIdQQIII")
_J_OPEN = struct.Struct(">BIQQH")
_J_REMOTE = struct.Struct(">IBBBIHdffQQQQdB")
_J_KINDS = {"local": 0, "ticket": 1}
_J_NAMES = {v: k for k, v in _J_KINDS.items()}


@dataclass(slots=True)
class Journal:
    """The ledger's NV journal: the ledger, the offloaded jobs awaiting a result, and the
    ticket high-water mark (no ticket at or above it was ever issued)."""

    ledger: JobLedger
    remotes: list[PendingRemote]
    ticket_hwm: int


def encode_journal(
    ledger: JobLedger, remotes: Sequence[PendingRemote], ticket_hwm: int
) -> bytes:
    """The journal's body (the store seals it with a CRC-32C)::

        magic b"SNJ1" | submitted u32 | counts u32 x 5 (Outcome order) | deadline_met u32
        | offloaded u32 | latency_s_sum f64 | tiles_submitted u64 | tiles_completed u64
        | ticket_hwm u32 | n_open u32 | n_remote u32
        | n_open x (kind u8 (0 local, 1 ticket), id u32, t_submit_ns u64, deadline_ns u64,
                    tiles u16)
        | n_remote x (ticket u32, kind u8, priority u8, criticality u8, scene u32, tiles u16,
                      deadline_s f64, max_time_s f32, max_energy_j f32, arrival_ns u64,
                      deadline_ns u64, sent_ns u64, expect_ns u64, job_ops f64, n_tried u8,
                      n_tried x (len u8, name))

    ValueError for a key that is not ``("local" | "ticket", int)``."""
    c = ledger.counts
    out = [_J_HEAD.pack(
        JOURNAL_MAGIC, ledger.submitted, *(c[o] for o in Outcome), ledger.deadline_met,
        ledger.offloaded, ledger.latency_s_sum, ledger.tiles_submitted, ledger.tiles_completed,
        ticket_hwm, len(ledger.open), len(remotes),
    )]  # fmt: skip
    for key, (t0, tiles, deadline) in ledger.open.items():
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] in _J_KINDS):
            raise ValueError(f"journal: ledger key {key!r} is not (local|ticket, id)")
        out.append(_J_OPEN.pack(_J_KINDS[key[0]], key[1], t0, max(0, deadline), tiles))
    for r in remotes:
        q = r.req
        out.append(_J_REMOTE.pack(
            r.ticket, int(q.kind), q.priority, int(q.criticality), q.scene_id, q.tiles,
            q.deadline_s, q.max_time_s, q.max_energy_j, r.arrival_ns, r.deadline_ns,
            r.sent_ns, r.expect_ns, r.job_ops, len(r.tried),
        ))  # fmt: skip
        for name in r.tried:
            raw = name.encode()[:255]
            out.append(bytes([len(raw)]) + raw)
    return b"".join(out)


def decode_journal(body: bytes) -> Journal:
    """Parse a journal body (ValueError if malformed; the CRC is the store's)."""
    if len(body) < _J_HEAD.size or body[:4] != JOURNAL_MAGIC:
        raise ValueError("journal: bad magic or too short")
    f = _J_HEAD.unpack_from(body)
    led = JobLedger(
        submitted=f[1], counts={o: f[2 + k] for k, o in enumerate(Outcome)}, deadline_met=f[7],
        offloaded=f[8], latency_s_sum=f[9], tiles_submitted=f[10], tiles_completed=f[11],
    )  # fmt: skip
    hwm, n_open, n_remote = f[12], f[13], f[14]
    pos = _J_HEAD.size
    try:
        for _ in range(n_open):
            kind, ident, t0, deadline, tiles = _J_OPEN.unpack_from(body, pos)
            pos += _J_OPEN.size
            led.open[(_J_NAMES[kind], ident)] = (t0, tiles, deadline)
        remotes = []
        for _ in range(n_remote):
            g = _J_REMOTE.unpack_from(body, pos)
            pos += _J_REMOTE.size
            tried = []
            for _ in range(g[14]):
                k = body[pos]
                tried.append(body[pos + 1 : pos + 1 + k].decode())
                pos += 1 + k
            req = JobRequest(JobKind(g[1]), g[2], g[6], Criticality(g[3]), g[4], g[5], g[7], g[8])
            remotes.append(PendingRemote(
                g[0], req, g[9], g[10], g[13], None, tried[-1] if tried else "", None, tried,
                g[11], g[12],
            ))  # fmt: skip
    except (struct.error, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise ValueError(f"journal: truncated or malformed ({exc!r})") from None
    except ValueError as exc:  # an enum value out of range
        raise ValueError(f"journal: {exc}") from None
    if pos != len(body):
        raise ValueError("journal: trailing octets")
    if sum(led.counts.values()) + led.pending != led.submitted:
        raise ValueError("journal: its totals do not add up")
    return Journal(led, remotes, hwm)


@dataclass(slots=True)
class OffloadCounters:
    """What the manager did (the ``offload`` summary section)."""

    status_sent: int = 0
    status_received: int = 0
    status_relayed: int = 0  #: statuses of nodes beyond the sender learnt from digests
    requests_sent: int = 0
    refusals_received: int = 0
    retries: int = 0
    local_fallbacks: int = 0
    early_fallbacks: int = 0  #: late remote results overtaken by a local run
    lost_requests: int = 0
    results_verified: int = 0
    results_corrupt: int = 0
    late_results: int = 0  #: results for a ticket no longer awaited (its job already final)
    late_verified: int = 0  #: ... of which the record's CRC-32C checked
    late_refusals: int = 0
    timeouts: int = 0
    served_accepted: int = 0
    served_refused: int = 0
    served_returned: int = 0
    served_restored: int = 0  #: neighbours' jobs resumed after a reset from their NV record
    remote_restored: int = 0  #: offloaded jobs still awaited after a reset (journal)
    bad_bundles: int = 0
    send_errors: int = 0


#: tickets are leased from NV in blocks of this many (one journal write per block)
_TICKET_LEASE = 256


class OffloadManager:
    """Offload at the origin and service for neighbours (see the module docstring).

    Driven by the executor: :meth:`arrive` for each new job, :meth:`step` every executor
    cycle, :meth:`served_final` when a job run for a neighbour ends; :meth:`forget` at a
    processor reset and :meth:`restore` from the NV journal at boot.
    """

    def __init__(
        self, executor: ComputeExecutor, network: IslNetwork, config: OffloadConfig
    ) -> None:
        self.ex = executor
        self.net = network
        self.cfg = config
        self.peers: dict[str, NodeStatus] = {}
        self.peer_hops: dict[str, int] = {}  #: hops from here, as the status came
        self.pending: dict[int, PendingRemote] = {}
        self.served: dict[int, tuple[str, int]] = {}  #: local job id -> (origin, ticket)
        self.counters = OffloadCounters()
        self._by_bundle: dict[BundleId, int] = {}
        self._next_ticket = 1
        self.ticket_hwm = 1  #: no ticket at or above this was issued (persisted)
        self._next_status_ns = 0

    # -- reset and restore ---------------------------------------------------------------
    def forget(self) -> None:
        """A processor reset: every volatile table is gone (counters are telemetry: kept)."""
        self.peers.clear()
        self.peer_hops.clear()
        self.pending.clear()
        self.served.clear()
        self._by_bundle.clear()
        self._next_ticket = self.ticket_hwm = 1
        self._next_status_ns = 0

    def restore(self, journal: Journal) -> None:
        """At boot, from the NV journal: the ticket lease and the offloaded jobs still open
        in the ledger (awaiting their result again: their request bundles are not tracked,
        so only their deadline or a reply ends the wait)."""
        self.ticket_hwm = max(self.ticket_hwm, journal.ticket_hwm)
        self._next_ticket = max(self._next_ticket, self.ticket_hwm)
        for rec in journal.remotes:
            if ("ticket", rec.ticket) in self.ex.ledger.open:
                self.pending[rec.ticket] = rec
                self.counters.remote_restored += 1

    def _ticket(self) -> int:
        t = self._next_ticket
        self._next_ticket += 1
        if self._next_ticket > self.ticket_hwm:
            # lease a block: the journal (written this cycle) then bounds every ticket issued
            self.ticket_hwm = self._next_ticket + _TICKET_LEASE
            self.ex.ledger.dirty = True
        return t

    # -- origin side ---------------------------------------------------------------------
    def arrive(self, req: JobRequest, now: int) -> None:
        """Place a new job: local when feasible, else the best neighbour, else local."""
        ex = self.ex
        ticket = self._ticket()
        key = ("ticket", ticket)
        ex.ledger.open_job(key, now, req.tiles, now + round(req.deadline_s * 1e9))
        job_ops, local_s = ex.local_estimate(req)
        inputs = None
        choice = SiteChoice("", 0.0, {})
        if local_s is None or local_s > self.cfg.margin * req.deadline_s:
            inputs = self._inputs(req)
            if inputs is not None:
                choice = self._choose(job_ops, req.deadline_s, local_s, inputs.nbytes, (), now)
        if choice.site and self._offload(ticket, req, job_ops, inputs, choice, now):
            return
        if self._local(key, req, now, final=False):
            return
        # refused here (queue, deadline, compute unavailable): the best neighbour, if any
        if inputs is None:
            inputs = self._inputs(req)
        if inputs is not None:
            choice = self._choose(job_ops, req.deadline_s, None, inputs.nbytes, (), now)
            if choice.site and self._offload(ticket, req, job_ops, inputs, choice, now):
                return
        ex.ledger.close(key, Outcome.REJECTED, now)

    def _offload(
        self, ticket: int, req: JobRequest, job_ops: float, inputs: NDArray[np.float32] | None,
        choice: SiteChoice, now: int,
    ) -> bool:  # fmt: skip
        assert inputs is not None
        rec = PendingRemote(ticket, req, now, now + round(req.deadline_s * 1e9), job_ops, inputs)
        if not self._send(rec, choice, now):
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
            stale_s=self._stale_s(), margin=self.cfg.margin,
            relay_stale_s=self.cfg.relay_stale_periods * self.cfg.status_period_s,
        )  # fmt: skip

    def _stale_s(self) -> float:
        return 3.0 * self.cfg.status_period_s

    def _send(self, rec: PendingRemote, choice: SiteChoice, now: int) -> bool:
        site = choice.site
        left_s = (rec.deadline_ns - now) / 1e9
        if left_s <= 0 or rec.inputs is None:
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
        rec.sent_ns = now
        rec.expect_ns = now + round(choice.finish_s * 1e9) if math.isfinite(choice.finish_s) else 0
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
        self.ex.ledger.dirty = True  # the journal carries the pending requests
        return True

    def _drop_pending(self, rec: PendingRemote) -> None:
        self.pending.pop(rec.ticket, None)
        if rec.bundle is not None:
            self._by_bundle.pop(rec.bundle, None)
        self.ex.ledger.dirty = True

    def _retry(self, rec: PendingRemote, now: int, *, refused: bool) -> None:
        """A refusal (the next neighbour), a lost request or a corrupt result (any
        neighbour, the same one included) while retries last; else local, else final."""
        self._drop_pending(rec)
        key = ("ticket", rec.ticket)
        left_s = (rec.deadline_ns - now) / 1e9
        if left_s <= 0:
            self.ex.ledger.close(key, Outcome.MISSED, now)
            return
        if len(rec.tried) <= self.cfg.retries:
            if rec.inputs is None:  # restored from the journal: read them again
                rec.inputs = self._inputs(rec.req)
            if rec.inputs is not None:
                exclude = rec.tried if refused else ()
                choice = self._choose(rec.job_ops, left_s, None, rec.inputs.nbytes, exclude, now)
                if choice.site and self._send(rec, choice, now):
                    self.counters.retries += 1
                    return
        self.counters.local_fallbacks += 1
        self._local(key, replace(rec.req, deadline_s=left_s), now)

    def _early_fallback(self, now: int) -> None:
        """Late results: run the job here when that still meets its deadline."""
        f = self.cfg.late_factor
        if f <= 0.0:
            return
        for rec in list(self.pending.values()):
            if rec.expect_ns <= 0 or now < rec.next_check_ns:
                continue
            if now - rec.sent_ns < f * (rec.expect_ns - rec.sent_ns):
                continue
            # re-checked at most every 2 s: admission is not free, and refusals are counted
            rec.next_check_ns = now + 2_000_000_000
            left_s = (rec.deadline_ns - now) / 1e9
            if left_s <= 0:
                continue
            _, local_s = self.ex.local_estimate(rec.req)
            if local_s is None or local_s > self.cfg.margin * left_s:
                continue
            key = ("ticket", rec.ticket)
            if self._local(key, replace(rec.req, deadline_s=left_s), now, final=False):
                self._drop_pending(rec)
                self.counters.early_fallbacks += 1

    # -- the cycle -------------------------------------------------------------------------
    def step(self, now: int) -> None:
        """Status broadcast, received bundles, lost requests, late results, deadlines."""
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
        self._early_fallback(now)
        for rec in [r for r in self.pending.values() if r.deadline_ns < now]:
            self.counters.timeouts += 1
            self._drop_pending(rec)
            self.ex.ledger.close(("ticket", rec.ticket), Outcome.MISSED, now)

    def _digest(self, now: int) -> list[tuple[str, int, NodeStatus]]:
        """Statuses heard from others that may travel one hop further and are still fresh
        for a relayed status (``relay_stale_periods`` status periods)."""
        limit_ns = self.cfg.relay_stale_periods * self.cfg.status_period_s * 1e9
        return [
            (name, hops, st)
            for name, st in sorted(self.peers.items())
            if (hops := self.peer_hops.get(name, 1)) < self.cfg.max_hops
            and now - st.t_ns <= limit_ns
        ][:255]

    def _broadcast(self, now: int) -> None:
        payload = encode_status_digest(self.ex.status(now), self._digest(now))
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

    def _merge_status(self, name: str, hops: int, st: NodeStatus) -> bool:
        if name == self.net.name or hops > self.cfg.max_hops:
            return False
        cur = self.peers.get(name)
        if cur is not None and (st.t_ns, -hops) <= (cur.t_ns, -self.peer_hops.get(name, 1)):
            return False
        self.peers[name] = st
        self.peer_hops[name] = hops
        return True

    def _on_bundle(self, src: str, payload: bytes, created_ns: int, now: int) -> None:
        if not payload:
            raise ValueError("empty bundle")
        kind = payload[0]
        if kind == MsgType.STATUS:
            own, others = decode_status_digest(payload)
            self._merge_status(src, 1, own)
            self.counters.status_received += 1
            for name, hops, st in others:
                if name != src and self._merge_status(name, hops + 1, st):
                    self.counters.status_relayed += 1
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
            # its job is already final here (timed out, fell back to local, or closed at a
            # reset): counted, never a second outcome
            if kind is MsgType.RESULT:
                self.counters.late_results += 1
                try:
                    decode_result(record)
                    self.counters.late_verified += 1
                except RecordError:
                    pass
            else:
                self.counters.late_refusals += 1
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
        self._drop_pending(rec)
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
        """Run a neighbour's job under this node's own admission control (its origin and
        inputs kept in NV with it, so that a reset does not lose them)."""
        left_s = r.deadline_left_s - max(0, now - created_ns) / 1e9
        try:
            req = JobRequest(JobKind(r.kind), r.priority, left_s, Criticality(r.criticality),
                             r.scene_id, r.tiles, r.max_time_s, r.max_energy_j)  # fmt: skip
        except ValueError:
            req = None
        if req is None or left_s <= 0 or r.inputs.shape[-1] != self.ex.config.tile_px:
            self._refuse(src, r.ticket, 6, now)
            return
        adm = self.ex.admit(req, inputs=r.inputs, origin=(src, r.ticket))
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
        out["peers_beyond_one_hop"] = sum(1 for h in self.peer_hops.values() if h > 1)
        return out
