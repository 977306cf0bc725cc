"""The ground side of the authenticated uplink: key files, frames signed with them, and the
key/SA management procedures.

- :func:`create_key_file` writes a development key set (``satnode-keys/1`` JSON, mode 0600):
  session keys 1-3 active and bound to the mission's SAs 1 (AES-256-GCM), 2 (AES-256-CMAC)
  and 3 (HMAC-SHA-256), spare keys 4-6 pre-active, and the management key 128 bound to the
  management SA 255. :func:`prepare_run_keys` and :func:`publish_run_keys` do it for a
  ``satnode sim`` run: the node provisions its empty NV key store from the staged file at
  first boot, and the ground copy goes to the output folder (``run.json`` names it in
  ``keys``).
- :class:`SecureUplink` turns a PUS TC packet into the TC frames that carry it (segmented,
  SDLS-protected under one SA, FECF), the :class:`ground.commander.Uplink` the Commander
  uses when ``run.json`` names a key file. Its anti-replay counters persist next to the key
  file (``<name>.counters.json``) so that successive ground sessions keep counting up.
- ``*_pdu`` functions build the SDLS extended-procedure PDUs (SA start/stop/rekey/status, key
  activation/deactivation/inventory, OTAR), sent with :meth:`SecureUplink.management`.

Keys are secrets: they are read from and written to the key file only, never printed.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import struct
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from flight.security import (
    KEY_FILE_SCHEMA,
    MANAGEMENT_KEY_ID,
    MANAGEMENT_SPI,
    MISSION_SAS,
    Procedure,
    load_key_file,
    pack_pdu,
)
from flight.tmtc import (
    GCM_IV_LEN,
    KEY_LEN,
    Algorithm,
    MacEngine,
    SaParams,
    max_payload,
    protect_frame,
    segment,
)
from ground.commander import Uplink
from native.errors import ConfigError, SatnodeError

__all__ = [
    "GROUND_KEY_FILE",
    "SecureUplink",
    "add_keys",
    "create_key_file",
    "key_activation_pdu",
    "key_deactivation_pdu",
    "key_inventory_pdu",
    "otar_pdu",
    "prepare_run_keys",
    "publish_run_keys",
    "sa_rekey_pdu",
    "sa_start_pdu",
    "sa_status_pdu",
    "sa_stop_pdu",
    "set_ground_binding",
]

#: File name of a run's ground key copy in its output folder (``run.json`` ``keys``).
GROUND_KEY_FILE: Final = "ground-keys.json"
_U16: Final = struct.Struct(">H")


def _write_private(path: Path, doc: Mapping[str, Any]) -> None:
    """Write JSON atomically, readable by the owner only (a key file is a secret)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def create_key_file(path: str | Path, scid: int) -> Path:
    """Write a fresh development key set for spacecraft ``scid`` to ``path`` (module
    docstring); keys from the operating system's CSPRNG. Returns the path."""
    if not 0 <= scid <= 0x3FF:
        raise ConfigError(f"scid {scid} outside 0..1023")
    keys = [
        {"id": kid, "state": "active" if kid <= 3 else "pre_active",
         "key": secrets.token_bytes(KEY_LEN).hex()}
        for kid in range(1, 7)
    ]  # fmt: skip
    keys.append(
        {"id": MANAGEMENT_KEY_ID, "state": "active", "key": secrets.token_bytes(KEY_LEN).hex()}
    )
    sas = [{"spi": sa.spi, "key_id": sa.spi, "state": "operational"} for sa in MISSION_SAS[:3]]
    sas.append({"spi": MANAGEMENT_SPI, "key_id": MANAGEMENT_KEY_ID, "state": "operational"})
    doc = {
        "schema": KEY_FILE_SCHEMA,
        "note": "development keys of one simulated run: never for a flight image",
        "scid": scid,
        "keys": keys,
        "sas": sas,
    }
    p = Path(path)
    _write_private(p, doc)
    return p


