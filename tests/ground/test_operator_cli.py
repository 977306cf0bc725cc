"""``satnode ground``: ping, send, listen and params against a real node over UDP on loopback.

The node is a ``satnode sim --speed 50`` subprocess; the subcommands run in-process through
``ground.cli.main`` with ``--run DIR`` (the run's ``run.json``), or with explicit addresses.
Oracles: the node's PUS-1 verification and its own reports, the values commanded, the
dictionary's declared units and defaults, and the independent dictionary codec
(``tests/ground/generic_decoder.py``) that builds a TC for the node while ``listen`` watches.
Timeouts are onboard seconds; the wall-clock caps only turn a dead node into a failure.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ground.cli import main
from ground.commander import Uplink, dictionary_for_config, read_run
from tests.ground.generic_decoder import DictionaryCodec
from tests.ground.running_node import PROCESS_CAP_S, RunningNode, free_udp_port


@pytest.fixture(scope="module")
def dictionary() -> dict[str, Any]:
    return dict(json.loads(json.dumps(dictionary_for_config())))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    node = RunningNode(tmp_path_factory.mktemp("cli") / "run", speed=50.0)
    try:
        yield node
    finally:
        node.stop()


def ground(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``satnode ground ARGV``; (exit status, stdout, stderr)."""
    code = main(["ground", *argv, "--wall-cap", "30"])
    out, err = capsys.readouterr()
    return code, out, err


