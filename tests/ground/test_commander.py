"""``ground.Commander``: encoding by name, request matching, onboard-time timeouts, decoding,
and a real node over UDP on loopback.

Oracles: the independent dictionary codec (``tests/ground/generic_decoder.py``, written from
the JSON alone) for every byte sent and every value decoded; spacepackets (the peer PUS
library) for the TC framing; hand-scripted TM streams whose answer is known packet by packet;
the node itself (PUS-1 verification, its own housekeeping counters) and the values commanded.

Every wait is on onboard time. The only wall-clock bounds are the Commander's silence cap and
the subprocess cap of :mod:`tests.ground.running_node`, which turn a dead node into a failure
instead of a hang and decide no outcome.
"""

from __future__ import annotations

import json
import re
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from spacepackets.ecss import PusTc

import ground
from flight.testing import build_node, node_config
from flight.tmtc import split_packets
from ground.commander import (
    CommandArgumentError,
    Commander,
    CommanderError,
    CommanderTimeout,
    CommandFailed,
    Event,
    Housekeeping,
    ParameterReport,
    Stage,
    Uplink,
    Verification,
    dictionary_for_config,
    read_run,
)
from ground.dictionary import build_dictionary
from tests.ground.generic_decoder import DictionaryCodec
from tests.ground.running_node import NS_PER_S, FakeNode, RunningNode, free_udp_port

WALL_CAP_S = 30.0  # generous: a healthy node sends TM many times a second of wall time
ACK = 0b1001  # acceptance and completion reports wanted


@pytest.fixture(scope="module")
def dictionary() -> dict[str, Any]:
    """The default node's dictionary, through JSON (as a ground tool reads it)."""
    return dict(json.loads(json.dumps(dictionary_for_config())))


@pytest.fixture
def fake(dictionary: dict[str, Any]) -> Iterator[tuple[Commander, FakeNode]]:
    commander = Commander(dictionary, downlink=("127.0.0.1", 0), wall_cap_s=WALL_CAP_S)
    node = FakeNode(dictionary, commander.downlink_address)
    commander.connect_uplink(node.uplink_address)
    try:
        yield commander, node
    finally:
        commander.close()
        node.close()


def _respond(node: FakeNode, script: Callable[[int], None]) -> threading.Thread:
    """Run ``script(request_id)`` once the fake node has received a TC (the Commander blocks
    in its wait meanwhile)."""

    def serve() -> None:
        script(node.request_id(node.receive_tc()))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_ground_exports_the_commander() -> None:
    assert ground.Commander is Commander
    assert "Commander" in ground.__all__


