"""``satnode constellation``: N full nodes in lock-step, sharded over W workers.

Each node has its own flight stack (executive, applications, parameter store, TM archive
``tm-<node>.bin``) and its own sim HAL backend. The nodes are split into shards
(:mod:`ground.shard`: each a universe of its own spacecraft that sees the others through a
synchronised peer ephemeris, and a synchronised optical channel), run by an engine
(:mod:`ground.engines`: this process, forked worker processes, or Ray actors). Time advances
one interval (``slice_s`` of onboard time, default 1 s) at a time; between intervals
:func:`run_constellation` exchanges the spacecraft states and the frames between the shards.
The results do not depend on the number of workers or on the engine.

Configuration: the usual node configuration (merged over the embedded default and validated
as for ``satnode sim``), plus an optional ``[constellation]`` table that is not a node
section::

    [constellation]
    walker = "12/3/1"          # T/P/F (Walker delta)
    altitude_km = 550.0
    inclination_deg = 53.0
    slice_s = 1.0              # lock-step interval of onboard time (the shards' exchange)
    offload = true             # false: as --no-offload
    isl_peers = 12             # each node's nearest spacecraft known as laser-link peers
    link_schedule = true       # plan who links to whom, slot by slot (false: nodes choose)
    [constellation.planes.1]   # overrides merged over the nodes of plane 1 (1-based)
    compute.workload.mean_interarrival_s = 20.0
    [constellation.nodes.n5]   # overrides merged over node n5's configuration
    world.power.battery.initial_soc = 0.45

Per node the driver sets ``[node] name`` (``n1`` .. ``nT``), ``apid`` (base + index),
``[tmtc] ground_link = false``, ``[params] file = "params-<node>.bin"`` and generates
``[isl]`` (its own orbit elements and its ``isl_peers`` nearest nodes as peers, and with
``link_schedule`` its ``link_schedule``/``schedule_slot_s`` from
:func:`ground.link_schedule.plan_link_schedule`, its scheduled partners added to its peers).

Output folder: ``tm-<node>.bin`` per node, ``summary.json`` (``nodes``: one section per
node; ``constellation``: the totals of the run, the job conservation check) and
``constellation.json`` (the resolved layout).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ground.engines import ENGINES as ENGINE_NAMES
from ground.progress import progress_bar
from native.constants import EARTH_RADIUS_M, MU_EARTH_M3_S2
from native.errors import ConfigError, SatnodeError

__all__ = [
    "ConstellationPlan",
    "add_constellation_parser",
    "cmd_constellation",
    "constellation_totals",
    "default_workers",
    "parse_walker",
    "plan_constellation",
    "run_constellation",
]

_KNOWN_KEYS = frozenset(
    {
        "walker", "altitude_km", "inclination_deg", "slice_s", "offload", "planes", "nodes",
        "isl_peers", "link_schedule",
    }
)  # fmt: skip

#: Default ``[constellation] isl_peers``: how many of the nearest spacecraft each node knows
#: as laser-link peers (the whole constellation when it is smaller).
DEFAULT_ISL_PEERS = 12


#: The largest constellation one run accepts.
MAX_NODES = 10_000


def parse_walker(text: str) -> tuple[int, int, int]:
    """``"T/P/F"`` -> (total, planes, phasing); ConfigError when malformed or inconsistent."""
    parts = str(text).split("/")
    try:
        t, p, f = (int(x) for x in parts)
    except ValueError:
        raise ConfigError(f"walker {text!r}: expected T/P/F (three integers)") from None
    if t < 1 or p < 1 or t % p:
        raise ConfigError(f"walker {text!r}: P must divide T (T, P >= 1)")
    if not 0 <= f < p:
        raise ConfigError(f"walker {text!r}: phasing F must be in 0..{p - 1}")
    if t > MAX_NODES:
        raise ConfigError(
            f"walker {text!r}: at most {MAX_NODES} nodes (each is a full flight stack: ~1 MB "
            "and ~1 ms of CPU per simulated second)"
        )
    return t, p, f


@dataclass(slots=True)
class ConstellationPlan:
    """The resolved layout: names, per-node configurations, orbit elements, options."""

    names: list[str]
    configs: dict[str, dict[str, Any]]
    elements: dict[str, tuple[float, ...]]  #: (a_m, e, i_rad, raan_rad, argp_rad, M_rad)
    planes: dict[str, int]  #: 1-based plane of each node
    world: dict[str, dict[str, Any]]  #: each node's [world] table (its plant)
    walker: tuple[int, int, int]
    altitude_km: float
    inclination_deg: float
    slice_s: float
    offload: bool
    seed: int

    def initial_states(self) -> dict[str, Any]:
        """Every spacecraft's ECI state (6,) at the epoch (m, m/s), in plan order."""
        import numpy as np

        from native.kernels import elements_to_state_kernel

        el = np.array([self.elements[n] for n in self.names], dtype=np.float64)
        st = np.empty((len(self.names), 6))
        elements_to_state_kernel(el, st)
        return {n: st[k] for k, n in enumerate(self.names)}


