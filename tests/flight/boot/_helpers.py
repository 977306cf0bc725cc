"""Small signed images and targets for the boot tests (no wheel build needed)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flight.boot import (
    MANIFEST_SCHEMA,
    SIGNING_CONTEXT,
    BootRecord,
    BootStore,
    canonical_json,
    key_id,
    pack_image,
)
from hal.linux import FileStorage

MODEL = "test-fc"
NOW = 1_800_000_000.0


def make_image(
    version: int,
    keys: list[Ed25519PrivateKey],
    *,
    models: tuple[str, ...] = (MODEL,),
    expires: float = NOW + 86400.0,
    payload: bytes | None = None,
) -> bytes:
    """An image of two files (a stand-in wheel and a config), signed by ``keys``."""
    wheel = payload if payload is not None else bytes(range(256)) * (64 + version)
    config = f"[node]\nname = 'v{version}'\n".encode()
    files = [("w.whl", "wheel", wheel), ("config.toml", "config", config)]
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "version": version,
        "models": list(models),
        "expires_utc_s": expires,
        "runtime": {},
        "files": [
            {"name": n, "role": r, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
            for n, r, b in files
        ],
    }
    msg = SIGNING_CONTEXT + canonical_json(manifest)
    sigs = [{"keyid": key_id(k.public_key()), "sig": k.sign(msg).hex()} for k in keys]
    return pack_image(manifest, sigs, b"".join(b for _, _, b in files))


def make_store(
    tmp: Path, keys: list[Ed25519PrivateKey], threshold: int = 1, factory: bytes | None = None
) -> BootStore:
    """A boot store on file storage in ``tmp`` trusting ``keys``."""
    store = BootStore(
        FileStorage("nv", tmp / "nv"), FileStorage("slots", tmp / "slots"), model=MODEL
    )
    store.set_trust([k.public_key() for k in keys], threshold)
    store.save(BootRecord())
    if factory is not None:
        store.install_factory(factory)
    return store


def snapshot(tmp: Path) -> dict[str, bytes]:
    """Every file under ``tmp`` (what 'changes nothing' is checked against)."""
    return {str(p.relative_to(tmp)): p.read_bytes() for p in sorted(tmp.rglob("*")) if p.is_file()}
