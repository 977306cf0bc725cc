"""The rig: serves one spacecraft's devices over the HIL wire protocol (``hal/hil/PROTOCOL.md``).

The devices are those of a seeded simulated world (the ``sim`` backend, opened through the
registry), except any device whose table names a ``driver`` (``"module:factory"``): that
device is built by the factory (a real device driver) and its readings carry its source.

The rig is the time master. In lock-step mode its world moves only when the flight side
sends ADVANCE (deterministic); in paced mode a pacing thread advances the world in real time
at the plant rate and counts overruns (steps that finished after the next step was due).

Sessions: one flight session at a time, any number of control sessions (fault injection).
Each connection is served by its own thread; the world is guarded by one lock. A message that
is malformed is answered with ERROR and counted, never executed; an oversized one is answered
with ERROR, counted, and its connection closed (its bytes cannot be skipped safely).
"""

from __future__ import annotations

import contextlib
import importlib
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hal import Device, Family
from hal.hil import (
    BACKEND_TARGET,
    CONTROL_TARGET,
    DEFAULT_MAX_FRAME,
    FAMILY_METHODS,
    FAMILY_PROPERTIES,
    MIN_MAX_FRAME,
    PROTOCOL_VERSION,
    READ_METHODS,
    ClockMode,
    ErrorCode,
    MessageType,
    RigProtocolError,
    Role,
    Stream,
    decode_frame,
    encode_value,
    error_entry,
    legacy_version_hint,
)
from hal.platform import ResetReason
from hal.registry import open_backend
from native.errors import ConfigError, DeviceCommandError, DeviceUnavailableError, HalError

__all__ = ["ActiveFault", "Rig", "RigStats"]

#: Message type by its text (checked messages only carry known types).
_MESSAGE_TYPES = {m.value: m for m in MessageType}

#: The ``type`` of a REPLY (a plain string: read on every reply).
_REPLY = MessageType.REPLY.value

#: Longest ``@rig stall`` a test may ask for (s): below any sensible call timeout.
_MAX_STALL_S = 5.0

#: Name the rig announces in WELCOME.
RIG_NAME = "satnode-rig"


@dataclass(slots=True)
class RigStats:
    """Counters of a rig (all since it started)."""

    sessions: int = 0  #: sessions opened (flight and control)
    refused: int = 0  #: handshakes refused
    messages: int = 0  #: well-formed messages handled
    calls: int = 0  #: device/backend calls executed
    advances: int = 0  #: lock-step advances
    rejected: int = 0  #: messages rejected (malformed, oversized, out of sequence)
    rejected_by_code: dict[str, int] = field(default_factory=dict)
    overruns: int = 0  #: paced steps that finished after the next step was due
    max_late_s: float = 0.0  #: worst pacing lateness, s


@dataclass(frozen=True, slots=True)
class ActiveFault:
    """A fault injected through the control channel."""

    target: str
    kind: str
    params: tuple[tuple[str, float | int], ...]
    at_ns: int
    until_ns: int | None  #: None: until cleared


