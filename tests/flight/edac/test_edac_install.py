"""install(ctx, cfg): configuration validation, the "edac.regions" service, golden copies in
HAL storage (never RAM), the radiation model's memory registration and the summary.

Oracles: the documented golden layout (``unpack_golden``) and bytes drawn here; the HAL sim
backend's own storage device and MemoryRegistration capability.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from flight.apps import app_spec
from flight.core import ConfigError, EventLog, Executive, InstallContext, ParamStore, SimClock
from flight.edac import (
    REGION_IDS,
    SERVICE_NAME,
    Config,
    EdacApp,
    EdacRegions,
    MemoryBlobStore,
    RegionNotFoundError,
    RegionState,
    build_edac,
    install,
    parse_config,
    unpack_golden,
)
from flight.messages import RadiationEnvironment
from flight.node import make_context
from hal.platform import Storage
from hal.registry import Backend, UpsetModel, get_device, open_backend


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"upset_rate": 1e-7}, "upset_rate"),
        ({"regions": []}, "regions"),  # regions are created by their owners, not configured
        ({"tmr": True}, "tmr"),
        ({"component_id": 60}, "component_id"),  # ids come from the application registry
        ({"upset_rate_per_bit_day": -1.0}, "upset_rate_per_bit_day"),
        ({"upset_rate_per_bit_day": "4e-7"}, "upset_rate_per_bit_day"),
        ({"upset_rate_per_bit_day": float("nan")}, "upset_rate_per_bit_day"),
        ({"saa_factor": 0.5}, "saa_factor"),
        ({"target_uncorrectable_per_year": 0}, "target_uncorrectable_per_year"),
        (
            {"target_uncorrectable_per_year": 1e-3, "target_uncorrectable_per_day": 1e-6},
            "target_uncorrectable_per",
        ),
        ({"period_margin": 1.5}, "period_margin"),
        ({"max_period_s": float("inf")}, "max_period_s"),
        ({"rate_hz": 0}, "rate_hz"),
        ({"max_words_per_step": 0}, "max_words_per_step"),
        ({"max_words_per_step": 1.5}, "max_words_per_step"),
        ({"page_bytes": 100}, "page_bytes"),
        ({"auto_reload": 1}, "auto_reload"),
        ({"storage_device": ""}, "storage_device"),
        ({"storage_device": 3}, "storage_device"),
        ({"params_bytes": 8}, "params_bytes"),
        ({"tm_buffer_bytes": True}, "tm_buffer_bytes"),
    ],
)
def test_bad_tables_name_the_key(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"\[edac\].*{key}"):
        parse_config(table)


def test_defaults() -> None:
    cfg = parse_config({})
    assert cfg == Config()
    assert cfg.scrub.upset_rate_per_bit_day == 4e-7
    assert cfg.scrub.target_uncorrectable_per_day == pytest.approx(1e-3 / 365.25)
    assert parse_config({"target_uncorrectable_per_day": 2e-6}).target_per_day == 2e-6
    assert (cfg.rate_hz, cfg.params_bytes, cfg.tm_buffer_bytes) == (1.0, 16384, 65536)


def test_rate_must_divide_base() -> None:
    ex = Executive(SimClock(), 10.0)
    with pytest.raises(ConfigError, match=r"\[edac\].*divide"):
        build_edac(ex, parse_config({"rate_hz": 3.0}), MemoryBlobStore())
    assert len(ex.components) == 1  # nothing was added


# -- the region service --------------------------------------------------------------------


def small_app(**kw: Any) -> tuple[EdacApp, MemoryBlobStore, dict[str, np.ndarray]]:
    seen: dict[str, np.ndarray] = {}
    store = MemoryBlobStore()
    ex = Executive(SimClock(), 10.0)
    app = build_edac(
        ex,
        parse_config({"page_bytes": 256}),
        store,
        register_memory=seen.__setitem__,
        **kw,
    )
    return app, store, seen


def test_edac_holds_no_data_of_its_own() -> None:
    app, store, seen = small_app()
    assert len(app.regions) == 0 and app.scrubber.total_words == 0
    assert len(app.tmr) == 0 and seen == {} and store.blobs == {}  # no TMR containers either
    s = app.summary()
    assert s["protected_bytes"] == 0 and s["regions"] == {}


def test_create_registers_everywhere_and_keeps_a_golden_copy() -> None:
    app, store, seen = small_app()
    regions = app.regions
    det = regions.create("detector", 2_048, writable=False)
    buf = regions.create("staging", 1_000)
    assert det.region_id == REGION_IDS["detector"] == 3
    assert buf.region_id == 4  # lowest id neither used nor reserved
    assert regions.region("detector") is det and regions.region_by_id(4) is buf
    assert "staging" in regions and regions.names() == ("detector", "staging")
    assert app.scrubber.regions == (det, buf)
    assert app.scrubber.total_words == 256 + 125
    assert app.scrubber.plan.words == 381
    for r in (det, buf):
        assert seen[f"edac.{r.name}.data"] is r.data and seen[f"edac.{r.name}.checks"] is r.checks
        golden = unpack_golden(store.blobs[f"edac.{r.name}.golden"], r.region_id, r.size_bytes)
        assert bytes(golden) == bytes(r.size_bytes)
    content = np.random.default_rng(9).integers(0, 256, 2_048, dtype=np.uint8).tobytes()
    det.load(content)  # the owner's data; becomes the golden copy
    assert bytes(unpack_golden(store.blobs["edac.detector.golden"], 3, 2_048)) == content
    assert app.memory_service.regions[3] is det


@pytest.mark.parametrize(
    ("args", "kw", "match"),
    [
        (("1x", 8), {}, "identifier"),
        (("detector", 8), {}, "already exists"),
        (("big", 0), {}, "size"),
        (("big", (1 << 30) + 1), {}, "size"),
        (("big", True), {}, "size"),
        (("other", 8), {"region_id": 3}, "already used"),
        (("other", 8), {"region_id": 9}, "outside"),
    ],
)
def test_create_refuses_bad_requests_without_change(
    args: tuple[Any, ...], kw: dict[str, Any], match: str
) -> None:
    app, store, seen = small_app()
    app.regions.create("detector", 64)
    before = (app.regions.names(), dict(store.blobs), dict(seen), app.scrubber.total_words)
    with pytest.raises(ConfigError, match=match):
        app.regions.create(*args, **kw)
    assert before == (app.regions.names(), store.blobs, seen, app.scrubber.total_words)


def test_ids_run_out_after_eight_regions_and_lookups_are_typed() -> None:
    app, _, _ = small_app()
    for i in range(5):  # ids 4..8 (1..3 are reserved for the known regions)
        app.regions.create(f"r{i}", 8)
    with pytest.raises(ConfigError, match="no free region id"):
        app.regions.create("r5", 8)
    with pytest.raises(RegionNotFoundError, match="no EDAC region 'nope'") as info:
        app.regions.region("nope")
    assert isinstance(info.value, KeyError)
    with pytest.raises(KeyError):
        app.regions.region_by_id(1)


def test_scrubber_reloads_a_created_region_from_its_golden_copy() -> None:
    app, _, _ = small_app()
    region = app.regions.create("detector", 4_096, writable=False)
    content = np.random.default_rng(2).integers(0, 256, 4_096, dtype=np.uint8).tobytes()
    region.load(content)
    region.flip(300, 0b11)
    steps = round(app.scrubber.plan.planned_period_s * app.scrubber.rate_hz)
    for k in range(steps):  # one sweep finds the word and reloads its page at once
        app.scrubber.step(k * 1_000_000_000)
    assert region.uncorrectable == 1 and region.reloads == 1
    assert region.state is RegionState.OK and region.read_all() == content


# -- install through the application contract ----------------------------------------------


@pytest.fixture
def backend() -> Iterator[Backend]:
    b = open_backend("sim", seed=1)
    b.create("storage", "nv", {})
    try:
        yield b
    finally:
        b.close()


def context(
    section: str, backend: Backend | None, ex: Executive, services: dict[str, Any]
) -> InstallContext:
    """The app's install context on a hand-built executive; post-install steps (EDAC's
    protection of the parameter table) are collected and not run: these tests are about the
    install itself."""
    return make_context(
        app_spec(section), executive=ex, backend=backend, services=services, after=[]
    )


def test_install_uses_hal_storage_and_the_memory_registration_capability(
    backend: Backend,
) -> None:
    clock = SimClock()
    ex = Executive(clock, 10.0, events=EventLog(clock), params=ParamStore(None))
    services: dict[str, Any] = {}
    app = install(
        context("edac", backend, ex, services),
        parse_config({"storage_device": "nv", "max_period_s": 1.0}),
    )
    assert ex.by_name("edac") is app.scrubber and app.scrubber.component_id == 60
    assert services[SERVICE_NAME] is app.regions
    nv = get_device(backend, "nv", Storage)
    assert app.store is nv and "nv" in app.store_label
    # Another app (compute's registry line requires the service) creates its region.
    regions = context("compute", backend, ex, services).require(SERVICE_NAME, EdacRegions)
    region = regions.create("detector", 2_048, writable=False)
    assert nv.read("edac.detector.golden")  # golden copy in non-volatile storage
    assert region.region_id == 3
    assert isinstance(backend, UpsetModel)  # the radiation model now upsets the region
    assert {"edac.detector.data", "edac.detector.checks"} <= set(backend.upsets_by_region())
    ex.start()
    ex.run_for(1_000_000_000)
    assert not app.scrubber.plan.in_saa
    # The SAA indicator is the environment app's RadiationEnvironment on the bus.
    ex.bus.publish(RadiationEnvironment(clock.now_ns(), True, -25.0, -50.0))
    ex.run_for(1_000_000_000)
    assert app.scrubber.plan.in_saa and app.scrubber.plan is app.scrubber.plan_inside
    s = app.summary()
    json.dumps(s)
    assert s["golden_store"] == "storage device 'nv'" and s["regions"]["detector"]["id"] == 3
    assert s["sweeps"] >= 1


def test_no_storage_device_is_a_config_error_not_ram(backend: Backend) -> None:
    ex = Executive(SimClock(), 10.0)
    with pytest.raises(ConfigError, match=r"\[edac\] storage_device"):
        install(context("edac", backend, ex, {}), parse_config({}))
    with pytest.raises(ConfigError, match=r"\[edac\] storage_device.*'nope'"):
        install(context("edac", backend, ex, {}), parse_config({"storage_device": "nope"}))
    with pytest.raises(ConfigError, match=r"\[edac\] storage_device"):
        install(context("edac", None, ex, {}), parse_config({"storage_device": "nv"}))
    assert len(ex.components) == 1  # nothing was added


def test_a_golden_copy_the_storage_cannot_take_is_a_config_error() -> None:
    b = open_backend("sim", seed=1)
    try:
        b.create("storage", "tiny", {"capacity_bytes": 4_096})
        ex = Executive(SimClock(), 10.0)
        services: dict[str, Any] = {}
        app = install(context("edac", b, ex, services), parse_config({"storage_device": "tiny"}))
        app.regions.create("small", 1_000)
        with pytest.raises(ConfigError, match=r"region 'big'.*golden copy.*storage_device"):
            app.regions.create("big", 8_192)
        assert app.regions.names() == ("small",) and app.scrubber.total_words == 125
    finally:
        b.close()
