"""Imager interface (family ``imager``): the Earth-observation camera's tiles in payload memory.

An acquisition (a *scene*) is taken every :data:`SCENE_PERIOD_S` seconds along the ground
track and kept as a strip of square tiles; the AI executor reads the tiles it processes with
:meth:`Imager.read_tiles`. Image data is the one reading that is a NumPy array (read-only,
``float32[count, N_BANDS, tile_px, tile_px]``): band 0 visible reflectance, band 1
near-infrared reflectance, band 2 thermal brightness temperature in K.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from hal._common import Device

__all__ = ["N_BANDS", "SCENE_PERIOD_S", "ImageTiles", "Imager"]

#: Spectral bands per pixel: vis, nir, tir.
N_BANDS = 3
#: One acquisition (scene) every this many seconds along the ground track.
SCENE_PERIOD_S = 20.0


@dataclass(frozen=True, slots=True)
class ImageTiles:
    """Tiles ``first_tile .. first_tile + count - 1`` of scene ``scene_id``."""

    t_ns: int
    valid: bool
    scene_id: int
    first_tile: int
    bands: NDArray[np.float32]  #: float32[count, N_BANDS, tile_px, tile_px], read-only


@runtime_checkable
class Imager(Device, Protocol):
    """The payload camera and its image memory (family ``imager``)."""

    @property
    def tile_px(self) -> int:
        """Tile edge in pixels."""
        ...

    def read_tiles(self, scene_id: int, first_tile: int, count: int) -> ImageTiles:
        """Read ``count`` >= 1 tiles of a scene. Negative or out-of-range arguments ->
        DeviceCommandError; unpowered -> DeviceUnavailableError."""
        ...
