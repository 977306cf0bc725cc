"""``world.radiation``: single-event upsets flipping bits of registered memory.

During each advance of ``dt`` seconds, of which ``t_saa`` inside the South Atlantic
Anomaly, a region of ``B`` bits receives a Poisson number of upsets with mean
``rate B (dt - t_saa + k_saa t_saa) / 86400`` (rate per bit per day, SAA enhancement
``k_saa``) at uniformly random bit positions; a fraction ``mbu_fraction`` of the upsets also
flip the adjacent bit (multiple-bit upsets). All draws come from the world's
``"world.radiation"`` random stream, so runs are reproducible from the seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from hal.sim.world import _layout as L
from hal.sim.world._core import WorldCore
from native.errors import DeviceCommandError

__all__ = ["RadiationView"]


class RadiationView:
    """Registered memory regions, their upset counts and the burst fault."""

    __slots__ = ("_bytes", "_c", "_counts", "_flips", "_names", "_rng")

    def __init__(self, core: WorldCore, rng: np.random.Generator) -> None:
        self._c = core
        self._rng = rng
        self._names: list[str] = []
        self._bytes: list[NDArray[np.uint8]] = []
        self._counts: dict[str, int] = {}
        self._flips = 0

    def register_memory(self, name: str, array: Any) -> None:
        """Expose the bytes of ``array`` (C-contiguous, writeable numpy array) to upsets.

        Registering a name again replaces the region (its count is kept).
        """
        if not isinstance(name, str) or not name:
            raise DeviceCommandError("memory region name must be a non-empty string")
        if not isinstance(array, np.ndarray):
            raise DeviceCommandError(f"memory region {name!r} must be a numpy array")
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise DeviceCommandError(f"memory region {name!r} must be C-contiguous and writeable")
        flat = array.reshape(-1).view(np.uint8)
        if name in self._names:
            self._bytes[self._names.index(name)] = flat
        else:
            self._names.append(name)
            self._bytes.append(flat)
            self._counts.setdefault(name, 0)

    def unregister_memory(self, name: str) -> None:
        """Stop upsetting region ``name``."""
        i = self._index(name)
        del self._names[i]
        del self._bytes[i]

    @property
    def regions(self) -> tuple[str, ...]:
        """Registered region names."""
        return tuple(self._names)

    @property
    def upsets_total(self) -> int:
        """Upset events so far (burst bits count one each)."""
        return sum(self._counts.values())

    @property
    def upsets_by_region(self) -> dict[str, int]:
        """Upset events per region name."""
        return dict(self._counts)

    @property
    def bits_flipped_total(self) -> int:
        """Bits flipped so far (a multiple-bit upset flips two)."""
        return self._flips

    @property
    def rate_per_bit_day(self) -> float:
        """Upset rate now (per bit per day), SAA enhancement included."""
        r = self._c.cfg.radiation
        k = r.saa_enhancement if self._c.out()[L.O_SAA] != 0.0 else 1.0
        return r.seu_rate_per_bit_day * k

    def _index(self, name: str) -> int:
        try:
            return self._names.index(name)
        except ValueError:
            raise DeviceCommandError(f"unknown memory region {name!r}") from None

    def inject_burst(self, name: str, n_bits: int) -> None:
        """Fault: flip ``n_bits`` distinct random bits of region ``name`` now."""
        i = self._index(name)
        nbits = self._bytes[i].size * 8
        if isinstance(n_bits, bool) or not isinstance(n_bits, int) or not 0 <= n_bits <= nbits:
            raise DeviceCommandError(f"n_bits must be an int in [0, {nbits}], got {n_bits!r}")
        if n_bits == 0:
            return
        pos = self._rng.choice(nbits, size=n_bits, replace=False)
        self._flip(i, pos)
        self._counts[name] += n_bits

    def _flip(self, i: int, pos: NDArray[np.int64]) -> None:
        buf = self._bytes[i]
        np.bitwise_xor.at(buf, pos >> 3, (1 << (pos & 7)).astype(np.uint8))
        self._flips += int(pos.size)

    def apply(self, dt_s: float, saa_s: float) -> None:
        """Draw and apply the upsets of an advance of ``dt_s`` s with ``saa_s`` s in the SAA."""
        if not self._names:
            return
        r = self._c.cfg.radiation
        exposure_days = (dt_s - saa_s + r.saa_enhancement * saa_s) / 86400.0
        if exposure_days <= 0.0 or r.seu_rate_per_bit_day == 0.0:
            return
        bits = np.array([b.size * 8 for b in self._bytes], dtype=np.float64)
        counts = self._rng.poisson(r.seu_rate_per_bit_day * exposure_days * bits)
        for i in np.flatnonzero(counts):
            k = int(counts[i])
            nbits = self._bytes[i].size * 8
            pos = self._rng.integers(0, nbits, size=k)
            mbu = self._rng.random(k) < r.mbu_fraction
            if mbu.any():
                second = pos[mbu] + 1
                second[second >= nbits] -= 2
                second = second[second >= 0]
                pos = np.concatenate([pos, second])
            self._flip(int(i), pos)
            self._counts[self._names[i]] += k
