"""The linux backend against a temporary tree shaped like sysfs and /dev (and the real
sysfs where this machine has it). Oracles: the values written into the fake files, the bytes
a watchdog file receives, and the conformance kit."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hal.linux import FileOps, FileStorage, discover_temperatures
from hal.registry import open_backend, open_from_config
from hal.testing import check_backend
from native.errors import ConfigError, DeviceCommandError, DeviceFaultError


class ManualClock:
    """A clock the test moves: time never comes from the wall."""

    def __init__(self) -> None:
        self.t = 1_000

    def __call__(self) -> int:
        return self.t


def fake_root(tmp: Path) -> Path:
    root = tmp / "root"
    zone = root / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "temp").write_text("45000\n")
    (zone / "type").write_text("x86_pkg_temp\n")
    hw = root / "sys/class/hwmon/hwmon0"
    hw.mkdir(parents=True)
    (hw / "name").write_text("coretemp\n")
    (hw / "temp1_input").write_text("51500\n")
    (hw / "temp2_input").write_text("garbage\n")
    (root / "dev").mkdir()
    (root / "dev/watchdog").write_bytes(b"")
    return root


def open_fake(tmp: Path, clock: ManualClock) -> object:
    backend = open_backend("linux", root=fake_root(tmp), clock=clock)
    backend.create_devices(
        {
            "temps": {
                "family": "temperature",
                "channels": {"soc": "thermal_zone0", "cpu": "hwmon:coretemp/temp1"},
            },
            "wdog": {"family": "watchdog"},
            "nvm": {"family": "storage", "directory": "var/nv", "capacity_bytes": 4096},
        }
    )
    return backend


class Harness:
    """Moves the backend's manual clock; switches devices through the backend."""

    def __init__(self, backend: object, clock: ManualClock) -> None:
        self.backend = backend
        self.clock = clock

    def advance(self, dt_ns: int) -> None:
        self.clock.t += dt_ns

    def set_device_power(self, name: str, on: bool) -> None:
        self.backend.set_device_power(name, on)  # type: ignore[attr-defined]


def test_conformance_kit(tmp_path: Path) -> None:
    clock = ManualClock()
    backend = open_fake(tmp_path, clock)
    results = check_backend(backend, Harness(backend, clock))
    assert results == {"temps": None, "wdog": None, "nvm": None}


def test_temperatures_from_sysfs_files(tmp_path: Path) -> None:
    backend = open_fake(tmp_path, ManualClock())
    r = backend.device("temps").read()  # type: ignore[attr-defined]
    assert r.temp_c("soc") == 45.0 and r.temp_c("cpu") == 51.5 and r.valid
    (backend.root / "sys/class/hwmon/hwmon0/temp1_input").write_text("oops")  # type: ignore[attr-defined]
    r = backend.device("temps").read()  # type: ignore[attr-defined]
    assert math.isnan(r.temp_c("cpu")) and not r.channel("cpu").valid and not r.valid


def test_discovery_and_bad_channel_specs(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    found = discover_temperatures(root / "sys/class")
    assert found == {
        "thermal_zone0_x86_pkg_temp": "thermal_zone0",
        "hwmon0_coretemp_temp1": "hwmon0/temp1",
        "hwmon0_coretemp_temp2": "hwmon0/temp2",
    }
    backend = open_backend("linux", root=root)
    for spec in ("nonsense", "hwmon:nochip/temp1", "hwmon0/fan1"):
        with pytest.raises(ConfigError, match="channel"):
            backend.create("temperature", f"t{len(spec)}", {"channels": {"x": spec}})
    with pytest.raises(ConfigError, match="no 'battery' devices"):
        backend.create("battery", "b")
    with pytest.raises(ConfigError, match="unknown key"):
        backend.create("storage", "s", {"directory": "x", "colour": 1})


def test_real_sysfs_where_present() -> None:
    sysfs = Path("/sys/class")
    found = discover_temperatures(sysfs)
    if not found:
        pytest.skip("this machine has no hwmon or thermal-zone temperatures")
    backend = open_from_config(
        {"backend": "linux", "devices": {"t": {"family": "temperature", "channels": found}}}
    )
    r = backend.device("t").read()  # type: ignore[attr-defined]
    for name, spec in found.items():
        path = backend.device("t").paths[name]  # type: ignore[attr-defined]
        raw = int(path.read_text()) / 1000.0
        ch = r.channel(name)
        if ch.valid:
            assert abs(ch.temp_c - raw) < 5.0, spec  # the file may change between reads


def test_watchdog_magic_close_and_expiry(tmp_path: Path) -> None:
    clock = ManualClock()
    backend = open_fake(tmp_path, clock)
    wd = backend.device("wdog")  # type: ignore[attr-defined]
    dev_file = backend.root / "dev/watchdog"  # type: ignore[attr-defined]
    with pytest.raises(DeviceCommandError):
        wd.kick()
    with pytest.raises(DeviceCommandError):
        wd.arm(0.1)
    wd.arm(5.0)
    clock.t += 4_000_000_000
    wd.kick()
    wd.disarm()
    assert dev_file.read_bytes() == b"\0\0V"  # start, kick, magic close
    wd.arm(2.0)
    clock.t += 3_000_000_000
    assert wd.read().expired and wd.read().remaining_s == 0.0
    with pytest.raises(DeviceFaultError):
        wd.kick()
    backend.close()  # type: ignore[attr-defined]
    assert dev_file.read_bytes() == b"\0\0V\0"  # an expired watchdog is not magic-closed


def test_storage_atomic_files(tmp_path: Path) -> None:
    seen: list[str] = []

    class Recorder(FileOps):
        def point(self, kind: str, path: Path, data: bytes | None = None) -> None:
            seen.append(kind)

    st = FileStorage("nv", tmp_path / "nv", fs=Recorder(chunk_bytes=4))
    st.write("rec", b"0123456789")
    assert seen == ["open", "write", "write", "write", "fsync", "rename", "fsync_dir"]
    assert (tmp_path / "nv/rec").read_bytes() == b"0123456789"
    (tmp_path / "nv/.tmp-rec").write_bytes(b"torn")  # leftover of a cut write
    assert st.list() == ("rec",)
    st.write("rec", b"new")
    assert st.read("rec") == b"new" and not (tmp_path / "nv/.tmp-rec").exists()
    with pytest.raises(DeviceCommandError):
        st.write("../x", b"")
    st.delete("rec")
    assert st.list() == ()


def test_unknown_options_and_root(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option"):
        open_backend("linux", world={})
    with pytest.raises(ConfigError, match="not a directory"):
        open_backend("linux", root=tmp_path / "missing")
