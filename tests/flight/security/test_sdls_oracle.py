"""SDLS against an independent oracle: frames built from the standards in the tests (stdlib
``hmac`` for HMAC-SHA-256; AES-CMAC written over cryptography's raw AES block cipher and
checked against NIST SP 800-38B; GCM through cryptography's streaming Cipher API and checked
against the GCM specification's test cases) are accepted by the node, and the node's frames
verify under the oracle. Then the anti-replay window edges."""

from __future__ import annotations

import hmac
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from flight.security import MISSION_SAS
from flight.tmtc import (
    Algorithm,
    MacEngine,
    ReplayWindow,
    SecurityReason,
    WireError,
    pack_tc,
    protect_frame,
    segment,
    verify_frame,
)
from tests.flight.security._helpers import SecuredNode, aes_cmac, keys_of, oracle_frame

_NIST_KEY = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")


def test_oracle_cmac_matches_nist_sp800_38b() -> None:
    # NIST SP 800-38B appendix D.3, AES-256, examples 5 and 6.
    assert aes_cmac(_NIST_KEY, b"").hex() == "028962f61b7bf89efc6b551f4667d983"
    msg = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
    assert aes_cmac(_NIST_KEY, msg).hex() == "28a7023f452e8f82bd4bf28d8c37c35c"


def test_oracle_gcm_matches_the_gcm_specification() -> None:
    # McGrew & Viega, GCM specification, test cases 13 and 14 (AES-256, zero key and IV).
    enc = Cipher(algorithms.AES(bytes(32)), modes.GCM(bytes(12))).encryptor()
    enc.finalize()
    assert enc.tag.hex() == "530f8afbc74536b9a963b4f1c4cb738b"
    enc = Cipher(algorithms.AES(bytes(32)), modes.GCM(bytes(12))).encryptor()
    ct = enc.update(bytes(16)) + enc.finalize()
    assert ct.hex() == "cea7403d4d606b6e074ec5d3baf39d18"
    assert enc.tag.hex() == "d0d1c8a799996bf0265b98b5d48ab919"


@pytest.mark.parametrize("sa", MISSION_SAS[:3], ids=lambda s: str(s.algorithm))
def test_node_frames_equal_oracle_frames(sa: object) -> None:
    key = bytes(range(32))
    user = pack_tc(100, 7, 17, 1, 0xF, 0, b"")
    (seg,) = segment(user, 900)
    ours = protect_frame(sa, MacEngine(sa.algorithm, key), 42, 9, 5, seg)  # type: ignore[attr-defined]
    theirs = oracle_frame(str(sa.algorithm), key, scid=42, vcid=sa.vcid, spi=sa.spi,  # type: ignore[attr-defined]
                          counter=5, seq=9, user_data=user)  # fmt: skip
    assert ours == theirs


@pytest.mark.parametrize("spi", [1, 2, 3])
def test_oracle_frames_execute_on_the_node(tmp_path: Path, spi: int) -> None:
    n = SecuredNode(tmp_path)
    try:
        sa = next(s for s in MISSION_SAS if s.spi == spi)
        key = keys_of(n.key_file)[spi]
        frames = [
            oracle_frame(str(sa.algorithm), key, scid=42, vcid=0, spi=spi, counter=c, seq=c,
                         user_data=pack_tc(n.apid, 100 + c, 17, 1, 0xF, 0, b""))
            for c in (1, 2, 3)
        ]  # fmt: skip
        # one MAC octet wrong: refused
        bad = bytearray(frames[2])
        bad[-3] ^= 1
        from tests.flight.security._helpers import crc16_ccitt

        bad[-2:] = crc16_ccitt(bytes(bad[:-2])).to_bytes(2, "big")
        n.send([frames[0], frames[1], bytes(bad), frames[2]])
        n.drain()
        assert n.completed() == [101, 102, 103]
        assert n.security.hk.rej_mac == 1
    finally:
        n.close()


def test_the_node_mac_verifies_under_the_oracle() -> None:
    key = bytes(range(1, 33))
    sa = MISSION_SAS[2]  # HMAC-SHA-256
    user = b"\x18\x64\xc0\x01\x00\x06\x2f\x11\x01\x00\x00\xab\xcd"
    (seg,) = segment(user, 900)
    frame = protect_frame(sa, MacEngine(sa.algorithm, key), 42, 3, 77, seg)
    region = frame[:4] + b"\x00" + frame[5:-18]
    assert hmac.compare_digest(frame[-18:-2], hmac.new(key, region, "sha256").digest()[:16])
    sa2 = MISSION_SAS[1]  # CMAC
    frame2 = protect_frame(sa2, MacEngine(sa2.algorithm, key), 42, 3, 77, seg)
    assert frame2[-18:-2] == aes_cmac(key, frame2[:4] + b"\x00" + frame2[5:-18])


class _One:
    def __init__(self, sa: object, engine: MacEngine, window: ReplayWindow) -> None:
        self.entry = (sa, engine, window)

    def lookup(self, spi: int) -> object:
        return self.entry


def test_window_edges_replay_and_rollover() -> None:
    sa = MISSION_SAS[1]
    engine = MacEngine(Algorithm.AES_256_CMAC, bytes(32))
    window = ReplayWindow(20, 10, sa.counter_max)
    sas = _One(sa, engine, window)
    (seg,) = segment(b"x" * 9, 900)

    def frame(c: int) -> bytes:
        return protect_frame(sa, engine, 42, 0, c, seg)

    for counter, reason in ((20, SecurityReason.REPLAY), (19, SecurityReason.REPLAY),
                            (31, SecurityReason.OUTSIDE_WINDOW)):  # fmt: skip
        with pytest.raises(WireError) as err:
            verify_frame(frame(counter), 42, sas)  # type: ignore[arg-type]
        assert err.value.reason == reason
    for counter in (21, 30):  # both edges of (last, last + W]
        assert verify_frame(frame(counter), 42, sas).counter == counter  # type: ignore[arg-type]
    window.accept(30)
    with pytest.raises(WireError) as err:  # the exact replay of the last accepted frame
        verify_frame(frame(30), 42, sas)  # type: ignore[arg-type]
    assert err.value.reason == SecurityReason.REPLAY
    # rollover: at the largest counter every frame is refused; the counter never wraps
    window.last = sa.counter_max - 1
    window.accept(sa.counter_max)
    with pytest.raises(WireError) as err:
        verify_frame(frame(0), 42, sas)  # type: ignore[arg-type]
    assert err.value.reason == SecurityReason.ROLLOVER
    with pytest.raises(ValueError):
        protect_frame(sa, engine, 42, 0, sa.counter_max + 1, seg)