def prepare_run_keys(config: dict[str, Any]) -> tuple[dict[str, Any], Path | None]:
    """For ``satnode sim``, before the node is built: when the configuration has a
    ``[security]`` section with NV storage, stage the run's development key set (or a copy of
    the key file its ``provision`` names) in a private temporary folder, outside the output
    folder, which a refused run must leave untouched.

    Returns a copy of the configuration whose ``[security] provision`` points at the staged
    file (give it to the node; keep the original for the run's manifest and hash), and the
    staged file, or None when the run has no secured uplink. Publish it with
    :func:`publish_run_keys` once the output folder is opened; the staging folder is removed
    at exit in any case."""
    sec = config.get("security")
    if not isinstance(sec, dict) or not sec.get("storage", "nvm"):
        return config, None
    stage = Path(tempfile.mkdtemp(prefix="satnode-keys-"))  # mode 0700
    atexit.register(shutil.rmtree, stage, ignore_errors=True)
    staged = stage / GROUND_KEY_FILE
    given = sec.get("provision") or ""
    if given:
        load_key_file(given)  # checked before it is copied
        _write_private(staged, json.loads(Path(given).read_text(encoding="utf-8")))
    else:
        create_key_file(staged, int(sec.get("scid", 42)))
    out = dict(config)
    out["security"] = {**sec, "provision": str(staged)}
    return out, staged


def publish_run_keys(staged: Path | None, out_dir: str | Path) -> str | None:
    """Move the staged ground key file into the opened output folder (mode 0600, stale
    uplink counters removed); its name for ``run.json`` ``keys``, or None."""
    if staged is None:
        return None
    target = Path(out_dir) / GROUND_KEY_FILE
    _write_private(target, json.loads(staged.read_text(encoding="utf-8")))
    staged.unlink(missing_ok=True)
    _reset_counters(target)
    return GROUND_KEY_FILE


def _counters_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.stem + ".counters.json")


def _reset_counters(key_file: Path) -> None:
    _counters_path(key_file).unlink(missing_ok=True)


def _read_doc(key_file: Path) -> dict[str, Any]:
    load_key_file(key_file)  # validates (never echoes a key)
    doc: dict[str, Any] = json.loads(key_file.read_text(encoding="utf-8"))
    return doc


def add_keys(key_file: str | Path, keys: Mapping[int, bytes]) -> None:
    """Record new keys (pre-active) in the ground key file (after an OTAR)."""
    p = Path(key_file)
    doc = _read_doc(p)
    have = {e["id"] for e in doc["keys"]}
    for kid, material in keys.items():
        if kid in have:
            raise ConfigError(f"{p}: key {kid} already exists")
        doc["keys"].append({"id": kid, "state": "pre_active", "key": bytes(material).hex()})
    _write_private(p, doc)


def set_ground_binding(
    key_file: str | Path,
    *,
    key_states: Mapping[int, str] | None = None,
    sa: tuple[int, int, int] | None = None,
) -> None:
    """Mirror accepted management procedures in the ground key file: key states by id
    (``"active"``, ``"deactivated"``), and ``sa = (spi, key id, next counter)`` after a rekey.
    """
    p = Path(key_file)
    doc = _read_doc(p)
    for entry in doc["keys"]:
        if key_states and entry["id"] in key_states:
            entry["state"] = key_states[entry["id"]]
    if sa is not None:
        spi, kid, counter = sa
        for entry in doc["sas"]:
            if entry["spi"] == spi:
                entry["key_id"] = kid
        counters = _load_counters(p)
        counters[str(spi)] = counter
        _write_private(_counters_path(p), counters)
    _write_private(p, doc)


def _load_counters(key_file: Path) -> dict[str, int]:
    path = _counters_path(key_file)
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the uplink counters: {exc}") from None
    return {str(k): int(v) for k, v in doc.items()}


