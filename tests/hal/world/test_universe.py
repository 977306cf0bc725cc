"""The universe: a lone world unchanged, members bit for bit equal to lone worlds, states.

Oracles: the golden series of the world before the universe change
(tests/data/world_single_node.json, source in SOURCES.md); lone worlds run separately (a
spacecraft's step in the batch kernel must equal its step alone); the NumPy reference of the
universe step (native.reference.universe_advance_ref); two-body closed forms.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from typing import Any

import numpy as np
import pytest

from hal.sim.world import SpacecraftSpec, Universe, World, WorldConfig, walker_delta_elements
from native.constants import EARTH_RADIUS_M, MU_EARTH_M3_S2
from native.errors import ConfigError, DeviceCommandError
from native.kernels import elements_to_state_kernel
from tests.data import DATA_DIR, load

S = 1_000_000_000


def _golden_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_world_golden", DATA_DIR / "make_world_golden.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_world_golden", mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("seed", ["1", "7"])
def test_single_node_world_unchanged_by_the_universe(seed: str) -> None:
    golden = load("world_single_node.json")
    assert "before the universe change" in golden["source"]
    assert _golden_module().run(int(seed)) == golden["runs"][seed]


def _no_catalogue(**orbit: float) -> WorldConfig:
    cfg = WorldConfig.from_dict({"neighbours": {"satellites": {}}, "orbit": dict(orbit)})
    # drop the default catalogue (tables merge by name: remove them explicitly)
    return dataclasses.replace(cfg, neighbours=dataclasses.replace(cfg.neighbours, satellites={}))


def _drive(worlds: list[World], step: Any) -> None:
    """The same commands on every world, then ``step()`` once."""
    for k, w in enumerate(worlds):
        w.thermal.set_dissipation_w("compute", 100.0 * (k + 1))
        w.thermal.set_heater_w("battery", 5.0 * k)
        if k % 2:
            w.attitude.set_mode("sun")
    step()


def test_universe_members_equal_lone_worlds_bit_for_bit() -> None:
    base = _no_catalogue()
    el = walker_delta_elements(6, 3, 1, altitude_m=550e3, inclination_rad=math.radians(53.0))
    specs = {f"n{k + 1}": SpacecraftSpec(elements=tuple(r), seed=10 + k) for k, r in enumerate(el)}
    u = Universe(base, 5, specs)
    lone = []
    for k, row in enumerate(el):
        st = np.empty((1, 6))
        elements_to_state_kernel(row.reshape(1, 6), st)
        w = World(base, 10 + k)
        w.set_state_eci(st[0, :3], st[0, 3:])
        lone.append(w)
    members = list(u.worlds)
    _drive(members, lambda: None)
    _drive(lone, lambda: None)
    members[0].propulsion.fire([0, 0, 1], 3.5)
    lone[0].propulsion.fire([0, 0, 1], 3.5)
    for dt in (S, 7 * S + 250_000_000, 600 * S):
        u.advance(dt)
        for w in lone:
            w.advance(dt)
        for m, w in zip(members, lone, strict=True):
            assert m.t_ns == w.t_ns == u.t_ns
            assert m.spacecraft_digest() == w.spacecraft_digest()
    np.testing.assert_array_equal(
        u.states_eci(), np.stack([np.r_[w.orbit.r_eci_m, w.orbit.v_eci_m_s] for w in lone])
    )


def test_any_member_advance_steps_the_universe_once() -> None:
    u = Universe.walker(3, 3, 0, altitude_km=550.0, inclination_deg=53.0, config=_no_catalogue())
    a, b, c = u.worlds
    a.advance(10 * S)
    assert (a.t_ns, b.t_ns, c.t_ns, u.t_ns) == (10 * S,) * 4
    u.advance_to(10 * S)  # no-op: already there
    assert u.t_ns == 10 * S
    with pytest.raises(DeviceCommandError, match="cannot go back"):
        u.advance_to(5 * S)


def test_participants_bracket_each_step_once() -> None:
    u = Universe.walker(2, 2, 0, altitude_km=550.0, inclination_deg=53.0, config=_no_catalogue())
    log: list[tuple[str, int, int]] = []

    class P:
        def __init__(self, name: str) -> None:
            self.name = name

        def universe_before_step(self, t0_ns: int, dt_ns: int) -> None:
            log.append((self.name + ".before", t0_ns, dt_ns))

        def universe_after_step(self, t1_ns: int) -> None:
            log.append((self.name + ".after", t1_ns, u.t_ns))

    p1, p2 = P("n1"), P("n2")
    u.attach(p1)
    u.attach(p2)
    u.spacecraft("n2").advance(2 * S)
    u.spacecraft("n1").advance(0)
    assert log == [
        ("n1.before", 0, 2 * S),
        ("n2.before", 0, 2 * S),
        ("n1.after", 2 * S, 2 * S),
        ("n2.after", 2 * S, 2 * S),
    ]
    u.detach(p1)
    u.advance(S)
    assert [e[0] for e in log[4:]] == ["n2.before", "n2.after"]


def test_python_reference_of_the_universe_step() -> None:
    from hal.sim.world import _layout
    from native.reference import universe_advance_ref

    u = Universe.walker(4, 2, 1, altitude_km=600.0, inclination_deg=70.0, config=_no_catalogue())
    for k, w in enumerate(u.worlds):
        w.thermal.set_dissipation_w("compute", 50.0 * k)
    (g,) = u._groups
    ref = [np.array(a) for a in g.arrays[:5]]
    u.advance(30 * S + 500_000_000)
    universe_advance_ref(
        _layout, 0.0, 30, 1.0, 0.5, False, ref[0], ref[1], ref[2], ref[3], ref[4], g.arrays[5]
    )
    np.testing.assert_allclose(ref[0][:, :6], g.arrays[0][:, :6], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ref[0], g.arrays[0], rtol=1e-7, atol=1e-6)


def test_initial_eci_state_and_reading_every_state() -> None:
    r = EARTH_RADIUS_M + 700e3
    v = math.sqrt(MU_EARTH_M3_S2 / r)
    st = (0.0, r, 0.0, -v, 0.0, 0.0)  # circular, equatorial, at 90 deg of longitude
    cfg = dataclasses.replace(
        _no_catalogue(),
        orbit=dataclasses.replace(WorldConfig.default().orbit, j2=False, drag=False),
    )
    u = Universe(cfg, 0, {"a": SpacecraftSpec(state_eci=st), "b": SpacecraftSpec()})
    np.testing.assert_array_equal(u.state_eci("a"), st)
    assert u.states_eci().shape == (2, 6)
    period = 2 * math.pi * math.sqrt(r**3 / MU_EARTH_M3_S2)
    u.advance(round(period / 4 * S))
    np.testing.assert_allclose(u.state_eci("a")[:3], (-r, 0.0, 0.0), atol=r * 2e-6)
    a = u.spacecraft("a")
    a.set_state_eci((r, 0.0, 0.0), (0.0, v, 0.0))
    np.testing.assert_array_equal(a.orbit.r_eci_m, (r, 0.0, 0.0))
    assert u.spacecraft("b").neighbours.range_m("a") == pytest.approx(
        float(np.linalg.norm(u.state_eci("b")[:3] - (r, 0.0, 0.0))), rel=1e-12
    )
    before = a.spacecraft_digest()
    for bad in ((1.0, 0.0, 0.0), (math.nan, r, 0.0), (r, 0.0)):
        with pytest.raises(DeviceCommandError):
            a.set_state_eci(bad, (0.0, v, 0.0))
    assert a.spacecraft_digest() == before


def test_bad_universes_are_rejected() -> None:
    cfg = _no_catalogue()
    other_env = WorldConfig.from_dict({"environment": {"albedo": 0.2}})
    with pytest.raises(ConfigError, match="one Sun"):
        Universe(cfg, 0, {"a": SpacecraftSpec(), "b": SpacecraftSpec(config=other_env)})
    with pytest.raises(ConfigError, match="not both"):
        Universe(
            cfg,
            0,
            {"a": SpacecraftSpec(elements=(7e6, 0, 0, 0, 0, 0), state_eci=(7e6, 0, 0, 0, 7e3, 0))},
        )
    with pytest.raises(ConfigError, match="inside the Earth"):
        Universe(cfg, 0, {"a": SpacecraftSpec(state_eci=(1e6, 0, 0, 0, 7e3, 0))})
    with pytest.raises(ConfigError, match="catalogue"):
        Universe(WorldConfig.default(), 0, {"ahead": SpacecraftSpec()})
    with pytest.raises(ConfigError, match="P dividing T"):
        walker_delta_elements(5, 2, 0, altitude_m=5e5, inclination_rad=1.0)
    with pytest.raises(ConfigError, match="unknown spacecraft"):
        Universe.walker(2, 1, 0, altitude_km=550, inclination_deg=53).spacecraft("x")


def test_lone_world_is_a_universe_of_one() -> None:
    w = World(WorldConfig.default(), seed=3)
    u = w.universe
    assert (u.names, w.name) == (("self",), "self")
    assert u.catalogue_names == ("ahead", "behind", "east", "west")
    w.advance(100 * S)
    np.testing.assert_array_equal(u.state_eci("ahead")[:3], w.neighbours.state("ahead")[0])
    assert Universe(WorldConfig.default(), 3).state_digest() != u.state_digest()
    u2 = Universe(WorldConfig.default(), 3)
    u2.advance(100 * S)
    assert u2.spacecraft("self").state_digest() == w.state_digest()