# -- encoding ---------------------------------------------------------------------------------
def test_commands_are_encoded_as_the_independent_codec_and_spacepackets_read_them(
    fake: tuple[Commander, FakeNode], dictionary: dict[str, Any]
) -> None:
    commander, node = fake
    codec = DictionaryCodec(dictionary)

    def command(component: str, name: str, seq: int, **args: Any) -> bytes:
        fid = codec.command_names[(component, name)]["function_id"]
        values = {"function_id": fid, "arguments": args}
        return codec.encode_tc(8, 1, values, seq_count=seq, ack_flags=ACK)

    cases: list[tuple[Callable[[], Any], Callable[[int], bytes]]] = [
        (
            lambda: commander.send("power.set_soc", soc_frac=0.5),
            lambda seq: command("power", "set_soc", seq, soc_frac=0.5),
        ),
        (
            lambda: commander.send("thermal.set_setpoint", {"zone": 1}, setpoint_c=-12.25),
            lambda seq: command("thermal", "set_setpoint", seq, zone=1, setpoint_c=-12.25),
        ),
        (
            lambda: commander.send("fdir.clear_latch"),
            lambda seq: command("fdir", "clear_latch", seq),
        ),
        (
            lambda: commander.send("thermal.set_radiator_auto", auto=True),
            lambda seq: command("thermal", "set_radiator_auto", seq, auto=True),
        ),
        (lambda: commander.send_tc(17, 1), lambda seq: codec.encode_tc(17, 1, {}, seq_count=seq)),
        (
            lambda: commander.send_tc(3, 27, {"items": [{"sid": 20}, {"sid": 21}]}),
            lambda seq: codec.encode_tc(
                3, 27, {"n": 2, "items": [{"sid": 20}, {"sid": 21}]}, seq_count=seq
            ),
        ),
        (
            lambda: commander.send_tc(20, 3, {"items": [{"parameter_id": 5121, "value": 0.25}]}),
            lambda seq: codec.encode_tc(
                20, 3, {"n": 1, "items": [{"parameter_id": 5121, "value": 0.25}]}, seq_count=seq
            ),
        ),
    ]
    for seq, (send, oracle) in enumerate(cases):
        request = send()
        raw = node.receive_tc()
        assert raw == oracle(seq) == request.packet
        theirs = PusTc.unpack(raw)  # the peer library reads our bytes, PEC checked
        assert (theirs.service, theirs.message_subtype) == (request.service, request.subtype)
        assert theirs.apid == dictionary["apid"] and theirs.seq_count == seq
        assert request.request_id == int.from_bytes(raw[:4], "big") and request.seq_count == seq


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.send("powr.set_soc", soc_frac=0.5), "unknown component 'powr' (did you mean 'power'?)"),
        (lambda c: c.send("power.set_sox", soc_frac=0.5), "power has no command 'set_sox' (did you mean 'set_soc'?)"),
        (lambda c: c.send("power", soc_frac=0.5), "expected COMPONENT.COMMAND"),
        (lambda c: c.send("power.set_soc", soc=0.5), "unknown argument(s) 'soc'"),
        (lambda c: c.send("power.set_soc"), "missing argument(s): soc_frac"),
        (lambda c: c.send("power.set_soc", soc_frac=1.5), "power.set_soc: soc_frac=1.5 is outside [0, 1]"),
        (lambda c: c.send("power.set_soc", soc_frac=float("nan")), "is not a finite number"),
        (lambda c: c.send("power.set_soc", soc_frac="half"), "soc_frac: expected a number"),
        (lambda c: c.send("power.force_shed", level=4), "level=4 is outside [0, 3]"),
        (lambda c: c.send("power.force_shed", level=1.5), "level: expected an integer"),
        (lambda c: c.send("thermal.set_setpoint", zone=0, setpoint_c=81.0), "setpoint_c=81.0 degC is outside [-40, 80] degC"),
        (lambda c: c.send("thermal.set_radiator_auto", auto=2), "auto: expected true or false"),
        (lambda c: c.send("gnc.add_object", object_id=0, epoch_s=0, x_m=0, y_m=0, z_m=0, vx_m_s=0, vy_m_s=0, vz_m_s=0, sigma_m=1), "object_id=0 is outside [1, 99999999]"),
        (lambda c: c.send("fdir.set_limits", index=0, low=0.0, high=1e39), "does not fit a 32-bit float"),
        (lambda c: c.send("compute.cancel", job_id=-1), "job_id=-1 is outside [0, 4294967295]"),
        (lambda c: c.set_param("power.soc_floor_frac", 5.0), "power.soc_floor_frac=5.0 is outside ["),
        (lambda c: c.set_param("power.soc_flor_frac", 0.5), "did you mean 'soc_floor_frac'?"),
        (lambda c: c.get_param("nosuch.thing"), "unknown component 'nosuch'"),
        (lambda c: c.request_housekeeping("powr"), "no housekeeping structure for 'powr'"),
        (lambda c: c.await_event("power.shedd", 1.0), "power has no event 'shedd'"),
        (lambda c: c.send_tc(17, 9), "TC[17,9] is not in the dictionary"),
    ],
)  # fmt: skip
def test_bad_names_and_values_are_refused_before_anything_is_sent(
    fake: tuple[Commander, FakeNode], call: Callable[[Commander], Any], message: str
) -> None:
    commander, node = fake
    with pytest.raises(CommandArgumentError) as err:
        call(commander)
    assert message in str(err.value)
    # Nothing went out: the first datagram the node receives is the ping sent next, and it
    # carries the first sequence count.
    request = commander.send_tc(17, 1)
    raw = node.receive_tc()
    assert raw == request.packet and PusTc.unpack(raw).seq_count == 0


