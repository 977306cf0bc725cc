"""The UDP ground link: uplink datagrams in on a UDP port, every TM packet out to a UDP address.

Both ends default to loopback. One datagram carries one TC transfer frame (or, when security
is configured off, one bare space packet).

Uplink. :meth:`UdpGroundLink.poll`, called once per TM/TC step, drains the socket: up to
``drain_limit`` datagrams per call, each judged at once by the link's gate
(:class:`UplinkGate`: the security application verifies SDLS frames and releases the PUS
packets they carry). Released packets wait in a bounded queue (``ready_depth``) from which
``poll`` returns at most the TC budget; everything that does not fit is counted, never
silently lost: ``ready_drops`` (queue full), ``drain_overruns`` (the socket still had data
after ``drain_limit``), and ``kernel_drops`` (datagrams the kernel dropped because the
socket buffer was full, read from the ``SO_RXQ_OVFL`` counter on Linux). The receive buffer is
enlarged (``rcvbuf`` octets, as far as the kernel allows) to ride out bursts. A link with no
gate refuses every datagram (``refused``): the node does not take commands without a
security decision. A flood therefore costs what the gate's cheapest check costs per
datagram, and it cannot delay a valid command by more than a tick or two.

Downlink. :meth:`send` sends each TM packet in its own datagram, or, with a
:class:`~flight.tmtc.TmFramer` set (:meth:`set_framer`), packs packets into TM transfer
frames (one frame per datagram, flushed at every poll).
"""

from __future__ import annotations

import errno
import socket
import struct
from collections import deque
from typing import Any, Final, Protocol, runtime_checkable

from native.errors import ConfigError

__all__ = ["UdpGroundLink", "UplinkGate", "parse_host_port"]

_MAX_DATAGRAM: Final = 65_542  # largest space packet: 6 + 65,536 octets
# Linux: ask for the socket's drop counter with every datagram (include/uapi/asm-generic).
_SO_RXQ_OVFL: Final = 40
_OVFL: Final = struct.Struct("=I")


@runtime_checkable
class UplinkGate(Protocol):
    """Judges one uplink datagram and returns the PUS TC packets it releases."""

    def admit(self, datagram: bytes) -> list[bytes]:
        """Packets to execute (empty for a rejected frame or a partial segment)."""
        ...


