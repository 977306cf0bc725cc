"""The flight side's link to a rig: connect, handshake, one request -> one reply, with
bounded waits and automatic reconnection.

Every request waits at most ``timeout_s`` for its reply (RigTimeoutError otherwise). A
timeout, a closed connection or a broken message drops the link: later requests fail at once
(RigTimeoutError, "link down") until a reconnection attempt succeeds; attempts are made at
most every ``reconnect_s`` of wall time, each bounded by ``timeout_s``. So no call ever waits
longer than about twice the call timeout, and a dead rig never hangs the flight stack.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic, perf_counter_ns
from typing import Any

from hal.hil._wire import (
    DEFAULT_MAX_FRAME,
    PROTOCOL_VERSION,
    MessageType,
    RigProtocolError,
    RigRefusedError,
    RigTimeoutError,
    Role,
    Stream,
    decode_frame,
    legacy_version_hint,
    now_ns,
)
from native.errors import ConfigError

__all__ = ["LinkStats", "RigLink", "parse_rig_address"]


def parse_rig_address(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` -> (host, port); ConfigError naming the problem otherwise."""
    if not isinstance(text, str) or ":" not in text:
        raise ConfigError(f"hil rig: expected 'HOST:PORT', got {text!r}")
    host, _, port_text = text.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"hil rig: port of {text!r} is not an integer") from None
    if not host or not 0 < port < 65536:
        raise ConfigError(f"hil rig: {text!r} needs a host and a port in 1..65535")
    return host, port


@dataclass(slots=True)
class LinkStats:
    """Counters of the flight side's link (since the backend was opened)."""

    requests: int = 0  #: requests sent (each is one round trip)
    calls: int = 0  #: device/backend calls carried by those requests
    timeouts: int = 0  #: requests that got no answer in time, or failed on a down link
    disconnects: int = 0  #: times the link was dropped
    reconnects: int = 0  #: successful reconnections after a drop
    rejected: int = 0  #: malformed, oversized or unmatched messages from the rig
    rtt_ns: list[int] = field(default_factory=list)  #: last round trips (bounded window)

    def rtt_summary(self) -> dict[str, float]:
        """Median and p99 of the recent round trips (us)."""
        if not self.rtt_ns:
            return {"median_us": 0.0, "p99_us": 0.0}
        xs = sorted(self.rtt_ns)
        return {
            "median_us": statistics.median(xs) / 1e3,
            "p99_us": xs[min(len(xs) - 1, int(0.99 * len(xs)))] / 1e3,
        }


_RTT_WINDOW = 4096
#: The ``type`` of a REPLY (a plain string: compared on every request).
_REPLY = MessageType.REPLY.value


