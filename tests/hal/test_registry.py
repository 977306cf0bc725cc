"""The HAL backend registry: names, laziness, errors, entry points, composition from config."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

import hal
from hal import registry
from hal.platform import ResetReason
from hal.registry import (
    ENTRY_POINT_GROUP,
    Backend,
    MemoryRegistration,
    ProcessorReset,
    RunReport,
    SteppedPlant,
    UpsetModel,
    get_device,
    known_backends,
    open_backend,
    open_from_config,
    register_backend,
)
from hal.sensors import TemperatureSensors
from hal.testing import RebootHarness
from hal.thermal import Heater
from native.errors import (
    BackendNotFoundError,
    ConfigError,
    DeviceUnavailableError,
    HalError,
)


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate registrations made by a test."""
    monkeypatch.setattr(registry, "_registered", dict(registry._registered))
    monkeypatch.setattr(registry, "_entry_points_loaded", registry._entry_points_loaded)


def test_errors_are_reexported_from_hal() -> None:
    for name in (
        "HalError",
        "BackendNotFoundError",
        "DeviceUnavailableError",
        "DeviceFaultError",
        "DeviceCommandError",
    ):
        assert getattr(hal, name) is getattr(sys.modules["native.errors"], name)
    assert issubclass(hal.BackendNotFoundError, HalError)


def test_builtin_names_are_known() -> None:
    assert {"sim", "hil", "linux"} <= set(known_backends())


def test_unknown_backend_names_itself_and_lists_known() -> None:
    with pytest.raises(BackendNotFoundError) as exc:
        open_backend("warp_drive")
    msg = str(exc.value)
    assert "'warp_drive'" in msg
    for name in ("sim", "hil", "linux"):
        assert name in msg


def test_backend_whose_module_is_missing_is_unavailable() -> None:
    # A backend registered by name whose module cannot be imported is reported, not a crash.
    register_backend("ghost_drive", "hal.ghost_drive._backend:open_ghost", replace=True)
    with pytest.raises(BackendNotFoundError) as exc:
        open_backend("ghost_drive")
    assert "'ghost_drive'" in str(exc.value) and "unavailable" in str(exc.value)


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def test_non_string_name() -> None:
    with pytest.raises(BackendNotFoundError):
        open_backend(42)  # type: ignore[arg-type]


class _FakeBackend:
    def __init__(self, **options: object) -> None:
        self.options = options
        self.closed = False
        self.created: dict[str, object] = {}

    name = "fake"
    families = ()
    t_ns = 0

    @property
    def devices(self) -> dict[str, object]:
        return self.created

    def create(self, family: str, name: str, config: object = None) -> object:
        raise ConfigError(f"devices.{name}: fake backend has no devices")

    def create_devices(self, devices: dict[str, object]) -> dict[str, object]:
        for name in devices:
            self.create("x", name)
        return {}

    def device(self, name: str) -> object:
        raise DeviceUnavailableError(name)

    def close(self) -> None:
        self.closed = True


@pytest.mark.usefixtures("clean_registry")
def test_register_callable_and_options_pass_through() -> None:
    register_backend("fake", _FakeBackend)
    b = open_backend("fake", speed=3)
    assert isinstance(b, _FakeBackend) and b.options == {"speed": 3}
    assert "fake" in known_backends()


@pytest.mark.usefixtures("clean_registry")
def test_register_lazy_string_is_not_imported_until_opened() -> None:
    register_backend("lazy", "tests_nonexistent_module_xyz:factory")
    assert "tests_nonexistent_module_xyz" not in sys.modules
    with pytest.raises(BackendNotFoundError, match="lazy"):
        open_backend("lazy")


@pytest.mark.usefixtures("clean_registry")
def test_register_rejects_duplicates_and_bad_names() -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register_backend("sim", _FakeBackend)
    register_backend("sim", _FakeBackend, replace=True)
    assert isinstance(open_backend("sim"), _FakeBackend)
    for bad in ("", "Sim", "1abc", "has space", "x" * 40):
        with pytest.raises(ConfigError):
            register_backend(bad, _FakeBackend)
    with pytest.raises(ConfigError, match="module:attribute"):
        register_backend("nocolon", "just_a_module")


