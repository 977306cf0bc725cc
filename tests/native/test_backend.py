"""Backend selection: SATNODE_NATIVE parsing, explicit selection, no silent fallback, report."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import native
from native import backend as be
from native import crc16_ccitt, secded_encode
from native._crc import CRC16_C_VARIANTS, CRC32C_C_VARIANTS
from native._secded import SECDED_C_VARIANTS
from native._tmr import TMR_C_VARIANTS
from native.errors import BackendUnavailableError, ConfigError

BIT_KERNELS = {
    "crc16_ccitt": CRC16_C_VARIANTS,
    "crc32c": CRC32C_C_VARIANTS,
    "secded_check": SECDED_C_VARIANTS,
    "secded_encode": SECDED_C_VARIANTS,
    "secded_scrub": SECDED_C_VARIANTS,
    "tmr_repair": TMR_C_VARIANTS,
    "tmr_vote": TMR_C_VARIANTS,
}


@pytest.fixture(autouse=True)
def _clean_selection(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(be.ENV_VAR, raising=False)
    be.set_backend(None)
    yield
    be.set_backend(None)


@pytest.fixture
def physics_kernel() -> Iterator[be.Kernel]:
    """A kernel shaped like the orbit/thermal ones: Numba and NumPy only."""

    def numba_impl(x: float) -> str:
        return f"numba {x}"

    def python_impl(x: float) -> str:
        return f"python {x}"

    k = be.register_kernel("test_physics", {"numba": numba_impl, "python": python_impl})
    yield k
    del be._registry["test_physics"]


def _bit_report() -> dict[str, str]:
    return {k: v for k, v in be.backend_report().items() if k in BIT_KERNELS}


def test_unknown_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(be.ENV_VAR, "fortran")
    for call in (be.selected_backend, be.backend_report, lambda: crc16_ccitt(b"x")):
        with pytest.raises(ConfigError) as info:
            call()
        text = str(info.value)
        assert "'fortran'" in text and "SATNODE_NATIVE" in text
        assert all(name in text for name in be.BACKENDS)


def test_set_backend_rejects_unknown_and_keeps_selection() -> None:
    be.set_backend("numba")
    with pytest.raises(ConfigError, match="allowed values: auto, c, numba, python"):
        be.set_backend("gpu")
    assert be.selected_backend() == "numba"


def test_unset_and_empty_mean_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    assert be.selected_backend() == "auto"
    monkeypatch.setenv(be.ENV_VAR, "")
    be.set_backend(None)
    assert be.selected_backend() == "auto"


def test_environment_is_read_once_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(be.ENV_VAR, " Numba ")
    assert be.selected_backend() == "numba"
    monkeypatch.setenv(be.ENV_VAR, "python")
    assert be.selected_backend() == "numba"
    be.set_backend(None)
    assert be.selected_backend() == "python"


@pytest.mark.parametrize("choice", ["auto", "c"])
def test_auto_and_c_use_the_c_kernels_and_name_the_cpu_variant(
    monkeypatch: pytest.MonkeyPatch, choice: str
) -> None:
    monkeypatch.setenv(be.ENV_VAR, choice)
    report = _bit_report()
    assert set(report) == set(BIT_KERNELS)
    for name, text in report.items():
        assert text.startswith("c (") and text[3:-1] in BIT_KERNELS[name].values(), text


@pytest.mark.parametrize("choice", ["numba", "python"])
def test_explicit_selection_through_the_environment(
    monkeypatch: pytest.MonkeyPatch, choice: str
) -> None:
    monkeypatch.setenv(be.ENV_VAR, choice)
    assert set(_bit_report().values()) == {choice}
    assert crc16_ccitt(b"123456789") == 0x29B1


def test_override_wins_over_environment_and_use_backend_restores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(be.ENV_VAR, "numba")
    be.set_backend("python")
    assert be.selected_backend() == "python"
    with be.use_backend("c"):
        assert be.selected_backend() == "c"
        assert _bit_report()["crc32c"].startswith("c (")
    assert be.selected_backend() == "python"
    be.set_backend(None)
    assert be.selected_backend() == "numba"


def test_dispatch_follows_the_selection(physics_kernel: be.Kernel) -> None:
    with be.use_backend("python"):
        assert physics_kernel(1.0) == "python 1.0"
    with be.use_backend("numba"):
        assert physics_kernel(2.0) == "numba 2.0"


def test_kernel_without_c_is_reported_explicitly(physics_kernel: be.Kernel) -> None:
    with be.use_backend("c"):
        assert be.backend_report()["test_physics"] == "numba (no C kernel)"
        assert physics_kernel(3.0) == "numba 3.0"
    with be.use_backend("auto"):
        assert be.backend_report()["test_physics"] == "numba"
    with be.use_backend("python"):
        assert be.backend_report()["test_physics"] == "python"


def test_missing_c_extension_is_an_error_not_a_fallback(
    monkeypatch: pytest.MonkeyPatch, physics_kernel: be.Kernel
) -> None:
    missing = BackendUnavailableError("the C kernels (native._satnode_c) are not built: test")
    monkeypatch.setattr(be, "_c_cache", missing)
    be.set_backend(None)  # forget cached resolutions
    data = np.arange(4, dtype=np.uint64)
    for choice in ("c", "auto"):
        with be.use_backend(choice):
            with pytest.raises(BackendUnavailableError, match="not built"):
                secded_encode(data)
            with pytest.raises(BackendUnavailableError, match="not built"):
                be.backend_report()
            lenient = be.backend_report(strict=False)
            assert lenient["secded_encode"].startswith("unavailable: ")
            assert lenient["test_physics"] in {"numba", "numba (no C kernel)"}
    with be.use_backend("numba"):
        assert secded_encode(data).shape == (4,)


def test_register_kernel_validation() -> None:
    def f(*_: Any) -> None:
        return None

    with pytest.raises(ConfigError, match="python"):
        be.register_kernel("test_bad", {"numba": f})
    with pytest.raises(ConfigError, match="python"):
        be.register_kernel("test_bad", {"python": f})
    with pytest.raises(ConfigError, match="unknown"):
        be.register_kernel("test_bad", {"python": f, "numba": f, "cuda": f})
    with pytest.raises(ConfigError, match="preferred"):
        be.register_kernel("test_bad", {"python": f, "numba": f}, preferred="c")
    with pytest.raises(ConfigError, match="already registered"):
        be.register_kernel("crc32c", {"python": f, "numba": f})
    assert "test_bad" not in be.kernel_names()


def test_numba_selection_for_a_kernel_without_numba() -> None:
    def f(*_: Any) -> str:
        return "c"

    k = be.register_kernel("test_c_only", {"c": f, "python": f})
    try:
        with be.use_backend("numba"), pytest.raises(BackendUnavailableError, match="numba"):
            k()
    finally:
        del be._registry["test_c_only"]


def test_c_extension_abi_and_exports() -> None:
    _, lib = be.c_library()
    assert lib.satnode_abi_version() == be.C_ABI_VERSION
    assert set(native.__all__) >= {"backend_report", "selected_backend", "register_kernel"}


def test_import_never_compiles() -> None:
    code = (
        "import sys, native; native.backend_report(); "
        "print(any(m.startswith(('cffi.recompiler', 'native._build_c', 'setuptools')) "
        "for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
