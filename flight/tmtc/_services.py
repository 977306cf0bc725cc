"""PUS services of a node: verification (1), housekeeping (3), events (5), function
management (8), test (17) and parameters (20), in one component that owns the node's APID.

Telecommands arrive as raw bytes (:meth:`TmtcService.receive`, or polled from a ground link).
Each one is decoded and fully checked before anything changes (acceptance): a packet that
cannot be decoded, names another APID, an unknown service or subtype, or carries application
data of the wrong length or out-of-range arguments is rejected with a TM[1,2] failure report
(when its header is readable) and counted by reason. Accepted commands are executed and
verified with TM[1,3]/TM[1,7] (or TM[1,8] on failure). Success reports follow the TC's
acknowledgement flags (acceptance 0b1000, start 0b0100, completion 0b0001); failure reports
are always sent.

Application data layouts (all big-endian; ``N`` is an unsigned octet count of what follows):

=========  ==================================================================================
TC[3,5]    enable periodic HK:  N, N x SID (u16)
TC[3,6]    disable periodic HK: N, N x SID (u16)
TC[3,27]   one-shot HK report:  N, N x SID (u16)          -> TM[3,25] per SID
TC[3,31]   change interval:     N, N x (SID u16, interval ms u32)
TM[3,25]   HK report:           SID u16, the component's housekeeping structure
TC[5,5]    enable event reports:  N, N x event id (u16)
TC[5,6]    disable event reports: N, N x event id (u16)
TM[5,k]    event report, k = severity 1..4: event id u16, message (UTF-8, <= 200 octets)
TC[8,1]    perform function: function id u16 (component id << 8 | opcode), arguments
TC[8,128]  arm a hazardous request: service u8, subtype u8, function id u16 (0 unless 8/1)
TC[17,1]   are-you-alive                                   -> TM[17,2]
TC[20,1]   report parameters: N, N x parameter id (u16)    -> TM[20,2]: N, N x (id, value)
TC[20,3]   set parameters:    N, N x (parameter id u16, value)   (all or nothing)
TM[1,x]    request id (u32: first two words of the TC), failure code u16 for 2/4/8
=========  ==================================================================================

A parameter id is ``component id << 8 | parameter id``; a value is encoded in its declared
type. The SID of a component's housekeeping structure is its component id.

Command safety:

- A hazardous request (a command declared ``hazardous``, see :class:`flight.core.CommandDef`,
  or a subtype of an application's service whose handler's ``is_hazardous(subtype, data)``
  says so: a memory load, a key change) is accepted only within :data:`ARM_WINDOW_S` of
  onboard time after a TC[8,128] that armed exactly that request; the arming is used up by
  the execution. Unarmed or expired: TM[1,2] with ``NOT_ARMED``, nothing changes.
- TC[20,3] refuses a parameter declared ``ground_writable=False`` (state, not tuning) with
  ``NOT_ALLOWED``.
- No component can be made silent: disabling the periodic housekeeping of a component one of
  whose HIGH-severity events is disabled, or disabling a HIGH-severity event of a component
  whose periodic housekeeping is off, is refused with ``NOT_ALLOWED`` (FDIR could otherwise
  be blinded by switching off both its reports and its housekeeping).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Protocol

from flight.core import (
    NS_PER_MS,
    Component,
    Declaration,
    EventDef,
    EventRecord,
    Executive,
    FailureCode,
    FieldType,
    ParamDef,
    Severity,
    TlmField,
)
from flight.tmtc._downlink_buffer import DownlinkBuffer
from flight.tmtc._pus import TcPacket, pack_tm, peek_tc_header, unpack_tc
from flight.tmtc._spacepacket import DEFAULT_MAX_PACKET_LEN, WireReason
from flight.tmtc._timecode import CdsFormat, CucFormat
from native.errors import CommandError, ParameterError, WireError

__all__ = ["HkSchedule", "ServiceHandler", "TmtcService"]

ACK_ACCEPTANCE: Final = 0b1000
ACK_START: Final = 0b0100
ACK_COMPLETION: Final = 0b0001
MAX_EVENT_MESSAGE: Final = 200
#: Most distinct housekeeping structures one TC[3,5]/[3,6]/[3,27] may name.
MAX_HK_SIDS: Final = 32
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_SID_INTERVAL = struct.Struct(">HI")
_REQ = struct.Struct(">I")
_REQ_FAIL = struct.Struct(">IH")
_ARM = struct.Struct(">BBH")
#: TC[8,x] subtype that arms a hazardous request (mission-specific range, >= 128).
ARM_SUBTYPE: Final = 128
#: Time (s of onboard time) an arming stays valid.
ARM_WINDOW_S: Final = 60.0

_WIRE_TO_FAILURE: dict[str, FailureCode] = {
    WireReason.CRC: FailureCode.CRC_MISMATCH,
    WireReason.TRUNCATED: FailureCode.INVALID_LENGTH,
    WireReason.OVERSIZED: FailureCode.INVALID_LENGTH,
    WireReason.LENGTH_MISMATCH: FailureCode.INVALID_LENGTH,
    WireReason.BAD_TYPE: FailureCode.ILLEGAL_PACKET_TYPE,
}


class ServiceHandler(Protocol):
    """A PUS service added to a node by an application (e.g. PUS-6 by EDAC).

    ``check`` validates a TC completely and raises :class:`CommandError` (with its
    :class:`FailureCode`) to reject it at acceptance, changing nothing. ``execute`` runs an
    accepted TC; it may emit TM through ``send_tm(service, subtype, data)`` and raises
    :class:`CommandError` for an execution failure.
    """

    def check(self, subtype: int, data: bytes) -> None:
        """Accept or reject (raise CommandError) without side effects."""
        ...

    def execute(
        self, subtype: int, data: bytes, send_tm: Callable[[int, int, bytes], bytes]
    ) -> None:
        """Run an accepted request."""
        ...


#: Housekeeping counter bumped for each acceptance failure code (others: ``rej_header``).
_REJECT_COUNTER: dict[FailureCode, str] = {
    FailureCode.CRC_MISMATCH: "rej_crc",
    FailureCode.INVALID_LENGTH: "rej_length",
    FailureCode.ILLEGAL_APID: "rej_apid",
    FailureCode.ILLEGAL_SERVICE: "rej_service",
    FailureCode.ILLEGAL_SUBTYPE: "rej_service",
    FailureCode.ILLEGAL_ARGUMENT: "rej_argument",
    FailureCode.UNKNOWN_FUNCTION: "rej_argument",
    FailureCode.UNKNOWN_PARAMETER: "rej_argument",
    FailureCode.UNKNOWN_STRUCTURE: "rej_argument",
    FailureCode.NOT_ARMED: "rej_argument",
    FailureCode.NOT_ALLOWED: "rej_argument",
}


class _Reject(Exception):
    """Acceptance failure inside the dispatcher (never leaves this module)."""

    def __init__(self, code: FailureCode, why: str) -> None:
        super().__init__(why)
        self.code = code


@dataclass(slots=True)
class HkSchedule:
    """Periodic generation state of one housekeeping structure (times in ns)."""

    sid: int
    enabled: bool
    interval_ns: int
    next_due_ns: int = 0


def _counted(data: bytes, item: struct.Struct) -> list[tuple[int, ...]]:
    """Parse ``N, N x item``; the length must match exactly."""
    if not data:
        raise _Reject(FailureCode.INVALID_LENGTH, "missing count octet")
    n = data[0]
    if n == 0 or len(data) != 1 + n * item.size:
        raise _Reject(
            FailureCode.INVALID_LENGTH,
            f"count {n} needs {1 + n * item.size} octets, got {len(data)}",
        )
    return [item.unpack_from(data, 1 + i * item.size) for i in range(n)]


# -- wire layouts of the built-in services (the ground dictionary reads them) -------------
# Items: {"name", "type": u8..f64, "unit"?, "enum"?} a scalar; {"type": "array", "count":
# earlier field, "items": [...]} a repeat; {"type": "utf8", "length": "rest"} text up to the
# end of the data; {"type": "housekeeping_structure" | "command_arguments" |
# "parameter_value", "key": earlier field} the declared layout that field selects.
_REQUEST_ID: Final = {"name": "request_id", "type": "u32",
                      "doc": "first 32 bits of the TC (packet id and sequence control)"}
_FAILURE: Final = {"name": "failure_code", "type": "u16",
                   "enum": {c.name: int(c) for c in FailureCode}}


def _listed(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": "n", "type": "u8", "min": 1, "max": 255},
            {"name": "items", "type": "array", "count": "n", "items": list(items)}]


_SID: Final = {"name": "sid", "type": "u16", "doc": "housekeeping structure id"}
_EVENT_ID: Final = {"name": "event_id", "type": "u16", "doc": "component id << 8 | event id"}
_PARAM_ID: Final = {"name": "parameter_id", "type": "u16",
                    "doc": "component id << 8 | parameter id"}
_PARAM_VALUE: Final = {"name": "value", "type": "parameter_value", "key": "parameter_id"}

#: TC and TM subtypes of services 1, 3, 5, 8, 17 and 20 with their application/source data
#: layouts (big-endian, in order; see the module docstring). Plain data for the dictionary.
BUILTIN_SERVICES: Final[tuple[dict[str, Any], ...]] = (
    {"service": 1, "name": "request verification", "tc": [], "tm": [
        {"subtype": 1, "name": "acceptance_success", "layout": [_REQUEST_ID]},
        {"subtype": 2, "name": "acceptance_failure", "layout": [_REQUEST_ID, _FAILURE]},
        {"subtype": 3, "name": "start_success", "layout": [_REQUEST_ID]},
        {"subtype": 7, "name": "completion_success", "layout": [_REQUEST_ID]},
        {"subtype": 8, "name": "completion_failure", "layout": [_REQUEST_ID, _FAILURE]},
    ]},
    {"service": 3, "name": "housekeeping", "tc": [
        {"subtype": 5, "name": "enable_periodic_hk", "layout": _listed(_SID)},
        {"subtype": 6, "name": "disable_periodic_hk", "layout": _listed(_SID)},
        {"subtype": 27, "name": "one_shot_hk", "layout": _listed(_SID), "reply": [3, 25]},
        {"subtype": 31, "name": "change_hk_interval", "layout": _listed(
            _SID, {"name": "interval_ms", "type": "u32", "unit": "ms", "max": 86_400_000,
                   "doc": "at least one executive base period"})},
    ], "tm": [
        {"subtype": 25, "name": "hk_report", "layout": [
            _SID, {"name": "structure", "type": "housekeeping_structure", "key": "sid"}]},
    ]},
    {"service": 5, "name": "event reporting", "tc": [
        {"subtype": 5, "name": "enable_event_reports", "layout": _listed(_EVENT_ID)},
        {"subtype": 6, "name": "disable_event_reports", "layout": _listed(_EVENT_ID)},
    ], "tm": [
        {"subtype": int(sev), "name": f"event_{sev.name.lower()}", "layout": [
            _EVENT_ID, {"name": "message", "type": "utf8", "length": "rest",
                        "max_octets": MAX_EVENT_MESSAGE}]}
        for sev in Severity
    ]},
    {"service": 8, "name": "function management", "tc": [
        {"subtype": 1, "name": "perform_function", "layout": [
            {"name": "function_id", "type": "u16", "doc": "component id << 8 | opcode"},
            {"name": "arguments", "type": "command_arguments", "key": "function_id"}]},
        {"subtype": ARM_SUBTYPE, "name": "arm_hazardous", "layout": [
            {"name": "service", "type": "u8", "doc": "service of the request armed"},
            {"name": "subtype", "type": "u8", "doc": "subtype of the request armed"},
            {"name": "function_id", "type": "u16",
             "doc": "for TC[8,1]: component id << 8 | opcode of a hazardous command; else 0"}],
         "doc": f"arms one hazardous request for {ARM_WINDOW_S:.0f} s of onboard time"},
    ], "tm": []},
    {"service": 17, "name": "test", "tc": [
        {"subtype": 1, "name": "are_you_alive", "layout": [], "reply": [17, 2]},
    ], "tm": [{"subtype": 2, "name": "alive_report", "layout": []}]},
    {"service": 20, "name": "parameter management", "tc": [
        {"subtype": 1, "name": "report_parameters", "layout": _listed(_PARAM_ID),
         "reply": [20, 2]},
        {"subtype": 3, "name": "set_parameters", "layout": _listed(_PARAM_ID, _PARAM_VALUE)},
    ], "tm": [
        {"subtype": 2, "name": "parameter_report", "layout": _listed(_PARAM_ID, _PARAM_VALUE)},
    ]},
)  # fmt: skip


class TmtcService(Component):
    """The node's PUS endpoint: decodes TCs, runs services, emits every TM packet.

    ``sinks`` receive every TM packet (bytes): the archive, the ground link.
    """

    #: wire layouts of the built-in services (:data:`BUILTIN_SERVICES`)
    SERVICES: ClassVar[tuple[dict[str, Any], ...]] = BUILTIN_SERVICES

    DECLARATION = Declaration(
        telemetry=(
            TlmField("tc_received", FieldType.U32, "", "TC packets received"),
            TlmField("tc_accepted", FieldType.U32, "", "TCs that passed acceptance"),
            TlmField("tc_rejected", FieldType.U32, "", "TCs rejected at acceptance"),
            TlmField("tc_completed", FieldType.U32, "", "TCs executed successfully"),
            TlmField("tc_failed", FieldType.U32, "", "TCs that failed in execution"),
            TlmField("tc_queue_drops", FieldType.U32, "", "TCs dropped: input queue full"),
            TlmField("rej_crc", FieldType.U32, "", "rejections: PEC mismatch"),
            TlmField("rej_length", FieldType.U32, "", "rejections: length/truncation"),
            TlmField("rej_header", FieldType.U32, "", "rejections: version/type/flags"),
            TlmField("rej_apid", FieldType.U32, "", "rejections: APID not ours"),
            TlmField("rej_service", FieldType.U32, "", "rejections: unknown service/subtype"),
            TlmField("rej_argument", FieldType.U32, "", "rejections: bad application data"),
            TlmField("tm_sent", FieldType.U32, "", "TM packets emitted"),
            TlmField("tm_bytes", FieldType.U64, "B", "TM octets emitted"),
            TlmField("sink_errors", FieldType.U32, "", "TM packets a sink failed to take"),
            TlmField("hk_errors", FieldType.U32, "", "housekeeping reports that failed"),
            TlmField(
                "tc_deferred", FieldType.U32, "", "TCs held for a later step: service budget spent"
            ),
        ),
        events=(
            EventDef(1, "tc_rejected", Severity.LOW, "TC rejected ({code}): {why}"),
            EventDef(2, "tc_failed", Severity.MEDIUM, "TC [{service},{subtype}] failed: {why}"),
            EventDef(3, "param_changed", Severity.INFO, "parameter {name} set to {value}"),
            EventDef(
                20, "armed", Severity.MEDIUM, "TC[{service},{subtype}] {function} armed for {s} s"
            ),
            EventDef(
                4, "hk_failed", Severity.MEDIUM, "housekeeping of structure {sid} failed: {error}"
            ),
        ),
        params=(
            # At least 8: fewer lets a handful of housekeeping requests starve the ground's
            # recovery commands (one TC per step was accepted and persisted by sabotage).
            ParamDef(1, "tc_per_step", FieldType.U16, 16, 8, 1000, "", "TCs processed per step"),
            ParamDef(
                2,
                "service_work_per_step",
                FieldType.U16,
                16,
                4,
                256,
                "",
                "work units one PUS service may use per step (a TC is 1; see work_cost)",
            ),
        ),
    )

    def __init__(
        self,
        executive: Executive,
        apid: int,
        *,
        name: str = "tmtc",
        component_id: int = 2,
        time_code: CucFormat | CdsFormat | None = None,
        hk_interval_s: float = 10.0,
        max_packet_len: int = DEFAULT_MAX_PACKET_LEN,
        tc_queue_depth: int = 64,
        sinks: list[Callable[[bytes], None]] | None = None,
        poll: Callable[[int], list[bytes]] | None = None,
    ) -> None:
        super().__init__(name, component_id)
        if not 0 <= apid < 0x7FF:
            raise ValueError(f"APID {apid} outside 0..2046 (2047 is the idle APID)")
        self.executive = executive
        self.apid = apid
        self.time_code = time_code if time_code is not None else CucFormat()
        self.max_packet_len = max_packet_len
        self.sinks: list[Callable[[bytes], None]] = list(sinks or [])
        self._poll = poll
        self._queue: deque[bytes] = deque()
        self._queue_depth = tc_queue_depth
        self._seq = 0
        self._msg_counters: dict[tuple[int, int], int] = {}
        self._hk_interval_ns = round(hk_interval_s * 1e9)
        self.hk_schedule: dict[int, HkSchedule] = {}
        self.disabled_events: set[int] = set()
        self.verification_log: deque[tuple[int, int, int]] = deque(maxlen=256)
        self.extra_services: dict[int, ServiceHandler] = {}
        #: armed hazardous requests: (service, subtype, function id) -> expiry (onboard ns)
        self.armed: dict[tuple[int, int, int], int] = {}
        #: outgoing TM waits here (protected memory) until the step drains it; None: TM goes
        #: to the sinks as soon as it is made
        self.downlink_buffer: DownlinkBuffer | None = None
        executive.add(self, executive.base_hz)
        executive.events.add_sink(self._on_event)

    def register_service(self, service: int, handler: ServiceHandler) -> None:
        """Add a PUS service type provided by an application (one handler per service)."""
        if service in (1, 3, 5, 8, 17, 20) or service in self.extra_services:
            raise ValueError(f"PUS service {service} is already provided")
        if not 1 <= service <= 255:
            raise ValueError(f"service type {service} outside 1..255")
        self.extra_services[service] = handler

    # -- TM out -------------------------------------------------------------------------
    def attach_downlink_buffer(self, buffer: DownlinkBuffer) -> None:
        """Route every TM packet through ``buffer``: stored when made, handed to the sinks
        when :meth:`step` (or :meth:`flush_downlink`) drains it. The ring must hold a packet
        of ``max_packet_len`` octets (``ValueError`` otherwise; nothing changes)."""
        if not isinstance(buffer, DownlinkBuffer):
            raise TypeError(f"{type(buffer).__name__} is not a DownlinkBuffer")
        if buffer.max_packet_len < self.max_packet_len:
            raise ValueError(
                f"downlink buffer holds packets of at most {buffer.max_packet_len} octets, "
                f"TM packets may have {self.max_packet_len}"
            )
        if self.downlink_buffer is not None:
            raise ValueError("a downlink buffer is already attached")
        self.downlink_buffer = buffer

    def flush_downlink(self) -> int:
        """Hand every packet waiting in the downlink buffer to the sinks now (see
        :meth:`DownlinkBuffer.drain`); returns how many were sent (0 without a buffer)."""
        if self.downlink_buffer is None:
            return 0
        return self.downlink_buffer.drain(self._deliver)

    def on_stop(self) -> None:
        """Nothing made before the stop stays behind in the downlink buffer."""
        self.flush_downlink()

    def send_tm(self, service: int, subtype: int, data: bytes = b"") -> bytes:
        """Pack and emit one TM packet now; returns its octets. With a downlink buffer the
        packet is stored there and reaches the sinks when the buffer is drained."""
        key = (service, subtype)
        counter = self._msg_counters.get(key, 0)
        self._msg_counters[key] = (counter + 1) & 0xFFFF
        packet = pack_tm(
            self.apid,
            self._seq,
            service,
            subtype,
            counter,
            0,
            self.time_code.encode(self.clock.now_ns()),
            data,
            max_len=self.max_packet_len,
        )
        self._seq = (self._seq + 1) & 0x3FFF
        self.hk.tm_sent += 1
        self.hk.tm_bytes += len(packet)
        if self.downlink_buffer is None or not self.downlink_buffer.push(packet):
            self._deliver(packet)
        return packet

    def _deliver(self, packet: bytes) -> None:
        for sink in self.sinks:
            try:
                sink(packet)
            except Exception:  # one failing sink (a full disk) must not stop the others
                self.hk.sink_errors += 1

    def _on_event(self, record: EventRecord) -> None:
        if record.wire_id in self.disabled_events or self._clock is None:
            return
        message = record.message.encode("utf-8", "replace")[:MAX_EVENT_MESSAGE]
        self.send_tm(5, int(record.severity), _U16.pack(record.wire_id) + message)

    # -- housekeeping ---------------------------------------------------------------------
    def on_boot(self) -> None:
        """A processor reset empties the TC queue and restores the default TM configuration;
        every arming is forgotten."""
        self._queue.clear()
        self.armed.clear()
        self.hk_schedule.clear()
        self.disabled_events.clear()

    def on_start(self) -> None:
        """Schedule periodic housekeeping for every component (enabled, default interval)."""
        now = self.clock.now_ns()
        for comp in self.executive.components:
            if comp.DECLARATION.telemetry and comp.component_id not in self.hk_schedule:
                self.hk_schedule[comp.component_id] = HkSchedule(
                    comp.component_id, True, self._hk_interval_ns, now
                )

    def report_housekeeping(self, sid: int) -> bytes:
        """Emit TM[3,25] for the structure ``sid`` now."""
        comp = self.executive.component(sid)
        if comp is None:
            raise ValueError(f"no housekeeping structure {sid}")
        return self.send_tm(3, 25, _U16.pack(sid) + comp.pack_housekeeping())

    # -- TC in ----------------------------------------------------------------------------
    def receive(self, raw: bytes) -> None:
        """Queue one raw TC packet for the next step (counted as a drop if the queue is full)."""
        if len(self._queue) >= self._queue_depth:
            self.hk.tc_queue_drops += 1
            return
        self._queue.append(bytes(raw))

    def step(self, t_ns: int) -> None:
        """Poll the link, process queued TCs (bounded), emit due housekeeping, then drain the
        downlink buffer (when one is attached) to the sinks."""
        if self._poll is not None or self._queue:
            self._process_queue()
        for sched in self.hk_schedule.values():
            if sched.enabled and t_ns >= sched.next_due_ns:
                sched.next_due_ns = t_ns + sched.interval_ns  # a failure must not starve others
                try:
                    self.report_housekeeping(sched.sid)
                except Exception as exc:  # e.g. a field value outside its wire type
                    self.hk.hk_errors += 1
                    self.emit("hk_failed", sid=sched.sid, error=repr(exc))
        if self.downlink_buffer is not None:
            self.downlink_buffer.drain(self._deliver)

    def _process_queue(self) -> None:
        """Poll the link and process queued TCs within the step's budgets."""
        budget = int(self.param["tc_per_step"])
        if self._poll is not None:
            for raw in self._poll(budget):
                self.receive(raw)
        # Work budget per service: a TC whose service has spent its budget this step waits
        # (in order) for the next step, so that one service's flood (memory checks, HK
        # requests) neither starves the others nor overruns the tick.
        limit = int(self.param["service_work_per_step"])
        spent: dict[int, int] = {}
        held: list[bytes] = []
        done = 0
        for _ in range(len(self._queue)):
            if done >= budget:
                break
            raw = self._queue.popleft()
            service, cost = self.work_cost(raw)
            used = spent.get(service, 0)
            if used and used + cost > limit:
                held.append(raw)
                continue
            spent[service] = used + cost
            done += 1
            self.process(raw)
        if held:
            self.hk.tc_deferred += len(held)
            self._queue.extendleft(reversed(held))

    def work_cost(self, raw: bytes) -> tuple[int, int]:
        """``(service, work units)`` of a raw TC, for the per-service budget of a step.

        One unit is one ordinary TC. A one-shot HK request costs one unit per 4 structures
        (each makes a packet); an application service's TC costs what its handler's
        ``cost(subtype, data)`` says (a PUS-6 check: by octets). Bytes that are no PUS TC
        cost 1 under service -1 (they are rejected at once). Never raises.
        """
        header = peek_tc_header(raw)
        if header is None:
            return -1, 1
        service = header.service
        if service != 3 and service not in self.extra_services:
            return service, 1
        try:
            tc = unpack_tc(raw, max_len=self.max_packet_len)
            data = bytes(tc.data)
            if service == 3:
                return service, max(1, -(-len(set(_counted(data, _U16))) // 4))
            cost = getattr(self.extra_services[service], "cost", None)
            return service, max(1, int(cost(tc.subtype, data))) if cost is not None else 1
        except Exception:  # undecodable: acceptance rejects it, at the cost of one TC
            return service, 1

    def process(self, raw: bytes) -> bool:
        """Decode, accept and execute one TC now. True when it completed successfully.

        Never raises: every failure becomes a counter, an event and (where the header can be
        read) a PUS-1 failure report.
        """
        self.hk.tc_received += 1
        try:
            tc, request = self._accept(raw)
        except _Reject as rej:
            self._reject(raw, rej.code, str(rej))
            return False
        self.hk.tc_accepted += 1
        request_id = _REQ.unpack_from(raw)[0]
        if tc.ack_flags & ACK_ACCEPTANCE:
            self._verify(1, _REQ.pack(request_id), request_id)
        if tc.ack_flags & ACK_START:
            self._verify(3, _REQ.pack(request_id), request_id)
        try:
            self._execute(tc, request)
        except CommandError as exc:
            self.hk.tc_failed += 1
            self.emit("tc_failed", service=tc.service, subtype=tc.subtype, why=str(exc))
            self._verify(8, _REQ_FAIL.pack(request_id, int(exc.code)), request_id)
            return False
        except Exception as exc:  # a service bug must not escape the executive either
            self.hk.tc_failed += 1
            self.emit("tc_failed", service=tc.service, subtype=tc.subtype, why=repr(exc))
            code = int(FailureCode.EXECUTION_FAILED)
            self._verify(8, _REQ_FAIL.pack(request_id, code), request_id)
            return False
        self.hk.tc_completed += 1
        if tc.ack_flags & ACK_COMPLETION:
            self._verify(7, _REQ.pack(request_id), request_id)
        return True

    def _verify(self, subtype: int, data: bytes, request_id: int) -> None:
        self.verification_log.append((subtype, request_id, self.clock.now_ns()))
        self.send_tm(1, subtype, data)

    def _reject(self, raw: bytes, code: FailureCode, why: str) -> None:
        self.hk.tc_rejected += 1
        counter = _REJECT_COUNTER.get(code, "rej_header")
        setattr(self.hk, counter, getattr(self.hk, counter) + 1)
        self.emit("tc_rejected", code=code.name, why=why)
        header = peek_tc_header(raw)
        if header is not None:
            self._verify(2, _REQ_FAIL.pack(header.request_id, int(code)), header.request_id)

    # -- acceptance -----------------------------------------------------------------------
    def _accept(self, raw: bytes) -> tuple[TcPacket, Any]:
        try:
            tc = unpack_tc(raw, max_len=self.max_packet_len)
        except WireError as exc:
            code = _WIRE_TO_FAILURE.get(exc.reason, FailureCode.MALFORMED)
            raise _Reject(code, f"{exc.reason}: {exc}") from None
        if tc.apid != self.apid:
            raise _Reject(FailureCode.ILLEGAL_APID, f"APID {tc.apid} is not {self.apid}")
        return tc, self._check_request(tc)

    def _check_request(self, tc: TcPacket) -> Any:
        """Validate a TC's service, subtype and application data without side effects;
        returns the decoded request that :meth:`_execute` then carries out."""
        s, t, data = tc.service, tc.subtype, bytes(tc.data)
        if s == 17:
            if t != 1:
                raise _Reject(FailureCode.ILLEGAL_SUBTYPE, f"service 17 has no subtype {t}")
            if data:
                raise _Reject(FailureCode.INVALID_LENGTH, "TC[17,1] carries no data")
            return None
        if s == 3:
            if t in (5, 6, 27):
                # A structure named twice is reported (or switched) once: 255 copies of one
                # SID must not make 255 packets.
                items = list(dict.fromkeys(_counted(data, _U16)))
                if len(items) > MAX_HK_SIDS:
                    raise _Reject(
                        FailureCode.ILLEGAL_ARGUMENT,
                        f"{len(items)} distinct structures, at most {MAX_HK_SIDS} per request",
                    )
                for (sid,) in items:
                    comp = self._structure(sid)
                    if t == 6:
                        self._refuse_silence(comp, hk_off=True)
                return items
            if t == 31:
                items = _counted(data, _SID_INTERVAL)
                if len({sid for sid, _ in items}) != len(items):
                    raise _Reject(FailureCode.ILLEGAL_ARGUMENT, "a structure is named twice")
                for sid, interval_ms in items:
                    self._structure(sid)
                    period_ms = self.executive.period_ns / NS_PER_MS
                    if not period_ms <= interval_ms <= 86_400_000:
                        raise _Reject(
                            FailureCode.ILLEGAL_ARGUMENT,
                            f"interval {interval_ms} ms outside [{period_ms:.0f}, 86400000]",
                        )
                return items
            raise _Reject(FailureCode.ILLEGAL_SUBTYPE, f"service 3 has no TC subtype {t}")
        if s == 5:
            if t not in (5, 6):
                raise _Reject(FailureCode.ILLEGAL_SUBTYPE, f"service 5 has no TC subtype {t}")
            items = _counted(data, _U16)
            for (wire_id,) in items:
                self._event_exists(wire_id)
                if t == 6:
                    owner = self._function_owner(wire_id)
                    event = next(e for e in owner.DECLARATION.events if e.id == wire_id & 0xFF)
                    if event.severity is Severity.HIGH:
                        self._refuse_silence(owner, hk_off=False)
            return items
        if s == 8:
            if t == ARM_SUBTYPE:
                return self._check_arm(data)
            if t != 1:
                raise _Reject(FailureCode.ILLEGAL_SUBTYPE, f"service 8 has no subtype {t}")
            if len(data) < 2:
                raise _Reject(FailureCode.INVALID_LENGTH, "TC[8,1] needs a function id")
            function_id = _U16.unpack_from(data)[0]
            comp = self._function_owner(function_id)
            try:
                cmd, values = comp.decode_command(data[1], data[2:])
                hazardous = comp.is_hazardous(cmd, values)
            except CommandError as exc:
                raise _Reject(FailureCode(exc.code), str(exc)) from None
            key = (8, 1, function_id) if hazardous else None
            if key is not None:
                self._require_armed(key, f"{comp.name}.{cmd.name}")
            return comp, cmd, values, key
        if s == 20:
            if t == 1:
                items = _counted(data, _U16)
                for (pid,) in items:
                    self._param(pid)
                return [pid for (pid,) in items]
            if t == 3:
                return self._decode_param_values(data)
            raise _Reject(FailureCode.ILLEGAL_SUBTYPE, f"service 20 has no TC subtype {t}")
        if s in self.extra_services:
            handler = self.extra_services[s]
            try:
                handler.check(t, data)
            except CommandError as exc:
                raise _Reject(FailureCode(exc.code), str(exc)) from None
            cost = getattr(handler, "cost", None)
            limit = int(self.param["service_work_per_step"])
            if cost is not None and int(cost(t, data)) > limit:
                raise _Reject(
                    FailureCode.ILLEGAL_ARGUMENT,
                    f"TC[{s},{t}] costs {int(cost(t, data))} work units, more than the "
                    f"{limit} a service may use per step",
                )
            if self._service_hazardous(handler, t, data):
                self._require_armed((s, t, 0), f"TC[{s},{t}]")
                return (s, t, 0)
            return None
        raise _Reject(FailureCode.ILLEGAL_SERVICE, f"service {s} not provided")

    # -- command safety -----------------------------------------------------------------------
    @staticmethod
    def _service_hazardous(handler: ServiceHandler, subtype: int, data: bytes) -> bool:
        """An application service's request is hazardous when its handler says so through an
        optional ``is_hazardous(subtype, data) -> bool``."""
        judge = getattr(handler, "is_hazardous", None)
        return bool(judge(subtype, data)) if callable(judge) else False

    def _check_arm(self, data: bytes) -> tuple[int, int, int]:
        """TC[8,128]: the request named must be one that can be hazardous."""
        if len(data) != _ARM.size:
            raise _Reject(FailureCode.INVALID_LENGTH, f"TC[8,{ARM_SUBTYPE}] takes {_ARM.size} octets")
        service, subtype, function_id = _ARM.unpack(data)
        if (service, subtype) == (8, 1):
            comp = self._function_owner(function_id)
            cmd = comp.DECLARATION.command(function_id & 0xFF)
            if cmd is None:
                raise _Reject(FailureCode.UNKNOWN_FUNCTION, f"no function {function_id}")
            if not cmd.hazardous:
                raise _Reject(
                    FailureCode.ILLEGAL_ARGUMENT,
                    f"{comp.name}.{cmd.name} is not hazardous: it needs no arming",
                )
            return service, subtype, function_id
        handler = self.extra_services.get(service)
        if handler is None or function_id != 0 or not callable(
            getattr(handler, "is_hazardous", None)
        ):
            raise _Reject(
                FailureCode.ILLEGAL_ARGUMENT,
                f"TC[{service},{subtype}] (function {function_id}) is not an armable request",
            )
        return service, subtype, 0

    def _require_armed(self, key: tuple[int, int, int], what: str) -> None:
        expiry = self.armed.get(key)
        if expiry is None:
            raise _Reject(FailureCode.NOT_ARMED, f"{what} is hazardous and was not armed")
        if self.clock.now_ns() > expiry:
            raise _Reject(FailureCode.NOT_ARMED, f"{what}: arming expired")

    def _refuse_silence(self, comp: Component, *, hk_off: bool) -> None:
        """Refuse a request that would leave ``comp`` with neither periodic housekeeping nor
        every HIGH-severity event report (the ground would no longer see its faults)."""
        sched = self.hk_schedule.get(comp.component_id)
        hk_enabled = sched is not None and sched.enabled
        high_off = any(
            e.severity is Severity.HIGH
            and (comp.component_id << 8 | e.id) in self.disabled_events
            for e in comp.DECLARATION.events
        )
        if (hk_off and high_off) or (not hk_off and not hk_enabled):
            raise _Reject(
                FailureCode.NOT_ALLOWED,
                f"{comp.name} would be silent: its periodic housekeeping and a HIGH-severity "
                "event report would both be off",
            )

    def _structure(self, sid: int) -> Component:
        comp = self.executive.component(sid)
        if comp is None or not comp.DECLARATION.telemetry:
            raise _Reject(FailureCode.UNKNOWN_STRUCTURE, f"no housekeeping structure {sid}")
        return comp

    def _event_exists(self, wire_id: int) -> None:
        comp = self.executive.component(wire_id >> 8)
        if comp is None or not any(e.id == wire_id & 0xFF for e in comp.DECLARATION.events):
            raise _Reject(FailureCode.ILLEGAL_ARGUMENT, f"no event with id {wire_id}")

    def _function_owner(self, function_id: int) -> Component:
        comp = self.executive.component(function_id >> 8)
        if comp is None:
            raise _Reject(FailureCode.UNKNOWN_FUNCTION, f"no component {function_id >> 8}")
        return comp

    def _param(self, wire_id: int) -> tuple[Component, ParamDef]:
        comp = self.executive.component(wire_id >> 8)
        if comp is None:
            raise _Reject(FailureCode.UNKNOWN_PARAMETER, f"no component for parameter {wire_id}")
        for p in comp.DECLARATION.params:
            if p.id == wire_id & 0xFF:
                return comp, p
        raise _Reject(FailureCode.UNKNOWN_PARAMETER, f"no parameter {wire_id}")

    def _decode_param_values(
        self, data: bytes
    ) -> list[tuple[Component, ParamDef, bool | int | float]]:
        if not data or data[0] == 0:
            raise _Reject(FailureCode.INVALID_LENGTH, "parameter count missing or zero")
        out = []
        offset = 1
        for _ in range(data[0]):
            if len(data) < offset + 2:
                raise _Reject(FailureCode.INVALID_LENGTH, "truncated parameter list")
            wire_id = _U16.unpack_from(data, offset)[0]
            comp, pdef = self._param(wire_id)
            if not pdef.ground_writable:
                raise _Reject(
                    FailureCode.NOT_ALLOWED,
                    f"{comp.name}.{pdef.name} is state kept onboard, not writable from the ground",
                )
            size = pdef.type.size
            if len(data) < offset + 2 + size:
                raise _Reject(FailureCode.INVALID_LENGTH, f"value of {pdef.name} truncated")
            try:
                # strict decoding: a BOOL octet other than 0/1 is refused, not read as True
                value = pdef.type.unpack_from(data, offset + 2)
                out.append((comp, pdef, pdef.check(value)))
            except (TypeError, ValueError) as exc:
                raise _Reject(FailureCode.ILLEGAL_ARGUMENT, f"{pdef.name}: {exc}") from None
            offset += 2 + size
        if offset != len(data):
            raise _Reject(FailureCode.INVALID_LENGTH, f"{len(data) - offset} trailing octets")
        # Relations between parameters: each component judges its whole candidate set.
        store = self.executive.params
        for comp in {c.component_id: c for c, _, _ in out}.values():
            candidate = dict(store.values(comp.name))
            candidate.update({p.name: v for c, p, v in out if c is comp})
            try:
                comp.validate_params(candidate)
            except ValueError as exc:
                raise _Reject(FailureCode.ILLEGAL_ARGUMENT, f"{comp.name}: {exc}") from None
        return out

    # -- execution ------------------------------------------------------------------------
    def _execute(self, tc: TcPacket, request: Any) -> None:
        """Carry out an accepted TC, given the request :meth:`_check_request` decoded."""
        s, t = tc.service, tc.subtype
        if s == 17:
            self.send_tm(17, 2)
        elif s == 3:
            if t == 31:
                for sid, interval_ms in request:
                    self.hk_schedule[sid].interval_ns = interval_ms * NS_PER_MS
            else:
                for (sid,) in request:
                    if t == 27:
                        self.report_housekeeping(sid)
                    else:
                        sched = self.hk_schedule.setdefault(
                            sid, HkSchedule(sid, False, self._hk_interval_ns)
                        )
                        sched.enabled = t == 5
                        sched.next_due_ns = self.clock.now_ns()
        elif s == 5:
            for (wire_id,) in request:
                if t == 5:
                    self.disabled_events.discard(wire_id)
                else:
                    self.disabled_events.add(wire_id)
        elif s == 8:
            if t == ARM_SUBTYPE:
                service, subtype, function_id = request
                self.armed[request] = self.clock.now_ns() + round(ARM_WINDOW_S * 1e9)
                self.emit(
                    "armed",
                    service=service,
                    subtype=subtype,
                    function=f"function {function_id:#06x}" if function_id else "",
                    s=f"{ARM_WINDOW_S:.0f}",
                )
                return
            comp, cmd, values, key = request
            if key is not None:
                del self.armed[key]  # one arming, one execution
            comp.invoke(cmd, values)
        elif s in self.extra_services:
            if request is not None:
                del self.armed[request]
            self.extra_services[s].execute(t, bytes(tc.data), self.send_tm)
        elif s == 20:
            if t == 1:
                self._report_params(request)
            else:
                self._set_params(request)

    def _report_params(self, wire_ids: list[int]) -> None:
        body = bytearray([len(wire_ids)])
        for wire_id in wire_ids:
            comp, pdef = self._param(wire_id)
            value = self.executive.params.get(comp.name, pdef.name)
            body += _U16.pack(wire_id) + struct.pack(">" + pdef.type.code, value)
        self.send_tm(20, 2, bytes(body))

    def _set_params(self, values: list[tuple[Component, ParamDef, bool | int | float]]) -> None:
        store = self.executive.params
        old = [(c, p, store.get(c.name, p.name)) for c, p, _ in values]
        try:
            for comp, pdef, value in values:
                store.set(comp.name, pdef.name, value, persist=False)
            store.save()
        except (ParameterError, OSError) as exc:
            for comp, pdef, value in old:  # all or nothing
                store.set(comp.name, pdef.name, value, persist=False)
            raise CommandError(
                f"parameter set failed: {exc}", FailureCode.EXECUTION_FAILED
            ) from exc
        for comp, pdef, value in values:
            self.emit("param_changed", name=f"{comp.name}.{pdef.name}", value=value)
