"""One universe, many spacecraft: shared time, Sun and atmosphere; one kernel call per step.

A :class:`Universe` holds N spacecraft, each a full plant (orbit, attitude, thermal network,
power, propulsion, radiation) seen through its own :class:`~hal.sim.world.World`, plus the
*catalogue*: satellites known only as geometry (the ``[world.neighbours]`` of the universe's
configuration, propagated lazily on their own grid exactly as in a lone world).

State layout: the spacecraft's flat state vectors are the rows of stacked arrays (the node
axis first: ``blobs (N, B)``, ``conds (N, n, n)``...), and one call of the fused universe
kernel (:func:`hal.sim.world._kernel.universe_advance`) advances all of them; spacecraft
whose thermal networks differ in size are stacked in separate groups, one call per group.
Each spacecraft's step is exactly the lone world's step, so a spacecraft's results do not
depend on who else is in the universe (a test holds a member bit for bit to a lone world).

Lock-step (the choice, for N nodes each with its own executive): time belongs to the
universe. :meth:`Universe.advance_to` steps the universe once to ``t``: first every attached
participant (a node's sim backend) prepares the step (due scenario faults, device loads for
``[t0, t]``), then the physics runs once for all spacecraft, then every participant runs its
devices' timed behaviour at ``t``. ``World.advance(dt)`` and a sim backend's ``advance(dt)``
are ``advance_to(now + dt)``: in a multi-node run the first node whose plant sync asks for the
step drives it for everyone, and every other node then finds its plant already at the tick
time, so its sync is a no-op check (``lag == 0``). A constellation driver may equally call
:meth:`advance_to` itself before ticking the nodes. Asking for a time in the past is an error.

A lone ``World(config, seed)`` is the universe of one spacecraft named ``"self"`` plus the
configuration's catalogue neighbours: its results are unchanged by the universe.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hal.sim.world._config import WorldConfig
from hal.sim.world._core import WorldCore
from hal.sim.world._kernel import universe_advance_kernel
from hal.sim.world._links import LinkGeometry, link_geometry
from hal.sim.world._orbit_set import LazyOrbitSet
from hal.sim.world._world import World
from native.constants import EARTH_RADIUS_M
from native.errors import ConfigError, DeviceCommandError
from native.kernels import elements_to_state_kernel

__all__ = [
    "SpacecraftSpec",
    "StepParticipant",
    "Universe",
    "walker_delta_elements",
]

_SOLO_NAME = "self"


@runtime_checkable
class StepParticipant(Protocol):
    """Something that acts around each universe step (a node's sim backend)."""

    def universe_before_step(self, t0_ns: int, dt_ns: int) -> None:
        """Prepare the step ``[t0_ns, t0_ns + dt_ns]`` (faults due, device loads)."""
        ...

    def universe_after_step(self, t1_ns: int) -> None:
        """Run timed device behaviour at the new time ``t1_ns``."""
        ...


@dataclass(frozen=True, slots=True)
class SpacecraftSpec:
    """How one spacecraft of a universe starts.

    ``config``: its plant (and orbit) configuration; None = the universe's. Its epoch,
    physics step, environment and orbit force switches must equal the universe's (one time,
    one Sun, one atmosphere); its ``neighbours`` are ignored (the universe's catalogue serves).
    ``elements``: initial osculating elements ``(a_m, e, i_rad, raan_rad, argp_rad,
    mean_anomaly_rad)``; ``state_eci``: initial ECI state ``(x, y, z, vx, vy, vz)`` (m, m/s);
    at most one of them (neither: the config's ``[orbit]``). ``seed``: its random streams'
    seed (None: derived from the universe seed and the name).
    """

    config: WorldConfig | None = None
    elements: tuple[float, ...] | None = None
    state_eci: tuple[float, ...] | None = None
    seed: int | None = None


def walker_delta_elements(
    total: int,
    planes: int,
    phasing: int,
    *,
    altitude_m: float,
    inclination_rad: float,
    raan0_rad: float = 0.0,
    arg_lat0_rad: float = 0.0,
) -> NDArray[np.float64]:
    """Elements (T, 6) of a Walker delta constellation T/P/F on circular orbits.

    Plane ``p`` (0-based) has RAAN ``raan0 + 2 pi p / P``; slot ``s`` of plane ``p`` has
    argument of latitude ``arg_lat0 + 2 pi s / S + 2 pi F p / T`` (S = T / P). Rows are
    ``(a, 0, i, raan, 0, M)``, ordered plane by plane; ``a = R_E + altitude``.
    """
    for name, v in (("total", total), ("planes", planes), ("phasing", phasing)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"walker {name}: must be an integer, got {v!r}")
    if total < 1 or planes < 1 or total % planes:
        raise ConfigError(f"walker: {total}/{planes} is not T/P with P dividing T")
    if not 0 <= phasing < planes:
        raise ConfigError(f"walker phasing F={phasing} outside 0..{planes - 1}")
    if not math.isfinite(altitude_m) or altitude_m <= 0.0:
        raise ConfigError(f"walker altitude must be > 0 m, got {altitude_m!r}")
    per = total // planes
    rows = []
    for p in range(planes):
        for s in range(per):
            u = arg_lat0_rad + 2 * math.pi * s / per + 2 * math.pi * phasing * p / total
            rows.append(
                [
                    EARTH_RADIUS_M + altitude_m,
                    0.0,
                    inclination_rad,
                    math.remainder(raan0_rad + 2 * math.pi * p / planes, 2 * math.pi),
                    0.0,
                    math.remainder(u, 2 * math.pi),
                ]
            )
    return np.array(rows, dtype=np.float64)


def _derived_seed(seed: int, name: str) -> int:
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(key,))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _vec6(value: ArrayLike, what: str, err: type[Exception]) -> NDArray[np.float64]:
    try:
        a = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise err(f"{what}: must be 6 numbers, got {value!r}") from exc
    if a.shape != (6,) or not np.all(np.isfinite(a)):
        raise err(f"{what}: must be 6 finite numbers, got {value!r}")
    return a


