"""The executor end to end on the simulated accelerator and storage: PUS-8 commands and
PUS-3 housekeeping (decoded with spacepackets), admission, budgets, thermal throttle,
hang recovery from NV checkpoints, redundancy under injected bit errors, reboot, EDF vs FIFO.

Oracles: the NumPy reference of the EO processing on the same tiles, crcmod's CRC-32C,
spacepackets' decoder, closed-form energy and mode figures.
"""

from __future__ import annotations

import struct
from typing import Any

import crcmod.predefined
import pytest
from spacepackets.ecss import PusTc, PusTm

from flight.compute import (
    ComputeExecutor,
    Criticality,
    ExecutorConfig,
    JobKind,
    JobRequest,
    JobState,
    Policy,
    RejectReason,
    WorkloadConfig,
    detector_weights,
    find_detections,
    process_tiles_ref,
)
from flight.core import Executive, FailureCode, SimClock, seconds_to_ns
from flight.messages import Mode, ModeStatus, PowerBudget, ThermalThrottle
from flight.node import attach_plant
from flight.testing import install_app
from flight.tmtc import TmtcService
from hal.accelerator import PowerMode
from hal.registry import open_backend
from hal.sim._scenes import make_tiles
from native.errors import ConfigError

APID = 0x64
CID = 40
_crc32c = crcmod.predefined.mkCrcFun("crc-32c")
SUBMIT = struct.Struct(">BBfBIHff")
#: Seed of the rigs' sim backend: the imager's scenes derive from it.
IMAGER_SEED = 3


class Rig:
    """Executive + SimClock + bus + TmtcService + the executor on the sim backend."""

    def __init__(self, backend: Any = None, base_hz: float = 2.0, **cfg: Any) -> None:
        if backend is None:
            backend = open_backend("sim", seed=3)
            backend.create("accelerator", "accel", {"noise_c": 0.0})
            backend.create("storage", "nv", {})
        if "imager" not in backend.devices:
            backend.create("imager", "imager", {})
        self.backend = backend
        self.acc = backend.device("accel")
        self.nv = backend.device("nv")
        self.clock = SimClock(backend.t_ns)
        self.ex = Executive(self.clock, base_hz)
        self.tm: list[bytes] = []
        self.tmtc = TmtcService(self.ex, APID, sinks=[self.tm.append], hk_interval_s=1e4)
        attach_plant(self.ex, backend, base_hz)
        cfg.setdefault("seed", 5)
        self.comp = ComputeExecutor(
            self.acc,
            self.nv,
            backend.device("imager"),
            ExecutorConfig(**cfg),
            component_id=CID,
            send_tm=self.tmtc.send_tm,
        )
        self.ex.add(self.comp, base_hz)
        self.ex.start()

    def limits(self, budget_w: float = 5000.0, frac: float = 1.0) -> None:
        t = self.clock.now_ns()
        self.ex.bus.publish(PowerBudget(t, budget_w, 0.0, 0.9, 0.3, 100.0))
        self.ex.bus.publish(ThermalThrottle(t, frac, "test"))

    def run(self, seconds: float) -> None:
        self.ex.run_for(seconds_to_ns(seconds))

    def events(self, name: str) -> list[str]:
        return [r.message for r in self.ex.events.find(name)]

    def tc(self, opcode: int, args: bytes = b"") -> list[PusTm]:
        start = len(self.tm)
        tc = PusTc(
            apid=APID,
            service=8,
            message_subtype=1,
            app_data=struct.pack(">H", CID << 8 | opcode) + args,
        )
        self.tmtc.process(tc.pack())
        return [PusTm.unpack(p, timestamp_len=self.tmtc.time_code.length) for p in self.tm[start:]]

    def tms(self, service: int, subtype: int) -> list[bytes]:
        out = []
        for p in self.tm:
            tm = PusTm.unpack(p, timestamp_len=self.tmtc.time_code.length)
            if (tm.service, tm.message_subtype) == (service, subtype):
                out.append(tm.source_data)
        return out


def reference_detections(seed: int, kind: JobKind, scene: int, tiles: int) -> list[tuple[Any, ...]]:
    x = make_tiles(seed, scene, 0, tiles)
    mask, logits = process_tiles_ref(x, *detector_weights().arrays(), kind.detect)
    return [(d.tile, d.head, d.row, d.col) for d in find_detections(mask, logits, kind.heads)]


