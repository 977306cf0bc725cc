"""The AI task executor: a component that admits, schedules, runs, checks and stores jobs.

Every step (onboard time ``t``):

1. Read the limits from the bus: ``PowerBudget.compute_w`` (average W; a missing or stale
   budget falls back to ``default_compute_w``), ``ThermalThrottle.max_power_frac`` (cap on
   the accelerator's instantaneous power, as a fraction of its full-power mode),
   ``ModeStatus`` (compute only in NOMINAL) and ``PowerStatus.shed_level`` (compute shed).
   The energy bucket accrues the budget (:class:`~flight.compute._policy.EnergyBucket`).
2. Take the requests of the workload generator (if any) through admission, or, with
   offload (:mod:`~flight.compute._offload`), place each one locally or on a neighbour;
   then the offload manager's cycle (status bundles, neighbours' requests, results).
   Every job submitted here is entered in :attr:`ComputeExecutor.ledger` (one final
   outcome each), kept in NV as a journal rewritten at the end of every cycle that changed
   it and reconciled at boot (see :mod:`~flight.compute._offload`).
3. Poll the chunk on the accelerator. Done: compare/vote the replicas, extract detections,
   checkpoint the job's progress to NV storage; a finished job's result is stored with its
   CRC-32C and queued for downlink. No result past the chunk's timeout: the accelerator is
   declared hung, reset, and the job resumes from its NV checkpoint (retries bounded).
   A chunk above a tightened thermal cap (or when compute stops being allowed) is
   preempted (accelerator reset, chunk re-run later).
4. Drop jobs past their deadline (``drop_late``), pick the next job by policy (EDF or FIFO),
   choose the power mode (:func:`~flight.compute._policy.choose_mode`), and submit its
   next chunk (``tiles_per_chunk`` tiles, one run per replica) when the energy bucket
   covers it. A job whose used or projected time/energy exceeds its budget is aborted.
   An accelerator idle for ``idle_off_s`` is switched OFF.
5. Downlink: at most one result summary TM[``report_service``,2] per
   ``downlink_interval_s``.

Ground interface (PUS-8, function id = component id << 8 | opcode): ``submit`` (1),
``cancel`` (2), ``list`` (3, emits TM[``report_service``,1] and an event), ``downlink`` (4,
queue a stored result's report again). Housekeeping (PUS-3) carries queue, job, energy,
fault and redundancy counters.

TM layouts (big-endian)::

    TM[s,1] job list:   N u8, N x (job_id u32, kind u8, state u8, priority u8,
                        criticality u8, deadline_in_s f32, next_tile u16, tiles u16)
    TM[s,2] result:     job_id u32, kind u8, state u8, criticality u8, deadline_met u8,
                        t_done_ns u64, crc32c u32, cloud_frac f32, energy_j f32, exec_s f32,
                        disagreements u16, corrected_words u32, n_detections u16,
                        min(n, 32) x (tile u16, head u8, row u16, col u16, score f32)
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from flight.compute._eo import (
    Head,
    ModelStore,
    as_outputs,
    find_detections,
    process_tiles,
    tile_ops,
)
from flight.compute._job import Criticality, Job, JobKind, JobRequest, JobState, RejectReason
from flight.compute._offload import (
    JOURNAL_MAGIC,
    JobLedger,
    Journal,
    NodeStatus,
    OffloadManager,
    Outcome,
    decode_journal,
    encode_journal,
)
from flight.compute._policy import (
    EnergyBucket,
    Limits,
    Policy,
    choose_mode,
    edf_admit,
    fifo_admit,
    order,
)
from flight.compute._redundancy import compare, vote
from flight.compute._store import RecordError, ResultRecord, ResultStore
from flight.compute._workload import WorkloadGenerator
from flight.core import (
    NS_PER_S,
    Arg,
    CommandDef,
    CommandError,
    Component,
    Declaration,
    EventDef,
    FailureCode,
    FieldType,
    Severity,
    TlmField,
)
from flight.messages import Mode, ModeStatus, PowerBudget, PowerStatus, ShedLevel, ThermalThrottle
from hal.accelerator import Accelerator, AcceleratorStatus, JobResult, PowerMode
from hal.imager import Imager
from hal.platform import Storage
from native import schema
from native.errors import (
    ConfigError,
    DeviceFaultError,
    DeviceUnavailableError,
    FlightError,
    HalError,
)
from native.schema import setting

__all__ = ["Admission", "ComputeExecutor", "ExecutorConfig"]

_LIST_ITEM = struct.Struct(">IBBBBfHH")
_RESULT_HEAD = struct.Struct(">IBBBBQIfffHIH")
_RESULT_DET = struct.Struct(">HBHHf")
_MAX_REPORT_DETS = 32
_MAX_LIST = 200


@dataclass(frozen=True, slots=True)
class ExecutorConfig:
    """The executor's keys of the ``[compute]`` section (a :mod:`native.schema` section);
    the installer's keys (devices, rate, workload) are parsed by ``flight.compute.parse_config``."""

    policy: Policy = setting(Policy.EDF, doc="scheduling policy: 'edf' or 'fifo'")
    queue_depth: int = setting(32, lo=1, hi=255, doc="jobs admitted and not finished")
    tile_px: int = setting(64, lo=16, hi=4096, units="px", doc="proxy tile size")
    tiles_per_chunk: int = setting(
        1, lo=1, hi=1024, doc="tiles per accelerator submission (= per checkpoint)"
    )
    ops_scale: float = setting(
        4e8, lo=0, lo_open=True, hi=1e15, doc="modelled ops per proxy op (flight model / proxy)"
    )
    max_tiles: int = setting(1024, lo=1, hi=65535, doc="largest job (tiles)")
    max_retries: int = setting(
        3, lo=0, hi=100, doc="chunk retries (hang, replica mismatch) before a job fails"
    )
    timeout_factor: float = setting(
        2.0, lo=1, hi=1000, doc="chunk timeout = factor * modelled time + timeout_min_s"
    )
    timeout_min_s: float = setting(1.0, lo=0, hi=3600, units="s", doc="chunk timeout floor")
    admission: bool = setting(True, doc="run the policy's deadline admission test")
    admission_derate: float = setting(
        0.9, lo=0, lo_open=True, hi=1, doc="fraction of the sustained rate admission counts on"
    )
    drop_late: bool = setting(True, doc="drop jobs whose deadline passed")
    budget_margin: float = setting(
        3.0, lo=0, lo_open=True, hi=1000, doc="default budgets: worst-mode estimate times this"
    )
    energy_bucket_s: float = setting(
        60.0, lo=0, lo_open=True, hi=86400, units="s", doc="energy bucket depth (of budget)"
    )
    default_compute_w: float = setting(
        300.0, lo=0, hi=1e5, units="W", doc="budget while no fresh PowerBudget is known"
    )
    budget_stale_s: float = setting(
        300.0, lo=0, hi=86400, units="s", doc="a PowerBudget older than this is ignored"
    )
    idle_off_s: float = setting(
        5.0, lo=0, hi=86400, units="s", doc="switch the accelerator OFF after idling this long"
    )
    throttle_preempt: bool = setting(True, doc="preempt a chunk above a tightened thermal cap")
    cap_margin: float = setting(
        0.05, lo=0, hi=1, hi_open=True, doc="start work only in modes <= (1 - margin) * cap"
    )
    downlink_interval_s: float = setting(
        1.0, lo=0, hi=86400, units="s", doc="at most one result report per interval"
    )
    max_results: int = setting(
        256, lo=1, hi=65535, doc="stored results kept (downlinked ones pruned first)"
    )
    report_service: int = setting(
        140, lo=128, hi=255, doc="mission-specific PUS service type of the TM reports"
    )
    seed: int = setting(1, lo=0, hi=2**63 - 1, doc="scene generation seed")

    @classmethod
    def from_section(
        cls, section: Mapping[str, Any], seed: int, ignore: set[str]
    ) -> ExecutorConfig:
        """Parse a ``[compute]`` table; keys in ``ignore`` belong to the installer.

        ``seed`` is used unless the table sets its own. ConfigError names the key.
        """
        if not isinstance(section, Mapping):
            raise ConfigError(f"[compute]: expected a table, got {section!r}")
        allowed = {f.name for f in fields(cls)} | ignore
        unknown = sorted(str(k) for k in section if k not in allowed)
        if unknown:  # listed here so that the installer's keys show as allowed too
            raise ConfigError(
                f"[compute] {unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})"
            )
        table = {"seed": seed, **{k: v for k, v in section.items() if k not in ignore}}
        return schema.parse(cls, table, "compute")


