"""Record the single-node world golden series (tests/data/world_single_node.json).

    python3 tests/data/make_world_golden.py > tests/data/world_single_node.json

Run once on the world as it was before the universe change (issue 15, satnode commit
e852e7e, hal/sim/world unchanged there): the test holds today's world to these values
bit for bit. The scenario exercises every subsystem: heater and dissipation loads, a rail
switch, pointing modes, a burn, whole and partial physics steps, and the neighbours.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from hal.sim.world import World, WorldConfig

S = 1_000_000_000


def record(w: World, label: str) -> dict[str, Any]:
    """One sample: digest and a few readable values (floats as hex for exactness)."""
    return {
        "label": label,
        "t_ns": w.t_ns,
        "digest": w.state_digest(),
        "r_eci_m": [float(x).hex() for x in w.orbit.r_eci_m],
        "soc_frac": float(w.power.battery_soc_frac).hex(),
        "compute_temp_c": float(w.thermal.temp_c("compute")).hex(),
        "ahead_range_m": float(w.neighbours.range_m("ahead")).hex(),
    }


def run(seed: int) -> list[dict[str, Any]]:
    """The fixed command sequence on the default world of ``seed``."""
    w = World(WorldConfig.default(), seed=seed)
    out = [record(w, "start")]
    for _ in range(30):
        w.advance(S)
    out.append(record(w, "30 x 1 s"))
    w.thermal.set_heater_w("battery", 25.0)
    w.thermal.set_dissipation_w("compute", 400.0)
    w.attitude.set_mode("sun")
    w.advance(600 * S + 370_000_000)
    out.append(record(w, "sun mode, heater, compute load"))
    w.propulsion.fire([0.0, 1.0, 0.0], 12.5)
    for _ in range(20):
        w.advance(700_000_000)
    out.append(record(w, "burn in 0.7 s steps"))
    w.attitude.set_mode("min_drag")
    w.power.set_rail_on(w.power.rail_names[-1], False)
    w.advance(5400 * S)
    out.append(record(w, "min_drag, rail off, one orbit"))
    return out


def main() -> int:
    data = {
        "source": "satnode world before the universe change, commit e852e7e "
        "(python3 tests/data/make_world_golden.py)",
        "runs": {str(seed): run(seed) for seed in (1, 7)},
    }
    sys.stdout.write(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
