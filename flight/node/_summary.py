"""The run summary: figures of merit of a node's run so far, as a JSON-serialisable dict."""

from __future__ import annotations

from typing import Any

from flight._sections import NodeSection
from flight.core import NS_PER_S
from flight.node._compose import Composition, section
from native.backend import backend_report, selected_backend

__all__ = ["build_summary"]


def build_summary(
    comp: Composition, wall_seconds: float, resets: list[dict[str, Any]]
) -> dict[str, Any]:
    """Summary of the node's run: time, executive statistics, events, TM/TC counters,
    parameters, resets, native backends, one section per installed application and the
    backend's own report (when it has the :class:`hal.registry.RunReport` capability)."""
    from hal.registry import RunReport

    sim_seconds = comp.clock.now_ns() / NS_PER_S
    ex = comp.executive
    tmtc = comp.tmtc
    summary: dict[str, Any] = {
        "node": section(comp.sections, "node", NodeSection).name,
        "seed": comp.seed,
        "sim_seconds": sim_seconds,
        "wall_seconds": wall_seconds,
        "realtime_factor": sim_seconds / wall_seconds if wall_seconds > 0 else None,
        "executive": {
            "base_hz": ex.base_hz,
            "ticks": ex.tick_count,
            "cycle_slips": ex.cycle_slips,
            "run_order": ex.run_order,
            "rate_groups": [{"rate_hz": r, "components": c} for r, c in ex.rate_groups],
            "components": {
                name: {
                    "steps": st.steps,
                    "mean_us": st.mean_ns / 1e3,
                    "max_us": st.max_ns / 1e3,
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
            "uplink": list(comp.link.uplink_address) if comp.link else None,
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
    return summary