@pytest.mark.usefixtures("clean_registry")
def test_entry_point_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = metadata.EntryPoints(
        [
            metadata.EntryPoint("thirdparty", f"{__name__}:_FakeBackend", ENTRY_POINT_GROUP),
            # A third party cannot shadow a built-in name.
            metadata.EntryPoint("sim", f"{__name__}:_FakeBackend", ENTRY_POINT_GROUP),
        ]
    )
    seen_groups = []

    def fake_entry_points(*, group: str) -> metadata.EntryPoints:
        seen_groups.append(group)
        return eps

    monkeypatch.setattr(registry.metadata, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    monkeypatch.setattr(registry, "_registered", dict(registry._BUILTIN))
    assert "thirdparty" in known_backends()
    assert seen_groups == [ENTRY_POINT_GROUP]
    assert isinstance(open_backend("thirdparty", a=1), _FakeBackend)
    assert registry._registered["sim"] == registry._BUILTIN["sim"]


def test_open_sim_rejects_unknown_option() -> None:
    with pytest.raises(ConfigError, match="warp"):
        open_backend("sim", warp=9)


def test_open_from_config_composes_devices() -> None:
    b = open_from_config(
        {
            "backend": "sim",
            "seed": 3,
            "devices": {
                "temp": {"family": "temperature", "channels": {"bat": "battery"}},
                "htr": {"family": "heater", "node": "battery", "rated_w": 5.0},
            },
        }
    )
    assert b.name == "sim" and set(b.devices) == {"temp", "htr"}
    assert isinstance(b, Backend) and isinstance(b, RebootHarness)
    assert isinstance(get_device(b, "htr", Heater), Heater)
    assert get_device(b, "temp", TemperatureSensors).read().channel("bat").valid
    with pytest.raises(DeviceUnavailableError, match="heater, not a TemperatureSensors"):
        get_device(b, "htr", TemperatureSensors)
    with pytest.raises(DeviceUnavailableError, match="nope"):
        b.device("nope")
    b.close()


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({}, "missing key 'backend'"),
        ({"backend": "sim", "devices": []}, "'devices' must be a table"),
        ({"backend": "sim", "devices": {"t": {"channels": {}}}}, r"devices\.t\.family"),
        ({"backend": "sim", "devices": {"t": {"family": "toaster"}}}, "unknown family 'toaster'"),
        (
            {
                "backend": "sim",
                "devices": {"h": {"family": "heater", "node": "battery", "ratd_w": 1}},
            },
            r"devices\.h: unknown key 'ratd_w'",
        ),
        (
            {"backend": "sim", "devices": {"h": {"family": "heater", "node": "attic"}}},
            r"devices\.h\.node",
        ),
        (
            {
                "backend": "sim",
                "devices": {"h": {"family": "heater", "node": "battery", "rated_w": -1}},
            },
            r"devices\.h\.rated_w",
        ),
        ({"backend": "sim", "world": {"orbit": {"altitude_km": -5}}}, "altitude_km"),
        ({"backend": "sim", "seed": "one"}, "seed"),
    ],
)
def test_open_from_config_errors_name_the_key(config: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        open_from_config(config)


def test_create_devices_is_all_or_nothing() -> None:
    b = open_backend("sim")
    with pytest.raises(ConfigError, match=r"devices\.bad"):
        b.create_devices(
            {
                "good": {"family": "watchdog"},
                "bad": {"family": "watchdog", "timeout_max_s": -1.0},
            }
        )
    assert dict(b.devices) == {}
    b.create("watchdog", "wd")
    with pytest.raises(ConfigError, match="duplicate"):
        b.create("watchdog", "wd")
    with pytest.raises(ConfigError, match=r"no '\.'"):
        b.create("watchdog", "a.b")


def test_hal_top_level_never_imports_a_backend() -> None:
    code = (
        "import sys, hal, hal.registry, hal.testing, hal.sensors, hal.laser\n"
        "bad = [m for m in sys.modules if m.startswith(('hal.sim', 'hal.hil', 'hal.linux'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ backend capabilities
CAPABILITIES = (SteppedPlant, ProcessorReset, UpsetModel, MemoryRegistration, RunReport)


def test_capabilities_are_exported_from_hal_and_registry() -> None:
    for cap in CAPABILITIES:
        assert getattr(hal, cap.__name__) is cap
        assert cap.__name__ in registry.__all__ and cap.__name__ in hal.__all__


def test_sim_backend_has_every_capability() -> None:
    b = open_backend("sim", seed=2)
    for cap in CAPABILITIES:
        assert isinstance(b, cap), cap.__name__


def test_an_object_without_the_members_has_no_capability() -> None:
    class Bare:
        t_ns = 0

    class HalfPlant:  # time but no advance(): not a stepped plant
        t_ns = 0

        def summary(self) -> dict[str, int]:
            return {}

    for cap in CAPABILITIES:
        assert not isinstance(Bare(), cap), cap.__name__
        assert not isinstance(object(), cap), cap.__name__
    assert not isinstance(HalfPlant(), SteppedPlant)
    assert isinstance(HalfPlant(), RunReport)  # the one member it has


def test_sim_capabilities_behave() -> None:
    b = open_backend("sim", seed=2, world={"radiation": {"seu_rate_per_bit_day": 1.0}})
    assert isinstance(b, SteppedPlant) and isinstance(b, UpsetModel)
    assert isinstance(b, MemoryRegistration) and isinstance(b, ProcessorReset)
    t0 = b.t_ns
    b.advance(2_000_000_000)
    assert b.t_ns == t0 + 2_000_000_000
    assert b.seu_rate_per_bit_day == 1.0
    assert b.upset_rate_per_bit_day in (1.0, 10.0)  # 10x inside the SAA (default factor)
    mem = np.zeros(1 << 14, dtype=np.uint8)
    b.register_memory("m", mem)
    b.advance(3_600_000_000_000)  # one hour: ~ 2^17 bits * 1/day / 24 = ~5,000 upsets
    assert b.upsets_injected == b.upsets_by_region()["m"] > 1000
    assert b.bits_flipped >= b.upsets_injected
    assert int(np.unpackbits(mem).sum()) <= b.bits_flipped  # flips can cancel, never add
    assert b.reboot_pending is False
    assert b.reboot(ResetReason.COMMANDED) is ResetReason.COMMANDED
    assert isinstance(b, RunReport) and b.summary()["backend"] == "sim"