def result_detections(rig: Rig, job_id: int) -> list[tuple[Any, ...]]:
    rec = rig.comp.store.results[job_id]
    return [(d.tile, d.head, d.row, d.col) for d in rec.detections]


def test_job_runs_to_a_stored_result_equal_to_the_reference() -> None:
    rig = Rig()
    rig.limits(5000.0)
    adm = rig.comp.submit(JobRequest(JobKind.SHIP_DETECT, 3, 300.0, Criticality.NORMAL, 21, 3))
    assert adm.accepted and adm.job_id == 1
    rig.run(40)
    assert rig.comp.finished[1] is JobState.COMPLETED
    assert result_detections(rig, 1) == reference_detections(
        IMAGER_SEED, JobKind.SHIP_DETECT, 21, 3
    )
    blob = rig.nv.read("cres-00000001")
    assert int.from_bytes(blob[-4:], "big") == _crc32c(blob[:-4]) == rig.comp.store.results[1].crc
    # modelled energy: 3 tiles at HIGH (budget 5 kW): ops / tops * power
    spec = rig.acc.modes[PowerMode.HIGH]
    ops = 3 * 64 * 64 * 771 * 4e8
    assert rig.comp.summary()["energy_j"] == pytest.approx(spec.power_w * ops / (spec.tops * 1e12))
    # the result summary went down as TM[140,2], CRC included
    (report,) = rig.tms(140, 2)
    job_id, _, state, _, met = struct.unpack_from(">IBBBB", report)
    assert (job_id, state, met) == (1, JobState.COMPLETED, 1)
    assert struct.unpack_from(">I", report, 16)[0] == rig.comp.store.results[1].crc
    s = rig.comp.summary()
    assert (s["jobs_completed"], s["deadline_met"], s["downlink_pending"]) == (1, 1, 0)


def test_pus_submit_list_cancel_and_housekeeping() -> None:
    rig = Rig()
    rig.limits(5000.0)
    ok = rig.tc(1, SUBMIT.pack(3, 5, 600.0, 2, 8, 4, 0.0, 0.0))
    assert [t.message_subtype for t in ok if t.service == 1] == [1, 3, 7]  # accepted .. completed
    bad_kind = rig.tc(1, SUBMIT.pack(9, 5, 600.0, 2, 8, 4, 0.0, 0.0))
    fail = [t for t in bad_kind if t.service == 1]
    assert fail[0].message_subtype == 2
    assert struct.unpack(">IH", fail[0].source_data)[1] == FailureCode.ILLEGAL_ARGUMENT
    too_big = rig.tc(1, SUBMIT.pack(2, 5, 600.0, 0, 8, 5000, 0.0, 0.0))  # > max_tiles
    fail = [t for t in too_big if t.service == 1 and t.message_subtype == 2]  # at acceptance
    assert struct.unpack(">IH", fail[0].source_data)[1] == FailureCode.ILLEGAL_ARGUMENT
    late = rig.tc(1, SUBMIT.pack(2, 5, 1.0, 0, 8, 400, 0.0, 0.0))  # cannot meet 1 s
    fail = [t for t in late if t.service == 1 and t.message_subtype == 8]
    assert struct.unpack(">IH", fail[0].source_data)[1] == FailureCode.NOT_ALLOWED
    assert "DEADLINE_INFEASIBLE" in rig.events("job_rejected")[-1]
    rig.tc(1, SUBMIT.pack(1, 1, 3000.0, 0, 9, 2, 0.0, 0.0))
    rig.tc(3)
    (listing,) = rig.tms(140, 1)
    n = listing[0]
    items = [struct.unpack_from(">IBBBBfHH", listing, 1 + 16 * i) for i in range(n)]
    assert [(i[0], i[1], i[4], i[7]) for i in items] == [
        (1, 3, 2, 4),
        (2, 1, 0, 2),
    ]  # ids only for admitted jobs
    cancel = rig.tc(2, struct.pack(">I", 2))
    assert [t.message_subtype for t in cancel if t.service == 1] == [1, 3, 7]
    again = rig.tc(2, struct.pack(">I", 2))
    assert [t.message_subtype for t in again if t.service == 1] == [
        2
    ]  # no active job: refused at acceptance
    rig.tmtc.report_housekeeping(CID)
    (hk,) = rig.tms(3, 25)
    (sid,) = struct.unpack_from(">H", hk)
    values = rig.comp.DECLARATION.hk_struct.unpack(hk[2:])
    names = [f.name for f in rig.comp.DECLARATION.telemetry]
    hkd = dict(zip(names, values, strict=True))
    assert sid == CID
    # the malformed requests (bad kind, too many tiles) were refused at TC acceptance and
    # never reached the executor; the late one was an admission refusal
    assert (hkd["jobs_submitted"], hkd["jobs_rejected"], hkd["jobs_cancelled"]) == (3, 1, 1)
    assert (hkd["rej_malformed"], hkd["rej_deadline"], hkd["queue_len"]) == (0, 1, 1)
    assert rig.tmtc.hk.rej_argument == 3  # bad kind, too many tiles, cancel of no job