def _check_state(state: NDArray[np.float64], what: str, err: type[Exception]) -> None:
    if float(np.linalg.norm(state[0:3])) <= EARTH_RADIUS_M:
        raise err(f"{what}: position inside the Earth (|r| <= {EARTH_RADIUS_M} m)")


def _shared_fields(cfg: WorldConfig) -> tuple[object, ...]:
    return (cfg.epoch_utc, cfg.physics_step_s, cfg.environment, cfg.orbit.j2, cfg.orbit.drag)


class _Group:
    """Spacecraft whose arrays have one shape, stacked along a first (node) axis."""

    __slots__ = ("arrays", "cores")

    def __init__(self, cores: list[WorldCore]) -> None:
        self.cores = cores
        c0 = cores[0]
        n = len(cores)
        blobs = np.zeros((n, *c0.blob.shape))
        conds = np.zeros((n, *c0.cond.shape))
        surfs = np.zeros((n, *c0.surf.shape))
        works = np.zeros((n, *c0.work.shape))
        ocvs = np.zeros((n, *c0.ocv.shape))
        for k, c in enumerate(cores):
            c.rebind(blobs[k], conds[k], surfs[k], works[k], ocvs[k])
        self.arrays = (blobs, conds, surfs, works, ocvs, c0.dtab)


