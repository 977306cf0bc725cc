"""One shard of a constellation run: some of its nodes, in one process, on their own universe.

A constellation of N nodes runs as W shards (``satnode constellation --workers W``). A shard
holds its nodes' full flight stacks and sim backends on a :class:`~hal.sim.world.Universe` of
its own spacecraft, and sees every other spacecraft through the universe's *peer ephemeris*;
its :class:`~hal.sim.OpticalChannel` is *synchronised*. The shards advance in lock-step, one
interval (the ``slice_s`` of onboard time) at a time; between intervals the driver exchanges:

* the spacecraft states (each shard's own, at the universe's time), which re-anchor every
  shard's peer ephemeris (:meth:`Universe.sync_peers`);
* whom each node's laser terminals point at (a scan finds a peer only while the peer points
  back, :mod:`hal.sim.laser`), the same table for every shard;
* the frames sent during the interval and the drops seen, handed to the shard of their
  destination (a shard keeps those between its own nodes, under the same rule); a frame
  arrives no earlier than the end of the interval it was sent in, and never before its send
  time plus light time (:mod:`hal.sim.laser`).

A node sees the others only through what is exchanged, and what is exchanged does not depend
on the sharding: the same seed gives the same per-node results and ``tm-<node>.bin`` with 1,
2 or 4 shards (a test holds this). Between intervals a node's peers move on the ephemeris's
propagation of their last exchanged state (RK4, J2, drag), which differs from their own
plant by far less than a terminal's pointing tolerance over one interval.

Everything a shard receives and returns is plain data (lists, tuples, bytes, floats), so the
same :class:`Shard` runs in this process, in a worker process, or as a Ray actor
(:mod:`ground.engines`).
"""

from __future__ import annotations

import gc
import resource
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flight.core import perf_counter_ns

if TYPE_CHECKING:
    from ground.constellation import ConstellationPlan

__all__ = [
    "IntervalInput",
    "IntervalReport",
    "Shard",
    "ShardResult",
    "rss_mb",
    "shard_parts",
    "split_names",
]


def rss_mb() -> float:
    """This process's resident memory now (MiB), from ``/proc/self/statm``; the peak
    (``ru_maxrss``) where ``/proc`` is not available."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass(slots=True)
class IntervalInput:
    """What the driver gives a shard before an interval.

    ``peer_states``: every spacecraft's ECI state (N, 6 as nested lists or an array; m, m/s)
    in plan order at the universe's time, or None for the first interval (the ephemeris
    starts from the plan's elements); ``frames``/``drops``: what reached this shard's nodes
    during the previous interval; ``not_before_ns``: the end of that interval; ``pointing``:
    whom every node's laser terminals pointed at, at that time (node -> peers).
    """

    peer_states: Any
    frames: list[tuple[int, str, str, int, str, bytes]] = field(default_factory=list)
    drops: list[tuple[str, str]] = field(default_factory=list)
    not_before_ns: int = 0
    pointing: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class IntervalReport:
    """What a shard returns after an interval: its frames and drops for the driver to route,
    its spacecraft's states (in its node order), the universe time they are at, each node's
    link peer when sampled (name or ``""``), the interval's compute time (s, host), and
    whom its nodes' laser terminals point at (node -> peers)."""

    frames: list[tuple[int, str, str, int, str, bytes]]
    drops: list[tuple[str, str]]
    states: Any
    universe_t_ns: int
    link_peers: dict[str, str] | None
    compute_s: float
    pointing: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class ShardResult:
    """A shard's end of run: per-node summaries, and its host figures (memory in MiB)."""

    summaries: dict[str, dict[str, Any]]
    rss_before_mb: float
    rss_built_mb: float
    rss_end_mb: float
    peak_rss_mb: float
    build_s: float


