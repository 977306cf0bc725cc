"""The node configuration: loading, one-line errors naming file/section/key, merging arrays
of tables by name, relations between sections, and the TOML text of ``config show``.

Oracles: the issue's own failing examples (each must now be a one-line ConfigError), the
merge rule as the README states it (hand-written expected entries), and ``tomllib`` reading
back what :func:`format_config` writes.
"""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest

from flight.config import (
    HAL_SECTIONS,
    NODE_SECTIONS,
    default_config,
    format_config,
    load_config,
    validate,
)
from flight.apps import APPLICATIONS
from native.errors import ConfigError
from native.schema import describe


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user.toml"
    path.write_text(textwrap.dedent(text))
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: "), message
    return message[len(f"{path}: ") :]


def test_default_configuration_is_valid_and_every_section_has_a_schema() -> None:
    cfg = load_config(None)
    parsed = validate(cfg)
    apps = {spec.section for spec in APPLICATIONS}
    for section in cfg:
        assert section in NODE_SECTIONS or section in HAL_SECTIONS or section in apps, section
        if section not in HAL_SECTIONS:
            assert not isinstance(parsed[section], dict), section  # a typed Config object


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the findings, each now one line naming the section and the key
        (
            '[power]\ncapacity_ah = "sixty"',
            "[power] capacity_ah: expected a number in (0, 10000] (Ah), got 'sixty'",
        ),
        ("[node]\napid = 5000", "[node] apid: expected an integer in [0, 2046], got 5000"),
        (
            "[power]\ncapacity_ah = nan",
            "[power] capacity_ah: expected a number in (0, 10000] (Ah), got nan",
        ),
        (
            "[executive]\nbase_hz = 1e9",
            "[executive] base_hz: expected a number in (0, 1000] (Hz), got 1000000000.0",
        ),
        ("[executive]\nbase_hz = 3.0", "[executive] base_hz: 3.0 Hz does not give a whole-ns"),
        ("[bogus]\nx = 1", "[bogus]: unknown section (known: "),
        ("[power]\ncapcity_ah = 1.0", "[power] capcity_ah: unknown key (allowed: array,"),
        ('[tmtc]\ntime_code = "gps"', "[tmtc] time_code: expected one of 'cuc', 'cds', got 'gps'"),
        ('[tmtc]\ndownlink = "nowhere"', "[tmtc] downlink: expected HOST:PORT"),
        ('[params]\nfile = "../escape.bin"', "[params] file: '../escape.bin' must be a relative"),
        ('[hal]\nbackend = "warp"', "[hal] backend: 'warp' is not a registered HAL backend"),
        (
            "[thermal]\nradiator_low_c = 60.0",
            "[thermal] radiator_high_c: 50.0 C must be above radiator_low_c (60.0 C)",
        ),
        (
            '[[thermal.zones]]\nname = "battery"\nchannel = "battery"\nmin_c = 10.0\nmax_c = -300.0',
            "[thermal.zones[battery]] max_c: expected a number in [-273.15, 1000] (C), got -300.0",
        ),
        (
            '[power]\nshed_rails = ["compute", "avionics"]',
            "[power] shed_rails: may not include never-shed rails ['avionics']",
        ),
        ("[power]\nocv_soc = [0.0, 0.5]", "[power] ocv_block_v: 13 values for 2 ocv_soc points"),
        ("[environment]\nsaa_semi_lat_deg = 0.0", "[environment] saa_semi_lat_deg: expected"),
        ("[compute]\nqueue_depth = 0", "[compute] queue_depth: expected an integer in [1, 255]"),
        (
            "[compute.workload]\nmean_interarrival_s = inf",
            "[compute.workload] mean_interarrival_s: expected a number in",
        ),
    ],
)
def test_bad_values_give_one_line_naming_file_section_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert load_error(tmp_path, text).startswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[power]\nrate_hz = 3.0", "[power] rate_hz: 3.0 Hz does not divide [executive] base_hz"),
        ("[thermal]\nrate_hz = 20.0", "[thermal] rate_hz: 20.0 Hz does not divide"),
        ("[report]\nsample_s = 0.15", "[report] sample_s: 0.15 s is not a whole number of ticks"),
        ("[hal]\nplant_rate_hz = 20.0", "[hal] plant_rate_hz: 20.0 Hz exceeds [executive] base_hz"),
        ('[executive]\nwatchdog = "dog"', "[executive] watchdog: no device 'dog' in [devices]"),
        ('[power]\nbattery = "cell"', "[power] battery: no device 'cell' in [devices]"),
        (
            "[executive]\nbase_hz = 10.0\nping_period_s = 0.05",
            "[executive] ping_period_s: 0.05 s is shorter than one tick",
        ),
    ],
)
def test_relations_between_sections(tmp_path: Path, text: str, expected: str) -> None:
    assert load_error(tmp_path, text).startswith(expected)


