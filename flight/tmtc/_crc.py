"""CRC-16-CCITT-FALSE, the packet error control (PEC) of every satnode space packet and the
frame error control (FECF) of every transfer frame.

Parameters (CCSDS 133.0-B-2 / ECSS-E-ST-70-41C annex B): polynomial 0x1021, initial value
0xFFFF, no input or output reflection, no final XOR; check value 0x29B1 over ASCII
``"123456789"``. Appending the CRC big-endian to the data gives a CRC of zero over the whole,
which is how packets are verified (one pass, no slicing).

The computation runs in crcmod's C extension (``crcmod.predefined.mkCrcFun('crc-ccitt-false')``).
crcmod silently falls back to pure Python (about 25x slower) when its extension did not build,
so importing this module checks ``sys.modules['crcmod.crcmod']._usingExtension`` and raises
:class:`~native.errors.ConfigError` if the extension is missing: start-up fails loudly rather
than downlinking at a fraction of the expected rate. (``crcmod.crcmod`` as an attribute is the
``crcmod`` function, not the module; hence the ``sys.modules`` lookup.)

``binascii.crc_hqx(data, 0xFFFF)`` computes the same value; the tests use it as an independent
oracle and ``bench/bench_tmtc.py`` measures both.

The TM/TC fast path (packing and verifying packets and frames) runs the native CRC kernel
(:func:`native.crc16_ccitt`) chosen through the native switch (``SATNODE_NATIVE``, see
:mod:`native.backend`) when this module is imported. With the C backend the codec calls the
kernel through the C backend's CPython-API call path (:func:`native.backend.c_fast`,
``native/csrc_py/fast.c``: the same ``csrc/crc.c`` as the cffi module, behind METH_FASTCALL
entry points that take the buffer protocol, ~150 ns per call cheaper than cffi's argument
conversion): :data:`PEC_KERNEL` is its ``pec`` function, and :data:`PACK_TM_C` /
:data:`PACK_TC_C` build whole packets, PEC included, in one C call. With the Numba or Python
backend the codec calls :func:`native.crc16_ccitt` and encodes in Python (explicitly slower,
never a silent fallback; a missing C extension under ``auto``/``c`` is a ConfigError).
:func:`pec_kernel_status` says which.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from typing import Final, NamedTuple, TypeAlias

import crcmod
import crcmod.predefined

import native
from native.backend import backend_report, c_fast
from native.errors import BackendUnavailableError, ConfigError

__all__ = [
    "CRC16_CHECK",
    "CRC16_INIT",
    "PACK_TC_C",
    "PACK_TM_C",
    "PEC_KERNEL",
    "BytesLike",
    "crc16",
    "crc_extension_status",
    "pec",
    "pec_kernel_status",
    "require_crc_extension",
]

#: What every decoder accepts (``collections.abc.BytesLike`` only exists from Python 3.12).
BytesLike: TypeAlias = bytes | bytearray | memoryview

#: Initial register value of CRC-16-CCITT-FALSE.
CRC16_INIT: Final = 0xFFFF
#: CRC-16-CCITT-FALSE of ASCII ``b"123456789"`` (the catalogue check value).
CRC16_CHECK: Final = 0x29B1

_FIX_HINT: Final = (
    "crcmod's C extension (crcmod._crcfunext) is not loaded, so CRC-16 would run in pure "
    "Python at ~1/25 of the speed. Fix: install a C compiler and the Python headers "
    "(e.g. `apt-get install build-essential python3-dev`), then reinstall crcmod from source: "
    "`pip install --force-reinstall --no-binary crcmod --no-cache-dir crcmod`."
)


def _crcmod_module() -> object:
    # ``crcmod.crcmod`` (attribute access) is the function; the module lives in sys.modules.
    return sys.modules["crcmod.crcmod"]


def require_crc_extension() -> None:
    """Raise :class:`ConfigError` (with the fix in its message) unless crcmod's C extension is
    loaded. Called once when this module is imported."""
    module = _crcmod_module()
    if not getattr(module, "_usingExtension", False):
        raise ConfigError(_FIX_HINT)


require_crc_extension()

_crc_public: Final[Callable[..., int]] = crcmod.predefined.mkCrcFun("crc-ccitt-false")


def _direct_kernel() -> tuple[Callable[[BytesLike, int, bytes], int], bytes] | None:
    """The C kernel and table behind ``_crc_public``, so the hot path skips one Python frame.

    crcmod 1.7 builds ``crcfun(data, crc=init, table=..., fun=_crcfunext._crc16)``; if a future
    crcmod looks different we keep the public function (still the C extension, just one frame
    slower). Either way the result is verified against the check value below.
    """
    defaults = getattr(_crc_public, "__defaults__", None)
    if not defaults or len(defaults) != 3:
        return None
    init, table, fun = defaults
    if init != CRC16_INIT or not isinstance(table, bytes):
        return None
    if getattr(fun, "__module__", "") != "crcmod._crcfunext":
        return None
    return fun, table


def _public_kernel(data: BytesLike, crc: int, table: bytes) -> int:
    return _crc_public(data, crc)


_direct = _direct_kernel()
if _direct is not None and _direct[0](b"123456789", CRC16_INIT, _direct[1]) != CRC16_CHECK:
    _direct = None  # pragma: no cover - defensive: never trust a kernel that fails the check

#: ``_KERNEL(data, crc, _TABLE)``: the PEC kernel the codec's hot paths call without a wrapper.
_KERNEL: Final[Callable[[BytesLike, int, bytes], int]] = (
    _direct[0] if _direct is not None else _public_kernel
)
_TABLE: Final[bytes] = _direct[1] if _direct is not None else b""
_PATH: Final = "direct C kernel" if _direct is not None else "crcmod public function"


def crc16(data: BytesLike, init: int = CRC16_INIT) -> int:
    """CRC-16-CCITT-FALSE of ``data`` (any bytes-like object), starting from ``init``.

    Chaining holds: ``crc16(b, crc16(a)) == crc16(a + b)``. A packet whose last two octets are
    its big-endian CRC has ``crc16(packet) == 0``. Returns an int in [0, 0xFFFF].
    """
    return _KERNEL(data, init, _TABLE)


def crc_extension_status() -> str:
    """One line for ``satnode doctor``: crcmod's version, the C extension and the call path.

    Importing this module already raised :class:`ConfigError` if the extension is missing, so a
    doctor that imports ``flight.tmtc`` should catch ``ConfigError`` and print its message.
    """
    module = _crcmod_module()
    loaded = bool(getattr(module, "_usingExtension", False))
    version = getattr(crcmod, "__version__", None) or _dist_version()
    state = "C extension loaded" if loaded else "C extension MISSING (pure Python)"
    return f"crcmod {version}: {state}; crc-ccitt-false via {_PATH}"


def _dist_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crcmod")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


# -- the PEC/FECF fast path: the native CRC kernel through the native switch ----------------
_PEC: Final = struct.Struct(">H")


def _python_pec(data: bytes, n: int, init: int, impl: int) -> int:
    # The kernel calling convention of the C function, over the selected native kernel.
    return native.crc16_ccitt(data[:n] if n != len(data) else data, init)


class _PecPath(NamedTuple):
    """What the codec's hot paths call, chosen once at import (module docstring)."""

    kernel: Callable[[bytes, int, int, int], int]
    pack_tm: Callable[..., bytes | None] | None
    pack_tc: Callable[..., bytes | None] | None
    text: str


