"""A TM decoder and TC encoder written from the satnode JSON dictionary alone.

This is what a ground team would write from ``satnode dict`` output: it imports nothing from
``flight``, ``ground``, ``hal`` or ``native``, and knows no satnode constant. Every size,
layout, bit field, CRC parameter and time code detail comes from the dictionary passed in.
The tests hold it against the node (the node must accept what it encodes) and against the
flight's own unpacking, which makes it an oracle for the dictionary's completeness.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DecodedTm", "DictionaryCodec", "TmDecodeError"]

_CODES = {
    ("unsigned", 1): "B", ("unsigned", 2): "H", ("unsigned", 4): "I", ("unsigned", 8): "Q",
    ("signed", 1): "b", ("signed", 2): "h", ("signed", 4): "i", ("signed", 8): "q",
    ("float", 4): "f", ("float", 8): "d", ("bool", 1): "B",
}  # fmt: skip


class TmDecodeError(ValueError):
    """A packet the dictionary does not explain."""


@dataclass
class DecodedTm:
    """One decoded TM packet: header fields, time, service/subtype name and data items."""

    header: dict[str, int]
    time: dict[str, Any]
    service: int
    subtype: int
    name: str
    data: dict[str, Any] = field(default_factory=dict)


def _crc(params: Mapping[str, Any], data: bytes) -> int:
    """Bitwise CRC from the dictionary's parameters (non-reflected forms only)."""
    if params["reflect_in"] or params["reflect_out"]:
        raise NotImplementedError("reflected CRCs")
    width = int(params["width"])
    top, mask = 1 << (width - 1), (1 << width) - 1
    crc = int(params["init"])
    poly = int(params["poly"])
    for octet in data:
        crc ^= octet << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
    return crc ^ int(params["xor_out"])


def _bitfields(spec: Sequence[Mapping[str, Any]], value: int, total_bits: int) -> dict[str, int]:
    out: dict[str, int] = {}
    shift = total_bits
    for f in spec:
        shift -= int(f["bits"])
        out[f["name"]] = (value >> shift) & ((1 << int(f["bits"])) - 1)
    return out


