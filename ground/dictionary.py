"""The command and telemetry dictionary, derived from the components' declarations.

Nothing here is written by hand: every entry comes from a component's
:class:`~flight.core.Declaration`, so the dictionary cannot drift from the code. Ground tools
read it from ``satnode dict``.
"""

from __future__ import annotations

from typing import Any

from flight.core import Executive, FailureCode
from flight.tmtc import TmtcService

__all__ = ["build_dictionary"]

HK_SID_OCTETS = 2  # a TM[3,25] report's data starts with the 16-bit structure id


def _limits(lo: float | None, hi: float | None) -> dict[str, float | None]:
    return {"min": lo, "max": hi}


def build_dictionary(executive: Executive, tmtc: TmtcService) -> dict[str, Any]:
    """The dictionary of every component run by ``executive`` (JSON-serialisable).

    Housekeeping field offsets are octets from the start of the structure, which begins
    right after the 16-bit SID in the TM[3,25] source data.
    """
    housekeeping = []
    commands = []
    events = []
    params = []
    for comp in executive.components:
        decl = comp.DECLARATION
        if decl.telemetry:
            offset = 0
            fields = []
            for f in decl.telemetry:
                fields.append(
                    {
                        "name": f.name,
                        "type": f.type.label,
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
                    "structure_id": comp.component_id,
                    "sid_octets": HK_SID_OCTETS,
                    "size": decl.hk_struct.size,
                    "fields": fields,
                }
            )
        for c in decl.commands:
            commands.append(
                {
                    "component": comp.name,
                    "name": c.name,
                    "apid": tmtc.apid,
                    "service": 8,
                    "subtype": 1,
                    "function_id": comp.component_id << 8 | c.opcode,
                    "opcode": c.opcode,
                    "doc": c.doc,
                    "args": [
                        {
                            "name": a.name,
                            "type": a.type.label,
                            "unit": a.unit,
                            **_limits(a.min, a.max),
                        }
                        for a in c.args
                    ],
                }
            )
        for e in decl.events:
            events.append(
                {
                    "component": comp.name,
                    "name": e.name,
                    "id": comp.component_id << 8 | e.id,
                    "severity": e.severity.name,
                    "service": 5,
                    "subtype": int(e.severity),
                    "template": e.template,
                }
            )
        for p in decl.params:
            params.append(
                {
                    "component": comp.name,
                    "name": p.name,
                    "id": comp.component_id << 8 | p.id,
                    "type": p.type.label,
                    "unit": p.unit,
                    "default": p.default,
                    **_limits(p.min, p.max),
                }
            )
    return {
        "apid": tmtc.apid,
        "time_code": type(tmtc.time_code).__name__,
        "time_code_octets": tmtc.time_code.length,
        "services": {
            "1": "verification",
            "3": "housekeeping",
            "5": "event reporting",
            "8": "function management",
            "17": "test",
            "20": "parameter management",
        },
        "failure_codes": {c.name: int(c) for c in FailureCode},
        "housekeeping": housekeeping,
        "commands": commands,
        "events": events,
        "parameters": params,
    }
