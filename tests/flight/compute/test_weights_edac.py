"""The detector weights live in an EDAC-protected region: upsets are corrected or repaired
before the detector ever uses a wrong weight (oracle: the weights' definition)."""

from __future__ import annotations

import numpy as np

from flight.compute import ModelStore
from flight.compute._eo import detector_weights
from flight.edac import ProtectedRegion
from flight.edac._store import MemoryBlobStore


def _equal(a, b) -> bool:  # type: ignore[no-untyped-def]
    return all(np.array_equal(x, y) for x, y in zip(a.arrays(), b.arrays(), strict=True))


def test_weights_read_through_secded_survive_single_and_double_upsets() -> None:
    region = ProtectedRegion(
        "detector", 5, 2048, kind="weights", store=MemoryBlobStore(), writable=False
    )
    store = ModelStore(region)
    truth = detector_weights()
    assert _equal(store.get(), truth)
    # one upset in a word: corrected on the read, no repair needed
    region.data[3] ^= np.uint64(1 << 17)
    assert _equal(store.get(), truth)
    assert store.repairs == 0
    # two upsets in one word: uncorrectable -> the region refuses, the store reloads golden
    region.data[5] ^= np.uint64((1 << 2) | (1 << 40))
    assert _equal(store.get(), truth)
    assert store.repairs == 1
    assert region.counters()["uncorrectable"] >= 1