class RigLink:
    """A connection to one rig (see the module docstring).

    ``on_welcome(welcome)`` is called after every successful handshake (the first and each
    reconnection) so that the backend can check the device table and resynchronise time.
    """

    def __init__(
        self,
        address: str,
        *,
        role: Role = Role.FLIGHT,
        clock: str = "any",
        timeout_s: float = 1.0,
        reconnect_s: float | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        client: str = "satnode",
        restart: bool = False,
    ) -> None:
        self.host, self.port = parse_rig_address(address)
        self.address = address
        if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s <= 600):
            raise ConfigError(f"hil timeout_s must be in (0, 600] s, got {timeout_s!r}")
        self.role = role
        self.clock = clock
        self.timeout_s = float(timeout_s)
        self.reconnect_s = float(reconnect_s if reconnect_s is not None else timeout_s)
        self.max_frame = max_frame
        self.client = client
        #: ask a lock-step rig for a fresh world on the first handshake (never on a
        #: reconnection: the world then carries on and is resynchronised)
        self.restart = restart
        self.stats = LinkStats()
        self.on_welcome: Callable[[dict[str, Any]], None] | None = None
        self._stream: Stream | None = None
        self._next_attempt = 0.0
        self._ever_connected = False
        self.last_error = ""

    @property
    def up(self) -> bool:
        """True while connected."""
        return self._stream is not None

    # ------------------------------------------------------------------ connecting
    def connect(self) -> dict[str, Any]:
        """Connect and handshake; returns the WELCOME message.

        RigTimeoutError when the rig cannot be reached or does not answer in time;
        RigRefusedError when it refuses (version, clock mode, busy)."""
        deadline = time.monotonic() + self.timeout_s
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        except OSError as exc:
            raise RigTimeoutError(f"cannot reach rig at {self.address}: {exc}") from None
        stream = Stream(sock, self.max_frame)
        try:
            stream.send(
                {
                    "type": MessageType.HELLO.value,
                    "ts": now_ns(),
                    "proto": PROTOCOL_VERSION,
                    "role": self.role.value,
                    "clock": self.clock,
                    "client": self.client,
                    "max_frame": self.max_frame,
                    "restart": self.restart and not self._ever_connected,
                }
            )
            body = stream.recv_body(deadline)
            hint = legacy_version_hint(body)
            if hint is None:
                msg = decode_frame(body)
        except (OSError, RigProtocolError, RigTimeoutError) as exc:
            stream.close()
            raise RigTimeoutError(
                f"rig at {self.address} did not complete the handshake: {exc}"
            ) from None
        if hint is not None:
            stream.close()
            raise RigRefusedError(f"rig at {self.address} refused: {hint}")
        if msg["type"] == MessageType.REFUSE.value:
            stream.close()
            raise RigRefusedError(
                f"rig at {self.address} refused the session ({msg['code']}): {msg['reason']}"
            )
        if msg["type"] != MessageType.WELCOME.value or msg["re"] != stream.seq:
            stream.close()
            raise RigProtocolError(f"rig at {self.address}: expected WELCOME, got {msg['type']}")
        if msg["proto"] != PROTOCOL_VERSION:
            stream.close()
            raise RigRefusedError(
                f"rig at {self.address} speaks protocol {msg['proto']}, this side "
                f"{PROTOCOL_VERSION}"
            )
        stream.max_frame = int(msg["max_frame"])
        self._stream = stream
        if self._ever_connected:
            self.stats.reconnects += 1
        self._ever_connected = True
        if self.on_welcome is not None:
            self.on_welcome(msg)
        return msg

    def drop(self, why: str) -> None:
        """Close the link (a later request reconnects)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
            self.stats.disconnects += 1
            self._next_attempt = time.monotonic() + self.reconnect_s
        self.last_error = why

    def close(self) -> None:
        """Say BYE and close (idempotent; never raises)."""
        stream = self._stream
        if stream is None:
            return
        with contextlib.suppress(OSError):
            stream.send({"type": MessageType.BYE.value, "ts": now_ns()})
        stream.close()
        self._stream = None

    def _ensure(self) -> Stream:
        if self._stream is not None:
            return self._stream
        if time.monotonic() < self._next_attempt:
            self.stats.timeouts += 1
            raise RigTimeoutError(f"link to rig {self.address} is down ({self.last_error})")
        try:
            self.connect()
        except (RigTimeoutError, RigProtocolError, RigRefusedError) as exc:
            self._next_attempt = time.monotonic() + self.reconnect_s
            self.stats.timeouts += 1
            self.last_error = str(exc)
            raise RigTimeoutError(f"link to rig {self.address} is down: {exc}") from None
        assert self._stream is not None
        return self._stream

    # ------------------------------------------------------------------ requests
    def request(self, message: dict[str, Any], n_calls: int) -> dict[str, Any]:
        """Send ``message`` (CALL or ADVANCE) and return its REPLY.

        RigTimeoutError when the link is down or the reply does not come in time;
        RigProtocolError when the rig rejects the message or answers with a broken one
        (counted in ``stats.rejected``). Either way the link is dropped."""
        stream = self._stream if self._stream is not None else self._ensure()
        message["ts"] = now_ns()
        t0 = perf_counter_ns()
        try:
            stream.send(message)
            seq = stream.seq
            reply = stream.recv(monotonic() + self.timeout_s)
        except RigTimeoutError as exc:
            self.stats.timeouts += 1
            self.drop(str(exc))
            raise RigTimeoutError(f"rig {self.address}: {exc}") from None
        except RigProtocolError as exc:
            self.stats.rejected += 1
            self.drop(str(exc))
            raise
        except OSError as exc:
            self.stats.timeouts += 1
            self.drop(f"connection lost: {exc}")
            raise RigTimeoutError(f"rig {self.address}: connection lost ({exc})") from None
        rtt = perf_counter_ns() - t0
        stats = self.stats
        stats.requests += 1
        stats.calls += n_calls
        window = stats.rtt_ns
        if len(window) >= _RTT_WINDOW:
            del window[: _RTT_WINDOW // 2]
        window.append(rtt)
        if reply["type"] == _REPLY and reply.get("re") == seq:
            return reply
        if reply["type"] == MessageType.ERROR.value:
            self.stats.rejected += 1
            self.drop(f"rig rejected a message: {reply['reason']}")
            raise RigProtocolError(f"rig rejected the request ({reply['code']}): {reply['reason']}")
        self.stats.rejected += 1
        self.drop("unmatched reply")
        raise RigProtocolError(
            f"rig {self.address}: expected the REPLY to {seq}, got {reply['type']} "
            f"re={reply.get('re')}"
        )

    def send_raw(self, frame: bytes) -> None:
        """Send raw bytes on the link (tests of the rig's rejection of malformed input)."""
        self._ensure().send_raw(frame)

    def recv_raw(self) -> dict[str, Any]:
        """Receive one message within the timeout (tests)."""
        return self._ensure().recv(time.monotonic() + self.timeout_s)