def test_rates_that_divide_the_base_rate_are_accepted(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[executive]\nbase_hz = 20.0\n[power]\nrate_hz = 4.0"))
    assert cfg["power"]["rate_hz"] == 4.0


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match=r"user\.toml: not valid TOML"):
        load_config(write(tmp_path, "[power\n"))
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(tmp_path)  # a directory
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[node]\nname = "\xe9"\n')
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(bad)


# ------------------------------------------------------------------ arrays merge by name
def zone_names(cfg: dict[str, object]) -> list[str]:
    return [z["name"] for z in cfg["thermal"]["zones"]]  # type: ignore[index]


def test_zone_with_a_default_name_replaces_that_zone(tmp_path: Path) -> None:
    default = default_config()
    cfg = load_config(
        write(
            tmp_path,
            """
            [[thermal.zones]]
            name = "battery"
            channel = "battery"
            min_c = 5.0
            max_c = 35.0
            """,
        )
    )
    assert zone_names(cfg) == zone_names(default)
    battery = cfg["thermal"]["zones"][zone_names(cfg).index("battery")]
    assert battery == {"name": "battery", "channel": "battery", "min_c": 5.0, "max_c": 35.0}


def test_zone_with_a_new_name_is_appended(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
            [[thermal.zones]]
            name = "propellant"
            channel = "structure"
            min_c = 0.0
            max_c = 50.0
            control = "none"
            """,
        )
    )
    assert zone_names(cfg) == [*zone_names(default_config()), "propellant"]


def test_replace_flag_replaces_every_zone(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
            [thermal]
            zones_replace = true
            [[thermal.zones]]
            name = "compute"
            channel = "compute"
            min_c = -20.0
            max_c = 85.0
            control = "none"
            """,
        )
    )
    assert zone_names(cfg) == ["compute"]
    assert "zones_replace" not in cfg["thermal"]


def test_one_monitor_entry_keeps_the_default_monitors(tmp_path: Path) -> None:
    """The issue's trap: one [[fdir.monitors]] entry used to drop the SoC-floor protection."""
    path = write(
        tmp_path,
        """
        [[fdir.monitors]]
        name = "bus_voltage"
        source = "PowerStatus.soc_frac"
        low = 0.1
        persistence = 3
        """,
    )
    names = [m["name"] for m in load_config(path)["fdir"]["monitors"]]
    defaults = [m["name"] for m in default_config()["fdir"]["monitors"]]
    assert names == [*defaults, "bus_voltage"]
    assert "soc_floor" in names


def test_duplicate_names_in_the_user_file_are_refused(tmp_path: Path) -> None:
    text = """
        [[thermal.zones]]
        name = "extra"
        channel = "structure"
        min_c = 0.0
        max_c = 50.0
        [[thermal.zones]]
        name = "extra"
        channel = "structure"
        min_c = 0.0
        max_c = 50.0
        """
    assert "'extra' is used by entry" in load_error(tmp_path, text)


def test_replace_flag_of_a_plain_key_is_unknown(tmp_path: Path) -> None:
    assert load_error(tmp_path, "[power]\ncapacity_ah_replace = true").startswith(
        "[power] capacity_ah_replace: unknown key"
    )


# --------------------------------------------------------------------- config show (TOML)
def test_format_config_round_trips_through_tomllib(tmp_path: Path) -> None:
    cfg = load_config(
        write(tmp_path, '[node]\nname = "odd \\"name\\"\\t\\u00e9"\n[power]\nrate_hz = 2.0')
    )
    text = format_config(cfg)
    assert tomllib.loads(text) == cfg
    again = tmp_path / "again.toml"
    again.write_text(text)
    assert load_config(again) == cfg  # the printed configuration is a valid user file


def test_format_config_writes_tables_and_arrays_of_tables() -> None:
    text = format_config(load_config(None))
    assert "\n[power]\n" in text
    assert "\n[[thermal.zones]]\n" in text
    assert "\n[world.orbit]\n" in text


# ------------------------------------------------------------------------------ describe
@pytest.mark.parametrize("section", sorted(NODE_SECTIONS))
def test_node_sections_document_every_key(section: str) -> None:
    rows = describe(NODE_SECTIONS[section])
    assert rows
    for row in rows:
        assert row.doc, (section, row.key)
    default = load_config(None).get(section, {})
    assert set(default) <= {r.key for r in rows}
