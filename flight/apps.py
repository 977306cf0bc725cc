"""The application registry: every onboard application, one line each.

This table is the node's topology. For each application it gives the configuration section
that installs it, the package that implements it (``Config`` + ``install``), its components
with their ids (part of the ground interface: PUS-8 function id = id << 8 | opcode), the bus
topics it publishes and consumes, the configuration keys naming its HAL devices, and the
services it offers to other applications or needs from them.

Adding an application is one package plus one line here (README: "Write your own
application"). The composition (:mod:`flight.node`) derives from this table:

- the install order: providers of a service before the apps that require it;
- the run order inside a tick: producers of a topic before its consumers (``feedback``
  topics are read one tick late on purpose and do not constrain the order);
- the id table, checked for uniqueness at import (:data:`COMPONENT_IDS`).
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping

from flight.core import AppSpec

__all__ = [
    "APPLICATIONS",
    "COMPONENT_IDS",
    "CORE_COMPONENT_IDS",
    "app_spec",
    "id_table",
]

#: Components of the core (not applications): the executive's monitor and the PUS endpoint.
CORE_COMPONENT_IDS: Mapping[str, int] = types.MappingProxyType({"exec": 1, "tmtc": 2})

APPLICATIONS: tuple[AppSpec, ...] = (
    AppSpec(
        "environment",
        "flight.environment",
        components=(("environment", 23),),
        publishes=("RadiationEnvironment",),
        devices=("gnss",),
        summary="SAA passes from the GNSS position",
    ),
    AppSpec(
        "power",
        "flight.power",
        components=(("power", 20),),
        publishes=("PowerStatus", "EclipseForecast", "PowerBudget"),
        feedback=("ModeStatus", "PropulsionPowerRequest"),
        devices=("battery", "array", "pdu", "gnss"),
        summary="state of charge, eclipse forecast, budget, load shedding, battery protection",
    ),
    AppSpec(
        "thermal",
        "flight.thermal",
        components=(("thermal", 21),),
        publishes=("ThermalStatus", "ThermalThrottle"),
        consumes=("PowerBudget", "PowerStatus"),
        devices=("sensors", "radiator"),
        summary="zone control, radiator, prediction, compute throttling",
    ),
    AppSpec(
        "fdir",
        "flight.fdir",
        components=(("fdir", 22),),
        publishes=("ModeStatus", "AttitudeRequest", "SensorHealth"),
        consumes=("PowerStatus", "ThermalStatus"),
        devices=("gnss", "imu", "star_tracker", "sun_sensor", "battery", "array"),
        summary="limit monitoring, event-action, modes, boot counting and reset escalation",
    ),
    AppSpec(
        "adcs",
        "flight.adcs",
        components=(("adcs", 24),),
        publishes=("AttitudeStatus",),
        consumes=("AttitudeRequest",),
        devices=("attitude",),
        summary="attitude mode commanding: nadir, sun, inertial, target vector",
    ),
    AppSpec(
        "edac",
        "flight.edac",
        components=(("edac", 60),),
        consumes=("RadiationEnvironment",),
        devices=("storage_device",),
        provides=("edac.regions",),
        summary="protected memory, scrubbing, TMR, PUS-6",
    ),
    AppSpec(
        "compute",
        "flight.compute",
        components=(("compute", 40),),
        consumes=("PowerBudget", "ThermalThrottle", "ModeStatus", "PowerStatus", "LinkStatus"),
        devices=("accelerator", "storage", "imager"),
        requires=("edac.regions", "isl.network"),  # isl.network optional: offload
        summary="AI job executor under power, thermal and deadline limits",
    ),
    AppSpec(
        "gnc",
        "flight.gnc",
        components=(("gnc", 25),),
        publishes=("PropulsionPowerRequest",),
        consumes=("ModeStatus", "PowerBudget", "EclipseForecast"),
        devices=("gnss", "thruster", "storage"),
        summary="orbit determination, station keeping, burns, conjunction screening",
    ),
    AppSpec("boot", "flight.boot", components=(("boot", 27),), consumes=("ModeStatus",), devices=("storage",), summary="health gate, mark-good, boot.rollback, boot record telemetry"),
    AppSpec("security", "flight.security", components=(("security", 26),), devices=("storage",), requires=("tmtc.uplink",), summary="authenticated uplink (SDLS), key store, SA management"),
    AppSpec("filexfer", "flight.filexfer", components=(("filexfer", 29),), devices=("staging", "nv", "slots"), summary="image uplink: CFDP class 2 over PUS-23 into the inactive slot"),
    AppSpec("isl", "flight.isl", components=(("isl", 28),), publishes=("LinkStatus",), devices=("terminal", "gnss"), provides=("isl.network",), summary="laser links: contact planning, PAT, ARQ frames, store-and-forward bundles"),
)


def id_table(applications: Iterable[AppSpec] = APPLICATIONS) -> Mapping[str, int]:
    """Every component id of a node made of ``applications`` (plus the core), by component
    name. ValueError names a duplicate id or name, or an id outside 1..255."""
    table: dict[str, int] = dict(CORE_COMPONENT_IDS)
    owners: dict[int, str] = {cid: name for name, cid in table.items()}
    sections: set[str] = set()
    for spec in applications:
        if spec.section in sections:
            raise ValueError(f"application [{spec.section}] registered twice")
        sections.add(spec.section)
        for name, cid in spec.components:
            if not 1 <= cid <= 255:
                raise ValueError(f"component {name!r}: id {cid} outside 1..255")
            if name in table:
                raise ValueError(f"component name {name!r} registered twice")
            if cid in owners:
                raise ValueError(f"component id {cid} used by {owners[cid]!r} and {name!r}")
            table[name] = cid
            owners[cid] = name
    return types.MappingProxyType(table)


#: Every component id of the node, by component name: one table, unique (checked at import).
COMPONENT_IDS: Mapping[str, int] = id_table()


def app_spec(section: str) -> AppSpec:
    """The registry line of the application installed by ``[section]`` (KeyError if none)."""
    for spec in APPLICATIONS:
        if spec.section == section:
            return spec
    raise KeyError(section)