@dataclass(frozen=True, slots=True)
class Admission:
    """Outcome of a submission: the job id, or the typed reason it was refused."""

    accepted: bool
    job_id: int = 0
    reason: RejectReason | None = None
    detail: str = ""


@dataclass(slots=True)
class _Chunk:
    job: Job
    first_tile: int
    n_tiles: int
    mode: PowerMode
    power_w: float
    ids: list[int]
    submit_ns: int
    est_s: float
    est_energy_j: float
    timeout_ns: int
    results: dict[int, JobResult] = field(default_factory=dict)


_TLM = (
    TlmField("queue_len", FieldType.U16, "", "jobs admitted and not finished"),
    TlmField("running_job", FieldType.U32, "", "job with a chunk on the accelerator (0: none)"),
    TlmField("policy", FieldType.U8, "", "0 EDF, 1 FIFO"),
    TlmField("accel_mode", FieldType.U8, "", "0 OFF, 1 LOW, 2 MID, 3 HIGH"),
    TlmField("jobs_submitted", FieldType.U32, "", "requests received"),
    TlmField("jobs_rejected", FieldType.U32, "", "requests refused at admission"),
    TlmField("jobs_completed", FieldType.U32, "", "jobs completed"),
    TlmField("jobs_failed", FieldType.U32, "", "jobs failed (retries exhausted)"),
    TlmField("jobs_aborted", FieldType.U32, "", "jobs aborted over budget"),
    TlmField("jobs_cancelled", FieldType.U32, "", "jobs cancelled by command"),
    TlmField("deadline_met", FieldType.U32, "", "jobs completed by their deadline"),
    TlmField("deadline_missed", FieldType.U32, "", "jobs completed late or dropped late"),
    TlmField("rej_queue_full", FieldType.U32, "", "rejections: queue full"),
    TlmField("rej_deadline", FieldType.U32, "", "rejections: deadline infeasible"),
    TlmField("rej_budget", FieldType.U32, "", "rejections: over time/energy budget"),
    TlmField("rej_unavailable", FieldType.U32, "", "rejections: compute unavailable"),
    TlmField("rej_malformed", FieldType.U32, "", "rejections: malformed request"),
    TlmField("energy_j", FieldType.F64, "J", "modelled accelerator energy of job work"),
    TlmField("idle_energy_j", FieldType.F64, "J", "accelerator idle energy"),
    TlmField("credit_j", FieldType.F32, "J", "energy bucket credit"),
    TlmField("budget_w", FieldType.F32, "W", "power budget in use"),
    TlmField("thermal_cap_w", FieldType.F32, "W", "thermal power cap in use"),
    TlmField("hangs", FieldType.U16, "", "accelerator hangs detected"),
    TlmField("accel_resets", FieldType.U16, "", "accelerator resets commanded"),
    TlmField("resumes", FieldType.U16, "", "jobs resumed from an NV checkpoint"),
    TlmField("preemptions", FieldType.U16, "", "chunks preempted by thermal cap or mode"),
    TlmField("checkpoints", FieldType.U32, "", "checkpoints written"),
    TlmField("disagreements", FieldType.U32, "", "chunks whose replicas disagreed"),
    TlmField("corrected_words", FieldType.U32, "", "64-bit words corrected by TMR votes"),
    TlmField("results_stored", FieldType.U32, "", "results written to NV storage"),
    TlmField("downlink_pending", FieldType.U16, "", "stored results awaiting downlink"),
    TlmField("downlink_sent", FieldType.U32, "", "result reports sent"),
    TlmField("store_errors", FieldType.U16, "", "NV storage operations that failed"),
)

_EVENTS = (
    EventDef(1, "job_accepted", Severity.INFO,
             "job {job_id} accepted: {kind} x{tiles} tiles, deadline {deadline_s:.0f} s, {crit}"),
    EventDef(2, "job_rejected", Severity.LOW, "job rejected ({reason}): {detail}"),
    EventDef(3, "job_completed", Severity.INFO,
             "job {job_id} completed: {exec_s:.1f} s, {energy_j:.0f} J, {n_det} detections, "
             "deadline {met}"),
    EventDef(4, "job_missed", Severity.LOW, "job {job_id} dropped: deadline passed"),
    EventDef(5, "job_aborted", Severity.MEDIUM, "job {job_id} aborted: {why}"),
    EventDef(6, "job_failed", Severity.MEDIUM, "job {job_id} failed: {why}"),
    EventDef(7, "job_cancelled", Severity.INFO, "job {job_id} cancelled"),
    EventDef(8, "accel_hang", Severity.MEDIUM,
             "accelerator hung on job {job_id} tile {tile} ({status}); reset"),
    EventDef(9, "job_resumed", Severity.INFO,
             "job {job_id} resumes from its checkpoint at tile {tile}"),
    EventDef(10, "redundancy_disagreement", Severity.LOW,
             "job {job_id} tile {tile}: replicas differ in {words} words ({action})"),
    EventDef(11, "result_stored", Severity.INFO, "job {job_id} result stored (crc32c {crc:08x})"),
    EventDef(12, "job_list", Severity.INFO, "{n} active jobs: {ids}"),
    EventDef(13, "store_error", Severity.MEDIUM, "storage {op} failed: {error}"),
    EventDef(14, "preempted", Severity.LOW,
             "job {job_id} chunk preempted ({why})"),
    EventDef(15, "accel_unavailable", Severity.MEDIUM, "accelerator unavailable: {error}"),
    EventDef(16, "records_corrupt", Severity.MEDIUM, "{n} corrupt records in storage: {names}"),
)  # fmt: skip