def test_admission_reasons_and_unavailable_compute() -> None:
    rig = Rig(queue_depth=2)
    rig.limits(5000.0)
    sub = rig.comp.submit
    r = JobRequest(JobKind.CLOUD_MASK, 1, 600.0, Criticality.NORMAL, 1, 2)
    assert (
        sub(
            JobRequest(JobKind.SHIP_DETECT, 1, 600.0, Criticality.NORMAL, 1, 4, max_time_s=0.5)
        ).reason
        is RejectReason.OVER_TIME_BUDGET
    )
    assert (
        sub(
            JobRequest(JobKind.SHIP_DETECT, 1, 600.0, Criticality.NORMAL, 1, 4, max_energy_j=10.0)
        ).reason
        is RejectReason.OVER_ENERGY_BUDGET
    )
    assert (
        sub(JobRequest(JobKind.SHIP_DETECT, 1, float("nan"), Criticality.NORMAL, 1, 4)).reason
        is RejectReason.MALFORMED
    )
    assert sub(r).accepted and sub(r).accepted
    assert sub(r).reason is RejectReason.QUEUE_FULL
    rig.ex.bus.publish(ModeStatus(rig.clock.now_ns(), Mode.SAFE, 0, "test"))
    assert sub(r).reason is RejectReason.COMPUTE_UNAVAILABLE
    s = rig.comp.summary()["rejected_by_reason"]
    assert s == {
        "queue_full": 1, "deadline_infeasible": 0, "over_time_budget": 1,
        "over_energy_budget": 1, "compute_unavailable": 1, "malformed": 1,
    }  # fmt: skip
    rig.run(10)  # SAFE: nothing runs, the accelerator is switched off
    assert rig.acc.read().mode is PowerMode.OFF and rig.comp.summary()["jobs_completed"] == 0


def _busy_for(rig: Rig, seconds: float) -> bool:
    ch = rig.comp._inflight
    return ch is not None and ch.submit_ns + ch.est_s * 1e9 - rig.clock.now_ns() > seconds * 1e9


def test_thermal_throttle_and_power_budget_are_honoured() -> None:
    rig = Rig(base_hz=2.0)
    rig.limits(budget_w=5000.0, frac=0.4)  # cap 800 W: LOW only (MID 900 W)
    rig.comp.submit(JobRequest(JobKind.SHIP_DETECT, 1, 3000.0, Criticality.NORMAL, 1, 30))
    modes = set()
    for _ in range(20):
        rig.run(1.0)
        modes.add(rig.acc.read().mode)
        assert rig.acc.read().power_w <= 800.0
    assert modes <= {PowerMode.LOW}
    while not _busy_for(rig, 1.0):
        rig.run(0.5)  # until a chunk is in flight with more than 1 s to go
    rig.limits(budget_w=5000.0, frac=0.0)  # stop: the chunk in flight is preempted
    rig.run(1.0)
    assert rig.acc.read().power_w == 0.0 and rig.comp.hk.preemptions == 1
    # budget 200 W: the average accelerator power over 120 s stays within it + bucket
    rig.limits(budget_w=200.0, frac=1.0)
    e0 = rig.comp.hk.energy_j + rig.comp.hk.idle_energy_j
    rig.run(120.0)
    used = rig.comp.hk.energy_j + rig.comp.hk.idle_energy_j - e0
    assert 0.5 * 200.0 * 120.0 < used <= 200.0 * (120.0 + rig.comp.config.energy_bucket_s) + 1e-6
    assert rig.comp.summary()["thermal_violations"] == 0


