"""``satnode image|target|boot`` and ``faults power-cut`` end to end on a temporary target.

Oracles: the wheel's own file list, the refusal rules, the boot record after each step, and
the power-cut rule (100 % bootable; a storage layer without fsync must fail it)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from ground.cli import main
from native.errors import SatnodeError

NOW = "1800000000"


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory, flight_wheel: Path) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("kit")
    assert main(["image", "keygen", "--out", str(d / "k1")]) == 0
    assert main(["image", "keygen", "--out", str(d / "k2")]) == 0
    cfg = d / "boot.toml"
    cfg.write_text("[boot]\nhealth_gate_s = 3.0\n[fdir]\nboot_s = 2.0\n")
    for v in (1, 2):
        argv = ["image", "build", "--version", str(v), "--key", str(d / "k1"), "--config",
                str(cfg), "--wheel", str(flight_wheel), "--now", NOW, "--out", str(d / f"v{v}.img")]  # fmt: skip
        assert main(argv) == 0
    return {"dir": d, "k1": d / "k1", "k2": d / "k2", "v1": d / "v1.img", "v2": d / "v2.img",
            "cfg": cfg}  # fmt: skip


def _target(tmp: Path, kit: dict[str, Path]) -> Path:
    t = tmp / "T"
    assert main(["target", "init", str(t), "--trust", f"{kit['k1']}.pub",
                 "--factory", str(kit["v1"])]) == 0  # fmt: skip
    return t


def _status(t: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["target", "status", str(t), "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_flight_wheel_has_no_ground_and_no_plotting(flight_wheel: Path, tmp_path: Path) -> None:
    from ground.image import check_flight_wheel

    names = zipfile.ZipFile(flight_wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {"flight", "hal", "native"} <= tops and not tops & {"ground", "hil"}
    assert any(n.startswith("native/") and n.endswith(".so") for n in names)  # compiled kernels
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert "matplotlib" not in zipfile.ZipFile(flight_wheel).read(meta).decode()
    bad = tmp_path / "bad.whl"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("flight/x.py", "import matplotlib.pyplot as plt\n")
    with pytest.raises(SatnodeError, match="plotting"):
        check_flight_wheel(bad)
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("ground/cli.py", "")
    with pytest.raises(SatnodeError, match="not flight code"):
        check_flight_wheel(bad)


def test_build_refuses_a_development_key(kit: dict[str, Path], flight_wheel: Path,
                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    cfg = tmp_path / "dev.toml"
    cfg.write_text('[security]\nprovision = "ground-keys.json"\n')
    out = tmp_path / "x.img"
    rc = main(["image", "build", "--version", "3", "--key", str(kit["k1"]), "--config", str(cfg),
               "--wheel", str(flight_wheel), "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "development key" in err and not out.exists()


def test_verify_and_refusals_on_the_command_line(kit: dict[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    pub1, pub2 = f"{kit['k1']}.pub", f"{kit['k2']}.pub"
    assert main(["image", "verify", str(kit["v2"]), "--trust", pub1, "--now", NOW]) == 0
    capsys.readouterr()
    assert main(["image", "verify", str(kit["v2"]), "--trust", pub2, "--now", NOW]) == 2
    assert "unknown_key" in capsys.readouterr().err
    assert main(["image", "verify", str(kit["v2"]), "--trust", pub1, "--now", "9e9"]) == 2
    assert "expired" in capsys.readouterr().err
    t = _target(tmp_path, kit)
    before = _status(t, capsys)
    rc = main(["image", "install", str(kit["v1"]), "--target", str(t), "--now", NOW])
    err = capsys.readouterr().err
    assert rc == 2 and "downgrade" in err and len(err.strip().splitlines()) == 1
    assert _status(t, capsys) == before


def test_install_and_full_boot_cycle(kit: dict[str, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    t = _target(tmp_path, kit)
    assert main(["image", "install", str(kit["v2"]), "--target", str(t), "--now", NOW]) == 0
    s = _status(t, capsys)
    assert s["pending"] == "A" and s["tries_left"] == 3 and s["upgrade_pending"] is True
    assert main(["boot", "--target", str(t), "--duration", "20"]) == 0
    s = _status(t, capsys)
    assert (s["active"], s["last_good"], s["pending"], s["floor"]) == ("A", "A", None, 2)
    assert [h["kind"] for h in s["history"]][-2:] == ["trial", "good"]  # type: ignore[index]
    summary = json.loads((t / "data" / "summary.json").read_text())
    assert summary["boot"]["marked_good"] and summary["boot"]["slot"] == "A"


def test_power_cut_campaign_is_100_percent(kit: dict[str, Path], tmp_path: Path) -> None:
    from ground.powercut import run_power_cut_campaign

    t = _target(tmp_path, kit)
    image = kit["v2"].read_bytes()
    report = run_power_cut_campaign(t, image, now_utc_s=float(NOW))
    assert report.points > 20 and report.kinds["fsync"] >= 4 and report.kinds["write"] >= 4
    assert report.bootable == report.points, report.failures
    assert set(report.outcomes) >= {"stable factory", "trial A", "stable A"}
    # the same campaign finds the bug of a storage layer that never fsyncs
    bad = run_power_cut_campaign(t, image, now_utc_s=float(NOW), fsync_enabled=False)
    assert bad.bootable < bad.points


def test_power_cut_cli_and_process_kills(kit: dict[str, Path], tmp_path: Path) -> None:
    t = _target(tmp_path, kit)
    out = tmp_path / "pc.json"
    rc = main(["faults", "power-cut", "--target", str(t), "--image", str(kit["v2"]),
               "--points", "0,5,10,15", "--kills", "3", "--now", NOW, "--json", str(out)])  # fmt: skip
    doc = json.loads(out.read_text())
    assert rc == 0 and doc["points"] == 4 and doc["bootable"] == 4
    assert doc["kills"] == 3 and doc["kills_bootable"] == 3


def test_fly_on_the_linux_backend(tmp_path: Path) -> None:
    """``satnode fly --config`` with the linux backend on a fake sysfs/dev tree: the stack
    runs paced (here 20x real time), kicks the watchdog file and magic-closes it."""
    root = tmp_path / "root"
    zone = root / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "temp").write_text("42000\n")
    (root / "dev").mkdir()
    (root / "dev/watchdog").write_bytes(b"")
    cfg = tmp_path / "linux.toml"
    cfg.write_text(
        "[node]\nname = 'fc-1'\napid = 100\nseed = 1\n"
        "[executive]\nbase_hz = 10.0\nwatchdog = 'wdog'\nwatchdog_timeout_s = 5.0\n"
        "[tmtc]\nground_link = false\n[params]\nfile = 'params.bin'\n[hal]\nbackend = 'linux'\n"
        f"[devices.temps]\nfamily = 'temperature'\nsysfs = '{root}/sys/class'\n"
        "channels = { board = 'thermal_zone0' }\n"
        f"[devices.wdog]\nfamily = 'watchdog'\npath = '{root}/dev/watchdog'\n"
    )
    out = tmp_path / "out"
    rc = main(["fly", "--config", str(cfg), "--complete", "--duration", "2", "--speed", "20",
               "--out", str(out)])  # fmt: skip
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hal"]["backend"] == "linux" and summary["sim_seconds"] == 2.0
    data = (root / "dev/watchdog").read_bytes()
    assert data.endswith(b"V") and data.count(b"\0") >= 2  # armed, kicked, magic close
