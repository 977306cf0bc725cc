"""The simulated imager: scenes synthesised along the ground track (:mod:`hal.sim._scenes`).

Keys: ``tile_px`` (64, >= 16), ``max_tiles`` (4096, tiles per scene). Tiles are a pure
function of ``(world seed, scene_id, tile)``, so reading a tile again gives the same image,
as reading payload memory does.
"""

from __future__ import annotations

from typing import ClassVar

from hal._common import Family
from hal.imager import Imager, ImageTiles
from hal.sim._base import Options, SimDevice
from hal.sim._context import DeviceContext
from hal.sim._scenes import make_tiles
from native.errors import DeviceCommandError

__all__ = ["SimImager"]


class SimImager(SimDevice, Imager):
    """Simulated payload imager."""

    family: ClassVar[Family] = Family.IMAGER

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts)
        self._tile_px = opts.integer("tile_px", 64, lo=16, hi=4096)
        self._max_tiles = opts.integer("max_tiles", 4096, lo=1)
        opts.finish()
        self._seed = ctx.seed

    @property
    def tile_px(self) -> int:
        return self._tile_px

    def read_tiles(self, scene_id: int, first_tile: int, count: int) -> ImageTiles:
        self._require_power()
        for what, v in (("scene_id", scene_id), ("first_tile", first_tile), ("count", count)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise DeviceCommandError(f"{self._name}: {what} must be an integer >= 0, got {v!r}")
        if count < 1 or first_tile + count > self._max_tiles:
            raise DeviceCommandError(
                f"{self._name}: tiles {first_tile}..{first_tile + count - 1} outside 0..{self._max_tiles - 1}"
            )
        bands = make_tiles(self._seed, scene_id, first_tile, count, self._tile_px)
        bands.flags.writeable = False
        return ImageTiles(self._now(), True, scene_id, first_tile, bands)
