"""Synthetic Earth-observation scenes: what the simulated imager sees along the ground track.

A *scene* is a strip of square tiles (``tile_px`` x ``tile_px`` pixels, three bands) imaged
at acquisition number ``scene_id`` along the ground track (one every
:data:`hal.imager.SCENE_PERIOD_S`). The sub-satellite point of the acquisition comes from a
circular-orbit ground track (:func:`ground_track`) and sets how much of the strip is land (a
smooth "continent" function of latitude and longitude). Each tile is generated from
``(seed, scene_id, tile)`` alone, so any tile can be regenerated on demand (it stands for the
camera's image in payload memory):

* band 0, ``vis``: visible reflectance (ocean 0.04, land 0.12, cloud 0.7, ship 0.35);
* band 1, ``nir``: near-infrared reflectance (ocean 0.02, land 0.30, cloud 0.65);
* band 2, ``tir``: thermal brightness temperature, K (ocean 290, land 300, cloud 250,
  fire +60..150 K over the land).

Land and clouds are smooth random fields (bilinear upsampling of coarse random grids);
clouds are semi-transparent in proportion to their optical depth. Ships (2x2 px, on
ocean) and fires (2x2 or 3x3 px, on land) are placed at known pixels and listed in
:class:`TileTruth`, with whether a cloud hides them: the ground truth tests score the
onboard detector against.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hal.imager import SCENE_PERIOD_S

__all__ = ["TileTruth", "ground_track", "land_fraction", "make_tile", "make_tiles"]

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
_EARTH_RATE_RAD_S = 7.2921159e-5


@dataclass(frozen=True, slots=True)
class TileTruth:
    """What was placed in a tile: object centres (row, col) and whether a cloud hides them."""

    ships: tuple[tuple[int, int, bool], ...]  #: (row, col, visible)
    fires: tuple[tuple[int, int, bool], ...]  #: (row, col, visible)
    cloud: U8  #: 1 where the cloud optical depth exceeds 0.5
    land: U8  #: 1 on land


# ---------------------------------------------------------------------------- ground track
def ground_track(
    t_s: float,
    inclination_deg: float = 53.0,
    period_s: float = 5739.0,
    lon0_deg: float = 0.0,
) -> tuple[float, float]:
    """Sub-satellite (latitude, longitude) in degrees at ``t_s`` seconds on a circular orbit
    (argument of latitude 0 at t = 0, Earth rotation included, no J2)."""
    u = 2.0 * math.pi * t_s / period_s
    inc = math.radians(inclination_deg)
    lat = math.asin(math.sin(inc) * math.sin(u))
    lon = math.atan2(math.cos(inc) * math.sin(u), math.cos(u))
    lon += math.radians(lon0_deg) - _EARTH_RATE_RAD_S * t_s
    lon = (lon + math.pi) % (2.0 * math.pi) - math.pi
    return math.degrees(lat), math.degrees(lon)


def land_fraction(lat_deg: float, lon_deg: float) -> float:
    """A smooth made-up 'continent' map: fraction of land around a point, 0.05..0.95."""
    la, lo = math.radians(lat_deg), math.radians(lon_deg)
    f = 0.6 * math.sin(2.0 * lo + 0.5) * math.cos(la) + 0.4 * math.sin(3.0 * la - lo)
    return min(0.95, max(0.05, 0.45 + 0.5 * f))


# ---------------------------------------------------------------------------- scene synthesis
@functools.lru_cache(maxsize=32)
def _bilinear_matrix(size: int, cells: int) -> NDArray[np.float64]:
    """``W`` (size x cells+1) such that ``W @ grid @ W.T`` is the bilinear upsampling of a
    (cells+1)^2 grid to size x size (pixel centres, edges clamped)."""
    x = np.linspace(0.0, cells, size, endpoint=False) + 0.5 * cells / size
    i = np.minimum(np.floor(x).astype(np.int64), cells - 1)
    f = x - i
    w = np.zeros((size, cells + 1))
    w[np.arange(size), i] = 1.0 - f
    w[np.arange(size), i + 1] = f
    w.flags.writeable = False
    return w


def _smooth_field(rng: np.random.Generator, size: int, cells: int) -> NDArray[np.float64]:
    """Bilinear upsampling of a (cells+1)^2 grid of N(0,1) values to size x size."""
    grid = rng.standard_normal((cells + 1, cells + 1))
    w = _bilinear_matrix(size, cells)
    return np.asarray(w @ grid @ w.T)


def quantile_linear(values: NDArray[np.float64], q: float) -> float:
    """``np.quantile(values, q)`` (method ``linear``) of a float64 array for one ``q`` in
    [0, 1], bit for bit: the same virtual index ``(n - 1) q``, the two order statistics from
    one partition, and NumPy's interpolation (``a + (b - a) g``, or ``b - (b - a)(1 - g)``
    for ``g >= 0.5``), without its per-call machinery (~30 us for a 64 x 64 field)."""
    flat = np.ravel(values)
    n = flat.size
    v = (n - 1) * q
    lo = min(max(math.floor(v), 0), n - 1)
    hi = min(lo + 1, n - 1)
    part = np.partition(flat, (lo, hi))
    a, b = float(part[lo]), float(part[hi])
    g = v - lo if v < n - 1 else 1.0
    diff = b - a
    return b - diff * (1.0 - g) if g >= 0.5 else a + diff * g


def _place(
    rng: np.random.Generator, allowed: NDArray[np.bool_], n: int, margin: int
) -> list[tuple[int, int]]:
    """Up to ``n`` object centres on allowed pixels, >= 8 px apart, ``margin`` from edges."""
    size = allowed.shape[0]
    inner = np.zeros_like(allowed)
    inner[margin : size - margin, margin : size - margin] = True
    cand = np.argwhere(allowed & inner)
    out: list[tuple[int, int]] = []
    if cand.shape[0] == 0 or n <= 0:
        return out
    for idx in rng.permutation(cand.shape[0])[: 50 * n]:
        r, c = int(cand[idx, 0]), int(cand[idx, 1])
        if all(max(abs(r - r2), abs(c - c2)) >= 8 for r2, c2 in out):
            out.append((r, c))
            if len(out) == n:
                break
    return out


def make_tile(
    seed: int,
    scene_id: int,
    tile: int,
    tile_px: int = 64,
    *,
    land_frac: float | None = None,
    cloud_frac: float | None = None,
) -> tuple[F32, TileTruth]:
    """Bands ``float32[3, tile_px, tile_px]`` and the truth of tile ``tile`` of a scene.

    ``land_frac``/``cloud_frac`` override the ground-track land fraction and the scene's
    random cloud cover (fractions 0..1), for fixed test scenes.
    """
    if tile_px < 16:
        raise ValueError(f"tile_px must be >= 16, got {tile_px}")
    scene_rng = np.random.default_rng([seed & 0xFFFFFFFF, scene_id & 0xFFFFFFFF, 0xC10D])
    if cloud_frac is None:
        cloud_frac = float(scene_rng.beta(0.8, 1.6))  # most scenes partly clear
    if land_frac is None:
        lat, lon = ground_track(scene_id * SCENE_PERIOD_S)
        land_frac = land_fraction(lat, lon)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, scene_id & 0xFFFFFFFF, tile & 0xFFFFFFFF])
    n = tile_px
    land_field = _smooth_field(rng, n, 3)
    land = land_field > quantile_linear(land_field, 1.0 - land_frac) if land_frac > 0 else None
    land_b = np.zeros((n, n), bool) if land is None else land
    cloud_field = 0.7 * _smooth_field(rng, n, 4) + 0.3 * _smooth_field(rng, n, 12)
    if cloud_frac <= 0.0:
        depth = np.zeros((n, n))
    else:
        thr = quantile_linear(cloud_field, 1.0 - min(cloud_frac, 1.0))
        depth = np.clip((cloud_field - thr) * 2.5, 0.0, 1.0)
    vis = np.where(land_b, 0.12, 0.04) + 0.005 * rng.standard_normal((n, n))
    nir = np.where(land_b, 0.30, 0.02) + 0.005 * rng.standard_normal((n, n))
    tir = np.where(land_b, 300.0, 290.0) + 0.5 * rng.standard_normal((n, n))
    ships = _place(rng, ~land_b, int(rng.poisson(1.2)), 5)
    fires = _place(rng, land_b, int(rng.poisson(1.0)), 5)
    for r, c in ships:
        vis[r : r + 2, c : c + 2] = 0.35
        nir[r : r + 2, c : c + 2] = 0.30
    for r, c in fires:
        s = 2 + int(rng.integers(2))
        tir[r : r + s, c : c + s] += rng.uniform(60.0, 150.0)
        vis[r : r + s, c : c + s] *= 0.6
    vis = (1.0 - depth) * vis + depth * 0.7
    nir = (1.0 - depth) * nir + depth * 0.65
    tir = (1.0 - depth) * tir + depth * 250.0
    bands = np.stack([vis, nir, tir]).astype(np.float32)
    cloud = (depth > 0.5).astype(np.uint8)
    truth = TileTruth(
        tuple((r, c, bool(depth[r, c] <= 0.05)) for r, c in ships),
        tuple((r, c, bool(depth[r, c] <= 0.05)) for r, c in fires),
        cloud,
        land_b.astype(np.uint8),
    )
    return bands, truth


def make_tiles(seed: int, scene_id: int, first: int, count: int, tile_px: int = 64) -> F32:
    """Bands of tiles ``first .. first+count-1`` of a scene, ``float32[count, 3, px, px]``."""
    return np.stack([make_tile(seed, scene_id, first + k, tile_px)[0] for k in range(count)])