class Rig:
    """A rig serving the devices of one simulated spacecraft (see the module docstring).

    ``seed``/``world``/``devices`` are those of the node configuration (``[node] seed``,
    ``[world]``, ``[devices]``); ``scenario`` a fault scenario file applied as the world's
    time passes; ``clock`` the clock mode; ``plant_rate_hz`` the paced mode's step rate.
    """

    def __init__(
        self,
        *,
        seed: int,
        world: Mapping[str, Any] | None = None,
        devices: Mapping[str, Mapping[str, Any]] | None = None,
        scenario: str | Path | None = None,
        clock: ClockMode | str = ClockMode.LOCKSTEP,
        plant_rate_hz: float = 1.0,
        max_frame: int = DEFAULT_MAX_FRAME,
    ) -> None:
        try:
            self.clock = ClockMode(clock)
        except ValueError:
            raise ConfigError(f"rig clock: {clock!r} is not 'lockstep' or 'paced'") from None
        if not plant_rate_hz > 0:
            raise ConfigError(f"rig plant rate must be > 0 Hz, got {plant_rate_hz!r}")
        if not isinstance(max_frame, int) or max_frame < MIN_MAX_FRAME:
            raise ConfigError(f"rig max_frame must be an int >= {MIN_MAX_FRAME}")
        self.seed = int(seed)
        self.plant_period_ns = round(1e9 / plant_rate_hz)
        self.max_frame = max_frame
        self.stats = RigStats()
        self._lock = threading.RLock()
        self._world_table = dict(world or {})
        self._device_tables = dict(devices or {})
        self._scenario_path = Path(scenario) if scenario is not None else None
        self._build()
        self._flight_session: object | None = None
        self._server: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._closed = threading.Event()
        self.address: tuple[str, int] | None = None
        #: called with a line for people at every refused handshake (``satnode rig`` prints
        #: it), so that a version or clock mismatch is explained on the rig's side too
        self.on_refuse: Callable[[str], None] | None = None

    def _build(self) -> None:
        """(Re)build the world and the devices from the configuration (fresh, seeded)."""
        sim_devices: dict[str, Mapping[str, Any]] = {}
        driver_tables: dict[str, Mapping[str, Any]] = {}
        self._configs: dict[str, dict[str, Any]] = {}
        for name, table in self._device_tables.items():
            if not isinstance(table, Mapping):
                raise ConfigError(f"devices.{name}: must be a table")
            self._configs[name] = {k: v for k, v in table.items() if k != "driver"}
            (driver_tables if "driver" in table else sim_devices)[name] = table
        backend: Any = open_backend("sim", seed=self.seed, world=dict(self._world_table))
        backend.create_devices(sim_devices)
        devices: dict[str, Device] = dict(backend.devices)
        sources = {n: "sim" for n in devices}
        for name, table in driver_tables.items():
            devices[name] = _make_driver(name, table)
            sources[name] = f"driver:{table['driver']}"
        if self._scenario_path is not None:
            backend.load_scenario(self._scenario_path)
        old = getattr(self, "_backend", None)
        if old is not None:
            old.close()
        self._backend = backend
        self._devices = devices
        self._sources = sources
        #: methods each device serves (looked up on every call: built once)
        self._methods = {n: FAMILY_METHODS[Family(d.family)] for n, d in devices.items()}
        #: the dispatch table of device calls: target -> method -> (callable, the reading's
        #: source or None for a method that is not a read); one lookup per call
        self._dispatch: dict[str, dict[str, tuple[Any, str | None]]] = {
            n: {
                m: (
                    _outputs_submitter(dev) if m == "submit_outputs" else getattr(dev, m),
                    sources[n] if m in READ_METHODS else None,
                )
                for m in self._methods[n]
            }
            for n, dev in devices.items()
        }
        self._shadows: dict[str, np.ndarray] = {}
        self._flips_seen = 0
        self._faults: list[ActiveFault] = []

    # ----------------------------------------------------------------- facts
    @property
    def t_ns(self) -> int:
        """World time (ns since the scenario epoch)."""
        return int(self._backend.t_ns)

    @property
    def backend(self) -> Any:
        """The simulated backend behind the rig (tests and the equivalence check read it)."""
        return self._backend

    def device_table(self) -> list[dict[str, Any]]:
        """The WELCOME device list: name, family, source, configuration, constant properties."""
        out = []
        for name, dev in self._devices.items():
            fam = Family(dev.family)
            info: dict[str, Any] = {}
            for prop in FAMILY_PROPERTIES[fam]:
                val = getattr(dev, prop)
                if prop == "modes":  # PowerMode -> ModeSpec: keys as the mode names
                    val = {str(k): v for k, v in val.items()}
                info[prop] = encode_value(val)
            out.append(
                {
                    "name": name,
                    "family": fam.value,
                    "source": self._sources[name],
                    "fault_channels": list(getattr(dev, "fault_channels", ())),
                    "config": encode_value(self._configs.get(name, {})),
                    "info": info,
                }
            )
        return out

    # ----------------------------------------------------------------- serving
    def listen(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Bind and start serving in background threads; returns the bound (host, port)
        (port 0 picks a free one). In paced mode the pacing thread starts too."""
        if self._server is not None:
            raise ConfigError("rig is already listening")
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            srv.bind((host, port))
        except OSError as exc:
            srv.close()
            raise ConfigError(f"rig: cannot listen on {host}:{port}: {exc}") from None
        srv.listen(8)
        self._server = srv
        bound = srv.getsockname()
        self.address = (str(bound[0]), int(bound[1]))
        self._spawn(self._accept_loop, "rig-accept")
        if self.clock is ClockMode.PACED:
            self._spawn(self._pace_loop, "rig-pace")
        return self.address

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until :meth:`close` (True) or ``timeout_s`` passes (False)."""
        return self._closed.wait(timeout_s)

    def close(self) -> None:
        """Stop serving: close the listening socket and every connection (idempotent)."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.close()
        for conn in list(self._conns):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=2.0)
        self._backend.close()

    def _accept_loop(self) -> None:
        srv = self._server
        assert srv is not None
        while not self._closed.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            self._conns.add(conn)
            self._spawn(self._session, "rig-session", conn)

    def _pace_loop(self) -> None:
        """Paced mode: advance the world by one plant period per period of real time."""
        period_ns = self.plant_period_ns
        start = time.monotonic_ns()
        k = 0
        while not self._closed.is_set():
            due = start + (k + 1) * period_ns
            wait = due - time.monotonic_ns()
            if wait > 0 and self._closed.wait(wait / 1e9):
                return
            with self._lock:
                self._backend.advance(period_ns)
                self._expire_faults()
            k += 1
            late = time.monotonic_ns() - (start + (k + 1) * period_ns)
            if late > 0:  # this step ended after the next one was due: an overrun
                self.stats.overruns += 1
                self.stats.max_late_s = max(self.stats.max_late_s, late / 1e9)

    def _reject(self, stream: Stream, code: ErrorCode, reason: str, re: int | None) -> None:
        self.stats.rejected += 1
        self.stats.rejected_by_code[code.value] = self.stats.rejected_by_code.get(code.value, 0) + 1
        msg: dict[str, Any] = {
            "type": MessageType.ERROR.value,
            "ts": self.t_ns,
            "code": code.value,
            "reason": reason,
        }
        if re is not None:
            msg["re"] = re
        with contextlib.suppress(OSError):
            stream.send(msg)

    def _session(self, conn: socket.socket) -> None:
        stream = Stream(conn, self.max_frame)
        role: Role | None = None
        last_seq = 0
        token = object()
        try:
            while not self._closed.is_set():
                try:
                    body = stream.recv_body(None)
                except RigProtocolError as exc:  # oversized: answer, count, drop the link
                    self._reject(stream, ErrorCode.OVERSIZED, str(exc), None)
                    return
                except OSError:
                    return
                try:
                    msg = decode_frame(body)
                except RigProtocolError as exc:
                    hint = legacy_version_hint(body) if role is None else None
                    if hint is not None:  # a version 1/2 client: refuse, as for a HELLO
                        self._refuse(stream, 0, ErrorCode.VERSION, hint)
                        return
                    self._reject(stream, ErrorCode.MALFORMED, str(exc), None)
                    continue
                seq = int(msg["seq"])
                if seq <= last_seq:
                    self._reject(stream, ErrorCode.SEQUENCE, f"seq {seq} after {last_seq}", seq)
                    continue
                last_seq = seq
                mtype = _MESSAGE_TYPES[msg["type"]]
                self.stats.messages += 1
                if role is None:
                    if mtype is not MessageType.HELLO:
                        self._reject(stream, ErrorCode.UNEXPECTED, "HELLO first", seq)
                        continue
                    role = self._handshake(stream, msg, token)
                    if role is None:
                        return
                    continue
                if mtype is MessageType.BYE:
                    return
                if mtype is MessageType.CALL:
                    self._serve_calls(stream, msg, role, advance_to=None)
                elif mtype is MessageType.ADVANCE:
                    if role is not Role.FLIGHT or self.clock is not ClockMode.LOCKSTEP:
                        self._reject(
                            stream,
                            ErrorCode.UNEXPECTED,
                            f"ADVANCE needs a flight session in lockstep (rig: {self.clock})",
                            seq,
                        )
                        continue
                    self._serve_calls(stream, msg, role, advance_to=int(msg["to_ns"]))
                else:
                    self._reject(stream, ErrorCode.UNEXPECTED, f"{mtype.value} from a client", seq)
        finally:
            with self._lock:
                if self._flight_session is token:
                    self._flight_session = None
            self._conns.discard(conn)
            stream.close()

    def _refuse(self, stream: Stream, re: int, code: ErrorCode, reason: str) -> None:
        """Answer a HELLO with REFUSE (counted, reported to :attr:`on_refuse`); the caller
        closes the session."""
        self.stats.refused += 1
        report = self.on_refuse
        if report is not None:
            with contextlib.suppress(Exception):  # a broken reporter must not stop serving
                report(f"refused a session ({code.value}): {reason}")
        with contextlib.suppress(OSError, DeviceCommandError):
            stream.send(
                {
                    "type": MessageType.REFUSE.value,
                    "re": re,
                    "ts": self.t_ns,
                    "code": code.value,
                    "reason": reason,
                    "proto": PROTOCOL_VERSION,
                }
            )

    def _handshake(self, stream: Stream, hello: dict[str, Any], token: object) -> Role | None:
        def refuse(code: ErrorCode, reason: str) -> None:
            self._refuse(stream, hello["seq"], code, reason)

        if hello["proto"] != PROTOCOL_VERSION:
            refuse(
                ErrorCode.VERSION,
                f"protocol version {hello['proto']} is not supported (this rig speaks "
                f"version {PROTOCOL_VERSION}, MessagePack bodies): run the same satnode "
                "version on both sides",
            )
            return None
        try:
            role = Role(hello["role"])
        except ValueError:
            refuse(ErrorCode.MALFORMED, f"unknown role {hello['role']!r}")
            return None
        if hello["clock"] not in ("any", self.clock.value):
            refuse(
                ErrorCode.CLOCK,
                f"the flight side wants clock {hello['clock']!r}; this rig runs "
                f"{self.clock.value!r}",
            )
            return None
        max_frame = min(self.max_frame, int(hello["max_frame"]))
        if max_frame < MIN_MAX_FRAME:
            refuse(ErrorCode.MALFORMED, f"max_frame must be >= {MIN_MAX_FRAME}")
            return None
        with self._lock:
            if role is Role.FLIGHT:
                if self._flight_session is not None:
                    refuse(ErrorCode.BUSY, "another flight session is open on this rig")
                    return None
                self._flight_session = token
            self.stats.sessions += 1
            restarted = False
            if (
                role is Role.FLIGHT
                and hello.get("restart") is True
                and self.clock is ClockMode.LOCKSTEP
            ):
                self._build()  # a fresh, seeded world: the run starts where `satnode sim` does
                restarted = True
            welcome = {
                "type": MessageType.WELCOME.value,
                "re": hello["seq"],
                "ts": self.t_ns,
                "proto": PROTOCOL_VERSION,
                "clock": self.clock.value,
                "rig": RIG_NAME,
                "seed": self.seed,
                "t_ns": self.t_ns,
                "plant_period_ns": self.plant_period_ns,
                "devices": self.device_table(),
                "max_frame": max_frame,
                "restarted": restarted,
            }
        stream.max_frame = max_frame
        stream.send(welcome)
        return role

    def _serve_calls(
        self, stream: Stream, msg: dict[str, Any], role: Role, advance_to: int | None
    ) -> None:
        call = self._call
        with self._lock:
            calls = msg["calls"]
            results = [call(role, *c) for c in calls] if calls else []
            backend = self._backend
            if advance_to is not None:
                dt = advance_to - backend.t_ns
                if dt > 0:
                    backend.advance(dt)
                    self.stats.advances += 1
                if self._faults:
                    self._expire_faults()
            t_ns = backend.t_ns
            reply: dict[str, Any] = {
                "type": _REPLY,
                "re": msg["seq"],
                "ts": t_ns,
                "t_ns": t_ns,
                "results": results,
                "status": {
                    "reboot_pending": bool(backend.reboot_pending),
                    "overruns": self.stats.overruns,
                    "faults": len(self._faults),
                },
            }
            if self._shadows:
                flips = self._collect_flips()
                if flips:
                    reply["flips"] = flips
        # a link that went down is seen by the session loop on its next read
        with contextlib.suppress(OSError):
            try:
                stream.send(reply)
            except DeviceCommandError as exc:  # a result too large or not encodable
                failed = error_entry(HalError(f"result cannot be sent: {exc}"))
                reply["results"] = [failed] * len(results)
                reply.pop("flips", None)
                stream.send(reply)

    def _status(self) -> dict[str, Any]:
        return {
            "reboot_pending": bool(self._backend.reboot_pending),
            "overruns": self.stats.overruns,
            "faults": len(self._faults),
        }

    # ----------------------------------------------------------------- dispatch
    def _call(
        self, role: Role, target: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        self.stats.calls += 1
        # the hot path: a flight session's call of a device method, one table lookup
        table = self._dispatch.get(target)
        slot = table.get(method) if table is not None and role is Role.FLIGHT else None
        if slot is not None:
            fn, src = slot
            try:
                value = fn(*args, **kwargs)
            except (HalError, ConfigError) as exc:
                return error_entry(exc)
            except (TypeError, ValueError) as exc:  # wrong arguments for the method
                return error_entry(DeviceCommandError(f"{target}.{method}: {exc}"))
            try:
                ok = encode_value(value)
            except HalError as exc:
                return error_entry(exc)
            return {"ok": ok} if src is None else {"ok": ok, "src": src}
        return self._call_slow(role, target, method, args, kwargs)

    def _call_slow(
        self, role: Role, target: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """Control and backend calls, and the errors of unknown targets and methods."""
        try:
            if target == CONTROL_TARGET:
                return {"ok": encode_value(self._control(method, args, kwargs))}
            if role is not Role.FLIGHT:
                raise DeviceCommandError("a control session may only call @faults")
            if target == BACKEND_TARGET:
                return {"ok": encode_value(self._backend_call(method, args, kwargs))}
            dev = self._devices.get(target)
            if dev is None:
                raise DeviceUnavailableError(f"rig has no device named {target!r}")
            if method not in self._methods[target]:
                raise DeviceCommandError(f"{target}: {method!r} is not a {dev.family} method")
            if method == "submit_outputs":
                value = _submit_outputs(dev, args, kwargs)
            else:
                value = getattr(dev, method)(*args, **kwargs)
            entry = {"ok": encode_value(value)}
            if method in READ_METHODS:
                entry["src"] = self._sources[target]
            return entry
        except (HalError, ConfigError) as exc:
            return error_entry(exc)
        except (TypeError, ValueError) as exc:  # wrong arguments for the method
            return error_entry(DeviceCommandError(f"{target}.{method}: {exc}"))

    def _backend_call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        b = self._backend
        if method == "reboot":
            reason = ResetReason(args[0] if args else ResetReason.COMMANDED)
            return b.reboot(reason)
        if method == "register_memory":
            name, nbytes = args
            if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 0:
                raise DeviceCommandError(f"register_memory: bad size {nbytes!r}")
            shadow = np.zeros(nbytes, dtype=np.uint8)
            b.register_memory(name, shadow)
            self._shadows[name] = shadow
            return None
        if method == "upsets":
            return {
                "seu_rate_per_bit_day": b.seu_rate_per_bit_day,
                "upset_rate_per_bit_day": b.upset_rate_per_bit_day,
                "upsets_injected": b.upsets_injected,
                "bits_flipped": b.bits_flipped,
                "by_region": b.upsets_by_region(),
            }
        if method == "load_scenario":
            from hal.sim import parse_scenario

            text, source = args
            b.load_scenario(parse_scenario(str(text), str(source)))
            return None
        if method == "summary":
            return self.summary()
        if method == "truth":  # harness: the world's true state, the tests' oracle
            w = b.world
            return {
                "t_ns": int(w.t_ns),
                "state_digest": w.state_digest(),
                "battery_soc_frac": float(w.power.battery_soc_frac),
                "temps_c": {k: float(v) for k, v in w.thermal.temps_c().items()},
            }
        if method == "set_device_power":  # harness: a switch in front of the device
            name, on = args
            b.set_device_power(str(name), bool(on))
            return None
        if method == "stall":  # harness: a device that holds the rig up (pacing overruns)
            (duration_s,) = args
            if (
                isinstance(duration_s, bool)
                or not isinstance(duration_s, (int, float))
                or not 0 <= duration_s <= _MAX_STALL_S
            ):
                raise DeviceCommandError(f"stall: duration must be in [0, {_MAX_STALL_S}] s")
            time.sleep(float(duration_s))  # under the world lock, as a slow driver would be
            return None
        if method == "set_rail_on":  # harness: the world's rail switch
            rail, on = args
            b.world.power.set_rail_on(str(rail), bool(on))
            return None
        raise DeviceCommandError(f"{BACKEND_TARGET}: unknown method {method!r}")

    def _collect_flips(self) -> list[Any]:
        """Bits the radiation model flipped in the shadow regions since the last reply:
        [region, offsets, masks] (the flight side XORs the masks into its own memory)."""
        if not self._shadows:
            return []
        flipped = int(self._backend.bits_flipped)
        if flipped == self._flips_seen:
            return []
        self._flips_seen = flipped
        out = []
        for name, shadow in self._shadows.items():
            idx = np.flatnonzero(shadow)
            if idx.size:
                # offsets as little-endian uint32 bytes: a burst may flip thousands of bits
                out.append([name, idx.astype("<u4").tobytes(), shadow[idx].tobytes()])
                shadow[idx] = 0
        return out

    # ----------------------------------------------------------------- control
    def _control(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if method == "list":
            return self.list_faults()
        if method == "inject":
            return self.inject(*args, **kwargs)
        if method == "clear":
            return self.clear(*args, **kwargs)
        raise DeviceCommandError(f"{CONTROL_TARGET}: unknown method {method!r}")

    def inject(
        self,
        target: str,
        kind: str,
        params: Mapping[str, float | int] | None = None,
        duration_s: float | None = None,
    ) -> dict[str, Any]:
        """Start fault ``kind`` on ``target`` now (validated as a scenario fault would be);
        cleared after ``duration_s`` s of world time, or by :meth:`clear`."""
        from hal.sim import check_targets, parse_scenario

        lines = [
            "[[fault]]",
            "at_s = 0",
            f"kind = {_toml_str(kind)}",
            f"target = {_toml_str(target)}",
        ]
        if duration_s is not None:
            lines.append(f"duration_s = {float(duration_s)!r}")
        for k, v in (params or {}).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"fault parameter {k!r} must be a number")
            lines.append(f"{k} = {v!r}")
        with self._lock:
            scn = parse_scenario("\n".join(lines) + "\n", "<control>")
            sims = self._backend.devices
            check_targets(
                scn,
                {n: d.family for n, d in sims.items()},
                {n: d.fault_channels for n, d in sims.items()},
            )
            fault = scn.faults[0]
            if fault.device == "radiation":
                self._backend.world.radiation.inject_burst(
                    fault.channel or "", int(fault.param_dict()["n_bits"])
                )
            else:
                sims[fault.device].apply_fault(fault.kind.value, fault.channel, fault.param_dict())
                now = self.t_ns
                until = now + fault.duration_ns if fault.duration_ns is not None else None
                self._faults.append(ActiveFault(target, fault.kind.value, fault.params, now, until))
            return {"target": target, "kind": fault.kind.value, "t_ns": self.t_ns}

    def clear(self, target: str, kind: str) -> int:
        """End control-channel fault ``kind`` on ``target``; returns how many were cleared."""
        with self._lock:
            hit = [f for f in self._faults if f.target == target and f.kind == kind]
            for f in hit:
                self._end(f)
            return len(hit)

    def _end(self, f: ActiveFault) -> None:
        dev_name, _, channel = f.target.partition(".")
        self._backend.devices[dev_name].clear_fault(f.kind, channel or None)
        self._faults.remove(f)

    def _expire_faults(self) -> None:
        now = self.t_ns
        for f in [f for f in self._faults if f.until_ns is not None and f.until_ns <= now]:
            self._end(f)

    def list_faults(self) -> list[dict[str, Any]]:
        """Active faults: from the control channel and from the scenario."""
        with self._lock:
            out: list[dict[str, Any]] = [
                {
                    "source": "control",
                    "target": f.target,
                    "kind": f.kind,
                    "params": dict(f.params),
                    "since_s": f.at_ns / 1e9,
                    "until_s": None if f.until_ns is None else f.until_ns / 1e9,
                }
                for f in self._faults
            ]
            runner = self._backend.scenario_runner()
            for f in runner.active if runner is not None else ():
                out.append(
                    {
                        "source": "scenario",
                        "target": f.target,
                        "kind": f.kind.value,
                        "params": f.param_dict(),
                        "since_s": f.at_s,
                        "until_s": None
                        if f.duration_ns is None
                        else (f.at_ns + f.duration_ns) / 1e9,
                    }
                )
            return out

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable figures: the simulated backend's summary plus the rig's."""
        with self._lock:
            s = self.stats
            return {
                "rig": RIG_NAME,
                "clock": self.clock.value,
                "sources": dict(self._sources),
                "backend": self._backend.summary(),
                "stats": {
                    "sessions": s.sessions,
                    "refused": s.refused,
                    "messages": s.messages,
                    "calls": s.calls,
                    "advances": s.advances,
                    "rejected": s.rejected,
                    "rejected_by_code": dict(s.rejected_by_code),
                    "overruns": s.overruns,
                    "max_late_s": s.max_late_s,
                },
            }


def _toml_str(s: str) -> str:
    if not isinstance(s, str):
        raise ConfigError(f"expected a string, got {s!r}")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _submit_outputs(dev: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``submit_outputs(label, outputs, ops=...)``: a job whose work ran on the flight side
    (a Python callable cannot cross the wire); the accelerator accounts its modelled time
    and energy and applies its faults to the outputs, exactly as for local work."""
    if len(args) != 2 or not isinstance(args[0], str):
        raise DeviceCommandError("submit_outputs: arguments are (label, outputs)")
    label, outputs = args

    def work() -> Any:
        return outputs

    work.__name__ = label
    return dev.submit(work, ops=kwargs.get("ops"))


def _outputs_submitter(dev: Any) -> Any:
    """``dev.submit_outputs(label, outputs, ops=...)`` as a callable of the dispatch table."""

    def submit_outputs(*args: Any, **kwargs: Any) -> Any:
        return _submit_outputs(dev, list(args), kwargs)

    return submit_outputs


def _make_driver(name: str, table: Mapping[str, Any]) -> Device:
    """A device built by a driver factory ``"module:attr"`` called ``(name, config)``."""
    spec = table["driver"]
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(f"devices.{name}.driver: must be 'module:attribute', got {spec!r}")
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"devices.{name}.driver: cannot load {spec!r}: {exc}") from None
    config = {k: v for k, v in table.items() if k != "driver"}
    dev = factory(name, config)
    if not isinstance(dev, Device):
        raise ConfigError(f"devices.{name}.driver: {spec} did not return a Device")
    try:
        fam = Family(dev.family)
    except ValueError:
        raise ConfigError(f"devices.{name}.driver: unknown family {dev.family!r}") from None
    if "family" in config and Family(config["family"]) is not fam:
        raise ConfigError(
            f"devices.{name}.driver: the driver makes a {fam.value}, the table says "
            f"{config['family']}"
        )
    return dev
