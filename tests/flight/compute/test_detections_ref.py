"""find_detections (vectorised, separable square filters) against a pixel-by-pixel oracle
written from its docstring, on generated scenes."""

from __future__ import annotations

import numpy as np
import pytest

from flight.compute._eo import (
    BORDER_GUARD_PX,
    CLOUD_GUARD_PX,
    Head,
    detector_weights,
    find_detections,
    process_tiles,
)
from hal.sim._scenes import make_tiles


def detections_oracle(mask, logits, heads, first_tile=0):  # type: ignore[no-untyped-def]
    out = []
    g, b = CLOUD_GUARD_PX, BORDER_GUARD_PX
    for k in range(logits.shape[0]):
        m = mask[k].astype(bool)
        h, w = m.shape
        for head in heads:
            s = logits[k, int(head)]
            taken: list[tuple[int, int]] = []
            for r in range(b, h - b):
                for c in range(b, w - b):
                    v = s[r, c]
                    if v <= 0.0 or m[max(0, r - g) : r + g + 1, max(0, c - g) : c + g + 1].any():
                        continue
                    if v < s[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2].max():
                        continue
                    if any(abs(r - r2) <= 1 and abs(c - c2) <= 1 for r2, c2 in taken):
                        continue
                    taken.append((r, c))
                    out.append((first_tile + k, head, r, c))
    return out


@pytest.mark.parametrize("scene", [1, 7, 23])
def test_find_detections_matches_pixel_oracle(scene: int) -> None:
    bands = make_tiles(5, scene, 0, 6)
    mask, logits = process_tiles(bands, *detector_weights().arrays(), True)
    heads = (Head.SHIP, Head.FIRE)
    got = [(d.tile, d.head, d.row, d.col) for d in find_detections(mask, logits, heads, 10)]
    assert got == detections_oracle(mask, logits, heads, 10)
    # and the filters themselves on random data
    rng = np.random.default_rng(scene)
    mask_r = (rng.random(mask.shape) < 0.02).astype(np.uint8)
    logits_r = rng.standard_normal(logits.shape).astype(np.float32)
    got_r = [(d.tile, d.head, d.row, d.col) for d in find_detections(mask_r, logits_r, heads)]
    assert got_r == detections_oracle(mask_r, logits_r, heads)