# -- request matching and verification ------------------------------------------------------------
def test_reports_are_matched_by_request_id_and_arrive_typed(
    fake: tuple[Commander, FakeNode],
) -> None:
    commander, node = fake
    node.hk(100.0, "power", soc_frac=0.9)
    commander.await_housekeeping("power")  # the ground now knows onboard time 100 s

    def script(rid: int) -> None:
        other = rid + 5  # another request's reports (same APID, later sequence count)
        node.verify(100.5, 1, other)
        node.verify(100.5, 8, other, 9)
        node.verify(100.5, 1, rid)
        node.event(100.5, "power.shed", "shed level NONE -> LASER")
        node.verify(100.5, 7, rid)

    thread = _respond(node, script)
    result = commander.send_and_await("power.force_shed", level=2)
    thread.join()
    assert result.ok and result.failure is None and result.failure_name is None
    assert result.accepted == Verification(Stage.ACCEPTANCE, True, result.request.request_id)
    assert result.completed == Verification(Stage.COMPLETION, True, result.request.request_id)
    assert result.time_of(result.completed) == round(100.5 * NS_PER_S)
    # everything received while waiting is kept, in order, and the command's event is still
    # ahead of the cursor for the next wait
    assert [t.service for t in result.telemetry] == [1, 1, 1, 5, 1]
    event = commander.await_event("power.shed")
    assert event == Event("power", "shed", event.id, "MEDIUM", "shed level NONE -> LASER")


@pytest.mark.parametrize(
    ("subtype", "code", "stage", "name"),
    [(2, 7, Stage.ACCEPTANCE, "ILLEGAL_ARGUMENT"), (8, 10, Stage.COMPLETION, "NOT_ALLOWED"),
     (8, 9, Stage.COMPLETION, "EXECUTION_FAILED")],
)  # fmt: skip
def test_failure_reports_name_the_failure_code(
    fake: tuple[Commander, FakeNode], subtype: int, code: int, stage: Stage, name: str
) -> None:
    commander, node = fake

    def script(rid: int) -> None:
        if subtype != 2:
            node.verify(5.0, 1, rid)
        node.event(5.0, "tmtc.tc_failed", "TC [8,1] failed: because")
        node.verify(5.0, subtype, rid, code)

    thread = _respond(node, script)
    result = commander.send_and_await("power.set_soc", soc_frac=0.5)
    thread.join()
    assert not result.ok and result.completed is None
    assert result.failure == Verification(stage, False, result.request.request_id, code, name)
    assert (result.failure_code, result.failure_name) == (code, name)
    assert (result.accepted is not None) == (subtype != 2)
    assert result.explanation() == "TC [8,1] failed: because"
    with pytest.raises(CommandFailed, match=f"{stage.name.lower()} failed with {name}"):
        result.raise_for_failure()


def test_parameters_and_housekeeping_requests_return_values_by_name(
    fake: tuple[Commander, FakeNode], dictionary: dict[str, Any]
) -> None:
    commander, node = fake
    pid = next(p["id"] for p in dictionary["parameters"] if p["name"] == "soc_floor_frac")

    def script(rid: int) -> None:
        node.verify(1.0, 1, rid)
        node.tm(1.0, 20, 2, {"n": 1, "items": [{"parameter_id": pid, "value": 0.25}]})
        node.verify(1.0, 7, rid)

    thread = _respond(node, script)
    value = commander.get_param("power.soc_floor_frac")
    thread.join()
    assert (value.name, value.value, value.unit) == ("power.soc_floor_frac", 0.25, "1")

    def hk_script(rid: int) -> None:
        node.verify(2.0, 1, rid)
        node.hk(2.0, "power", soc_frac=0.5, battery_v=112.5)
        node.verify(2.0, 7, rid)

    thread = _respond(node, hk_script)
    hk = commander.request_housekeeping("power")
    thread.join()
    assert hk["soc_frac"] == 0.5 and hk.values["battery_v"].unit == "V"
    assert "battery_v=112.5 V" in str(hk) and "soc_frac=0.5 " in str(hk)