class SecureUplink(Uplink):
    """Signs and frames TCs with a ground key file (the Commander's authenticated uplink).

    ``spi``: the SA used for telecommands (1: AES-256-GCM; 2: CMAC; 3: HMAC). Counters
    start at 1 (the node's window starts at 0) or where the counters file left them.
    """

    def __init__(self, key_file: str | Path, spi: int = 1) -> None:
        self.key_file = Path(key_file)
        info = load_key_file(self.key_file)
        self.scid: int = info["scid"]
        self._keys = {kid: material for kid, _state, material in info["keys"]}
        self._bind = {spi_: kid for spi_, kid, _state in info["sas"]}
        self._params = {sa.spi: sa for sa in MISSION_SAS}
        if spi not in self._params or spi == MANAGEMENT_SPI:
            raise ConfigError(f"SA {spi} is not a telecommand SA of this mission")
        self.spi = spi
        self._counters = _load_counters(self.key_file)
        self._frame_seq = 0

    def __repr__(self) -> str:
        return f"SecureUplink({self.key_file.name}, spi={self.spi})"

    @classmethod
    def from_key_file(cls, path: Path) -> SecureUplink:
        """The Commander's ``secure_uplink`` factory (SA 1)."""
        return cls(path)

    def _engine(self, spi: int) -> tuple[SaParams, MacEngine]:
        params = self._params[spi]
        kid = self._bind.get(spi)
        if kid is None or kid not in self._keys:
            raise SatnodeError(f"{self.key_file}: SA {spi} has no key")
        return params, MacEngine(params.algorithm, self._keys[kid])

    def next_counter(self, spi: int) -> int:
        """The counter the next frame of SA ``spi`` will carry."""
        return self._counters.get(str(spi), 1)

    def _frames(self, spi: int, unit: bytes) -> list[bytes]:
        params, engine = self._engine(spi)
        out = []
        counter = self.next_counter(spi)
        for seg in segment(unit, max_payload(params)):
            if counter > params.counter_max:
                raise SatnodeError(f"SA {spi}: counter exhausted; re-key the SA")
            out.append(protect_frame(params, engine, self.scid, self._frame_seq, counter, seg))
            self._frame_seq = (self._frame_seq + 1) & 0xFF
            counter += 1
        self._counters[str(spi)] = counter
        _write_private(_counters_path(self.key_file), self._counters)
        return out

    def encode(self, packet: bytes) -> list[bytes]:
        """The frames, in sending order, that carry ``packet`` under this uplink's SA."""
        return self._frames(self.spi, bytes(packet))

    def management(self, pdus: bytes) -> list[bytes]:
        """Frames carrying extended-procedure PDUs under the management SA."""
        return self._frames(MANAGEMENT_SPI, bytes(pdus))


def sa_start_pdu(spi: int) -> bytes:
    """SA start (keyed -> operational)."""
    return pack_pdu(Procedure.SA_START, _U16.pack(spi))


def sa_stop_pdu(spi: int) -> bytes:
    """SA stop (operational -> keyed)."""
    return pack_pdu(Procedure.SA_STOP, _U16.pack(spi))


def sa_rekey_pdu(spi: int, key_id: int, counter: int = 0) -> bytes:
    """SA rekey: bind stopped SA ``spi`` to active key ``key_id``, counter restarted."""
    return pack_pdu(
        Procedure.SA_REKEY, struct.pack(">HH", spi, key_id) + counter.to_bytes(16, "big")
    )


def sa_status_pdu(spi: int) -> bytes:
    """SA status request (reply: SPI, state, key id, last counter)."""
    return pack_pdu(Procedure.SA_STATUS, _U16.pack(spi))


def key_activation_pdu(ids: Iterable[int]) -> bytes:
    """Key activation (pre-active -> active)."""
    return pack_pdu(Procedure.KEY_ACTIVATION, b"".join(_U16.pack(k) for k in ids))


def key_deactivation_pdu(ids: Iterable[int]) -> bytes:
    """Key deactivation (active -> deactivated)."""
    return pack_pdu(Procedure.KEY_DEACTIVATION, b"".join(_U16.pack(k) for k in ids))


def key_inventory_pdu(first: int = 1, last: int = 0xFFFF) -> bytes:
    """Key inventory of ids ``first..last`` (reply: ids and states, never keys)."""
    return pack_pdu(Procedure.KEY_INVENTORY, struct.pack(">HH", first, last))


def otar_pdu(key_file: str | Path, keys: Mapping[int, bytes]) -> bytes:
    """Over-the-air rekeying: ``keys`` wrapped with AES-256-GCM under the management key of
    ``key_file`` (random IV with its top bit set, so it never meets a frame IV)."""
    info = load_key_file(key_file)
    master = {kid: m for kid, _s, m in info["keys"]}.get(MANAGEMENT_KEY_ID)
    if master is None:
        raise ConfigError(f"{key_file}: no management key")
    iv = bytearray(secrets.token_bytes(GCM_IV_LEN))
    iv[0] |= 0x80
    head = _U16.pack(MANAGEMENT_KEY_ID)
    plain = b"".join(_U16.pack(kid) + bytes(m) for kid, m in keys.items())
    body, tag = MacEngine(Algorithm.AES_256_GCM, master).seal(bytes(iv), head, plain)
    return pack_pdu(Procedure.OTAR, head + bytes(iv) + body + tag)
