"""Kernel backend selection: which implementation (C, Numba, NumPy reference) runs each kernel.

Every kernel is registered once, by name, with its implementations
(:func:`register_kernel`). The backend is chosen explicitly, never by silent fallback:

``SATNODE_NATIVE`` (environment; read once, at the first kernel call or report, and again
after ``set_backend(None)``) or :func:`set_backend` (the composition root / tests; overrides
the environment):

========  ==========================================================================
value     what runs each kernel
========  ==========================================================================
``auto``  (default; also when the variable is unset or empty) the kernel's declared
          preferred implementation: its C implementation if it has one, otherwise its Numba
          one (a kernel may declare a different preference at registration).
``c``     the C implementation for every kernel that has one; a kernel without a C
          implementation (the orbit and thermal physics) runs its Numba implementation, and
          :func:`backend_report` says so (``"numba (no C kernel)"``).
``numba`` the Numba implementation of every kernel.
``python`` the pure-NumPy reference of every kernel (slow; the test oracle).
========  ==========================================================================

Values are case-insensitive and surrounding whitespace is ignored.

Errors, raised when a kernel is resolved (its first call after a change of selection) and by
:func:`backend_report`:

* an unknown value -> :class:`~native.errors.ConfigError` naming the value and the allowed ones;
* a C implementation selected (by ``c`` or ``auto``) while the cffi extension did not build,
  or was built from other sources (ABI mismatch) ->
  :class:`~native.errors.BackendUnavailableError`. ``auto`` does not fall back to Numba
  either: set ``SATNODE_NATIVE=numba`` to run without the C extension, explicitly;
* ``numba`` for a kernel registered without a Numba implementation ->
  :class:`~native.errors.BackendUnavailableError`.

The C backend has two call paths into the same compiled kernels (``native/csrc``): the cffi
module ``native._satnode_c`` (:func:`c_library`, every kernel) and, for the TM/TC codec's
per-packet CRC-16, the CPython-API module ``native._satnode_fast`` (:func:`c_fast`,
``native/csrc_py/fast.c``), whose METH_FASTCALL entry points skip cffi's ~150 ns of argument
conversion. Both are built at install; a missing or stale one is a
:class:`~native.errors.BackendUnavailableError`, never a fallback.

Within the C backend a kernel may have CPU variants (e.g. CRC-16 with PCLMULQDQ or with
tables) chosen by the C code at run time from CPUID; the report names the variant in use,
e.g. ``{"crc16_ccitt": "c (pclmul)"}``.

For other kernel authors (orbit, thermal)::

    _propagate = register_kernel(
        "orbit_propagate", {"numba": _propagate_numba, "python": _propagate_ref}
    )

    def propagate(...):            # the public, typed wrapper: checks arguments, allocates
        ...
        _propagate(r, v, dt_s, out)   # dispatches to the selected backend's implementation
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from native.errors import BackendUnavailableError, ConfigError, KernelArgumentError

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "IMPLEMENTATIONS",
    "Kernel",
    "backend_report",
    "c_fast",
    "c_library",
    "check_word_array",
    "kernel_names",
    "register_kernel",
    "selected_backend",
    "set_backend",
    "use_backend",
]

#: Environment variable that selects the backend.
ENV_VAR = "SATNODE_NATIVE"
#: Allowed selections.
BACKENDS: tuple[str, ...] = ("auto", "c", "numba", "python")
#: Implementation kinds a kernel can register.
IMPLEMENTATIONS: tuple[str, ...] = ("c", "numba", "python")
#: ABI version the Python side expects from native._satnode_c (csrc/version.c).
C_ABI_VERSION = 2
#: Python-interface version the codec expects from native._satnode_fast (csrc_py/fast.c).
FAST_API_VERSION = 1

_override: str | None = None
#: Parsed $SATNODE_NATIVE (or the error it gave); None until first read.
_env_selection: str | ConfigError | None = None
#: Bumped by every change of selection; kernels cache their resolution per generation.
_generation = 0
_lock = threading.Lock()
_registry: dict[str, Kernel] = {}
_c_cache: tuple[Any, Any] | BackendUnavailableError | None = None
_fast_cache: Any = None


def _parse(value: str, source: str) -> str:
    norm = value.strip().lower()
    if norm == "":
        return "auto"
    if norm not in BACKENDS:
        raise ConfigError(
            f"{source}={value!r} is not a kernel backend; allowed values: {', '.join(BACKENDS)}"
        )
    return norm


def selected_backend() -> str:
    """The backend selection now in force: ``auto``, ``c``, ``numba`` or ``python``.

    :func:`set_backend`'s value if one is set, else ``$SATNODE_NATIVE`` (unset or empty means
    ``auto``). Raises :class:`ConfigError` for an unknown value.
    """
    global _env_selection
    if _override is not None:
        return _override
    env = _env_selection
    if env is None:
        try:
            env = _parse(os.environ.get(ENV_VAR, ""), ENV_VAR)
        except ConfigError as exc:
            env = exc
        _env_selection = env
    if isinstance(env, ConfigError):
        raise env
    return env


def set_backend(name: str | None) -> None:
    """Select the backend for this process; ``None`` goes back to ``$SATNODE_NATIVE``, which is
    then read again.

    Raises :class:`ConfigError` for an unknown name (and then changes nothing).
    """
    global _override, _generation, _env_selection
    value = None if name is None else _parse(name, "backend")
    with _lock:
        _override = value
        if value is None:
            _env_selection = None
        _generation += 1


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Context manager: run the body with ``name`` selected, then restore the previous one."""
    global _override, _generation
    value = _parse(name, "backend")
    with _lock:
        previous = _override
        _override = value
        _generation += 1
    try:
        yield
    finally:
        with _lock:
            _override = previous
            _generation += 1


