"""Triple modular redundancy over ``uint64`` words: bitwise 2-of-3 majority.

Public wrappers (re-exported by :mod:`native`): :func:`tmr_vote`, :func:`tmr_repair`.

Definitions
-----------
* vote: ``(a & b) | (c & (a ^ b))`` per bit (equal to ``(a & b) | (a & c) | (b & c)``).
* mismatch count: the number of word indices ``i`` where the three replicas are not all
  equal (``a[i] != b[i] or a[i] != c[i]``), however many bits or replicas differ. Each bit
  has only two values, so every bit, hence every word, has a well-defined majority even when
  all three replica words differ from each other.
* repair: every replica word that differs from the vote is overwritten with it; replicas that
  agree are not written (no dirty cache lines for clean memory). ``tmr_repair`` returns the
  number of mismatching (hence repaired) word indices.

Arguments must be 1-D, C-contiguous, aligned ``uint64`` arrays of one length
(:func:`native.backend.check_word_array`); strided or unaligned views are rejected with
:class:`~native.errors.KernelArgumentError`. Empty arrays are fine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from native._tmr_numba import repair_numba, vote_numba
from native._tmr_ref import repair_ref, vote_ref
from native.backend import c_library, check_word_array, register_kernel
from native.errors import BackendUnavailableError, KernelArgumentError

__all__ = ["TMR_C_VARIANTS", "tmr_repair", "tmr_vote"]

#: CPU variants of the C kernels (ids of native/csrc/satnode.h).
TMR_C_VARIANTS: dict[int, str] = {1: "portable", 2: "avx2"}

U64 = np.ndarray[Any, np.dtype[np.uint64]]


def vote_c(a: U64, b: U64, c: U64, out: U64, impl: int = 0) -> int:
    """C implementation (``impl`` 0 = best CPU variant)."""
    ffi, lib = c_library()
    p = [ffi.from_buffer("uint64_t[]", x) for x in (a, b, c, out)]
    m = int(lib.satnode_tmr_vote(p[0], p[1], p[2], p[3], a.shape[0], impl))
    if m < 0:
        raise BackendUnavailableError(f"TMR C variant {impl} is not supported on this CPU")
    return m


def repair_c(a: U64, b: U64, c: U64, impl: int = 0) -> int:
    """C implementation of the in-place repair."""
    ffi, lib = c_library()
    p = [ffi.from_buffer("uint64_t[]", x) for x in (a, b, c)]
    m = int(lib.satnode_tmr_repair(p[0], p[1], p[2], a.shape[0], impl))
    if m < 0:
        raise BackendUnavailableError(f"TMR C variant {impl} is not supported on this CPU")
    return m


def c_variant(impl: int = 0) -> str:
    """Name of the C variant that ``impl`` (0 = best) runs on this CPU."""
    _, lib = c_library()
    v = int(lib.satnode_tmr_impl(impl))
    if v < 0:
        raise BackendUnavailableError(f"TMR C variant {impl} is not supported on this CPU")
    return TMR_C_VARIANTS[v]


def vote_python(a: U64, b: U64, c: U64, out: U64) -> int:
    """NumPy reference in the kernel calling convention."""
    voted, m = vote_ref(a, b, c)
    out[:] = voted
    return m


def repair_python(a: U64, b: U64, c: U64) -> int:
    """NumPy reference in the kernel calling convention."""
    voted, m = repair_ref(a, b, c)
    for r in (a, b, c):
        differs = r != voted
        r[differs] = voted[differs]
    return m


_vote = register_kernel(
    "tmr_vote",
    {"c": vote_c, "numba": vote_numba, "python": vote_python},
    variants={"c": c_variant},
)
_repair = register_kernel(
    "tmr_repair",
    {"c": repair_c, "numba": repair_numba, "python": repair_python},
    variants={"c": c_variant},
)


def _same_buffer(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> bool:
    return bool(x.__array_interface__["data"][0] == y.__array_interface__["data"][0])


def tmr_vote(a: U64, b: U64, c: U64, out: U64 | None = None) -> tuple[U64, int]:
    """Bitwise majority of three replicas and the number of mismatching words.

    Returns ``(voted, n_mismatch_words)``. ``out`` (same length, writeable) receives the vote
    if given; it may be one of ``a``, ``b``, ``c`` itself but must not partially overlap any.
    """
    a = check_word_array(a, "a", np.uint64)
    n = a.shape[0]
    b = check_word_array(b, "b", np.uint64, size=n)
    c = check_word_array(c, "c", np.uint64, size=n)
    if out is None:
        out = np.empty(n, dtype=np.uint64)
    else:
        out = check_word_array(out, "out", np.uint64, writeable=True, size=n)
        for name, r in (("a", a), ("b", b), ("c", c)):
            if np.may_share_memory(out, r) and not _same_buffer(out, r):
                raise KernelArgumentError(f"out partially overlaps {name}")
    if n == 0:
        return out, 0
    return out, int(_vote(a, b, c, out))


def tmr_repair(a: U64, b: U64, c: U64) -> int:
    """Vote and rewrite, in place, every replica word that differs from the majority.

    Returns the number of word indices that were repaired (where the replicas were not all
    equal). The three replicas must be distinct, non-overlapping, writeable arrays.
    """
    a = check_word_array(a, "a", np.uint64, writeable=True)
    n = a.shape[0]
    b = check_word_array(b, "b", np.uint64, writeable=True, size=n)
    c = check_word_array(c, "c", np.uint64, writeable=True, size=n)
    for (nx, x), (ny, y) in (((("a", a), ("b", b))), (("a", a), ("c", c)), (("b", b), ("c", c))):
        if np.may_share_memory(x, y):
            raise KernelArgumentError(f"replicas {nx} and {ny} share memory")
    if n == 0:
        return 0
    return int(_repair(a, b, c))