# -- onboard time -----------------------------------------------------------------------------------
def test_onboard_timeout_fires_at_the_first_tm_past_the_deadline(
    fake: tuple[Commander, FakeNode],
) -> None:
    commander, node = fake
    # The whole stream is in the socket before the first wait: how fast it arrived cannot
    # matter, only the onboard times stamped in it.
    for t in range(0, 70, 10):
        node.hk(float(t), "power")
    node.event(65.0, "power.shed", "late")
    first = commander.await_tm(lambda tm: True)  # t = 0: the ground's onboard clock starts
    assert first.onboard_ns == 0 and commander.onboard_ns == 0
    with pytest.raises(CommanderTimeout) as err:
        commander.await_event("power.shed", timeout_s=25.0)
    exc = err.value
    assert exc.reason == "onboard"
    assert (exc.deadline_ns, exc.last_ns) == (25 * NS_PER_S, 30 * NS_PER_S)
    # the cursor moved past the packet that decided the timeout: the next wait starts at 30 s
    # (deadline 35 s) and the 40 s packet ends it
    with pytest.raises(CommanderTimeout) as err:
        commander.await_event("power.shed", timeout_s=5.0)
    assert (err.value.deadline_ns, err.value.last_ns) == (35 * NS_PER_S, 40 * NS_PER_S)
    # an answer is never discarded, even when it is stamped past the deadline: from 60 s
    # (deadline 61 s) the next packet is the event at 65 s
    assert commander.await_tm(lambda t: t.onboard_s == 60.0).onboard_s == 60.0
    event = commander.await_event("power.shed", timeout_s=1.0)
    assert event.message == "late"


def test_the_first_tm_starts_the_clock_when_nothing_was_received_before(
    fake: tuple[Commander, FakeNode],
) -> None:
    commander, node = fake
    for t in (500.0, 510.0, 520.0, 531.0):
        node.hk(t, "power")
    with pytest.raises(CommanderTimeout) as err:
        commander.await_event("power.shed", timeout_s=30.0)
    assert (err.value.deadline_ns, err.value.last_ns) == (530 * NS_PER_S, 531 * NS_PER_S)


def test_stream_stops_by_count_or_by_onboard_duration(fake: tuple[Commander, FakeNode]) -> None:
    commander, node = fake
    for t in range(0, 60, 10):
        node.hk(float(t), "thermal", heater_w=float(t))
    assert [tm.onboard_s for tm in commander.stream(count=2)] == [0.0, 10.0]
    got = list(commander.stream(duration_s=25.0))  # from 20 s: 20, 30, 40; 50 s ends it
    assert [tm.onboard_s for tm in got] == [20.0, 30.0, 40.0]
    assert all(isinstance(tm.content, Housekeeping) for tm in got)
    text = str(got[0])
    assert text.startswith("      20.000 s  HK thermal: heater_w=20 W radiator_emissivity=0 ")
    assert " compute_temp_c=0 degC " in text


def test_a_silent_node_is_a_clear_timeout_not_a_hang(dictionary: dict[str, Any]) -> None:
    with Commander(dictionary, downlink=("127.0.0.1", 0), wall_cap_s=0.3) as commander:
        with pytest.raises(CommanderTimeout) as err:
            commander.await_event("power.shed", timeout_s=10.0)
        assert err.value.reason == "silent" and err.value.last_ns is None
        assert "no telemetry at all" in str(err.value)
        # a command to a node that is not there ends the same way
        dead = FakeNode(dictionary, ("127.0.0.1", 9))
        commander.connect_uplink(dead.uplink_address)
        dead.close()
        with pytest.raises(CommanderTimeout, match="no telemetry at all") as err:
            commander.ping()
        assert err.value.reason == "silent"


def test_datagrams_the_dictionary_does_not_explain_are_counted_and_skipped(
    fake: tuple[Commander, FakeNode], dictionary: dict[str, Any]
) -> None:
    commander, node = fake
    reasons: list[str] = []
    commander.on_undecodable = reasons.append
    node.tx.sendto(b"\x08\x01\xc0\x00\x00\x01xx", node.downlink)  # a truncated packet
    broken = bytearray(node.hk(1.0, "power", send=False))
    broken[-1] ^= 0xFF  # PEC broken
    node.tx.sendto(bytes(broken), node.downlink)
    node.hk(3.0, "power")
    tm = commander.await_tm(lambda t: True)
    assert tm.onboard_s == 3.0 and tm.index == 0
    assert commander.undecodable == 2 and len(reasons) == 2


