"""WorldConfig validation and the default world TOML.

Oracle: the checked-in hal/sim/world/default_world.toml parsed by tomllib, and the rules of
the configuration schema (every bad key is named).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import hal.sim.world as world_pkg
from hal.sim.world import World, WorldConfig, default_world_toml
from native.errors import ConfigError

TOML_PATH = Path(world_pkg.__file__).with_name("default_world.toml")


def test_default_toml_matches_defaults() -> None:
    text = TOML_PATH.read_text()
    assert text == default_world_toml()
    parsed = tomllib.loads(text)
    assert set(parsed) == {"world"}
    assert WorldConfig.from_dict(parsed["world"]) == WorldConfig.default()


def test_round_trip_through_dict() -> None:
    cfg = WorldConfig.default()
    assert WorldConfig.from_dict(cfg.to_dict()) == cfg


def test_default_sizing_is_plausible() -> None:
    """SMAD array rule, 20-30 % DoD battery, ~1.5 m^2/kW radiator (REFERENCE.md)."""
    cfg = WorldConfig.default()
    a = cfg.power.array
    p_bol = a.area_m2 * a.efficiency * a.packing_factor * 1361.0
    # 2.6 kW orbit average at beta = 0, 550 km: T_e/T = 0.372 -> P_sa = 5.8 kW
    te, td = 0.372, 0.628
    p_sa = (2600 * te / 0.6 + 2600 * td / 0.8) / td
    assert p_bol * (1 + a.temp_coeff_per_k * 30) > p_sa  # at ~58 C operating temperature
    b = cfg.power.battery
    energy_wh = b.cells_series * 3.6 * b.capacity_ah
    dod = 2600 * 0.372 * 95.65 / 60 / energy_wh
    assert 0.2 <= dod <= 0.3
    rad_area = sum(s.area_m2 for s in cfg.thermal.surfaces if s.node == "radiator") / 2
    assert rad_area == pytest.approx(1.5 * 2.0, rel=0.15)  # 2 kW compute
    assert 500 <= cfg.spacecraft.dry_mass_kg + cfg.propulsion.propellant_kg <= 800
    assert set(cfg.thermal.nodes) == {
        "compute",
        "radiator",
        "battery",
        "optical_bench",
        "structure",
    }


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"bogus": 1}, "world.bogus"),
        ({"orbit": {"altitude_km": "high"}}, "world.orbit.altitude_km"),
        ({"orbit": {"altitude_km": 50.0}}, "world.orbit.altitude_km"),
        ({"orbit": {"inclination_deg": float("nan")}}, "world.orbit.inclination_deg"),
        ({"orbit": {"j2": 1}}, "world.orbit.j2"),
        ({"orbit": {"foo": 1}}, "world.orbit.foo"),
        ({"environment": {"shadow_model": "fuzzy"}}, "world.environment.shadow_model"),
        ({"power": {"battery": {"capacity_ah": -1}}}, "world.power.battery.capacity_ah"),
        ({"power": {"battery": {"cells_series": 2.5}}}, "world.power.battery.cells_series"),
        ({"power": {"rails": {"x": {"volts": 5}}}}, "world.power.rails.x.volts"),
        ({"power": {"rails": {"x": {}}}}, "world.power.heater_rail"),
        ({"power": {"array": {"normal_body": [1, 0]}}}, "world.power.array.normal_body"),
        ({"thermal": {"surfaces": [{"node": "nope"}]}}, "world.thermal.surfaces[0].node"),
        ({"thermal": {"surfaces": [{"area_m2": 0}]}}, "world.thermal.surfaces[0].area_m2"),
        (
            {"thermal": {"conductances": [{"a": "compute", "b": "compute"}]}},
            "world.thermal.conductances[0].b",
        ),
        ({"thermal": {"radiator_emissivity_min": 0.9}}, "world.thermal.radiator_emissivity_min"),
        ({"epoch_utc": "yesterday"}, "world.epoch_utc"),
        (
            {"neighbours": {"satellites": {"a": {"delta_raan_deg": 400}}}},
            "world.neighbours.satellites.a.delta_raan_deg",
        ),
        (
            {"power": {"battery": {"ocv_soc_frac": [0, 0.5], "ocv_cell_v": [3, 4]}}},
            "world.power.battery.ocv_soc_frac",
        ),
        ({"physics_step_s": 0}, "world.physics_step_s"),
        ({"orbit": []}, "world.orbit"),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], key: str) -> None:
    # one line: "[section] key: ..." (native.schema), the section as a TOML table path
    section, name = key.rsplit(".", 1)
    with pytest.raises(ConfigError) as exc:
        WorldConfig.from_dict(data)
    assert str(exc.value).startswith(f"[{section}] {name}: "), str(exc.value)
    assert "\n" not in str(exc.value)


def test_partial_tables_take_entry_defaults() -> None:
    cfg = WorldConfig.from_dict(
        {"power": {"rails": {"heaters": {"voltage_v": 12.0}}, "heater_rail": "heaters"}}
    )
    assert tuple(cfg.power.rails) == ("heaters",)
    assert cfg.power.rails["heaters"].trip_a == 10.0
    assert cfg.orbit.altitude_km == 550.0


def test_world_rejects_bad_construction() -> None:
    with pytest.raises(ConfigError):
        World({"orbit": {}}, seed=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        World(WorldConfig.default(), seed=-1)