class Universe:
    """N spacecraft (full plants) and a catalogue of geometry-only satellites in one time.

    ``Universe(config, seed, spacecraft)``: ``config`` (a :class:`WorldConfig`, default the
    default world) gives the shared time base (epoch, physics step), environment, the
    catalogue (its ``[world.neighbours]``, placed relative to its ``[orbit]``) and every
    spacecraft's default plant; ``spacecraft`` maps names to :class:`SpacecraftSpec` (None:
    one spacecraft ``"self"`` exactly as ``World(config, seed)``). :meth:`walker` builds a
    Walker delta constellation. See the module docstring for the lock-step.

    Each spacecraft's :class:`World` (``universe.spacecraft(name)``) has the usual views; its
    ``neighbours`` are the other spacecraft (in universe order) then the catalogue.
    """

    __slots__ = (
        "__weakref__",
        "_cache",
        "_cat_core",
        "_cat_names",
        "_cfg",
        "_cores",
        "_ephemeris",
        "_ephemeris_names",
        "_groups",
        "_index",
        "_names",
        "_participants",
        "_peer_cache",
        "_seed",
        "_stepping",
        "_t_ns",
        "_version",
        "_worlds",
    )

    _cat_core: WorldCore | None
    _cat_names: tuple[str, ...]

    def __init__(
        self,
        config: WorldConfig | None = None,
        seed: int = 0,
        spacecraft: Mapping[str, SpacecraftSpec] | None = None,
        *,
        peer_ephemeris: Mapping[str, ArrayLike] | None = None,
    ) -> None:
        cfg, seed = _check_base(config, seed)
        self._setup(cfg, seed)
        if peer_ephemeris is not None:
            if spacecraft is None:
                raise ConfigError("universe peer_ephemeris: needs named spacecraft")
            self._init_ephemeris(cfg, seed, peer_ephemeris, spacecraft)
        if spacecraft is None:
            self._finish([(_SOLO_NAME, object.__new__(World), WorldCore(cfg, seed))], solo=True)
            return
        if not isinstance(spacecraft, Mapping) or not spacecraft:
            raise ConfigError("universe spacecraft: must be a non-empty table of name -> spec")
        catalogue = tuple(cfg.neighbours.satellites)
        members: list[tuple[str, World, WorldCore]] = []
        bare = dataclasses.replace(
            cfg.neighbours, satellites={}
        )  # members carry no catalogue of their own
        for name, spec in spacecraft.items():
            where = f"universe spacecraft {name!r}"
            if not isinstance(name, str) or not name or "." in name:
                raise ConfigError(f"{where}: names must be non-empty and contain no '.'")
            if name in catalogue:
                raise ConfigError(f"{where}: also a catalogue neighbour name")
            if not isinstance(spec, SpacecraftSpec):
                raise ConfigError(f"{where}: must be a SpacecraftSpec")
            mcfg = cfg if spec.config is None else spec.config
            if not isinstance(mcfg, WorldConfig):
                raise ConfigError(f"{where}: config must be a WorldConfig")
            if _shared_fields(mcfg) != _shared_fields(cfg):
                raise ConfigError(
                    f"{where}: epoch, physics step, environment and orbit force switches must "
                    "equal the universe's (one time, one Sun, one atmosphere)"
                )
            if spec.elements is not None and spec.state_eci is not None:
                raise ConfigError(f"{where}: give elements or state_eci, not both")
            state: NDArray[np.float64] | None = None
            if spec.elements is not None:
                el = _vec6(spec.elements, f"{where}: elements", ConfigError)
                if not (el[0] > EARTH_RADIUS_M and 0.0 <= el[1] < 1.0):
                    raise ConfigError(f"{where}: elements need a > R_E and 0 <= e < 1")
                state = np.empty((1, 6))
                elements_to_state_kernel(el.reshape(1, 6), state)
                state = state[0]
            elif spec.state_eci is not None:
                state = _vec6(spec.state_eci, f"{where}: state_eci", ConfigError)
            if state is not None:
                _check_state(state, f"{where}: state_eci", ConfigError)
            mseed = spec.seed if spec.seed is not None else _derived_seed(seed, name)
            if isinstance(mseed, bool) or not isinstance(mseed, int) or mseed < 0:
                raise ConfigError(f"{where}: seed must be an int >= 0, got {mseed!r}")
            core = WorldCore(dataclasses.replace(mcfg, neighbours=bare), mseed)
            if state is not None:
                core.set_own_state(state)
            members.append((name, object.__new__(World), core))
        if catalogue:
            self._cat_core = WorldCore(cfg, seed)
            self._cat_names = catalogue
        self._finish(members, solo=False)

    @classmethod
    def walker(
        cls,
        total: int,
        planes: int,
        phasing: int,
        *,
        altitude_km: float,
        inclination_deg: float,
        config: WorldConfig | None = None,
        seed: int = 0,
        raan0_deg: float = 0.0,
        prefix: str = "n",
    ) -> Universe:
        """A Walker delta T/P/F universe of spacecraft ``<prefix>1`` .. ``<prefix>T`` (plane
        by plane; see :func:`walker_delta_elements`), each with ``config``'s plant."""
        el = walker_delta_elements(
            total, planes, phasing, altitude_m=altitude_km * 1e3,
            inclination_rad=math.radians(inclination_deg), raan0_rad=math.radians(raan0_deg),
        )  # fmt: skip
        specs = {
            f"{prefix}{k + 1}": SpacecraftSpec(elements=tuple(row)) for k, row in enumerate(el)
        }
        return cls(config, seed, specs)

    # ------------------------------------------------------------------ construction
    def _setup(self, cfg: WorldConfig, seed: int) -> None:
        self._cfg = cfg
        self._seed = seed
        self._t_ns = 0
        self._cat_core = None
        self._cat_names = ()
        self._participants: list[weakref.ref[StepParticipant]] = []
        self._stepping = False
        self._version = 0
        self._cache: tuple[int, int, NDArray[np.float64]] | None = None
        self._peer_cache: tuple[int, NDArray[np.float64]] | None = None
        self._ephemeris: LazyOrbitSet | None = None
        self._ephemeris_names: tuple[str, ...] = ()

    def _init_ephemeris(
        self,
        cfg: WorldConfig,
        seed: int,
        states: Mapping[str, ArrayLike],
        members: Mapping[str, SpacecraftSpec],
    ) -> None:
        """The peer ephemeris: every spacecraft of a (sharded) constellation, as geometry
        propagated from its last synchronised state (see :meth:`sync_peers`)."""
        if not isinstance(states, Mapping) or not states:
            raise ConfigError("universe peer_ephemeris: must map spacecraft names to states")
        missing = sorted(set(members) - set(states))
        if missing:
            raise ConfigError(f"universe peer_ephemeris: no state for member {missing[0]!r}")
        rows = np.stack([_vec6(v, f"peer_ephemeris {n!r}", ConfigError) for n, v in states.items()])
        for n, row in zip(states, rows, strict=True):
            _check_state(row, f"peer_ephemeris {n!r}", ConfigError)
        # Force model of the universe's default plant: the same for every shard.
        template = WorldCore(dataclasses.replace(cfg, neighbours=dataclasses.replace(
            cfg.neighbours, satellites={})), seed)  # fmt: skip
        sc = cfg.spacecraft
        wet = sc.dry_mass_kg + cfg.propulsion.propellant_kg
        cdam = sc.drag_coefficient * sc.drag_area_m2 / wet if cfg.orbit.drag else 0.0
        self._ephemeris = LazyOrbitSet(
            rows, np.full(rows.shape[0], cdam),
            round(cfg.neighbours.propagation_step_s * 1e9), template.p.copy(), template.dtab,
        )  # fmt: skip
        self._ephemeris_names = tuple(states)

    @classmethod
    def _solo(cls, world: World, core: WorldCore) -> Universe:
        """The universe of the lone ``world`` (``World(config, seed)``) around ``core``."""
        self = object.__new__(cls)
        self._setup(core.cfg, core.seed)
        self._finish([(_SOLO_NAME, world, core)], solo=True)
        return self

    def _finish(self, members: list[tuple[str, World, WorldCore]], *, solo: bool) -> None:
        self._names = tuple(m[0] for m in members)
        self._index = {name: k for k, name in enumerate(self._names)}
        self._worlds = tuple(m[1] for m in members)
        self._cores = tuple(m[2] for m in members)
        for name, world, core in members:
            world._bind(self, core, name)
        self._groups: tuple[_Group, ...] = ()
        if solo:
            return  # the lone core keeps its own arrays and its own catalogue
        by_shape: dict[tuple[tuple[int, ...], ...], list[WorldCore]] = {}
        for core in self._cores:
            key = (core.blob.shape, core.cond.shape, core.surf.shape, core.ocv.shape)
            by_shape.setdefault(key, []).append(core)
        self._groups = tuple(_Group(cores) for cores in by_shape.values())
        # A member's neighbours are rows of one shared array (no copy per question): the other
        # spacecraft, live or through the peer ephemeris, then the catalogue.
        peers = self._names if self._ephemeris is None else self._ephemeris_names
        n_peers = len(peers)
        source = _PeerSource(self)
        for name, core in zip(self._names, self._cores, strict=True):
            rows = {p: j for j, p in enumerate(peers) if p != name}
            rows.update({c: n_peers + j for j, c in enumerate(self._cat_names)})
            core.neighbour_names = tuple(rows)
            core.neighbour_rows = rows
            core.peer_states = source

    # ------------------------------------------------------------------ facts
    @property
    def config(self) -> WorldConfig:
        """The universe's configuration (time base, environment, catalogue, default plant)."""
        return self._cfg

    @property
    def seed(self) -> int:
        """The universe seed."""
        return self._seed

    @property
    def t_ns(self) -> int:
        """Simulated time of every spacecraft, ns since the epoch."""
        return self._t_ns

    @property
    def names(self) -> tuple[str, ...]:
        """Spacecraft names, in universe order."""
        return self._names

    @property
    def catalogue_names(self) -> tuple[str, ...]:
        """Names of the geometry-only catalogue satellites (a lone world's: its neighbours)."""
        if self._cat_core is None and len(self._cores) == 1 and self._cores[0].peer_states is None:
            return self._cores[0].neighbour_names
        return self._cat_names

    @property
    def worlds(self) -> tuple[World, ...]:
        """Every spacecraft's world, in universe order."""
        return self._worlds

    def spacecraft(self, name: str) -> World:
        """The world of spacecraft ``name``; unknown -> ConfigError."""
        k = self._index.get(name)
        if k is None:
            raise ConfigError(f"unknown spacecraft {name!r} (spacecraft: {', '.join(self._names)})")
        return self._worlds[k]

    # ------------------------------------------------------------------ states
    def _all_states(self) -> NDArray[np.float64]:
        """Spacecraft then catalogue states (N + M, 6) now (cached per time and version)."""
        c = self._cache
        if c is not None and c[0] == self._t_ns and c[1] == self._version:
            return c[2]
        parts = [np.stack([core.own for core in self._cores])]
        if self._cat_core is not None:
            parts.append(self._cat_core.catalogue_states(self._t_ns))
        elif len(self._cores) == 1 and self._cores[0].peer_states is None:
            parts.append(self._cores[0].neighbour_states())
        allst = np.ascontiguousarray(np.concatenate(parts))
        allst.flags.writeable = False
        self._cache = (self._t_ns, self._version, allst)
        return allst

    @property
    def state_version(self) -> int:
        """Changes whenever a state is set from outside the physics (:meth:`set_state_eci`,
        :meth:`sync_peers`): with the time, a key for caches of derived geometry."""
        return self._version

    def _peer_view(self) -> NDArray[np.float64]:
        """What the members see of their neighbours now: the spacecraft (live, or through the
        peer ephemeris) then the catalogue."""
        if self._ephemeris is None:
            return self._all_states()
        c = self._peer_cache
        if c is not None and c[0] == self._t_ns:
            return c[1]
        parts = [self._ephemeris.states(self._t_ns)]
        if self._cat_core is not None:
            parts.append(self._cat_core.catalogue_states(self._t_ns))
        view = np.ascontiguousarray(np.concatenate(parts))
        view.flags.writeable = False
        self._peer_cache = (self._t_ns, view)
        return view

    @property
    def peer_names(self) -> tuple[str, ...]:
        """Names of the peer ephemeris (every spacecraft of the sharded constellation), or the
        members' names without one."""
        return self._ephemeris_names if self._ephemeris is not None else self._names

    def sync_peers(self, states: ArrayLike) -> None:
        """Re-anchor the peer ephemeris at the universe's time: ``states`` (P, 6) ECI (m,
        m/s) in :attr:`peer_names` order, as synchronised between shards. Without a peer
        ephemeris, or on bad input: DeviceCommandError, nothing changed."""
        if self._ephemeris is None:
            raise DeviceCommandError("universe has no peer ephemeris to synchronise")
        self._ephemeris.reset(self._t_ns, np.asarray(states, dtype=np.float64))
        self._peer_cache = None
        self._version += 1

    def states_eci(self) -> NDArray[np.float64]:
        """ECI states (N, 6) of every spacecraft now (m, m/s; a copy), in universe order."""
        return np.array(self._all_states()[: len(self._names)])

    def catalogue_states_eci(self) -> NDArray[np.float64]:
        """ECI states (M, 6) of the catalogue satellites now (a copy)."""
        return np.array(self._all_states()[len(self._names) :])

    def state_eci(self, name: str) -> NDArray[np.float64]:
        """ECI state (6,) of spacecraft or catalogue satellite ``name`` now (a copy)."""
        return np.array(self._all_states()[self._row(name)])

    def _row(self, name: str) -> int:
        k = self._index.get(name)
        if k is not None:
            return k
        cat = self.catalogue_names
        if name in cat:
            return len(self._names) + cat.index(name)
        raise DeviceCommandError(
            f"unknown object {name!r} (spacecraft: {', '.join(self._names)}; "
            f"catalogue: {', '.join(cat) or 'none'})"
        )

    def set_state_eci(self, name: str, r_eci_m: ArrayLike, v_eci_m_s: ArrayLike) -> None:
        """Set spacecraft ``name``'s ECI position (m) and velocity (m/s) now; its attitude is
        put on its mode's target for the new state. Bad input -> DeviceCommandError, nothing
        changed."""
        k = self._index.get(name)
        if k is None:
            raise DeviceCommandError(f"unknown spacecraft {name!r}")
        try:
            r = np.asarray(r_eci_m, dtype=np.float64).reshape(-1)
            v = np.asarray(v_eci_m_s, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise DeviceCommandError(f"set_state_eci: not numeric: {exc}") from None
        if r.shape != (3,) or v.shape != (3,):
            raise DeviceCommandError("set_state_eci: r and v must be 3-vectors")
        state = _vec6(np.concatenate([r, v]), "set_state_eci", DeviceCommandError)
        _check_state(state, "set_state_eci", DeviceCommandError)
        self._cores[k].set_own_state(state)
        self._version += 1

    def link(self, a: str, b: str) -> LinkGeometry:
        """Geometry of the line from ``a`` to ``b`` now (spacecraft or catalogue names), with
        the catalogue's grazing height for the line of sight."""
        st = self._all_states()
        return link_geometry(
            st[self._row(a)], st[self._row(b)], self._cfg.neighbours.grazing_height_km * 1e3
        )

    @property
    def grazing_height_m(self) -> float:
        """Height (m) above the Earth's surface a line of sight must clear."""
        return float(self._cfg.neighbours.grazing_height_km * 1e3)

    # ------------------------------------------------------------------ stepping
    def attach(self, participant: StepParticipant) -> None:
        """Call ``participant`` around every step from now on (held weakly)."""
        if not isinstance(participant, StepParticipant):
            raise ConfigError("universe.attach: needs universe_before_step/universe_after_step")
        self._participants.append(weakref.ref(participant))

    def detach(self, participant: StepParticipant) -> None:
        """Stop calling ``participant`` (no-op if absent)."""
        self._participants = [
            r for r in self._participants if r() is not None and r() is not participant
        ]

    def advance(self, dt_ns: int) -> None:
        """``advance_to(t_ns + dt_ns)``."""
        if isinstance(dt_ns, bool) or not isinstance(dt_ns, int | np.integer) or dt_ns < 0:
            raise DeviceCommandError(f"dt_ns must be an int >= 0, got {dt_ns!r}")
        self.advance_to(self._t_ns + int(dt_ns))

    def advance_to(self, t_ns: int) -> None:
        """Step every spacecraft once from ``t_ns`` now to ``t_ns`` (no-op if equal):
        participants prepare, one kernel call per group, radiation upsets, participants
        finish. A time in the past, or a call from inside a step -> DeviceCommandError."""
        if isinstance(t_ns, bool) or not isinstance(t_ns, int | np.integer):
            raise DeviceCommandError(f"t_ns must be an integer number of ns, got {t_ns!r}")
        t1 = int(t_ns)
        t0 = self._t_ns
        if t1 < t0:
            raise DeviceCommandError(f"universe is at {t0} ns, cannot go back to {t1} ns")
        if t1 == t0:
            return
        if self._stepping:
            raise DeviceCommandError("universe: advance_to called from inside a step")
        dt = t1 - t0
        self._stepping = True
        try:
            parts = [p for r in self._participants if (p := r()) is not None]
            for part in parts:
                part.universe_before_step(t0, dt)
            if not self._groups:
                self._cores[0].advance(dt)
            else:
                c0 = self._cores[0]
                n_full, rem = divmod(dt, c0.step_ns)
                for g in self._groups:
                    universe_advance_kernel(
                        t0 * 1e-9, n_full, c0.step_s, rem * 1e-9, False, *g.arrays
                    )
                for core in self._cores:
                    core.t_ns = t1
                    core.dirty = True
            self._t_ns = t1
            for world in self._worlds:
                world._apply_radiation(dt)
            for part in parts:
                part.universe_after_step(t1)
        finally:
            self._stepping = False

    def state_digest(self) -> str:
        """SHA-256 over every spacecraft's and the catalogue's state."""
        h = hashlib.sha256()
        for core in self._cores:
            h.update(core.plant_digest().encode())
        h.update(np.ascontiguousarray(self._all_states()).tobytes())
        return h.hexdigest()

    def __repr__(self) -> str:
        return (
            f"Universe({len(self._names)} spacecraft, {len(self.catalogue_names)} catalogue, "
            f"t_ns={self._t_ns}, seed={self._seed})"
        )


class _PeerSource:
    """The members' neighbour states: the universe's spacecraft (live, or the peer
    ephemeris) then the catalogue, one array for every member."""

    __slots__ = ("_u",)

    def __init__(self, universe: Universe) -> None:
        self._u = weakref.proxy(universe)

    def __call__(self) -> NDArray[np.float64]:
        view: NDArray[np.float64] = self._u._peer_view()
        return view


def _check_base(config: WorldConfig | None, seed: int) -> tuple[WorldConfig, int]:
    if config is None:
        config = WorldConfig.default()
    if not isinstance(config, WorldConfig):
        raise ConfigError(f"Universe needs a WorldConfig, got {type(config).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"universe seed must be an int >= 0, got {seed!r}")
    return config, int(seed)