# -- decoding a real run ----------------------------------------------------------------------------
def test_every_packet_of_a_run_decodes_as_the_independent_decoder(tmp_path: Path) -> None:
    node = build_node(tmp_path, node_config())
    try:
        d = json.loads(json.dumps(build_dictionary(node.executive, node.tmtc)))
        node.run(300.0)
    finally:
        node.close()
    packets, rest = split_packets((tmp_path / "out" / "tm.bin").read_bytes())
    assert rest == b"" and len(packets) > 100
    oracle = DictionaryCodec(d)
    with Commander(d, downlink=("127.0.0.1", 0), wall_cap_s=WALL_CAP_S) as commander:
        fake = FakeNode(d, commander.downlink_address)
        try:
            for p in packets:
                fake.tx.sendto(p, fake.downlink)
        finally:
            fake.close()
        got = [commander.await_tm(lambda t: True) for _ in packets]
    assert commander.undecodable == 0
    kinds = set()
    for p, tm in zip(packets, got, strict=True):
        theirs = oracle.decode_tm(p)
        assert (tm.service, tm.subtype, tm.name) == (theirs.service, theirs.subtype, theirs.name)
        assert tm.data == theirs.data
        # the earliest nanosecond of the code's fine step (less than 1 ns after its value)
        assert 0 <= tm.onboard_ns - theirs.time["seconds"] * NS_PER_S < 1.0
        content = tm.content
        kinds.add(type(content).__name__)
        if isinstance(content, Housekeeping):
            hk = oracle.hk[content.sid]
            assert content.component == hk["component"]
            assert {k: (v.value, v.unit) for k, v in content.values.items()} == {
                f["name"]: (theirs.data["structure"][f["name"]], f["unit"]) for f in hk["fields"]
            }
        elif isinstance(content, Event):
            ev = oracle.events[theirs.data["event_id"]]
            assert (content.component, content.name, content.severity) == (
                ev["component"], ev["name"], ev["severity"])  # fmt: skip
            assert content.message == theirs.data["message"]
    assert {"Housekeeping", "Event"} <= kinds


# -- run folders --------------------------------------------------------------------------------------
def _write_run(folder: Path, dictionary: dict[str, Any], **fields: Any) -> Path:
    folder.mkdir(exist_ok=True)
    doc = {
        "schema": "satnode-run/1", "node": "satnode-1", "seed": 1, "config_sha256": "0" * 64,
        "versions": {}, "apid": dictionary["apid"],
        "time_code": {"kind": "cuc", **dictionary["time_code"]},
        "uplink": {"host": "127.0.0.1", "port": 9},
        "downlink": {"host": "127.0.0.1", "port": free_udp_port()},
        "speed": 50.0, "keys": None, "started": {"onboard_ns": 0},
    }  # fmt: skip
    doc.update(fields)
    (folder / "run.json").write_text(json.dumps(doc))
    return folder


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"schema": "other/1"}, "schema 'other/1', expected 'satnode-run/1'"),
        ({"downlink": None}, "the run has no downlink"),
        ({"downlink": {"host": "127.0.0.1", "port": 70000}}, "downlink must be {host, port}"),
        ({"apid": 99}, "APID 99, but the dictionary describes APID"),
        ({"time_code": {"kind": "cds"}}, "time code CDS, but the dictionary describes CUC"),
        ({"keys": "ground-keys.json"}, "secured with the ground key file ground-keys.json, but"),
    ],
)
def test_run_folders_that_cannot_be_used_are_clear_errors(
    tmp_path: Path, dictionary: dict[str, Any], fields: dict[str, Any], message: str
) -> None:
    run = _write_run(tmp_path / "run", dictionary, **fields)
    with pytest.raises(CommanderError) as err:
        Commander.from_run(run, dictionary=dictionary)
    assert message in str(err.value)
    with pytest.raises(CommanderError, match=r"run\.json: not found"):
        Commander.from_run(tmp_path / "nowhere", dictionary=dictionary)


