"""Command safety on the full default node (issue 19, deliver item 2).

Every request goes through the node's TM/TC endpoint as a packed TC, and the verdict is read
back from the TM[1,x] reports it emits (the oracle is the PUS-1 failure code on the wire):

- hazardous commands (manual burn, slot change, leaving SAFE, disabling a monitor, clearing
  the boot record) are refused unarmed (TM[1,2] NOT_ARMED) and change nothing; armed with
  TC[8,128] they run once; an arming expires after ARM_WINDOW_S of onboard time;
- set_slot(200 km) in the first orbit (no estimate) is refused at acceptance;
- the boot counter is not ground-writable; sabotage values of tuning parameters are refused;
- FDIR refuses to disable the last monitor of a quantity and bounds set_limits;
- a component cannot be silenced (HK and HIGH events both off).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flight.core import FailureCode
from flight.messages import Mode
from flight.testing import build_node, node_config
from flight.tmtc import pack_tc, unpack_tm
from flight.tmtc._services import ARM_SUBTYPE, ARM_WINDOW_S

GNC, FDIR, POWER, TMTC, THERMAL = 25, 22, 20, 2, 21


class Ground:
    """Packs TCs for a node and reads back the verification reports."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.tm: list[bytes] = []
        node.tmtc.sinks.append(self.tm.append)
        self.seq = 0

    def send(self, service: int, subtype: int, data: bytes) -> tuple[int, int | None]:
        """Process one TC now; (TM[1,x] subtype, failure code or None)."""
        self.seq += 1
        raw = pack_tc(self.node.tmtc.apid, self.seq, service, subtype, 0b1001, 0, data)
        start = len(self.tm)
        self.node.tmtc.process(raw)
        if self.node.tmtc.downlink_buffer is not None:
            self.node.tmtc.flush_downlink()
        time_len = len(self.node.tmtc.time_code.encode(0))
        for pkt in self.tm[start:]:
            tm = unpack_tm(pkt, time_len)
            if tm.service == 1 and tm.subtype in (2, 8):
                return tm.subtype, struct.unpack(">IH", bytes(tm.data))[1]
            if tm.service == 1 and tm.subtype == 7:
                return 7, None
        raise AssertionError("no verification report")

    def function(self, component: int, opcode: int, args: bytes = b"") -> tuple[int, int | None]:
        return self.send(8, 1, struct.pack(">H", component << 8 | opcode) + args)

    def arm(self, component: int, opcode: int) -> tuple[int, int | None]:
        return self.send(8, ARM_SUBTYPE, struct.pack(">BBH", 8, 1, component << 8 | opcode))

    def set_param(self, component: int, pid: int, code: str, value: float) -> tuple[int, int | None]:
        return self.send(20, 3, bytes([1]) + struct.pack(">H" + code, component << 8 | pid, value))


REFUSED_NOT_ARMED = (2, int(FailureCode.NOT_ARMED))
REFUSED_NOT_ALLOWED = (2, int(FailureCode.NOT_ALLOWED))
REFUSED_ARGUMENT = (2, int(FailureCode.ILLEGAL_ARGUMENT))
DONE = (7, None)


@pytest.fixture(scope="module")
def ground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ground]:
    node = build_node(tmp_path_factory.mktemp("safety"), node_config())
    node.run(30.0)  # past BOOT: NOMINAL, and well inside the first orbit (no estimate)
    try:
        yield Ground(node)
    finally:
        node.close()


def test_thrusting_needs_arming_and_one_arming_is_one_request(ground: Ground) -> None:
    gnc = ground.node.apps["gnc"]
    comp = next(c for c in ground.node.executive.components if c.name == "gnc")
    # Stopping autonomous burns is harmless; enabling them is hazardous.
    assert ground.function(GNC, 2, b"\x00") == DONE
    assert ground.function(GNC, 2, b"\x01") == REFUSED_NOT_ARMED
    assert comp.autonomy is False
    assert ground.arm(GNC, 2) == DONE
    assert ground.function(GNC, 2, b"\x01") == DONE
    assert comp.autonomy is True
    assert ground.function(GNC, 2, b"\x00") == DONE
    # The arming was used up: enabling again is refused.
    assert ground.function(GNC, 2, b"\x01") == REFUSED_NOT_ARMED
    # A manual burn is hazardous too (arming is checked after the state checks: here the
    # orbit is not converged yet, which refuses it whether armed or not).
    assert ground.arm(GNC, 5) == DONE
    assert gnc is not None


def test_arming_expires_in_onboard_time(ground: Ground) -> None:
    assert ground.arm(FDIR, 5) == DONE
    ground.node.run(ARM_WINDOW_S + 2.0)
    assert ground.function(FDIR, 5) == REFUSED_NOT_ARMED
    assert ground.arm(FDIR, 5) == DONE
    assert ground.function(FDIR, 5) == DONE


def test_arming_a_harmless_command_is_refused(ground: Ground) -> None:
    assert ground.arm(FDIR, 2) == DONE  # enable_monitor is hazardous (disabling)
    assert ground.arm(POWER, 2)[1] == int(FailureCode.ILLEGAL_ARGUMENT)  # force_shed is not


