"""XTCE 1.2 export of the satnode dictionary (``satnode dict --format xtce``).

:func:`build_xtce` turns the JSON dictionary (:func:`ground.dictionary.build_dictionary`) into
one XTCE 1.2 ``SpaceSystem`` (OMG XTCE 1.2, namespace ``http://www.omg.org/spec/XTCE/20180204``)
so that a ground system (Yamcs, COSMOS, space-packet-parser...) decodes the node's TM and
builds its TCs. Being made from the dictionary, it says the same things.

Telemetry: one container tree rooted at ``CCSDSPacket`` (primary header), then ``PUS_TM``
(restricted to the node's APID and TM packets: PUS-C secondary header and the time field),
then one container per TM type (restricted on service and subtype). Housekeeping reports
branch once more per structure id (``HK-<component>``, restricted on ``HK_SID``) and event
reports per event id (``EV-<component>-<event>``, restricted on ``EVENT_ID``). Every
concrete container ends with the packet error control, whose encoding carries the CRC.

Commands: an abstract ``PUS_TC`` meta-command holds the primary and PUS-C TC secondary
header; each command of the dictionary derives from it with its service, subtype, packet
length and function id fixed. TC[8,1] function calls take their declared arguments with
units and ranges; list-shaped requests (TC[3,5] ...) are exported for one item; TC[20,3]
has one meta-command per parameter, its value typed and range-checked.

Names: XTCE names may not contain ``.``, so a component's item is ``<component>-<name>``.
The document is flat (one SpaceSystem) because common tools read only the root's sets.

Variable-length repeated groups (the items of TM[20,2], TM[6,x], TM[140,x]) are exported as
binary parameters sized from the packet length, their layout in the description: XTCE arrays
with dynamic dimensions would say more, but space-packet-parser 6.2, the independent decoder
the tests hold this export to, rejects ArrayParameterType.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

__all__ = ["XTCE_NAMESPACE", "build_xtce", "write_xtce"]

#: XML namespace of XTCE 1.2 (the ``targetNamespace`` of the OMG SpaceSystem.xsd).
XTCE_NAMESPACE: Final = "http://www.omg.org/spec/XTCE/20180204"
_NS: Final = "{" + XTCE_NAMESPACE + "}"
_TIME_PARAM: Final = "ONBOARD_TIME"
_PKT_LEN: Final = "CCSDS_PACKET_DATA_LENGTH"
_PEC: Final = "PEC"
# Item names whose values are ids the dictionary enumerates (TC arguments become enumerated).
_ID_ITEMS: Final = ("sid", "event_id", "parameter_id", "memory_id")


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrib: Any) -> ET.Element:
    e = ET.SubElement(parent, _NS + tag, {k: str(v) for k, v in attrib.items() if v is not None})
    if text is not None:
        e.text = text
    return e


def _hex(value: int, bits: int) -> str:
    octets = max(1, (bits + 7) // 8)
    return value.to_bytes(octets, "big").hex().upper()


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 2**63 else repr(float(v))


class _Builder:
    """Accumulates the XTCE sets while walking the dictionary."""

    def __init__(self, d: Mapping[str, Any]) -> None:
        self.d = d
        self.types = d["types"]
        self.root = ET.Element(_NS + "SpaceSystem", {"name": "satnode"})
        ET.SubElement(
            self.root,
            _NS + "Header",
            {"version": f"dictionary {d['version']}, satnode {d['satnode_version']}",
             "validationStatus": "Working"},
        )  # fmt: skip
        tm = _el(self.root, "TelemetryMetaData")
        self.ptypes = _el(tm, "ParameterTypeSet")
        self.params = _el(tm, "ParameterSet")
        self.containers = _el(tm, "ContainerSet")
        cmd = _el(self.root, "CommandMetaData")
        self.atypes = _el(cmd, "ArgumentTypeSet")
        self.commands = _el(cmd, "MetaCommandSet")
        self._param_names: set[str] = set()
        self._atype_names: set[str] = set()
        self.time_octets = int(d["time_code"]["octets"])
        pec = d["packet"]["packet_error_control"]
        self.pec = pec
        self.sec_tm_octets = sum(
            int(f["bits"]) for f in d["packet"]["tm_secondary_header"] if "bits" in f
        ) // 8  # fmt: skip

    # -- encodings ---------------------------------------------------------------------------
    def _int_encoding(self, parent: ET.Element, bits: int, signed: bool) -> ET.Element:
        return _el(parent, "IntegerDataEncoding", sizeInBits=bits,
                   encoding="twosComplement" if signed else "unsigned")  # fmt: skip

    def _crc(self, encoding: ET.Element) -> None:
        edc = _el(encoding, "ErrorDetectCorrect")
        width = int(self.pec["width"])
        crc = _el(edc, "CRC", width=width, reflectData=str(self.pec["reflect_in"]).lower(),
                  reflectRemainder=str(self.pec["reflect_out"]).lower(),
                  reference="start", bitsFromReference=0)  # fmt: skip
        _el(crc, "Polynomial", _hex(int(self.pec["poly"]), width))
        _el(crc, "InitRemainder", _hex(int(self.pec["init"]), width))
        _el(crc, "FinalXOR", _hex(int(self.pec["xor_out"]), width))

    @staticmethod
    def _describe(e: ET.Element, doc: str) -> None:
        if doc:
            e.set("shortDescription", doc)

    @staticmethod
    def _units(e: ET.Element, unit: str) -> None:
        if unit:
            _el(_el(e, "UnitSet"), "Unit", unit)

    # -- telemetry -------------------------------------------------------------------------
    def parameter(self, name: str, item: Mapping[str, Any]) -> str:
        """Define parameter ``name`` (and its own type) for a scalar dictionary item."""
        if name in self._param_names:
            return name
        self._param_names.add(name)
        tname = name + "_type"
        label = item["type"]
        info = self.types[label]
        kind, bits = info["kind"], int(info["bits"])
        unit = str(item.get("unit", "") or "")
        enum = item.get("enum")
        if enum:
            t = _el(self.ptypes, "EnumeratedParameterType", name=tname)
            self._units(t, unit)
            self._int_encoding(t, bits, kind == "signed")
            lst = _el(t, "EnumerationList")
            for label_, value in sorted(enum.items(), key=lambda kv: kv[1]):
                _el(lst, "Enumeration", value=value, label=label_)
        elif kind == "float":
            t = _el(self.ptypes, "FloatParameterType", name=tname, sizeInBits=bits)
            self._units(t, unit)
            _el(t, "FloatDataEncoding", sizeInBits=bits, encoding="IEEE754_1985")
        elif kind == "bool":
            t = _el(self.ptypes, "BooleanParameterType", name=tname)
            self._units(t, unit)
            self._int_encoding(t, bits, False)
        else:
            t = _el(self.ptypes, "IntegerParameterType", name=tname, sizeInBits=bits,
                    signed=str(kind == "signed").lower())  # fmt: skip
            self._units(t, unit)
            self._int_encoding(t, bits, kind == "signed")
        self._describe(t, str(item.get("doc", "") or ""))
        p = _el(self.params, "Parameter", name=name, parameterTypeRef=tname)
        self._describe(p, str(item.get("doc", "") or ""))
        return name

    def _header_param(self, name: str, bits: int, doc: str = "") -> str:
        if name not in self._param_names:
            self._param_names.add(name)
            t = _el(self.ptypes, "IntegerParameterType", name=name + "_type", sizeInBits=bits,
                    signed="false")  # fmt: skip
            self._int_encoding(t, bits, False)
            p = _el(self.params, "Parameter", name=name, parameterTypeRef=name + "_type")
            self._describe(p, doc)
        return name

    def _rest(self, name: str, fixed_octets: int, item: Mapping[str, Any], doc: str) -> str:
        """A parameter holding the rest of the source data after ``fixed_octets`` octets."""
        if name in self._param_names:
            return name
        self._param_names.add(name)
        # data octets = packet length field + 7 - 6 - sec. header - time - fixed - PEC
        intercept = -8 * (self.sec_tm_octets + self.time_octets + fixed_octets + 2 - 1)
        tname = name + "_type"
        if item.get("type") == "utf8":
            t = _el(self.ptypes, "StringParameterType", name=tname)
            enc = _el(t, "StringDataEncoding", encoding="UTF-8")
            var = _el(enc, "Variable", maxSizeInBits=8 * int(item["max_octets"]))
        else:
            t = _el(self.ptypes, "BinaryParameterType", name=tname)
            enc = _el(_el(t, "BinaryDataEncoding"), "SizeInBits")
            var = enc
        dyn = _el(var, "DynamicValue")
        _el(dyn, "ParameterInstanceRef", parameterRef=_PKT_LEN)
        _el(dyn, "LinearAdjustment", slope=8, intercept=intercept)
        self._describe(t, doc)
        p = _el(self.params, "Parameter", name=name, parameterTypeRef=tname)
        self._describe(p, doc)
        return name

    def _container(
        self,
        name: str,
        base: str | None,
        criteria: list[tuple[str, int]],
        entries: list[str],
        *,
        abstract: bool = False,
        doc: str = "",
    ) -> None:
        c = _el(self.containers, "SequenceContainer", name=name,
                abstract="true" if abstract else None)  # fmt: skip
        self._describe(c, doc)
        lst = _el(c, "EntryList")
        for entry in entries:
            _el(lst, "ParameterRefEntry", parameterRef=entry)
        if base is not None:
            bc = _el(c, "BaseContainer", containerRef=base)
            if criteria:
                rc = _el(bc, "RestrictionCriteria")
                parent = _el(rc, "ComparisonList") if len(criteria) > 1 else rc
                for pname, value in criteria:
                    _el(parent, "Comparison", parameterRef=pname, value=value,
                        comparisonOperator="==")  # fmt: skip

    def telemetry(self) -> None:
        d = self.d
        pkt = d["packet"]
        primary = [
            self._header_param("CCSDS_" + f["name"].upper(), int(f["bits"]), f.get("doc", ""))
            for f in pkt["primary_header"]
        ]
        assert _PKT_LEN in primary
        self._container("CCSDSPacket", None, [], primary, abstract=True,
                        doc="CCSDS space packet primary header")  # fmt: skip
        sec = [
            self._header_param("PUS_" + f["name"].upper(), int(f["bits"]), f.get("doc", ""))
            for f in pkt["tm_secondary_header"]
            if "bits" in f
        ]
        sec += self._time()
        self._header_param(_PEC, int(self.pec["width"]))
        # the PEC's encoding names its CRC
        for t in self.ptypes:
            if t.get("name") == _PEC + "_type":
                enc = t.find(_NS + "IntegerDataEncoding")
                assert enc is not None
                self._crc(enc)
        self._container(
            "PUS_TM", "CCSDSPacket",
            [("CCSDS_APID", int(d["apid"])), ("CCSDS_TYPE", 0)], sec, abstract=True,
            doc="PUS-C telemetry packet of the node",
        )  # fmt: skip
        for svc in d["services"]:
            for tm in svc["tm"]:
                self._tm_type(svc, tm)

    def _time(self) -> list[str]:
        tc = self.d["time_code"]
        entries = []
        if tc["p_field"] is not None:
            entries.append(self._header_param("TIME_P_FIELD", 8 * int(tc["p_field"]["octets"]),
                                              f"P-field, always 0x{tc['p_field']['value']}"))
        epoch = "TAI" if tc["epoch"].startswith("1958-01-01") else None
        if tc["format"] == "CUC" and epoch is not None:
            # one absolute time: the coarse and fine octets as one binary count of 2^-8f s
            fine = int(tc["t_field"][1]["octets"])
            bits = 8 * (int(tc["t_field"][0]["octets"]) + fine)
            t = _el(self.ptypes, "AbsoluteTimeParameterType", name=_TIME_PARAM + "_type")
            self._describe(t, f"CUC T-field, epoch {tc['epoch']}")
            enc = _el(t, "Encoding", units="seconds", scale=repr(2.0 ** (-8 * fine)), offset=0)
            self._int_encoding(enc, bits, False)
            _el(_el(t, "ReferenceTime"), "Epoch", epoch)
            self._param_names.add(_TIME_PARAM)
            _el(self.params, "Parameter", name=_TIME_PARAM, parameterTypeRef=_TIME_PARAM + "_type")
            return [*entries, _TIME_PARAM]
        for seg in tc["t_field"]:
            name = "TIME_" + seg["name"].upper()
            self.parameter(name, {"type": {1: "u8", 2: "u16", 3: "u32", 4: "u32"}.get(
                int(seg["octets"]), "u64"), "unit": seg["unit"], "doc": tc["format"]})
            entries.append(name)
        return entries

    def _tm_type(self, svc: Mapping[str, Any], tm: Mapping[str, Any]) -> None:
        s, t = int(svc["service"]), int(tm["subtype"])
        cname = f"TM_{s}_{t}"
        crit = [("PUS_SERVICE", s), ("PUS_SUBTYPE", t)]
        layout = tm["layout"]
        kinds = [item["type"] for item in layout]
        if "housekeeping_structure" in kinds:
            self._keyed_tm(cname, crit, layout, tm["name"], "housekeeping")
            return
        if s == 5 and [k for k in kinds if k not in self.types] == ["utf8"]:
            self._keyed_tm(cname, crit, layout, tm["name"], "events")
            return
        entries, fixed = self._scalar_prefix(cname, layout)
        rest = layout[len(entries):]
        if rest:
            doc = "rest of the data: " + _describe_layout(rest)
            entries.append(self._rest(f"{cname}-{rest[0]['name']}", fixed,
                                      rest[0] if len(rest) == 1 else {}, doc))  # fmt: skip
        self._container(cname, "PUS_TM", crit, [*entries, _PEC], doc=tm["name"])

    def _scalar_prefix(self, prefix: str, layout: list[Mapping[str, Any]]) -> tuple[list[str], int]:
        entries: list[str] = []
        octets = 0
        for item in layout:
            if item["type"] not in self.types:
                break
            entries.append(self.parameter(f"{prefix}-{item['name']}", item))
            octets += int(self.types[item["type"]]["octets"])
        return entries, octets

    def _keyed_tm(
        self, cname: str, crit: list[tuple[str, int]], layout: list[Mapping[str, Any]],
        doc: str, kind: str,
    ) -> None:  # fmt: skip
        key = layout[0]
        key_name = "HK_SID" if kind == "housekeeping" else "EVENT_ID"
        self.parameter(key_name, key)
        if kind == "housekeeping":
            self._container(cname, "PUS_TM", crit, [key_name], abstract=True, doc=doc)
            for hk in self.d["housekeeping"]:
                fields = [self.parameter(f"{hk['component']}-{f['name']}", f) for f in hk["fields"]]
                self._container(f"HK-{hk['component']}", cname,
                                [(key_name, int(hk["structure_id"]))], [*fields, _PEC],
                                doc=f"housekeeping of {hk['component']}")  # fmt: skip
            return
        message = self._rest("EVENT_MESSAGE", int(self.types[key["type"]]["octets"]), layout[-1],
                             self.d["event_message"]["encoding"])  # fmt: skip
        subtype = dict(crit)["PUS_SUBTYPE"]
        self._container(cname, "PUS_TM", crit, [key_name], abstract=True, doc=doc)
        for ev in self.d["events"]:
            if int(ev["subtype"]) == subtype:
                self._container(f"EV-{ev['component']}-{ev['name']}", cname,
                                [(key_name, int(ev["id"]))], [message, _PEC],
                                doc=ev["template"])  # fmt: skip

    # -- commands --------------------------------------------------------------------------
    def _arg_type(self, name: str, item: Mapping[str, Any], enum: Mapping[str, int] | None) -> str:
        tname = name + "_type"
        if tname in self._atype_names:
            return tname
        self._atype_names.add(tname)
        info = self.types[item["type"]]
        kind, bits = info["kind"], int(info["bits"])
        unit = str(item.get("unit", "") or "")
        lo, hi = item.get("min"), item.get("max")
        if enum:
            t = _el(self.atypes, "EnumeratedArgumentType", name=tname)
            self._units(t, unit)
            self._int_encoding(t, bits, kind == "signed")
            lst = _el(t, "EnumerationList")
            for label, value in sorted(enum.items(), key=lambda kv: kv[1]):
                _el(lst, "Enumeration", value=value, label=label)
        elif kind == "float":
            t = _el(self.atypes, "FloatArgumentType", name=tname, sizeInBits=bits)
            self._units(t, unit)
            _el(t, "FloatDataEncoding", sizeInBits=bits, encoding="IEEE754_1985")
            if lo is not None or hi is not None:
                rng = _el(_el(t, "ValidRangeSet"), "ValidRange",
                          minInclusive=None if lo is None else _num(lo),
                          maxInclusive=None if hi is None else _num(hi))  # fmt: skip
                assert rng is not None
        elif kind == "bool":
            t = _el(self.atypes, "BooleanArgumentType", name=tname)
            self._units(t, unit)
            self._int_encoding(t, bits, False)
        else:
            t = _el(self.atypes, "IntegerArgumentType", name=tname, sizeInBits=bits,
                    signed=str(kind == "signed").lower())  # fmt: skip
            self._units(t, unit)
            self._int_encoding(t, bits, kind == "signed")
            lo = info["min"] if lo is None else lo
            hi = info["max"] if hi is None else hi
            _el(_el(t, "ValidRangeSet"), "ValidRange", minInclusive=_num(lo), maxInclusive=_num(hi))
        self._describe(t, str(item.get("doc", "") or ""))
        return tname

    def _id_enums(self) -> dict[str, dict[str, int]]:
        d = self.d
        memory: dict[str, int] = {}
        for svc in d["services"]:
            for mid, region in svc.get("memory_ids", {}).items():
                memory[str(region["name"])] = int(mid)
        return {
            "sid": {h["component"]: int(h["structure_id"]) for h in d["housekeeping"]},
            "event_id": {f"{e['component']}-{e['name']}": int(e["id"]) for e in d["events"]},
            "parameter_id": {f"{p['component']}-{p['name']}": int(p["id"]) for p in d["parameters"]},
            "memory_id": memory,
        }

    def commands_(self) -> None:
        pkt = self.d["packet"]
        base = _el(self.commands, "MetaCommand", name="PUS_TC", abstract="true")
        self._describe(base, "PUS-C telecommand: primary and secondary header")
        args = _el(base, "ArgumentList")
        container = _el(base, "CommandContainer", name="PUS_TC")
        entries = _el(container, "EntryList")
        for f in [*pkt["primary_header"], *pkt["tc_secondary_header"]]:
            bits = int(f["bits"])
            fixed = f.get("value", f.get("tc"))
            if f["name"] == "apid":
                fixed = int(self.d["apid"])
            if fixed is not None:
                _el(entries, "FixedValueEntry", name=f["name"], binaryValue=_hex(fixed, bits),
                    sizeInBits=bits)  # fmt: skip
                continue
            item = {"type": "u16", "doc": f.get("doc", "")}
            tname = self._arg_type(
                "TC_" + f["name"].upper(), item | {"min": 0, "max": (1 << bits) - 1}, None
            )
            for t in self.atypes:  # header fields narrower than their 16-bit carrier type
                if t.get("name") == tname:
                    t.set("sizeInBits", str(bits))
                    enc = t.find(_NS + "IntegerDataEncoding")
                    assert enc is not None
                    enc.set("sizeInBits", str(bits))
            initial = {"ack_flags": 0b1001, "source_id": 0, "sequence_count": 0}.get(f["name"])
            _el(args, "Argument", name=f["name"], argumentTypeRef=tname,
                initialValue=initial)  # fmt: skip
            _el(entries, "ArgumentRefEntry", argumentRef=f["name"])
        pec_type = self._arg_type("TC_PEC", {"type": "u16"}, None)
        for t in self.atypes:
            if t.get("name") == pec_type:
                enc = t.find(_NS + "IntegerDataEncoding")
                assert enc is not None
                self._crc(enc)
        _el(args, "Argument", name="pec", argumentTypeRef=pec_type, initialValue=0)
        enums = self._id_enums()
        for svc in self.d["services"]:
            for tc in svc["tc"]:
                self._tc(int(svc["service"]), tc, enums)

    def _tc(self, service: int, tc: Mapping[str, Any], enums: dict[str, dict[str, int]]) -> None:
        layout = tc["layout"]
        kinds = [item["type"] for item in layout]
        if "command_arguments" in kinds:
            for cmd in self.d["commands"]:
                fid = {"type": "u16", "value": int(cmd["function_id"])}
                items = [layout[0] | fid, *(dict(a) for a in cmd["args"])]
                self._meta(f"{cmd['component']}-{cmd['name']}", service, tc, items,
                           cmd["doc"], f"{cmd['component']}-{cmd['name']}")  # fmt: skip
            return
        flat: list[dict[str, Any]] = []
        for item in layout:
            if item["type"] == "array":
                flat.extend(dict(sub) for sub in item["items"])
            elif item["name"] == "n" and item["type"] in self.types:
                flat.append(dict(item) | {"value": 1})  # exported for one list item
            else:
                flat.append(dict(item))
        if any(i["type"] == "parameter_value" for i in flat):
            for p in self.d["parameters"]:
                items = [
                    i | {"value": int(p["id"])} if i["name"] == "parameter_id"
                    else p | {"name": "value"} if i["type"] == "parameter_value" else i
                    for i in flat
                ]  # fmt: skip
                name = f"{tc['name']}-{p['component']}-{p['name']}"
                self._meta(name, service, tc, items, p.get("doc", ""), name)
            return
        for i in flat:
            if i["name"] in _ID_ITEMS and "value" not in i:
                i["enum"] = enums[i["name"]]
        self._meta(str(tc["name"]), service, tc, flat, "", str(tc["name"]))

    def _meta(
        self, name: str, service: int, tc: Mapping[str, Any], items: list[dict[str, Any]],
        doc: str, prefix: str,
    ) -> None:  # fmt: skip
        mc = _el(self.commands, "MetaCommand", name=name)
        self._describe(mc, doc or f"TC[{service},{tc['subtype']}] {tc['name']}")
        data_octets = sum(int(self.types[i["type"]]["octets"]) for i in items)
        tc_sec = sum(int(f["bits"]) for f in self.d["packet"]["tc_secondary_header"]) // 8
        length = tc_sec + data_octets + int(self.pec["octets"]) - 1
        bm = _el(mc, "BaseMetaCommand", metaCommandRef="PUS_TC")
        assign = _el(bm, "ArgumentAssignmentList")
        for arg, value in (("service", service), ("subtype", tc["subtype"]),
                           ("packet_data_length", length)):  # fmt: skip
            _el(assign, "ArgumentAssignment", argumentName=arg, argumentValue=value)
        args = [i for i in items if "value" not in i]
        if args:
            lst = _el(mc, "ArgumentList")
            for i in args:
                tname = self._arg_type(f"{prefix}-{i['name']}", i, i.get("enum"))
                _el(lst, "Argument", name=i["name"], argumentTypeRef=tname)
        container = _el(mc, "CommandContainer", name=name)
        entries = _el(container, "EntryList")
        for i in items:
            bits = int(self.types[i["type"]]["bits"])
            if "value" in i:
                _el(entries, "FixedValueEntry", name=i["name"],
                    binaryValue=_hex(int(i["value"]), bits), sizeInBits=bits)  # fmt: skip
            else:
                _el(entries, "ArgumentRefEntry", argumentRef=i["name"])
        _el(entries, "ArgumentRefEntry", argumentRef="pec")
        _el(container, "BaseContainer", containerRef="PUS_TC")


def _describe_layout(layout: list[Mapping[str, Any]]) -> str:
    """A one-line rendering of a dictionary layout (for descriptions)."""
    parts = []
    for item in layout:
        kind = item["type"]
        if kind == "array":
            n = item["count"] + (f" (max {item['max_count']})" if "max_count" in item else "")
            parts.append(f"{n} x ({_describe_layout(item['items'])})")
        elif kind == "bytes":
            unit = "bits" if item.get("length_unit") == "bits" else "octets"
            parts.append(f"{item['name']}: {item['length']} {unit}")
        elif kind == "utf8":
            parts.append(f"{item['name']}: UTF-8 to the end")
        elif "key" in kind or kind in ("housekeeping_structure", "command_arguments",
                                       "parameter_value"):  # fmt: skip
            parts.append(f"{item['name']}: {kind} selected by {item['key']}")
        else:
            parts.append(f"{item['name']} {kind}")
    return ", ".join(parts)


def build_xtce(dictionary: Mapping[str, Any]) -> str:
    """The XTCE 1.2 document (UTF-8 XML text) for a satnode dictionary (see the module)."""
    builder = _Builder(dictionary)
    builder.telemetry()
    builder.commands_()
    ET.register_namespace("xtce", XTCE_NAMESPACE)
    tree = ET.ElementTree(builder.root)
    ET.indent(tree, "  ")
    body = ET.tostring(builder.root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def write_xtce(dictionary: Mapping[str, Any], path: str | Path) -> Path:
    """Write :func:`build_xtce` of ``dictionary`` to ``path`` (``OSError`` if it cannot)."""
    out = Path(path)
    out.write_text(build_xtce(dictionary), encoding="utf-8")
    return out