def test_a_run_folder_gives_addresses_dictionary_and_the_uplink_seam(
    tmp_path: Path, dictionary: dict[str, Any]
) -> None:
    class Framed(Uplink):
        """Stands in for the authenticated uplink: two datagrams per packet."""

        def __init__(self, keys: Path) -> None:
            self.keys = keys

        def encode(self, packet: bytes) -> list[bytes]:
            return [b"HEAD" + packet[:5], b"TAIL" + packet[5:]]

    uplink = FakeNode(dictionary, ("127.0.0.1", 9))
    run = _write_run(
        tmp_path / "run", dictionary, keys="ground-keys.json",
        uplink={"host": "127.0.0.1", "port": uplink.uplink_address[1]},
    )  # fmt: skip
    (run / "dictionary.json").write_text(json.dumps(dictionary))  # read from the folder
    (run / "ground-keys.json").write_text("{}")  # only its path matters to this uplink
    try:
        with Commander.from_run(run, secure_uplink=Framed) as commander:
            assert isinstance(commander.uplink_codec, Framed)
            assert commander.uplink_codec.keys == run / "ground-keys.json"
            assert commander.uplink_address == uplink.uplink_address
            request = commander.send("power.set_soc", soc_frac=0.5)
            assert uplink.receive_tc() == b"HEAD" + request.packet[:5]
            assert uplink.receive_tc() == b"TAIL" + request.packet[5:]
    finally:
        uplink.close()


# -- a real node over UDP ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    node = RunningNode(tmp_path_factory.mktemp("live") / "run", speed=50.0)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def commander(live: RunningNode, dictionary: dict[str, Any]) -> Iterator[Commander]:
    with Commander.from_run(live.out, dictionary=dictionary, wall_cap_s=WALL_CAP_S) as c:
        c.await_tm(lambda t: True)  # the ground knows the node's onboard time
        yield c


def test_ping_is_answered(commander: Commander, live: RunningNode) -> None:
    from ground.uplink import SecureUplink

    # the run names its ground key file: every TC goes out signed, in SDLS frames
    assert read_run(live.out).keys == "ground-keys.json"
    assert isinstance(commander.uplink_codec, SecureUplink)
    result = commander.ping()
    assert result.ok and result.accepted is not None
    alive = result.reports(17, 2)
    assert len(alive) == 1 and alive[0].name == "alive_report"
    assert result.time_of(result.completed) == alive[0].onboard_ns


def test_a_command_completes_and_its_effect_shows_in_housekeeping(commander: Commander) -> None:
    result = commander.send_and_await("power.set_soc", soc_frac=0.5)
    assert result.ok, result
    # the estimator restarts from the commanded value: the next reports sit next to it
    # (charging moves it by well under 1 % in the 10 s between reports)
    hk = commander.await_housekeeping("power", since=result)
    hk = commander.await_housekeeping("power")
    assert abs(float(hk["soc_frac"]) - 0.5) < 0.01

    result = commander.send_and_await("power.force_shed", level=3)
    assert result.ok, result
    event = commander.await_event("power.shed", since=result)
    assert event.severity == "MEDIUM" and event.message.startswith("shed level ")
    assert re.search(r"shed level \w+ -> \w+ \(SoC 0\.\d{3}, mode \w+\)", event.message)
    assert commander.send_and_await("power.force_shed", level=0).ok
    assert commander.send_and_await("power.set_soc", soc_frac=0.9).ok


def test_a_refused_value_never_reaches_the_node(commander: Commander) -> None:
    before = commander.request_housekeeping("tmtc")
    with pytest.raises(CommandArgumentError, match=r"soc_frac=1\.5 is outside"):
        commander.send("power.set_soc", soc_frac=1.5)
    with pytest.raises(CommandArgumentError, match="outside"):
        commander.set_param("power.soc_floor_frac", 2.0)
    after = commander.request_housekeeping("tmtc")
    # the node's own counter: exactly one TC (the second request) arrived in between
    assert after["tc_received"] == before["tc_received"] + 1
    assert after["tc_rejected"] == before["tc_rejected"]


