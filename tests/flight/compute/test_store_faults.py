"""NV storage faults at boot and an unusable weights region never lose or overwrite results,
and never raise out of the executor's step."""

from __future__ import annotations

import numpy as np

from flight.compute import Criticality, JobKind, JobRequest, JobState
from flight.compute._store import _SEQ, RESULT_PREFIX
from hal.registry import open_backend
from native.errors import DeviceCommandError
from tests.flight.compute.test_executor import Rig


def test_unreadable_sequence_blob_at_boot_does_not_reuse_job_ids() -> None:
    backend = open_backend("sim", seed=3)
    backend.create("accelerator", "accel", {"noise_c": 0.0})
    backend.create("storage", "nv", {})
    rig = Rig(backend)
    rig.limits(5000.0)
    first = rig.comp.submit(JobRequest(JobKind.CLOUD_MASK, 4, 600.0, Criticality.NORMAL, 3, 1))
    rig.run(10.0)
    assert rig.comp.finished[first.job_id] is JobState.COMPLETED
    nv = backend.device("nv")
    stored = {n: nv.read(n) for n in nv.list() if n.startswith(RESULT_PREFIX)}
    real_read = nv.read

    def flaky_read(name: str) -> bytes:
        if name == _SEQ:
            raise DeviceCommandError("NV read error")
        return real_read(name)

    nv.read = flaky_read  # type: ignore[method-assign]
    backend.reboot()
    rig2 = Rig(backend)
    rig2.limits(5000.0)
    again = rig2.comp.submit(JobRequest(JobKind.CLOUD_MASK, 4, 600.0, Criticality.NORMAL, 4, 1))
    assert again.accepted and again.job_id > first.job_id
    assert _SEQ in rig2.comp.store.corrupt
    rig2.run(10.0)
    for name, blob in stored.items():
        assert real_read(name) == blob  # the earlier result is intact


def test_unusable_weights_abort_the_job_without_raising() -> None:
    from flight.compute import ModelStore
    from flight.edac import MemoryBlobStore, ProtectedRegion

    rig = Rig()
    rig.limits(5000.0)
    store = MemoryBlobStore()
    region = ProtectedRegion("detector", 5, 2048, kind="weights", store=store, writable=False)
    rig.comp.model = ModelStore(region)
    for name in list(store.blobs):  # damage the golden copy, then make a word uncorrectable
        blob = bytearray(store.read(name))
        blob[-1] ^= 0xFF
        store.write(name, bytes(blob))
    region.data[0] ^= np.uint64(0b11)
    adm = rig.comp.submit(JobRequest(JobKind.SHIP_DETECT, 4, 600.0, Criticality.NORMAL, 3, 1))
    rig.run(10.0)
    assert rig.ex.stats["compute"].exceptions == 0
    assert rig.comp.finished[adm.job_id] is JobState.ABORTED
