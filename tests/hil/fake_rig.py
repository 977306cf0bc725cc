"""A misbehaving rig for the wire-fault tests, run as its own process:
``python -m tests.hil.fake_rig MODE PORT_FILE``.

It completes a normal handshake (an empty device table, lock-step) unless MODE is
``version`` (it answers with protocol version 99) or ``v2`` (it answers as a protocol
version 2 rig does to a message it cannot decode: a CBOR ``error`` map), then answers every
request according to MODE: ``garbage`` (a frame that is not MessagePack), ``oversized`` (a
length prefix far above any limit), ``silent`` (never answers), ``wrong_re`` (a reply to
another request).
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from pathlib import Path

import msgpack

from hal.hil import PROTOCOL_VERSION, Stream


def main() -> int:
    mode, port_file = sys.argv[1], Path(sys.argv[2])
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    tmp = port_file.with_name(port_file.name + ".tmp")
    tmp.write_text(f"127.0.0.1:{srv.getsockname()[1]}\n")
    tmp.replace(port_file)
    while True:
        conn, _ = srv.accept()
        s = Stream(conn)
        try:
            if mode == "v2":
                s.recv_body(None)
                # CBOR (RFC 8949) of {"type": "error", "code": "malformed"}: 0xA2 = a map of
                # two pairs, 0x6N = a text of N bytes
                body = b"\xa2\x64type\x65error\x64code\x69malformed"
                s.send_raw(struct.pack(">I", len(body)) + body)
                conn.close()
                continue
            hello = s.recv(None)
            s.send(
                {
                    "type": "welcome", "re": hello["seq"], "ts": 0,
                    "proto": 99 if mode == "version" else PROTOCOL_VERSION,
                    "clock": "lockstep", "rig": "fake", "seed": 1, "t_ns": 0,
                    "plant_period_ns": 1_000_000_000, "devices": [], "max_frame": 1 << 20,
                }
            )  # fmt: skip
            while True:
                req = s.recv(None)
                if mode == "garbage":
                    s.send_raw(struct.pack(">I", 3) + b"\xff\xfe\xfd")
                elif mode == "oversized":
                    s.send_raw(struct.pack(">I", 0xFFFFFFF0))
                elif mode == "silent":
                    time.sleep(3600)
                elif mode == "wrong_re":
                    body = msgpack.packb(
                        {"type": "reply", "seq": 2, "ts": 0, "re": req["seq"] + 5, "t_ns": 0,
                         "results": [{"ok": None}], "status": {}}
                    )  # fmt: skip
                    s.send_raw(struct.pack(">I", len(body)) + body)
        except (OSError, Exception):
            conn.close()


if __name__ == "__main__":
    sys.exit(main())