def test_over_budget_job_is_aborted() -> None:
    rig = Rig()
    rig.limits(5000.0)  # admission estimates at HIGH
    req = JobRequest(JobKind.SHIP_DETECT, 1, 3000.0, Criticality.NORMAL, 2, 6)
    ops = 6 * 64 * 64 * 771 * 4e8
    adm = rig.comp.submit(
        JobRequest(**{**req.__dict__, "max_time_s": 1.2 * ops / 1200e12})
        if False
        else JobRequest(
            req.kind, 1, 3000.0, Criticality.NORMAL, 2, 6, max_time_s=1.2 * ops / 1200e12
        )
    )
    assert adm.accepted
    rig.run(1.0)
    rig.limits(5000.0, frac=0.2)  # throttled to LOW: 6x slower, the time budget runs out
    rig.run(60.0)
    assert rig.comp.finished[adm.job_id] is JobState.ABORTED
    assert "exceed" in rig.events("job_aborted")[0] or "budget" in rig.events("job_aborted")[0]
    assert "cckp-00000001" not in rig.nv.list()


def test_hang_is_detected_reset_and_job_resumes_from_checkpoint() -> None:
    rig = Rig(base_hz=2.0)
    rig.limits(5000.0)
    adm = rig.comp.submit(JobRequest(JobKind.FIRE_DETECT, 4, 600.0, Criticality.NORMAL, 13, 5))
    rig.run(3.0)  # a few tiles done and checkpointed
    done_before = rig.comp.jobs[adm.job_id].progress.next_tile
    assert 1 <= done_before < 5
    rig.acc.apply_fault("accelerator_hang", None, {})
    rig.run(30.0)
    s = rig.comp.summary()
    assert s["hangs"] == 1 and s["accel_resets"] == 1 and s["resumes"] == 1
    assert rig.acc.read().resets == 1
    assert "resumes from its checkpoint" in rig.events("job_resumed")[0]
    assert rig.comp.finished[adm.job_id] is JobState.COMPLETED
    assert result_detections(rig, adm.job_id) == reference_detections(
        IMAGER_SEED, JobKind.FIRE_DETECT, 13, 5
    )


def test_tmr_outvotes_injected_bit_errors_and_dual_detects_them() -> None:
    rig = Rig(max_retries=1)
    rig.limits(5000.0)
    rig.acc.apply_fault("accelerator_bit_errors", None, {"bits_per_result": 2})
    tmr = rig.comp.submit(JobRequest(JobKind.SHIP_DETECT, 4, 600.0, Criticality.CORRECT, 17, 3))
    rig.run(30.0)
    assert rig.comp.finished[tmr.job_id] is JobState.COMPLETED
    rec = rig.comp.store.results[tmr.job_id]
    assert rec.disagreements == 3 and rec.corrected_words >= 3
    assert result_detections(rig, tmr.job_id) == reference_detections(
        IMAGER_SEED, JobKind.SHIP_DETECT, 17, 3
    )
    assert rig.acc.injected_bit_flips == 3 * 3 * 2
    dual = rig.comp.submit(JobRequest(JobKind.SHIP_DETECT, 4, 600.0, Criticality.DETECT, 17, 1))
    rig.run(30.0)  # every run is corrupted: detected each time, then failed
    assert rig.comp.finished[dual.job_id] is JobState.FAILED
    assert rig.comp.summary()["redundancy_disagreements"] == 3 + rig.comp.config.max_retries + 1
    assert "replicas differ" in rig.events("redundancy_disagreement")[-1]


