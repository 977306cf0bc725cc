"""The UDP ground link: telecommands in on a UDP port, every TM packet out to a UDP address.

Both ends default to loopback. One datagram carries one space packet. Receiving never blocks:
the TM/TC service polls the link once per step and takes at most a bounded number of
datagrams, so a flood cannot stall the executive (the rest wait in the socket buffer, and the
kernel drops beyond it).
"""

from __future__ import annotations

import errno
import socket

from native.errors import ConfigError

__all__ = ["UdpGroundLink", "parse_host_port"]

_MAX_DATAGRAM = 65_542  # largest space packet: 6 + 65,536 octets


def parse_host_port(text: str) -> tuple[str, int]:
    """Parse ``HOST:PORT`` (``ConfigError`` when malformed or the port is out of range)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"expected HOST:PORT with a port in 1..65535, got {text!r}")
    return host, int(port)


class UdpGroundLink:
    """Non-blocking UDP uplink socket and downlink sender.

    ``uplink_port=0`` binds an ephemeral port (see :attr:`uplink_address`).
    """

    def __init__(
        self,
        uplink_host: str = "127.0.0.1",
        uplink_port: int = 0,
        downlink: tuple[str, int] = ("127.0.0.1", 10026),
    ) -> None:
        if not 0 <= uplink_port < 65536:
            raise ConfigError(f"uplink port {uplink_port} outside 0..65535")
        self._rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._rx.bind((uplink_host, uplink_port))
        except OSError as exc:
            self._rx.close()
            raise ConfigError(
                f"cannot bind the uplink to {uplink_host}:{uplink_port}: {exc}"
            ) from exc
        self._rx.setblocking(False)
        self._tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._tx.setblocking(False)
        self.downlink = downlink
        self.sent = 0
        self.send_errors = 0
        self.received = 0

    @property
    def uplink_address(self) -> tuple[str, int]:
        """(host, port) the uplink socket is bound to."""
        host, port = self._rx.getsockname()[:2]
        return str(host), int(port)

    def poll(self, max_packets: int = 16) -> list[bytes]:
        """Up to ``max_packets`` datagrams waiting on the uplink, without blocking."""
        out: list[bytes] = []
        for _ in range(max_packets):
            try:
                data = self._rx.recv(_MAX_DATAGRAM)
            except BlockingIOError:
                break
            except OSError as exc:  # e.g. ICMP errors surfacing; never fatal to the node
                if exc.errno in (errno.ECONNREFUSED, errno.EAGAIN):
                    continue
                break
            out.append(data)
        self.received += len(out)
        return out

    def send(self, packet: bytes) -> None:
        """Send one TM packet to the downlink address (errors are counted, not raised)."""
        try:
            self._tx.sendto(packet, self.downlink)
            self.sent += 1
        except OSError:
            self.send_errors += 1

    def close(self) -> None:
        """Close both sockets."""
        self._rx.close()
        self._tx.close()