def _select_pec_kernel() -> _PecPath:
    selected = backend_report(strict=False).get("crc16_ccitt", "unavailable: not registered")
    if selected.startswith("unavailable"):
        raise ConfigError(f"the native CRC-16 kernel (packet error control) is {selected}")
    if selected.split()[0] == "c":
        try:
            fast = c_fast()
        except BackendUnavailableError as exc:
            raise ConfigError(f"the native CRC-16 kernel is {selected}, but {exc}") from None
        fn: Callable[[bytes, int, int, int], int] = fast.pec
        if fn(b"123456789", 9, CRC16_INIT, 0) != CRC16_CHECK:  # pragma: no cover - defensive
            raise ConfigError("native CRC-16 kernel fails its check value")
        text = (
            f"native {selected} through native._satnode_fast (CPython API, METH_FASTCALL); "
            "TM/TC packets encoded in C"
        )
        return _PecPath(fn, fast.pack_tm, fast.pack_tc, text)
    return _PecPath(_python_pec, None, None, f"native {selected} through native.crc16_ccitt")


_pec_selected = _select_pec_kernel()
#: ``PEC_KERNEL(data: bytes, n: int, CRC16_INIT, 0) -> int``: CRC-16 of the first ``n``
#: octets of ``data`` (``bytes`` only), the native kernel chosen at import (module docstring).
PEC_KERNEL: Final[Callable[[bytes, int, int, int], int]] = _pec_selected.kernel
#: With the C backend, ``PACK_TM_C(apid, seq_count, service, subtype, msg_counter, dest_id,
#: time, data, time_ref, max_len) -> bytes | None``: a whole PUS-C TM packet with its PEC, or
#: ``None`` for anything unusual (a field out of range, an oversized packet, an argument that
#: is not an int or a contiguous byte buffer), which the caller's reference encoder then
#: reports or encodes. ``None`` under the Numba and Python backends.
PACK_TM_C: Final[Callable[..., bytes | None] | None] = _pec_selected.pack_tm
#: As :data:`PACK_TM_C` for TC packets: ``(apid, seq_count, service, subtype, ack_flags,
#: source_id, data, max_len) -> bytes | None``.
PACK_TC_C: Final[Callable[..., bytes | None] | None] = _pec_selected.pack_tc
_PEC_PATH: Final = _pec_selected.text


def pec(data: BytesLike) -> bytes:
    """The 2-octet big-endian CRC-16-CCITT-FALSE of ``data``: a packet's PEC, a frame's FECF.

    Appended to ``data`` it makes the CRC over the whole zero; ``pec(frame) == b"\\0\\0"``
    verifies a frame or packet that ends with its own CRC.
    """
    raw = data if type(data) is bytes else bytes(data)
    return _PEC.pack(PEC_KERNEL(raw, len(raw), CRC16_INIT, 0))


def pec_kernel_status() -> str:
    """One line for ``satnode doctor`` and the benchmarks: the kernel behind :func:`pec`."""
    return f"PEC/FECF: {_PEC_PATH}"
