"""Composition from the application registry: ids, data-flow order, the install context.

Oracles: the registry's own declarations (every consumed topic has its producers earlier in
the run order; every id comes from the one table) and the rules of DESIGN.md.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flight.apps import APPLICATIONS, COMPONENT_IDS, app_spec, id_table
from flight.core import AppSpec, ConfigError, Executive, InstallContext, SimClock
from flight.node import dataflow_order, dependencies, make_context, message_types
from flight.testing import build_node, node_config

ROOT = Path(__file__).resolve().parents[3]


def test_component_ids_come_from_one_unique_table() -> None:
    ids = list(COMPONENT_IDS.values())
    assert len(ids) == len(set(ids))
    for spec in APPLICATIONS:
        for name, cid in spec.components:
            assert COMPONENT_IDS[name] == cid
    with pytest.raises(ValueError, match="component id 20"):
        id_table((*APPLICATIONS, AppSpec("x", "x", components=(("x", 20),))))
    with pytest.raises(ValueError, match="registered twice"):
        id_table((*APPLICATIONS, APPLICATIONS[0]))


def test_registry_topics_are_bus_messages() -> None:
    types = message_types()
    for spec in APPLICATIONS:
        for topic in (*spec.publishes, *spec.consumes, *spec.feedback):
            assert topic in types, f"[{spec.section}] names unknown topic {topic}"


def test_default_node_runs_producers_before_consumers(tmp_path: Path) -> None:
    node = build_node(tmp_path, node_config())
    try:
        order = node.executive.run_order
        installed = {spec.section: spec for spec in node.composition.app_specs}
        assert set(installed) == {s.section for s in APPLICATIONS if s.section in node.config}
        position = {name: order.index(name) for name in order}
        for spec in installed.values():
            for topic in spec.consumes:
                for producer in installed.values():
                    if topic in producer.publishes and producer is not spec:
                        for p_name, _ in producer.components:
                            for c_name, _ in spec.components:
                                assert position[p_name] < position[c_name], (
                                    f"{p_name} publishes {topic} but runs after {c_name}"
                                )
        # compute reads the budgets of power and thermal: it must run after both
        assert position["power"] < position["compute"]
        assert position["thermal"] < position["compute"]
        for name, cid in COMPONENT_IDS.items():
            comp = node.executive.by_name(name)
            if comp is not None:
                assert comp.component_id == cid
    finally:
        node.close()


def test_dataflow_order_is_stable_and_detects_cycles() -> None:
    a = AppSpec("a", "a", components=(), publishes=("T",))
    b = AppSpec("b", "b", components=(), consumes=("T",), publishes=("U",))
    c = AppSpec("c", "c", components=(), consumes=("U",))
    assert [s.section for s in dataflow_order([c, b, a])] == ["a", "b", "c"]
    assert dependencies([a, b, c])["c"] == {"b"}
    loop = AppSpec("a", "a", components=(), publishes=("T",), consumes=("U",))
    with pytest.raises(ConfigError, match="cycle"):
        dataflow_order([loop, b])
    fed_back = AppSpec("a", "a", components=(), publishes=("T",), feedback=("U",))
    assert [s.section for s in dataflow_order([b, fed_back])] == ["a", "b"]


def _context(spec: AppSpec) -> InstallContext:
    return make_context(spec, executive=Executive(SimClock()))


def test_install_context_refuses_what_is_not_declared() -> None:
    spec = AppSpec("demo", "demo", components=(("demo", 99),), provides=("svc",), requires=("r",))
    ctx = _context(spec)
    with pytest.raises(ConfigError, match=r"\[demo\].*not in the application registry"):
        ctx.component_id("other")
    with pytest.raises(ConfigError, match=r"\[demo\] gnss: needs a HAL backend"):
        ctx.device("gnss", "gnss", object)
    with pytest.raises(ConfigError, match="no post-install step"):
        ctx.after_install(lambda: None)
    with pytest.raises(ConfigError, match="not declared in its provides"):
        ctx.provide("other", object())
    with pytest.raises(ConfigError, match="no installed application provides"):
        ctx.require("r", object)
    with pytest.raises(ConfigError, match="not declared in its requires"):
        ctx.require("svc", object)
    ctx.provide("svc", 42)
    with pytest.raises(ConfigError, match="already provided"):
        ctx.provide("svc", 43)
    assert app_spec("power").components == (("power", 20),)


def test_flight_image_runs_without_ground_or_matplotlib(tmp_path: Path) -> None:
    """A whole default node runs 60 s with ``ground`` and ``matplotlib`` unimportable."""
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("ground", "matplotlib"):
                    raise ImportError(f"{{name}} is not part of the flight image")
                return None
        sys.meta_path.insert(0, Block())
        from flight.testing import build_node, node_config
        from pathlib import Path
        node = build_node(Path({str(tmp_path)!r}), node_config())
        try:
            summary = node.run(60.0)
        finally:
            node.close()
        assert summary["sim_seconds"] == 60.0, summary["sim_seconds"]
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("ground", "matplotlib"))
        assert not bad, bad
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