def _split_file(path: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The file's node configuration and its ``[constellation]`` table."""
    if path is None:
        return {}, {}
    from flight.config import read_toml

    p = Path(path)
    user = read_toml(p)
    table = user.pop("constellation", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{p}: [constellation] must be a table")
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{p}: [constellation] {unknown[0]}: unknown key (allowed: {', '.join(sorted(_KNOWN_KEYS))})"
        )
    return user, table


def _float(table: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    v = table.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= float(v) <= hi:
        raise ConfigError(f"[constellation] {key}: must be a number in [{lo}, {hi}], got {v!r}")
    return float(v)


def plan_constellation(
    config_path: str | None,
    *,
    walker: str | None = None,
    altitude_km: float | None = None,
    inclination_deg: float | None = None,
    seed: int | None = None,
    offload: bool | None = None,
    link_schedule: bool | None = None,
) -> ConstellationPlan:
    """Every node's merged, validated configuration (command-line values win over the
    file's ``[constellation]`` table). Nothing is created: errors are ConfigErrors."""
    from flight.config import default_config, merge, validate
    from hal.sim.world import walker_delta_elements

    user, table = _split_file(config_path)
    label = config_path or "default configuration"
    t, p, f = parse_walker(walker if walker is not None else str(table.get("walker", "12/3/1")))
    alt = altitude_km if altitude_km is not None else _float(table, "altitude_km", 550.0, 150, 5e4)
    inc = (
        inclination_deg
        if inclination_deg is not None
        else _float(table, "inclination_deg", 53.0, 0, 180)
    )
    if not (math.isfinite(alt) and 150.0 <= alt <= 5e4):
        raise ConfigError(f"--altitude-km {alt}: must be in [150, 50000] km")
    if not (math.isfinite(inc) and 0.0 <= inc <= 180.0):
        raise ConfigError(f"--inclination-deg {inc}: must be in [0, 180] deg")
    slice_s = _float(table, "slice_s", 1.0, 0.1, 60.0)
    off = table.get("offload", True) if offload is None else offload
    if not isinstance(off, bool):
        raise ConfigError(f"[constellation] offload: must be true or false, got {off!r}")
    try:
        base = merge(default_config(), user)
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None
    node_seed = int(seed if seed is not None else base.get("node", {}).get("seed", 1))
    el = walker_delta_elements(t, p, f, altitude_m=alt * 1e3, inclination_rad=math.radians(inc))
    names = [f"n{k + 1}" for k in range(t)]
    per_plane = t // p
    plane_over = table.get("planes", {})
    node_over = table.get("nodes", {})
    for what, over, keys in (
        ("planes", plane_over, {str(k + 1) for k in range(p)}),
        ("nodes", node_over, set(names)),
    ):
        if not isinstance(over, dict):
            raise ConfigError(f"{label}: [constellation.{what}] must be a table")
        for k, v in over.items():
            if k not in keys or not isinstance(v, dict):
                raise ConfigError(
                    f"{label}: [constellation.{what}.{k}]: no such {what[:-1]} "
                    f"(known: {', '.join(sorted(keys))})"
                )
    elements = {n: tuple(float(x) for x in el[k]) for k, n in enumerate(names)}
    n_peers = int(_float(table, "isl_peers", DEFAULT_ISL_PEERS, 1, 64))
    peers = _nearest_peers(names, el, n_peers)
    scheduled = table.get("link_schedule", True) if link_schedule is None else link_schedule
    if not isinstance(scheduled, bool):
        raise ConfigError(f"[constellation] link_schedule: must be true or false, got {scheduled!r}")
    schedule = None
    if scheduled:
        from flight.isl import parse_config as parse_isl
        from ground.link_schedule import plan_link_schedule

        try:  # the shell's link limits, as every node's [isl] has them (peers come below)
            isl_limits = parse_isl({**base.get("isl", {}), "peers": []})
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from None
        schedule = plan_link_schedule(
            names, el, peers,
            grazing_height_m=isl_limits.grazing_height_km * 1e3,
            max_range_m=isl_limits.max_range_km * 1e3,
        )  # fmt: skip
        order = {n: k for k, n in enumerate(names)}
        for name, seq in schedule.peers.items():
            extra = {b for b in seq if b} - set(peers[name])
            if extra:
                peers[name] = sorted(set(peers[name]) | extra, key=order.__getitem__)
    configs: dict[str, dict[str, Any]] = {}
    worlds: dict[str, dict[str, Any]] = {}
    planes = {n: k // per_plane + 1 for k, n in enumerate(names)}
    apid0 = int(base.get("node", {}).get("apid", 100))
    for k, name in enumerate(names):
        cfg = merge(base, plane_over.get(str(planes[name]), {}))
        cfg = merge(cfg, node_over.get(name, {}))
        isl = dict(cfg.get("isl", {}))
        isl.update(_orbit_keys(elements[name], alt))
        isl["node"] = name
        isl["peers"] = [
            {"name": other, **_orbit_keys(elements[other], alt)} for other in peers[name]
        ]
        if schedule is not None:
            isl["link_schedule"] = list(schedule.peers[name])
            isl["schedule_slot_s"] = schedule.slot_s
        cfg["isl"] = isl
        cfg = merge(
            cfg,
            {
                "node": {"name": name, "apid": (apid0 + k) % 2047, "seed": node_seed * 1009 + k},
                "tmtc": {"ground_link": False, "downlink": ""},
                "params": {"file": f"params-{name}.bin"},
            },
        )
        cfg.setdefault("hal", {})
        if cfg["hal"].get("backend", "sim") != "sim":
            raise ConfigError(f"{label}: a constellation runs on the sim backend only")
        if "compute" in cfg:
            cfg["compute"] = {**cfg["compute"], "offload": bool(off)}
        worlds[name] = dict(cfg.pop("world", {}))
        try:
            validate(cfg)
        except ConfigError as exc:
            raise ConfigError(f"{label} (node {name}): {exc}") from None
        configs[name] = cfg
    return ConstellationPlan(
        names, configs, elements, planes, worlds, (t, p, f), alt, inc, slice_s, bool(off),
        node_seed,
    )  # fmt: skip


def _nearest_peers(names: list[str], el: Any, k: int) -> dict[str, list[str]]:
    """Each node's ``k`` nearest other nodes at the epoch (ties by name order), in name
    order: the laser-link peers it knows. A real node's catalogue is its neighbourhood, not
    the whole constellation: contact planning and routing grow with the square of it."""
    import numpy as np

    from native.kernels import elements_to_state_kernel

    states = np.empty((len(names), 6))
    elements_to_state_kernel(np.ascontiguousarray(el, dtype=np.float64), states)
    pos = states[:, 0:3]
    out: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        d = np.linalg.norm(pos - pos[i], axis=1)
        d[i] = np.inf
        order = np.argsort(d, kind="stable")[: min(k, len(names) - 1)]
        out[name] = [names[j] for j in sorted(int(j) for j in order)]
    return out


def _orbit_keys(el: tuple[float, ...], alt_km: float) -> dict[str, float]:
    """The ``[isl]`` orbit keys of elements ``(a, e, i, raan, argp, M)`` (circular orbits:
    the argument of latitude is ``argp + M``)."""
    return {
        "altitude_km": alt_km,
        "inclination_deg": math.degrees(el[2]),
        "raan_deg": math.degrees(el[3]),
        "arg_lat_deg": math.degrees(math.remainder(el[4] + el[5], 2 * math.pi)),
    }


def constellation_totals(nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``constellation`` section from the per-node summaries: job totals (counted at the
    origin of each job), energy per completed job, the ISL aggregates, and the conservation
    check ``submitted == completed_local + completed_remote + missed + rejected + failed +
    pending`` (``conserved``)."""
    keys = (
        "jobs_submitted", "deadline_met", "completed_local", "completed_remote", "offloaded",
        "missed", "rejected", "failed", "pending", "remote_verified", "remote_corrupt",
        "served_for_others", "captured_tiles", "processed_tiles",
    )  # fmt: skip
    tot: dict[str, Any] = dict.fromkeys(keys, 0)
    energy = 0.0
    acq, acq_time, up, delivered = 0, 0.0, 0.0, 0
    battery_min, thermal_viol, floor_viol, zone_s, n_isl = math.inf, 0, 0, 0.0, 0
    for s in nodes.values():
        c = s.get("compute", {})
        jobs = c.get("jobs") or {}
        off = c.get("offload") or {}
        for k in keys:
            tot[k] += int(jobs.get(k, 0))
        tot["remote_verified"] += int(off.get("results_verified", 0))
        tot["remote_corrupt"] += int(off.get("results_corrupt", 0))
        tot["served_for_others"] += int(off.get("served_accepted", 0))
        tot["captured_tiles"] += int(jobs.get("tiles_submitted", 0))
        tot["processed_tiles"] += int(jobs.get("tiles_completed", 0))
        energy += float(c.get("energy_j", 0.0))
        thermal_viol += int(c.get("thermal_violations", 0))
        isl = s.get("isl")
        if isl:
            n_isl += 1
            a = int(isl.get("acquisitions", 0))
            acq += a
            acq_time += a * float(isl.get("mean_acquisition_s", 0.0) or 0.0)
            up += float(isl.get("link_up_fraction", 0.0))
            delivered += int(isl.get("bytes_delivered", 0))
        power = s.get("power") or {}
        soc = power.get("soc_min")
        if isinstance(soc, int | float):
            battery_min = min(battery_min, float(soc))
        floor_viol += int(power.get("floor_violations", 0))
        zones = (s.get("thermal") or {}).get("zones", {})
        zone_s += sum(float(z.get("seconds_outside", 0.0)) for z in zones.values())
    done = tot["completed_local"] + tot["completed_remote"]
    final = done + tot["missed"] + tot["rejected"] + tot["failed"] + tot["pending"]
    tot["energy_per_job_j"] = energy / done if done else 0.0
    tot["energy_j"] = energy
    tot["processed_tile_fraction"] = (
        tot["processed_tiles"] / tot["captured_tiles"] if tot["captured_tiles"] else 0.0
    )
    lat = sum(
        float((s.get("compute", {}).get("jobs") or {}).get("mean_latency_s", 0.0))
        * (
            int((s.get("compute", {}).get("jobs") or {}).get("completed_local", 0))
            + int((s.get("compute", {}).get("jobs") or {}).get("completed_remote", 0))
        )
        for s in nodes.values()
    )
    tot["mean_latency_s"] = lat / done if done else 0.0
    tot["conserved"] = final == tot["jobs_submitted"]
    tot["accelerator_thermal_violations"] = thermal_viol
    tot["battery_floor_violations"] = floor_viol
    tot["thermal_zone_seconds_outside"] = zone_s
    tot["min_battery_soc"] = battery_min if math.isfinite(battery_min) else None
    tot["isl"] = {
        "acquisitions": acq,
        "mean_acquisition_s": acq_time / acq if acq else 0.0,
        "bytes_delivered": delivered,
        "link_up_fraction": up / n_isl if n_isl else 0.0,
    }
    return tot


def run_constellation(
    plan: ConstellationPlan,
    out: Path,
    duration_s: float,
    progress: Callable[[float], None] | None = None,
    *,
    workers: int = 1,
    engine: str = "local",
    address: str | None = None,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Run every node of ``plan`` for ``duration_s`` of onboard time in ``workers`` shards
    on ``engine`` (:mod:`ground.engines`), synchronised every ``plan.slice_s``
    (:mod:`ground.shard`); write ``summary.json`` and the plots; return the summary. The
    results do not depend on ``workers`` or ``engine``; only the ``scale`` and ``wall``
    sections (host measurements) do."""
    from flight.core import perf_counter_ns
    from ground.engines import make_engine
    from ground.shard import IntervalInput, shard_parts

    parts = shard_parts(plan, workers)
    eng = make_engine(engine, len(parts), address=address, timeout_s=timeout_s)
    owner = {n: k for k, part in enumerate(parts) for n in part}
    plan_row = {n: k for k, n in enumerate(plan.names)}
    rows = [[plan_row[n] for n in part] for part in parts]
    slices = max(1, math.ceil(duration_s / plan.slice_s - 1e-9))
    step = duration_s / slices
    step_ns = round(step * 1e9)
    links = LinkSampler(list(plan.names), sample_s=max(step, duration_s / LinkSampler.MAX_SAMPLES))
    t_start = perf_counter_ns()
    compute = [0.0] * len(parts)
    slowest = 0.0  # sum over intervals of the slowest shard's compute time (s)
    try:
        eng.start(plan, parts, out)
        t0 = perf_counter_ns()
        inputs = [IntervalInput(None) for _ in parts]
        shown = -1
        for i in range(slices):
            sample = links.due((i + 1) * step)
            reports = eng.step(inputs, step, sample)
            inputs = _exchange(plan, parts, owner, rows, reports, (i + 1) * step_ns)
            for k, r in enumerate(reports):
                compute[k] += r.compute_s
            slowest += max(r.compute_s for r in reports)
            if sample:
                peers: dict[str, str] = {}
                for r in reports:
                    peers.update(r.link_peers or {})
                links.record((i + 1) * step, peers)
            pct = (i + 1) * 100 // slices
            if progress is not None and pct != shown:
                shown = pct
                progress((i + 1) / slices)
        run_s = (perf_counter_ns() - t0) / 1e9
        results = eng.finish()
    finally:
        eng.close()
    wall_s = (perf_counter_ns() - t_start) / 1e9
    per_node: dict[str, dict[str, Any]] = {}
    for res in results:
        per_node.update(res.summaries)
    per_node = {n: per_node[n] for n in plan.names}
    node_seconds = len(plan.names) * duration_s
    built = sum(r.rss_built_mb - r.rss_before_mb for r in results)
    summary = {
        "schema": "satnode-constellation/2",
        "walker": "/".join(str(x) for x in plan.walker),
        "altitude_km": plan.altitude_km,
        "inclination_deg": plan.inclination_deg,
        "seed": plan.seed,
        "offload": plan.offload,
        "sim_seconds": duration_s,
        "sync_interval_s": step,
        "nodes": per_node,
        "constellation": constellation_totals(per_node),
        # the host's measurements (everything else is a function of seed and configuration)
        "scale": {
            "nodes": len(plan.names),
            "workers": len(parts),
            "engine": eng.name,
            "node_seconds_per_wall_second": node_seconds / run_s if run_s else None,
            "run_wall_seconds": run_s,
            "build_wall_seconds": max(r.build_s for r in results),
            "memory_per_node_mb": built / len(plan.names),
            "memory_per_node_end_mb": sum(r.rss_end_mb - r.rss_before_mb for r in results)
            / len(plan.names),
            "peak_rss_mb_per_worker": [round(r.peak_rss_mb, 1) for r in results],
            "compute_seconds_per_worker": [round(c, 3) for c in compute],
            # what the shards did not spend computing: waiting at the barrier for the slowest
            # shard of each interval, and the exchange itself (driver and pipes)
            "sync_fraction": max(0.0, 1.0 - (sum(compute) / len(parts)) / run_s) if run_s else 0.0,
            # the exchange alone: the run less the slowest shard's compute of each interval
            "exchange_fraction": max(0.0, 1.0 - slowest / run_s) if run_s else 0.0,
        },
        "wall": {
            "wall_seconds": wall_s,
            "node_seconds_per_wall_second": node_seconds / wall_s if wall_s else None,
        },
    }
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(out / "summary.json")
    if len(plan.names) <= MAX_PLOTTED_NODES:
        write_constellation_plots(out, links, per_node)
    return summary


#: Plots are drawn up to this many nodes (one row per node; beyond it they are unreadable).
MAX_PLOTTED_NODES = 64


def _exchange(
    plan: ConstellationPlan,
    parts: list[list[str]],
    owner: dict[str, int],
    rows: list[list[int]],
    reports: list[Any],
    t_end_ns: int,
) -> list[Any]:
    """The next interval's inputs from this interval's reports: every spacecraft's state in
    plan order (all shards' universes must be at one time; ``rows``: each part's rows in plan
    order), each frame and drop notice to the shard of its destination, and every node's laser
    pointing to every shard. Their order does not matter: a channel queues frames by
    (arrival, source, terminal, frame number)."""
    import numpy as np

    from ground.shard import IntervalInput

    times = {r.universe_t_ns for r in reports}
    if len(times) != 1:
        raise SatnodeError(f"shards out of step: universe times {sorted(times)} ns")
    states = np.empty((len(plan.names), 6))
    for part_rows, r in zip(rows, reports, strict=True):
        states[part_rows] = np.asarray(r.states)
    frames: list[list[Any]] = [[] for _ in parts]
    drops: list[list[Any]] = [[] for _ in parts]
    pointing: dict[str, tuple[str, ...]] = {}
    for r in reports:
        pointing.update(r.pointing)
        for f in r.frames:
            frames[owner[f[4]]].append(f)
        for d in r.drops:
            drops[owner[d[0]]].append(d)
    return [
        IntervalInput(states, frames[k], drops[k], t_end_ns, pointing)
        for k in range(len(parts))
    ]


class LinkSampler:
    """Which peer each node's laser link serves, over time (bounded: at most
    :attr:`MAX_SAMPLES` samples per node, every ``sample_s`` seconds of onboard time)."""

    MAX_SAMPLES = 2000

    def __init__(self, names: list[str], sample_s: float) -> None:
        self.names = names
        self.sample_s = sample_s
        self.t_s: list[float] = []
        #: per node, per sample: the index of the linked peer in ``names`` (-1: no link)
        self.peer: dict[str, list[int]] = {n: [] for n in names}
        self._index = {n: i for i, n in enumerate(names)}
        self._next_s = 0.0

    def due(self, t_s: float) -> bool:
        """True when a sample is due at ``t_s`` (s of onboard time)."""
        return t_s + 1e-9 >= self._next_s and len(self.t_s) < self.MAX_SAMPLES

    def record(self, t_s: float, peers: Mapping[str, str]) -> None:
        """Record each node's link peer (``""``: no link) at ``t_s``."""
        self._next_s = t_s + self.sample_s
        self.t_s.append(t_s)
        for name in self.names:
            peer = peers.get(name, "")
            self.peer[name].append(self._index.get(peer, -1) if peer else -1)


def write_constellation_plots(
    out: Path, links: LinkSampler, per_node: Mapping[str, Mapping[str, Any]]
) -> list[Path]:
    """``links.png`` (which peer each node is linked to, over time) and ``jobs.png`` (where
    each node's jobs ran: here, on a neighbour, or not at all); returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    names = links.names
    if links.t_s:
        fig, ax = plt.subplots(figsize=(9, 0.35 * len(names) + 1.5), dpi=100)
        t_h = [t / 3600.0 for t in links.t_s]
        for row, name in enumerate(names):
            peers = links.peer[name]
            start = None
            for k, peer in enumerate([*peers, -1]):  # runs of one peer as bars
                if start is not None and (k == len(peers) or peer != peers[start]):
                    end = t_h[k] if k < len(t_h) else t_h[-1]
                    ax.broken_barh([(t_h[start], max(end - t_h[start], 1e-6))], (row - 0.4, 0.8),
                                   color=plt.cm.tab20(peers[start] % 20))  # fmt: skip
                    ax.annotate(names[peers[start]], (t_h[start], row), fontsize=6, va="center")
                    start = None
                if start is None and k < len(peers) and peer >= 0:
                    start = k
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("time since start (h)")
        ax.set_title("Laser links: the peer each node is linked to (label), blank when down")
        fig.tight_layout()
        path = out / "links.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
    x = range(len(names))

    def count(name: str, key: str) -> float:
        jobs = per_node[name].get("compute", {}).get("jobs") or {}
        return float(jobs.get(key, 0) or 0)

    bottom = [0.0] * len(names)
    for key, label in (("completed_local", "ran here (jobs/node)"),
                       ("completed_remote", "ran on a neighbour (jobs/node)"),
                       ("missed", "missed (jobs/node)"), ("rejected", "rejected (jobs/node)")):  # fmt: skip
        values = [count(n, key) for n in names]
        ax.bar(x, values, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(list(x), names)
    ax.set_ylabel("jobs submitted at the node")
    ax.set_title("Where each node's jobs ran")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / "jobs.png"
    fig.savefig(path)
    plt.close(fig)
    written.append(path)
    return written


def _run_files(plan: ConstellationPlan) -> list[str]:
    """Every file a run of ``plan`` writes into its output folder."""
    names = ["summary.json", "summary.json.tmp"]
    for n in plan.names:
        params = str(plan.configs[n].get("params", {}).get("file", f"params-{n}.bin"))
        names += [f"tm-{n}.bin", params, params + ".bak", params + ".tmp"]
    return [*names, "links.png", "jobs.png"]


def _prepare_out(out: Path, plan: ConstellationPlan, *, overwrite: bool) -> None:
    """Refuse a file or a non-empty folder (unless ``overwrite``: then remove exactly the
    files a run writes); nothing is created here."""
    if out.exists() and not out.is_dir():
        raise SatnodeError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise SatnodeError(
                f"--out {out}: not empty; choose a new folder, or pass --overwrite to replace "
                "satnode's own files there"
            )
        for name in _run_files(plan):
            path = out / name
            if path.is_file():
                path.unlink()


def cmd_constellation(args: argparse.Namespace) -> int:
    """``satnode constellation``: validate everything, then run and summarise."""
    plan = plan_constellation(
        args.config,
        walker=args.walker,
        altitude_km=args.altitude_km,
        inclination_deg=args.inclination_deg,
        seed=args.seed,
        offload=False if args.no_offload else None,
    )
    a_m = EARTH_RADIUS_M + plan.altitude_km * 1e3
    period_s = 2.0 * math.pi * math.sqrt(a_m**3 / MU_EARTH_M3_S2)
    duration = args.duration if args.duration is not None else (args.orbits or 1.0) * period_s
    if not math.isfinite(duration) or duration <= 0:
        raise SatnodeError(f"run length must be a positive number of seconds, got {duration}")
    out = Path(args.out)
    _prepare_out(out, plan, overwrite=args.overwrite)
    progress = progress_bar(sys.stderr) if sys.stderr.isatty() or args.progress else None
    if args.address and args.engine != "ray":
        raise SatnodeError("--address: only with --engine ray")
    workers = args.workers if args.workers is not None else default_workers()
    summary = run_constellation(
        plan, out, duration, progress, workers=workers, engine=args.engine,
        address=args.address, timeout_s=args.worker_timeout,
    )  # fmt: skip
    c = summary["constellation"]
    sc = summary["scale"]
    print(
        f"{len(plan.names)} nodes, {duration:.0f} s: {c['jobs_submitted']} jobs, "
        f"{c['deadline_met']} deadlines met, {c['completed_remote']} completed remotely "
        f"({c['offloaded']} offloaded), conserved={c['conserved']}; summary: "
        f"{out / 'summary.json'}"
    )
    print(
        f"scale: {sc['workers']} {sc['engine']} worker(s), "
        f"{sc['node_seconds_per_wall_second']:.0f} node-seconds per wall-second, "
        f"{sc['memory_per_node_end_mb']:.1f} MB per node, "
        f"{100 * sc['sync_fraction']:.1f} % of the run in synchronisation"
    )
    return 0 if c["conserved"] else 1


def add_constellation_parser(sub: Any) -> None:
    """Register ``satnode constellation`` on the CLI's sub-parsers."""
    p = sub.add_parser(
        "constellation", help="run N full nodes in lock-step, sharded over W workers"
    )
    p.add_argument("--config", help="TOML file merged over the embedded default")
    p.add_argument("--walker", metavar="T/P/F", help="Walker delta constellation (default 12/3/1)")
    p.add_argument("--altitude-km", type=float, help="orbit altitude (default 550 km)")
    p.add_argument("--inclination-deg", type=float, help="inclination (default 53 deg)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--orbits", type=float, help="run length in orbits (default 1)")
    length.add_argument("--duration", type=float, help="run length in seconds")
    p.add_argument("--seed", type=int, help="master seed (overrides [node] seed)")
    p.add_argument("--out", default="satnode-constellation", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="reuse a non-empty --out")
    p.add_argument("--no-offload", action="store_true", help="every job runs where it arrives")
    p.add_argument("--progress", action="store_true", help="progress bar without a tty")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="W",
        help="shards, one per worker process or Ray actor (default: one per CPU this process "
        "may use; 1 runs in this process); the results do not depend on it",
    )
    p.add_argument(
        "--engine",
        choices=ENGINE_NAMES,
        default="local",
        help="local processes (default) or ray (pip install 'satnode[cluster]')",
    )
    p.add_argument(
        "--address",
        help="Ray cluster address for --engine ray (default: start a local Ray instance)",
    )
    p.add_argument(
        "--worker-timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="wall seconds a worker may take for one interval before the run is "
        "stopped (default 600)",
    )
    p.set_defaults(func=cmd_constellation)


def default_workers() -> int:
    """One worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be >= 1")
    return v
