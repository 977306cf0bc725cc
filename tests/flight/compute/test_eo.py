"""The EO workload against its NumPy references, closed forms and the scenes' ground truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.compute import (
    Head,
    ModelStore,
    cloud_mask,
    cloud_mask_ref,
    conv2d,
    conv2d_ref,
    detector_weights,
    find_detections,
    process_tiles,
    process_tiles_ref,
    tile_ops,
)
from flight.compute._eo import BORDER_GUARD_PX, CLOUD_GUARD_PX
from hal.sim._scenes import ground_track, make_tile, make_tiles

CONV_ATOL = 1e-4  # float32 accumulation order (Numba loop vs float64 einsum)
FIXED_SCENES = [(11, s) for s in range(12)]


@settings(max_examples=25, deadline=None)
@given(
    c=st.integers(1, 3),
    k=st.integers(1, 3),
    ks=st.sampled_from([1, 3, 5]),
    h=st.integers(4, 12),
    relu=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_conv2d_matches_reference(c: int, k: int, ks: int, h: int, relu: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c, h, h + 1)).astype(np.float32)
    w = rng.standard_normal((k, c, ks, ks)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    np.testing.assert_allclose(conv2d(x, w, b, relu), conv2d_ref(x, w, b, relu), atol=CONV_ATOL)


def test_conv2d_closed_forms() -> None:
    x = np.arange(2 * 6 * 7, dtype=np.float32).reshape(2, 6, 7)
    delta = np.zeros((2, 2, 3, 3), np.float32)
    delta[0, 0, 1, 1] = 1.0
    delta[1, 1, 1, 1] = -2.0
    out = conv2d(x, delta, np.array([0.5, 0.0], np.float32))
    np.testing.assert_array_equal(out[0], x[0] + 0.5)
    np.testing.assert_array_equal(out[1], -2.0 * x[1])
    box = np.ones((1, 1, 3, 3), np.float32)
    ones = np.ones((1, 5, 5), np.float32)
    s = conv2d(ones, box, np.zeros(1, np.float32))[0]
    assert s[2, 2] == 9 and s[0, 0] == 4 and s[0, 2] == 6  # zero padding at the edges
    with pytest.raises(ValueError):
        conv2d(ones, np.ones((1, 1, 2, 2), np.float32), np.zeros(1, np.float32))


@pytest.mark.parametrize(("seed", "scene"), FIXED_SCENES)
def test_processing_matches_reference_on_fixed_scenes(seed: int, scene: int) -> None:
    tiles = make_tiles(seed, scene, 0, 3)
    w = detector_weights().arrays()
    mask, logits = process_tiles(tiles, *w, True)
    mask_r, logits_r = process_tiles_ref(tiles, *w, True)
    np.testing.assert_array_equal(mask, mask_r)
    np.testing.assert_array_equal(cloud_mask(tiles), cloud_mask_ref(tiles))
    np.testing.assert_allclose(logits, logits_r, atol=CONV_ATOL)
    heads = (Head.SHIP, Head.FIRE)
    got = [(d.tile, d.head, d.row, d.col) for d in find_detections(mask, logits, heads)]
    ref = [(d.tile, d.head, d.row, d.col) for d in find_detections(mask_r, logits_r, heads)]
    assert got == ref
    mask_only, empty = process_tiles(tiles, *w, False)
    np.testing.assert_array_equal(mask_only, mask)
    assert empty.shape == (0, 2, 64, 64)


def test_detector_finds_the_placed_objects() -> None:
    """Recall on objects clear of cloud and tile edges, and false alarms, over 60 tiles."""
    w = detector_weights().arrays()
    hits = misses = false = 0
    for scene in range(20):
        for t in range(3):
            bands, truth = make_tile(5, scene, t)
            mask, logits = process_tiles(bands[None], *w, True)
            dets = find_detections(mask, logits, (Head.SHIP, Head.FIRE))
            m = mask[0].astype(bool)
            for head, objs in ((Head.SHIP, truth.ships), (Head.FIRE, truth.fires)):
                ds = [d for d in dets if d.head is head]
                for r, c, _visible in objs:
                    g = CLOUD_GUARD_PX + 2
                    clear = not m[max(0, r - g) : r + g + 2, max(0, c - g) : c + g + 2].any()
                    inside = min(r, c) >= BORDER_GUARD_PX + 1 and max(r, c) <= 64 - 6
                    hit = any(abs(d.row - r) <= 2 and abs(d.col - c) <= 2 for d in ds)
                    if clear and inside:
                        hits += hit
                        misses += not hit
                false += sum(
                    not any(abs(d.row - r) <= 2 and abs(d.col - c) <= 2 for r, c, _ in objs)
                    for d in ds
                )
    assert hits >= 40
    assert hits / (hits + misses) >= 0.95
    assert false <= 0.05 * hits + 1


def test_scene_is_deterministic_and_objects_at_known_pixels() -> None:
    a, ta = make_tile(3, 42, 1)
    b, tb = make_tile(3, 42, 1)
    np.testing.assert_array_equal(a, b)
    assert ta.ships == tb.ships and ta.fires == tb.fires
    assert not np.array_equal(a, make_tile(3, 43, 1)[0])
    clear, truth = make_tile(9, 1, 0, land_frac=0.5, cloud_frac=0.0)
    assert truth.cloud.sum() == 0
    for r, c, visible in truth.ships:
        assert visible and clear[0, r, c] == pytest.approx(0.35) and truth.land[r, c] == 0
    for r, c, visible in truth.fires:
        assert visible and clear[2, r, c] > 340.0 and truth.land[r, c] == 1


def test_tile_ops_closed_form() -> None:
    px = 64 * 64
    assert tile_ops(64, False) == px * 21
    assert tile_ops(64, True) == px * (21 + 2 * 4 * 3 * 25 + 4 + 2 * 2 * 4 * 9 + 2)


def test_model_store_repairs_corrupted_weights() -> None:
    store = ModelStore()
    good = store.get().w1.copy()
    store.raw().w1.reshape(-1).view(np.uint8)[17] ^= 0x10  # an upset in the weights
    np.testing.assert_array_equal(store.get().w1, good)
    assert store.repairs == 1


def test_ground_track_closed_form() -> None:
    assert ground_track(0.0) == pytest.approx((0.0, 0.0))
    lat, _ = ground_track(5739.0 / 4)  # quarter orbit: the highest latitude = inclination
    assert lat == pytest.approx(53.0)
    lats = [ground_track(t)[0] for t in np.linspace(0, 6000, 61)]
    assert max(abs(x) for x in lats) <= 53.0 + 1e-9
    _, lon = ground_track(5739.0)
    assert lon == pytest.approx(-math.degrees(7.2921159e-5 * 5739.0), abs=1e-6)