def test_ping(live: RunningNode, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = ground(capsys, "ping", "--run", str(live.out))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("ping (TC[17,1], request 0x")
    assert re.fullmatch(r"  accepted at \d+\.\d{3} s onboard", lines[1])
    assert re.fullmatch(r"  completed at \d+\.\d{3} s onboard", lines[2])
    assert re.fullmatch(r"alive: TM\[17,2\] at \d+\.\d{3} s onboard", lines[3])


def test_send_completes_and_listen_shows_the_effect_with_units(
    live: RunningNode, capsys: pytest.CaptureFixture[str], dictionary: dict[str, Any]
) -> None:
    code, out, err = ground(capsys, "send", "power.set_soc", "soc_frac=0.5", "--run", str(live.out))
    assert code == 0, err
    assert out.splitlines()[0].startswith("sent power.set_soc soc_frac=0.5 (TC[8,1], seq 0, ")
    assert "  accepted at " in out and "  completed at " in out
    # 25 onboard seconds hold at least two periodic reports (every 10 s); the last one was
    # made after the command and shows the commanded state of charge
    code, out, err = ground(capsys, "listen", "--duration", "25", "--run", str(live.out))
    assert code == 0, err
    power = [line for line in out.splitlines() if " HK power: " in line]
    assert len(power) >= 2
    soc = float(re.search(r" soc_frac=(\S+) ", power[-1]).group(1))  # type: ignore[union-attr]
    assert abs(soc - 0.5) < 0.01
    units = {f["name"]: f["unit"] for f in next(
        h for h in dictionary["housekeeping"] if h["component"] == "power")["fields"]}  # fmt: skip
    assert units["battery_v"] == "V" and units["soc_frac"] == "1"
    assert re.search(r" battery_v=-?[\d.e+-]+ V ", power[-1])  # a value with its unit
    assert re.search(r" soc_frac=[\d.e+-]+ soc_min_frac=", power[-1])  # dimensionless: bare
    times = [float(line.split()[0]) for line in out.splitlines()]
    assert times == sorted(times) and times[-1] - times[0] <= 25.0
    assert ground(capsys, "send", "power.set_soc", "soc_frac=0.9", "--run", str(live.out))[0] == 0


def test_listen_prints_events_with_their_text(
    live: RunningNode, dictionary: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """``listen`` in its own process while a TC built by the independent codec makes the node
    shed a load (an event with text) and verify the request."""
    listen = subprocess.Popen(
        [sys.executable, "-m", "ground.cli", "ground", "listen", "--run", str(live.out),
         "--duration", "40", "--wall-cap", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert listen.stdout is not None
    first = listen.stdout.readline()  # listen has bound the downlink and is receiving
    assert first.strip(), listen.stderr.read() if listen.stderr else ""
    run = read_run(live.out)
    assert run.uplink is not None
    codec = DictionaryCodec(dictionary)
    uplink = Uplink()
    if run.keys is not None:  # a secured run: sign the TC with the run's ground keys
        from ground.uplink import SecureUplink

        uplink = SecureUplink.from_key_file(live.out / run.keys)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        raw = codec.encode_tc(
            8, 1,
            {"function_id": codec.command_names[("power", "force_shed")]["function_id"],
             "arguments": {"level": 1}},
            seq_count=1000,
        )  # fmt: skip
        for datagram in uplink.encode(raw):
            tx.sendto(datagram, run.uplink)
    rest, err = listen.communicate(timeout=PROCESS_CAP_S)
    assert listen.returncode == 0, err
    out = first + rest
    request = (0x1800 | dictionary["apid"]) << 16 | 0xC000 | 1000
    assert f"VERIFY acceptance success (request {request:#010x})" in out
    assert f"VERIFY completion success (request {request:#010x})" in out
    assert re.search(
        r"EVENT MEDIUM power\.shed: shed level \w+ -> \w+ \(SoC \d\.\d{3}, mode \w+\)", out
    )
    code, _, err = ground(capsys, "send", "power.force_shed", "level=0", "--run", str(live.out))
    assert code == 0, err  # the hold released


def test_a_command_the_node_refuses_exits_1_with_the_failure_code(
    live: RunningNode, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = ground(
        capsys, "send", "thermal.set_setpoint", "zone=9", "setpoint_c=20", "--run", str(live.out)
    )
    assert code == 1 and err == ""
    assert re.search(
        r"  FAILED completion at \d+\.\d{3} s onboard: ILLEGAL_ARGUMENT \(7\): "
        r"TC \[8,1\] failed: no zone 9",
        out,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["send", "power.set_soc", "soc_frac=1.5"], "power.set_soc: soc_frac=1.5 is outside [0, 1]"),
        (["send", "powr.set_soc", "soc_frac=0.5"], "unknown component 'powr' (did you mean 'power'?)"),
        (["send", "power.set_sox"], "power has no command 'set_sox' (did you mean 'set_soc'?)"),
        (["send", "power.set_soc", "soc=0.5"], "unknown argument(s) 'soc'"),
        (["send", "power.set_soc"], "missing argument(s): soc_frac"),
        (["send", "power.set_soc", "soc_frac"], "expected NAME=VALUE, got 'soc_frac'"),
        (["send", "power.set_soc", "soc_frac=half"], "soc_frac: expected a number, got 'half'"),
        (["send", "power.force_shed", "level=2", "level=3"], "level given twice"),
        (["send", "thermal.set_radiator_auto", "auto=maybe"], "auto: expected true or false"),
        (["params", "set", "power.soc_floor_frac", "7"], "power.soc_floor_frac=7.0 is outside ["),
        (["params", "get", "power.nothing"], "power has no parameter 'nothing'"),
    ],
)  # fmt: skip
def test_bad_names_and_values_are_one_line_errors_and_nothing_is_sent(
    live: RunningNode, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = ground(capsys, *argv, "--run", str(live.out))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("satnode: error: ") and message in err


def test_params_get_and_set_round_trip(
    live: RunningNode, capsys: pytest.CaptureFixture[str], dictionary: dict[str, Any]
) -> None:
    p = next(p for p in dictionary["parameters"] if p["name"] == "heater_budget_w")
    new = float(round((p["min"] + p["max"]) / 2))  # in range, exact in an f32
    new = new if new != p["default"] else float(p["min"])
    run = ("--run", str(live.out))
    assert ground(capsys, "params", "get", "power.heater_budget_w", *run)[1] == (
        f"power.heater_budget_w = {p['default']:.7g} W\n"
    )
    code, out, err = ground(capsys, "params", "set", "power.heater_budget_w", f"{new:g}", *run)
    assert code == 0, err
    assert out.startswith(f"set power.heater_budget_w = {new:.7g} (TC[20,3])\n  accepted at ")
    assert ground(capsys, "params", "get", "power.heater_budget_w", *run)[1] == (
        f"power.heater_budget_w = {new:.7g} W\n"
    )
    assert ground(capsys, "params", "set", "power.heater_budget_w", str(p["default"]), *run)[0] == 0
    # each in range, but the thresholds would no longer decrease: the node refuses
    code, out, _ = ground(capsys, "params", "set", "power.shed_compute_soc", "0.2", *run)
    assert code == 1 and "  FAILED acceptance at " in out and "ILLEGAL_ARGUMENT (7)" in out


def test_the_timeout_is_onboard_time(live: RunningNode, capsys: pytest.CaptureFixture[str]) -> None:
    """Telemetry flows, but the TC goes nowhere: the wait ends at the first TM stamped more
    than 5 onboard seconds later, and says so."""
    run = read_run(live.out)
    assert run.downlink is not None
    code, out, err = ground(
        capsys, "send", "power.set_soc", "soc_frac=0.5", "--timeout", "5",
        "--downlink", f"127.0.0.1:{run.downlink[1]}", "--uplink", f"127.0.0.1:{free_udp_port()}",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert re.fullmatch(
        r"satnode: error: no completion report for power\.set_soc within 5 s of onboard time "
        r"\(waited from (\d+\.\d{3}) s to (\d+\.\d{3}) s onboard\)\n",
        err,
    )


def test_a_dead_node_is_a_clear_error_not_a_hang(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dictionary: dict[str, Any]
) -> None:
    dict_file = tmp_path / "dictionary.json"
    dict_file.write_text(json.dumps(dictionary))
    code = main([
        "ground", "ping", "--uplink", f"127.0.0.1:{free_udp_port()}",
        "--downlink", f"127.0.0.1:{free_udp_port()}", "--dictionary", str(dict_file),
        "--wall-cap", "0.5",
    ])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "no telemetry at all on 127.0.0.1:" in err and "0.5 s of wall-clock time" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ping"], "where is the node? give --run DIR"),
        (["ping", "--downlink", "127.0.0.1:1"], "--uplink HOST:PORT is needed"),
        (["ping", "--run", "/nonexistent/run"], "run.json: not found"),
        (["ping", "--run", "x", "--uplink", "127.0.0.1:1"], "give either --run DIR or"),
        (["listen", "--downlink", "nohost"], "--downlink: expected HOST:PORT, got 'nohost'"),
        (["ping", "--dictionary", "/nonexistent.json", "--downlink", "127.0.0.1:0"],
         "--dictionary /nonexistent.json: cannot read"),
    ],
)  # fmt: skip
def test_where_is_the_node_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(["ground", *argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


def test_help_names_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ground", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in ("ping", "send", "listen", "params", "--run DIR"):
        assert word in text


def test_hazardous_command_needs_arm(live: RunningNode, capsys: pytest.CaptureFixture[str]) -> None:
    """A hazardous command (the dictionary marks it) is refused unarmed (NOT_ARMED at
    acceptance) and executes with ``--arm`` (TC[8,128] first); a safe one cannot be armed."""
    run = str(live.out)
    code, out, _ = ground(capsys, "send", "fdir.set_persistence", "index=0", "steps=4", "--run", run)
    assert code == 1 and "NOT_ARMED" in out
    code, out, err = ground(
        capsys, "send", "fdir.set_persistence", "index=0", "steps=4", "--arm", "--run", run
    )
    assert code == 0, err
    assert out.startswith("armed fdir.set_persistence (TC[8,128]") and "  completed at " in out
    code, _, err = ground(capsys, "send", "power.set_soc", "soc_frac=0.5", "--arm", "--run", run)
    assert code == 2 and "not a hazardous command" in err
