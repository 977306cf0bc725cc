"""A target: the flight computer's storage layout, described by ``target.json``.

A target directory (a real flight computer's mount points are set the same way) holds::

    target.json     model, and the HAL storage devices: "nv" (boot record, parameters,
                    key store, trusted public keys) and "slots" (images of A, B, factory)
    nv/  slots/     (default directories, relative to the target)
    data/           the flight stack's output folder (parameters, tm.bin, summary.json)
    run/            the booted slot, unpacked (volatile: rebuilt at every boot)

The storages are opened by name through :mod:`hal.registry` (``linux`` by default), never
by importing a backend.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from flight.boot._record import BootRecord
from flight.boot._store import BootStore
from native.errors import ConfigError

__all__ = [
    "RUNTIME_DISTS",
    "TARGET_FILE",
    "TARGET_SCHEMA",
    "Target",
    "default_target_doc",
    "open_target",
    "runtime_fingerprint",
]

TARGET_FILE: Final = "target.json"
TARGET_SCHEMA: Final = "satnode-target/1"
#: The runtime dependencies a flight image expects (those installed are fingerprinted).
RUNTIME_DISTS: Final = (
    "numpy",
    "numba",
    "llvmlite",
    "cffi",
    "crcmod",
    "cryptography",
    "sgp4",
    "msgpack",
    "cfdp-py",
    "spacepackets",
)


def runtime_fingerprint(dists: tuple[str, ...] = RUNTIME_DISTS) -> dict[str, dict[str, str]]:
    """``{dist: {"version", "record_sha256"}}`` of the installed runtime dependencies (the
    sha256 of a distribution's RECORD, which lists the hash of every file it installed)."""
    out: dict[str, dict[str, str]] = {}
    for name in dists:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        record = dist.read_text("RECORD") or ""
        out[name] = {
            "version": dist.version,
            "record_sha256": hashlib.sha256(record.encode()).hexdigest(),
        }
    return out


def default_target_doc(model: str) -> dict[str, Any]:
    """The ``target.json`` of a self-contained target directory (``satnode target init``)."""
    return {
        "schema": TARGET_SCHEMA,
        "model": model,
        "hal": {
            "backend": "linux",
            "root": ".",
            "devices": {
                "nv": {"family": "storage", "directory": "nv"},
                "slots": {"family": "storage", "directory": "slots"},
            },
        },
        "data": "data",
        "run": "run",
    }


@dataclass
class Target:
    """An opened target: its paths, description and boot store."""

    root: Path
    doc: dict[str, Any]
    store: BootStore
    backend: Any

    @property
    def model(self) -> str:
        """The target's model name."""
        return str(self.doc["model"])

    @property
    def data_dir(self) -> Path:
        """The flight stack's output folder."""
        return self.root / str(self.doc.get("data", "data"))

    @property
    def run_dir(self) -> Path:
        """Where the booted slot is unpacked."""
        return self.root / str(self.doc.get("run", "run"))

    @property
    def nv_dir(self) -> Path | None:
        """The NV storage directory when the backend stores blobs as files (else None)."""
        d = getattr(self.store.nv, "directory", None)
        return Path(d) if d is not None else None

    def record(self) -> BootRecord:
        """The boot record."""
        return self.store.load()

    def close(self) -> None:
        """Release the storage backend."""
        self.backend.close()


def open_target(root: str | Path, *, fs: Any = None, check_runtime: bool = True) -> Target:
    """Open the target at ``root`` (ConfigError if ``target.json`` is missing or bad).
    ``fs``: file primitives passed to the storage backend (power-loss campaigns)."""
    from hal.platform import Storage
    from hal.registry import get_device, open_from_config

    base = Path(root)
    path = base / TARGET_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{base}: not a target (no {TARGET_FILE}; run 'satnode target init')"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != TARGET_SCHEMA or "model" not in doc:
        raise ConfigError(f"{path}: not a {TARGET_SCHEMA} document")
    hal = dict(doc.get("hal", {}))
    if hal.get("backend") == "linux":
        hal["root"] = str((base / str(hal.get("root", "."))).resolve())
        if fs is not None:
            hal["fs"] = fs
    backend = open_from_config(hal)
    try:
        nv = get_device(backend, "nv", Storage)
        slots = get_device(backend, "slots", Storage)
    except BaseException:
        backend.close()
        raise
    runtime = runtime_fingerprint() if check_runtime else None
    store = BootStore(nv, slots, model=str(doc["model"]), runtime=runtime)
    return Target(base, doc, store, backend)
