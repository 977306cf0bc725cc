"""Helpers for the ground tool's tests: a real ``satnode sim`` on loopback, and a scripted fake
node that sends hand-made TM packets.

:class:`RunningNode` starts ``satnode sim --speed X --out DIR --downlink 127.0.0.1:PORT`` as a
subprocess (paced simulated time) and returns once ``run.json`` exists: the run prints its
addresses, after writing ``run.json``, before its first tick, and the helper blocks on that
line (a pipe read, not a wall-clock wait). It stops the node with SIGTERM, the way an
operator's Ctrl-C would, and collects its exit status.

:class:`FakeNode` plays the node's side of the links with packets the test writes itself:
it receives TCs on an uplink socket and sends TM (framed with the flight codec, data encoded
by the independent dictionary codec of :mod:`tests.ground.generic_decoder`) at chosen onboard
times, so the Commander's stream logic can be checked packet by packet.
"""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flight.tmtc import CucFormat, pack_tm
from tests.ground.generic_decoder import DictionaryCodec

NS_PER_S = 1_000_000_000
#: Wall-clock safety net for reading the node's start line and for its exit (never reached
#: by a healthy node; only turns a hang into a failure).
PROCESS_CAP_S = 120.0


def free_udp_port() -> int:
    """A UDP port on loopback that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningNode:
    """A ``satnode sim`` subprocess writing into ``out`` (see the module docstring)."""

    def __init__(
        self,
        out: Path,
        *,
        speed: float,
        duration_s: float = 20_000.0,
        seed: int = 1,
        config_text: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.out = out
        self.downlink_port = free_udp_port()
        self.stderr_path = out.parent / f"{out.name}.stderr"
        if config_text is not None:
            config = out.parent / f"{out.name}.toml"
            config.write_text(config_text)
            extra = ("--config", str(config), *extra)
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        argv = [
            sys.executable, "-m", "ground.cli", "sim",
            "--duration", str(duration_s), "--speed", str(speed), "--seed", str(seed),
            "--out", str(out), "--uplink-port", "0",
            "--downlink", f"127.0.0.1:{self.downlink_port}", *extra,
        ]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._stderr)
        assert self.proc.stdout is not None
        self.start_line = self.proc.stdout.readline().decode()
        if "uplink" not in self.start_line or not (out / "run.json").is_file():
            self.stop()
            raise RuntimeError(
                f"satnode sim did not start: {self.start_line!r}\n{self.stderr_text()}"
            )

    def stderr_text(self) -> str:
        """What the node wrote on its standard error so far."""
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM the node (it stops at a tick boundary and writes its summary); its exit
        status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=PROCESS_CAP_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        return code


class FakeNode:
    """The node's side of the links, scripted by a test (see the module docstring)."""

    def __init__(self, dictionary: Mapping[str, Any], downlink: tuple[str, int]) -> None:
        self.d = dictionary
        self.codec = DictionaryCodec(dictionary)
        self.uplink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.uplink.bind(("127.0.0.1", 0))
        self.uplink.settimeout(PROCESS_CAP_S)
        self.uplink_address = self.uplink.getsockname()[:2]
        self.downlink = downlink
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tc = dictionary["time_code"]
        assert tc["format"] == "CUC" and tc["p_field"] is not None
        self.time = CucFormat.from_p_field(bytes.fromhex(tc["p_field"]["value"]))
        self.seq = 0

    def close(self) -> None:
        self.uplink.close()
        self.tx.close()

    def tm(
        self, t_s: float, service: int, subtype: int, values: Mapping[str, Any], send: bool = True
    ) -> bytes:
        """TM[service,subtype] stamped ``t_s`` onboard seconds, data per the dictionary; sent
        to the downlink unless ``send`` is False. Returns the packet."""
        layout = self.codec.tm_types[(service, subtype)][1]["layout"]
        data = self.codec.encode_layout(layout, values)
        packet = pack_tm(
            self.d["apid"], self.seq, service, subtype, 0, 0,
            self.time.encode(round(t_s * NS_PER_S)), data,
        )  # fmt: skip
        self.seq = (self.seq + 1) & 0x3FFF
        if send:
            self.tx.sendto(packet, self.downlink)
        return packet

    def hk(self, t_s: float, component: str, send: bool = True, **fields: Any) -> bytes:
        """A TM[3,25] of ``component`` with every field 0 except ``fields``."""
        hk = next(h for h in self.d["housekeeping"] if h["component"] == component)
        structure = {f["name"]: fields.get(f["name"], 0) for f in hk["fields"]}
        return self.tm(t_s, 3, 25, {"sid": hk["structure_id"], "structure": structure}, send)

    def event(self, t_s: float, qualified: str, message: str) -> bytes:
        """A TM[5,x] of event ``component.name`` with ``message``."""
        component, name = qualified.split(".")
        ev = next(e for e in self.d["events"] if (e["component"], e["name"]) == (component, name))
        return self.tm(t_s, 5, ev["subtype"], {"event_id": ev["id"], "message": message})

    def verify(self, t_s: float, subtype: int, request_id: int, code: int | None = None) -> bytes:
        """A TM[1,subtype] about ``request_id`` (``code`` for the failure subtypes)."""
        values: dict[str, Any] = {"request_id": request_id}
        if code is not None:
            values["failure_code"] = code
        return self.tm(t_s, 1, subtype, values)

    def receive_tc(self) -> bytes:
        """The next TC datagram on the uplink."""
        return self.uplink.recv(65_542)

    @staticmethod
    def request_id(tc: bytes) -> int:
        """The PUS-1 request id of a TC packet: its first 32 bits."""
        return int(struct.unpack_from(">I", tc)[0])
