"""Native kernels: C (cffi, compiled at install) and Numba, each with a NumPy reference.

``native`` imports nothing else of satnode. The kernel backend is chosen explicitly with
``SATNODE_NATIVE=auto|c|numba|python``; see :mod:`native.backend`.
"""

from native.errors import (
    BackendUnavailableError,
    KernelArgumentError,
    NativeError,
    SatnodeError,
)

__all__ = ["BackendUnavailableError", "KernelArgumentError", "NativeError", "SatnodeError"]
