"""Regenerate ``pus_vectors.json`` with the peer library (see SOURCES.md).

Run from the repository root with spacepackets 0.32.0 installed:
``python3 tests/data/make_pus_vectors.py > tests/data/pus_vectors.json``.
It uses only spacepackets (never satnode), so the file is the peer's output.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version

from spacepackets.ecss import PusTc, PusTm
from spacepackets.ecss.tm import MiscParams

TM = [
    # (apid, seq_count, service, subtype, msg_counter, dest_id, time hex, data hex, time_ref)
    (0x10, 0, 1, 1, 0, 0, "", "", 0),
    (0x42, 22, 3, 25, 7, 8, "400000000000", "0102", 0),
    (0x7FF, 0x3FFF, 5, 4, 0xFFFF, 0xFFFF, "4019a0000186a0", "deadbeef" * 4, 15),
    (0x123, 1000, 17, 2, 12345, 1, "2e000102030405", "", 3),
]
TC = [
    # (apid, seq_count, service, subtype, ack_flags, source_id, data hex)
    (0x42, 22, 17, 1, 0xF, 0, ""),
    (0x10, 1, 8, 1, 0x0, 0x1234, "1601"),
    (0x7FF, 0x3FFF, 20, 3, 0x9, 0xFFFF, "02" + "00" * 31),
]


def main() -> None:
    tm = []
    for apid, seq, svc, sub, ctr, dest, time_hex, data_hex, ref in TM:
        packet = PusTm(
            service=svc,
            message_subtype=sub,
            timestamp=bytes.fromhex(time_hex),
            source_data=bytes.fromhex(data_hex),
            apid=apid,
            seq_count=seq,
            message_counter=ctr,
            destination_id=dest,
            misc_params=MiscParams(spacecraft_time_ref=ref),
        )
        tm.append(
            {
                "apid": apid, "seq_count": seq, "service": svc, "subtype": sub,
                "msg_counter": ctr, "dest_id": dest, "time": time_hex, "data": data_hex,
                "time_ref": ref, "packet": packet.pack().hex(),
            }
        )  # fmt: skip
    tc = []
    for apid, seq, svc, sub, ack, source, data_hex in TC:
        packet = PusTc(
            service=svc,
            message_subtype=sub,
            apid=apid,
            app_data=bytes.fromhex(data_hex),
            seq_count=seq,
            source_id=source,
            ack_flags=ack,
        )
        tc.append(
            {
                "apid": apid, "seq_count": seq, "service": svc, "subtype": sub,
                "ack_flags": ack, "source_id": source, "data": data_hex,
                "packet": packet.pack().hex(),
            }
        )  # fmt: skip
    doc = {"generator": f"spacepackets {version('spacepackets')}", "tm": tm, "tc": tc}
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