def test_set_slot_in_the_first_orbit_is_refused_at_acceptance(ground: Ground) -> None:
    gnc_box = ground.node.apps["gnc"]
    slot_200 = struct.pack(">ddff", 200.0, 0.0, 10.0, 300.0)
    slot_450 = struct.pack(">ddff", 450.0, 0.0, 10.0, 300.0)
    assert ground.arm(GNC, 1) == DONE
    # 200 km is below any physical slot: refused by the argument's bound, armed or not.
    assert ground.function(GNC, 1, slot_200) == REFUSED_ARGUMENT
    # A plausible altitude is still refused while the orbit is unknown (no estimate, no box).
    assert ground.function(GNC, 1, slot_450) == REFUSED_NOT_ALLOWED
    assert gnc_box is not None


def test_leaving_safe_needs_arming_entering_it_does_not(ground: Ground) -> None:
    fdir = ground.node.apps["fdir"].manager
    assert ground.function(FDIR, 1, bytes([int(Mode.SAFE)])) == DONE
    assert fdir.mode is Mode.SAFE
    assert ground.function(FDIR, 1, bytes([int(Mode.RECOVERY)])) == REFUSED_NOT_ARMED
    assert fdir.mode is Mode.SAFE
    assert ground.arm(FDIR, 1) == DONE
    assert ground.function(FDIR, 1, bytes([int(Mode.RECOVERY)])) == DONE
    assert fdir.mode is Mode.RECOVERY


def test_boot_counter_is_not_ground_writable(ground: Ground) -> None:
    store = ground.node.executive.params
    before = store.get("fdir", "boot_count")
    assert ground.set_param(FDIR, 1, "H", 65535) == REFUSED_NOT_ALLOWED
    assert store.get("fdir", "boot_count") == before


@pytest.mark.parametrize(
    ("component", "pid", "code", "value", "name"),
    [
        (POWER, 1, "f", 0.05, "soc_floor_frac"),
        (POWER, 7, "f", 60.0, "charge_max_c"),
        (POWER, 9, "f", 0.0, "heater_budget_w"),
        (TMTC, 1, "H", 1, "tc_per_step"),
        (THERMAL, 1, "H", 600, "heater_mismatch_steps"),
    ],
)
def test_sabotage_parameters_are_refused(
    ground: Ground, component: int, pid: int, code: str, value: float, name: str
) -> None:
    comp = ground.node.executive.component(component)
    store = ground.node.executive.params
    before = store.get(comp.name, name)
    assert ground.set_param(component, pid, code, value) == REFUSED_ARGUMENT
    assert store.get(comp.name, name) == before


def test_fdir_limits_are_bounded_and_last_monitor_cannot_be_disabled(ground: Ground) -> None:
    fdir = ground.node.apps["fdir"].manager
    soc = next(i for i, m in enumerate(fdir.monitors) if m.definition.name == "soc_floor")
    row = fdir.monitors[soc].definition
    before = (row.low, row.high, row.enabled)
    assert ground.arm(FDIR, 3) == DONE
    assert ground.function(FDIR, 3, struct.pack(">Bff", soc, -1e30, 1e30)) == REFUSED_ARGUMENT
    assert ground.function(FDIR, 3, struct.pack(">Bff", soc, 0.05, 1.0)) == REFUSED_ARGUMENT
    assert ground.arm(FDIR, 2) == DONE
    assert ground.function(FDIR, 2, struct.pack(">BB", soc, 0)) == REFUSED_NOT_ALLOWED
    assert (row.low, row.high, row.enabled) == before
    assert fdir.hk.disabled_mask == 0


def test_a_component_cannot_be_silenced(ground: Ground) -> None:
    detection = FDIR << 8 | 1  # fdir 'detection', HIGH
    assert ground.send(5, 6, bytes([1]) + struct.pack(">H", detection)) == DONE
    assert ground.send(3, 6, bytes([1]) + struct.pack(">H", FDIR)) == REFUSED_NOT_ALLOWED
    assert ground.send(5, 5, bytes([1]) + struct.pack(">H", detection)) == DONE
    assert ground.send(3, 6, bytes([1]) + struct.pack(">H", FDIR)) == DONE
    assert ground.send(5, 6, bytes([1]) + struct.pack(">H", detection)) == REFUSED_NOT_ALLOWED
    assert ground.send(3, 5, bytes([1]) + struct.pack(">H", FDIR)) == DONE


def test_disabled_monitors_are_reported(tmp_path: Path) -> None:
    """With two monitors on one quantity, one may be disabled (armed): HK mask and event."""
    cfg = node_config(
        {"fdir": {"monitors": [{"name": "soc_low2", "source": "PowerStatus.soc_frac",
                                "low": 0.25, "limit_min": 0.2, "limit_max": 1.0}]}}
    )  # fmt: skip
    node = build_node(tmp_path, cfg)
    try:
        node.run(15.0)
        g = Ground(node)
        fdir = node.apps["fdir"].manager
        idx = next(i for i, m in enumerate(fdir.monitors) if m.definition.name == "soc_low2")
        assert g.function(FDIR, 2, struct.pack(">BB", idx, 0)) == REFUSED_NOT_ARMED
        assert g.arm(FDIR, 2) == DONE
        assert g.function(FDIR, 2, struct.pack(">BB", idx, 0)) == DONE
        assert fdir.hk.disabled_mask == 1 << idx
        assert any("soc_low2 disabled" in r.message for r in node.executive.events.history())
        # The other soc monitor is now the last one: it cannot be disabled.
        soc = next(i for i, m in enumerate(fdir.monitors) if m.definition.name == "soc_floor")
        assert g.arm(FDIR, 2) == DONE
        assert g.function(FDIR, 2, struct.pack(">BB", soc, 0)) == REFUSED_NOT_ALLOWED
    finally:
        node.close()
