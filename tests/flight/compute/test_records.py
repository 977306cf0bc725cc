"""NV records (result, checkpoint, ledger) and redundancy, against independent oracles:
crcmod's CRC-32C, a NumPy majority vote, and exact round trips."""

from __future__ import annotations

import crcmod.predefined
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.compute import (
    Criticality,
    Detection,
    Head,
    Job,
    JobKind,
    JobState,
    Progress,
    RecordError,
    ResultRecord,
    ResultStore,
    compare,
    decode_checkpoint,
    decode_result,
    encode_checkpoint,
    encode_result,
    pack_words,
    unpack_words,
    vote,
)
from native.errors import DeviceCommandError

_crc32c = crcmod.predefined.mkCrcFun("crc-32c")

dets = st.lists(
    st.builds(
        Detection,
        st.integers(0, 65535),
        st.sampled_from(list(Head)),
        st.integers(0, 65535),
        st.integers(0, 65535),
        st.floats(-1e3, 1e3, width=32),
    ),
    max_size=6,
)


class DictStorage:
    """A minimal in-memory Storage (the HAL interface's shape)."""

    capacity_bytes = 1 << 20

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def write(self, name: str, data: bytes) -> None:
        self.blobs[name] = bytes(data)

    def read(self, name: str) -> bytes:
        if name not in self.blobs:
            raise DeviceCommandError(name)
        return self.blobs[name]

    def list(self) -> tuple[str, ...]:
        return tuple(sorted(self.blobs))

    def delete(self, name: str) -> None:
        if self.blobs.pop(name, None) is None:
            raise DeviceCommandError(name)


def _job(job_id: int, detections: list[Detection], next_tile: int = 1) -> Job:
    p = Progress(next_tile, 12.5, 3300.0, 1, 2, 3, 400, 8192, detections)
    return Job(
        job_id, JobKind.FIRE_DETECT, 5, 10**12, Criticality.CORRECT, 77, 4, 10**9,
        1e15, 2.5, 750.0, 20.0, 9000.0, 3, JobState.QUEUED, p,
    )  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(dets=dets, job_id=st.integers(1, 2**32 - 1), met=st.booleans())
def test_result_round_trip_and_crc(dets: list[Detection], job_id: int, met: bool) -> None:
    rec = ResultRecord(
        job_id, JobKind.SHIP_DETECT, JobState.COMPLETED, Criticality.DETECT, 3, 9, 5, met,
        1, 2, 3, 4.5, 6.5, 0.25, 1, 2, tuple(dets),
    )  # fmt: skip
    blob = encode_result(rec)
    assert int.from_bytes(blob[-4:], "big") == _crc32c(blob[:-4])  # peer CRC-32C
    back = decode_result(blob)
    assert back.crc == _crc32c(blob[:-4])
    assert back.detections == tuple(
        Detection(d.tile, d.head, d.row, d.col, float(np.float32(d.score))) for d in dets
    )
    assert (back.job_id, back.deadline_met, back.cloud_frac) == (job_id, met, 0.25)


@settings(max_examples=40, deadline=None)
@given(dets=dets, pos=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_any_corruption_is_rejected(dets: list[Detection], pos: int, bit: int) -> None:
    for blob in (
        encode_checkpoint(_job(5, dets)),
        encode_result(ResultRecord.from_job(_job(5, dets))),
    ):
        bad = bytearray(blob)
        bad[pos % len(bad)] ^= 1 << bit
        with pytest.raises(RecordError):
            (decode_checkpoint if blob[:4] == b"SNK1" else decode_result)(bytes(bad))
        with pytest.raises(RecordError):
            decode_result(blob[:-5])


def test_checkpoint_round_trip() -> None:
    job = _job(9, [Detection(0, Head.FIRE, 3, 4, 0.5)], next_tile=2)
    back = decode_checkpoint(encode_checkpoint(job))
    assert back == job


def test_store_ledger_reload_and_pruning() -> None:
    nv = DictStorage()
    store = ResultStore(nv, max_results=3)
    for i in range(1, 4):
        store.store(ResultRecord.from_job(_job(i, [])))
    store.checkpoint(_job(7, []))
    store.mark_sent(1)
    again = ResultStore(nv, max_results=3)  # a reboot
    resumed = again.load()
    assert [j.job_id for j in resumed] == [7]
    assert again.pending() == [2, 3] and set(again.results) == {1, 2, 3}
    assert again.next_id() == 8
    again.store(ResultRecord.from_job(_job(4, [])))  # over the limit: sent result 1 goes
    assert set(again.results) == {2, 3, 4} and "cres-00000001" not in nv.list()
    again.store(ResultRecord.from_job(_job(5, [])))  # nothing sent: nothing deleted
    assert set(again.results) == {2, 3, 4, 5}
    nv.blobs["cres-00000003"] = nv.blobs["cres-00000003"][:-1] + b"\0"
    third = ResultStore(nv)
    third.load()
    assert third.corrupt == ["cres-00000003"] and 3 not in third.results


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 40), flips=st.integers(1, 6))
def test_vote_corrects_single_replica_errors(seed: int, n: int, flips: int) -> None:
    rng = np.random.default_rng(seed)
    good = (
        rng.integers(0, 2, (2, n), dtype=np.uint8),
        rng.standard_normal((3, n)).astype(np.float32),
    )
    replicas = [tuple(a.copy() for a in good) for _ in range(3)]
    # each replica gets upsets in its own words: a majority always exists
    words = pack_words(good).size
    touched: set[int] = set()
    for k, rep in enumerate(replicas):
        w = pack_words(rep)
        for _ in range(flips):
            i = int(rng.integers(words))
            if i in touched:
                continue
            touched.add(i)
            w[i] ^= np.uint64(1) << np.uint64(int(rng.integers(64)))
        replicas[k] = unpack_words(w, good)
    packed = [pack_words(r) for r in replicas]
    expect_mismatch = int(np.count_nonzero((packed[0] != packed[1]) | (packed[0] != packed[2])))
    majority = (packed[0] & packed[1]) | (packed[0] & packed[2]) | (packed[1] & packed[2])
    voted, mismatches = vote(replicas)
    assert mismatches == expect_mismatch
    np.testing.assert_array_equal(pack_words(voted), majority)
    for a, b in zip(voted, good, strict=True):
        np.testing.assert_array_equal(a, b)
    assert compare(replicas[0], good) == int(np.count_nonzero(packed[0] != pack_words(good)))
