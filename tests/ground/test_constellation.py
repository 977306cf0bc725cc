"""``satnode constellation``: the plan (Walker layout, per-plane and per-node overrides,
generated ``[isl]``), configuration errors before anything is created, and a short run of
four full nodes: one TM archive per node, a summary with a section per node and the
constellation totals, which add up (job conservation).

Oracles: the Walker delta closed form (RAAN 360 p / P, argument of latitude
360 s / S + 360 F p / T), the per-node summaries summed independently of the driver.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ground.cli import main
from ground.constellation import constellation_totals, parse_walker, plan_constellation
from native.errors import ConfigError


def test_plan_is_the_walker_layout_with_generated_isl(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[constellation]\nwalker = '6/3/1'\n"
        "[constellation.planes.2.compute.workload]\nmean_interarrival_s = 5.0\n"
        "[constellation.nodes.n6.world.power.battery]\ninitial_soc_frac = 0.5\n"
    )
    plan = plan_constellation(str(cfg), seed=4)
    assert plan.names == [f"n{k}" for k in range(1, 7)]
    assert plan.walker == (6, 3, 1)
    for k, name in enumerate(plan.names):
        p, s = divmod(k, 2)
        isl = plan.configs[name]["isl"]
        assert isl["node"] == name
        assert isl["raan_deg"] == pytest.approx(math.degrees(math.remainder(
            math.radians(120.0 * p), 2 * math.pi)))
        u = 180.0 * s + 60.0 * p
        assert isl["arg_lat_deg"] == pytest.approx(math.degrees(math.remainder(
            math.radians(u), 2 * math.pi)), abs=1e-9)
        assert sorted(q["name"] for q in isl["peers"]) == sorted(set(plan.names) - {name})
        assert plan.configs[name]["node"]["name"] == name
        assert plan.configs[name]["tmtc"]["ground_link"] is False
    work = {n: plan.configs[n]["compute"]["workload"]["mean_interarrival_s"] for n in plan.names}
    assert work["n3"] == work["n4"] == 5.0 and work["n1"] != 5.0
    assert plan.world["n6"]["power"]["battery"]["initial_soc_frac"] == 0.5
    assert plan.world["n5"]["power"]["battery"]["initial_soc_frac"] != 0.5
    assert all(plan.configs[n]["compute"]["offload"] for n in plan.names)
    off = plan_constellation(str(cfg), offload=False)
    assert not any(off.configs[n]["compute"]["offload"] for n in off.names)


@pytest.mark.parametrize(
    ("text", "walker", "match"),
    [
        ("", "5/2/1", "P must divide T"),
        ("", "4/2/2", "phasing"),
        ("", "4-2-1", "T/P/F"),
        ("[constellation]\nspeed = 2\n", None, "unknown key"),
        ("[constellation.nodes.n9]\nx = 1\n", "4/2/1", "no such node"),
        ("[constellation.planes.1.compute]\npolicy = 'lifo'\n", "4/2/1", "node n1"),
        ("[constellation]\nlink_schedule = 'yes'\n", "4/2/1", "link_schedule: must be true"),
        ("[constellation]\nlink_schedule = false\n[constellation.nodes.n1.isl]\n"
         "link_schedule = ['n9']\n", "4/2/1", "n1.*not a link peer"),
    ],
)
def test_configuration_errors_name_the_problem(
    tmp_path: Path, text: str, walker: str | None, match: str
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=match):
        plan_constellation(str(cfg), walker=walker)


def test_parse_walker() -> None:
    assert parse_walker("12/3/1") == (12, 3, 1)


def test_a_short_run_writes_every_node_and_totals_that_add_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[compute.workload]\nmean_interarrival_s = 4.0\n")
    out = tmp_path / "out"
    rc = main(["constellation", "--config", str(cfg), "--walker", "4/2/1", "--duration", "40",
               "--seed", "3", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    names = [f"n{k}" for k in range(1, 5)]
    for n in names:
        assert (out / f"tm-{n}.bin").stat().st_size > 0
    for plot in ("links.png", "jobs.png"):  # links over time, where jobs ran
        assert (out / plot).stat().st_size > 1000
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["nodes"]) == sorted(names)
    c = summary["constellation"]
    jobs = [summary["nodes"][n]["compute"]["jobs"] for n in names]
    assert c["jobs_submitted"] == sum(j["jobs_submitted"] for j in jobs) > 0
    finals = ("completed_local", "completed_remote", "missed", "rejected", "failed", "pending")
    assert sum(c[k] for k in finals) == c["jobs_submitted"] and c["conserved"] is True
    assert c["deadline_met"] <= c["completed_local"] + c["completed_remote"]
    assert set(c["isl"]) == {"acquisitions", "mean_acquisition_s", "bytes_delivered",
                             "link_up_fraction"}
    assert constellation_totals(summary["nodes"]) == c
    # nodes are distinct: their own seeds give their own workloads
    assert len({summary["nodes"][n]["seed"] for n in names}) == 4
    # a second run into the same folder is refused unless --overwrite
    assert main(["constellation", "--walker", "4/2/1", "--duration", "5", "--out", str(out)]) == 2


def _circular_position(a_m: float, inc: float, raan: float, u: float) -> np.ndarray:
    """ECI position on a circular orbit (closed form: argument of latitude ``u``)."""
    return a_m * np.array([
        math.cos(u) * math.cos(raan) - math.sin(u) * math.cos(inc) * math.sin(raan),
        math.cos(u) * math.sin(raan) + math.sin(u) * math.cos(inc) * math.cos(raan),
        math.sin(u) * math.sin(inc),
    ])


def test_each_node_knows_its_nearest_peers_in_a_large_constellation() -> None:
    # 40 nodes, default isl_peers = 12: each node's [isl] peers are its 12 nearest at epoch,
    # plus the partners its link schedule gives it (nodes that have it among their nearest).
    plan = plan_constellation(None, walker="40/8/1", seed=2)
    pos = {}
    for name in plan.names:
        a, _, inc, raan, argp, m = plan.elements[name]
        pos[name] = _circular_position(a, inc, raan, argp + m)
    for name in plan.names:
        isl = plan.configs[name]["isl"]
        peers = [p["name"] for p in isl["peers"]]
        assert name not in peers and len(set(peers)) == len(peers)
        dist = sorted((float(np.linalg.norm(pos[o] - pos[name])), o)
                      for o in plan.names if o != name)  # fmt: skip
        twelfth = dist[11][0]
        assert {o for d, o in dist if d < twelfth * (1 - 1e-9)} <= set(peers)
        for other in peers:
            if float(np.linalg.norm(pos[other] - pos[name])) > twelfth * (1 + 1e-9):
                assert other in isl["link_schedule"]  # a partner, not one of the nearest
    unscheduled = plan_constellation(None, walker="40/8/1", seed=2, link_schedule=False)
    assert all(len(unscheduled.configs[n]["isl"]["peers"]) == 12 for n in unscheduled.names)
    assert all("link_schedule" not in unscheduled.configs[n]["isl"] for n in unscheduled.names)
    small = plan_constellation(None, walker="6/3/1")
    assert all(len(small.configs[n]["isl"]["peers"]) == 5 for n in small.names)


def test_cli_refuses_bad_sharding_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    with pytest.raises(SystemExit):
        main(["constellation", "--workers", "0", "--out", str(out)])
    assert "must be >= 1" in capsys.readouterr().err
    rc = main(["constellation", "--walker", "4/2/1", "--duration", "2", "--address", "x:1",
               "--out", str(out)])  # fmt: skip
    assert rc == 2
    assert "--address: only with --engine ray" in capsys.readouterr().err
    assert not out.exists()


def _closed_port() -> int:
    """A loopback TCP port that nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("address", ["127.0.0.1:{port}", "ray://127.0.0.1:{port}", "nohost", "h:0"])
def test_cli_ray_address_that_nothing_answers_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], address: str
) -> None:
    """An unreachable or malformed --address is a clear error before Ray is asked to join it
    (Ray itself retries for minutes); no output folder is left behind. Needs no Ray."""
    out = tmp_path / "o"
    addr = address.format(port=_closed_port())
    rc = main(["constellation", "--walker", "4/2/1", "--duration", "2", "--workers", "2",
               "--engine", "ray", "--address", addr, "--out", str(out)])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert f"--address {addr!r}" in err or f"--address {addr}:" in err
    assert "Traceback" not in err
    assert not out.exists()
