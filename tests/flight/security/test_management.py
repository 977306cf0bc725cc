"""SA and key management (SDLS extended procedures) under the management key, and a search
of every output of a run for key bytes."""

from __future__ import annotations

import json
import secrets
import struct
from pathlib import Path

from flight.security import EP_SERVICE, SaState
from flight.tmtc import pack_tc
from ground.uplink import (
    SecureUplink,
    add_keys,
    key_activation_pdu,
    key_deactivation_pdu,
    key_inventory_pdu,
    otar_pdu,
    sa_rekey_pdu,
    sa_start_pdu,
    sa_status_pdu,
    sa_stop_pdu,
    set_ground_binding,
)
from tests.flight.security._helpers import SecuredNode, keys_of
from tests.flight.security.test_key_arming import arm_key_change


def test_stop_rekey_start_and_secrets_never_leave(tmp_path: Path) -> None:
    n = SecuredNode(tmp_path)
    try:
        up = SecureUplink(n.key_file, spi=2)
        # management PDUs in an ordinary command SA are refused as commands (not PUS)
        n.send(up.encode(sa_stop_pdu(2)))
        n.drain()
        assert n.security.state.sa_status(2)[0] is SaState.OPERATIONAL
        # OTAR a new key, activate it, stop SA 2, rekey it, start it
        new_key = secrets.token_bytes(32)
        pdus = otar_pdu(n.key_file, {7: new_key}) + key_activation_pdu([7])
        pdus += sa_stop_pdu(2) + sa_rekey_pdu(2, 7, 0) + sa_start_pdu(2) + sa_status_pdu(2)
        pdus += key_inventory_pdu()
        arm_key_change(n, up, 10)  # key changes are hazardous (issue 19)
        n.send(up.management(pdus))
        n.drain()
        assert n.security.hk.ep_executed == 7, n.reports(5, 3)
        state, kid, last = n.security.state.sa_status(2)
        assert (state, kid, last) == (SaState.OPERATIONAL, 7, 0)
        status = n.reports(EP_SERVICE, 1)[5].data
        spi, sa_state, key_id = struct.unpack_from(">HBH", status, 3)  # after tag and length
        assert (spi, sa_state, key_id) == (2, int(SaState.OPERATIONAL), 7)
        # the ground mirrors it; the old key's frames are now refused, the new key's accepted
        add_keys(n.key_file, {7: new_key})
        set_ground_binding(n.key_file, key_states={7: "active"}, sa=(2, 7, 1))
        old = up.encode(pack_tc(n.apid, 1, 17, 1, 0xF, 0, b""))
        fresh = SecureUplink(n.key_file, spi=2)
        n.send(old + fresh.encode(pack_tc(n.apid, 2, 17, 1, 0xF, 0, b"")))
        n.drain()
        assert [seq for seq in n.completed() if seq < 10] == [2]  # 10, 11: the arming
        # refusals: deactivating the key an operational SA uses, stopping the management SA
        arm_key_change(n, fresh, 20)
        n.send(up.management(key_deactivation_pdu([7]) + sa_stop_pdu(255)))
        n.drain()
        assert len(n.reports(EP_SERVICE, 2)) == 2
        codes = [struct.unpack_from(">H", r.data, 1)[0] for r in n.reports(EP_SERVICE, 2)]
        assert codes == [2, 2]  # EpFailure.REFUSED: judged on their merits, being armed
        # -- every output searched for every key, raw and hex --------------------------
        summary = n.node.summary()
        n.node.archive.close()
        outputs = [b"".join(n.tm), (tmp_path / "out" / "tm.bin").read_bytes(),
                   json.dumps(summary, default=str).encode(),
                   json.dumps(n.node.apps["security"].summary()).encode(),
                   repr(n.security.state).encode(), repr(n.security.__dict__).encode(),
                   " ".join(r.message for r in n.node.events.history()).encode()]  # fmt: skip
        for path in (tmp_path / "out").iterdir():
            if path.is_file() and path.name != "tm.bin":
                outputs.append(path.read_bytes())
        secrets_ = list(keys_of(n.key_file).values())
        assert len(secrets_) == 8
        for key in secrets_:
            for needle in (key, key.hex().encode(), key.hex().upper().encode()):
                for blob in outputs:
                    assert needle not in blob
    finally:
        n.close()


def test_dictionary_exports_the_security_associations(tmp_path: Path) -> None:
    from ground.dictionary import build_dictionary

    n = SecuredNode(tmp_path)
    try:
        d = build_dictionary(n.node.executive, n.node.tmtc)
        sec = d["security"]
        assert sec["scid"] == 42 and sec["window"] == 10 and sec["required"] is True
        by_spi = {sa["spi"]: sa for sa in sec["security_associations"]}
        assert by_spi[1]["algorithm"] == "aes-256-gcm" and by_spi[1]["iv_octets"] == 12
        assert by_spi[2]["arsn_octets"] == 4 and by_spi[3]["mac_octets"] == 16
        assert by_spi[1]["header_mask"] == "ffffffff00"
        assert "key" not in json.dumps(sec).replace("key_octets", "")
    finally:
        n.close()
