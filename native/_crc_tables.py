"""Tables and folding constants for satnode's CRC kernels, and the generator of their C header.

Everything here is derived from the two polynomials by plain bit-serial arithmetic, so it can
be re-derived and checked (a test regenerates ``native/csrc/crc_tables.h`` and compares).
Run ``python -m native._crc_tables`` to rewrite the header after a change.

CRC-16-CCITT-FALSE (poly 0x1021, init 0xFFFF, MSB first, no reflection, no final xor)
------------------------------------------------------------------------------------
* ``CRC16_TABLES[k][b]``: CRC (init 0) of byte ``b`` followed by ``k`` zero bytes, k = 0..15.
  Slicing-by-16 folds the running CRC into the first two bytes of a 16-byte block and XORs
  ``CRC16_TABLES[15 - i][byte_i]`` over the block.
* PCLMULQDQ folding (after Intel's "Fast CRC Computation for Generic Polynomials Using
  PCLMULQDQ", 2009, and the T10-DIF kernels that apply it to a non-reflected 16-bit poly).
  Blocks of 16 bytes are loaded byte-reversed, so the 128-bit lane value is the block's
  polynomial with the first message bit at x^127. An accumulator ``A = Ahi x^64 + Alo`` is
  moved forward by D bits with ``A x^D == Ahi (x^(D+64) mod P) + Alo (x^D mod P)`` (mod P):
  two 64x64 carry-less products with 16-bit constants (the products stay below x^80, inside
  the lane), then the next block is XORed in. The constants are ``x^e mod P``
  (:func:`crc16_xpow_mod`) for e = 128, 192 (fold by one block) and e = 1024, 1088 (fold by
  eight blocks, the eight independent accumulators that hide the multiplier's latency). The
  VPCLMULQDQ (AVX-512) variant folds four 128-bit lanes per instruction: e = 512, 576 (by
  one 64-byte register) and e = 2048, 2112 (by four registers, its four accumulators).
  At the end the 128-bit accumulator is congruent to the message so far; its 16 bytes,
  run through the table CRC with init 0, give ``A x^16 mod P`` = the CRC. The init value is
  XORed into the first 16 message bits, which is what a non-reflected CRC's init means.

CRC-32C (Castagnoli, reflected poly 0x82F63B78, init and final xor 0xFFFFFFFF)
-------------------------------------------------------------------------------
* ``CRC32C_TABLES[k][b]``: slicing-by-8 tables of the reflected register (``k`` zero bytes
  after ``b``).
* ``CRC32C_SHIFT_LONG`` / ``CRC32C_SHIFT_SHORT``: the linear operator "append N zero bytes"
  (N = :data:`CRC32C_LONG` / :data:`CRC32C_SHORT`) on the raw register, as four byte tables
  (M. Adler's crc32c.c technique). The SSE4.2 kernel runs three ``crc32`` streams over
  three consecutive N-byte blocks and joins them with
  ``shift(shift(c0) ^ c1) ^ c2``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

__all__ = [
    "CRC16_FOLD",
    "CRC16_POLY",
    "CRC16_TABLES",
    "CRC32C_LONG",
    "CRC32C_POLY_REFLECTED",
    "CRC32C_SHIFT_LONG",
    "CRC32C_SHIFT_SHORT",
    "CRC32C_SHORT",
    "CRC32C_TABLES",
    "crc16_xpow_mod",
    "render_c_header",
]

CRC16_POLY = 0x1021
CRC32C_POLY_REFLECTED = 0x82F63B78
#: Block sizes (bytes) of the 3-way interleaved SSE4.2 CRC-32C kernel.
CRC32C_LONG = 8192
CRC32C_SHORT = 256


def crc16_xpow_mod(e: int) -> int:
    """``x^e mod P(x)`` for P = x^16 + x^12 + x^5 + 1, as a 16-bit integer (bit k = x^k)."""
    r = 1
    for _ in range(e):
        r <<= 1
        if r & 0x10000:
            r ^= 0x10000 | CRC16_POLY
    return r


#: Folding constants, ``{e: x^e mod P}``.
CRC16_FOLD: dict[int, int] = {
    e: crc16_xpow_mod(e) for e in (128, 192, 512, 576, 1024, 1088, 2048, 2112)
}


def _crc16_tables() -> np.ndarray:
    t = np.zeros((16, 256), dtype=np.uint16)
    for b in range(256):
        r = b << 8
        for _ in range(8):
            r = ((r << 1) ^ CRC16_POLY) if r & 0x8000 else (r << 1)
            r &= 0xFFFF
        t[0, b] = r
    for k in range(1, 16):
        prev = t[k - 1].astype(np.uint32)
        t[k] = ((prev << 8) & 0xFFFF) ^ t[0][prev >> 8]
    return t


def _crc32c_tables() -> np.ndarray:
    t = np.zeros((8, 256), dtype=np.uint32)
    for b in range(256):
        r = b
        for _ in range(8):
            r = (r >> 1) ^ CRC32C_POLY_REFLECTED if r & 1 else r >> 1
        t[0, b] = r
    for k in range(1, 8):
        prev = t[k - 1]
        t[k] = (prev >> 8) ^ t[0][prev & 0xFF]
    return t


CRC16_TABLES: np.ndarray = _crc16_tables()
CRC16_TABLES.flags.writeable = False
CRC32C_TABLES: np.ndarray = _crc32c_tables()
CRC32C_TABLES.flags.writeable = False


def _crc32c_shift_tables(nbytes: int) -> np.ndarray:
    """Four byte tables of the operator "feed ``nbytes`` zero bytes" on the raw register."""
    t0 = [int(v) for v in CRC32C_TABLES[0]]
    basis = []
    for bit in range(32):
        s = 1 << bit
        for _ in range(nbytes):
            s = (s >> 8) ^ t0[s & 0xFF]
        basis.append(s)
    out = np.zeros((4, 256), dtype=np.uint32)
    for k in range(4):
        for b in range(256):
            v = 0
            for i in range(8):
                if (b >> i) & 1:
                    v ^= basis[8 * k + i]
            out[k, b] = v
    return out


CRC32C_SHIFT_LONG: np.ndarray = _crc32c_shift_tables(CRC32C_LONG)
CRC32C_SHIFT_SHORT: np.ndarray = _crc32c_shift_tables(CRC32C_SHORT)


def _c_table(name: str, ctype: str, arr: np.ndarray) -> str:
    digits = 4 if ctype == "uint16_t" else 8
    rows = []
    for row in arr:
        items = [f"0x{int(v):0{digits}X}" for v in row]
        lines = ["    " + ", ".join(items[i : i + 8]) for i in range(0, len(items), 8)]
        rows.append("  {\n" + ",\n".join(lines) + "\n  }")
    dims = "".join(f"[{d}]" for d in arr.shape)
    return f"static const {ctype} {name}{dims} = {{\n" + ",\n".join(rows) + "\n};\n"


def render_c_header() -> str:
    """The text of ``native/csrc/crc_tables.h`` (generated; do not edit the header)."""
    fold = "\n".join(
        f"#define CRC16_XPOW_{e} 0x{v:04X}u /* x^{e} mod P */" for e, v in CRC16_FOLD.items()
    )
    return "\n".join(
        [
            "/* GENERATED by `python -m native._crc_tables` from native/_crc_tables.py.\n"
            " * Do not edit: change the Python definition and regenerate (a test checks this). */",
            "#ifndef SATNODE_CRC_TABLES_H\n#define SATNODE_CRC_TABLES_H\n#include <stdint.h>\n",
            "/* CRC-16-CCITT folding constants (see native/_crc_tables.py for the derivation). */",
            fold,
            f"#define CRC32C_LONG {CRC32C_LONG}\n#define CRC32C_SHORT {CRC32C_SHORT}\n",
            "/* CRC-16-CCITT slicing-by-16: [k][b] = CRC(init 0) of b then k zero bytes. */",
            _c_table("CRC16_T", "uint16_t", CRC16_TABLES),
            "/* CRC-32C (reflected) slicing-by-8 tables. */",
            _c_table("CRC32C_T", "uint32_t", CRC32C_TABLES),
            f"/* CRC-32C register operator: append {CRC32C_LONG} zero bytes. */",
            _c_table("CRC32C_SHIFT_LONG_T", "uint32_t", CRC32C_SHIFT_LONG),
            f"/* CRC-32C register operator: append {CRC32C_SHORT} zero bytes. */",
            _c_table("CRC32C_SHIFT_SHORT_T", "uint32_t", CRC32C_SHIFT_SHORT),
            "#endif",
            "",
        ]
    )


HEADER_PATH = Path(__file__).resolve().parent / "csrc" / "crc_tables.h"

if __name__ == "__main__":
    HEADER_PATH.write_text(render_c_header())
    sys.stdout.write(f"wrote {HEADER_PATH}\n")
