"""The onboard key store and security-association table, persisted in HAL NV storage.

Keys (CCSDS 355.1 key management) have an id (u16) and a state: ``pre_active`` (loaded, not
yet usable), ``active`` (usable by an SA), ``deactivated`` (never usable again). Security
associations (355.1 SA management) are the mission's fixed table (:data:`MISSION_SAS`: SPI,
virtual channel, algorithm) plus, onboard, their state (``unkeyed``, ``keyed``,
``operational``), the key bound to them and their anti-replay counter.

Persistence: the whole state (keys, SA states, counters) is one record written alternately to
two NV blobs (``sdls-state-0``/``-1``) with a generation number and a CRC-32C. Loading takes
the valid record with the highest generation, so a write torn by a power cut leaves the
previous record in force. A counter is written (:meth:`SecurityState.save`) before the
command it authenticated runs: after any reset, the window starts at or above the last
executed frame.

Key material is never part of a repr, an event, telemetry or the summary; the record format
is only read and written here.
"""

from __future__ import annotations

import enum
import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from flight.tmtc import (
    DEFAULT_WINDOW,
    KEY_LEN,
    Algorithm,
    MacEngine,
    ReplayWindow,
    SaParams,
)
from hal.platform import Storage
from native import crc32c
from native.errors import ConfigError, HalError

__all__ = [
    "KEY_FILE_SCHEMA",
    "MANAGEMENT_KEY_ID",
    "MANAGEMENT_SPI",
    "MISSION_SAS",
    "STATE_BLOBS",
    "KeyState",
    "SaState",
    "SecurityState",
    "StateError",
    "load_key_file",
]

#: Schema tag of a key file (the ground copy of the keys, and the provisioning file).
KEY_FILE_SCHEMA: Final = "satnode-keys/1"
#: SPI of the management SA (SDLS extended procedures; VC 1, AES-256-GCM).
MANAGEMENT_SPI: Final = 255
#: Key id of the management (master) key that protects the management SA and OTAR.
MANAGEMENT_KEY_ID: Final = 128
#: The two NV blobs that hold the state record alternately.
STATE_BLOBS: Final = ("sdls-state-0", "sdls-state-1")

#: The mission's security associations (part of the ground interface: ``satnode dict``).
MISSION_SAS: Final[tuple[SaParams, ...]] = (
    SaParams(1, 0, Algorithm.AES_256_GCM),
    SaParams(2, 0, Algorithm.AES_256_CMAC),
    SaParams(3, 0, Algorithm.HMAC_SHA_256),
    SaParams(MANAGEMENT_SPI, 1, Algorithm.AES_256_GCM),
)

_MAGIC: Final = b"SNSD"
_VERSION: Final = 1
_HEAD: Final = struct.Struct(">4sBQHH")  # magic, version, generation, n keys, n SAs
_KEY: Final = struct.Struct(f">HB{KEY_LEN}s")
_SA: Final = struct.Struct(">HBH16sH")  # spi, state, key id, counter, window
_CRC: Final = struct.Struct(">I")


class StateError(HalError):
    """The security state could not be persisted (the frame that needed it is refused)."""


@enum.unique
class KeyState(enum.IntEnum):
    """State of one key (CCSDS 355.1 3.3)."""

    PRE_ACTIVE = 1
    ACTIVE = 2
    DEACTIVATED = 3


@enum.unique
class SaState(enum.IntEnum):
    """State of one security association (CCSDS 355.1 3.4)."""

    UNKEYED = 1
    KEYED = 2
    OPERATIONAL = 3


@dataclass(slots=True)
class _Sa:
    params: SaParams
    state: SaState = SaState.UNKEYED
    key_id: int = 0
    window: ReplayWindow = field(default_factory=lambda: ReplayWindow(0, DEFAULT_WINDOW, 1))
    engine: MacEngine | None = None


def _parse_key_entry(entry: Any, where: str) -> tuple[int, KeyState, bytes]:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: each key is a table with id, state and key")
    kid, state, hexkey = entry.get("id"), entry.get("state", "active"), entry.get("key")
    if not isinstance(kid, int) or isinstance(kid, bool) or not 1 <= kid <= 0xFFFF:
        raise ConfigError(f"{where}: key id must be an integer in 1..65535")
    try:
        kstate = KeyState[str(state).upper()]
    except KeyError:
        raise ConfigError(f"{where}: key {kid}: unknown state {state!r}") from None
    try:
        material = bytes.fromhex(str(hexkey))
    except ValueError:
        raise ConfigError(f"{where}: key {kid}: not hexadecimal") from None
    if len(material) != KEY_LEN:
        raise ConfigError(f"{where}: key {kid}: {len(material)} octets, expected {KEY_LEN}")
    return kid, kstate, material


