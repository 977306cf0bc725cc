"""CRC-16-CCITT-FALSE: catalogue check value, crcmod and binascii.crc_hqx as oracles, the loud
failure when crcmod's C extension is missing."""

from __future__ import annotations

import binascii
import subprocess
import sys
import textwrap
from typing import Any

import crcmod.predefined
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.tmtc import CRC16_CHECK, CRC16_INIT, crc16, crc_extension_status
from tests.data import load

_CRCMOD = crcmod.predefined.mkCrcFun("crc-ccitt-false")


GOLDEN = load("crc_vectors.json")


def test_check_value() -> None:
    # Catalogue check value of CRC-16/IBM-3740 (alias CCITT-FALSE) over "123456789".
    entry = GOLDEN["catalogue"]["CRC-16/IBM-3740"]
    assert int(entry["check"], 16) == CRC16_CHECK
    assert int(entry["init"], 16) == CRC16_INIT
    assert crc16(b"123456789") == CRC16_CHECK
    assert crc16(b"") == CRC16_INIT


@pytest.mark.parametrize("vector", GOLDEN["vectors"], ids=lambda v: v["input"])
def test_golden_vectors(vector: dict[str, Any]) -> None:
    # Computed by crcmod's C extension (tests/data/SOURCES.md).
    assert crc16(bytes.fromhex(vector["hex"])) == vector["crc16_ccitt_false"]


@settings(deadline=None, max_examples=150)
@given(st.binary(max_size=300), st.integers(0, 0xFFFF))
def test_matches_crcmod_and_crc_hqx(data: bytes, init: int) -> None:
    expected = binascii.crc_hqx(data, init)
    assert crc16(data, init) == expected
    assert _CRCMOD(data, init) == expected
    assert crc16(bytearray(data), init) == expected
    assert crc16(memoryview(data), init) == expected


@settings(deadline=None, max_examples=100)
@given(st.binary(max_size=100), st.binary(max_size=100))
def test_chaining_and_residue(a: bytes, b: bytes) -> None:
    assert crc16(b, crc16(a)) == crc16(a + b)
    framed = a + crc16(a).to_bytes(2, "big")
    assert crc16(framed) == 0


def test_extension_status_reports_extension() -> None:
    status = crc_extension_status()
    assert "C extension loaded" in status
    assert sys.modules["crcmod.crcmod"]._usingExtension is True


def test_import_fails_loudly_without_extension() -> None:
    # Make crcmod's ``import crcmod._crcfunext`` fail, as on a machine where it never built:
    # crcmod then silently uses pure Python, and our import must refuse with ConfigError.
    script = textwrap.dedent(
        """
        import sys
        sys.modules["crcmod._crcfunext"] = None
        import crcmod
        assert sys.modules["crcmod.crcmod"]._usingExtension is False
        from native.errors import ConfigError
        try:
            import flight.tmtc
        except ConfigError as exc:
            print("CONFIG_ERROR:", exc)
        else:
            print("IMPORTED")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "CONFIG_ERROR:" in result.stdout, result.stdout + result.stderr
    message = result.stdout.lower()
    assert "reinstall" in message
    assert "compiler" in message
