"""The seeded, deterministic physics world that every simulated device reads and drives."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from hal.sim.world._attitude import AttitudeView
from hal.sim.world._config import WorldConfig
from hal.sim.world._core import WorldCore
from hal.sim.world._environment import EnvironmentView
from hal.sim.world._layout import O_SAA_S_CALL
from hal.sim.world._neighbours import NeighboursView
from hal.sim.world._orbit import OrbitView
from hal.sim.world._power import PowerView
from hal.sim.world._propulsion import PropulsionView
from hal.sim.world._radiation import RadiationView
from hal.sim.world._thermal import ThermalView
from native.errors import ConfigError, DeviceCommandError

if TYPE_CHECKING:
    from hal.sim.world._universe import Universe

__all__ = ["World"]


class World:
    """Orbit, environment, attitude, thermal, power, propulsion, radiation and neighbours.

    ``advance(dt_ns)`` runs all the physics over fixed steps of ``config.physics_step_s``
    (plus one shorter step for a remainder) in one Numba kernel call. Everything is
    reproducible from ``seed``: the physics is deterministic and every random draw comes
    from :meth:`rng` streams derived from the seed and a name.

    Views (see their modules): :attr:`orbit`, :attr:`env`, :attr:`attitude`,
    :attr:`thermal`, :attr:`power`, :attr:`propulsion`, :attr:`radiation`,
    :attr:`neighbours`.
    """

    __slots__ = (
        "_core",
        "_name",
        "_rngs",
        "_universe",
        "attitude",
        "env",
        "neighbours",
        "orbit",
        "power",
        "propulsion",
        "radiation",
        "thermal",
    )

    def __init__(self, config: WorldConfig | None = None, seed: int = 0) -> None:
        if config is None:
            config = WorldConfig.default()
        if not isinstance(config, WorldConfig):
            raise ConfigError(f"World needs a WorldConfig, got {type(config).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ConfigError(f"world seed must be an int >= 0, got {seed!r}")
        from hal.sim.world._universe import Universe  # the universe builds worlds: no cycle

        # A lone world is the one spacecraft ("self") of its own universe, with the
        # configuration's catalogue neighbours: exactly the world of before the universe.
        Universe._solo(self, WorldCore(config, int(seed)))

    def _bind(self, universe: Universe, core: WorldCore, name: str) -> None:
        """Attach this world to ``core`` (its spacecraft's state) in ``universe``."""
        self._universe = universe
        self._name = name
        self._rngs: dict[str, np.random.Generator] = {}
        self._core = core
        self.orbit = OrbitView(self._core)
        self.env = EnvironmentView(self._core)
        self.attitude = AttitudeView(self._core)
        self.thermal = ThermalView(self._core)
        self.power = PowerView(self._core)
        self.propulsion = PropulsionView(self._core)
        self.radiation = RadiationView(self._core, self.rng("world.radiation"))
        self.neighbours = NeighboursView(self._core)

    @property
    def universe(self) -> Universe:
        """The universe this spacecraft lives in (a universe of one for a lone world)."""
        return self._universe

    @property
    def name(self) -> str:
        """This spacecraft's name in its universe (``"self"`` for a lone world)."""
        return self._name

    @property
    def config(self) -> WorldConfig:
        """The configuration the world was built from."""
        return self._core.cfg

    @property
    def seed(self) -> int:
        """The seed of every random stream."""
        return self._core.seed

    @property
    def t_ns(self) -> int:
        """Simulated time, ns since the scenario epoch."""
        return self._core.t_ns

    @property
    def epoch_utc(self) -> datetime:
        """UTC time of ``t_ns = 0`` (timezone-aware)."""
        return self._core.epoch_utc

    @property
    def utc_ns(self) -> int:
        """Current UTC time, ns since the Unix epoch (for :mod:`hal._frames`)."""
        return self._core.utc_ns

    @property
    def physics_step_s(self) -> float:
        """Fixed physics step (s)."""
        return self._core.step_s

    def advance(self, dt_ns: int) -> None:
        """Advance all physics by ``dt_ns`` ns (>= 0), then apply the radiation upsets.

        In a universe of several spacecraft this advances the whole universe (every
        spacecraft, once): see :meth:`Universe.advance_to`.
        """
        if isinstance(dt_ns, bool) or not isinstance(dt_ns, int | np.integer):
            raise DeviceCommandError(f"dt_ns must be an integer number of ns, got {dt_ns!r}")
        if dt_ns < 0:
            raise DeviceCommandError(f"dt_ns must be >= 0, got {dt_ns}")
        self._universe.advance_to(self._core.t_ns + int(dt_ns))

    def _apply_radiation(self, dt_ns: int) -> None:
        """Upsets of the last advance of ``dt_ns`` (called by the universe)."""
        if self.radiation.regions:
            self.radiation.apply(dt_ns * 1e-9, float(self._core.o[O_SAA_S_CALL]))

    def set_state_eci(self, r_eci_m: ArrayLike, v_eci_m_s: ArrayLike) -> None:
        """Set this spacecraft's ECI position (m) and velocity (m/s), at any time; the
        attitude is put on its mode's target for the new state (as at construction).

        Not finite, not 3-vectors, or a position below the Earth's surface ->
        DeviceCommandError, with nothing changed.
        """
        self._universe.set_state_eci(self._name, r_eci_m, v_eci_m_s)

    def spacecraft_digest(self) -> str:
        """SHA-256 of this spacecraft's own physical state (not its neighbours')."""
        return self._core.plant_digest()

    def rng(self, name: str) -> np.random.Generator:
        """The random stream of ``name`` (a device name): independent of every other name,
        fixed by ``(seed, name)``, and the same object on every call."""
        gen = self._rngs.get(name)
        if gen is None:
            key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")
            seq = np.random.SeedSequence(entropy=self._core.seed, spawn_key=(key,))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._rngs[name] = gen
        return gen

    def state_digest(self) -> str:
        """SHA-256 of the whole physical state (equal for bit-identical worlds)."""
        return self._core.digest()

    def __repr__(self) -> str:
        return (
            f"World({self._name!r}, t_ns={self.t_ns}, seed={self.seed}, "
            f"epoch={self.epoch_utc.isoformat()})"
        )
