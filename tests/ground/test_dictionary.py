"""The dictionary is complete: a decoder written from it alone reads a real run's every TM
packet, and every command it encodes is accepted by the node.

Oracles: the flight's own unpacking (``unpack_tm``, the housekeeping structs, the time code),
spacepackets (the peer PUS library), the CRC RevEng catalogue (tests/data/crc_vectors.json),
the compute executor's stored results, and the node itself (PUS-1 verification).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spacepackets.ecss import PusTc, PusTm

from flight.core import FailureCode
from flight.testing import build_node, node_config
from flight.tmtc import CucFormat, unpack_tm
from ground.cli import main
from ground.dictionary import DICTIONARY_VERSION, build_dictionary
from tests.data import load
from tests.ground.generic_decoder import DictionaryCodec, _crc

RUN_S = 600.0  # onboard seconds of the reference run
# Rejections that mean "the bytes were not understood" (a dictionary or encoder defect).
ENCODING_FAILURES = {
    FailureCode.CRC_MISMATCH, FailureCode.INVALID_LENGTH, FailureCode.ILLEGAL_APID,
    FailureCode.ILLEGAL_SERVICE, FailureCode.ILLEGAL_SUBTYPE, FailureCode.UNKNOWN_FUNCTION,
    FailureCode.UNKNOWN_PARAMETER, FailureCode.UNKNOWN_STRUCTURE, FailureCode.MALFORMED,
}  # fmt: skip


class Run:
    """A node after RUN_S onboard seconds, its dictionary (through JSON) and its tm.bin."""

    def __init__(self, tmp: Path, run_s: float = RUN_S) -> None:
        self.node = build_node(tmp, node_config())
        self.d: dict[str, Any] = json.loads(
            json.dumps(build_dictionary(self.node.executive, self.node.tmtc))
        )
        self.node.run(run_s)
        self.tm = (tmp / "out" / "tm.bin").read_bytes()
        self.codec = DictionaryCodec(self.d)
        self.sent: list[bytes] = []
        self.node.tmtc.sinks.append(self.sent.append)
        self._seq = 0

    def send(self, raw: bytes) -> list[Any]:
        """Process one TC now; the decoded PUS-1 reports about it."""
        self.sent.clear()
        self.node.tmtc.process(raw)
        self.node.tmtc.flush_downlink()  # TM waits in the downlink buffer until a step
        request_id = int.from_bytes(raw[:4], "big")
        reports = [self.codec.decode_tm(p) for p in self.sent]
        return [r for r in reports if r.service == 1 and r.data["request_id"] == request_id]

    def seq(self) -> int:
        self._seq = (self._seq + 1) & 0x3FFF
        return self._seq


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    r = Run(tmp_path_factory.mktemp("dict_run"))
    try:
        yield r
    finally:
        r.node.close()


def test_header_time_code_and_pec_are_stated_exactly(run: Run) -> None:
    d = run.d
    assert d["schema"] == "satnode-dictionary" and d["version"] == DICTIONARY_VERSION
    assert d["apids"] == [{"apid": d["apid"], "use": d["apids"][0]["use"]}]
    tc = d["time_code"]
    flight_tc = run.node.tmtc.time_code
    assert isinstance(flight_tc, CucFormat)
    assert tc["format"] == "CUC" and tc["epoch"] == "1958-01-01T00:00:00 TAI"
    assert tc["p_field"] == {"octets": 1, "value": "1e"}  # CCSDS 301.0-B-4: 0 001 11 10
    assert [(s["name"], s["octets"]) for s in tc["t_field"]] == [("coarse", 4), ("fine", 2)]
    assert tc["resolution_s"] == 2.0**-16 and tc["octets"] == flight_tc.length
    catalogue = load("crc_vectors.json")["catalogue"]["CRC-16/IBM-3740"]
    pec = d["packet"]["packet_error_control"]
    assert pec["poly"] == int(catalogue["poly"], 16) and pec["init"] == int(catalogue["init"], 16)
    assert (pec["reflect_in"], pec["reflect_out"]) == (catalogue["refin"], catalogue["refout"])
    assert pec["check"] == int(catalogue["check"], 16) == _crc(pec, b"123456789")


def test_every_service_and_subtype_the_node_answers_is_described(run: Run) -> None:
    described = {s["service"]: {t["subtype"] for t in s["tc"]} for s in run.d["services"]}
    codes = {c.name: c for c in FailureCode}

    def failure(service: int, subtype: int) -> FailureCode | None:
        raw = PusTc(service=service, message_subtype=subtype, apid=run.d["apid"],
                    seq_count=run.seq(), ack_flags=0b1000).pack()  # fmt: skip
        reports = run.send(raw)
        fails = [r for r in reports if r.subtype == 2]
        if not fails:
            return None
        enum = run.d["services"][0]["tm"][1]["layout"][1]["enum"]
        name = {v: k for k, v in enum.items()}[fails[0].data["failure_code"]]
        return codes[name]

    answered = {s for s in range(1, 256) if failure(s, 0) is not FailureCode.ILLEGAL_SERVICE}
    assert answered == {s for s, subs in described.items() if subs}
    for service in sorted(answered):
        subtypes = {t for t in range(256) if failure(service, t) is not FailureCode.ILLEGAL_SUBTYPE}
        assert subtypes == described[service], service


def test_generic_decoder_reads_every_packet_of_the_run(run: Run) -> None:
    codec = run.codec
    time_len = run.d["time_code"]["octets"]
    structs = {c.component_id: c for c in run.node.executive.components}
    compute = next(c for c in run.node.executive.components if c.name == "compute")
    kinds: Counter[tuple[int, int]] = Counter()
    hk_seen: set[int] = set()
    packets = list(codec.split(run.tm))
    assert len(packets) > 300
    for raw in packets:
        ours = codec.decode_tm(raw)
        kinds[(ours.service, ours.subtype)] += 1
        flight = unpack_tm(raw, time_len)
        theirs = PusTm.unpack(raw, timestamp_len=time_len)  # checks the PEC too
        assert (ours.header["apid"], ours.header["sequence_count"]) == (flight.apid,
                                                                      theirs.seq_count)
        assert (ours.service, ours.subtype) == (theirs.service, theirs.message_subtype)
        assert ours.header["message_type_counter"] == theirs.pus_tm_sec_header.message_counter
        t_ns = run.node.tmtc.time_code.decode(flight.time)
        assert ours.time["seconds"] == pytest.approx(t_ns / 1e9, abs=1e-9)
        if ours.service == 3:
            sid = ours.data["sid"]
            hk_seen.add(sid)
            decl = structs[sid].DECLARATION
            values = decl.hk_struct.unpack(flight.data[2:])
            for f, v in zip(decl.telemetry, values, strict=True):
                got = ours.data["structure"][f.name]
                assert got == v or (isinstance(v, float) and math.isnan(v) and math.isnan(got))
        elif ours.service == 5:
            event = codec.events[ours.data["event_id"]]
            assert event["subtype"] == ours.subtype
            assert ours.data["message"] == flight.data[2:].decode("utf-8", "replace")
        elif (ours.service, ours.subtype) == (140, 2):
            stored = compute.store.results[ours.data["job_id"]]
            assert ours.data["crc32c"] == stored.crc
            assert ours.data["n_detections"] == len(stored.detections)
            assert len(ours.data["detections"]) == min(32, len(stored.detections))
    assert hk_seen == {h["structure_id"] for h in run.d["housekeeping"]}
    assert kinds[(140, 2)] > 0 and sum(n for (s, _), n in kinds.items() if s == 5) > 0


# Relations the dictionary cannot state (a component's acceptance check), and a region whose
# reload keeps the TM waiting in the downlink buffer (region 0 reloads every region, the TM
# buffer included, which drops the command's own acceptance report).
#: Acceptance refusals that depend on the node's state, not on the encoding (e.g. a slot
#: change before the first orbit estimate): the command was understood.
STATE_REFUSALS = frozenset({FailureCode.NOT_ALLOWED})

OVERRIDES: dict[str, dict[str, Any]] = {
    "adcs.point_inertial": {"qw": 1.0, "qx": 0.0, "qy": 0.0, "qz": 0.0},  # a unit quaternion
    "edac.reload_region": {"region": 1},
    "fdir.set_limits": {"index": 0, "low": 0.3, "high": 1.0},  # inside the row's envelope
}


def _pick(item: dict[str, Any], types: dict[str, Any]) -> Any:
    """An in-range value for a scalar item: its minimum, else 0 (or the type's minimum)."""
    t = types[item["type"]]
    lo = item.get("min")
    if lo is None:
        lo = 0 if t.get("min", 0) <= 0 else t["min"]
    if t["kind"] == "bool":
        return True
    if t["kind"] == "float":
        return float(lo)
    return math.ceil(lo)


def _requests(run: Run) -> Iterator[tuple[str, bytes]]:
    """A valid TC for every TC subtype of the dictionary (each command, each parameter)."""
    d, codec = run.d, run.codec
    memory = next(s for s in d["services"] if s["service"] == 6)["memory_ids"]
    mem_id = int(next(iter(memory)))
    job_ids = sorted(next(c for c in run.node.executive.components if c.name == "compute")
                     .store.results)  # fmt: skip
    ids = {"sid": d["housekeeping"][0]["structure_id"], "event_id": d["events"][0]["id"],
           "memory_id": mem_id, "start_address": 0, "length": 8, "interval_ms": 10_000}
    for svc in d["services"]:
        for tc in svc["tc"]:
            s, t = svc["service"], tc["subtype"]
            if (s, t) == (8, 128):
                continue  # arming: sent before each hazardous command below
            if (s, t) == (8, 1):
                for cmd in d["commands"]:
                    args = {a["name"]: _pick(a, d["types"]) for a in cmd["args"]}
                    if "job_id" in args:
                        args["job_id"] = job_ids[0]
                    args.update(OVERRIDES.get(f"{cmd['component']}.{cmd['name']}", {}))
                    if (cmd["component"], cmd["name"]) == ("compute", "cancel"):
                        continue  # needs an active job; a stored one is not (judged below)
                    if cmd.get("hazardous"):  # armed first, as the dictionary says
                        arm = {"service": 8, "subtype": 1, "function_id": cmd["function_id"]}
                        yield f"arm {cmd['component']}.{cmd['name']}", codec.encode_tc(
                            8, 128, arm, seq_count=run.seq())  # fmt: skip
                    yield f"{cmd['component']}.{cmd['name']}", codec.encode_tc(
                        8, 1, {"function_id": cmd["function_id"], "arguments": args},
                        seq_count=run.seq())  # fmt: skip
            elif s == 20:
                for p in d["parameters"]:
                    item = {"parameter_id": p["id"], "value": p["default"]}
                    listed = {"n": 1, "items": [item if t == 3 else {"parameter_id": p["id"]}]}
                    yield f"TC[20,{t}] {p['component']}.{p['name']}", codec.encode_tc(
                        20, t, listed, seq_count=run.seq())  # fmt: skip
            else:
                values: dict[str, Any] = {}
                for item in tc["layout"]:
                    if item["type"] == "array":
                        values[item["name"]] = [{i["name"]: ids[i["name"]] for i in item["items"]}]
                    elif item["name"] == "n":
                        values["n"] = 1
                    else:
                        values[item["name"]] = ids[item["name"]]
                yield f"TC[{s},{t}]", codec.encode_tc(s, t, values, seq_count=run.seq())


def test_generic_encoder_builds_every_command_and_the_node_accepts_it(run: Run) -> None:
    names = {v: k for k, v in run.d["failure_codes"].items()}
    done = 0
    for label, raw in _requests(run):
        theirs = PusTc.unpack(raw)  # the peer library reads our bytes (PEC checked)
        assert theirs.apid == run.d["apid"]
        reports = run.send(raw)
        subtypes = [r.subtype for r in reports]
        if subtypes[0] == 2:  # understood, refused at acceptance in this state (no estimate)
            code = FailureCode[names[reports[0].data["failure_code"]]]
            assert code in STATE_REFUSALS, (label, code)
            continue
        assert subtypes[0] == 1, (label, [(r.subtype, r.data) for r in reports])
        if subtypes[-1] == 8:  # understood, refused in this state (e.g. not allowed now)
            code = FailureCode[names[reports[-1].data["failure_code"]]]
            assert code not in ENCODING_FAILURES, (label, code)
        else:
            assert subtypes == [1, 7], label
        done += 1
    assert done >= len(run.d["commands"]) + 2 * len(run.d["parameters"])


def test_cancel_of_an_active_job_round_trips(tmp_path: Path) -> None:
    """compute.cancel needs an active job: on a fresh node (the run above has had every
    command, SAFE mode included), submit one through the dictionary, then cancel it."""
    fresh = Run(tmp_path, run_s=30.0)
    try:
        codec = fresh.codec
        submit = next(c for c in fresh.d["commands"] if c["name"] == "submit")
        args = {a["name"]: _pick(a, fresh.d["types"]) for a in submit["args"]}
        args.update(kind=1, deadline_s=3600.0, tiles=1)
        reports = fresh.send(codec.encode_command("compute", "submit", **args))
        assert [r.subtype for r in reports] == [1, 7]
        compute = next(c for c in fresh.node.executive.components if c.name == "compute")
        job_id = max(compute.jobs)
        reports = fresh.send(codec.encode_command("compute", "cancel", job_id=job_id))
        assert [r.subtype for r in reports] == [1, 7] and job_id not in compute.jobs
    finally:
        fresh.node.close()


def test_encoder_refuses_out_of_range_arguments(run: Run) -> None:
    cmd = next(c for c in run.d["commands"] if c["args"] and c["args"][0]["max"] is not None)
    arg = cmd["args"][0]
    with pytest.raises(ValueError, match="outside"):
        run.codec.encode_command(cmd["component"], cmd["name"], **{
            a["name"]: _pick(a, run.d["types"]) for a in cmd["args"]} | {arg["name"]: arg["max"] + 1})


def test_cli_dict_keeps_its_keys_and_writes_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dict", "--out", str(tmp_path / "d.json")]) == 0
    d = json.loads((tmp_path / "d.json").read_text())
    hk = {h["component"]: h for h in d["housekeeping"]}
    assert {"exec", "tmtc", "power"} <= set(hk) and hk["power"]["fields"][0]["offset"] == 0
    assert {s["service"] for s in d["services"]} >= {1, 3, 5, 6, 8, 17, 20, 140}
    capsys.readouterr()
    assert main(["dict", "--out", str(tmp_path / "d.json" / "x.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("satnode: error: --out") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:
        main(["dict", "--format", "yaml"])
    assert exc.value.code == 2