def load_key_file(path: str | Path) -> dict[str, Any]:
    """Read and check a key file (``satnode-keys/1`` JSON): ``{"scid", "keys": [(id, state,
    key octets)], "sas": [(spi, key id, state)]}``. ConfigError names the problem, never a
    key's value."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the key file: {type(exc).__name__}") from None
    if not isinstance(doc, dict) or doc.get("schema") != KEY_FILE_SCHEMA:
        raise ConfigError(f"{p}: not a {KEY_FILE_SCHEMA} key file")
    scid = doc.get("scid")
    if not isinstance(scid, int) or not 0 <= scid <= 0x3FF:
        raise ConfigError(f"{p}: scid must be an integer in 0..1023")
    keys = [_parse_key_entry(e, str(p)) for e in doc.get("keys", [])]
    if len({k[0] for k in keys}) != len(keys):
        raise ConfigError(f"{p}: duplicate key ids")
    known = {sa.spi for sa in MISSION_SAS}
    sas = []
    for e in doc.get("sas", []):
        if not isinstance(e, Mapping):
            raise ConfigError(f"{p}: each SA is a table with spi, key_id and state")
        spi, kid, state = e.get("spi"), e.get("key_id"), e.get("state", "operational")
        if spi not in known:
            raise ConfigError(f"{p}: SA {spi!r} is not one of the mission's SAs {sorted(known)}")
        if not isinstance(kid, int) or kid not in {k[0] for k in keys}:
            raise ConfigError(f"{p}: SA {spi}: key {kid!r} is not in the file")
        try:
            sstate = SaState[str(state).upper()]
        except KeyError:
            raise ConfigError(f"{p}: SA {spi}: unknown state {state!r}") from None
        sas.append((int(spi), kid, sstate))
    return {"scid": scid, "keys": keys, "sas": sas, "counters": doc.get("counters", {})}


class SecurityState:
    """Keys, SA states and anti-replay counters of the node, persisted in ``storage``.

    Build it with :meth:`open` (load from NV, or provision, or start empty). ``window`` is the
    anti-replay window of every SA. Every mutation is made on a copy and persisted before it
    takes effect (:meth:`commit`); :class:`StateError` means it did not take effect.
    """

    def __init__(self, storage: Storage, window: int = DEFAULT_WINDOW) -> None:
        self.storage = storage
        self.window = window
        self.generation = 0
        self._keys: dict[int, tuple[KeyState, bytes]] = {}
        self.sas: dict[int, _Sa] = {p.spi: self._fresh_sa(p, 0) for p in MISSION_SAS}
        #: what :meth:`open` did: "loaded", "provisioned", "empty"
        self.origin = "empty"
        #: NV slots that failed their CRC at load (torn or corrupted writes)
        self.bad_slots = 0

    def _fresh_sa(self, params: SaParams, last: int) -> _Sa:
        return _Sa(params, window=ReplayWindow(last, self.window, params.counter_max))

    def __repr__(self) -> str:
        return f"SecurityState(generation={self.generation}, keys={len(self._keys)}, <hidden>)"

    # -- queries (never key material) ------------------------------------------------------
    def key_states(self) -> dict[int, KeyState]:
        """Every key id with its state."""
        return {kid: st for kid, (st, _) in sorted(self._keys.items())}

    def sa_status(self, spi: int) -> tuple[SaState, int, int]:
        """``(state, key id, last counter)`` of SA ``spi`` (KeyError if unknown)."""
        sa = self.sas[spi]
        return sa.state, sa.key_id, sa.window.last

    def engine_for(self, spi: int) -> MacEngine | None:
        """The keyed engine of an operational SA whose key is active, else None."""
        sa = self.sas[spi]
        if sa.state is not SaState.OPERATIONAL or sa.engine is None:
            return None
        if self._keys.get(sa.key_id, (KeyState.DEACTIVATED, b""))[0] is not KeyState.ACTIVE:
            return None
        return sa.engine

    def management_engine(self) -> MacEngine | None:
        """AES-256-GCM keyed with the management key (OTAR unwrapping), if it is active."""
        entry = self._keys.get(MANAGEMENT_KEY_ID)
        if entry is None or entry[0] is not KeyState.ACTIVE:
            return None
        return MacEngine(Algorithm.AES_256_GCM, entry[1])

    # -- persistence ------------------------------------------------------------------------
    def _record(self, generation: int) -> bytes:
        body = bytearray(_HEAD.pack(_MAGIC, _VERSION, generation, len(self._keys), len(self.sas)))
        for kid, (st, material) in sorted(self._keys.items()):
            body += _KEY.pack(kid, int(st), material)
        for spi, sa in sorted(self.sas.items()):
            body += _SA.pack(
                spi, int(sa.state), sa.key_id, sa.window.last.to_bytes(16, "big"), self.window
            )
        return bytes(body) + _CRC.pack(crc32c(bytes(body)))

    def _parse(self, blob: bytes) -> int | None:
        """Load ``blob`` if it is a valid record; its generation, or None."""
        if len(blob) < _HEAD.size + _CRC.size or crc32c(blob[:-4]) != _CRC.unpack(blob[-4:])[0]:
            return None
        magic, version, generation, nkeys, nsas = _HEAD.unpack_from(blob)
        if magic != _MAGIC or version != _VERSION:
            return None
        if len(blob) != _HEAD.size + nkeys * _KEY.size + nsas * _SA.size + _CRC.size:
            return None
        keys: dict[int, tuple[KeyState, bytes]] = {}
        offset = _HEAD.size
        try:
            for _ in range(nkeys):
                kid, st, material = _KEY.unpack_from(blob, offset)
                keys[kid] = (KeyState(st), material)
                offset += _KEY.size
            sas = {p.spi: self._fresh_sa(p, 0) for p in MISSION_SAS}
            for _ in range(nsas):
                spi, st, kid, counter, _window = _SA.unpack_from(blob, offset)
                offset += _SA.size
                if spi in sas:
                    sa = sas[spi]
                    last = min(int.from_bytes(counter, "big"), sa.params.counter_max)
                    sa.window = ReplayWindow(last, self.window, sa.params.counter_max)
                    sa.state = SaState(st)
                    sa.key_id = kid
        except ValueError:
            return None
        self._keys = keys
        self.sas = sas
        self._rekey_engines()
        return int(generation)

    def _rekey_engines(self) -> None:
        for sa in self.sas.values():
            entry = self._keys.get(sa.key_id)
            sa.engine = (
                MacEngine(sa.params.algorithm, entry[1])
                if entry is not None and sa.state is not SaState.UNKEYED
                else None
            )

    def load(self) -> bool:
        """Load the newest valid record from NV; False when there is none."""
        best: tuple[int, bytes] | None = None
        self.bad_slots = 0
        names = set(self.storage.list())
        for name in STATE_BLOBS:
            if name not in names:
                continue
            try:
                blob = self.storage.read(name)
            except (HalError, OSError):
                self.bad_slots += 1
                continue
            probe = SecurityState(self.storage, self.window)
            gen = probe._parse(blob)
            if gen is None:
                self.bad_slots += 1
            elif best is None or gen > best[0]:
                best = (gen, blob)
        if best is None:
            return False
        self._parse(best[1])
        self.generation = best[0]
        return True

    def save(self) -> None:
        """Persist the current state as the next generation (StateError if NV refuses)."""
        generation = self.generation + 1
        record = self._record(generation)
        try:
            self.storage.write(STATE_BLOBS[generation % 2], record)
        except Exception as exc:  # any NV failure (device error, power loss) refuses
            raise StateError(f"security state not persisted: {type(exc).__name__}") from None
        self.generation = generation

    def provision(self, key_file: dict[str, Any]) -> None:
        """Install keys and SA bindings from a loaded key file (first boot), then persist."""
        self._keys = {kid: (st, material) for kid, st, material in key_file["keys"]}
        for sa in self.sas.values():
            sa.state, sa.key_id = SaState.UNKEYED, 0
            sa.window = ReplayWindow(0, self.window, sa.params.counter_max)
        for spi, kid, st in key_file["sas"]:
            self.sas[spi].state, self.sas[spi].key_id = st, kid
        self._rekey_engines()
        self.save()
        self.origin = "provisioned"

    @classmethod
    def open(
        cls, storage: Storage, window: int = DEFAULT_WINDOW, provision: str | Path | None = None
    ) -> SecurityState:
        """Load the state from NV; at first boot (nothing valid in NV) provision it from the
        key file ``provision`` when given; else start with no keys (every SA unkeyed)."""
        state = cls(storage, window)
        if state.load():
            state.origin = "loaded"
        elif provision:
            state.provision(load_key_file(provision))
        return state

    # -- management (each change persisted before it takes effect) -------------------------
    def _commit(self, apply: Any) -> None:
        """Apply ``apply(self)`` and persist; on a persistence failure restore the record."""
        backup = self._record(self.generation)
        apply(self)
        try:
            self.save()
        except StateError:
            self._parse(backup)
            raise

    def advance(self, updates: Mapping[int, int]) -> None:
        """Persist new last-accepted counters ``{spi: counter}``, then advance the windows.
        StateError: nothing advanced (the frames must not be acted on)."""

        def apply(s: SecurityState) -> None:
            for spi, n in updates.items():
                s.sas[spi].window.last = n

        self._commit(apply)

    def add_keys(self, keys: Iterable[tuple[int, bytes]]) -> None:
        """OTAR: store new keys as pre-active (an existing id is refused: ValueError)."""
        new = list(keys)
        for kid, material in new:
            if kid in self._keys:
                raise ValueError(f"key {kid} already exists")
            if len(material) != KEY_LEN or not 1 <= kid <= 0xFFFF:
                raise ValueError(f"key {kid}: bad id or length")

        def apply(s: SecurityState) -> None:
            for kid, material in new:
                s._keys[kid] = (KeyState.PRE_ACTIVE, bytes(material))

        self._commit(apply)

    def set_key_state(self, kid: int, new: KeyState) -> None:
        """Activate (pre-active -> active) or deactivate (-> deactivated) a key.

        ValueError for an unknown key, a transition 355.1 does not allow, deactivating a key
        an operational SA uses, or deactivating the management key."""
        if kid not in self._keys:
            raise ValueError(f"no key {kid}")
        old = self._keys[kid][0]
        allowed = {KeyState.ACTIVE: KeyState.PRE_ACTIVE, KeyState.DEACTIVATED: KeyState.ACTIVE}
        if new not in allowed or allowed[new] is not old:
            raise ValueError(f"key {kid}: {old.name.lower()} -> {new.name.lower()} not allowed")
        if new is KeyState.DEACTIVATED:
            if kid == MANAGEMENT_KEY_ID:
                raise ValueError("the management key cannot be deactivated by command")
            users = [s for s, sa in self.sas.items() if sa.key_id == kid and sa.state is
                     SaState.OPERATIONAL]  # fmt: skip
            if users:
                raise ValueError(f"key {kid} is in use by operational SA(s) {users}")

        def apply(s: SecurityState) -> None:
            s._keys[kid] = (new, s._keys[kid][1])

        self._commit(apply)

    def start_sa(self, spi: int) -> None:
        """Keyed -> operational (its key must be active). ValueError otherwise."""
        sa = self._sa(spi)
        if sa.state is not SaState.KEYED:
            raise ValueError(f"SA {spi} is {sa.state.name.lower()}, not keyed")
        if self._keys.get(sa.key_id, (KeyState.DEACTIVATED, b""))[0] is not KeyState.ACTIVE:
            raise ValueError(f"SA {spi}: key {sa.key_id} is not active")
        if sa.window.last >= sa.params.counter_max:
            raise ValueError(f"SA {spi}: counter exhausted, re-key it first")
        self._commit(lambda s: setattr(s.sas[spi], "state", SaState.OPERATIONAL))

    def stop_sa(self, spi: int) -> None:
        """Operational -> keyed. The management SA cannot be stopped (ValueError)."""
        sa = self._sa(spi)
        if spi == MANAGEMENT_SPI:
            raise ValueError("the management SA cannot be stopped by command")
        if sa.state is not SaState.OPERATIONAL:
            raise ValueError(f"SA {spi} is {sa.state.name.lower()}, not operational")
        self._commit(lambda s: setattr(s.sas[spi], "state", SaState.KEYED))

    def rekey_sa(self, spi: int, kid: int, counter: int) -> None:
        """Bind a stopped SA to active key ``kid`` with its counter restarted at ``counter``
        (a new key makes old sequence numbers harmless). ValueError otherwise."""
        sa = self._sa(spi)
        if spi == MANAGEMENT_SPI:
            raise ValueError("the management SA is keyed by the management key only")
        if sa.state is SaState.OPERATIONAL:
            raise ValueError(f"SA {spi} is operational: stop it before re-keying")
        if self._keys.get(kid, (KeyState.DEACTIVATED, b""))[0] is not KeyState.ACTIVE:
            raise ValueError(f"key {kid} is not active")
        if kid == MANAGEMENT_KEY_ID:
            raise ValueError("the management key protects only the management SA")
        if sa.key_id == kid:
            raise ValueError(f"SA {spi} already uses key {kid}: a re-key needs a new key")
        if not 0 <= counter < sa.params.counter_max:
            raise ValueError(f"counter {counter} outside 0..{sa.params.counter_max - 1}")

        def apply(s: SecurityState) -> None:
            target = s.sas[spi]
            target.key_id, target.state = kid, SaState.KEYED
            target.window = ReplayWindow(counter, s.window, target.params.counter_max)
            s._rekey_engines()

        self._commit(apply)

    def _sa(self, spi: int) -> _Sa:
        sa = self.sas.get(spi)
        if sa is None:
            raise ValueError(f"no SA {spi}")
        return sa
