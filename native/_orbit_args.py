"""Argument checks shared by the orbit, environment and thermal kernel wrappers."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from native.errors import KernelArgumentError

__all__ = ["as_f64", "check_out"]


def as_f64(value: Any, name: str, shape: tuple[int | None, ...]) -> NDArray[np.float64]:
    """``value`` as a C-contiguous float64 array of ``shape`` (None = any length).

    Inputs are converted (a copy only when needed); a wrong shape or non-finite value raises
    :class:`KernelArgumentError`.
    """
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise KernelArgumentError(f"{name} must be an array of real numbers: {exc}") from exc
    if arr.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(arr.shape, shape, strict=True)
    ):
        want_txt = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
        raise KernelArgumentError(f"{name} must have shape {want_txt}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise KernelArgumentError(f"{name} must be finite")
    return arr


def check_out(out: Any, name: str, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Validate a caller-provided output array: float64, C-contiguous, writeable, ``shape``."""
    if not isinstance(out, np.ndarray):
        raise KernelArgumentError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != np.float64:
        raise KernelArgumentError(f"{name} must have dtype float64, got {out.dtype}")
    if out.shape != shape:
        raise KernelArgumentError(f"{name} must have shape {shape}, got {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise KernelArgumentError(f"{name} must be C-contiguous and writeable")
    return out
