"""Hsiao (72,64) SECDED over ``uint64`` words with a separate ``uint8`` check-byte array.

Public wrappers (re-exported by :mod:`native`): :func:`secded_encode`, :func:`secded_check`,
:func:`secded_scrub`. The code itself (column order, decoder) is documented in
:mod:`native._secded_code`. Word ``i`` of a protected region is the pair
``(data[i], checks[i])``; 72 stored bits, 64 of payload.

Arguments must be 1-D, C-contiguous, aligned arrays of the exact dtype (see
:func:`native.backend.check_word_array`); strided or unaligned views are rejected with
:class:`~native.errors.KernelArgumentError`, because in-place correction could not write back
through a copy. Empty arrays are fine.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from native import _secded_ref as ref
from native._secded_numba import check_numba, encode_numba, scrub_numba
from native.backend import c_library, check_word_array, register_kernel
from native.errors import BackendUnavailableError, KernelArgumentError

__all__ = [
    "SECDED_C_VARIANTS",
    "CheckResult",
    "ScrubResult",
    "secded_check",
    "secded_encode",
    "secded_scrub",
]

#: CPU variants of the C kernels (ids of native/csrc/satnode.h).
SECDED_C_VARIANTS: dict[int, str] = {
    1: "table",
    2: "avx2",
    3: "avx2+gfni",
    4: "avx512vbmi+gfni",
}

#: Capacity of the first index buffer handed to check/scrub; a second, exact-size pass
#: runs only when a region holds more uncorrectable words than this.
_IDX_FIRST_CAPACITY = 256


class CheckResult(NamedTuple):
    """Outcome of :func:`secded_check` (counts of words; nothing was modified).

    ``n_single``: words with one flipped bit (data or check), correctable.
    ``n_uncorrectable``: words that cannot be corrected (``n_double`` + odd non-column
    syndromes, i.e. three or more flips that did not alias to a column).
    ``n_double``: words with an even, non-zero syndrome (two flips), a subset of the above.
    ``n_single_check``: the part of ``n_single`` where the flipped bit is a check bit.
    """

    n_single: int
    n_uncorrectable: int
    n_double: int
    n_single_check: int


class ScrubResult(NamedTuple):
    """Outcome of :func:`secded_scrub` (counts of words).

    ``n_corrected``: words corrected (one bit flipped back, data or check).
    ``n_uncorrectable``: words left untouched because they cannot be corrected.
    ``uncorrectable``: their indices, ascending (``int64``).
    ``n_corrected_check``: the part of ``n_corrected`` where the check bit was wrong.
    ``n_double``: the part of ``n_uncorrectable`` with a double-error syndrome.
    """

    n_corrected: int
    n_uncorrectable: int
    uncorrectable: np.ndarray[Any, np.dtype[np.int64]]
    n_corrected_check: int
    n_double: int


# ----------------------------------------------------------------- implementations ---


def _c_call(fn_name: str, *arrays: np.ndarray[Any, Any], impl: int = 0) -> int:
    ffi, lib = c_library()
    data, checks = arrays[0], arrays[1]
    args: list[Any] = [ffi.from_buffer("uint64_t[]", data), ffi.from_buffer("uint8_t[]", checks)]
    n = data.shape[0]
    if fn_name == "satnode_secded_encode":
        rc = int(lib.satnode_secded_encode(args[0], args[1], n, impl))
    else:
        counts, idx = arrays[2], arrays[3]
        rc = int(
            getattr(lib, fn_name)(
                args[0],
                args[1],
                n,
                ffi.from_buffer("int64_t[]", counts),
                ffi.from_buffer("int64_t[]", idx) if idx.shape[0] else ffi.NULL,
                idx.shape[0],
                impl,
            )
        )
    if rc < 0:
        raise BackendUnavailableError(f"SECDED C variant {impl} is not supported on this CPU")
    return rc


def encode_c(data: np.ndarray[Any, Any], checks: np.ndarray[Any, Any], impl: int = 0) -> None:
    """C implementation (``impl`` 0 = best CPU variant; see :data:`SECDED_C_VARIANTS`)."""
    _c_call("satnode_secded_encode", data, checks, impl=impl)


def check_c(
    data: np.ndarray[Any, Any],
    checks: np.ndarray[Any, Any],
    counts: np.ndarray[Any, Any],
    idx: np.ndarray[Any, Any],
    impl: int = 0,
) -> int:
    """C implementation of the read-only classification."""
    return _c_call("satnode_secded_check", data, checks, counts, idx, impl=impl)


def scrub_c(
    data: np.ndarray[Any, Any],
    checks: np.ndarray[Any, Any],
    counts: np.ndarray[Any, Any],
    idx: np.ndarray[Any, Any],
    impl: int = 0,
) -> int:
    """C implementation of the in-place scrub."""
    return _c_call("satnode_secded_scrub", data, checks, counts, idx, impl=impl)


def c_variant(impl: int = 0) -> str:
    """Name of the C variant that ``impl`` (0 = best) runs on this CPU."""
    _, lib = c_library()
    v = int(lib.satnode_secded_impl(impl))
    if v < 0:
        raise BackendUnavailableError(f"SECDED C variant {impl} is not supported on this CPU")
    return SECDED_C_VARIANTS[v]


def encode_python(data: np.ndarray[Any, Any], checks: np.ndarray[Any, Any]) -> None:
    """NumPy reference, in the kernel calling convention."""
    checks[:] = ref.encode_ref(data)


def _scan_python(
    data: np.ndarray[Any, Any],
    checks: np.ndarray[Any, Any],
    counts: np.ndarray[Any, Any],
    idx: np.ndarray[Any, Any],
    fix: bool,
) -> int:
    fixed_data, fixed_checks, c, bad = ref.scrub_ref(data, checks)
    counts[:] = c
    k = min(idx.shape[0], bad.shape[0])
    idx[:k] = bad[:k]
    if fix:
        data[:] = fixed_data
        checks[:] = fixed_checks
    return int(bad.shape[0])


def check_python(
    data: np.ndarray[Any, Any],
    checks: np.ndarray[Any, Any],
    counts: np.ndarray[Any, Any],
    idx: np.ndarray[Any, Any],
) -> int:
    """NumPy reference of the classification."""
    return _scan_python(data, checks, counts, idx, fix=False)


def scrub_python(
    data: np.ndarray[Any, Any],
    checks: np.ndarray[Any, Any],
    counts: np.ndarray[Any, Any],
    idx: np.ndarray[Any, Any],
) -> int:
    """NumPy reference of the scrub."""
    return _scan_python(data, checks, counts, idx, fix=True)


_variant = {"c": c_variant}
_encode = register_kernel(
    "secded_encode",
    {"c": encode_c, "numba": encode_numba, "python": encode_python},
    variants=_variant,
)
_check = register_kernel(
    "secded_check",
    {"c": check_c, "numba": check_numba, "python": check_python},
    variants=_variant,
)
_scrub = register_kernel(
    "secded_scrub",
    {"c": scrub_c, "numba": scrub_numba, "python": scrub_python},
    variants=_variant,
)


# ----------------------------------------------------------------- public wrappers ---


def _pair(
    data: object, checks: object, writeable: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    d = check_word_array(data, "data", np.uint64, writeable=writeable)
    c = check_word_array(checks, "checks", np.uint8, writeable=writeable, size=d.shape[0])
    if writeable and np.may_share_memory(d, c):
        raise KernelArgumentError("data and checks must not share memory")
    return d, c


def secded_encode(
    data: np.ndarray[Any, np.dtype[np.uint64]],
    out: np.ndarray[Any, np.dtype[np.uint8]] | None = None,
) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Check bytes of ``data`` (one ``uint8`` per ``uint64`` word).

    ``out``, if given, receives them (same length, writeable, must not overlap ``data``) and
    is returned; otherwise a new array is allocated.
    """
    d = check_word_array(data, "data", np.uint64)
    if out is None:
        out = np.empty(d.shape[0], dtype=np.uint8)
    else:
        check_word_array(out, "out", np.uint8, writeable=True, size=d.shape[0])
        if np.may_share_memory(d, out):
            raise KernelArgumentError("out must not share memory with data")
    if d.shape[0]:
        _encode(d, out)
    return out


