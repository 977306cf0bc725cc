"""Image verification and installation: every refusal is one line, with its rule, and
changes nothing; the write is read back (PROVES #503); arming comes last. Oracles: the
``cryptography`` library's own signing, hashlib, and the bytes on disk before and after."""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flight.boot import (
    MAX_TRIES,
    ImageError,
    InstallError,
    Refusal,
    SlotState,
    TrustPolicy,
    key_id,
    verify_image,
)
from hal.linux import FileStorage

spec = importlib.util.spec_from_file_location(
    "boot_helpers", Path(__file__).with_name("_helpers.py")
)
assert spec is not None and spec.loader is not None
H = importlib.util.module_from_spec(spec)
spec.loader.exec_module(H)

K1, K2, K3 = (Ed25519PrivateKey.generate() for _ in range(3))


def _manifest_span(img: bytes) -> tuple[int, int]:
    m_len, _ = struct.unpack_from(">II", img, 8)
    return 16, 16 + m_len


def _tamper_manifest(img: bytes) -> bytes:
    a, b = _manifest_span(img)
    m = img[a:b].replace(b'"version":2', b'"version":9')
    assert len(m) == b - a
    return img[:a] + m + img[b:]


def _tamper_signature(img: bytes) -> bytes:
    i = img.index(b'"sig":"') + 7
    c = b"0" if img[i : i + 1] != b"0" else b"1"
    return img[:i] + c + img[i + 1 :]


CASES = {
    "tampered file": (lambda: H.make_image(2, [K1])[:-5] + b"XXXXX", Refusal.TAMPERED_FILE),
    "tampered manifest": (lambda: _tamper_manifest(H.make_image(2, [K1])), Refusal.BAD_SIGNATURE),
    "tampered signature": (lambda: _tamper_signature(H.make_image(2, [K1])), Refusal.BAD_SIGNATURE),
    "unknown key": (lambda: H.make_image(2, [K3]), Refusal.UNKNOWN_KEY),
    "downgrade": (lambda: H.make_image(1, [K1]), Refusal.DOWNGRADE),
    "same version": (lambda: H.make_image(1, [K1], payload=b"x"), Refusal.DOWNGRADE),
    "wrong model": (lambda: H.make_image(2, [K1], models=("other",)), Refusal.WRONG_MODEL),
    "expired": (lambda: H.make_image(2, [K1], expires=H.NOW - 1), Refusal.EXPIRED),
    "truncated": (lambda: H.make_image(2, [K1])[:100], Refusal.MALFORMED),
    "not an image": (lambda: b"hello world, not an image at all", Refusal.MALFORMED),
    "extra bytes": (lambda: H.make_image(2, [K1]) + b"\0", Refusal.TAMPERED_FILE),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_refusal_changes_nothing(tmp_path: Path, case: str) -> None:
    store = H.make_store(tmp_path, [K1], factory=H.make_image(1, [K1]))
    before = H.snapshot(tmp_path)
    make, reason = CASES[case]
    with pytest.raises(ImageError) as err:
        store.install(make(), now_utc_s=H.NOW)
    assert err.value.reason is reason
    assert "\n" not in str(err.value) and str(err.value).startswith("image refused")
    assert H.snapshot(tmp_path) == before


def test_k_of_n_threshold(tmp_path: Path) -> None:
    store = H.make_store(tmp_path, [K1, K2], threshold=2, factory=H.make_image(1, [K1, K2]))
    before = H.snapshot(tmp_path)
    with pytest.raises(ImageError) as err:
        store.install(H.make_image(2, [K1, K3]), now_utc_s=H.NOW)  # one trusted, one unknown
    assert err.value.reason is Refusal.TOO_FEW_SIGNATURES
    assert H.snapshot(tmp_path) == before
    res = store.install(H.make_image(2, [K2, K3, K1]), now_utc_s=H.NOW)
    assert res.version == 2


def test_signatures_match_the_library(tmp_path: Path) -> None:
    """The signature is plain Ed25519 over the context tag and the manifest bytes."""
    img = H.make_image(3, [K1])
    a, b = _manifest_span(img)
    doc = json.loads(img[b : b + struct.unpack_from(">II", img, 8)[1]])
    sig = bytes.fromhex(doc["signatures"][0]["sig"])
    K1.public_key().verify(sig, b"satnode-image-manifest/1\x00" + img[a:b])  # raises if not
    image = verify_image(img, TrustPolicy({key_id(K1.public_key()): K1.public_key()}))
    assert image.signers == (key_id(K1.public_key()),)


def test_install_arms_last_and_writes_inactive_slot(tmp_path: Path) -> None:
    store = H.make_store(tmp_path, [K1], factory=H.make_image(1, [K1]))
    res = store.install(H.make_image(2, [K1]), now_utc_s=H.NOW)
    rec = store.load()
    assert (res.slot, rec.pending, rec.tries_left) == ("A", "A", MAX_TRIES)
    assert rec.slot("A").state is SlotState.INSTALLED and rec.active == "factory"
    # a second upgrade before the first was confirmed replaces it, never the active slot
    store.install(H.make_image(3, [K1]), now_utc_s=H.NOW)
    rec = store.load()
    assert rec.pending == "A" and rec.slot("A").version == 3


class CorruptingStorage(FileStorage):
    """Reports success but stores a flipped byte (PROVES #503)."""

    def write(self, name: str, data: bytes) -> None:
        bad = bytearray(data)
        bad[len(bad) // 2] ^= 0x40
        super().write(name, bytes(bad))


def test_write_error_is_caught_by_read_back(tmp_path: Path) -> None:
    store = H.make_store(tmp_path, [K1], factory=H.make_image(1, [K1]))
    store.slots = CorruptingStorage("slots", tmp_path / "slots")
    rec_before = store.load()
    with pytest.raises(InstallError, match="not armed"):
        store.install(H.make_image(2, [K1]), now_utc_s=H.NOW)
    rec = store.load()
    assert rec.pending is None and rec.slot("A").state is SlotState.EMPTY
    assert rec.active == rec_before.active