_COMMANDS = (
    CommandDef(
        1,
        "submit",
        (
            Arg("kind", FieldType.U8, 1, 3, "", "1 cloud_mask, 2 ship_detect, 3 fire_detect"),
            Arg("priority", FieldType.U8, 0, 7),
            Arg("deadline_s", FieldType.F32, 1.0, 7 * 86400.0, "s", "relative deadline"),
            Arg("criticality", FieldType.U8, 0, 2, "", "0 normal, 1 detect (x2), 2 correct (x3)"),
            Arg("scene_id", FieldType.U32, doc="input: acquisition number"),
            Arg("tiles", FieldType.U16, 1, 65535),
            Arg("max_time_s", FieldType.F32, 0.0, 1e7, "s", "accelerator-time budget, 0 default"),
            Arg("max_energy_j", FieldType.F32, 0.0, 1e10, "J", "energy budget, 0 default"),
        ),
        "submit an EO job",
    ),
    CommandDef(2, "cancel", (Arg("job_id", FieldType.U32),), "cancel an active job"),
    CommandDef(3, "list", (), "report the active jobs (TM and event)"),
    CommandDef(4, "downlink", (Arg("job_id", FieldType.U32),), "queue a stored result again"),
)

_REJECT_COUNTER = {
    RejectReason.QUEUE_FULL: "rej_queue_full",
    RejectReason.DEADLINE_INFEASIBLE: "rej_deadline",
    RejectReason.OVER_TIME_BUDGET: "rej_budget",
    RejectReason.OVER_ENERGY_BUDGET: "rej_budget",
    RejectReason.COMPUTE_UNAVAILABLE: "rej_unavailable",
    RejectReason.MALFORMED: "rej_malformed",
}
_MODE_CODE = {PowerMode.OFF: 0, PowerMode.LOW: 1, PowerMode.MID: 2, PowerMode.HIGH: 3}