def _scan(kernel: Any, d: np.ndarray[Any, Any], c: np.ndarray[Any, Any]) -> tuple[Any, Any]:
    counts = np.zeros(4, dtype=np.int64)
    idx = np.empty(min(_IDX_FIRST_CAPACITY, d.shape[0]), dtype=np.int64)
    if d.shape[0] == 0:
        return counts, idx
    nbad = int(kernel(d, c, counts, idx))
    if nbad > idx.shape[0]:
        # More uncorrectable words than the first buffer held. Uncorrectable words are never
        # modified, so a read-only pass finds exactly the same ones.
        idx = np.empty(nbad, dtype=np.int64)
        again = np.zeros(4, dtype=np.int64)
        _check(d, c, again, idx)
    return counts, idx[:nbad]


def secded_check(
    data: np.ndarray[Any, np.dtype[np.uint64]],
    checks: np.ndarray[Any, np.dtype[np.uint8]],
) -> CheckResult:
    """Classify every word of ``(data, checks)``; modifies nothing. See :class:`CheckResult`."""
    d, c = _pair(data, checks, writeable=False)
    counts, _ = _scan(_check, d, c)
    return CheckResult(
        n_single=int(counts[0] + counts[1]),
        n_uncorrectable=int(counts[2] + counts[3]),
        n_double=int(counts[2]),
        n_single_check=int(counts[1]),
    )


def secded_scrub(
    data: np.ndarray[Any, np.dtype[np.uint64]],
    checks: np.ndarray[Any, np.dtype[np.uint8]],
) -> ScrubResult:
    """Correct every single-bit error of ``(data, checks)`` in place (data or check bit).

    Words with uncorrectable syndromes are counted, listed and left unchanged (both arrays).
    A word with three or more flips can alias to a single-bit syndrome and be miscorrected;
    that is inherent to SECDED and why the scrub period must keep upsets from accumulating.
    """
    d, c = _pair(data, checks, writeable=True)
    counts, bad = _scan(_scrub, d, c)
    return ScrubResult(
        n_corrected=int(counts[0] + counts[1]),
        n_uncorrectable=int(counts[2] + counts[3]),
        uncorrectable=bad,
        n_corrected_check=int(counts[1]),
        n_double=int(counts[2]),
    )
