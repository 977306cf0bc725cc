"""The one place that owns Numba's JIT options for every Numba kernel in satnode.

Kernels (in :mod:`native` and in other packages, e.g. the simulated world's fused step or the
EO detector) import :func:`kernel` instead of calling ``numba.njit`` themselves, so that
caching, fastmath policy and error model are uniform and changeable in one place.

Compiled-code cache: a flight image is installed read-only and may run without a writable
home, so the cache never goes next to the sources and is never a reason to fail. Its folder
comes from the environment variable ``SATNODE_NUMBA_CACHE_DIR`` (a folder, or ``off``); without
it, the user cache folder (``$XDG_CACHE_HOME/satnode/numba``, default
``~/.cache/satnode/numba``). A folder that cannot be created or written turns caching off (the
kernels are then compiled in each process); :data:`CACHE_STATUS` says which applies and why
(``satnode doctor`` can report it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numba

__all__ = ["CACHE_DIR", "CACHE_ENV", "CACHE_STATUS", "JIT_OPTIONS", "kernel", "resolve_cache_dir"]

F = TypeVar("F", bound=Callable[..., Any])

#: Environment variable naming the compiled-code cache folder (or ``off``).
CACHE_ENV = "SATNODE_NUMBA_CACHE_DIR"
_OFF = frozenset({"", "0", "off", "none", "false", "no"})


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError:
        return False
    return True


def resolve_cache_dir(environ: dict[str, str] | None = None) -> tuple[Path | None, str]:
    """The cache folder to use (None: caching off) and why, from ``environ`` (default:
    ``os.environ``). Never raises: an unusable folder means no cache."""
    env = os.environ if environ is None else environ
    given = env.get(CACHE_ENV)
    if given is not None:
        if given.strip().lower() in _OFF:
            return None, f"{CACHE_ENV}={given!r}: caching off"
        folder = Path(given).expanduser()
        source = CACHE_ENV
    else:
        xdg = env.get("XDG_CACHE_HOME")
        try:
            base = Path(xdg) if xdg else Path(env.get("HOME") or Path.home()) / ".cache"
        except (RuntimeError, KeyError, OSError):  # no home directory at all
            return None, "no user cache folder (no HOME): caching off"
        folder = base / "satnode" / "numba"
        source = "user cache folder"
    if not _writable(folder):
        return None, f"{source} {folder} is not writable: caching off"
    return folder, f"{source} {folder}"


_dir, CACHE_STATUS = resolve_cache_dir()
#: Where compiled kernels are cached (None: not cached).
CACHE_DIR: str | None = None if _dir is None else str(_dir)
if CACHE_DIR is not None:
    # Numba reads its cache folder when a cached function is first compiled: pointing it here
    # keeps every cache file out of the (possibly read-only) installed package.
    numba.config.CACHE_DIR = CACHE_DIR  # type: ignore[attr-defined]

#: Options used for every kernel. ``cache`` stores compiled code in :data:`CACHE_DIR` (when
#: there is one) so that a second process starts fast; ``fastmath`` stays off because
#: physics and bit kernels must be bit-reproducible against their NumPy references;
#: ``error_model='numpy'`` makes division by zero produce inf/nan instead of raising inside
#: nopython code, like the references do.
JIT_OPTIONS: dict[str, Any] = {
    "nopython": True,
    "cache": CACHE_DIR is not None,
    "nogil": True,
    "fastmath": False,
    "error_model": "numpy",
    "boundscheck": False,
}


def kernel(func: F) -> F:
    """Compile ``func`` with :data:`JIT_OPTIONS` (lazily, on first call)."""
    return numba.jit(**JIT_OPTIONS)(func)  # type: ignore[no-any-return]