def c_library() -> tuple[Any, Any]:
    """``(ffi, lib)`` of the cffi extension ``native._satnode_c`` (built at install).

    Raises :class:`BackendUnavailableError` if it was not built or is stale (ABI mismatch).
    Importing it never compiles anything.
    """
    global _c_cache
    if _c_cache is None:
        try:
            from native import _satnode_c  # type: ignore[attr-defined]
        except ImportError as exc:
            _c_cache = BackendUnavailableError(
                "the C kernels (native._satnode_c) are not built: "
                f"{exc}. Reinstall satnode with a C compiler present (pip install -e .), or "
                f"select the Numba kernels explicitly with {ENV_VAR}=numba."
            )
        else:
            abi = _satnode_c.lib.satnode_abi_version()
            if abi != C_ABI_VERSION:
                _c_cache = BackendUnavailableError(
                    f"the C kernels are stale (ABI {abi}, this source expects {C_ABI_VERSION}); "
                    "rebuild with pip install -e ."
                )
            else:
                _c_cache = (_satnode_c.ffi, _satnode_c.lib)
    if isinstance(_c_cache, BackendUnavailableError):
        raise _c_cache
    return _c_cache


def c_fast() -> Any:
    """The CPython-API extension ``native._satnode_fast``: the C backend's call path for the
    TM/TC codec (the CRC-16 kernel of ``csrc/crc.c`` behind METH_FASTCALL entry points that take
    the buffer protocol, and the PUS packet encoders; see ``csrc_py/fast.c``).

    Built at install with the cffi module, from the same kernel sources; it has no other
    backend. Raises :class:`BackendUnavailableError` if it was not built or is stale (its
    kernel ABI or its interface differs from this source), like :func:`c_library`.
    """
    global _fast_cache
    if _fast_cache is None:
        try:
            from native import _satnode_fast  # type: ignore[attr-defined]
        except ImportError as exc:
            _fast_cache = BackendUnavailableError(
                f"the C codec entry points (native._satnode_fast) are not built: {exc}. "
                "Reinstall satnode with a C compiler and the Python headers present "
                f"(pip install -e .), or select the Numba kernels explicitly with {ENV_VAR}=numba."
            )
        else:
            abi, api = _satnode_fast.ABI_VERSION, _satnode_fast.API_VERSION
            if (abi, api) != (C_ABI_VERSION, FAST_API_VERSION):
                _fast_cache = BackendUnavailableError(
                    f"native._satnode_fast is stale (ABI {abi}, interface {api}; this source "
                    f"expects {C_ABI_VERSION}, {FAST_API_VERSION}); rebuild with pip install -e ."
                )
            else:
                _fast_cache = _satnode_fast
    if isinstance(_fast_cache, BackendUnavailableError):
        raise _fast_cache
    return _fast_cache


@dataclass(eq=False)
class Kernel:
    """A registered kernel: calling it runs the implementation of the selected backend.

    ``implementations`` maps ``"c"``, ``"numba"``, ``"python"`` to callables with one common
    signature (plain, already validated arrays). ``preferred`` is what ``auto`` runs.
    ``variants`` maps an implementation kind to a zero-argument callable naming the CPU
    variant it uses (shown by :func:`backend_report`).
    """

    name: str
    implementations: Mapping[str, Callable[..., Any]]
    preferred: str
    variants: Mapping[str, Callable[[], str]] = field(default_factory=dict)
    _cache: tuple[int, str, Callable[..., Any]] | None = None

    def resolve(self) -> tuple[str, Callable[..., Any]]:
        """``(kind, implementation)`` for the current selection (see the module docstring)."""
        cached = self._cache
        if cached is not None and cached[0] == _generation:
            return cached[1], cached[2]
        generation = _generation
        kind = self._kind_for(selected_backend())
        if kind == "c":
            c_library()  # raises BackendUnavailableError when the extension is missing
        fn = self.implementations[kind]
        self._cache = (generation, kind, fn)
        return kind, fn

    def _kind_for(self, selection: str) -> str:
        if selection == "auto":
            return self.preferred
        if selection == "c":
            return "c" if "c" in self.implementations else "numba"
        if selection not in self.implementations:
            raise BackendUnavailableError(
                f"kernel {self.name!r} has no {selection} implementation "
                f"(it has: {', '.join(sorted(self.implementations))})"
            )
        return selection

    def describe(self) -> str:
        """What runs now, e.g. ``"c (pclmul)"``, ``"numba"``, ``"numba (no C kernel)"``."""
        selection = selected_backend()
        kind, _ = self.resolve()
        text = kind
        variant = self.variants.get(kind)
        if variant is not None:
            text += f" ({variant()})"
        elif selection == "c" and kind != "c":
            text += " (no C kernel)"
        return text

    def __call__(self, *args: Any) -> Any:
        """Run the selected implementation."""
        cached = self._cache
        if cached is not None and cached[0] == _generation:
            return cached[2](*args)
        return self.resolve()[1](*args)


