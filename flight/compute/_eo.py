"""The Earth-observation workload: synthetic scenes, a cloud mask and a small conv detector.

Scenes
------
The tiles come from the payload imager (:class:`hal.Imager`): in simulation, scenes
synthesised along the ground track by ``hal.sim`` (band 0 ``vis`` and band 1 ``nir``
reflectance, band 2 ``tir`` brightness temperature in K; three bands of ``tile_px`` squared
pixels per tile).

Processing (the work that runs on the accelerator)
--------------------------------------------------
* Cloud mask: ``vis > 0.3`` and ``tir < 275 K``, then a 3x3 majority filter (>= 5 of 9).
* Detector: a two-layer convolutional network with hand-designed matched-filter weights
  (:func:`detector_weights`): a 5x5 layer of four features (centre-surround of ``vis`` for
  ships, centre-surround of ``tir`` for fires, a vegetation index, coldness), ReLU, then
  a 3x3 layer to two logit maps (ship, fire). A detection is a local maximum of a logit map
  above 0, away from clouds (:func:`find_detections`).

The convolutions run in a Numba kernel (:func:`conv2d`); :func:`conv2d_ref`,
:func:`cloud_mask_ref` and :func:`process_tiles_ref` are plain NumPy references written for
clarity and used as test oracles.

Operation counts (multiply-add = 2 ops) are exact for the proxy resolution;
:func:`tile_ops` reports them so that the executor can scale them to the flight model size.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from native import crc32c
from native.errors import FlightError
from native.jit import kernel

__all__ = [
    "BORDER_GUARD_PX",
    "CLOUD_GUARD_PX",
    "CLOUD_TIR_MAX_K",
    "CLOUD_VIS_MIN",
    "N_BANDS",
    "Detection",
    "DetectorWeights",
    "Head",
    "ModelStore",
    "cloud_mask",
    "cloud_mask_ref",
    "conv2d",
    "conv2d_ref",
    "detector_weights",
    "find_detections",
    "process_tiles",
    "process_tiles_ref",
    "tile_ops",
]

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]

N_BANDS = 3
#: Cloud test thresholds: visible reflectance above, brightness temperature below (K).
CLOUD_VIS_MIN = 0.3
CLOUD_TIR_MAX_K = 275.0
_TIR_REF_K = 290.0  # detector input normalisation: (tir - 290 K) / 50 K
_TIR_SCALE_K = 50.0
#: Detections within this many pixels of a cloudy pixel are discarded (cloud edges ring).
CLOUD_GUARD_PX = 3
#: Detections this close to a tile edge are discarded (zero padding rings there; flight
#: tiles overlap by more than this, so nothing is lost).
BORDER_GUARD_PX = 3


@enum.unique
class Head(enum.IntEnum):
    """Detector output maps."""

    SHIP = 0
    FIRE = 1


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected object: tile index in the job, head, pixel and logit score."""

    tile: int
    head: Head
    row: int
    col: int
    score: float


# ---------------------------------------------------------------------------- convolution
@kernel
def _conv2d_kernel(
    xp: F32, w: F32, b: F32, relu: bool, out: F32
) -> None:  # pragma: no cover - compiled
    # Loop order chosen so the innermost loop runs along a contiguous image row with one
    # weight held in a register: the compiler vectorises it (about 10x the naive order).
    k_out, c_in, kh, kw = w.shape
    h, wd = out.shape[1], out.shape[2]
    for k in range(k_out):
        out[k, :, :] = b[k]
        for c in range(c_in):
            for u in range(kh):
                for v in range(kw):
                    wk = w[k, c, u, v]
                    for i in range(h):
                        row = xp[c, i + u]
                        for j in range(wd):
                            out[k, i, j] += row[j + v] * wk
        if relu:
            for i in range(h):
                for j in range(wd):
                    if out[k, i, j] < 0:
                        out[k, i, j] = np.float32(0.0)


