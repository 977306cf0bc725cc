"""The command and telemetry dictionary, derived from the node's own declarations.

Nothing here is written by hand: every component's :class:`~flight.core.Declaration`, the
built-in PUS services' layouts (:attr:`flight.tmtc.TmtcService.SERVICES`), the layouts of the
services applications register (their handler's ``describe()``) and of the TM components send
themselves (their ``describe_tm()``), and the node's time code and packet settings. The
dictionary cannot drift from the code. Ground tools read it from ``satnode dict``.

The document is self-contained: a decoder written from it alone (no satnode import) reads
every TM packet the node sends and builds every TC it accepts. Its parts:

``packet``
    the CCSDS primary header, the PUS-C TM and TC secondary headers as bit fields (most
    significant bit first, big-endian), the packet error control (CRC parameters) and limits.
``time_code``
    the TM time field: format, P-field, T-field segments, resolution and epoch.
``types``
    every scalar type label used below: kind (unsigned, signed, float, bool), bits.
``services``
    each service the node answers or uses, with its TC and TM subtypes; a subtype's
    ``layout`` lists its data items in order. Item grammar (``name`` always present):

    - ``{"type": <scalar label>, "unit"?, "min"?, "max"?, "enum"?}``: one value;
    - ``{"type": "array", "count": <earlier item>, "max_count"?, "items": [...]}``: the items
      repeated ``min(count, max_count)`` times;
    - ``{"type": "bytes", "length": <earlier item>, "length_unit"?: "bits"}``: that many
      octets (or that many bits, a whole number of octets, with ``"length_unit": "bits"``);
    - ``{"type": "utf8", "length": "rest", "max_octets"}``: UTF-8 text to the end of the data;
    - ``{"type": "housekeeping_structure" | "command_arguments" | "parameter_value",
      "key": <earlier item>}``: the layout the key selects in ``housekeeping`` (by
      ``structure_id``), ``commands`` (by ``function_id``) or ``parameters`` (by ``id``).
``housekeeping``, ``commands``, ``events``, ``parameters``
    the components' declarations, with wire ids, offsets, sizes, units and ranges.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any, Final

from flight.core import Executive, FailureCode, FieldType, Severity
from flight.tmtc import CdsFormat, CucFormat, TmtcService

__all__ = ["DICTIONARY_SCHEMA", "DICTIONARY_VERSION", "build_dictionary", "time_code_layout"]

#: Name of the document format (the ``schema`` key).
DICTIONARY_SCHEMA: Final = "satnode-dictionary"
#: Version of the document format: bumped when a key changes meaning or disappears.
DICTIONARY_VERSION: Final = 2
HK_SID_OCTETS: Final = 2  # a TM[3,25] report's data starts with the 16-bit structure id
#: 1958-01-01 to the CUC/CDS epoch of the P-field's "CCSDS epoch" time code id.
CCSDS_EPOCH: Final = "1958-01-01T00:00:00 TAI"

_KIND = {"?": "bool", "f": "float", "d": "float"}


def _type_info(t: FieldType) -> dict[str, Any]:
    kind = _KIND.get(t.code, "signed" if t.code.islower() else "unsigned")
    info: dict[str, Any] = {"kind": kind, "bits": 8 * t.size, "octets": t.size}
    if kind == "float":
        info["encoding"] = "IEEE 754 binary" + str(8 * t.size)
    elif kind == "bool":
        info["encoding"] = "one octet: 0 false, 1 true; other octets are rejected in a TC"
    else:
        info["encoding"] = "two's complement" if kind == "signed" else "unsigned binary"
        info["min"], info["max"] = int(t.lo), int(t.hi)
    return info


def _range(lo: float | None, hi: float | None) -> dict[str, float | None]:
    return {"min": lo, "max": hi}


def _packet(tmtc: TmtcService) -> dict[str, Any]:
    def bits(name: str, n: int, doc: str = "", **fixed: int) -> dict[str, Any]:
        return {"name": name, "bits": n, **({"doc": doc} if doc else {}), **fixed}

    return {
        "byte_order": "big-endian (most significant octet and bit first)",
        "primary_header": [
            bits("version", 3, "packet version number", value=0),
            bits("type", 1, "0 telemetry, 1 telecommand", tm=0, tc=1),
            bits("secondary_header_flag", 1, value=1),
            bits("apid", 11, "application process id"),
            bits("sequence_flags", 2, "0b11: unsegmented", value=3),
            bits("sequence_count", 14, "per-APID source sequence count (TM) / TC count"),
            bits("packet_data_length", 16, "octets after the primary header, minus 1"),
        ],
        "tm_secondary_header": [
            bits("pus_version", 4, "2: PUS-C (ECSS-E-ST-70-41C)", value=2),
            bits("time_reference_status", 4),
            bits("service", 8),
            bits("subtype", 8),
            bits("message_type_counter", 16, "per (service, subtype), wraps at 65536"),
            bits("destination_id", 16),
            {"name": "time", "type": "time_code", "octets": tmtc.time_code.length},
        ],
        "tc_secondary_header": [
            bits("pus_version", 4, "2: PUS-C", value=2),
            bits("ack_flags", 4, "acceptance 0b1000, start 0b0100, progress 0b0010, "
                 "completion 0b0001: success reports wanted (failures are always sent)"),
            bits("service", 8),
            bits("subtype", 8),
            bits("source_id", 16),
        ],
        "packet_error_control": {
            "algorithm": "CRC-16/CCITT-FALSE",
            "width": 16,
            "poly": 0x1021,
            "init": 0xFFFF,
            "reflect_in": False,
            "reflect_out": False,
            "xor_out": 0x0000,
            "check": 0x29B1,
            "check_input": "ASCII 123456789",
            "octets": 2,
            "covers": "every octet of the packet before the PEC (primary header included)",
        },
        "max_packet_octets": tmtc.max_packet_len,
    }


def time_code_layout(tc: CucFormat | CdsFormat) -> dict[str, Any]:
    p_field = tc.p_field_bytes
    common: dict[str, Any] = {
        "octets": tc.length,
        "p_field": {"octets": len(p_field), "value": p_field.hex()} if p_field else None,
        "epoch": "agency-defined" if tc.agency_epoch else CCSDS_EPOCH,
        "epoch_offset_ns": tc.epoch_offset_ns,
        "count": "onboard time in ns (the node's clock: 0 at node start in simulated runs) "
        "plus epoch_offset_ns, read as time since the epoch; no leap seconds",
    }
    if isinstance(tc, CucFormat):
        return {
            "format": "CUC",
            "standard": "CCSDS 301.0-B-4 section 3.2 (unsegmented time code)",
            **common,
            "t_field": [
                {"name": "coarse", "octets": tc.coarse_octets, "unit": "s"},
                {"name": "fine", "octets": tc.fine_octets,
                 "unit": f"2^-{8 * tc.fine_octets} s"},
            ],
            "resolution_s": tc.resolution_ns / 1e9,
            "encode": "truncated toward the past",
        }  # fmt: skip
    segments: list[dict[str, Any]] = [
        {"name": "day", "octets": tc.day_octets, "unit": "d", "doc": "86400 s days"},
        {"name": "ms_of_day", "octets": 4, "unit": "ms"},
    ]
    if tc.submillis_octets:
        unit = "us" if tc.submillis_octets == 2 else "ps"
        segments.append({"name": "submillisecond", "octets": tc.submillis_octets, "unit": unit})
    return {
        "format": "CDS",
        "standard": "CCSDS 301.0-B-4 section 3.3 (day segmented time code)",
        **common,
        "t_field": segments,
        "resolution_s": tc.resolution_ns / 1e9,
        "encode": "truncated toward the past",
    }


def _declarations(executive: Executive, tmtc: TmtcService) -> dict[str, list[dict[str, Any]]]:
    housekeeping = []
    commands = []
    events = []
    params = []
    for comp in executive.components:
        decl = comp.DECLARATION
        cid = comp.component_id
        if decl.telemetry:
            offset = 0
            fields = []
            for f in decl.telemetry:
                fields.append(
                    {
                        "name": f.name,
                        "type": f.type.label,
                        "size": f.type.size,
                        "unit": f.unit,
                        "offset": offset,
                        "doc": f.doc,
                    }
                )
                offset += f.type.size
            housekeeping.append(
                {
                    "component": comp.name,
                    "apid": tmtc.apid,
                    "service": 3,
                    "subtype": 25,
                    "structure_id": cid,
                    "sid_octets": HK_SID_OCTETS,
                    "size": decl.hk_struct.size,
                    "fields": fields,
                }
            )
        for c in decl.commands:
            offset = 0
            args = []
            for a in c.args:
                args.append(
                    {
                        "name": a.name,
                        "type": a.type.label,
                        "size": a.type.size,
                        "offset": offset,
                        "unit": a.unit,
                        **_range(a.min, a.max),
                        "doc": a.doc,
                    }
                )
                offset += a.type.size
            commands.append(
                {
                    "component": comp.name,
                    "name": c.name,
                    "apid": tmtc.apid,
                    "service": 8,
                    "subtype": 1,
                    "function_id": cid << 8 | c.opcode,
                    "opcode": c.opcode,
                    "doc": c.doc,
                    "args_octets": c.arg_struct.size,
                    "args": args,
                    # arm with TC[8,128] within the arming window before executing
                    "hazardous": c.hazardous,
                }
            )
        for e in decl.events:
            events.append(
                {
                    "component": comp.name,
                    "name": e.name,
                    "id": cid << 8 | e.id,
                    "severity": e.severity.name,
                    "service": 5,
                    "subtype": int(e.severity),
                    "template": e.template,
                    "parameters": list(dict.fromkeys(e.fields)),
                }
            )
        for p in decl.params:
            params.append(
                {
                    "component": comp.name,
                    "name": p.name,
                    "id": cid << 8 | p.id,
                    "type": p.type.label,
                    "size": p.type.size,
                    "unit": p.unit,
                    "default": p.default,
                    **_range(p.min, p.max),
                    "doc": p.doc,
                    # state, not tuning: TC[20,3] refuses it
                    "ground_writable": p.ground_writable,
                }
            )
    return {"housekeeping": housekeeping, "commands": commands, "events": events,
            "parameters": params}  # fmt: skip


def _services(executive: Executive, tmtc: TmtcService) -> list[dict[str, Any]]:
    """Every service: the built-in ones, those registered by applications, and the TM that
    components send themselves; sorted by service number."""
    services: dict[int, dict[str, Any]] = {}

    def add(desc: dict[str, Any], origin: str) -> None:
        number = int(desc["service"])
        if number in services:
            raise ValueError(f"service {number} described twice ({origin})")
        services[number] = {**desc, "origin": origin}

    for desc in tmtc.SERVICES:
        add(desc, tmtc.name)
    for number, handler in sorted(tmtc.extra_services.items()):
        describe = getattr(handler, "describe", None)
        if describe is None:
            raise ValueError(f"service {number} handler {type(handler).__name__} has no describe()")
        add(describe(), type(handler).__name__)
    for comp in executive.components:
        describe_tm = getattr(comp, "describe_tm", None)
        if describe_tm is not None:
            add(describe_tm(), comp.name)
    return [services[n] for n in sorted(services)]


def build_dictionary(executive: Executive, tmtc: TmtcService) -> dict[str, Any]:
    """The dictionary of the node whose components ``executive`` runs and whose PUS endpoint is
    ``tmtc`` (JSON-serialisable; see the module docstring for its parts).

    Housekeeping field offsets are octets from the start of the structure, which begins
    right after the 16-bit SID in the TM[3,25] source data; command argument offsets are
    octets after the 16-bit function id of TC[8,1].
    """
    services = _services(executive, tmtc)
    event_service = next(s for s in services if s["service"] == 5)
    max_octets = int(event_service["tm"][0]["layout"][-1]["max_octets"])
    try:
        version = metadata.version("satnode")
    except metadata.PackageNotFoundError:  # running from a source tree
        version = "unknown"
    return {
        "schema": DICTIONARY_SCHEMA,
        "version": DICTIONARY_VERSION,
        "satnode_version": version,
        "apid": tmtc.apid,
        "apids": [{"apid": tmtc.apid, "use": "the node: all its TM, and the TCs it accepts"}],
        "packet": _packet(tmtc),
        "time_code": time_code_layout(tmtc.time_code),
        "types": {t.label: _type_info(t) for t in FieldType},
        "services": services,
        "event_message": {
            "layout": "event id (u16, component id << 8 | event id), then the message",
            "encoding": "UTF-8 text: the event's template formatted (Python str.format) with "
            f"its parameters, truncated to {max_octets} octets (an invalid "
            "UTF-8 tail may result); parameters travel only as that text",
            "max_octets": max_octets,
        },
        "severities": {s.name: int(s) for s in Severity},
        "failure_codes": {c.name: int(c) for c in FailureCode},
        "security": _security(executive),
        **_declarations(executive, tmtc),
    }


def _security(executive: Executive) -> dict[str, Any] | None:
    """The uplink's SDLS parameters (SPIs, services, algorithms, field lengths, header mask;
    never keys) from the node's security component, or None when it has none."""
    from flight.security import SecurityComponent, sa_dictionary

    for comp in executive.components:
        if isinstance(comp, SecurityComponent):
            return sa_dictionary(comp.cfg)
    return None