def parse_host_port(text: str) -> tuple[str, int]:
    """Parse ``HOST:PORT`` (``ConfigError`` when malformed or the port is out of range)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"expected HOST:PORT with a port in 1..65535, got {text!r}")
    return host, int(port)


class UdpGroundLink:
    """Non-blocking UDP uplink socket (drained each poll, through a gate) and downlink sender.

    ``uplink_port=0`` binds an ephemeral port (see :attr:`uplink_address`). ``downlink``:
    (host, port) the TM goes to, or None for no downlink (nothing is sent). ``drain_limit``:
    datagrams judged per poll; ``ready_depth``: released packets waiting for the TC budget;
    ``rcvbuf``: requested socket receive buffer (octets).
    """

    def __init__(
        self,
        uplink_host: str = "127.0.0.1",
        uplink_port: int = 0,
        downlink: tuple[str, int] | None = None,
        *,
        drain_limit: int = 4096,
        ready_depth: int = 256,
        rcvbuf: int = 4 << 20,
    ) -> None:
        if not 0 <= uplink_port < 65536:
            raise ConfigError(f"uplink port {uplink_port} outside 0..65535")
        if drain_limit < 1 or ready_depth < 1:
            raise ConfigError("drain_limit and ready_depth must be >= 1")
        self._rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self._rx.bind((uplink_host, uplink_port))
        except OSError as exc:
            self._rx.close()
            raise ConfigError(
                f"cannot bind the uplink to {uplink_host}:{uplink_port}: {exc}"
            ) from exc
        self._rx.setblocking(False)
        try:
            self._rx.setsockopt(socket.SOL_SOCKET, _SO_RXQ_OVFL, 1)
            self._ancillary = socket.CMSG_SPACE(_OVFL.size)
        except OSError:  # not Linux: kernel drops stay invisible (documented)
            self._ancillary = 0
        self._tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._tx.setblocking(False)
        self.downlink = downlink
        self.drain_limit = drain_limit
        self.ready_depth = ready_depth
        self._gate: UplinkGate | None = None
        self._framer: Any = None
        self._ready: deque[bytes] = deque()
        self._kernel_base: int | None = None
        #: TM datagrams sent / that failed to send
        self.sent = 0
        self.send_errors = 0
        #: uplink datagrams read from the socket
        self.received = 0
        #: packets the gate released
        self.admitted = 0
        #: released packets dropped because the ready queue was full
        self.ready_drops = 0
        #: polls that stopped at drain_limit with datagrams still waiting
        self.drain_overruns = 0
        #: datagrams the kernel dropped (socket buffer full), when the OS tells
        self.kernel_drops = 0
        #: datagrams refused because no gate is set
        self.refused = 0

    @property
    def uplink_address(self) -> tuple[str, int]:
        """(host, port) the uplink socket is bound to."""
        host, port = self._rx.getsockname()[:2]
        return str(host), int(port)

    @property
    def gate(self) -> UplinkGate | None:
        """The gate judging uplink datagrams (None: every datagram is refused)."""
        return self._gate

    def set_gate(self, gate: UplinkGate) -> None:
        """Judge every uplink datagram with ``gate`` (the security application)."""
        if not isinstance(gate, UplinkGate):
            raise TypeError(f"{type(gate).__name__} has no admit(datagram) method")
        self._gate = gate

    def set_framer(self, framer: Any) -> None:
        """Carry TM in frames: ``framer.push(packet)``/``framer.flush()`` (a
        :class:`~flight.tmtc.TmFramer` whose sink is :meth:`send_frame`)."""
        self._framer = framer

    def counters(self) -> dict[str, int]:
        """Every uplink/downlink counter by name (for the summary)."""
        return {
            "received": self.received,
            "admitted": self.admitted,
            "ready_drops": self.ready_drops,
            "drain_overruns": self.drain_overruns,
            "kernel_drops": self.kernel_drops,
            "refused": self.refused,
            "sent": self.sent,
            "send_errors": self.send_errors,
        }

    def _recv(self) -> bytes | None:
        """One datagram, or None when the socket is empty (drop counter updated)."""
        while True:
            try:
                if not self._ancillary:
                    return self._rx.recv(_MAX_DATAGRAM)
                data, anc, _flags, _addr = self._rx.recvmsg(_MAX_DATAGRAM, self._ancillary)
            except BlockingIOError:
                return None
            except OSError as exc:  # e.g. ICMP errors surfacing; never fatal to the node
                if exc.errno in (errno.ECONNREFUSED, errno.EAGAIN):
                    continue
                return None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == _SO_RXQ_OVFL and len(payload) >= 4:
                    total = _OVFL.unpack_from(payload)[0]
                    if self._kernel_base is None:
                        self._kernel_base = 0
                    self.kernel_drops = total - self._kernel_base
            return data

    def poll(self, max_packets: int = 16) -> list[bytes]:
        """Drain the uplink through the gate; return up to ``max_packets`` released packets.

        Also flushes the downlink frame being filled, if TM frames are on."""
        if self._framer is not None:
            self._framer.flush()
        gate = self._gate
        ready = self._ready
        for _ in range(self.drain_limit):
            data = self._recv()
            if data is None:
                break
            self.received += 1
            if gate is None:
                self.refused += 1
                continue
            for packet in gate.admit(data):
                self.admitted += 1
                if len(ready) >= self.ready_depth:
                    self.ready_drops += 1
                else:
                    ready.append(packet)
        else:
            self.drain_overruns += 1
        return [ready.popleft() for _ in range(min(max_packets, len(ready)))]

    def send(self, packet: bytes) -> None:
        """Send one TM packet (in its own datagram, or into the TM framer)."""
        if self._framer is not None:
            self._framer.push(packet)
            return
        self.send_frame(packet)

    def send_frame(self, datagram: bytes) -> None:
        """Send one datagram to the downlink address (errors are counted, not raised; no
        downlink: nothing is sent)."""
        if self.downlink is None:
            return
        try:
            self._tx.sendto(datagram, self.downlink)
            self.sent += 1
        except OSError:
            self.send_errors += 1

    def close(self) -> None:
        """Close both sockets."""
        self._rx.close()
        self._tx.close()