class Shard:
    """The nodes ``names`` of ``plan``: built at construction (output files opened in
    ``out``), advanced one interval per :meth:`step`, summarised and closed by
    :meth:`finish`."""

    def __init__(self, plan: ConstellationPlan, names: list[str], out: str | Path) -> None:
        from flight.node import Node, NodeOptions
        from hal.sim import OpticalChannel
        from hal.sim.world import SpacecraftSpec, Universe, WorldConfig

        t0 = perf_counter_ns()
        self.rss_before_mb = rss_mb()
        if not names or any(n not in plan.configs for n in names):
            raise ValueError(f"shard: nodes {names!r} are not a non-empty part of the plan")
        self.plan = plan
        self.names = list(names)
        out = Path(out)
        base_world = WorldConfig.from_dict(plan.world[plan.names[0]])
        specs = {
            n: SpacecraftSpec(
                config=WorldConfig.from_dict(plan.world[n]), elements=plan.elements[n]
            )
            for n in self.names
        }
        self.universe = Universe(base_world, plan.seed, specs, peer_ephemeris=plan.initial_states())
        self.channel = OpticalChannel(synchronised=plan.names)
        self.nodes: dict[str, Node] = {}
        try:
            for name in self.names:
                opts = NodeOptions(
                    out_dir=out,
                    tm_file=f"tm-{name}.bin",
                    hal_options={
                        "universe": self.universe,
                        "spacecraft": name,
                        "optical_channel": self.channel,
                    },
                )
                self.nodes[name] = Node(plan.configs[name], opts, open_output=False)
            out.mkdir(parents=True, exist_ok=True)
            for node in self.nodes.values():
                node.open_output()
        except BaseException:
            self.close()
            raise
        # The nodes live as long as the run: keep the cyclic collector from walking them
        # again and again (a full collection over 500 nodes takes ~0.2 s).
        gc.collect()
        gc.freeze()
        self._frozen = True
        self._local = frozenset(self.names)
        self._local_frames: list[tuple[int, str, str, int, str, bytes]] = []
        self._local_drops: list[tuple[str, str]] = []
        self.rss_built_mb = rss_mb()
        self.build_s = (perf_counter_ns() - t0) / 1e9

    def ready(self) -> int:
        """The number of nodes built (a remote engine waits on this before the first
        interval, so start-up is not counted as run time)."""
        return len(self.nodes)

    def step(self, inp: IntervalInput, duration_s: float, sample_links: bool) -> IntervalReport:
        """Take the exchanged inputs, run every node ``duration_s`` of onboard time, and
        report what must be exchanged (see the module docstring)."""
        import numpy as np

        from flight.messages import LinkStatus

        t0 = perf_counter_ns()
        if inp.peer_states is not None:
            self.universe.sync_peers(np.asarray(inp.peer_states, dtype=np.float64))
        frames_in = inp.frames + self._local_frames if self._local_frames else inp.frames
        drops_in = inp.drops + self._local_drops if self._local_drops else inp.drops
        if frames_in or drops_in:
            self.channel.accept_inbound(frames_in, drops_in, inp.not_before_ns)
        self.channel.set_pointing(inp.pointing)
        for node in self.nodes.values():
            node.advance(duration_s)
        out, out_drops = self.channel.take_outbound()
        # Frames between this shard's own nodes stay here: the same rule as the driver's
        # (queued at the next exchange, arriving no earlier than this interval's end), without
        # the trip through the driver.
        local = self._local
        self._local_frames = [f for f in out if f[4] in local]
        self._local_drops = [d for d in out_drops if d[0] in local]
        frames = [f for f in out if f[4] not in local]
        drops = [d for d in out_drops if d[0] not in local]
        links: dict[str, str] | None = None
        if sample_links:
            links = {}
            for name, node in self.nodes.items():
                st = node.executive.bus.latest(LinkStatus)
                links[name] = st.peer if st is not None and st.link_up else ""
        return IntervalReport(
            frames,
            drops,
            self.universe.states_eci(),
            self.universe.t_ns,
            links,
            (perf_counter_ns() - t0) / 1e9,
            self.channel.pointing_report(),
        )

    def finish(self) -> ShardResult:
        """Every node's summary; the nodes are closed."""
        try:
            summaries = {name: node.summary() for name, node in self.nodes.items()}
        finally:
            rss_end = rss_mb()
            self.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        return ShardResult(
            summaries, self.rss_before_mb, self.rss_built_mb, rss_end, peak, self.build_s
        )

    def close(self) -> None:
        """Close every node (idempotent); their memory can be collected again."""
        for node in self.nodes.values():
            node.close()
        self.nodes = {}
        if getattr(self, "_frozen", False):
            gc.unfreeze()
            self._frozen = False


def split_names(
    names: list[str], workers: int, groups: dict[str, int] | None = None
) -> list[list[str]]:
    """``names`` in ``workers`` nearly equal parts (never an empty one), keeping each group
    (a plane) together when the groups divide evenly among the workers, else node by node.

    Dealt round-robin rather than in contiguous blocks: a plane's load follows its ground
    track (a busy region below, eclipse), so each shard takes a share of the planes (or of
    every plane) and the shards finish each interval together; a plane kept whole keeps its
    in-plane links inside one shard, whose frames then never pass through the driver. The
    results do not depend on the split."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    w = min(workers, len(names))
    if groups is not None:
        keys = sorted({groups[n] for n in names})
        sizes = {k: sum(1 for n in names if groups[n] == k) for k in keys}
        if len(keys) % w == 0 and len(set(sizes.values())) == 1:
            shard_of = {k: i % w for i, k in enumerate(keys)}
            return [[n for n in names if shard_of[groups[n]] == j] for j in range(w)]
    return [names[k::w] for k in range(w)]


def shard_parts(plan: ConstellationPlan, workers: int) -> list[list[str]]:
    """How a run of ``plan`` on ``workers`` workers splits its nodes (planes kept whole when
    they divide evenly; see :func:`split_names`)."""
    return split_names(plan.names, workers, plan.planes)
