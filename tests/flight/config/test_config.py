"""The node configuration: loading, one-line errors naming file/section/key, merging arrays
of tables by name, relations between sections, and the TOML text of ``config show``.

Oracles: the issue's own failing examples (each must now be a one-line ConfigError), the
merge rule as the README states it (hand-written expected entries), and ``tomllib`` reading
back what :func:`format_config` writes.
"""

from __future__ import annotations

import dataclasses
import importlib
import textwrap
import tomllib
from pathlib import Path

import pytest

from flight.apps import APPLICATIONS
from flight.compute import ComputeConfig, ExecutorConfig
from flight.compute import parse_config as parse_compute
from flight.config import (
    HAL_SECTIONS,
    NODE_SECTIONS,
    default_config,
    format_config,
    load_config,
    validate,
)
from flight.fdir import MonitorDef
from flight.fdir import parse_config as parse_fdir
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
        ("[compute]\nrate_hz = 20.0", "[compute] rate_hz: expected a number in (0, 10] (Hz)"),
        ('[compute]\nstorage = ""', "[compute] storage: expected at least 1 characters, got 0"),
        # the executor's and the installer's keys are one section: both are listed as allowed
        ("[compute]\nqueue_depht = 3", "[compute] queue_depht: unknown key (allowed: accel"),
        ("[fdir]\nrate_hz = 2000.0", "[fdir] rate_hz: expected a number in (0, 1000] (Hz)"),
        ("[fdir]\nstale_s = 0.5", "[fdir] stale_s: 0.5 s is shorter than one FDIR step"),
        (
            "[fdir]\nresume_soc = 0.2",
            "[fdir] resume_soc: 0.2 must be above the SoC floor of monitor 'soc_floor' (low = 0.3)",
        ),
        (
            '[[fdir.monitors]]\nname = "soc_floor"\nsource = "PowerStatus.soc_frac"\n'
            "low = 0.3\npersistence = 0",
            "[fdir.monitors[soc_floor]] persistence: expected an integer in [1, 3600] (samples)",
        ),
        (
            '[[fdir.monitors]]\nname = "bus"\nsource = "PowerStatus.soc_frac"\nhigh = nan',
            "[fdir.monitors[bus]] high: expected a number, got nan",
        ),
        (
            "[edac]\nmax_check_bytes = 1099511627776",
            "[edac] max_check_bytes: expected an integer in [1, 8589934592] (octets)",
        ),
        ("[edac]\npage_bytes = 100", "[edac] page_bytes: 100 must be a multiple of 8"),
        ("[edac]\nsaa_factor = 0.5", "[edac] saa_factor: expected a number in [1, 1000]"),
        ('[adcs]\nattitude = ""', "[adcs] attitude: expected at least 1 characters"),
        ("[adcs]\nrate_hz = -1.0", "[adcs] rate_hz: expected a number in (0, 100] (Hz)"),
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


def test_monitor_with_a_default_name_replaces_that_row(tmp_path: Path) -> None:
    text = """
        [[fdir.monitors]]
        name = "soc_floor"
        source = "PowerStatus.soc_frac"
        low = 0.25
        """
    cfg = load_config(write(tmp_path, text))
    rows = parse_fdir(cfg["fdir"]).monitors
    assert [m.name for m in rows] == [m["name"] for m in default_config()["fdir"]["monitors"]]
    # keys the user's row leaves out take the row defaults, not the old row's values
    assert rows[0] == MonitorDef("soc_floor", "PowerStatus.soc_frac", low=0.25)


def test_monitors_replace_keeps_only_the_users_rows(tmp_path: Path) -> None:
    text = """
        [fdir]
        monitors_replace = true
        [[fdir.monitors]]
        name = "soc_floor"
        source = "PowerStatus.soc_frac"
        low = 0.30
        """
    rows = parse_fdir(load_config(write(tmp_path, text))["fdir"]).monitors
    assert rows == (MonitorDef("soc_floor", "PowerStatus.soc_frac", low=0.30),)


def test_duplicate_monitor_names_in_the_user_file_are_refused(tmp_path: Path) -> None:
    row = '[[fdir.monitors]]\nname = "bus"\nsource = "PowerStatus.soc_frac"\nlow = 0.1\n'
    assert "'bus' is used by entry 0 too" in load_error(tmp_path, row + row)


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


#: Application sections whose keys are not all documented yet. TODO(lead): gnc is being
#: rewritten by another helper; drop it here once its Config is a documented schema section.
UNDOCUMENTED_APPS = frozenset({"gnc"})


@pytest.mark.parametrize(
    "section",
    sorted(spec.section for spec in APPLICATIONS if spec.section not in UNDOCUMENTED_APPS),
)
def test_app_sections_document_every_key(section: str) -> None:
    """Every key of the default section (entries of arrays of tables too) is described."""
    spec = next(s for s in APPLICATIONS if s.section == section)
    rows = describe(importlib.import_module(spec.module).Config)
    assert all(row.doc for row in rows), [row.key for row in rows if not row.doc]
    keys = {row.key for row in rows}
    for key, value in load_config(None).get(section, {}).items():
        assert key in keys, (section, key)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for entry in value:
                assert {f"{key}[].{k}" for k in entry} <= keys, (section, key, entry)


def test_compute_is_one_section_of_executor_installer_and_workload_keys() -> None:
    keys = {row.key for row in describe(ComputeConfig)}
    assert {f.name for f in dataclasses.fields(ExecutorConfig)} <= keys
    assert {"rate_hz", "accelerator", "storage", "imager", "weights_region"} <= keys
    assert {"workload.mean_interarrival_s", "workload.classes.<name>.tiles"} <= keys
    table = {"queue_depth": 8, "rate_hz": 5, "storage": "nvm", "workload": {"start_s": 30}}
    cfg = parse_compute(table)
    # the executor's keys sit directly in [compute]; the scene seed follows the run's seed
    assert cfg.executor == ExecutorConfig(queue_depth=8, seed=0) and not cfg.seed_given
    assert (cfg.rate_hz, cfg.storage, cfg.accelerator, cfg.weights_region) == (
        5.0,
        "nvm",
        "accel",
        None,
    )
    assert cfg.workload_config is not None and cfg.workload_config.start_s == 30.0
    seeded = parse_compute({"seed": 7, "workload": {"enabled": False}})
    assert seeded.seed_given and seeded.executor.seed == 7 and seeded.workload_config is None
    assert parse_compute({}).workload_config is None  # no [compute.workload]: no jobs
