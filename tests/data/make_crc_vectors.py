"""Regenerate the ``vectors`` of ``crc_vectors.json`` with crcmod's C extension (see SOURCES.md).

Run from the repository root with crcmod 1.7 (C extension) installed:
``python3 tests/data/make_crc_vectors.py > tests/data/crc_vectors.json``. The catalogue
entries (``catalogue``) are copied from the CRC RevEng catalogue, not computed; the vectors
use only crcmod (never satnode), so they are the peer's output.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version

import crcmod
import crcmod.predefined

CATALOGUE = {
    # name in the CRC RevEng catalogue -> its parameters and check value (over "123456789")
    "CRC-16/IBM-3740": {
        "alias": "CRC-16/CCITT-FALSE (crcmod 'crc-ccitt-false'); the CCSDS packet error control",
        "width": 16, "poly": "0x1021", "init": "0xffff", "refin": False, "refout": False,
        "xorout": "0x0000", "check": "0x29b1", "residue": "0x0000",
    },
    "CRC-16/XMODEM": {
        "alias": "the same polynomial with init 0 (crcmod 'xmodem')",
        "width": 16, "poly": "0x1021", "init": "0x0000", "refin": False, "refout": False,
        "xorout": "0x0000", "check": "0x31c3", "residue": "0x0000",
    },
    "CRC-32/ISCSI": {
        "alias": "CRC-32C, Castagnoli (crcmod 'crc-32c')",
        "width": 32, "poly": "0x1edc6f41", "init": "0xffffffff", "refin": True, "refout": True,
        "xorout": "0xffffffff", "check": "0xe3069283", "residue": "0xb798b438",
    },
}  # fmt: skip

INPUTS = {
    "empty": b"",
    "check": b"123456789",
    "one_byte_a": b"A",
    "zeros_32": bytes(32),
    "ones_32": b"\xff" * 32,
    "ramp_256": bytes(range(256)),
    "ramp_1000": bytes(i * 7 % 256 for i in range(1000)),
}


def main() -> None:
    assert sys.modules["crcmod.crcmod"]._usingExtension, "crcmod's C extension is required"
    crc16 = crcmod.predefined.mkCrcFun("crc-ccitt-false")
    crc32c = crcmod.predefined.mkCrcFun("crc-32c")
    vectors = [
        {"input": name, "hex": data.hex(), "crc16_ccitt_false": crc16(data), "crc32c": crc32c(data)}
        for name, data in INPUTS.items()
    ]
    doc = {
        "generator": f"crcmod {version('crcmod')} (C extension)",
        "catalogue": CATALOGUE,
        "vectors": vectors,
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