def _check_conv(x: F32, w: F32, b: F32) -> tuple[F32, F32, F32]:
    x = np.ascontiguousarray(x, dtype=np.float32)
    w = np.ascontiguousarray(w, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    if x.ndim != 3 or w.ndim != 4 or b.ndim != 1:
        raise ValueError("conv2d: x must be [C,H,W], w [K,C,kh,kw], b [K]")
    if w.shape[1] != x.shape[0] or b.shape[0] != w.shape[0]:
        raise ValueError(f"conv2d: shapes x{x.shape} w{w.shape} b{b.shape} do not agree")
    if w.shape[2] % 2 == 0 or w.shape[3] % 2 == 0:
        raise ValueError("conv2d: kernel sizes must be odd ('same' padding)")
    return x, w, b


def conv2d(x: F32, w: F32, b: F32, relu: bool = False) -> F32:
    """'Same' 2-D cross-correlation with zero padding: ``out[k,i,j] = b[k] + sum_{c,u,v}
    x[c, i+u-ph, j+v-pw] w[k,c,u,v]`` (optionally ReLU). float32 in, float32 out."""
    x, w, b = _check_conv(x, w, b)
    ph, pw = w.shape[2] // 2, w.shape[3] // 2
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    out = np.empty((w.shape[0], x.shape[1], x.shape[2]), dtype=np.float32)
    _conv2d_kernel(xp, w, b, relu, out)
    return out


def conv2d_ref(x: F32, w: F32, b: F32, relu: bool = False) -> F32:
    """NumPy reference of :func:`conv2d` (sliding windows and einsum, float64 accumulate)."""
    x, w, b = _check_conv(x, w, b)
    ph, pw = w.shape[2] // 2, w.shape[3] // 2
    xp = np.pad(x.astype(np.float64), ((0, 0), (ph, ph), (pw, pw)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (w.shape[2], w.shape[3]), axis=(1, 2))
    out = np.einsum("cijuv,kcuv->kij", win, w.astype(np.float64)) + b[:, None, None]
    if relu:
        out = np.maximum(out, 0.0)
    res: F32 = out.astype(np.float32)
    return res


# ---------------------------------------------------------------------------- the model
@dataclass(frozen=True, slots=True)
class DetectorWeights:
    """Weights of the two-layer detector (float32)."""

    w1: F32  #: [4, 3, 5, 5]
    b1: F32  #: [4]
    w2: F32  #: [2, 4, 3, 3]
    b2: F32  #: [2]

    def arrays(self) -> tuple[F32, F32, F32, F32]:
        """(w1, b1, w2, b2)."""
        return self.w1, self.b1, self.w2, self.b2

    def crc(self) -> int:
        """CRC-32C over the four arrays' bytes, in order."""
        c = 0
        for a in self.arrays():
            c = crc32c(np.ascontiguousarray(a), c)
        return c


def detector_weights() -> DetectorWeights:
    """The hand-designed matched-filter weights (deterministic; see the module docstring)."""
    dog = np.full((5, 5), -1.0 / 16.0)
    dog[1:4, 1:4] = 1.0 / 9.0
    w1 = np.zeros((4, 3, 5, 5))
    w1[0, 0] = dog  # ship: a small bright spot in vis
    w1[1, 2] = dog  # fire: a small hot spot in tir (normalised)
    w1[2, 1, 1:4, 1:4] = 1.0 / 9.0  # vegetation: nir - vis over 3x3
    w1[2, 0, 1:4, 1:4] = -1.0 / 9.0
    w1[3, 2] = -1.0 / 25.0  # coldness over 5x5: clouds, even thin ones, are cold
    b1 = np.array([-0.03, -0.25, 0.0, -0.03])
    blur = np.array([[0.05, 0.1, 0.05], [0.1, 0.4, 0.1], [0.05, 0.1, 0.05]])
    w2 = np.zeros((2, 4, 3, 3))
    w2[0, 0] = 12.0 * blur  # ship evidence
    w2[0, 2, 1, 1] = -20.0  # ... not on vegetated land
    w2[0, 3, 1, 1] = -40.0  # ... not in cold (cloudy) areas
    w2[1, 1] = 4.0 * blur  # fire evidence
    w2[1, 3, 1, 1] = -10.0
    b2 = np.array([-0.45, -0.25])
    f = np.float32
    return DetectorWeights(w1.astype(f), b1.astype(f), w2.astype(f), b2.astype(f))


class ModelStore:
    """Holds the detector weights behind an accessor that verifies them before each use.

    With an EDAC-protected region (``flight.edac.ProtectedRegion``, or anything with
    ``load(bytes)``, ``read(offset, n)``, ``reload()`` and ``size_bytes``) the weights live
    in that region: every :meth:`get` reads them through the SECDED layer (single-bit upsets
    corrected on the fly); an uncorrectable word makes the region refuse the read, and the
    store reloads the region from its golden copy and counts a repair. Without a region they
    are kept with their CRC-32C and rebuilt from their deterministic definition on mismatch.
    """

    def __init__(self, region: Any | None = None) -> None:
        self._weights = detector_weights()
        self._crc = self._weights.crc()
        self._shapes = [a.shape for a in self._weights.arrays()]
        self._nbytes = sum(a.nbytes for a in self._weights.arrays())
        self.region = region
        self.repairs = 0
        self.checks = 0
        if region is not None:
            if region.size_bytes < self._nbytes:
                raise ValueError(f"weights need {self._nbytes} B, region has {region.size_bytes} B")
            blob = b"".join(np.ascontiguousarray(a).tobytes() for a in self._weights.arrays())
            region.load(blob + bytes(region.size_bytes - len(blob)))

    def _from_region(self) -> DetectorWeights:
        assert self.region is not None
        try:
            raw = self.region.read(0, self._nbytes)
        except FlightError:  # region BAD: an uncorrectable upset; restore from golden
            self.repairs += 1
            if not self.region.reload():  # the BAD pages only
                raise
            raw = self.region.read(0, self._nbytes)
        flat = np.frombuffer(raw, dtype=np.float32)
        arrays, at = [], 0
        for shape in self._shapes:
            n = int(np.prod(shape))
            arrays.append(flat[at : at + n].reshape(shape).copy())
            at += n
        return DetectorWeights(*arrays)

    def get(self) -> DetectorWeights:
        """The weights, verified (and repaired if corrupted)."""
        self.checks += 1
        if self.region is not None:
            return self._from_region()
        if self._weights.crc() != self._crc:
            self._weights = detector_weights()
            self.repairs += 1
            if self._weights.crc() != self._crc:  # pragma: no cover - a code defect
                raise FlightError("detector weights cannot be restored")
        return self._weights

    def raw(self) -> DetectorWeights:
        """The weights without a check (for fault-injection tests)."""
        return self._weights


# ---------------------------------------------------------------------------- processing
def _normalise(tiles: F32) -> F32:
    x = np.array(tiles, dtype=np.float32, copy=True)
    x[:, 2] = (x[:, 2] - np.float32(_TIR_REF_K)) / np.float32(_TIR_SCALE_K)
    return x


_BOX3_W = np.ones((1, 1, 3, 3), dtype=np.float32)
_BOX3_B = np.zeros(1, dtype=np.float32)


def cloud_mask(tiles: F32) -> U8:
    """Cloud mask ``uint8[n, H, W]`` of tiles ``float32[n, 3, H, W]`` (1 = cloud)."""
    raw = ((tiles[:, 0] > CLOUD_VIS_MIN) & (tiles[:, 2] < CLOUD_TIR_MAX_K)).astype(np.float32)
    out = np.empty(raw.shape, dtype=np.uint8)
    for k in range(raw.shape[0]):
        votes = conv2d(raw[k][None], _BOX3_W, _BOX3_B)[0]
        out[k] = votes >= 4.5
    return out


def cloud_mask_ref(tiles: F32) -> U8:
    """NumPy reference of :func:`cloud_mask`: explicit sum of the nine shifted masks."""
    raw = ((tiles[:, 0] > CLOUD_VIS_MIN) & (tiles[:, 2] < CLOUD_TIR_MAX_K)).astype(np.int32)
    padded = np.pad(raw, ((0, 0), (1, 1), (1, 1)))
    h, w = raw.shape[1], raw.shape[2]
    shifted = [padded[:, du : du + h, dv : dv + w] for du in range(3) for dv in range(3)]
    votes = np.sum(np.stack(shifted), axis=0)
    out: U8 = (votes >= 5).astype(np.uint8)
    return out


def process_tiles(tiles: F32, w1: F32, b1: F32, w2: F32, b2: F32, detect: bool) -> tuple[U8, F32]:
    """The accelerator work of one chunk: (cloud mask ``uint8[n,H,W]``, logits
    ``float32[n,2,H,W]``; an empty ``float32[0,2,H,W]`` when ``detect`` is False)."""
    mask = cloud_mask(tiles)
    n, _, h, w = tiles.shape
    if not detect:
        return mask, np.zeros((0, 2, h, w), dtype=np.float32)
    x = _normalise(tiles)
    logits = np.empty((n, 2, h, w), dtype=np.float32)
    for k in range(n):
        feat = conv2d(x[k], w1, b1, relu=True)
        logits[k] = conv2d(feat, w2, b2)
    return mask, logits


def process_tiles_ref(
    tiles: F32, w1: F32, b1: F32, w2: F32, b2: F32, detect: bool
) -> tuple[U8, F32]:
    """NumPy reference of :func:`process_tiles`."""
    mask = cloud_mask_ref(tiles)
    n, _, h, w = tiles.shape
    if not detect:
        return mask, np.zeros((0, 2, h, w), dtype=np.float32)
    x = tiles.astype(np.float64)
    x[:, 2] = (x[:, 2] - _TIR_REF_K) / _TIR_SCALE_K
    out = np.stack(
        [
            conv2d_ref(conv2d_ref(x[k].astype(np.float32), w1, b1, relu=True), w2, b2)
            for k in range(n)
        ]
    )
    return mask, out


def tile_ops(tile_px: int, detect: bool) -> float:
    """Operations of :func:`process_tiles` for one tile (multiply-add = 2): the cloud test
    and 3x3 vote, plus the two convolution layers when ``detect``."""
    px = float(tile_px * tile_px)
    ops = px * (3.0 + 2.0 * 9.0)
    if detect:
        ops += px * (2.0 * 4 * 3 * 25 + 4 + 2.0 * 2 * 4 * 9 + 2)
    return ops


def _square_reduce(a: NDArray[Any], g: int, op: Any, fill: Any) -> NDArray[Any]:
    """``op``-reduction over the (2g+1) x (2g+1) square around each pixel (outside: ``fill``).

    Done separably, rows then columns: exact for associative, idempotent ``op`` such as
    logical OR (dilation) and maximum, with 2(2g+1) array operations instead of (2g+1)^2.
    """
    h, w = a.shape
    pad = np.pad(a, ((0, 0), (g, g)), constant_values=fill)
    rows = pad[:, 0:w].copy()
    for dv in range(1, 2 * g + 1):
        op(rows, pad[:, dv : dv + w], out=rows)
    pad = np.pad(rows, ((g, g), (0, 0)), constant_values=fill)
    res = pad[0:h, :].copy()
    for du in range(1, 2 * g + 1):
        op(res, pad[du : du + h, :], out=res)
    return res


def find_detections(
    mask: U8, logits: F32, heads: tuple[Head, ...], first_tile: int = 0
) -> list[Detection]:
    """Local maxima (3x3, ties kept once, raster order) of each head's logits above 0 that
    lie more than :data:`CLOUD_GUARD_PX` pixels from any cloudy pixel and at least
    :data:`BORDER_GUARD_PX` pixels inside the tile."""
    out: list[Detection] = []
    g = CLOUD_GUARD_PX
    for k in range(logits.shape[0]):
        m = mask[k].astype(bool)
        h, w = m.shape
        near_cloud = _square_reduce(m, g, np.logical_or, False)
        inner = np.zeros((h, w), bool)
        inner[BORDER_GUARD_PX : h - BORDER_GUARD_PX, BORDER_GUARD_PX : w - BORDER_GUARD_PX] = True
        for head in heads:
            s = logits[k, int(head)]
            neigh = _square_reduce(s, 1, np.maximum, -np.inf)
            peak = (s > 0.0) & (s >= neigh) & ~near_cloud & inner
            taken: list[tuple[int, int]] = []
            for r, c in np.argwhere(peak):
                r, c = int(r), int(c)
                if any(abs(r - r2) <= 1 and abs(c - c2) <= 1 for r2, c2 in taken):
                    continue  # a plateau: keep its first pixel only
                taken.append((r, c))
                out.append(Detection(first_tile + k, head, r, c, float(s[r, c])))
    return out


def as_outputs(obj: Any) -> tuple[U8, F32]:
    """Check that an accelerator result has the shape of :func:`process_tiles` output."""
    if not (isinstance(obj, tuple) and len(obj) == 2):
        raise FlightError(f"unexpected accelerator output {type(obj).__name__}")
    return obj[0], obj[1]
