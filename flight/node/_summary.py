"""The run summary: figures of merit of a node's run so far, as a JSON-serialisable dict.

Everything in the summary is a function of the seed and the configuration, except the one
``"wall"`` section: the host's own measurements (wall-clock seconds, real-time factor,
ticks whose host time overran the base period, pacing re-synchronisations, per-component
host time). Two simulated runs with the same seed and configuration give summaries that are
equal once ``"wall"`` is removed.
"""

from __future__ import annotations

import sys
from typing import Any

from flight._sections import NodeSection
from flight.core import NS_PER_S, PacedClock
from flight.node._compose import Composition, section
from native.backend import backend_report, selected_backend

__all__ = ["build_summary"]


def build_summary(
    comp: Composition,
    wall_seconds: float,
    resets: list[dict[str, Any]],
    interrupted: bool = False,
) -> dict[str, Any]:
    """Summary of the node's run: time, executive statistics, events, TM/TC counters,
    parameters, resets, native backends, one section per installed application, the
    backend's own report (when it has the :class:`hal.registry.RunReport` capability) and
    the host's measurements under ``"wall"``. ``interrupted``: the run was stopped early
    (a signal) at a tick boundary."""
    from hal.registry import RunReport

    sim_seconds = comp.clock.now_ns() / NS_PER_S
    ex = comp.executive
    tmtc = comp.tmtc
    summary: dict[str, Any] = {
        "node": section(comp.sections, "node", NodeSection).name,
        "seed": comp.seed,
        "sim_seconds": sim_seconds,
        "interrupted": interrupted,
        "speed": comp.options.speed,
        "executive": {
            "base_hz": ex.base_hz,
            "ticks": ex.tick_count,
            "cycle_slips": ex.cycle_slips,
            "run_order": ex.run_order,
            "rate_groups": [{"rate_hz": r, "components": c} for r, c in ex.rate_groups],
            "components": {
                name: {
                    "steps": st.steps,
                    "exceptions": st.exceptions,
                    "ping_misses": st.ping_misses,
                    "restarts": st.restarts,
                    "health": st.health.value,
                }
                for name, st in ex.stats.items()
            },
        },
        "events": {
            "by_severity": {s.name: n for s, n in comp.events.counts.items()},
            "throttled": comp.events.throttled_total,
        },
        "tmtc": {
            "tm_packets": comp.archive.packets,
            "tm_octets": comp.archive.octets,
            "tc_received": tmtc.hk.tc_received if tmtc else 0,
            "tc_rejected": tmtc.hk.tc_rejected if tmtc else 0,
            "tc_completed": tmtc.hk.tc_completed if tmtc else 0,
            # the addresses bound for this run are in run.json (and printed at start)
            "uplink": comp.link is not None,
            "downlink": _downlink(comp),
        },
        "params": {
            "load": comp.param_load.outcome.value if comp.param_load else None,
            "problems": comp.param_load.problems if comp.param_load else [],
        },
        "resets": resets,
        "native": {"selected": selected_backend(), "kernels": backend_report(strict=False)},
    }
    for name, app in comp.apps.items():
        summary[name] = app.summary()
    if "fdir" in summary and "seconds_in" in summary["fdir"]:
        summary["modes"] = {"seconds_in": summary["fdir"]["seconds_in"]}
    if isinstance(comp.backend, RunReport):
        summary["hal"] = comp.backend.summary()
    summary["wall"] = _wall(comp, sim_seconds, wall_seconds)
    return summary


def _downlink(comp: Composition) -> dict[str, Any] | None:
    """The TM downlink's figures (None: off)."""
    sender = comp.downlink_sender
    if sender is None or comp.link is None:
        return None
    return {
        "address": comp.downlink_text,
        "sent": comp.link.sent,
        "send_errors": comp.link.send_errors,
    }


def _wall(comp: Composition, sim_seconds: float, wall_seconds: float) -> dict[str, Any]:
    """The host's measurements: they differ from run to run and never reach telemetry."""
    ex = comp.executive
    clock = comp.clock
    return {
        "wall_seconds": wall_seconds,
        "realtime_factor": sim_seconds / wall_seconds if wall_seconds > 0 else None,
        # ticks whose host time exceeded the base period (in simulated time these are not
        # cycle slips: onboard work costs no onboard time there)
        "wall_overruns": ex.wall_overruns,
        # paced runs: times the host fell behind the pace by more than a second and the
        # pacing re-anchored instead of bursting to catch up
        "pacing_resyncs": clock.overruns if isinstance(clock, PacedClock) else 0,
        # the process's peak resident memory (MiB): the node's footprint in a lone run; a
        # constellation divides its workers' memory by their nodes (its ``scale`` section)
        "peak_rss_mb": _peak_rss_mb(),
        "components": {
            name: {"mean_us": st.wall_mean_ns / 1e3, "max_us": st.wall_max_ns / 1e3}
            for name, st in ex.stats.items()
        },
    }


def _peak_rss_mb() -> float | None:
    """Peak resident memory of this process (MiB), None where the OS does not say."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return peak / (2**20 if sys.platform == "darwin" else 2**10)
