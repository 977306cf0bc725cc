"""The ``boot`` component: the health gate, mark-good, ``boot.rollback`` and boot telemetry.

The flight software marks its slot good only after a health gate: FDIR NOMINAL without a
break for ``health_gate_s``, telemetry flowing (TM packets sent since the gate started) and no
unexpected processor reset in this boot. ``rollback`` (PUS-8, opcode 1) makes another good
slot active and asks for a reboot into it: the stack runner sees :attr:`reboot_requested`,
stops the node cleanly and the boot selector starts the other slot.
"""

from __future__ import annotations

import enum
from typing import Any

from flight.boot._config import Config
from flight.boot._record import SLOTS, BootRecord, RecordError
from flight.boot._store import BootStore
from flight.core import (
    NS_PER_S,
    CommandDef,
    CommandError,
    Component,
    Declaration,
    EventDef,
    FailureCode,
    FieldType,
    Severity,
    TlmField,
)
from flight.messages import Mode, ModeStatus
from native.errors import HalError

__all__ = ["SLOT_CODES", "BootComponent", "GateState"]

#: Wire code of each slot in telemetry (255: none).
SLOT_CODES: dict[str, int] = {s: i for i, s in enumerate(SLOTS)}


@enum.unique
class GateState(enum.IntEnum):
    """Where the health gate is (housekeeping ``gate_state``)."""

    WAITING = 0  #: not yet NOMINAL for the whole gate time
    PASSED = 1  #: passed: the slot was marked good (or already was)
    BLOCKED = 2  #: an unexpected reset in this boot: the slot is not marked good
    ERROR = 3  #: the boot record could not be read or written


class BootComponent(Component):
    """Health gate and boot record telemetry (component ``boot``)."""

    DECLARATION = Declaration(
        commands=(
            CommandDef(1, "rollback", (), "make another good slot active and reboot into it"),
        ),
        telemetry=(
            TlmField("slot_running", FieldType.U8, "", "0 A, 1 B, 2 factory, 255 unknown"),
            TlmField("version_running", FieldType.U32, "", "image version of that slot"),
            TlmField("slot_active", FieldType.U8, "", "slot booted without a pending upgrade"),
            TlmField("slot_last_good", FieldType.U8),
            TlmField("upgrade_pending", FieldType.BOOL),
            TlmField("tries_left", FieldType.U8),
            TlmField("version_floor", FieldType.U32, "", "anti-rollback floor"),
            TlmField("boots", FieldType.U32, "", "boots started by the selector"),
            TlmField("gate_state", FieldType.U8, "", "0 waiting, 1 passed, 2 blocked, 3 error"),
            TlmField("gate_nominal_s", FieldType.F32, "s", "time NOMINAL without a break"),
            TlmField("resets", FieldType.U32, "", "unexpected resets in this boot"),
        ),
        events=(
            EventDef(1, "boot_history", Severity.INFO, "boot {boots}: {history}"),
            EventDef(2, "marked_good", Severity.INFO, "slot {slot} v{version} marked good"),
            EventDef(3, "gate_blocked", Severity.MEDIUM, "health gate blocked: {why}"),
            EventDef(4, "record_error", Severity.HIGH, "boot record: {error}"),
            EventDef(5, "rollback", Severity.HIGH, "rollback to slot {slot}: rebooting"),
        ),
    )

    def __init__(self, cfg: Config, store: BootStore, component_id: int, tmtc: Any = None) -> None:
        super().__init__("boot", component_id)
        self.cfg = cfg
        self.store = store
        self.tmtc = tmtc
        self.state = GateState.WAITING
        self.reboot_requested = False
        self.slot: str | None = cfg.slot or None
        self.version = 0
        self.boot_count = 0
        self._nominal_since: int | None = None
        self._tm_at_start: int | None = None
        self.marked_good = False

    # -- lifecycle -------------------------------------------------------------------------
    def on_boot(self) -> None:
        """A processor start: the second one in a process is an unexpected reset."""
        self.boot_count += 1
        self._nominal_since = None
        self._tm_at_start = None
        if self.boot_count > 1:
            self.hk.resets = self.boot_count - 1
            if self.state is GateState.WAITING:
                self.state = GateState.BLOCKED
                self.emit("gate_blocked", why="unexpected processor reset")

    def on_start(self) -> None:
        """Read the record once: which slot runs, and the boot history for telemetry."""
        rec = self._load()
        if rec is None:
            return
        if self.slot is None:
            self.slot = rec.current
        if self.slot is not None:
            self.version = rec.slot(self.slot).version
        self._publish(rec)
        tail = rec.history[-4:]
        text = "; ".join(f"{h.kind} {h.slot} v{h.version}" for h in tail) or "none"
        self.emit("boot_history", boots=rec.boots, history=text)

    def _load(self) -> BootRecord | None:
        try:
            return self.store.load()
        except (RecordError, HalError) as exc:
            self.state = GateState.ERROR
            self.hk.gate_state = int(self.state)
            self.emit("record_error", error=str(exc))
            return None

    def _publish(self, rec: BootRecord) -> None:
        hk = self.hk
        hk.slot_running = SLOT_CODES.get(self.slot or "", 255)
        hk.version_running = self.version
        hk.slot_active = SLOT_CODES[rec.active]
        hk.slot_last_good = SLOT_CODES[rec.last_good]
        hk.upgrade_pending = rec.pending is not None
        hk.tries_left = rec.tries_left
        hk.version_floor = rec.floor
        hk.boots = rec.boots
        hk.gate_state = int(self.state)

    # -- commands --------------------------------------------------------------------------
    def cmd_rollback(self) -> None:
        """Ground: make another good slot active, then reboot into it."""
        try:
            rec = self.store.rollback()
        except (RecordError, HalError) as exc:
            raise CommandError(f"boot.rollback: {exc}", FailureCode.EXECUTION_FAILED) from None
        self._publish(rec)
        self.emit("rollback", slot=rec.active)
        self.reboot_requested = True

    # -- step ------------------------------------------------------------------------------
    def step(self, t_ns: int) -> None:
        """Advance the health gate; mark the slot good when it passes."""
        tm = int(self.tmtc.hk.tm_sent) if self.tmtc is not None else 0
        if self._tm_at_start is None:
            self._tm_at_start = tm
        if self.state is not GateState.WAITING:
            self.hk.gate_state = int(self.state)
            return
        mode = self.bus.latest(ModeStatus)
        if mode is not None and mode.mode is Mode.NOMINAL:
            if self._nominal_since is None:
                self._nominal_since = t_ns
        else:
            self._nominal_since = None
        nominal_s = 0.0 if self._nominal_since is None else (t_ns - self._nominal_since) / NS_PER_S
        self.hk.gate_nominal_s = nominal_s
        flowing = self.tmtc is None or tm > self._tm_at_start
        if nominal_s >= self.cfg.health_gate_s and flowing:
            self._mark_good()

    def _mark_good(self) -> None:
        if self.slot is None:
            self.state = GateState.ERROR
            self.emit("record_error", error="the running slot is unknown")
            return
        try:
            rec, _changed = self.store.mark_good(self.slot)
        except (RecordError, HalError) as exc:
            self.state = GateState.ERROR
            self.emit("record_error", error=str(exc))
            return
        self.state = GateState.PASSED
        self.marked_good = True
        self._publish(rec)
        self.emit("marked_good", slot=self.slot, version=self.version)
