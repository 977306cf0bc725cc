"""The power side of thruster power: the real PowerController honours or refuses GNC's
PropulsionPowerRequest on the simulated PDU, and GNC burns through it end to end.

(This checks the contract between the two applications; it lives with GNC, the requester.)
"""

from __future__ import annotations

from typing import Any

import pytest

from flight.core import Executive, SimClock
from flight.gnc import BurnKind, BurnPlan, build_component
from flight.messages import Mode, ModeStatus, PropulsionPowerRequest
from flight.power import PowerController, parse_config
from flight.testing import attach_plant
from hal import Battery, GnssReceiver, Pdu, SolarArray
from hal.registry import get_device, open_from_config

POWER_ID = 20


class PowerRig:
    """Executive at 1 Hz on a SimClock with the power controller on sim devices."""

    def __init__(self) -> None:
        self.backend: Any = open_from_config(
            {
                "backend": "sim",
                "seed": 3,
                "devices": {
                    "battery": {"family": "battery"},
                    "solar_array": {"family": "solar_array"},
                    "pdu": {"family": "pdu"},
                    "gnss": {"family": "gnss"},
                    "thruster": {"family": "thruster"},
                },
            }
        )
        b = self.backend
        self.pdu = get_device(b, "pdu", Pdu)
        devices: dict[str, Any] = {
            "battery": get_device(b, "battery", Battery),
            "array": get_device(b, "solar_array", SolarArray),
            "pdu": self.pdu,
            "gnss": get_device(b, "gnss", GnssReceiver),
        }
        self.clock = SimClock()
        self.exe = Executive(self.clock, 1.0, ping_period_s=100.0)
        attach_plant(self.exe, self.backend)
        self.power = PowerController(parse_config({}), devices, POWER_ID)
        self.exe.add(self.power, 1.0)
        self.records: list[Any] = []
        self.exe.events.add_sink(self.records.append)

    def run(self, seconds: float) -> None:
        self.exe.run_for(round(seconds * 1e9))

    def request(self, on: bool) -> None:
        self.exe.bus.publish(PropulsionPowerRequest(self.clock.now_ns(), on, "test"))

    def mode(self, mode: Mode) -> None:
        t = self.clock.now_ns()
        self.exe.bus.publish(ModeStatus(t, mode, t, "test"))

    def rail_on(self) -> bool:
        return bool(self.pdu.read().rail("propulsion").on)

    def events(self, name: str) -> list[Any]:
        return [e for e in self.records if e.name == name]


def test_power_follows_the_latest_request() -> None:
    rig = PowerRig()
    rig.run(3.0)
    assert not rig.rail_on() and not rig.power.hk.propulsion_rail_on
    rig.request(True)
    rig.run(2.0)
    assert rig.rail_on() and rig.power.hk.propulsion_rail_on
    assert [e.message for e in rig.events("propulsion_switched")] == ["propulsion rail on: test"]
    rig.request(False)
    rig.run(2.0)
    assert not rig.rail_on() and not rig.power.hk.propulsion_rail_on
    assert len(rig.events("propulsion_switched")) == 2
    assert rig.power.hk.propulsion_refusals == 0


def test_power_refuses_in_safe_and_withdraws_the_rail() -> None:
    rig = PowerRig()
    rig.mode(Mode.SAFE)
    rig.request(True)
    rig.run(5.0)
    assert not rig.rail_on()
    refused = rig.events("propulsion_refused")
    assert len(refused) == 1 and "SAFE" in refused[0].message  # once per reason
    assert rig.power.hk.propulsion_refusals == 1
    rig.mode(Mode.NOMINAL)
    rig.run(2.0)
    assert rig.rail_on()
    # Entering SAFE with the rail on takes it away.
    rig.mode(Mode.SAFE)
    rig.run(2.0)
    assert not rig.rail_on()
    assert rig.power.hk.propulsion_refusals == 2


def test_power_refuses_while_shedding_beyond_compute() -> None:
    rig = PowerRig()
    rig.mode(Mode.NOMINAL)
    rig.run(1.0)  # started: a boot forgets a ground hold
    op = next(c for c in rig.power.DECLARATION.commands if c.name == "force_shed")
    rig.power.execute(op.opcode, op.arg_struct.pack(2))  # shed the laser terminal too
    rig.request(True)
    rig.run(3.0)
    assert not rig.rail_on()
    assert "shedding" in rig.events("propulsion_refused")[0].message
    rig.power.execute(op.opcode, op.arg_struct.pack(1))  # compute only: allowed
    rig.run(3.0)
    assert rig.rail_on()


@pytest.mark.slow
def test_gnc_burns_through_the_power_controller() -> None:
    """GNC and the real power app on one executive: a manual burn is delivered and the rail
    is off again afterwards; in SAFE the request is refused and GNC times out."""
    rig = PowerRig()
    rig.mode(Mode.NOMINAL)
    gnc = build_component(
        rig.backend,
        {"autonomy": False, "require_power_budget": False, "avoid_eclipse": False,
         "rate_hz": 0.1},
    )  # fmt: skip
    rig.exe.add(gnc, 0.1)
    rig.run(0.2 * 86400.0)
    cmd = next(c for c in gnc.DECLARATION.commands if c.name == "manual_burn")
    gnc.execute(cmd.opcode, cmd.arg_struct.pack(0.01, 0.0))
    rig.run(3600.0)
    world_dv = rig.backend.world.propulsion.delta_v_total_m_s
    assert world_dv == pytest.approx(0.01, rel=0.02)
    assert not rig.rail_on() and gnc.executor.rail_timeouts == 0
    # SAFE: an avoidance burn ignores the mode, but power refuses the rail: GNC gives up
    # after rail_timeout_s and says so, and nothing fires.
    rig.mode(Mode.SAFE)
    now_s = rig.clock.now_ns() / 1e9
    gnc.executor.submit(BurnPlan(BurnKind.AVOIDANCE, 0.01, 0.01, now_s, "avoidance in SAFE"))
    rig.run(gnc.cfg.rail_timeout_s + 30.0)
    assert rig.backend.world.propulsion.delta_v_total_m_s == world_dv
    assert gnc.executor.rail_timeouts == 1 and rig.events("rail_timeout")
    assert rig.events("propulsion_refused") and not rig.rail_on()
