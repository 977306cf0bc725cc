"""Non-volatile records of the executor: results, checkpoints, the downlink ledger and the
job-id sequence, each a blob of the HAL storage device closed by a CRC-32C.

Blob names: ``cres-<id:08x>`` (result), ``cckp-<id:08x>`` (checkpoint), ``csrv-<id:08x>``
(a neighbour's job run here: who sent it and its input tiles), ``csent`` (magic b"SNS1",
u32 ids of results already downlinked, CRC-32C), ``cseq`` (next job id), ``cjrnl`` (the job
ledger's journal, :func:`flight.compute.encode_journal`, sealed here with a CRC-32C). All
integers big-endian.

Result record (:class:`ResultRecord`)::

    magic b"SNR1" | job_id u32 | kind u8 | state u8 | criticality u8 | priority u8
    | scene_id u32 | tiles u16 | deadline_met u8 | pad u8 | t_submit_ns u64 | t_done_ns u64
    | deadline_ns u64 | energy_j f64 | exec_s f64 | cloud_frac f32 | disagreements u16
    | corrected_words u32 | n u32 | n x detection | crc32c u32

Checkpoint record: magic b"SNK1", the job (id, kind, priority, criticality, scene, tiles,
deadlines, estimates, budgets, seq), its :class:`~flight.compute._job.Progress` and its
detections so far, then the CRC-32C. A detection is ``tile u16 | head u8 | row u16 |
col u16 | score f32``.

Served record: magic b"SNV1" | job_id u32 | ticket u32 | tiles u16 | bands u8 | px u16 |
name_len u8 | origin name (UTF-8) | inputs float32[tiles, bands, px, px] | crc32c u32.

A record whose magic, length or CRC does not match raises :class:`RecordError` and is not
used (a torn or corrupted blob is reported, never half-read). Writes of the HAL storage are
atomic, so a reset leaves either the old or the new record.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flight.compute._eo import Detection, Head
from flight.compute._job import Criticality, Job, JobKind, JobState, Progress
from hal.platform import Storage
from native import crc32c
from native.errors import FlightError, HalError

__all__ = [
    "CHECKPOINT_PREFIX",
    "RESULT_PREFIX",
    "SERVED_PREFIX",
    "RecordError",
    "ResultRecord",
    "ResultStore",
    "decode_checkpoint",
    "decode_result",
    "encode_checkpoint",
    "encode_result",
]

RESULT_PREFIX = "cres-"
CHECKPOINT_PREFIX = "cckp-"
SERVED_PREFIX = "csrv-"
_SENT = "csent"
_JOURNAL = "cjrnl"
_SRV_MAGIC = b"SNV1"
_SRV_HEAD = struct.Struct(">4sIIHBHB")
_SEQ = "cseq"
_RES_MAGIC = b"SNR1"
_CKP_MAGIC = b"SNK1"
_SENT_MAGIC = b"SNS1"
_RES_HEAD = struct.Struct(">4sIBBBBIHBBQQQddfHII")
_CKP_HEAD = struct.Struct(">4sIBBBIHqqdddddQHddHHIIQQI")
_DET = struct.Struct(">HBHHf")
_CRC = struct.Struct(">I")
_U32 = struct.Struct(">I")


class RecordError(FlightError):
    """A stored record is corrupt, truncated or of an unknown format."""


def _seal(body: bytes) -> bytes:
    return body + _CRC.pack(crc32c(body))


def _open(blob: bytes, magic: bytes, what: str) -> bytes:
    if len(blob) < 8 or blob[:4] != magic:
        raise RecordError(f"{what}: bad magic or too short ({len(blob)} octets)")
    body, (crc,) = blob[:-4], _CRC.unpack(blob[-4:])
    if crc32c(body) != crc:
        raise RecordError(f"{what}: CRC-32C mismatch")
    return body


def _pack_dets(dets: list[Detection]) -> bytes:
    return b"".join(_DET.pack(d.tile, int(d.head), d.row, d.col, d.score) for d in dets)


def _unpack_dets(body: bytes, offset: int, n: int, what: str) -> list[Detection]:
    if len(body) != offset + n * _DET.size:
        raise RecordError(f"{what}: {len(body)} octets, expected {offset + n * _DET.size}")
    out = []
    for i in range(n):
        tile, head, row, col, score = _DET.unpack_from(body, offset + i * _DET.size)
        out.append(Detection(tile, Head(head), row, col, score))
    return out


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """The stored outcome of a completed job (what the ground receives)."""

    job_id: int
    kind: JobKind
    state: JobState
    criticality: Criticality
    priority: int
    scene_id: int
    tiles: int
    deadline_met: bool
    t_submit_ns: int
    t_done_ns: int
    deadline_ns: int
    energy_j: float
    exec_s: float
    cloud_frac: float
    disagreements: int
    corrected_words: int
    detections: tuple[Detection, ...]
    crc: int = 0  #: CRC-32C of the encoded record (filled by encode/decode)

    @classmethod
    def from_job(cls, job: Job) -> ResultRecord:
        """The record of a finished job."""
        p = job.progress
        return cls(
            job.job_id,
            job.kind,
            job.state,
            job.criticality,
            job.priority,
            job.scene_id,
            job.tiles,
            job.t_done_ns <= job.deadline_ns,
            job.submit_ns,
            job.t_done_ns,
            job.deadline_ns,
            p.used_energy_j,
            p.used_time_s,
            p.cloud_px / p.total_px if p.total_px else 0.0,
            p.disagreements,
            p.corrected_words,
            tuple(p.detections),
        )


def encode_result(r: ResultRecord) -> bytes:
    """The blob of a result record (its CRC-32C is the last four octets)."""
    head = _RES_HEAD.pack(
        _RES_MAGIC,
        r.job_id,
        int(r.kind),
        int(r.state),
        int(r.criticality),
        r.priority,
        r.scene_id,
        r.tiles,
        int(r.deadline_met),
        0,
        r.t_submit_ns,
        r.t_done_ns,
        r.deadline_ns,
        r.energy_j,
        r.exec_s,
        r.cloud_frac,
        min(r.disagreements, 0xFFFF),
        min(r.corrected_words, 0xFFFFFFFF),
        len(r.detections),
    )
    return _seal(head + _pack_dets(list(r.detections)))


def decode_result(blob: bytes) -> ResultRecord:
    """Parse and check a result blob (RecordError if corrupt)."""
    body = _open(blob, _RES_MAGIC, "result")
    if len(body) < _RES_HEAD.size:
        raise RecordError("result: truncated header")
    f = _RES_HEAD.unpack_from(body)
    try:
        kind, state, crit = JobKind(f[2]), JobState(f[3]), Criticality(f[4])
    except ValueError as exc:
        raise RecordError(f"result: {exc}") from None
    dets = _unpack_dets(body, _RES_HEAD.size, f[18], "result")
    return ResultRecord(
        f[1], kind, state, crit, f[5], f[6], f[7], bool(f[8]), f[10], f[11], f[12],
        f[13], f[14], f[15], f[16], f[17], tuple(dets), _CRC.unpack(blob[-4:])[0],
    )  # fmt: skip


def encode_checkpoint(job: Job) -> bytes:
    """The checkpoint blob of a job: its description and progress."""
    p = job.progress
    head = _CKP_HEAD.pack(
        _CKP_MAGIC,
        job.job_id,
        int(job.kind),
        job.priority,
        int(job.criticality),
        job.scene_id,
        job.tiles,
        job.deadline_ns,
        job.submit_ns,
        job.est_ops,
        job.est_time_s,
        job.est_energy_j,
        job.max_time_s,
        job.max_energy_j,
        job.seq,
        p.next_tile,
        p.used_time_s,
        p.used_energy_j,
        min(p.retries, 0xFFFF),
        min(p.disagreements, 0xFFFF),
        min(p.corrected_words, 0xFFFFFFFF),
        len(p.detections),
        p.cloud_px,
        p.total_px,
        0,
    )
    return _seal(head + _pack_dets(p.detections))


def decode_checkpoint(blob: bytes) -> Job:
    """Rebuild a queued job from its checkpoint blob (RecordError if corrupt)."""
    body = _open(blob, _CKP_MAGIC, "checkpoint")
    if len(body) < _CKP_HEAD.size:
        raise RecordError("checkpoint: truncated header")
    f = _CKP_HEAD.unpack_from(body)
    try:
        kind, crit = JobKind(f[2]), Criticality(f[4])
    except ValueError as exc:
        raise RecordError(f"checkpoint: {exc}") from None
    dets = _unpack_dets(body, _CKP_HEAD.size, f[21], "checkpoint")
    progress = Progress(f[15], f[16], f[17], f[18], f[19], f[20], f[22], f[23], dets)
    return Job(
        f[1], kind, f[3], f[7], crit, f[5], f[6], f[8], f[9], f[10], f[11], f[12], f[13],
        f[14], JobState.QUEUED, progress,
    )  # fmt: skip


def _name(prefix: str, job_id: int) -> str:
    return f"{prefix}{job_id:08x}"


class ResultStore:
    """Results, checkpoints, the downlink ledger and the id sequence on a HAL storage device.

    ``max_results`` bounds the stored results: beyond it the oldest results that were
    already downlinked are deleted (a result not yet downlinked is never deleted).
    """

    def __init__(self, storage: Storage, max_results: int = 256) -> None:
        self.storage = storage
        self.max_results = max_results
        self.results: dict[int, ResultRecord] = {}
        self.sent: set[int] = set()
        self.corrupt: list[str] = []  #: blobs found corrupt at load (names)

    # -- boot -------------------------------------------------------------------------------
    def load(self) -> list[Job]:
        """Read every record; returns the checkpointed jobs (to resume). Corrupt blobs are
        listed in :attr:`corrupt` and left in place for the ground to inspect."""
        self.results.clear()
        self.corrupt.clear()
        names = self.storage.list()
        for name in names:
            if name.startswith(RESULT_PREFIX):
                try:
                    rec = decode_result(self.storage.read(name))
                except (RecordError, HalError):  # damaged, or unreadable this time
                    self.corrupt.append(name)
                    continue
                self.results[rec.job_id] = rec
        self.sent = set()
        if _SENT in names:
            try:
                body = _open(self.storage.read(_SENT), _SENT_MAGIC, "sent ledger")
            except (RecordError, HalError):
                body = _SENT_MAGIC
                self.corrupt.append(_SENT)
            n = (len(body) - 4) // 4
            self.sent = {_U32.unpack_from(body, 4 + 4 * i)[0] for i in range(n)}
            self.sent &= set(self.results)
        jobs: list[Job] = []
        for name in names:
            if not name.startswith(CHECKPOINT_PREFIX):
                continue
            try:
                job = decode_checkpoint(self.storage.read(name))
            except (RecordError, HalError):
                self.corrupt.append(name)
                continue
            if job.job_id in self.results:  # finished before the reset: the result wins
                with contextlib.suppress(HalError):  # a stale checkpoint may stay; harmless
                    self.storage.delete(name)
                continue
            jobs.append(job)
        return sorted(jobs, key=lambda j: j.seq)

    def next_id(self) -> int:
        """The first job id not used before (from the stored sequence and records)."""
        seq = 1
        names = self.storage.list()
        if _SEQ in names:
            try:
                blob = self.storage.read(_SEQ)
            except HalError:
                blob = b""
            if len(blob) == 8 and crc32c(blob[:4]) == _U32.unpack(blob[4:])[0]:
                seq = _U32.unpack(blob[:4])[0]
            else:  # damaged or unreadable: the record names below still bound the ids used
                self.corrupt.append(_SEQ)
        for name in names:
            for prefix in (RESULT_PREFIX, CHECKPOINT_PREFIX, SERVED_PREFIX):
                if name.startswith(prefix):
                    with contextlib.suppress(ValueError):
                        seq = max(seq, int(name[len(prefix) :], 16) + 1)
        return seq

    def save_seq(self, next_id: int) -> None:
        """Persist the next job id."""
        body = _U32.pack(next_id)
        self.storage.write(_SEQ, body + _U32.pack(crc32c(body)))

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint(self, job: Job) -> None:
        """Write (replace) the job's checkpoint."""
        self.storage.write(_name(CHECKPOINT_PREFIX, job.job_id), encode_checkpoint(job))

    def read_checkpoint(self, job_id: int) -> Job:
        """The job as last checkpointed (RecordError if corrupt, HalError if absent)."""
        return decode_checkpoint(self.storage.read(_name(CHECKPOINT_PREFIX, job_id)))

    def drop_checkpoint(self, job_id: int) -> None:
        """Delete the job's checkpoint if there is one."""
        name = _name(CHECKPOINT_PREFIX, job_id)
        if name in self.storage.list():
            self.storage.delete(name)

    # -- results ----------------------------------------------------------------------------
    def store(self, rec: ResultRecord) -> ResultRecord:
        """Write a result (then its checkpoint may go); returns it with its CRC."""
        blob = encode_result(rec)
        self.storage.write(_name(RESULT_PREFIX, rec.job_id), blob)
        stored = decode_result(blob)
        self.results[rec.job_id] = stored
        self._prune()
        return stored

    def pending(self) -> list[int]:
        """Ids of stored results not yet downlinked, oldest first."""
        return sorted(set(self.results) - self.sent)

    def mark_sent(self, job_id: int) -> None:
        """Record that a result's report went out (persisted)."""
        self.sent.add(job_id)
        self._write_sent()

    def requeue(self, job_id: int) -> None:
        """Queue a stored result's report for downlink again (KeyError if not stored)."""
        if job_id not in self.results:
            raise KeyError(job_id)
        self.sent.discard(job_id)
        self._write_sent()

    def _write_sent(self) -> None:
        ids = sorted(self.sent)
        body = _SENT_MAGIC + b"".join(_U32.pack(i) for i in ids)
        self.storage.write(_SENT, _seal(body))

    def _prune(self) -> None:
        excess = len(self.results) - self.max_results
        if excess <= 0:
            return
        for job_id in sorted(self.sent)[:excess]:
            self.storage.delete(_name(RESULT_PREFIX, job_id))
            del self.results[job_id]
            self.sent.discard(job_id)
        self._write_sent()

    # -- neighbours' jobs -------------------------------------------------------------------
    def save_served(
        self, job_id: int, origin: str, ticket: int, inputs: NDArray[np.float32]
    ) -> None:
        """Keep a neighbour's job's origin, ticket and input tiles (float32[tiles, bands, px,
        px]) so that a reset neither runs it on this node's own scene nor forgets whom the
        result goes to (HalError when the storage refuses it: nothing kept)."""
        tiles, bands, px, px2 = inputs.shape
        raw = origin.encode()
        if px != px2 or not raw or len(raw) > 255:
            raise ValueError(f"served record: bad origin {origin!r} or input shape {inputs.shape}")
        head = _SRV_HEAD.pack(_SRV_MAGIC, job_id, ticket, tiles, bands, px, len(raw))
        body = head + raw + np.ascontiguousarray(inputs, dtype=">f4").tobytes()
        self.storage.write(_name(SERVED_PREFIX, job_id), _seal(body))

    def load_served(self) -> dict[int, tuple[str, int, NDArray[np.float32]]]:
        """Every served record: job id -> (origin, ticket, inputs). Corrupt ones are listed in
        :attr:`corrupt` and left in place."""
        out: dict[int, tuple[str, int, NDArray[np.float32]]] = {}
        for name in self.storage.list():
            if not name.startswith(SERVED_PREFIX):
                continue
            try:
                body = _open(self.storage.read(name), _SRV_MAGIC, "served record")
                _, job_id, ticket, tiles, bands, px, n = _SRV_HEAD.unpack_from(body)
                start = _SRV_HEAD.size + n
                data = body[start:]
                if len(data) != 4 * tiles * bands * px * px:
                    raise RecordError("served record: input size does not match its shape")
                origin = body[_SRV_HEAD.size : start].decode()
            except (RecordError, HalError, struct.error, UnicodeDecodeError):
                self.corrupt.append(name)
                continue
            inputs = np.frombuffer(data, dtype=">f4").astype(np.float32)
            out[job_id] = (origin, ticket, inputs.reshape(tiles, bands, px, px))
        return out

    def drop_served(self, job_id: int) -> None:
        """Delete a served record if there is one."""
        name = _name(SERVED_PREFIX, job_id)
        if name in self.storage.list():
            self.storage.delete(name)

    # -- the ledger's journal ---------------------------------------------------------------
    def write_journal(self, body: bytes) -> None:
        """Replace the job ledger's journal (sealed with a CRC-32C; atomic)."""
        self.storage.write(_JOURNAL, _seal(body))

    def read_journal(self, magic: bytes) -> bytes | None:
        """The journal's body (None: none written yet; RecordError if corrupt)."""
        if _JOURNAL not in self.storage.list():
            return None
        try:
            blob = self.storage.read(_JOURNAL)
        except HalError as exc:
            raise RecordError(f"journal: unreadable: {exc}") from None
        return _open(blob, magic, "journal")
