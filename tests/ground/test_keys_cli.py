"""`satnode ground keys|sa`: key and security-association management of a running node.

The node is a real ``satnode sim --speed 50`` subprocess with security on (its development
keys in the run folder). Oracles: the run's ground key file (key ids and states the node was
provisioned with, and the SA binding the rekey must leave there), the node's own answers to a
later key inventory or SA status, and, for OTAR, a command the node executes under an SA keyed
with the ground file's copy of the new key (so both sides hold the same key material). Key
material never appears in the tool's output.
"""

from __future__ import annotations

import ast
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from ground.cli import main
from ground.commander import Commander
from ground.uplink import SecureUplink
from tests.ground.running_node import RunningNode

KEY_STATES = {"pre_active": 1, "active": 2, "deactivated": 3}
SA_OPERATIONAL = 3  # CCSDS 355.1 3.4: unkeyed 1, keyed 2, operational 3


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    node = RunningNode(tmp_path_factory.mktemp("keys") / "run", speed=50.0)
    try:
        yield node
    finally:
        node.stop()


def ground(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["ground", *argv, "--wall-cap", "30"])
    out, err = capsys.readouterr()
    return code, out, err


def _value(line: str) -> bytes:
    """The ``value=b'...'`` of a printed TM[150,1] reply."""
    text = line.split("value=", 1)[1].strip()
    out = ast.literal_eval(text)  # a bytes literal printed by repr()
    assert isinstance(out, bytes)
    return out


def test_inventory_lists_the_provisioned_keys_without_key_material(
    live: RunningNode, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = ground(capsys, "keys", "inventory", "--run", str(live.out))
    assert code == 0, err
    assert out.startswith("key inventory: done:") and "TM[150,1]" in out
    value = _value(out)
    (count,) = struct.unpack_from(">H", value)
    got = {struct.unpack_from(">HB", value, 2 + 3 * i) for i in range(count)}
    doc = json.loads((live.out / "ground-keys.json").read_text())
    assert got == {(k["id"], KEY_STATES[k["state"]]) for k in doc["keys"]}
    for k in doc["keys"]:  # never key material, in any form
        assert k["key"] not in out.lower() and bytes.fromhex(k["key"]) not in value


def test_rekey_is_armed_and_the_ground_key_file_follows(
    live: RunningNode, capsys: pytest.CaptureFixture[str]
) -> None:
    run = str(live.out)
    assert ground(capsys, "sa", "stop", "2", "--run", run)[0] == 0
    code, out, err = ground(capsys, "sa", "rekey", "2", "3", "--run", run)
    assert code == 0, err
    assert "SA 2 rekey to key 3: done" in out
    assert ground(capsys, "sa", "start", "2", "--run", run)[0] == 0
    doc = json.loads((Path(run) / "ground-keys.json").read_text())
    assert next(sa for sa in doc["sas"] if sa["spi"] == 2)["key_id"] == 3
    code, out, _ = ground(capsys, "sa", "status", "2", "--run", run)
    assert code == 0
    spi, state, key_id = struct.unpack_from(">HBH", _value(out))
    assert (spi, state, key_id) == (2, SA_OPERATIONAL, 3)  # started again, on key 3
    # commands still flow (SA 1) after the management traffic
    assert ground(capsys, "ping", "--run", run)[0] == 0


def test_management_needs_the_run_key_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ground", "sa", "status", "1", "--uplink", "127.0.0.1:9",
                 "--downlink", "127.0.0.1:9", "--wall-cap", "2"])  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 2 and "key file" in err


def _inventory(capsys: pytest.CaptureFixture[str], run: str) -> dict[int, int]:
    """The node's key inventory: state by key id."""
    code, out, err = ground(capsys, "keys", "inventory", "--run", run)
    assert code == 0, err
    value = _value(out)
    (count,) = struct.unpack_from(">H", value)
    return dict(struct.unpack_from(">HB", value, 2 + 3 * i) for i in range(count))


def _ground_keys(run: str) -> dict[int, dict[str, str]]:
    doc = json.loads((Path(run) / "ground-keys.json").read_text())
    return {k["id"]: k for k in doc["keys"]}


def test_otar_activation_deactivation_and_the_new_key_signs_commands(
    live: RunningNode, capsys: pytest.CaptureFixture[str]
) -> None:
    run = str(live.out)
    code, out, err = ground(capsys, "keys", "otar", "7", "8", "--run", run)
    assert code == 0, err
    assert "OTAR of key(s) [7, 8]: done" in out
    keys = _ground_keys(run)
    assert keys[7]["state"] == keys[8]["state"] == "pre_active"
    assert keys[7]["key"] != keys[8]["key"]
    for kid in (7, 8):  # never key material, in any form
        assert keys[kid]["key"] not in (out + err).lower()
        assert bytes.fromhex(keys[kid]["key"]) not in _value(out)
    inv = _inventory(capsys, run)
    assert (inv[7], inv[8]) == (KEY_STATES["pre_active"], KEY_STATES["pre_active"])
    # a taken id is refused before anything is sent, and the ground file is unchanged
    code, out, err = ground(capsys, "keys", "otar", "8", "9", "--run", run)
    assert code == 2 and "already exist" in err
    assert _ground_keys(run) == keys and 9 not in _inventory(capsys, run)

    code, out, err = ground(capsys, "keys", "activate", "7", "8", "--run", run)
    assert code == 0, err
    assert "key(s) [7, 8] activate: done" in out
    assert ground(capsys, "keys", "deactivate", "7", "--run", run)[0] == 0
    keys = _ground_keys(run)
    assert (keys[7]["state"], keys[8]["state"]) == ("deactivated", "active")
    inv = _inventory(capsys, run)
    assert (inv[7], inv[8]) == (KEY_STATES["deactivated"], KEY_STATES["active"])
    # deactivated -> active is no CCSDS 355.1 transition: the node refuses, the file stays
    code, out, _ = ground(capsys, "keys", "activate", "7", "--run", run)
    assert code == 1 and "refused" in out
    assert _ground_keys(run)[7]["state"] == "deactivated"

    # SA 3 (HMAC-SHA-256) onto key 8: a ping signed with the ground file's key 8 executes
    for step in (("stop", "3"), ("rekey", "3", "8"), ("start", "3")):
        code, out, err = ground(capsys, "sa", *step, "--run", run)
        assert code == 0, out + err
    uplink = SecureUplink(Path(run) / "ground-keys.json", spi=3)
    with Commander.from_run(run, uplink_codec=uplink, wall_cap_s=30.0) as commander:
        assert commander.ping().ok
        assert commander.ping().ok  # the counter carries on after the rekey


def test_key_ids_are_checked_locally(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "65536", "x"):
        with pytest.raises(SystemExit) as info:
            main(["ground", "keys", "activate", bad, "--run", "nowhere"])
        assert info.value.code == 2
        assert "key id" in capsys.readouterr().err
