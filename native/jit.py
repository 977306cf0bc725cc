"""The one place that owns Numba's JIT options for every Numba kernel in satnode.

Kernels (in :mod:`native` and in other packages, e.g. the simulated world's fused step or the
EO detector) import :func:`kernel` instead of calling ``numba.njit`` themselves, so that
caching, fastmath policy and error model are uniform and changeable in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

__all__ = ["JIT_OPTIONS", "kernel"]

F = TypeVar("F", bound=Callable[..., Any])

#: Options used for every kernel. ``cache`` writes compiled code next to the module (or to
#: NUMBA_CACHE_DIR) so that a second process starts fast; ``fastmath`` stays off because
#: physics and bit kernels must be bit-reproducible against their NumPy references;
#: ``error_model='numpy'`` makes division by zero produce inf/nan instead of raising inside
#: nopython code, like the references do.
JIT_OPTIONS: dict[str, Any] = {
    "nopython": True,
    "cache": True,
    "nogil": True,
    "fastmath": False,
    "error_model": "numpy",
    "boundscheck": False,
}


def kernel(func: F) -> F:
    """Compile ``func`` with :data:`JIT_OPTIONS` (lazily, on first call)."""
    return numba.jit(**JIT_OPTIONS)(func)  # type: ignore[no-any-return]
