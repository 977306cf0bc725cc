"""The Hsiao (72,64) SECDED code used by satnode: its parity-check matrix and derived tables.

This module is the single definition of the code. The NumPy reference, the Numba kernels and
the generated C header (``native/csrc/secded_tables.h``, written by ``python -m
native._secded_code``) all derive from :data:`DATA_COLUMNS`; a test checks that the header is
up to date.

Construction (Hsiao 1970, REFERENCE.md "Radiation and memory protection")
-----------------------------------------------------------------------
Every stored word has 64 data bits and 8 check bits. The parity-check matrix H is 8 x 72; its
column for a bit is the 8-bit syndrome that a flip of that bit produces (syndrome bit r is
matrix row r).

* Data bit ``i`` (bit ``i`` of the ``uint64`` word, LSB = bit 0) has column
  ``DATA_COLUMNS[i]``:

  - bits 0..55: the 56 weight-3 bytes in increasing numeric order
    (0x07, 0x0B, 0x0D, 0x0E, 0x13, 0x15, ..., 0xE0);
  - bits 56..63: the 8 weight-5 bytes ``rotl8(0x1F, k)`` for k = 0..7
    (0x1F, 0x3E, 0x7C, 0xF8, 0xF1, 0xE3, 0xC7, 0x8F).

* Check bit ``r`` (bit ``r`` of the check byte) has column ``1 << r`` (unit vectors).

Every column has odd weight and all 72 are distinct. The weight-5 columns are the 8 rotations
of 0x1F, which put exactly 5 ones in each row, so every row has 21 + 5 = 26 data ones (a
balanced matrix: equal parity-tree depth for all check bits, Hsiao's second criterion).

Encoding: ``check = H_data . data`` (bit r = parity(data & ROWS[r])).
Syndrome of a stored pair: ``s = H_data . data XOR check``.

Decoding (:data:`DECODE`): ``s == 0`` clean; ``s`` equal to the column of bit b: single error
at b, flip it; ``s`` of even weight (non-zero): double error, uncorrectable; odd weight but
no column: uncorrectable (three or more flips). Three-bit errors alias to a column about half
the time and are then miscorrected; that is inherent to SECDED.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

__all__ = [
    "BYTE_TABLES",
    "CHECK_COLUMNS",
    "DATA_COLUMNS",
    "DECODE",
    "DECODE_CLEAN",
    "DECODE_DOUBLE",
    "DECODE_UNCORRECTABLE",
    "GF2_MATRICES",
    "NIBBLE_TABLES",
    "ROWS",
    "render_c_header",
]


def _rotl8(v: int, k: int) -> int:
    return ((v << k) | (v >> (8 - k))) & 0xFF if k else v


#: Column (8-bit syndrome) of data bit i, i = 0..63. See the module docstring for the order.
DATA_COLUMNS: tuple[int, ...] = tuple(
    [v for v in range(256) if bin(v).count("1") == 3] + [_rotl8(0x1F, k) for k in range(8)]
)
#: Column of check bit r, r = 0..7.
CHECK_COLUMNS: tuple[int, ...] = tuple(1 << r for r in range(8))

#: Row masks: ``ROWS[r]`` has bit i set when data bit i takes part in check bit r.
ROWS: tuple[int, ...] = tuple(
    sum(1 << i for i in range(64) if (DATA_COLUMNS[i] >> r) & 1) for r in range(8)
)

#: Decoder actions, indexed by syndrome: 0 clean, 1..64 flip data bit (value - 1),
#: 65..72 flip check bit (value - 65), DECODE_DOUBLE, DECODE_UNCORRECTABLE.
DECODE_CLEAN = 0
DECODE_DOUBLE = 254
DECODE_UNCORRECTABLE = 255


def _decode_table() -> np.ndarray:
    table = np.empty(256, dtype=np.uint8)
    position = {c: i + 1 for i, c in enumerate(DATA_COLUMNS)}
    position.update({c: 65 + r for r, c in enumerate(CHECK_COLUMNS)})
    for s in range(256):
        if s == 0:
            table[s] = DECODE_CLEAN
        elif s in position:
            table[s] = position[s]
        elif bin(s).count("1") % 2 == 0:
            table[s] = DECODE_DOUBLE
        else:
            table[s] = DECODE_UNCORRECTABLE
    return table


DECODE: np.ndarray = _decode_table()
DECODE.flags.writeable = False


def _byte_tables() -> np.ndarray:
    """``T[j, b]``: syndrome contribution of byte value b at byte position j (bits 8j..8j+7)."""
    t = np.zeros((8, 256), dtype=np.uint8)
    for j in range(8):
        for b in range(256):
            s = 0
            for k in range(8):
                if (b >> k) & 1:
                    s ^= DATA_COLUMNS[8 * j + k]
            t[j, b] = s
    return t


#: Byte tables (8 x 256 uint8) for table-driven syndromes.
BYTE_TABLES: np.ndarray = _byte_tables()
BYTE_TABLES.flags.writeable = False

#: Nibble tables (16 x 16 uint8): row 2j is the low nibble of byte j, row 2j+1 the high one.
NIBBLE_TABLES: np.ndarray = np.ascontiguousarray(
    np.stack([BYTE_TABLES[j // 2, np.arange(16) << (4 * (j % 2))] for j in range(16)])
)
NIBBLE_TABLES.flags.writeable = False


def _gf2_matrices() -> tuple[int, ...]:
    """GF2P8AFFINEQB matrices: for byte position j, ``A_j . b`` is that byte's syndrome part.

    The instruction sets result bit i to parity(A.byte[7 - i] & b), so byte 7 - r of A_j holds
    the byte-j slice of row r.
    """
    out = []
    for j in range(8):
        a = 0
        for r in range(8):
            a |= ((ROWS[r] >> (8 * j)) & 0xFF) << (8 * (7 - r))
        out.append(a)
    return tuple(out)


#: One 8x8 bit matrix (as uint64) per byte position, for the GFNI kernel.
GF2_MATRICES: tuple[int, ...] = _gf2_matrices()


def _c_array(name: str, ctype: str, values: np.ndarray | list[int] | tuple[int, ...]) -> str:
    arr = np.asarray(values, dtype=np.uint64 if ctype == "uint64_t" else np.uint8)
    fmt = "0x{:016X}u" if ctype == "uint64_t" else "0x{:02X}"
    if arr.ndim == 1:
        body = _wrap([fmt.format(int(v)) for v in arr])
        return f"static const {ctype} {name}[{arr.shape[0]}] = {{\n{body}\n}};\n"
    rows = [f"  {{\n{_wrap([fmt.format(int(v)) for v in row], 4)}\n  }}" for row in arr]
    dims = "".join(f"[{d}]" for d in arr.shape)
    return f"static const {ctype} {name}{dims} = {{\n" + ",\n".join(rows) + "\n};\n"


def _wrap(items: list[str], indent: int = 2, width: int = 96) -> str:
    lines: list[str] = []
    cur = " " * indent
    for it in items:
        piece = it + ", "
        if len(cur) + len(piece) > width:
            lines.append(cur.rstrip())
            cur = " " * indent
        cur += piece
    lines.append(cur.rstrip().rstrip(","))
    return "\n".join(lines)


def render_c_header() -> str:
    """The text of ``native/csrc/secded_tables.h`` (generated; do not edit the header)."""
    parts = [
        "/* GENERATED by `python -m native._secded_code` from native/_secded_code.py.\n"
        " * Do not edit: change the Python definition and regenerate (a test checks this).\n"
        " * Hsiao (72,64) SECDED tables; see native/_secded_code.py for the construction. */\n"
        "#ifndef SATNODE_SECDED_TABLES_H\n#define SATNODE_SECDED_TABLES_H\n#include <stdint.h>\n",
        "/* Row masks: bit i of ROWS[r] set when data bit i feeds check bit r. */",
        _c_array("SECDED_ROWS", "uint64_t", ROWS),
        "/* Syndrome contribution of each byte value at each byte position. */",
        _c_array("SECDED_BYTE", "uint8_t", BYTE_TABLES),
        "/* Nibble tables: row 2j low nibble of byte j, row 2j+1 high nibble. */",
        _c_array("SECDED_NIBBLE", "uint8_t", NIBBLE_TABLES),
        "/* GF2P8AFFINEQB matrix per byte position. */",
        _c_array("SECDED_GF2", "uint64_t", GF2_MATRICES),
        "/* Decoder: 0 clean, 1..64 data bit+1, 65..72 check bit+65, 254 double, 255 odd. */",
        _c_array("SECDED_DECODE", "uint8_t", DECODE),
        "#endif\n",
    ]
    return "\n".join(parts)


HEADER_PATH = Path(__file__).resolve().parent / "csrc" / "secded_tables.h"

if __name__ == "__main__":
    HEADER_PATH.write_text(render_c_header())
    sys.stdout.write(f"wrote {HEADER_PATH}\n")
