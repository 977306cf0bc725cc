"""The XTCE export: valid against the official XTCE 1.2 schema, and an independent XTCE
decoder (space-packet-parser) reads a real run's tm.bin with it to the same values as the
dictionary's generic decoder.

Oracles: OMG SpaceSystem.xsd (XTCE 1.2, vendored in tests/data/xtce/, source in SOURCES.md)
through xmlschema; space-packet-parser (LASP), which shares no code with satnode.
"""

from __future__ import annotations

import json
import math
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import space_packet_parser as spp
import xmlschema

from flight.testing import build_node, node_config
from ground.cli import main
from ground.dictionary import build_dictionary
from ground.xtce import XTCE_NAMESPACE, build_xtce
from tests.data import DATA_DIR
from tests.ground.generic_decoder import DictionaryCodec

XSD = DATA_DIR / "xtce" / "SpaceSystem.xsd"
NS = {"x": XTCE_NAMESPACE}
RUN_S = 600.0  # onboard seconds


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    # allow="local": the xml: namespace import resolves to xmlschema's bundled copy, no network
    return xmlschema.XMLSchema(str(XSD), allow="local")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path, bytes]]:
    tmp = tmp_path_factory.mktemp("xtce_run")
    node = build_node(tmp, node_config())
    try:
        d = json.loads(json.dumps(build_dictionary(node.executive, node.tmtc)))
        node.run(RUN_S)
    finally:
        node.close()
    xml = tmp / "satnode.xml"
    xml.write_text(build_xtce(d), encoding="utf-8")
    yield d, xml, (tmp / "out" / "tm.bin").read_bytes()


def test_vendored_schema_is_xtce_1_2(schema: xmlschema.XMLSchema) -> None:
    assert schema.target_namespace == "http://www.omg.org/spec/XTCE/20180204" == XTCE_NAMESPACE
    assert schema.root_elements[0].local_name == "SpaceSystem"


def test_export_validates_against_the_official_schema(
    schema: xmlschema.XMLSchema, run: tuple[dict[str, Any], Path, bytes]
) -> None:
    d, xml, _ = run
    errors = list(schema.iter_errors(str(xml)))
    assert not errors, errors[0]
    root = ET.parse(xml).getroot()
    names = {c.get("name") for c in root.iterfind(".//x:SequenceContainer", NS)}
    assert {f"HK-{h['component']}" for h in d["housekeeping"]} <= names
    assert {f"EV-{e['component']}-{e['name']}" for e in d["events"]} <= names
    assert {f"TM_{s['service']}_{t['subtype']}" for s in d["services"] for t in s["tm"]} <= names


def test_meta_commands_cover_every_command_with_ranges_and_sizes(
    run: tuple[dict[str, Any], Path, bytes],
) -> None:
    d, xml, _ = run
    root = ET.parse(xml).getroot()
    type_set = root.find("x:CommandMetaData/x:ArgumentTypeSet", NS)
    assert type_set is not None
    atypes = {t.get("name"): t for t in type_set}
    metas = {m.get("name"): m for m in root.iterfind(".//x:MetaCommand", NS)}
    base = metas["PUS_TC"]
    base_args = {a.get("name"): a.get("argumentTypeRef") for a in base.iterfind(".//x:Argument", NS)}

    def entry_bits(entry: ET.Element, args: dict[str | None, str | None]) -> int:
        if entry.tag.endswith("FixedValueEntry"):
            return int(entry.get("sizeInBits", "0"))
        t = atypes[args[entry.get("argumentRef")]]
        enc = t.find("x:IntegerDataEncoding", NS)
        if enc is None:
            enc = t.find("x:FloatDataEncoding", NS)
        assert enc is not None
        return int(enc.get("sizeInBits", "0"))

    header = base.find("x:CommandContainer/x:EntryList", NS)
    assert header is not None
    base_bits = sum(entry_bits(e, base_args) for e in list(header))
    assert base_bits == 8 * (6 + 5)  # primary + PUS-C TC secondary header
    for cmd in d["commands"]:
        meta = metas[f"{cmd['component']}-{cmd['name']}"]
        args = {a.get("name"): a.get("argumentTypeRef") for a in meta.iterfind(".//x:Argument", NS)}
        assert list(args) == [a["name"] for a in cmd["args"]]
        for a in cmd["args"]:
            rng = atypes[args[a["name"]]].find("x:ValidRangeSet/x:ValidRange", NS)
            if a["min"] is not None:
                assert rng is not None and float(rng.get("minInclusive", "nan")) == a["min"]
            if a["max"] is not None:
                assert rng is not None and float(rng.get("maxInclusive", "nan")) == a["max"]
        assign = {a.get("argumentName"): int(a.get("argumentValue", "-1"))
                  for a in meta.iterfind(".//x:ArgumentAssignment", NS)}  # fmt: skip
        entries = meta.find("x:CommandContainer/x:EntryList", NS)
        assert entries is not None
        body = sum(entry_bits(e, args | base_args) for e in list(entries))
        # the packet length field counts every octet after the primary header, minus one
        assert 8 * (assign["packet_data_length"] + 1 + 6) == base_bits + body
        assert (assign["service"], assign["subtype"]) == (8, 1)
        assert entries[0].get("binaryValue") == f"{cmd['function_id']:04X}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return bool(a == b)


def test_space_packet_parser_decodes_the_run_like_the_dictionary(
    run: tuple[dict[str, Any], Path, bytes],
) -> None:
    d, xml, tm = run
    definition = spp.load_xtce(xml)
    codec = DictionaryCodec(d)
    hk_fields = events = 0
    for raw in codec.split(tm):
        ours = codec.decode_tm(raw)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a packet not consumed to its last bit warns
            theirs = definition.parse_bytes(raw)
        assert theirs["PUS_SERVICE"] == ours.service and theirs["PUS_SUBTYPE"] == ours.subtype
        assert theirs["ONBOARD_TIME"] == pytest.approx(ours.time["seconds"], abs=1e-9)
        if ours.service == 3:
            hk = next(h for h in d["housekeeping"] if h["structure_id"] == ours.data["sid"])
            for f in hk["fields"]:
                got = theirs[f"{hk['component']}-{f['name']}"]
                assert _same(ours.data["structure"][f["name"]], got), (hk["component"], f)
                hk_fields += 1
        elif ours.service == 5:
            assert theirs["EVENT_ID"] == ours.data["event_id"]
            assert theirs["EVENT_MESSAGE"] == ours.data["message"]
            events += 1
        elif (ours.service, ours.subtype) == (140, 2):
            for name in ("job_id", "crc32c", "energy_j", "n_detections"):
                assert _same(ours.data[name], theirs[f"TM_140_2-{name}"])
    assert hk_fields > 1000 and events > 0


def test_cli_writes_xtce(
    tmp_path: Path, schema: xmlschema.XMLSchema, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "satnode.xml"
    assert main(["dict", "--format", "xtce", "--out", str(out)]) == 0
    assert schema.is_valid(str(out))
    assert main(["dict", "--format", "xtce", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 2  # the "written" line, then one error line