def test_a_command_the_node_refuses_reports_its_failure_code(commander: Commander) -> None:
    # in range for the dictionary (zone 0..31) but the configuration has four zones
    result = commander.send_and_await("thermal.set_setpoint", zone=9, setpoint_c=20.0)
    assert not result.ok and result.accepted is not None
    assert result.failure is not None and result.failure.stage is Stage.COMPLETION
    assert result.failure_name == "ILLEGAL_ARGUMENT" and result.failure_code == 7
    assert result.explanation() == "TC [8,1] failed: no zone 9"
    # each threshold in range, but the set breaks their order: refused at acceptance
    result = commander.set_param("power.shed_compute_soc", 0.2)
    assert result.failure is not None and result.failure.stage is Stage.ACCEPTANCE
    assert result.failure_name == "ILLEGAL_ARGUMENT" and result.accepted is None
    assert "shed thresholds must decrease" in (result.explanation() or "")


def test_parameters_round_trip(commander: Commander, dictionary: dict[str, Any]) -> None:
    p = next(p for p in dictionary["parameters"] if p["name"] == "heater_budget_w")
    default = p["default"]
    new = float(round((p["min"] + p["max"]) / 2))  # in range, and exact in an f32
    new = new if new != default else float(p["min"])
    assert commander.get_param("power.heater_budget_w").value == default
    result = commander.set_param("power.heater_budget_w", new)
    assert result.ok, result
    changed = commander.await_event("tmtc.param_changed", since=result)
    assert changed.message == f"parameter power.heater_budget_w set to {new}"
    value = commander.get_param("power.heater_budget_w")
    assert value.value == new and value.unit == p["unit"] == "W"
    assert commander.set_param("power.heater_budget_w", default).ok
    assert commander.get_param("power.heater_budget_w").value == default


def test_parameter_reports_are_decoded_by_name(
    commander: Commander, dictionary: dict[str, Any]
) -> None:
    default = next(p["default"] for p in dictionary["parameters"] if p["name"] == "reserve_frac")
    commander.get_param("power.reserve_frac")
    report = next(t for t in reversed(commander.history) if t.service == 20)
    assert isinstance(report.content, ParameterReport)
    value = report.content.values["power.reserve_frac"]
    assert value.value == struct.unpack(">f", struct.pack(">f", default))[0]
    # an f32 prints with the digits it holds; a dimensionless unit does not print
    assert str(report.content) == f"PARAMS power.reserve_frac={default:.7g}"


# -- the same onboard timeout at two speeds -----------------------------------------------------------
def _timeout_at(tmp: Path, speed: float, dictionary: dict[str, Any]) -> tuple[int, int, int]:
    """(anchor, deadline, firing TM time) of a 60 s onboard wait for an event that never
    comes, started at the first TM at or after 100 s onboard, on a node paced at ``speed``."""
    node = RunningNode(tmp / f"x{speed:g}", speed=speed)
    try:
        with Commander.from_run(node.out, dictionary=dictionary, wall_cap_s=WALL_CAP_S) as c:
            anchor = c.await_tm(lambda t: t.onboard_ns >= 100 * NS_PER_S, timeout_s=1e6)
            with pytest.raises(CommanderTimeout) as err:
                c.await_event("exec.component_failed", timeout_s=60.0)
            exc = err.value
            assert exc.reason == "onboard" and exc.deadline_ns is not None
            assert exc.last_ns is not None
            waited = [t for t in c.history if t.index > anchor.index]
            # every packet before the firing one was inside the window; the firing one is
            # the first past it
            assert all(t.onboard_ns <= exc.deadline_ns for t in waited[:-1])
            assert waited[-1].onboard_ns == exc.last_ns > exc.deadline_ns
            return anchor.onboard_ns, exc.deadline_ns, exc.last_ns
    finally:
        node.stop()


def test_onboard_timeouts_do_not_depend_on_the_pace(
    tmp_path: Path, dictionary: dict[str, Any]
) -> None:
    slow = _timeout_at(tmp_path, 20.0, dictionary)
    fast = _timeout_at(tmp_path, 200.0, dictionary)
    anchor, deadline, fired = slow
    assert deadline == anchor + 60 * NS_PER_S
    # periodic housekeeping every 10 s bounds how late past the deadline the wait ends
    assert fired - deadline <= 10 * NS_PER_S
    assert fast == slow  # 10x the pace, the same onboard instants
