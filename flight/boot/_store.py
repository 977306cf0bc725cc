"""The boot store: installation, boot selection, mark-good and rollback on NV storage.

Two :class:`hal.platform.Storage` devices hold everything: ``nv`` (the boot record, the
trusted public keys and the trust policy) and ``slots`` (one blob per slot image). Both
write atomically (fsync and rename), so every step below leaves NV storage in a consistent
state whenever power is lost; the order of the steps makes that state a bootable one:

- install: verify the image (signatures, hashes, model, runtime, expiry and version floor,
  against onboard time) -> disarm the target slot in the record if it held anything -> write
  the image into the slot -> read it back and verify it again -> only then arm it (pending,
  ``MAX_TRIES`` tries);
- select (the boot selector): a try is counted only while an upgrade is pending (U-Boot's
  rule, which keeps a stable slot from being rolled back by power cuts, RAUC #490); a pending
  slot out of tries, or one that fails verification, is marked bad; then the last good slot,
  other good slots, and finally ``factory``. Every slot is re-verified before it is chosen;
- mark-good: after the health gate, the running slot becomes the active, last good one and
  raises the anti-rollback floor; doing it twice changes nothing (idempotent);
- rollback: the ground's ``boot.rollback`` makes another good slot active.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from flight.boot._image import Image, ImageError, Refusal, TrustPolicy, verify_image
from flight.boot._record import (
    MAX_TRIES,
    RECORD_BLOB,
    SLOTS,
    BootRecord,
    RecordError,
    SlotInfo,
    SlotState,
    decode_record,
    encode_record,
)
from hal.platform import Storage
from native.errors import HalError, SatnodeError

__all__ = [
    "POLICY_BLOB",
    "TRUST_PREFIX",
    "BootChoice",
    "BootStore",
    "InstallError",
    "InstallResult",
    "slot_blob",
]

TRUST_PREFIX: Final = "trust-key-"
POLICY_BLOB: Final = "trust-policy"


class InstallError(SatnodeError):
    """An installation failed after verification (the slot did not read back right)."""


def slot_blob(slot: str) -> str:
    """The blob name of slot ``slot`` in the slot storage."""
    return f"slot-{slot}"


@dataclass(frozen=True, slots=True)
class InstallResult:
    """What an installation did: the slot written, the version armed, tries given."""

    slot: str
    version: int
    tries: int
    sha256: str


@dataclass(frozen=True, slots=True)
class BootChoice:
    """The selector's decision: the slot to run, its verified image, why, and the record
    as persisted before the slot runs."""

    slot: str
    image: Image
    kind: str  #: "trial" (pending upgrade), "stable" (active slot) or "fallback"
    record: BootRecord


class BootStore:
    """Boot record, trusted keys and slot images on two NV storages (module docstring).

    ``model``: this target's model name (images must name it). ``runtime``: this computer's
    runtime dependencies (``{dist: {"version", "record_sha256"}}``), checked at install when
    given.
    """

    def __init__(
        self,
        nv: Storage,
        slots: Storage,
        *,
        model: str,
        runtime: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.nv = nv
        self.slots = slots
        self.model = model
        self.runtime = runtime

    # -- trust -----------------------------------------------------------------------------
    def set_trust(self, keys: list[Ed25519PublicKey], threshold: int) -> TrustPolicy:
        """Store the trusted public keys and the k-of-n threshold (at target init)."""
        from cryptography.hazmat.primitives import serialization

        from flight.boot._image import key_id

        policy = TrustPolicy({key_id(k): k for k in keys}, threshold)
        for kid, k in policy.keys.items():
            raw = k.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            self.nv.write(TRUST_PREFIX + kid, raw)
        self.nv.write(POLICY_BLOB, json.dumps({"threshold": threshold}).encode())
        return policy

    def trust(self) -> TrustPolicy:
        """The trusted keys and threshold from NV (RecordError if there are none)."""
        keys: dict[str, Ed25519PublicKey] = {}
        try:
            for name in self.nv.list():
                if name.startswith(TRUST_PREFIX):
                    raw = self.nv.read(name)
                    keys[name[len(TRUST_PREFIX) :]] = Ed25519PublicKey.from_public_bytes(raw)
            threshold = int(json.loads(self.nv.read(POLICY_BLOB))["threshold"])
        except (HalError, ValueError, KeyError, TypeError) as exc:
            raise RecordError(f"trust store unreadable: {exc}") from None
        if not keys:
            raise RecordError("no trusted keys in NV storage")
        return TrustPolicy(keys, threshold)

    # -- record ----------------------------------------------------------------------------
    def load(self) -> BootRecord:
        """The boot record from NV (RecordError if missing or damaged)."""
        try:
            blob = self.nv.read(RECORD_BLOB)
        except HalError as exc:
            raise RecordError(f"no boot record: {exc}") from None
        return decode_record(blob)

    def save(self, record: BootRecord) -> BootRecord:
        """Write ``record`` (its generation bumped) atomically; returns what was written."""
        rec = replace(record, generation=record.generation + 1)
        self.nv.write(RECORD_BLOB, encode_record(rec))
        return rec

    # -- verification ----------------------------------------------------------------------
    def read_slot(self, slot: str) -> bytes:
        """The raw image bytes in slot ``slot`` (RecordError if it holds none)."""
        try:
            return self.slots.read(slot_blob(slot))
        except HalError as exc:
            raise RecordError(f"slot {slot}: {exc}") from None

    def verify_slot(self, slot: str, record: BootRecord | None = None) -> Image:
        """Re-verify slot ``slot``: signatures, every file hash, the model, and the image
        sha256 the record holds. Expiry and the floor are install rules, not boot rules: an
        installed image must keep booting after its expiry date."""
        data = self.read_slot(slot)
        image = verify_image(data, self.trust(), model=self.model)
        if record is not None:
            want = record.slot(slot).sha256
            if want and image.sha256 != want:
                raise ImageError(
                    Refusal.TAMPERED_FILE, f"slot {slot}: image differs from the installed one"
                )
        return image

    # -- install ---------------------------------------------------------------------------
    @staticmethod
    def install_slot(record: BootRecord) -> str:
        """The slot an installation writes: never the active one; a pending (unconfirmed)
        upgrade is replaced first, then an empty or bad slot, then the older one."""
        candidates = [s for s in ("A", "B") if s != record.active]
        if record.pending in candidates:
            return record.pending

        def rank(s: str) -> tuple[int, int]:
            info = record.slot(s)
            return (0 if info.state in (SlotState.EMPTY, SlotState.BAD) else 1, info.version)

        return min(candidates, key=rank)

    def install(self, data: bytes, *, now_utc_s: float | None) -> InstallResult:
        """Verify ``data`` and install it into the inactive slot, then arm it (module
        docstring). Refusals raise ImageError and change nothing."""
        rec = self.load()
        trust = self.trust()
        image = verify_image(
            data,
            trust,
            model=self.model,
            now_utc_s=now_utc_s,
            floor=rec.floor,
            runtime=self.runtime,
        )
        target = self.install_slot(rec)
        if rec.pending == target or rec.slot(target).state is not SlotState.EMPTY:
            rec = rec.with_slot(target, SlotInfo())
            if rec.pending == target:
                rec = replace(rec, pending=None, tries_left=0)
            rec = self.save(rec.note("install", target, "slot cleared"))
        try:
            self.slots.write(slot_blob(target), image.data)
            back = self.slots.read(slot_blob(target))
        except HalError as exc:
            raise InstallError(f"slot {target}: write failed: {exc}") from None
        try:
            verify_image(back, trust, model=self.model)
        except ImageError as exc:
            raise InstallError(
                f"slot {target}: the written image does not verify ({exc}); not armed"
            ) from None
        if back != image.data:
            raise InstallError(f"slot {target}: the written image differs; not armed")
        info = SlotInfo(SlotState.INSTALLED, image.version, image.sha256)
        rec = replace(rec.with_slot(target, info), pending=target, tries_left=MAX_TRIES)
        self.save(rec.note("install", target, f"armed, {MAX_TRIES} tries"))
        return InstallResult(target, image.version, MAX_TRIES, image.sha256)

    def install_factory(self, data: bytes) -> InstallResult:
        """Write the factory image (target init): verified, then recorded as good."""
        rec = self.load()
        image = verify_image(data, self.trust(), model=self.model, runtime=self.runtime)
        self.slots.write(slot_blob("factory"), image.data)
        self.verify_slot("factory")
        info = SlotInfo(SlotState.GOOD, image.version, image.sha256)
        rec = replace(rec.with_slot("factory", info), floor=max(rec.floor, image.version))
        self.save(rec.note("install", "factory", "factory image"))
        return InstallResult("factory", image.version, 0, image.sha256)

    # -- boot ------------------------------------------------------------------------------
    def recover(self) -> BootRecord:
        """A new record after the old one was lost or damaged: factory is the active slot
        (the conservative choice); A and B are re-verified and kept as installed, not good."""
        rec = BootRecord()
        for slot in SLOTS:
            try:
                image = self.verify_slot(slot)
            except (ImageError, RecordError):
                continue
            state = SlotState.GOOD if slot == "factory" else SlotState.INSTALLED
            rec = rec.with_slot(slot, SlotInfo(state, image.version, image.sha256))
        return rec.note("recovered", "factory", "boot record rebuilt")

    def select(self, on_event: Callable[[str], None] | None = None) -> BootChoice:
        """Choose the slot to boot and persist the decision (a counted try) before it runs.

        RecordError when no slot is bootable (the record still says why)."""
        say = on_event or (lambda _m: None)
        try:
            rec = self.load()
        except RecordError as exc:
            say(f"boot record: {exc}; rebuilding it")
            rec = self.recover()
        rec = replace(rec, boots=rec.boots + 1)
        if rec.pending is not None:
            p = rec.pending
            if rec.tries_left > 0:
                try:
                    image = self.verify_slot(p, rec)
                except (ImageError, RecordError) as exc:
                    say(f"slot {p}: {exc}")
                    rec = self._bad(rec, p, "verification failed")
                else:
                    rec = replace(rec, tries_left=rec.tries_left - 1, current=p)
                    rec = self.save(rec.note("trial", p, f"{rec.tries_left} tries left"))
                    return BootChoice(p, image, "trial", rec)
            else:
                say(f"slot {p}: no tries left; falling back")
                rec = self._bad(rec, p, "no tries left")
        for slot in self._stable_order(rec):
            try:
                image = self.verify_slot(slot, rec)
            except (ImageError, RecordError) as exc:
                say(f"slot {slot}: {exc}")
                rec = self._bad(rec, slot, "verification failed")
                continue
            kind = "stable" if slot == rec.active else "fallback"
            rec = replace(rec, active=slot, current=slot)
            rec = self.save(rec.note(kind, slot))
            return BootChoice(slot, image, kind, rec)
        rec = replace(rec, current=None)
        self.save(rec.note("bad", "factory", "no bootable slot"))
        raise RecordError("no bootable slot: A, B and factory all failed")

    @staticmethod
    def _stable_order(rec: BootRecord) -> list[str]:
        good = [s for s in ("A", "B") if rec.slot(s).state is SlotState.GOOD and s != rec.active]
        good.sort(key=lambda s: -rec.slot(s).version)
        order = [rec.active, *good, "factory"]
        out: list[str] = []
        for s in order:
            ok = rec.slot(s).state is SlotState.GOOD
            if s not in out and ok:
                out.append(s)
        return out

    def _bad(self, rec: BootRecord, slot: str, why: str) -> BootRecord:
        info = dataclasses.replace(rec.slot(slot), state=SlotState.BAD)
        rec = rec.with_slot(slot, info)
        if rec.pending == slot:
            rec = replace(rec, pending=None, tries_left=0)
        return self.save(rec.note("bad", slot, why))

    # -- after boot ------------------------------------------------------------------------
    def mark_good(self, slot: str) -> tuple[BootRecord, bool]:
        """The health gate passed in ``slot`` (which must be the one running): make it the
        active, last good slot and raise the floor. Returns (record, changed): marking a
        good slot again writes nothing."""
        rec = self.load()
        if rec.current != slot:
            raise RecordError(f"mark-good of slot {slot}, but the selector started {rec.current}")
        info = rec.slot(slot)
        if info.state is SlotState.GOOD and rec.pending is None and rec.active == slot:
            return rec, False
        if info.state not in (SlotState.GOOD, SlotState.INSTALLED):
            raise RecordError(f"slot {slot} is {info.state.value}; it cannot be marked good")
        rec = rec.with_slot(slot, replace(info, state=SlotState.GOOD))
        rec = replace(
            rec,
            active=slot,
            last_good=slot,
            pending=None if rec.pending == slot else rec.pending,
            tries_left=0 if rec.pending == slot else rec.tries_left,
            floor=max(rec.floor, info.version),
        )
        return self.save(rec.note("good", slot, "health gate passed")), True

    def rollback(self) -> BootRecord:
        """Make another good slot active (``boot.rollback``): the newest good A/B slot other
        than the running one, else factory. A running upgrade on trial is marked bad."""
        rec = self.load()
        cur = rec.current
        options = [s for s in ("A", "B") if s != cur and rec.slot(s).state is SlotState.GOOD]
        options.sort(key=lambda s: -rec.slot(s).version)
        if not options and cur != "factory" and rec.slot("factory").state is SlotState.GOOD:
            options = ["factory"]
        if not options:
            raise RecordError(f"no other good slot to roll back to (running {cur})")
        target = options[0]
        if cur is not None and rec.pending == cur:
            rec = rec.with_slot(cur, replace(rec.slot(cur), state=SlotState.BAD))
            rec = replace(rec, pending=None, tries_left=0)
        rec = replace(rec, active=target)
        return self.save(rec.note("rollback", target, f"from {cur}"))
