"""``satnode sim`` runs that are safe to start, stop and repeat (issue 13, item 1).

Oracles: the files on disk (bytes and modification times of a previous run), the packets a
UDP receiver got against the summary's counters, the process exit status convention
(128 + signal number), and the onboard time of the summary. No wall-clock assertion: the one
wall-clock wait (for a subprocess to start) is a generous safety cap.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from flight.tmtc import split_packets
from ground.cli import main
from ground.report import REPORT_FILES

START_CAP_S = 120.0  # safety cap only: a node that never starts becomes a clear failure


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def _old_run(folder: Path) -> None:
    folder.mkdir()
    (folder / "summary.json").write_text('{"old": true}\n')
    (folder / "tm.bin").write_bytes(b"old packets")
    (folder / "power.png").write_bytes(b"old plot")


def test_run_json_is_written_before_the_first_tick(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flight.node import Node

    out = tmp_path / "run"
    seen: dict[str, Any] = {}
    original = Node.run

    def spy(self: Node, duration_s: float, progress: Any = None) -> dict[str, Any]:
        seen["run_json"] = json.loads((out / "run.json").read_text())
        seen["ticks"] = self.executive.tick_count
        return original(self, duration_s, progress)

    monkeypatch.setattr(Node, "run", spy)
    assert main(["sim", "--duration", "30", "--seed", "4", "--out", str(out)]) == 0
    assert seen["ticks"] == 0
    run = seen["run_json"]
    assert run == json.loads((out / "run.json").read_text())
    assert run["schema"] == "satnode-run/1" and run["node"] == "satnode-1"
    assert run["seed"] == 4 and run["apid"] == 100 and run["speed"] is None
    assert len(run["config_sha256"]) == 64 and int(run["config_sha256"], 16) >= 0
    assert set(run["versions"]) == {"satnode", "python", "numpy", "numba"}
    assert run["time_code"]["kind"] == "cuc" and run["time_code"]["octets"] == 7
    assert run["downlink"] is None  # off unless configured or asked for
    assert run["started"] == {"onboard_ns": 0}
    up = run["uplink"]
    printed = capsys.readouterr().out
    assert f"uplink {up['host']}:{up['port']}/udp, downlink off" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tmtc"]["downlink"] is None


def test_a_rejected_run_leaves_the_previous_run_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    _old_run(out)
    before = _snapshot(out)
    bad_scn = tmp_path / "bad.toml"
    bad_scn.write_text('[[fault]]\nat_s = 1\nkind = "sensor_stuck"\ntarget = "nosuchdevice"\n')
    cases = [
        ["--scenario", str(bad_scn), "--overwrite"],  # unknown device: checked against the node
        ["--speed", "0", "--overwrite"],
        ["--downlink", "nonexistent.invalid:4000", "--overwrite"],
        [],  # not empty, no --overwrite
    ]
    for extra in cases:
        assert main(["sim", "--duration", "5", "--out", str(out), *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert _snapshot(out) == before
    assert "does not resolve" not in err and "not empty" in err and "--overwrite" in err


def test_unknown_memory_region_is_refused_before_the_folder_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scn = tmp_path / "s.toml"
    scn.write_text('[[fault]]\nat_s = 0\nkind = "seu_burst"\ntarget = "radiation.nope"\n')
    out = tmp_path / "never"
    assert main(["sim", "--duration", "5", "--scenario", str(scn), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "s.toml:4" in err and "unknown memory region 'nope'" in err
    assert not out.exists()


def test_overwrite_replaces_only_satnodes_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _old_run(out)
    (out / "notes.txt").write_text("mine")
    assert main(["sim", "--duration", "20", "--out", str(out), "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "summary.json").read_text())["sim_seconds"] == 20.0
    assert (out / "tm.bin").read_bytes() != b"old packets"
    assert (out / "power.png").read_bytes() != b"old plot"
    names = {p.name for p in out.iterdir()} - {"notes.txt", "params.bin", "params.bin.bak"}
    assert names <= {"run.json", "dictionary.json", "tm.bin", "summary.json", "ground-keys.json",
                     *REPORT_FILES}  # fmt: skip


@pytest.mark.parametrize("kind", ["file", "proc", "under_file"])
def test_unusable_out_is_one_line_exit_2(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "f"
    a_file.write_text("x")
    out = {"file": a_file, "proc": Path("/proc/satnode-x"), "under_file": a_file / "sub"}[kind]
    assert main(["sim", "--duration", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("satnode: error: --out") and err.count("\n") == 1, err
    assert a_file.read_text() == "x"


def test_downlink_sends_every_packet_when_asked(tmp_path: Path) -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    rx.setblocking(False)
    port = rx.getsockname()[1]
    out = tmp_path / "run"
    try:
        assert (
            main(["sim", "--duration", "60", "--out", str(out), "--downlink", f"127.0.0.1:{port}"])
            == 0
        )
        got = []
        while True:
            try:
                got.append(rx.recv(70_000))
            except BlockingIOError:
                break
    finally:
        rx.close()
    run = json.loads((out / "run.json").read_text())
    assert run["downlink"] == {"host": "127.0.0.1", "port": port}
    summary = json.loads((out / "summary.json").read_text())
    down = summary["tmtc"]["downlink"]
    packets, _ = split_packets((out / "tm.bin").read_bytes())
    assert down["send_errors"] == 0 and down["sent"] == len(packets) == len(got)
    assert b"".join(got) == (out / "tm.bin").read_bytes()


def test_send_errors_are_counted_and_warned_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    # a broadcast address without SO_BROADCAST: every sendto fails (EACCES)
    assert (
        main(["sim", "--duration", "60", "--out", str(out), "--downlink", "255.255.255.255:9"]) == 0
    )
    err = capsys.readouterr().err
    assert err.count("downlink 255.255.255.255:9: cannot send TM") == 1
    summary = json.loads((out / "summary.json").read_text())
    down = summary["tmtc"]["downlink"]
    assert down["sent"] == 0 and down["send_errors"] == summary["tmtc"]["tm_packets"] > 0


def test_fault_due_at_zero_and_fault_after_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scn = tmp_path / "s.toml"
    scn.write_text(
        '[[fault]]\nat_s = 0\nkind = "seu_burst"\ntarget = "radiation.edac.params.data"\n'
        "n_bits = 3\n\n"
        '[[fault]]\nat_s = 500\nkind = "sensor_stuck"\ntarget = "temps"\n'
    )
    out = tmp_path / "run"
    assert main(["sim", "--duration", "120", "--scenario", str(scn), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "s.toml:8: fault #2" in err and "will not be applied" in err
    summary = json.loads((out / "summary.json").read_text())
    events = summary["hal"]["scenario"]["events"]
    assert [(e["t_s"], e["action"], e["kind"]) for e in events] == [(0.0, "apply", "seu_burst")]
    # the three flipped bits were single-bit errors in three words, or fewer words with
    # adjacent flips; the scrubber found and corrected them within the run
    assert summary["edac"]["corrected"] >= 1


def _start(out: Path, *extra: str) -> subprocess.Popen[str]:
    """A paced node sending its TM to us; returns once it has sent three packets (boot,
    then housekeeping: onboard time has passed), a generous wall-clock cap aside."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(1.0)
    down = f"127.0.0.1:{rx.getsockname()[1]}"
    cmd = [sys.executable, "-m", "ground.cli", "sim", "--duration", "1e6", "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--downlink", down, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + START_CAP_S
    received = 0
    try:
        while received < 3:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"node did not start: {proc.communicate()}")
            try:
                rx.recv(70_000)
                received += 1
            except TimeoutError:
                continue
    finally:
        rx.close()
    return proc


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_at_a_tick_boundary_with_a_summary(
    sig: signal.Signals, status: int, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    proc = _start(out, "--speed", "20")
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=START_CAP_S)
    finally:
        proc.kill()
    assert proc.returncode == status, err
    assert "Traceback" not in err and f"{sig.name}: stopped at t = " in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert 0 < summary["sim_seconds"] < 1e6
    # stopped between ticks: the onboard time is a whole number of base periods
    ticks = summary["executive"]["ticks"]
    assert summary["sim_seconds"] == pytest.approx(ticks / summary["executive"]["base_hz"])
    packets, rest = split_packets((out / "tm.bin").read_bytes())
    assert rest == b"" and len(packets) == summary["tmtc"]["tm_packets"]


def test_help_lists_every_command_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    from importlib import metadata

    from ground.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in sub.choices:  # listed on a line of its own (a long name wraps its help)
        assert re.search(rf"^    {re.escape(name)}(\s|$)", text, re.MULTILINE), name
    assert "``" not in text and "faults" in text
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"satnode {metadata.version('satnode')}"


def test_gitignore_ignores_the_default_output_folder() -> None:
    root = Path(__file__).resolve().parents[2]
    lines = (root / ".gitignore").read_text().splitlines()
    assert "satnode-out/" in lines
    if (root / ".git").exists():
        res = subprocess.run(
            ["git", "check-ignore", "-q", "satnode-out/summary.json"], cwd=root, check=False
        )
        assert res.returncode == 0