class ComputeExecutor(Component):
    """The AI task executor component (see the module docstring).

    ``accelerator`` and ``storage`` are HAL devices; ``send_tm(service, subtype, data)``
    emits TM (the node's PUS endpoint; None: reports only counted as pending);
    ``generator`` submits the run's workload.
    """

    DECLARATION = Declaration(commands=_COMMANDS, telemetry=_TLM, events=_EVENTS)

    def __init__(
        self,
        accelerator: Accelerator,
        storage: Storage,
        imager: Imager,
        config: ExecutorConfig | None = None,
        *,
        name: str = "compute",
        component_id: int,
        send_tm: Callable[[int, int, bytes], bytes] | None = None,
        generator: WorkloadGenerator | None = None,
        weights_region: Any | None = None,
    ) -> None:
        super().__init__(name, component_id)
        self.accelerator = accelerator
        self.imager = imager
        if config is not None and imager.tile_px != config.tile_px:
            raise ConfigError(
                f"compute.tile_px ({config.tile_px}) differs from the imager's tile_px ({imager.tile_px})"
            )
        self.storage = storage
        self.config = cfg = config or ExecutorConfig()
        self.send_tm = send_tm
        self.generator = generator
        self.model = ModelStore(weights_region)
        self.store = ResultStore(storage, cfg.max_results)
        self.bucket = EnergyBucket(cfg.energy_bucket_s)
        self.jobs: dict[int, Job] = {}  #: admitted, not final
        self._store_ready = False  #: NV state loaded (job ids known); set by on_init
        self.finished: dict[int, JobState] = {}  #: final state of recent jobs
        self.rejections: dict[RejectReason, int] = dict.fromkeys(RejectReason, 0)
        self.modes = dict(accelerator.modes)
        self._full_power_w = max(s.power_w for s in self.modes.values())
        self._inflight: _Chunk | None = None
        self._last_ns: int | None = None
        self._next_id = 1
        self._seq = 0
        self._idle_s = 0.0
        self._acc_mode = PowerMode.OFF
        self._unavailable = False
        self._next_downlink_ns = 0
        self._unsaved: list[Job] = []
        self.thermal_violations = 0
        self.max_accel_power_w = 0.0
        self.limits = Limits(cfg.default_compute_w, self._full_power_w, True)
        self.hk.policy = 0 if cfg.policy is Policy.EDF else 1
        #: every job submitted here, to its one final outcome (see flight.compute._offload)
        self.ledger = JobLedger()
        #: offload to neighbours (None: every job runs here); set by the installer
        self.offload: OffloadManager | None = None
        #: input tiles of jobs run for a neighbour (they came over the links), by job id
        self.remote_inputs: dict[int, Any] = {}
        #: the NV journal is still to be read (power-on or processor reset: see on_boot)
        self._journal_due = True
        #: what boot reconciliation found and what the journal cost (the summary's
        #: ``persistence`` section)
        self.persistence: dict[str, int] = dict.fromkeys(
            ("boots", "journal_writes", "journal_errors", "resumed_open", "closed_completed",
             "closed_failed", "closed_missed", "orphans_opened", "remote_restored",
             "remote_lost", "served_restored", "served_lost"), 0,
        )  # fmt: skip

    # -- lifecycle --------------------------------------------------------------------------
    def on_boot(self) -> None:
        """Processor start: the job ledger, the offload tables and neighbours' inputs held in
        memory are gone; :meth:`on_init` rebuilds them from NV (journal, records)."""
        self.ledger = JobLedger()
        self.remote_inputs.clear()
        if self.offload is not None:
            self.offload.forget()
        self._journal_due = True

    def on_init(self) -> None:
        """(Re)load the NV state: results, downlink ledger, checkpointed jobs, id sequence;
        after a boot, also the job ledger's journal and neighbours' jobs (reconciled)."""
        self._inflight = None
        self.jobs.clear()
        try:
            resumed = self.store.load()
            self._next_id = max(self._next_id, self.store.next_id())
            self._store_ready = True
        except HalError as exc:  # storage not listable: ids unknown, so admit nothing yet
            self._store_error("load", exc)
            self._store_ready = False
            resumed = []
        if self._store_ready and self._journal_due:
            resumed = self._restore(resumed)
        if self.store.corrupt:
            self.emit(
                "records_corrupt", n=len(self.store.corrupt), names=",".join(self.store.corrupt)
            )
        for job in resumed:
            self._seq = max(self._seq, job.seq + 1)
            self.jobs[job.job_id] = job
            self.hk.resumes += 1
            self.emit("job_resumed", job_id=job.job_id, tile=job.progress.next_tile)
        self.hk.results_stored = len(self.store.results)
        self.hk.queue_len = len(self.jobs)

    def _restore(self, resumed: list[Job]) -> list[Job]:
        """Boot: the ledger from its NV journal, reconciled with the records that are
        authoritative for each job (checkpoints, results, neighbours' job records); returns
        the jobs to resume. See :mod:`flight.compute._offload`."""
        self._journal_due = False
        pc = self.persistence
        pc["boots"] += 1
        now = self.clock.now_ns()
        journal = Journal(JobLedger(), [], 1)
        try:
            body = self.store.read_journal(JOURNAL_MAGIC)
            if body is not None:
                journal = decode_journal(body)
        except (RecordError, ValueError) as exc:  # the counts before the reset are lost
            pc["journal_errors"] += 1
            self._store_error("journal read", exc)
        self.ledger = led = journal.ledger
        try:
            served = self.store.load_served()
        except HalError as exc:
            self._store_error("served records", exc)
            served = {}
        by_id = {j.job_id: j for j in resumed}
        keep: list[Job] = []
        for job_id, job in by_id.items():
            if job_id in served:
                origin, ticket, inputs = served.pop(job_id)
                if self.offload is not None:
                    self.offload.served[job_id] = (origin, ticket)
                    self.offload.counters.served_restored += 1
                self.remote_inputs[job_id] = inputs
                pc["served_restored"] += 1
            elif ("local", job_id) in led.open:
                pc["resumed_open"] += 1
            else:  # admitted in the cycle a reset cut short: the journal never saw it
                led.open_job(("local", job_id), job.submit_ns, job.tiles, job.deadline_ns)
                pc["orphans_opened"] += 1
            keep.append(job)
        for job_id in served:  # finished before the reset; the record outlived the job
            pc["served_lost"] += 1
            try:
                self.store.drop_served(job_id)
            except HalError as exc:
                self._store_error("served record delete", exc)
        for key, (_, _, deadline) in list(led.open.items()):
            assert isinstance(key, tuple)
            kind, ident = key
            if kind == "local" and ident not in by_id:
                rec = self.store.results.get(ident)
                if rec is not None:  # completed, the journal not written since
                    led.close(key, Outcome.COMPLETED_LOCAL, rec.t_done_ns, met=rec.deadline_met)
                    pc["closed_completed"] += 1
                elif 0 < deadline < now:
                    led.close(key, Outcome.MISSED, now)
                    pc["closed_missed"] += 1
                else:  # its checkpoint is gone and no result: lost with the reset
                    led.close(key, Outcome.FAILED, now)
                    pc["closed_failed"] += 1
        if self.offload is not None:
            self.offload.restore(journal)
            pc["remote_restored"] += len(self.offload.pending)
        for key in list(led.open):
            assert isinstance(key, tuple)
            if key[0] == "ticket" and (self.offload is None or key[1] not in self.offload.pending):
                led.close(key, Outcome.FAILED, now)  # being placed when the reset came
                pc["remote_lost"] += 1
        led.dirty = True
        return keep

    def _write_journal(self) -> None:
        """The ledger's journal to NV when it changed (once per cycle at most)."""
        if not (self.ledger.dirty and self._store_ready) or self._journal_due:
            return
        off = self.offload
        body = encode_journal(
            self.ledger,
            list(off.pending.values()) if off is not None else [],
            off.ticket_hwm if off is not None else 1,
        )
        try:
            self.store.write_journal(body)
        except HalError as exc:  # kept dirty: written again next cycle
            self._store_error("journal write", exc)
            return
        self.ledger.dirty = False
        self.persistence["journal_writes"] += 1

    # -- admission --------------------------------------------------------------------------
    def submit(self, req: JobRequest) -> Admission:
        """Admit or refuse a job request submitted to this node (counted, reported by event
        either way, and entered in the job ledger)."""
        adm = self.admit(req)
        now = self.clock.now_ns()
        if adm.accepted:
            self.ledger.open_job(
                ("local", adm.job_id), now, req.tiles, now + round(req.deadline_s * NS_PER_S)
            )
        else:
            self.ledger.reject_new(req.tiles)
        return adm

    def admit(
        self, req: JobRequest, *, inputs: Any = None, origin: tuple[str, int] | None = None
    ) -> Admission:
        """Admission control of a request (not entered in the ledger: the caller decides
        whose job it is). ``inputs``: the job's input tiles (float32[tiles, bands, px, px]:
        a neighbour's job) instead of this node's imager; ``origin``: that neighbour and its
        ticket, kept in NV with the inputs before the job is admitted (refused if they
        cannot be kept: a reset would run it on the wrong scene)."""
        self.hk.jobs_submitted += 1
        now = self.clock.now_ns()
        cfg = self.config
        problem = _malformed(req, cfg)
        if problem:
            return self._reject(RejectReason.MALFORMED, problem)
        if not self._store_ready:
            return self._reject(RejectReason.COMPUTE_UNAVAILABLE, "NV storage not loaded")
        limits = self._read_limits(now)
        mode, rate = choose_mode(self.modes, self._start_limits(limits))
        if mode is None:
            why = limits.why or f"budget {limits.budget_w:.0f} W, cap {limits.thermal_cap_w:.0f} W"
            return self._reject(RejectReason.COMPUTE_UNAVAILABLE, why)
        ops = tile_ops(cfg.tile_px, req.kind.detect) * cfg.ops_scale * req.tiles
        ops *= req.criticality.replicas
        spec = self.modes[mode]
        est_s = spec.modelled_s(ops)
        est_j = spec.power_w * est_s
        work = [s for m, s in self.modes.items() if m is not PowerMode.OFF and s.tops > 0]
        max_t = req.max_time_s or cfg.budget_margin * max(s.modelled_s(ops) for s in work)
        max_j = req.max_energy_j or cfg.budget_margin * max(
            s.power_w * s.modelled_s(ops) for s in work
        )
        if est_s > max_t:
            return self._reject(
                RejectReason.OVER_TIME_BUDGET, f"needs {est_s:.1f} s > budget {max_t:.1f} s"
            )
        if est_j > max_j:
            return self._reject(
                RejectReason.OVER_ENERGY_BUDGET, f"needs {est_j:.0f} J > budget {max_j:.0f} J"
            )
        if len(self.jobs) >= cfg.queue_depth:
            return self._reject(RejectReason.QUEUE_FULL, f"{len(self.jobs)} jobs active")
        job = Job(
            self._next_id, req.kind, req.priority, now + round(req.deadline_s * NS_PER_S),
            req.criticality, req.scene_id, req.tiles, now, ops, est_s, est_j, max_t, max_j,
            self._seq,
        )  # fmt: skip
        if cfg.admission:
            test = edf_admit if cfg.policy is Policy.EDF else fifo_admit
            if not test(list(self.jobs.values()), job, now, rate * cfg.admission_derate):
                return self._reject(
                    RejectReason.DEADLINE_INFEASIBLE,
                    f"{req.kind.name.lower()} x{req.tiles} cannot finish within "
                    f"{req.deadline_s:.0f} s at {rate / 1e12 * cfg.admission_derate:.0f} TOPS",
                )
        if origin is not None and inputs is not None:
            try:
                self.store.save_served(job.job_id, origin[0], origin[1], inputs)
            except (HalError, ValueError) as exc:
                self._store_error("served record", exc)
                return self._reject(RejectReason.COMPUTE_UNAVAILABLE, f"NV: {exc}")
        self._next_id += 1
        self._seq += 1
        try:
            self.store.save_seq(self._next_id)
            self.store.checkpoint(job)
            self.hk.checkpoints += 1
        except HalError as exc:
            self._store_error("checkpoint", exc)
        self.jobs[job.job_id] = job
        if inputs is not None:
            self.remote_inputs[job.job_id] = inputs
        self.hk.queue_len = len(self.jobs)
        self.emit(
            "job_accepted", job_id=job.job_id, kind=req.kind.name.lower(), tiles=req.tiles,
            deadline_s=req.deadline_s, crit=req.criticality.name.lower(),
        )  # fmt: skip
        return Admission(True, job.job_id)

    def _rate(self, limits: Limits) -> float:
        """Sustained ops/s new work would run at now (admission's derated rate; 0: none)."""
        _, rate = choose_mode(self.modes, self._start_limits(limits))
        return rate * self.config.admission_derate

    def local_estimate(self, req: JobRequest) -> tuple[float, float | None]:
        """(modelled ops of ``req``, all replicas; seconds from now until it would finish
        here behind the queued work, or None when compute is unavailable)."""
        cfg = self.config
        ops = tile_ops(cfg.tile_px, req.kind.detect) * cfg.ops_scale * req.tiles
        ops *= req.criticality.replicas
        rate = self._rate(self._read_limits(self.clock.now_ns()))
        if rate <= 0.0 or not self._store_ready:
            return ops, None
        backlog = sum(j.remaining_ops() for j in self.jobs.values())
        return ops, (backlog + ops) / rate

    def status(self, now: int) -> NodeStatus:
        """This node's budget as advertised to its neighbours."""
        limits = self._read_limits(now)
        rate = self._rate(limits) if self._store_ready else 0.0
        backlog = sum(j.remaining_ops() for j in self.jobs.values())
        return NodeStatus(
            now, limits.allowed and rate > 0.0, len(self.jobs), self.config.queue_depth, rate,
            backlog / rate if rate > 0.0 else 0.0, limits.budget_w,
            limits.thermal_cap_w / self._full_power_w if self._full_power_w > 0 else 0.0,
        )  # fmt: skip

    def allocate_id(self) -> int:
        """A fresh job id (a remote result stored here)."""
        job_id = self._next_id
        self._next_id += 1
        try:
            self.store.save_seq(self._next_id)
        except HalError as exc:
            self._store_error("sequence write", exc)
        return job_id

    def store_remote_result(self, rec: ResultRecord) -> None:
        """Keep a verified remote result with this node's results (downlinked like them)."""
        try:
            stored = self.store.store(rec)
        except HalError as exc:
            self._store_error("result write", exc)
            return
        self.hk.results_stored += 1
        self.emit("result_stored", job_id=rec.job_id, crc=stored.crc)

    def _reject(self, reason: RejectReason, detail: str) -> Admission:
        self.hk.jobs_rejected += 1
        self.rejections[reason] += 1
        counter = _REJECT_COUNTER[reason]
        setattr(self.hk, counter, getattr(self.hk, counter) + 1)
        self.emit("job_rejected", reason=reason.name, detail=detail)
        return Admission(False, 0, reason, detail)

    # -- commands ---------------------------------------------------------------------------
    def cmd_submit(self, **args: Any) -> None:
        """PUS-8 submit (arguments as declared): admission refusals fail the TC with a reason."""
        adm = self.submit(_job_request(args))
        if not adm.accepted:
            code = (
                FailureCode.ILLEGAL_ARGUMENT
                if adm.reason is RejectReason.MALFORMED
                else FailureCode.NOT_ALLOWED
            )
            assert adm.reason is not None
            raise CommandError(f"job rejected: {adm.reason.name}: {adm.detail}", code)

    def check_submit(self, **args: Any) -> None:
        """Acceptance check of a submit: a malformed request is refused before execution."""
        try:
            problem = _malformed(_job_request(args), self.config)
        except ValueError as exc:
            problem = str(exc)
        if problem:
            raise CommandError(f"malformed job request: {problem}", FailureCode.ILLEGAL_ARGUMENT)

    def check_cancel(self, job_id: int) -> None:
        """Acceptance check: the job must be active."""
        if job_id not in self.jobs:
            raise CommandError(f"no active job {job_id}", FailureCode.ILLEGAL_ARGUMENT)

    def check_downlink(self, job_id: int) -> None:
        """Acceptance check: the result must be stored."""
        if job_id not in self.store.results:
            raise CommandError(f"no stored result {job_id}", FailureCode.ILLEGAL_ARGUMENT)

    def cmd_cancel(self, job_id: int) -> None:
        """PUS-8 cancel of an active job."""
        if not self.cancel(job_id):
            raise CommandError(f"no active job {job_id}", FailureCode.ILLEGAL_ARGUMENT)

    def cmd_list(self) -> None:
        """PUS-8 list: TM[report_service,1] and a job_list event."""
        self.report_list()

    def cmd_downlink(self, job_id: int) -> None:
        """PUS-8 downlink: queue a stored result's report again."""
        try:
            self.store.requeue(job_id)
        except KeyError:
            raise CommandError(f"no stored result {job_id}", FailureCode.ILLEGAL_ARGUMENT) from None
        except HalError as exc:
            raise CommandError(f"storage: {exc}", FailureCode.EXECUTION_FAILED) from exc

    def cancel(self, job_id: int) -> bool:
        """Cancel an active job (a chunk in flight is left to finish and discarded)."""
        job = self.jobs.get(job_id)
        if job is None:
            return False
        self._finish(job, JobState.CANCELLED)
        self.emit("job_cancelled", job_id=job_id)
        return True

    def report_list(self) -> bytes:
        """Emit the job list (TM if a sender is wired, and an event); returns the TM data."""
        now = self.clock.now_ns()
        jobs = order(self.jobs.values(), self.config.policy)[:_MAX_LIST]
        data = bytes([len(jobs)]) + b"".join(
            _LIST_ITEM.pack(
                j.job_id, int(j.kind), int(j.state), j.priority, int(j.criticality),
                (j.deadline_ns - now) / NS_PER_S, j.progress.next_tile, j.tiles,
            )
            for j in jobs
        )  # fmt: skip
        if self.send_tm is not None:
            self.send_tm(self.config.report_service, 1, data)
        self.emit("job_list", n=len(self.jobs), ids=",".join(str(j.job_id) for j in jobs[:20]))
        return data

    # -- the cycle --------------------------------------------------------------------------
    def step(self, t_ns: int) -> None:
        """One executor cycle (see the module docstring)."""
        dt_s = 0.0 if self._last_ns is None else max(0, t_ns - self._last_ns) / NS_PER_S
        self._last_ns = t_ns
        if not self._store_ready:
            self.on_init()  # retry loading the NV state; nothing is admitted until it works
        limits = self._read_limits(t_ns)
        self.bucket.accrue(limits.budget_w, dt_s)
        if self.generator is not None:
            for req in self.generator.due(t_ns):
                if self.offload is not None:
                    self.offload.arrive(req, t_ns)
                else:
                    self.submit(req)
        if self.offload is not None:
            self.offload.step(t_ns)
        try:
            reading = self.accelerator.read()
            if self._unavailable:
                self._unavailable = False
            self._acc_mode = reading.mode
            self.max_accel_power_w = max(self.max_accel_power_w, reading.power_w)
            self._service(t_ns, dt_s, limits, reading.status)
        except DeviceUnavailableError as exc:
            self._on_unavailable(exc)
        except HalError as exc:  # a device command refused: lose the chunk, go on
            self.emit("accel_unavailable", error=repr(exc))
            if self._inflight is not None:
                self._lost(self._inflight, t_ns, "device error", hang=False)
        if self._commanded_power_w() > limits.thermal_cap_w + 1e-6:
            self.thermal_violations += 1
        self._retry_unsaved()
        self._downlink(t_ns)
        self._write_journal()
        self._refresh_hk(limits)

    def _read_limits(self, now: int) -> Limits:
        cfg = self.config
        bus = self.bus
        budget = bus.latest(PowerBudget)
        if budget is None or now - budget.t_ns > cfg.budget_stale_s * NS_PER_S:
            budget_w = cfg.default_compute_w
        else:
            budget_w = max(0.0, budget.compute_w)
        throttle = bus.latest(ThermalThrottle)
        frac = 1.0 if throttle is None else min(1.0, max(0.0, throttle.max_power_frac))
        allowed, why = True, ""
        mode = bus.latest(ModeStatus)
        if mode is not None and mode.mode is not Mode.NOMINAL:
            allowed, why = False, f"spacecraft mode {mode.mode.name}"
        power = bus.latest(PowerStatus)
        if power is not None and power.shed_level >= ShedLevel.COMPUTE:
            allowed, why = False, f"load shedding {power.shed_level.name}"
        self.limits = Limits(budget_w, frac * self._full_power_w, allowed, why)
        return self.limits

    def _start_limits(self, limits: Limits) -> Limits:
        """The limits new work is started under: the thermal cap less ``cap_margin`` (a
        hysteresis, so that a cap hovering at a mode's power does not start and preempt
        chunks in turn)."""
        cap = limits.thermal_cap_w
        if cap < self._full_power_w:  # no margin needed below an unthrottled cap
            cap *= 1.0 - self.config.cap_margin
        return Limits(limits.budget_w, cap, limits.allowed, limits.why)

    def _service(self, now: int, dt_s: float, limits: Limits, status: AcceleratorStatus) -> None:
        if self._inflight is not None and not self._poll(now, limits, status):
            return
        self._drop_late(now)
        mode, _ = choose_mode(self.modes, self._start_limits(limits))
        job = self._next_job()
        if job is None or mode is None:
            self._idle(dt_s, force_off=mode is None)
            return
        cfg = self.config
        spec = self.modes[mode]
        n = min(cfg.tiles_per_chunk, job.tiles - job.progress.next_tile)
        ops = tile_ops(cfg.tile_px, job.kind.detect) * cfg.ops_scale * n
        reps = job.criticality.replicas
        est_s = spec.modelled_s(ops) * reps
        est_j = spec.power_w * est_s
        p = job.progress
        if p.used_time_s + est_s > job.max_time_s * (1 + 1e-9):
            self._abort(
                job, f"time {p.used_time_s + est_s:.1f} s would exceed {job.max_time_s:.1f} s"
            )
            return
        if p.used_energy_j + est_j > job.max_energy_j * (1 + 1e-9):
            self._abort(
                job, f"energy {p.used_energy_j + est_j:.0f} J would exceed {job.max_energy_j:.0f} J"
            )
            return
        if not self.bucket.can_start(est_j):
            self._idle(dt_s, force_off=False)
            return
        try:
            weights = self.model.get()
        except FlightError as exc:  # weights region BAD and its golden copy unusable
            self._abort(job, f"weights unavailable: {exc}")
            return
        acc = self.accelerator
        if self._acc_mode is not mode:
            acc.set_mode(mode)
            self._acc_mode = mode
        try:
            given = self.remote_inputs.get(job.job_id)
            if given is not None:  # a neighbour's job: its inputs came with it
                tiles = given[p.next_tile : p.next_tile + n]
            else:
                tiles = self.imager.read_tiles(job.scene_id, p.next_tile, n).bands
        except HalError as exc:
            self._abort(job, f"imager: {exc}")
            return
        ids: list[int] = []
        try:
            for _ in range(reps):
                ids.append(
                    acc.submit(process_tiles, tiles, *weights.arrays(), job.kind.detect, ops=ops)
                )
        except HalError:
            if ids:
                acc.reset()
                self.hk.accel_resets += 1
            raise
        timeout = now + round((est_s * cfg.timeout_factor + cfg.timeout_min_s) * NS_PER_S)
        self._inflight = _Chunk(
            job, p.next_tile, n, mode, spec.power_w, ids, now, est_s, est_j, timeout
        )
        self.bucket.debit(est_j)
        job.state = JobState.RUNNING
        self._idle_s = 0.0

    def _poll(self, now: int, limits: Limits, status: AcceleratorStatus) -> bool:
        """Check the chunk in flight; True when the accelerator is free for new work."""
        ch = self._inflight
        assert ch is not None
        acc = self.accelerator
        try:
            for jid in ch.ids:
                if jid not in ch.results:
                    res = acc.result(jid)
                    if res is not None:
                        ch.results[jid] = res
        except DeviceFaultError:
            self._lost(ch, now, "accelerator lost the work", hang=False)
            return True
        if len(ch.results) == len(ch.ids):
            self._inflight = None
            self._complete(ch, now)
            return True
        over_cap = ch.power_w > limits.thermal_cap_w + 1e-6
        if (over_cap or not limits.allowed) and self.config.throttle_preempt:
            why = limits.why or f"thermal cap {limits.thermal_cap_w:.0f} W < {ch.power_w:.0f} W"
            self._reset_accelerator()
            self.hk.preemptions += 1
            self.emit("preempted", job_id=ch.job.job_id, why=why)
            self._charge_lost(ch, now)
            self._inflight = None
            if ch.job.state is JobState.RUNNING:
                ch.job.state = JobState.QUEUED
            return True
        if now >= ch.timeout_ns:
            self.hk.hangs += 1
            self.emit("accel_hang", job_id=ch.job.job_id, tile=ch.first_tile, status=status.name)
            self._reset_accelerator()
            self._lost(ch, now, "hang", hang=True)
            return True
        return False

    def _commanded_power_w(self) -> float:
        """Accelerator power the executor has commanded now (W): the running chunk's mode
        power, else the idle power of the mode it is in."""
        if self._inflight is not None:
            return self._inflight.power_w
        return self.modes[self._acc_mode].idle_w

    def _reset_accelerator(self) -> None:
        self.accelerator.reset()
        self.hk.accel_resets += 1

    def _charge_lost(self, ch: _Chunk, now: int) -> None:
        """Account work that produced nothing: the accelerator drew its mode power since
        the submission, except for replicas that finished (their energy is exact)."""
        done_j = sum(r.energy_j for r in ch.results.values())
        done_s = sum(r.modelled_s for r in ch.results.values())
        busy_s = max(done_s, (now - ch.submit_ns) / NS_PER_S)
        energy = done_j + ch.power_w * (busy_s - done_s)
        p = ch.job.progress
        p.used_time_s += busy_s
        p.used_energy_j += energy
        self.hk.energy_j += energy
        self.bucket.debit(energy - ch.est_energy_j)

    def _lost(self, ch: _Chunk, now: int, why: str, *, hang: bool) -> None:
        """The chunk's work is gone: charge it, resume the job from its NV checkpoint."""
        self._inflight = None
        self._charge_lost(ch, now)
        job = ch.job
        if job.state.final:
            return
        job.state = JobState.QUEUED
        if hang:
            job.progress.retries += 1
            if job.progress.retries > self.config.max_retries:
                self._fail(job, f"{why}: {job.progress.retries - 1} retries exhausted")
                return
        self._resume(job)
        self._check_budget(job)

    def _resume(self, job: Job) -> None:
        """Restore the job's progress from its NV checkpoint (usage so far is kept)."""
        try:
            saved = self.store.read_checkpoint(job.job_id).progress
        except (HalError, RecordError) as exc:
            self._store_error("checkpoint read", exc)
            return  # the in-memory progress is the last checkpointed one anyway
        p = job.progress
        saved.used_time_s, saved.used_energy_j = p.used_time_s, p.used_energy_j
        saved.retries = p.retries
        saved.disagreements, saved.corrected_words = p.disagreements, p.corrected_words
        job.progress = saved
        self.hk.resumes += 1
        self.emit("job_resumed", job_id=job.job_id, tile=saved.next_tile)

    def _complete(self, ch: _Chunk, now: int) -> None:
        job = ch.job
        results = [ch.results[i] for i in ch.ids]
        energy = sum(r.energy_j for r in results)
        p = job.progress
        p.used_time_s += sum(r.modelled_s for r in results)
        p.used_energy_j += energy
        self.hk.energy_j += energy
        self.bucket.debit(energy - ch.est_energy_j)
        if job.state.final:  # cancelled while the chunk ran
            return
        job.state = JobState.QUEUED
        outs = [as_outputs(r.outputs) for r in results]
        crit = job.criticality
        if crit is Criticality.DETECT:
            words = compare(outs[0], outs[1])
            if words:
                self._disagree(job, ch, words, "chunk re-run")
                p.retries += 1
                if p.retries > self.config.max_retries:
                    self._fail(job, "replicas kept disagreeing")
                else:
                    self._check_budget(job)
                return
            mask, logits = outs[0]
        elif crit is Criticality.CORRECT:
            (mask, logits), words = vote(outs)
            if words:
                p.corrected_words += words
                self.hk.corrected_words += words
                self._disagree(job, ch, words, "outvoted")
        else:
            mask, logits = outs[0]
        p.detections.extend(find_detections(mask, logits, job.kind.heads, ch.first_tile))
        p.cloud_px += int(mask.sum())
        p.total_px += int(mask.size)
        p.next_tile += ch.n_tiles
        if p.next_tile >= job.tiles:
            job.t_done_ns = max(r.t_done_ns for r in results)
            self._finish(job, JobState.COMPLETED)
            return
        try:
            self.store.checkpoint(job)
            self.hk.checkpoints += 1
        except HalError as exc:
            self._store_error("checkpoint", exc)
        self._check_budget(job)

    def _disagree(self, job: Job, ch: _Chunk, words: int, action: str) -> None:
        job.progress.disagreements += 1
        self.hk.disagreements += 1
        self.emit(
            "redundancy_disagreement", job_id=job.job_id, tile=ch.first_tile, words=words,
            action=action,
        )  # fmt: skip

    def _check_budget(self, job: Job) -> None:
        p = job.progress
        if job.state.final:
            return
        if p.used_time_s > job.max_time_s:
            self._abort(job, f"used {p.used_time_s:.1f} s > budget {job.max_time_s:.1f} s")
        elif p.used_energy_j > job.max_energy_j:
            self._abort(job, f"used {p.used_energy_j:.0f} J > budget {job.max_energy_j:.0f} J")

    def _abort(self, job: Job, why: str) -> None:
        self._finish(job, JobState.ABORTED)
        self.emit("job_aborted", job_id=job.job_id, why=why)

    def _fail(self, job: Job, why: str) -> None:
        self._finish(job, JobState.FAILED)
        self.emit("job_failed", job_id=job.job_id, why=why)

    def _drop_late(self, now: int) -> None:
        if not self.config.drop_late:
            return
        for job in [j for j in self.jobs.values() if j.deadline_ns < now]:
            self._finish(job, JobState.MISSED)
            self.emit("job_missed", job_id=job.job_id)

    def _next_job(self) -> Job | None:
        queued = [j for j in self.jobs.values() if j.state is JobState.QUEUED]
        if not queued:
            return None
        return order(queued, self.config.policy)[0]

    def _idle(self, dt_s: float, *, force_off: bool) -> None:
        mode = self._acc_mode
        if mode is PowerMode.OFF:
            return
        idle_j = self.modes[mode].idle_w * dt_s
        self.hk.idle_energy_j += idle_j
        self.bucket.debit(idle_j)
        self._idle_s += dt_s
        if force_off or self._idle_s >= self.config.idle_off_s:
            self.accelerator.set_mode(PowerMode.OFF)
            self._acc_mode = PowerMode.OFF

    def _on_unavailable(self, exc: DeviceUnavailableError) -> None:
        if not self._unavailable:
            self._unavailable = True
            self.emit("accel_unavailable", error=str(exc))
        self._acc_mode = PowerMode.OFF
        ch = self._inflight
        if ch is not None and self._last_ns is not None:
            self._lost(ch, self._last_ns, "power loss", hang=False)

    # -- finishing, storing, downlink -------------------------------------------------------
    def _finish(self, job: Job, state: JobState) -> None:
        job.state = state
        self.jobs.pop(job.job_id, None)
        self.hk.queue_len = len(self.jobs)
        self.finished[job.job_id] = state
        if len(self.finished) > 4096:
            del self.finished[next(iter(self.finished))]
        self._settle(job, state)
        hk = self.hk
        if state is JobState.COMPLETED:
            hk.jobs_completed += 1
            if job.t_done_ns <= job.deadline_ns:
                hk.deadline_met += 1
            else:
                hk.deadline_missed += 1
            self._save_result(job)
            p = job.progress
            self.emit(
                "job_completed", job_id=job.job_id, exec_s=p.used_time_s,
                energy_j=p.used_energy_j, n_det=len(p.detections),
                met="met" if job.t_done_ns <= job.deadline_ns else "MISSED",
            )  # fmt: skip
            return
        if state is JobState.MISSED:
            hk.deadline_missed += 1
        elif state is JobState.ABORTED:
            hk.jobs_aborted += 1
        elif state is JobState.FAILED:
            hk.jobs_failed += 1
        elif state is JobState.CANCELLED:
            hk.jobs_cancelled += 1
        try:
            self.store.drop_checkpoint(job.job_id)
        except HalError as exc:
            self._store_error("checkpoint delete", exc)

    def _settle(self, job: Job, state: JobState) -> None:
        """The job's final outcome in the ledger (jobs of this origin) or back to the
        neighbour that sent it."""
        now = self.clock.now_ns()
        if self.remote_inputs.pop(job.job_id, None) is not None:
            try:
                self.store.drop_served(job.job_id)
            except HalError as exc:
                self._store_error("served record delete", exc)
        if self.offload is not None and job.job_id in self.offload.served:
            self.offload.served_final(job)
            return
        if state is JobState.COMPLETED:
            outcome = Outcome.COMPLETED_LOCAL
        elif state is JobState.MISSED:
            outcome = Outcome.MISSED
        else:  # aborted over budget, failed, cancelled
            outcome = Outcome.FAILED
        met = state is JobState.COMPLETED and job.t_done_ns <= job.deadline_ns
        self.ledger.close(("local", job.job_id), outcome, max(now, job.t_done_ns), met=met)

    def _save_result(self, job: Job) -> None:
        try:
            rec = self.store.store(ResultRecord.from_job(job))
        except HalError as exc:
            self._store_error("result write", exc)
            self._unsaved.append(job)
            return
        self.hk.results_stored += 1
        self.emit("result_stored", job_id=job.job_id, crc=rec.crc)
        try:
            self.store.drop_checkpoint(job.job_id)
        except HalError as exc:
            self._store_error("checkpoint delete", exc)

    def _retry_unsaved(self) -> None:
        if not self._unsaved:
            return
        pending, self._unsaved = self._unsaved, []
        for job in pending:
            self._save_result(job)

    def _store_error(self, op: str, exc: Exception) -> None:
        self.hk.store_errors += 1
        self.emit("store_error", op=op, error=str(exc))

    def _downlink(self, now: int) -> None:
        if self.send_tm is None or now < self._next_downlink_ns:
            return
        pending = self.store.pending()
        if not pending:
            return
        rec = self.store.results[pending[0]]
        self.send_tm(self.config.report_service, 2, encode_report(rec))
        self.hk.downlink_sent += 1
        self._next_downlink_ns = now + round(self.config.downlink_interval_s * NS_PER_S)
        try:
            self.store.mark_sent(rec.job_id)
        except HalError as exc:
            self._store_error("ledger write", exc)

    def _refresh_hk(self, limits: Limits) -> None:
        hk = self.hk
        hk.queue_len = len(self.jobs)
        hk.running_job = self._inflight.job.job_id if self._inflight is not None else 0
        hk.accel_mode = _MODE_CODE[self._acc_mode]
        hk.credit_j = max(-3.0e38, min(3.0e38, self.bucket.credit_j))
        hk.budget_w = limits.budget_w
        hk.thermal_cap_w = limits.thermal_cap_w
        hk.downlink_pending = min(0xFFFF, len(self.store.pending()))

    # -- reporting --------------------------------------------------------------------------
    def describe_tm(self) -> dict[str, Any]:
        """The TM this component sends itself (TM[report_service,1|2]) for the ground
        dictionary: plain data in the item grammar of ``TmtcService.SERVICES``."""

        def enum(e: type[JobKind | JobState | Criticality | Head]) -> dict[str, int]:
            return {m.name: int(m) for m in e}

        job = {"name": "job_id", "type": "u32"}
        kind = {"name": "kind", "type": "u8", "enum": enum(JobKind)}
        state = {"name": "state", "type": "u8", "enum": enum(JobState)}
        crit = {"name": "criticality", "type": "u8", "enum": enum(Criticality)}
        job_item = [job, kind, state, {"name": "priority", "type": "u8"}, crit,
                    {"name": "deadline_in_s", "type": "f32", "unit": "s"},
                    {"name": "next_tile", "type": "u16"}, {"name": "tiles", "type": "u16"}]
        detection = [{"name": "tile", "type": "u16"},
                     {"name": "head", "type": "u8", "enum": enum(Head)},
                     {"name": "row", "type": "u16", "unit": "px"},
                     {"name": "col", "type": "u16", "unit": "px"},
                     {"name": "score", "type": "f32"}]
        result = [job, kind, state, crit, {"name": "deadline_met", "type": "u8", "max": 1},
                  {"name": "t_done_ns", "type": "u64", "unit": "ns", "doc": "onboard time"},
                  {"name": "crc32c", "type": "u32", "doc": "CRC-32C of the stored result"},
                  {"name": "cloud_frac", "type": "f32"},
                  {"name": "energy_j", "type": "f32", "unit": "J"},
                  {"name": "exec_s", "type": "f32", "unit": "s"},
                  {"name": "disagreements", "type": "u16"},
                  {"name": "corrected_words", "type": "u32"},
                  {"name": "n_detections", "type": "u16", "doc": "all detections of the job"},
                  {"name": "detections", "type": "array", "count": "n_detections",
                   "max_count": _MAX_REPORT_DETS, "items": detection}]
        return {
            "service": self.config.report_service, "name": "compute reports", "tc": [],
            "tm": [
                {"subtype": 1, "name": "job_list", "layout": [
                    {"name": "n", "type": "u8"},
                    {"name": "jobs", "type": "array", "count": "n", "items": job_item}]},
                {"subtype": 2, "name": "job_result", "layout": result},
            ],
        }  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """The ``compute`` section of the run summary (JSON-serialisable)."""
        hk = self.hk
        done = hk.jobs_completed
        return {
            "policy": self.config.policy.value,
            "jobs_submitted": hk.jobs_submitted,
            "jobs_rejected": hk.jobs_rejected,
            "rejected_by_reason": {r.name.lower(): n for r, n in self.rejections.items()},
            "jobs_completed": done,
            "jobs_failed": hk.jobs_failed,
            "jobs_aborted": hk.jobs_aborted,
            "jobs_cancelled": hk.jobs_cancelled,
            "jobs_active": len(self.jobs),
            "deadline_met": hk.deadline_met,
            "deadline_missed": hk.deadline_missed,
            "energy_j": hk.energy_j,
            "idle_energy_j": hk.idle_energy_j,
            "energy_per_job_j": hk.energy_j / done if done else 0.0,
            "redundancy_disagreements": hk.disagreements,
            "tmr_corrected_words": hk.corrected_words,
            "hangs": hk.hangs,
            "accel_resets": hk.accel_resets,
            "resumes": hk.resumes,
            "preemptions": hk.preemptions,
            "checkpoints": hk.checkpoints,
            "results_stored": len(self.store.results),
            "downlink_sent": hk.downlink_sent,
            "downlink_pending": len(self.store.pending()),
            "store_errors": hk.store_errors,
            "thermal_violations": self.thermal_violations,
            "max_accel_power_w": self.max_accel_power_w,
            "max_energy_debt_j": -self.bucket.min_credit_j,
            "weight_repairs": self.model.repairs,
            "jobs": self.ledger.summary(),
            "persistence": dict(self.persistence),
            "offload": self.offload.summary() if self.offload is not None else None,
        }


