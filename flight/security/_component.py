"""The ``security`` component: the gate every uplink datagram passes before it is a command.

:meth:`SecurityComponent.admit` is called by the ground link for each datagram it drains
(:class:`flight.tmtc.UplinkGate`). It verifies the TC frame (framing, FECF, SPI, SA state,
anti-replay window, then the MAC: :func:`flight.tmtc.verify_frame`), persists the SA's new
counter in NV, and only then hands the reassembled PUS packet to the TM/TC service (or runs
the management PDUs of a frame under the management SA). Nothing of a rejected frame is
parsed, queued or logged: it changes a counter and, at most once per ``reject_event_s`` of
onboard time, one event that says how many frames were rejected and the last reason.

Key changes (OTAR, key activation and deactivation, SA rekey) bypass PUS, so the TM/TC
service's arming cannot see them. They are made hazardous the same way: the ground arms and
sends the PUS command ``security.arm_key_change`` (TC[8,128] then TC[8,1], declared
``hazardous``), which opens a window of :data:`KEY_CHANGE_WINDOW_S` of onboard time in which
ONE management frame carrying key changes is run (all its PDUs, in order: an OTAR, its
activation and the rekey that uses it form one operation). The frame uses the window up.
A management frame with a key change and no open window is refused as a whole (every PDU
gets TM[150,2] ``NOT_ARMED``) and changes nothing.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Final

from flight.core import (
    CommandDef,
    Component,
    Declaration,
    EventDef,
    FieldType,
    Severity,
    TlmField,
)
from flight.security._config import Config
from flight.security._ep import (
    EP_SERVICE,
    KEY_CHANGES,
    EpFailure,
    Procedure,
    pack_pdu,
    unpack_pdus,
)
from flight.security._state import (
    MANAGEMENT_KEY_ID,
    MANAGEMENT_SPI,
    KeyState,
    SaState,
    SecurityState,
    StateError,
)
from flight.tmtc import (
    ARM_WINDOW_S,
    GCM_IV_LEN,
    KEY_LEN,
    MAC_LEN,
    FrameReason,
    MacEngine,
    Reassembler,
    ReplayWindow,
    SaParams,
    SecurityReason,
    WireError,
    verify_frame,
)
from native.errors import ConfigError

__all__ = ["KEY_CHANGE_WINDOW_S", "SecurityComponent"]

#: Onboard time (s) a ``security.arm_key_change`` keeps the key-change window open: the same
#: as the TM/TC service's arming window for TC[8,128].
KEY_CHANGE_WINDOW_S: Final = ARM_WINDOW_S  # the same window as every other armed request

_U16: Final = struct.Struct(">H")
_STATUS: Final = struct.Struct(">HBH16s")
_BARE_TC: Final = 0b00011  # first 5 bits of a PUS TC space packet: version 0, TC, sec. hdr.

#: Housekeeping counter bumped for each rejection reason.
_REJECT_COUNTER: Final[dict[str, str]] = {
    FrameReason.TRUNCATED: "rej_frame",
    FrameReason.LENGTH_MISMATCH: "rej_frame",
    FrameReason.FECF: "rej_frame",
    FrameReason.BAD_HEADER: "rej_frame",
    FrameReason.WRONG_SCID: "rej_frame",
    FrameReason.SEGMENTATION: "rej_segment",
    SecurityReason.TRUNCATED: "rej_frame",
    SecurityReason.UNKNOWN_SPI: "rej_spi",
    SecurityReason.SA_NOT_OPERATIONAL: "rej_sa",
    SecurityReason.WRONG_VCID: "rej_sa",
    SecurityReason.REPLAY: "rej_replay",
    SecurityReason.OUTSIDE_WINDOW: "rej_window",
    SecurityReason.ROLLOVER: "rej_rollover",
    SecurityReason.MAC: "rej_mac",
}


class SecurityComponent(Component):
    """SDLS verification of the uplink, the key store and SA management (component id from
    the registry). ``state`` is None when no NV storage is configured (security not
    required): then only bare packets pass."""

    DECLARATION = Declaration(
        commands=(
            CommandDef(1, "arm_key_change", (),
                       f"open a {ARM_WINDOW_S:.0f} s window for one management frame that changes keys "
                       "(OTAR, key activation/deactivation, SA rekey); armed",
                       hazardous=True),
        ),
        telemetry=(
            TlmField("frames_received", FieldType.U32, "", "uplink datagrams judged"),
            TlmField("frames_accepted", FieldType.U32, "", "frames that passed SDLS"),
            TlmField("rej_frame", FieldType.U32, "", "rejected: framing, FECF, SCID"),
            TlmField("rej_spi", FieldType.U32, "", "rejected: unknown SPI"),
            TlmField("rej_sa", FieldType.U32, "", "rejected: SA not operational / wrong VC"),
            TlmField("rej_replay", FieldType.U32, "", "rejected: counter <= last accepted"),
            TlmField("rej_window", FieldType.U32, "", "rejected: counter beyond the window"),
            TlmField("rej_rollover", FieldType.U32, "", "rejected: SA counter exhausted"),
            TlmField("rej_mac", FieldType.U32, "", "rejected: MAC mismatch"),
            TlmField("rej_segment", FieldType.U32, "", "rejected: segmentation error"),
            TlmField("rej_persist", FieldType.U32, "", "rejected: counter not persisted"),
            TlmField("rej_bare", FieldType.U32, "", "bare packets refused (security on)"),
            TlmField("bare_accepted", FieldType.U32, "", "bare packets passed (security off)"),
            TlmField("packets_out", FieldType.U32, "", "PUS packets handed to TM/TC"),
            TlmField("ep_executed", FieldType.U32, "", "management procedures executed"),
            TlmField("ep_failed", FieldType.U32, "", "management procedures refused"),
            TlmField("sa_operational", FieldType.U8, "", "operational security associations"),
            TlmField("state_generation", FieldType.U32, "", "NV state record generation"),
        ),
        events=(
            EventDef(1, "frames_rejected", Severity.LOW,
                     "{count} uplink frame(s) rejected since the last report; last: {reason}"),
            EventDef(2, "no_keys", Severity.HIGH,
                     "security required but the key store is empty: the uplink is closed"),
            EventDef(3, "state_loaded", Severity.INFO,
                     "security state {origin} (generation {generation}, {bad} bad slot(s))"),
            EventDef(4, "persist_failed", Severity.HIGH,
                     "security state not persisted: frame refused ({why})"),
            EventDef(5, "ep_done", Severity.INFO, "{procedure} done: {what}"),
            EventDef(6, "ep_refused", Severity.MEDIUM, "{procedure} refused: {why}"),
            EventDef(7, "rekey_needed", Severity.HIGH,
                     "SA {spi} counter exhausted: re-key it"),
            EventDef(8, "key_change_armed", Severity.MEDIUM,
                     "key change window open for {s} s: one management frame may change keys"),
        ),
    )  # fmt: skip

    def __init__(
        self,
        cfg: Config,
        component_id: int,
        state: SecurityState | None,
        *,
        max_packet_len: int,
        send_tm: Callable[[int, int, bytes], bytes] | None,
    ) -> None:
        super().__init__("security", component_id)
        if cfg.required and state is None:
            raise ConfigError("[security] required: needs the NV key store")
        self.cfg = cfg
        self.state = state
        self._send_tm = send_tm
        self._max_packet_len = max_packet_len
        self._reassembly: dict[int, Reassembler] = {}
        self._reject_pending = 0
        self._last_reason = ""
        self._next_reject_event_ns = 0
        self._reject_period_ns = round(cfg.reject_event_s * 1e9)
        #: onboard time (ns) until which one key-changing management frame is accepted
        #: (None: no window open)
        self.key_change_until_ns: int | None = None

    # -- commands ---------------------------------------------------------------------------
    def cmd_arm_key_change(self) -> None:
        """Open the key-change window (the PUS arming has already been checked)."""
        self.key_change_until_ns = self.clock.now_ns() + round(KEY_CHANGE_WINDOW_S * 1e9)
        self.emit("key_change_armed", s=f"{KEY_CHANGE_WINDOW_S:.0f}")

    def _take_key_change_window(self) -> str:
        """Use up the key-change window; '' if it was open, else why the change is refused."""
        until = self.key_change_until_ns
        self.key_change_until_ns = None
        if until is None:
            return "key change not armed (security.arm_key_change)"
        if self.clock.now_ns() > until:
            return "key change arming expired"
        return ""

    # -- SaLookup ---------------------------------------------------------------------------
    def lookup(self, spi: int) -> tuple[SaParams, MacEngine, ReplayWindow] | None:
        """The operational SA ``spi`` (None: not operational; WireError: no such SA)."""
        state = self.state
        assert state is not None
        sa = state.sas.get(spi)
        if sa is None:
            raise WireError(f"no SA {spi}", SecurityReason.UNKNOWN_SPI)
        engine = state.engine_for(spi)
        if engine is None:
            return None
        return sa.params, engine, sa.window

    # -- the gate -------------------------------------------------------------------------
    def admit(self, datagram: bytes) -> list[bytes]:
        """Judge one uplink datagram; the PUS packets it releases (usually none or one)."""
        hk = self.hk
        hk.frames_received += 1
        if datagram and datagram[0] >> 3 == _BARE_TC:
            if self.cfg.required:
                return self._rejected("rej_bare", "bare packet (security required)")
            hk.bare_accepted += 1
            hk.packets_out += 1
            return [bytes(datagram)]
        if self.state is None:
            return self._rejected("rej_frame", "frame without a key store")
        try:
            frame = verify_frame(datagram, self.cfg.scid, self)
        except WireError as exc:
            return self._rejected(_REJECT_COUNTER.get(exc.reason, "rej_frame"), exc.reason)
        try:
            self.state.advance({frame.spi: frame.counter})  # persisted BEFORE anything acts
        except StateError as exc:
            self.emit("persist_failed", why=str(exc))
            return self._rejected("rej_persist", "not persisted")
        hk.frames_accepted += 1
        hk.state_generation = self.state.generation & 0xFFFFFFFF
        sa = self.state.sas[frame.spi]
        if frame.counter >= sa.params.counter_max:
            self.emit("rekey_needed", spi=frame.spi)
        reassembler = self._reassembly.get(frame.vcid)
        if reassembler is None:
            reassembler = self._reassembly[frame.vcid] = Reassembler(self._max_packet_len)
        try:
            unit = reassembler.feed(frame.segment)
        except WireError as exc:
            return self._rejected("rej_segment", exc.reason)
        if unit is None:
            return []
        if frame.spi == MANAGEMENT_SPI:
            self._management(unit)
            return []
        hk.packets_out += 1
        return [unit]

    def _rejected(self, counter: str, reason: str) -> list[bytes]:
        setattr(self.hk, counter, getattr(self.hk, counter) + 1)
        self._reject_pending += 1
        self._last_reason = str(reason)
        now = self.clock.now_ns()
        if now >= self._next_reject_event_ns:
            self._flush_reject_event(now)
        return []

    def _flush_reject_event(self, now: int) -> None:
        if self._reject_pending:
            self.emit("frames_rejected", count=self._reject_pending, reason=self._last_reason)
            self._reject_pending = 0
            self._next_reject_event_ns = now + self._reject_period_ns

    # -- lifecycle --------------------------------------------------------------------------
    def on_boot(self) -> None:
        """A processor reset loses RAM: partial packets go, the state is reloaded from NV,
        an open key-change window is closed."""
        self._reassembly.clear()
        self.key_change_until_ns = None
        if self.state is not None:
            self.state.load()
            self.emit(
                "state_loaded",
                origin=self.state.origin,
                generation=self.state.generation,
                bad=self.state.bad_slots,
            )

    def on_start(self) -> None:
        """Report where the state came from, and whether the uplink is usable at all."""
        if self.state is None:
            return
        if self.cfg.required and not self.state.key_states():
            self.emit("no_keys")

    def step(self, t_ns: int) -> None:
        """Publish SA counts and send a pending (throttled) rejection event when due."""
        if self.state is not None:
            self.hk.sa_operational = sum(
                1 for spi in self.state.sas if self.state.engine_for(spi) is not None
            )
            self.hk.state_generation = self.state.generation & 0xFFFFFFFF
        if t_ns >= self._next_reject_event_ns:
            self._flush_reject_event(t_ns)

    # -- extended procedures ------------------------------------------------------------------
    def _management(self, data: bytes) -> None:
        try:
            pdus = unpack_pdus(data)
        except ValueError as exc:
            self._ep_fail(0, "malformed", EpFailure.MALFORMED, str(exc))
            return
        if any(proc in KEY_CHANGES for _, proc, _ in pdus):
            why = self._take_key_change_window()
            if why:
                for tag, proc, _ in pdus:
                    known = proc in Procedure._value2member_map_
                    name = Procedure(proc).name.lower() if known else f"procedure {proc:#04x}"
                    self._ep_fail(tag, name, EpFailure.NOT_ARMED, why)
                return
        for tag, proc, value in pdus:
            try:
                procedure = Procedure(proc)
            except ValueError:
                self._ep_fail(tag, f"procedure {proc:#04x}", EpFailure.UNKNOWN_PROCEDURE, "unknown")
                continue
            name = procedure.name.lower()
            try:
                reply, what = self._run(procedure, value)
            except StateError as exc:
                self._ep_fail(tag, name, EpFailure.NOT_PERSISTED, str(exc))
                continue
            except WireError:
                self._ep_fail(tag, name, EpFailure.OTAR_AUTHENTICATION, "OTAR MAC mismatch")
                continue
            except (ValueError, KeyError, struct.error) as exc:
                code = EpFailure.MALFORMED if isinstance(exc, struct.error) else EpFailure.REFUSED
                self._ep_fail(tag, name, code, str(exc))
                continue
            self.hk.ep_executed += 1
            self.emit("ep_done", procedure=name, what=what)
            if self._send_tm is not None:
                self._send_tm(EP_SERVICE, 1, pack_pdu(proc, reply, reply=True))

    def describe_tm(self) -> dict[str, Any]:
        """The TM this component sends itself, for the ground dictionary: the replies of the
        SDLS extended procedures (CCSDS 355.1 PDUs: tag = 0x80 | procedure, length in bits,
        value) and their failures (the request's tag and an :class:`EpFailure` code)."""
        procedures = {p.name: 0x80 | int(p) for p in Procedure}
        failures = {f.name: int(f) for f in EpFailure}
        return {
            "service": EP_SERVICE,
            "name": "security management (SDLS extended procedures)",
            "tc": [],
            "tm": [
                {"subtype": 1, "name": "ep_reply", "layout": [
                    {"name": "tag", "type": "u8", "enum": procedures},
                    {"name": "length_bits", "type": "u16", "unit": "bit"},
                    {"name": "value", "type": "bytes", "length": "length_bits",
                     "length_unit": "bits"}]},
                {"subtype": 2, "name": "ep_failure", "layout": [
                    {"name": "tag", "type": "u8"},
                    {"name": "code", "type": "u16", "enum": failures}]},
            ],
        }  # fmt: skip

    def _ep_fail(self, tag: int, name: str, code: EpFailure, why: str) -> None:
        self.hk.ep_failed += 1
        self.emit("ep_refused", procedure=name, why=why)
        if self._send_tm is not None:
            self._send_tm(EP_SERVICE, 2, bytes([tag & 0xFF]) + _U16.pack(int(code)))

    def _ids(self, value: bytes) -> list[int]:
        if not value or len(value) % 2:
            raise ValueError("expected one or more key ids (u16)")
        return [_U16.unpack_from(value, i)[0] for i in range(0, len(value), 2)]

    def _run(self, procedure: Procedure, value: bytes) -> tuple[bytes, str]:
        state = self.state
        assert state is not None
        if procedure is Procedure.SA_START or procedure is Procedure.SA_STOP:
            if len(value) != 2:
                raise ValueError("expected an SPI (u16)")
            (spi,) = _U16.unpack(value)
            if procedure is Procedure.SA_START:
                state.start_sa(spi)
            else:
                state.stop_sa(spi)
            return value, f"SA {spi}"
        if procedure is Procedure.SA_REKEY:
            if len(value) != 20:
                raise ValueError("expected SPI u16, key id u16, counter (16 octets)")
            spi, kid = struct.unpack_from(">HH", value)
            state.rekey_sa(spi, kid, int.from_bytes(value[4:], "big"))
            return value[:4], f"SA {spi} keyed with key {kid}"
        if procedure is Procedure.SA_STATUS:
            if len(value) != 2:
                raise ValueError("expected an SPI (u16)")
            (spi,) = _U16.unpack(value)
            if spi not in state.sas:
                raise ValueError(f"no SA {spi}")
            sa_state, kid, last = state.sa_status(spi)
            return _STATUS.pack(spi, int(sa_state), kid, last.to_bytes(16, "big")), f"SA {spi}"
        if procedure is Procedure.KEY_ACTIVATION or procedure is Procedure.KEY_DEACTIVATION:
            new = KeyState.ACTIVE if procedure is Procedure.KEY_ACTIVATION else KeyState.DEACTIVATED
            ids = self._ids(value)
            for kid in ids:  # each one checked and persisted in turn
                state.set_key_state(kid, new)
            return value, f"key(s) {ids} {new.name.lower()}"
        if procedure is Procedure.KEY_INVENTORY:
            if len(value) != 4:
                raise ValueError("expected first and last key id (u16)")
            first, last = struct.unpack(">HH", value)
            found = [(k, s) for k, s in state.key_states().items() if first <= k <= last]
            body = _U16.pack(len(found)) + b"".join(struct.pack(">HB", k, s) for k, s in found)
            return body, f"{len(found)} key(s) in {first}..{last}"
        # OTAR: new keys wrapped under the management key with AES-256-GCM.
        if len(value) < 2 + GCM_IV_LEN + MAC_LEN + 2 + KEY_LEN:
            raise ValueError("OTAR value too short")
        (master,) = _U16.unpack_from(value)
        engine = state.management_engine()
        if master != MANAGEMENT_KEY_ID or engine is None:
            raise ValueError(f"key {master} is not the active management key")
        iv = value[2 : 2 + GCM_IV_LEN]
        if not iv[0] & 0x80:
            # The management SA's frames use this key with IVs counting up from 0: OTAR IVs
            # live in the top half so that no IV is ever used twice under the key.
            raise ValueError("OTAR IV must have its top bit set")
        aad = value[:2]
        plain = engine.open(iv, aad, value[2 + GCM_IV_LEN : -MAC_LEN], value[-MAC_LEN:])
        if len(plain) % (2 + KEY_LEN):
            raise ValueError("OTAR key list is not whole entries")
        entries = [
            (_U16.unpack_from(plain, i)[0], plain[i + 2 : i + 2 + KEY_LEN])
            for i in range(0, len(plain), 2 + KEY_LEN)
        ]
        state.add_keys(entries)
        ids = [kid for kid, _ in entries]
        return b"".join(_U16.pack(k) for k in ids), f"key(s) {ids} loaded pre-active"

    def sa_states(self) -> dict[int, str]:
        """SA state names by SPI (for the summary)."""
        if self.state is None:
            return {}
        return {spi: SaState(sa.state).name.lower() for spi, sa in self.state.sas.items()}
