"""install(): configuration validation, composition into a node, golden copies in HAL
storage, radiation exposure hook and the ``edac`` summary section."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from flight.core import ConfigError, Executive, SimClock
from flight.edac import (
    DEFAULT_REGIONS,
    MemoryBlobStore,
    RegionState,
    flight_image_bytes,
    install,
    make_content,
    parse_section,
    unpack_golden,
)
from flight.node import Node, NodeOptions

SMALL = {
    "regions": [
        {"name": "weights", "kind": "weights", "size_bytes": 65_536},
        {"name": "params", "kind": "params", "size_bytes": 4_800},
        {"name": "code", "kind": "code", "size_bytes": 30_000},
        {"name": "tm_buffer", "kind": "buffer", "size_bytes": 8_192},
    ],
}


def bare_node(**backend: Any) -> SimpleNamespace:
    ex = Executive(SimClock(), 10.0)
    return SimpleNamespace(
        executive=ex,
        tmtc=None,
        seed=7,
        backend=SimpleNamespace(**backend) if backend else None,
    )


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"upset_rate": 1e-7}, "upset_rate"),
        ({"upset_rate_per_bit_day": -1.0}, "upset_rate_per_bit_day"),
        ({"upset_rate_per_bit_day": "4e-7"}, "upset_rate_per_bit_day"),
        ({"saa_factor": 0.5}, "saa_factor"),
        ({"target_uncorrectable_per_year": 0}, "target_uncorrectable_per_year"),
        (
            {"target_uncorrectable_per_year": 1e-3, "target_uncorrectable_per_day": 1e-6},
            "target_uncorrectable_per",
        ),
        ({"period_margin": 1.5}, "period_margin"),
        ({"max_words_per_step": 0}, "max_words_per_step"),
        ({"max_words_per_step": 1.5}, "max_words_per_step"),
        ({"page_bytes": 100}, "page_bytes"),
        ({"auto_reload": 1}, "auto_reload"),
        ({"component_id": 300}, "component_id"),
        ({"regions": []}, "regions"),
        ({"regions": [{"name": "w", "kind": "ram", "size_bytes": 8}]}, "kind"),
        ({"regions": [{"name": "w", "kind": "weights"}]}, "size_bytes"),
        ({"regions": [{"name": "w", "kind": "weights", "size_bytes": 0}]}, "size_bytes"),
        ({"regions": [{"name": "1w", "kind": "weights", "size_bytes": 8}]}, "name"),
        ({"regions": [{"name": "w", "kind": "buffer", "size_bytes": 8, "colour": 1}]}, "colour"),
        (
            {"regions": [{"name": "a", "kind": "buffer", "size_bytes": 8}] * 2},
            "duplicate name",
        ),
        (
            {"regions": [{"name": f"r{i}", "kind": "buffer", "size_bytes": 8} for i in range(9)]},
            "at most 8",
        ),
        ({"regions": [{"name": "w", "kind": "buffer", "size_bytes": 8, "id": 9}]}, "id"),
        ({"storage_device": ""}, "storage_device"),
    ],
)
def test_bad_sections_name_the_key(section: dict[str, Any], key: str) -> None:
    node = bare_node()
    with pytest.raises(ConfigError, match=key):
        install(node, section)
    assert len(node.executive.components) == 1  # nothing was added


def test_rate_must_divide_base() -> None:
    with pytest.raises(ConfigError, match=r"\[edac\].*divide"):
        install(bare_node(), {**SMALL, "rate_hz": 3.0})


def test_defaults_parse() -> None:
    cfg = parse_section({})
    assert [r.name for r in cfg.regions] == [r["name"] for r in DEFAULT_REGIONS]
    assert cfg.scrub.upset_rate_per_bit_day == 4e-7
    assert cfg.scrub.target_uncorrectable_per_day == pytest.approx(1e-3 / 365.25)
    assert cfg.rate_hz == 1.0


def test_contents_are_deterministic_and_realistic() -> None:
    w = np.frombuffer(make_content("weights", 40_000, 1, 1), dtype="<f4")
    assert w.size == 10_000 and abs(w.mean()) < 1e-3 and 0.018 < w.std() < 0.022
    assert make_content("weights", 40_000, 1, 1) == make_content("weights", 40_000, 1, 1)
    assert make_content("weights", 40_000, 2, 1) != make_content("weights", 40_000, 1, 1)
    table = np.frombuffer(
        make_content("params", 2400, 1, 2),
        dtype=[("id", "<u4"), ("flags", "<u4"), ("value", "<f8"), ("min", "<f4"), ("max", "<f4")],
    )
    assert table["id"].tolist() == list(range(1, 101))
    assert ((table["value"] >= table["min"]) & (table["value"] <= table["max"])).all()
    image = flight_image_bytes()
    assert make_content("code", None, 1, 3) == image
    assert b"def install(" in image


def test_install_with_storage_device_and_radiation_hook() -> None:
    seen: dict[str, np.ndarray] = {}
    store = MemoryBlobStore()
    node = bare_node(devices={"nv": store}, register_memory=lambda n, a: seen.__setitem__(n, a))
    app = install(node, {**SMALL, "storage_device": "nv"})
    assert app.store is store and "nv" in app.store_label
    for name, region in app.regions.items():
        assert seen[f"edac.{name}.data"] is region.data
        assert seen[f"edac.{name}.checks"] is region.checks
        golden = unpack_golden(
            store.blobs[f"edac.{name}.golden"], region.region_id, region.size_bytes
        )
        assert bytes(golden) == region.read_all()
    assert {k for k in seen if k.startswith("edac.tmr.")} >= {"edac.tmr.mode.0", "edac.tmr.keys.2"}
    assert node.executive.by_name("edac") is app.scrubber
    assert not app.region("weights").writable and app.region("tm_buffer").writable
    with pytest.raises(ConfigError, match="storage_device 'nope'"):
        install(bare_node(devices={}), {**SMALL, "storage_device": "nope"})


def test_golden_copies_in_hal_sim_storage() -> None:
    from hal.registry import open_backend

    backend = open_backend("sim", seed=1)
    try:
        backend.create("storage", "nv", {})
        node = bare_node()
        node.backend = backend
        app = install(node, SMALL)
        assert "nv" in app.store_label
        region = app.region("params")
        region.data[3] ^= np.uint64(0b1001)
        region.scrub()
        assert region.state is RegionState.BAD
        assert region.reload()
        assert region.read_all() == make_content("params", 4_800, 7, 2)
    finally:
        backend.close()


def test_node_runs_with_edac_and_reports_summary(tmp_path: Path) -> None:
    config = {
        "node": {"name": "t", "apid": 100, "seed": 4},
        "tmtc": {"ground_link": False},
        "edac": {**SMALL, "rate_hz": 1.0, "max_period_s": 5.0},
    }
    node = Node(config, NodeOptions(out_dir=tmp_path))
    try:
        app = node.apps["edac"]
        assert 6 in node.tmtc.extra_services
        app.region("weights").data[100] ^= np.uint64(1 << 5)
        app.region("code").checks[7] ^= np.uint8(1)
        app.region("tm_buffer").data[9] ^= np.uint64(0b11)
        summary = node.run(12.0)
    finally:
        node.close()
    s = summary["edac"]
    json.dumps(s)  # JSON-serialisable
    for key in (
        "corrected",
        "uncorrectable",
        "regions_reloaded",
        "scrub_period_s",
        "scrub_period_required_s",
        "cpu_frac",
        "cpu_frac_executive",
        "regions",
        "corrections_series",
        "tmr",
        "redundant",
        "pus6",
    ):
        assert key in s, key
    assert (s["corrected"], s["uncorrectable"], s["regions_reloaded"]) == (2, 1, 1)
    assert s["regions"]["weights"]["corrected"] == 1
    assert s["regions"]["tm_buffer"]["reloads"] == 1
    assert s["sweeps"] >= 2 and s["scrub_period_s"] == pytest.approx(5.0)
    assert s["scrub_period_s"] <= s["scrub_period_required_s"]
    assert 0 < s["cpu_frac"] < 1 and 0 < s["cpu_frac_executive"] < 1
    assert s["corrections_series"][-1] == [pytest.approx(12.0), 2]