def test_reboot_loses_no_result_and_resumes_jobs() -> None:
    backend = open_backend("sim", seed=3)
    backend.create("accelerator", "accel", {"noise_c": 0.0})
    backend.create("storage", "nv", {})
    rig = Rig(backend)
    rig.limits(5000.0)
    first = rig.comp.submit(JobRequest(JobKind.FIRE_DETECT, 4, 600.0, Criticality.NORMAL, 3, 2))
    rig.run(10.0)
    second = rig.comp.submit(JobRequest(JobKind.SHIP_DETECT, 4, 900.0, Criticality.NORMAL, 4, 6))
    queued = rig.comp.submit(JobRequest(JobKind.CLOUD_MASK, 1, 900.0, Criticality.NORMAL, 5, 3))
    rig.run(2.0)
    assert rig.comp.finished[first.job_id] is JobState.COMPLETED
    progress = rig.comp.jobs[second.job_id].progress.next_tile
    assert 0 < progress < 6
    stored = dict(rig.comp.store.results)
    backend.reboot()
    rig2 = Rig(backend)  # the executor re-created over the same storage
    rig2.limits(5000.0)
    assert rig2.comp.store.results == stored
    assert set(rig2.comp.jobs) == {second.job_id, queued.job_id}
    assert rig2.comp.jobs[second.job_id].progress.next_tile == progress
    assert (
        rig2.comp.submit(JobRequest(JobKind.CLOUD_MASK, 1, 900.0, Criticality.NORMAL, 5, 1)).job_id
        == 4
    )
    rig2.run(40.0)
    assert rig2.comp.finished[second.job_id] is JobState.COMPLETED
    assert result_detections(rig2, second.job_id) == reference_detections(
        IMAGER_SEED, JobKind.SHIP_DETECT, 4, 6
    )
    assert set(rig2.comp.store.results) == {1, 2, 3, 4}


def _deadline_case(policy: str) -> dict[str, Any]:
    """A survey arrives first, then urgent alerts every 20 s: FIFO makes them wait."""
    rig = Rig(policy=Policy(policy), base_hz=2.0)
    rig.limits(1000.0)  # MID, 600 TOPS: a ship tile takes 2.1 s
    rig.comp.submit(JobRequest(JobKind.SHIP_DETECT, 1, 900.0, Criticality.NORMAL, 1, 60))
    for k in range(10):
        rig.run(20.0)
        rig.comp.submit(JobRequest(JobKind.FIRE_DETECT, 6, 30.0, Criticality.NORMAL, 10 + k, 2))
    rig.run(400.0)
    return rig.comp.summary()


def test_edf_meets_more_deadlines_than_fifo() -> None:
    edf, fifo = _deadline_case("edf"), _deadline_case("fifo")
    assert edf["deadline_met"] == 11 and edf["deadline_missed"] == 0
    assert edf["deadline_met"] >= 1.3 * fifo["deadline_met"]
    assert fifo["rejected_by_reason"]["deadline_infeasible"] >= 5


def test_install_from_configuration() -> None:
    backend = open_backend("sim", seed=1)
    backend.create("accelerator", "accel", {})
    backend.create("storage", "nv", {})
    backend.create("imager", "imager", {})
    clock = SimClock()
    ex = Executive(clock, 10.0)
    tmtc = TmtcService(ex, APID, sinks=[])
    app = install_app(
        "compute",
        {"policy": "fifo", "queue_depth": 8, "workload": {"mean_interarrival_s": 5.0}},
        executive=ex,
        backend=backend,
        tmtc=tmtc,
        seed=9,
    )
    assert app.executor.config.policy is Policy.FIFO and app.executor.config.seed == 9
    assert ex.by_name("compute") is app.executor
    ex.run_for(seconds_to_ns(30.0))
    s = app.summary()
    for key in (
        "jobs_submitted",
        "jobs_rejected",
        "jobs_completed",
        "deadline_met",
        "deadline_missed",
        "energy_j",
        "energy_per_job_j",
        "redundancy_disagreements",
    ):
        assert key in s
    assert s["workload_generated"] == s["jobs_submitted"] > 0
    for bad in (
        {"policy": "lifo"},
        {"queue_depth": 0},
        {"bogus": 1},
        {"accelerator": "nope"},
        {"workload": {"classes": {"x": {"kind": "weather"}}}},
    ):
        ex2 = Executive(SimClock(), 10.0)
        with pytest.raises(ConfigError):
            install_app("compute", bad, executive=ex2, backend=backend)
        assert [c.name for c in ex2.components] == ["exec"]  # nothing was added
    assert WorkloadConfig.from_section({}).enabled