def register_kernel(
    name: str,
    implementations: Mapping[str, Callable[..., Any]],
    *,
    preferred: str | None = None,
    variants: Mapping[str, Callable[[], str]] | None = None,
) -> Kernel:
    """Register a kernel under a unique ``name`` and return its dispatching :class:`Kernel`.

    ``implementations`` must include ``"python"`` (the NumPy reference, the test oracle) and
    at least one of ``"c"``/``"numba"``. ``preferred`` (what ``auto`` runs) defaults to
    ``"c"`` if present, else ``"numba"``. Registering a name twice replaces the entry only
    if it comes from the same module reload; a different kernel with a taken name is an
    error (:class:`ConfigError`).
    """
    impls = dict(implementations)
    unknown = set(impls) - set(IMPLEMENTATIONS)
    if unknown:
        raise ConfigError(f"kernel {name!r}: unknown implementation kinds {sorted(unknown)}")
    if "python" not in impls or not ({"c", "numba"} & set(impls)):
        raise ConfigError(
            f"kernel {name!r} needs a 'python' reference and a 'c' or 'numba' implementation"
        )
    if preferred is None:
        preferred = "c" if "c" in impls else "numba"
    if preferred not in impls:
        raise ConfigError(f"kernel {name!r}: preferred {preferred!r} is not implemented")
    old = _registry.get(name)
    if old is not None and old.implementations["python"].__module__ != impls["python"].__module__:
        raise ConfigError(f"kernel name {name!r} is already registered by another module")
    k = Kernel(name, impls, preferred, dict(variants or {}))
    _registry[name] = k
    return k


def kernel_names() -> tuple[str, ...]:
    """Names of all registered kernels, sorted."""
    return tuple(sorted(_registry))


def backend_report(strict: bool = True) -> dict[str, str]:
    """Per kernel name, the implementation that runs now (for ``satnode doctor``, boot TM).

    Values look like ``"c (avx512vbmi+gfni)"``, ``"numba"``, ``"numba (no C kernel)"``,
    ``"python"``. With ``strict`` (default) a selection error is raised
    (:class:`ConfigError`, :class:`BackendUnavailableError`); with ``strict=False`` the
    value becomes ``"unavailable: <reason>"`` so that a diagnostic tool can show everything.
    """
    report: dict[str, str] = {}
    for name in kernel_names():
        try:
            report[name] = _registry[name].describe()
        except (ConfigError, BackendUnavailableError) as exc:
            if strict:
                raise
            report[name] = f"unavailable: {exc}"
    return report


def check_word_array(
    arr: object,
    name: str,
    dtype: np.dtype[Any] | type[np.generic],
    *,
    writeable: bool = False,
    size: int | None = None,
) -> np.ndarray[Any, Any]:
    """Validate a kernel argument; return it unchanged. Used by every typed kernel wrapper.

    Requires a 1-D, C-contiguous, aligned ``numpy.ndarray`` of exactly ``dtype`` (native byte
    order), writeable if ``writeable``, of ``size`` elements if given. Views that are
    strided or unaligned are rejected rather than copied, because in-place kernels could not
    write back through a copy. Raises :class:`KernelArgumentError` naming the problem.
    """
    if not isinstance(arr, np.ndarray):
        raise KernelArgumentError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
    want = np.dtype(dtype)
    if arr.dtype != want:
        raise KernelArgumentError(f"{name} must have dtype {want}, got {arr.dtype}")
    if arr.ndim != 1:
        raise KernelArgumentError(f"{name} must be 1-D, got shape {arr.shape}")
    if not arr.flags.c_contiguous:
        raise KernelArgumentError(f"{name} must be contiguous (got a strided view)")
    if not arr.flags.aligned:
        raise KernelArgumentError(f"{name} must be aligned to {want.itemsize} bytes")
    if writeable and not arr.flags.writeable:
        raise KernelArgumentError(f"{name} must be writeable (it is modified in place)")
    if size is not None and arr.shape[0] != size:
        raise KernelArgumentError(f"{name} must have {size} elements, got {arr.shape[0]}")
    return arr
