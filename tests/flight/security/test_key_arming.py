"""Key changes are hazardous (issue 19): SDLS management bypasses PUS, so an OTAR, a key
activation or deactivation or an SA rekey runs only within the window that the armed PUS
command ``security.arm_key_change`` opens (TC[8,128] then TC[8,1]), one management frame per
arming. Oracles: the SA status and key store read back from the node's NV state, and the
failure codes of TM[150,2] as the extended-procedure table defines them."""

from __future__ import annotations

import secrets
import struct
from pathlib import Path

from flight.core import FailureCode
from flight.security import EP_SERVICE, EpFailure, KeyState, SaState
from flight.tmtc import pack_tc
from ground.uplink import (
    SecureUplink,
    key_activation_pdu,
    otar_pdu,
    sa_rekey_pdu,
    sa_start_pdu,
    sa_status_pdu,
    sa_stop_pdu,
)
from tests.flight.security._helpers import SecuredNode

ARM = struct.Struct(">BBH")
WINDOW_S = 60.0  #: TC[8,128]'s arming window, the key-change window too


def arm_key_change(n: SecuredNode, up: SecureUplink, seq: int) -> None:
    """Arm and send security.arm_key_change over the ordinary command SA."""
    fid = n.security.component_id << 8 | 1
    n.send(up.encode(pack_tc(n.apid, seq, 8, 128, 0xF, 0, ARM.pack(8, 1, fid))))
    n.send(up.encode(pack_tc(n.apid, seq + 1, 8, 1, 0xF, 0, struct.pack(">H", fid))))
    n.drain()
    assert {seq, seq + 1} <= set(n.completed())


def _failures(n: SecuredNode) -> list[int]:
    return [struct.unpack_from(">H", r.data, 1)[0] for r in n.reports(EP_SERVICE, 2)]


def _rekey_to_new_key(n: SecuredNode, up: SecureUplink) -> list[bytes]:
    key = secrets.token_bytes(32)
    pdus = otar_pdu(n.key_file, {7: key}) + key_activation_pdu([7])
    pdus += sa_stop_pdu(2) + sa_rekey_pdu(2, 7, 0) + sa_start_pdu(2) + sa_status_pdu(2)
    return up.management(pdus)


def test_unarmed_rekey_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    n = SecuredNode(tmp_path)
    try:
        up = SecureUplink(n.key_file, spi=2)
        sec = n.security
        before_sa = sec.state.sa_status(2)
        before_keys = sec.state.key_states()
        n.send(_rekey_to_new_key(n, up))
        n.drain()
        # every PDU of the frame refused NOT_ARMED; SA 2 and the key store untouched
        assert _failures(n) == [int(EpFailure.NOT_ARMED)] * 6
        assert sec.hk.ep_executed == 0 and sec.hk.ep_failed == 6
        assert sec.state.sa_status(2) == before_sa and sec.state.key_states() == before_keys
        assert 7 not in sec.state.key_states()
        # the TC[8,1] itself is hazardous: without TC[8,128] it is refused at acceptance
        fid = sec.component_id << 8 | 1
        n.send(up.encode(pack_tc(n.apid, 1, 8, 1, 0xF, 0, struct.pack(">H", fid))))
        n.drain()
        codes = [struct.unpack_from(">H", r.data, 4)[0] for r in n.reports(1, 2)]
        assert codes == [int(FailureCode.NOT_ARMED)] and sec.key_change_until_ns is None
        # read-only procedures need no arming
        n.send(up.management(sa_status_pdu(2)))
        n.drain()
        assert sec.hk.ep_executed == 1
    finally:
        n.close()


def test_armed_rekey_is_accepted_once(tmp_path: Path) -> None:
    n = SecuredNode(tmp_path)
    try:
        up = SecureUplink(n.key_file, spi=2)
        sec = n.security
        arm_key_change(n, up, 1)
        assert [e for e in n.node.events.history() if e.name == "key_change_armed"]
        n.send(_rekey_to_new_key(n, up))
        n.drain()
        assert sec.hk.ep_executed == 6 and not _failures(n)
        assert sec.state.sa_status(2) == (SaState.OPERATIONAL, 7, 0)
        assert sec.state.key_states()[7] is KeyState.ACTIVE
        # the arming was used up: a second key change is refused and changes nothing
        n.send(up.management(sa_stop_pdu(2) + sa_rekey_pdu(2, 1, 0)))
        n.drain()
        assert _failures(n) == [int(EpFailure.NOT_ARMED)] * 2
        assert sec.state.sa_status(2) == (SaState.OPERATIONAL, 7, 0)
    finally:
        n.close()


def test_key_change_window_expires(tmp_path: Path) -> None:
    n = SecuredNode(tmp_path)
    try:
        up = SecureUplink(n.key_file, spi=2)
        sec = n.security
        arm_key_change(n, up, 1)
        before = sec.state.sa_status(2)
        n.node.executive.run_for(round((WINDOW_S + 1.0) * 1e9))  # onboard time
        n.send(up.management(sa_stop_pdu(2) + sa_rekey_pdu(2, 1, 0)))
        n.drain()
        assert _failures(n) == [int(EpFailure.NOT_ARMED)] * 2
        assert sec.state.sa_status(2) == before
    finally:
        n.close()