class DictionaryCodec:
    """Decoder/encoder over a parsed ``satnode dict`` document."""

    def __init__(self, dictionary: Mapping[str, Any]) -> None:
        if dictionary.get("schema") != "satnode-dictionary" or dictionary.get("version") != 2:
            raise ValueError("not a version-2 satnode dictionary")
        self.d = dictionary
        pkt = dictionary["packet"]
        self.pec = pkt["packet_error_control"]
        self.primary = pkt["primary_header"]
        self.primary_bits = sum(int(f["bits"]) for f in self.primary)
        self.tm_head = [f for f in pkt["tm_secondary_header"] if "bits" in f]
        self.tm_head_bits = sum(int(f["bits"]) for f in self.tm_head)
        self.tc_head = pkt["tc_secondary_header"]
        self.tc_head_bits = sum(int(f["bits"]) for f in self.tc_head)
        self.time_code = dictionary["time_code"]
        self.types = dictionary["types"]
        self.tm_types = {
            (s["service"], t["subtype"]): (s, t) for s in dictionary["services"] for t in s["tm"]
        }
        self.tc_types = {
            (s["service"], t["subtype"]): (s, t) for s in dictionary["services"] for t in s["tc"]
        }
        self.hk = {h["structure_id"]: h for h in dictionary["housekeeping"]}
        self.commands = {c["function_id"]: c for c in dictionary["commands"]}
        self.command_names = {(c["component"], c["name"]): c for c in dictionary["commands"]}
        self.params = {p["id"]: p for p in dictionary["parameters"]}
        self.events = {e["id"]: e for e in dictionary["events"]}

    # -- scalars ----------------------------------------------------------------------------
    def _struct(self, label: str) -> struct.Struct:
        t = self.types[label]
        return struct.Struct(">" + _CODES[(t["kind"], int(t["octets"]))])

    def _read(self, label: str, buf: bytes, pos: int) -> tuple[Any, int]:
        st = self._struct(label)
        if pos + st.size > len(buf):
            raise TmDecodeError(f"{label} at octet {pos} runs past {len(buf)} octets")
        (value,) = st.unpack_from(buf, pos)
        if self.types[label]["kind"] == "bool":
            value = value != 0
        return value, pos + st.size

    def _write(self, label: str, value: Any, item: Mapping[str, Any]) -> bytes:
        t = self.types[label]
        lo = item.get("min", t.get("min"))
        hi = item.get("max", t.get("max"))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ValueError(f"{item['name']}={value} outside [{lo}, {hi}]")
        return self._struct(label).pack(int(value) if t["kind"] == "bool" else value)

    # -- layouts ----------------------------------------------------------------------------
    def _keyed(self, item: Mapping[str, Any], out: Mapping[str, Any]) -> list[dict[str, Any]]:
        key = out[item["key"]]
        kind = item["type"]
        if kind == "housekeeping_structure":
            return [{"name": f["name"], "type": f["type"]} for f in self.hk[key]["fields"]]
        if kind == "command_arguments":
            return list(self.commands[key]["args"])
        raise TmDecodeError(f"unknown keyed item type {kind!r}")

    def decode_layout(
        self, layout: Sequence[Mapping[str, Any]], buf: bytes, pos: int = 0
    ) -> tuple[dict[str, Any], int]:
        """Decode ``layout`` from ``buf`` at ``pos``: (items by name, next position)."""
        out: dict[str, Any] = {}
        for item in layout:
            kind = item["type"]
            name = item["name"]
            if kind in self.types:
                out[name], pos = self._read(kind, buf, pos)
            elif kind == "array":
                n = int(out[item["count"]])
                if "max_count" in item:
                    n = min(n, int(item["max_count"]))
                out[name] = []
                for _ in range(n):
                    elem, pos = self.decode_layout(item["items"], buf, pos)
                    out[name].append(elem)
            elif kind == "bytes":
                n = int(out[item["length"]])
                if item.get("length_unit") == "bits":
                    n //= 8
                if pos + n > len(buf):
                    raise TmDecodeError(f"{name}: {n} octets past the end")
                out[name], pos = buf[pos : pos + n], pos + n
            elif kind == "parameter_value":  # one value of the keyed parameter's type
                out[name], pos = self._read(self.params[out[item["key"]]]["type"], buf, pos)
            elif kind == "utf8":
                if item["length"] != "rest":
                    raise TmDecodeError(f"{name}: unknown length {item['length']!r}")
                raw = buf[pos:]
                if len(raw) > int(item["max_octets"]):
                    raise TmDecodeError(f"{name}: {len(raw)} octets > {item['max_octets']}")
                out[name], pos = raw.decode("utf-8", "replace"), len(buf)
            else:
                out[name], pos = self.decode_layout(self._keyed(item, out), buf, pos)
        return out, pos

    def encode_layout(self, layout: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> bytes:
        """Encode ``values`` (as :meth:`decode_layout` returns them) per ``layout``."""
        out = bytearray()
        for item in layout:
            kind = item["type"]
            value = values[item["name"]]
            if kind in self.types:
                out += self._write(kind, value, item)
            elif kind == "array":
                if len(value) != values[item["count"]]:
                    raise ValueError(f"{item['name']}: {len(value)} items, count says otherwise")
                for elem in value:
                    out += self.encode_layout(item["items"], elem)
            elif kind == "bytes":
                out += bytes(value)
            elif kind == "utf8":
                out += value.encode("utf-8")
            elif kind == "parameter_value":
                param = self.params[values[item["key"]]]
                out += self._write(param["type"], value, param | {"name": item["name"]})
            else:
                out += self.encode_layout(self._keyed(item, values), value)
        return bytes(out)

    # -- time -------------------------------------------------------------------------------
    def decode_time(self, raw: bytes) -> dict[str, Any]:
        """The time field's segments and its value in seconds since the dictionary's epoch."""
        tc = self.time_code
        if len(raw) != int(tc["octets"]):
            raise TmDecodeError(f"time field of {len(raw)} octets, expected {tc['octets']}")
        pos = 0
        out: dict[str, Any] = {}
        if tc["p_field"] is not None:
            n = int(tc["p_field"]["octets"])
            if raw[:n].hex() != tc["p_field"]["value"]:
                raise TmDecodeError(f"P-field {raw[:n].hex()}, expected {tc['p_field']['value']}")
            pos = n
        for seg in tc["t_field"]:
            n = int(seg["octets"])
            out[seg["name"]] = int.from_bytes(raw[pos : pos + n], "big")
            pos += n
        if tc["format"] == "CUC":
            fine_octets = int(tc["t_field"][1]["octets"])
            out["seconds"] = out["coarse"] + out["fine"] / (1 << (8 * fine_octets))
        else:
            sub = out.get("submillisecond", 0)
            scale = {"us": 1e-6, "ps": 1e-12}.get(tc["t_field"][-1]["unit"], 0.0)
            out["seconds"] = out["day"] * 86400 + out["ms_of_day"] / 1000 + sub * scale * 1e-3
        out["epoch"] = tc["epoch"]
        return out

    # -- packets ----------------------------------------------------------------------------
    def split(self, stream: bytes) -> Iterator[bytes]:
        """The packets of a concatenated stream (``tm.bin``), by their length field."""
        plen_bits = next(f for f in self.primary if f["name"] == "packet_data_length")
        assert plen_bits["bits"] == 16 and self.primary[-1] is plen_bits
        head = self.primary_bits // 8
        pos = 0
        while pos < len(stream):
            if pos + head > len(stream):
                raise TmDecodeError(f"truncated primary header at octet {pos}")
            n = int.from_bytes(stream[pos + head - 2 : pos + head], "big") + head + 1
            if pos + n > len(stream):
                raise TmDecodeError(f"truncated packet at octet {pos}")
            yield stream[pos : pos + n]
            pos += n

    def _check_fixed(self, spec: Sequence[Mapping[str, Any]], got: dict[str, int], tm: bool) -> None:
        for f in spec:
            want = f.get("value", f.get("tm" if tm else "tc"))
            if want is not None and got[f["name"]] != want:
                raise TmDecodeError(f"{f['name']} = {got[f['name']]}, expected {want}")

    def decode_tm(self, packet: bytes) -> DecodedTm:
        """Decode one TM packet completely (every octet explained, PEC checked)."""
        pec_octets = int(self.pec["octets"])
        if _crc(self.pec, packet[:-pec_octets]) != int.from_bytes(packet[-pec_octets:], "big"):
            raise TmDecodeError("packet error control mismatch")
        head = self.primary_bits // 8
        primary = _bitfields(self.primary, int.from_bytes(packet[:head], "big"), self.primary_bits)
        self._check_fixed(self.primary, primary, True)
        if primary["packet_data_length"] + head + 1 != len(packet):
            raise TmDecodeError("length field disagrees with the packet size")
        sec_n = self.tm_head_bits // 8
        sec = _bitfields(
            self.tm_head, int.from_bytes(packet[head : head + sec_n], "big"), self.tm_head_bits
        )
        self._check_fixed(self.tm_head, sec, True)
        t0 = head + sec_n
        t1 = t0 + int(self.time_code["octets"])
        time = self.decode_time(packet[t0:t1])
        key = (sec["service"], sec["subtype"])
        if key not in self.tm_types:
            raise TmDecodeError(f"TM{list(key)} is not in the dictionary")
        _, tm = self.tm_types[key]
        body = packet[t1:-pec_octets]
        data, end = self.decode_layout(tm["layout"], body)
        if end != len(body):
            raise TmDecodeError(f"TM{list(key)}: {len(body) - end} octets left undecoded")
        return DecodedTm(primary | sec, time, key[0], key[1], tm["name"], data)

    def encode_tc(
        self,
        service: int,
        subtype: int,
        values: Mapping[str, Any],
        *,
        apid: int | None = None,
        seq_count: int = 0,
        ack_flags: int = 0b1001,
        source_id: int = 0,
    ) -> bytes:
        """A complete TC packet (PEC included) for ``TC[service,subtype]`` with ``values``."""
        if (service, subtype) not in self.tc_types:
            raise ValueError(f"TC[{service},{subtype}] is not in the dictionary")
        _, tc = self.tc_types[(service, subtype)]
        data = self.encode_layout(tc["layout"], values)
        fields = {
            "apid": self.d["apid"] if apid is None else apid,
            "sequence_count": seq_count,
            "ack_flags": ack_flags,
            "service": service,
            "subtype": subtype,
            "source_id": source_id,
        }
        sec_n = self.tc_head_bits // 8
        pec_octets = int(self.pec["octets"])
        fields["packet_data_length"] = sec_n + len(data) + pec_octets - 1
        body = self._pack_bits(self.primary, fields, tm=False) + self._pack_bits(
            self.tc_head, fields, tm=False
        )
        body += data
        return body + _crc(self.pec, body).to_bytes(pec_octets, "big")

    @staticmethod
    def _pack_bits(spec: Sequence[Mapping[str, Any]], fields: Mapping[str, int], tm: bool) -> bytes:
        value, bits = 0, 0
        for f in spec:
            v = f.get("value", f.get("tm" if tm else "tc"))
            v = fields[f["name"]] if v is None else v
            n = int(f["bits"])
            if not 0 <= v < 1 << n:
                raise ValueError(f"{f['name']}={v} does not fit {n} bits")
            value, bits = value << n | v, bits + n
        return value.to_bytes(bits // 8, "big")

    def encode_command(self, component: str, name: str, **args: Any) -> bytes:
        """TC[8,1] calling ``component.name`` with ``args`` (range-checked per dictionary)."""
        cmd = self.command_names[(component, name)]
        return self.encode_tc(
            cmd["service"], cmd["subtype"], {"function_id": cmd["function_id"], "arguments": args}
        )