def _job_request(args: dict[str, Any]) -> JobRequest:
    """A :class:`JobRequest` from the decoded arguments of the ``submit`` command
    (``ValueError`` for an unknown kind or criticality)."""
    return JobRequest(
        JobKind(args["kind"]), args["priority"], args["deadline_s"],
        Criticality(args["criticality"]), args["scene_id"], args["tiles"],
        args["max_time_s"], args["max_energy_j"],
    )  # fmt: skip


def _malformed(req: JobRequest, cfg: ExecutorConfig) -> str:
    """Why a request is malformed ('' if it is not)."""
    try:
        JobKind(req.kind)
        Criticality(req.criticality)
    except ValueError as exc:
        return str(exc)
    if not 0 <= req.priority <= 7:
        return f"priority {req.priority} outside 0..7"
    if not (math.isfinite(req.deadline_s) and req.deadline_s > 0):
        return f"deadline {req.deadline_s} s must be finite and > 0"
    if not 1 <= req.tiles <= cfg.max_tiles:
        return f"tiles {req.tiles} outside 1..{cfg.max_tiles}"
    if not 0 <= req.scene_id <= 0xFFFFFFFF:
        return f"scene {req.scene_id} outside the u32 range"
    for name in ("max_time_s", "max_energy_j"):
        v = getattr(req, name)
        if not (math.isfinite(v) and v >= 0):
            return f"{name} {v} must be finite and >= 0"
    return ""


def encode_report(rec: ResultRecord) -> bytes:
    """Application data of the result summary TM (see the module docstring)."""
    dets = rec.detections[:_MAX_REPORT_DETS]
    head = _RESULT_HEAD.pack(
        rec.job_id, int(rec.kind), int(rec.state), int(rec.criticality), int(rec.deadline_met),
        rec.t_done_ns, rec.crc, rec.cloud_frac, rec.energy_j, rec.exec_s,
        min(rec.disagreements, 0xFFFF), min(rec.corrected_words, 0xFFFFFFFF),
        min(len(rec.detections), 0xFFFF),
    )  # fmt: skip
    return head + b"".join(
        _RESULT_DET.pack(d.tile, int(d.head), d.row, d.col, d.score) for d in dets
    )
