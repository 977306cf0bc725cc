"""The C packet encoders (native._satnode_fast, the C backend's codec path) against three
oracles: spacepackets 0.32's PusTm/PusTc, the Python reference encoders of flight/tmtc/_pus.py,
and a packet assembled here with struct and ``binascii.crc_hqx`` (the standard library's
CRC-16-CCITT). Also: the encoders decline, and ``pack_tm``/``pack_tc`` raise exactly what the
reference raises, for every unusual argument; the other backends encode in Python."""

from __future__ import annotations

import array
import binascii
import enum
import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacepackets.ecss import PusTc, PusTm
from spacepackets.ecss.tm import MiscParams

from flight.tmtc import WireError, pack_tc, pack_tm, pec_kernel_status
from flight.tmtc._crc import PACK_TC_C, PACK_TM_C
from flight.tmtc._pus import _pack_tc_reference, _pack_tm_reference
from tests.data import load

GOLDEN = load("pus_vectors.json")


def _c_tm() -> Callable[..., bytes | None]:
    assert PACK_TM_C is not None, "the default (auto) backend runs the C encoders"
    return PACK_TM_C


def _c_tc() -> Callable[..., bytes | None]:
    assert PACK_TC_C is not None
    return PACK_TC_C


def oracle_tm(f: dict[str, Any]) -> bytes:
    """A TM packet from the layout of ECSS-E-ST-70-41C 7.4.1, with the stdlib CRC."""
    time, data = bytes(f["time"]), bytes(f["data"])
    total = 13 + len(time) + len(data) + 2
    head = struct.pack(
        ">HHHBBBHH",
        0x0800 | f["apid"],
        0xC000 | f["seq_count"],
        total - 7,
        0x20 | f["time_ref"],
        f["service"],
        f["subtype"],
        f["msg_counter"],
        f["dest_id"],
    )
    body = head + time + data
    return body + binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")


def oracle_tc(f: dict[str, Any]) -> bytes:
    data = bytes(f["data"])
    total = 11 + len(data) + 2
    head = struct.pack(
        ">HHHBBBH",
        0x1800 | f["apid"],
        0xC000 | f["seq_count"],
        total - 7,
        0x20 | f["ack_flags"],
        f["service"],
        f["subtype"],
        f["source_id"],
    )
    body = head + data
    return body + binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")


u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
# bytes, bytearray and memoryview all take the C path (the buffer protocol).
buffers = st.binary(max_size=300).flatmap(
    lambda b: st.sampled_from([b, bytearray(b), memoryview(b)])
)
tm_fields = st.fixed_dictionaries(
    {
        "apid": st.integers(0, 0x7FF),
        "seq_count": st.integers(0, 0x3FFF),
        "service": u8,
        "subtype": u8,
        "msg_counter": u16,
        "dest_id": u16,
        "time": st.binary(max_size=16).flatmap(lambda b: st.sampled_from([b, bytearray(b)])),
        "data": buffers,
        "time_ref": st.integers(0, 15),
    }
)
tc_fields = st.fixed_dictionaries(
    {
        "apid": st.integers(0, 0x7FF),
        "seq_count": st.integers(0, 0x3FFF),
        "service": u8,
        "subtype": u8,
        "ack_flags": st.integers(0, 15),
        "source_id": u16,
        "data": buffers,
    }
)

_TM_ORDER = ("apid", "seq_count", "service", "subtype", "msg_counter", "dest_id", "time", "data")
_TC_ORDER = ("apid", "seq_count", "service", "subtype", "ack_flags", "source_id", "data")


def _tm_args(f: dict[str, Any], *max_len: int) -> list[Any]:
    """pack_tm's positional arguments from ``f``; with ``max_len``, the C encoder's."""
    return [f[k] for k in _TM_ORDER] + [f["time_ref"], *max_len]


@settings(deadline=None, max_examples=300)
@given(tm_fields)
def test_pack_tm_is_byte_identical_to_the_oracles(f: dict[str, Any]) -> None:
    expected = oracle_tm(f)
    c = _c_tm()(*_tm_args(f, 4096))
    assert c == expected  # the C encoder itself, not a decline
    assert pack_tm(*_tm_args(f)) == expected
    assert _pack_tm_reference(*_tm_args(f, 4096)) == expected
    theirs = PusTm(
        service=f["service"],
        message_subtype=f["subtype"],
        timestamp=bytes(f["time"]),
        source_data=bytes(f["data"]),
        apid=f["apid"],
        seq_count=f["seq_count"],
        message_counter=f["msg_counter"],
        destination_id=f["dest_id"],
        misc_params=MiscParams(spacecraft_time_ref=f["time_ref"]),
    )
    assert bytes(theirs.pack()) == expected


@settings(deadline=None, max_examples=200)
@given(tc_fields)
def test_pack_tc_is_byte_identical_to_the_oracles(f: dict[str, Any]) -> None:
    expected = oracle_tc(f)
    args = [f[k] for k in _TC_ORDER]
    assert _c_tc()(*args, 4096) == expected
    assert pack_tc(*args) == expected
    assert _pack_tc_reference(*[*args, 4096]) == expected
    theirs = PusTc(
        service=f["service"],
        message_subtype=f["subtype"],
        apid=f["apid"],
        app_data=bytes(f["data"]),
        seq_count=f["seq_count"],
        source_id=f["source_id"],
        ack_flags=f["ack_flags"],
    )
    assert bytes(theirs.pack()) == expected


def test_golden_vectors_through_the_c_encoders() -> None:
    for v in GOLDEN["tm"]:
        time, data = bytes.fromhex(v["time"]), bytes.fromhex(v["data"])
        args = [v[k] for k in _TM_ORDER[:6]] + [time, data, v["time_ref"], 4096]
        assert _c_tm()(*args) == bytes.fromhex(v["packet"])
    for v in GOLDEN["tc"]:
        args = [v[k] for k in _TC_ORDER[:6]] + [bytes.fromhex(v["data"]), 4096]
        assert _c_tc()(*args) == bytes.fromhex(v["packet"])


_GOOD_TM: dict[str, Any] = {
    "apid": 0x42,
    "seq_count": 7,
    "service": 3,
    "subtype": 25,
    "msg_counter": 9,
    "dest_id": 1,
    "time": b"\x40" + bytes(6),
    "data": b"hk" * 16,
    "time_ref": 0,
}


def _raised(fn: Callable[[], object]) -> str:
    try:
        fn()
    except WireError as exc:
        return f"WireError {exc.reason} {exc}"
    except Exception as exc:  # the same exception type and text as the reference
        return f"{type(exc).__name__} {exc}"
    return "no error"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("apid", 0x800, "field_range"),
        ("apid", -1, "field_range"),
        ("seq_count", 0x4000, "field_range"),
        ("service", 256, "field_range"),
        ("subtype", -1, "field_range"),
        ("msg_counter", 0x10000, "field_range"),
        ("msg_counter", 1 << 70, "field_range"),
        ("dest_id", -5, "field_range"),
        ("time_ref", 16, "field_range"),
        ("data", b"x" * 4100, "oversized"),
    ],
)
def test_c_declines_and_pack_tm_raises_what_the_reference_raises(
    field: str, value: Any, reason: str
) -> None:
    f = _GOOD_TM | {field: value}
    assert _c_tm()(*_tm_args(f, 4096)) is None
    ours = _raised(lambda: pack_tm(*_tm_args(f)))
    assert ours == _raised(lambda: _pack_tm_reference(*_tm_args(f, 4096)))
    assert ours.startswith(f"WireError {reason}")


def test_max_len_edges() -> None:
    exact = len(oracle_tm(_GOOD_TM))
    assert _c_tm()(*_tm_args(_GOOD_TM, exact)) == oracle_tm(_GOOD_TM)
    assert _c_tm()(*_tm_args(_GOOD_TM, exact - 1)) is None
    assert _c_tm()(*_tm_args(_GOOD_TM, -1)) is None
    with pytest.raises(WireError) as info:
        pack_tm(*_tm_args(_GOOD_TM), max_len=exact - 1)
    assert info.value.reason == "oversized"
    # The 16-bit length field bounds a packet at 65,542 octets whatever max_len says.
    room = 65542 - 15 - 7
    big = _GOOD_TM | {"data": bytes(room)}
    assert _c_tm()(*_tm_args(big, 1 << 40)) == oracle_tm(big)
    assert _c_tm()(*_tm_args(big | {"data": bytes(room + 1)}, 1 << 40)) is None
    with pytest.raises(WireError) as info:
        pack_tm(*_tm_args(big | {"data": bytes(room + 1)}), max_len=1 << 40)
    assert info.value.reason == "oversized"
    tc_room = 65542 - 13
    assert _c_tc()(1, 2, 3, 4, 5, 6, bytes(tc_room), 1 << 20) is not None
    assert _c_tc()(1, 2, 3, 4, 5, 6, bytes(tc_room + 1), 1 << 20) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("service", 3.0),  # not an int
        ("apid", "1"),
        ("data", memoryview(bytes(64))[::2]),  # not contiguous
        ("data", array.array("i", [1, 2, 3])),  # items, not octets
        ("time", None),
        ("data", "text"),
    ],
)
def test_unusual_arguments_go_to_the_reference(field: str, value: Any) -> None:
    f = _GOOD_TM | {field: value}
    assert _c_tm()(*_tm_args(f, 4096)) is None
    assert _raised(lambda: pack_tm(*_tm_args(f))) == _raised(
        lambda: _pack_tm_reference(*_tm_args(f, 4096))
    )


class _Service(enum.IntEnum):
    HK = 3


def test_int_subclasses_encode_like_ints() -> None:
    f = _GOOD_TM | {"service": _Service.HK, "time_ref": True}
    expected = oracle_tm(_GOOD_TM | {"service": 3, "time_ref": 1})
    assert _c_tm()(*_tm_args(f, 4096)) == expected
    assert pack_tm(*_tm_args(f)) == expected == _pack_tm_reference(*_tm_args(f, 4096))


def test_tc_field_errors_match_the_reference() -> None:
    good = [1, 2, 17, 1, 15, 0, b"args"]
    for i, bad in [(0, 0x800), (1, -1), (2, 300), (4, 16), (5, 1 << 16), (6, b"y" * 5000)]:
        args = [*good[:i], bad, *good[i + 1 :]]
        assert _c_tc()(*args, 4096) is None
        ours = _raised(lambda args=args: pack_tc(*args))  # type: ignore[misc]
        assert ours == _raised(lambda args=args: _pack_tc_reference(*[*args, 4096]))  # type: ignore[misc]
        assert ours.startswith("WireError ")


def test_buffers_are_released() -> None:
    # A bytearray with an exported buffer cannot be resized: the encoders must release it.
    time, data = bytearray(b"\x40" + bytes(6)), bytearray(b"payload")
    pack_tm(1, 2, 3, 4, 5, 6, time, data)
    pack_tc(1, 2, 3, 4, 5, 6, data)
    _c_tm()(1, 2, 3, 4, 5, 6, time, data, 99, 4096)  # declined after taking both buffers
    _c_tm()(1, 2, 3, 4, 5, 6, time, data, 0, 3)  # declined: oversized
    time.append(0)
    data.extend(b"!")
    assert pack_tm(1, 2, 3, 4, 5, 6, time, data)[13:-2] == bytes(time + data)


def test_wrong_argument_count_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="exactly 10"):
        _c_tm()(1, 2, 3)
    with pytest.raises(TypeError, match="exactly 8"):
        _c_tc()()


def test_status_names_the_c_call_path() -> None:
    assert "native._satnode_fast" in pec_kernel_status()
    assert "encoded in C" in pec_kernel_status()


_SUBPROCESS = """
import json
from flight.tmtc import pack_tm, pack_tc, pec_kernel_status
from flight.tmtc._crc import PACK_TM_C, PACK_TC_C
from tests.data import load
golden, h = load("pus_vectors.json"), bytes.fromhex
out = {"status": pec_kernel_status(), "c": [PACK_TM_C is not None, PACK_TC_C is not None]}
tm_keys = ("apid", "seq_count", "service", "subtype", "msg_counter", "dest_id")
tc_keys = ("apid", "seq_count", "service", "subtype", "ack_flags", "source_id")
out["tm"] = [
    pack_tm(*[v[k] for k in tm_keys], h(v["time"]), h(v["data"]), v["time_ref"]).hex()
    for v in golden["tm"]
]
out["tc"] = [pack_tc(*[v[k] for k in tc_keys], h(v["data"])).hex() for v in golden["tc"]]
print(json.dumps(out))
"""


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_other_backends_encode_in_python_with_the_same_bytes(backend: str) -> None:
    env = os.environ | {"SATNODE_NATIVE": backend}
    result = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS], capture_output=True, text=True, timeout=120,
        check=True, env=env, cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip
    out = json.loads(result.stdout)
    assert out["c"] == [False, False]
    assert out["status"] == f"PEC/FECF: native {backend} through native.crc16_ccitt"
    assert out["tm"] == [v["packet"] for v in GOLDEN["tm"]]
    assert out["tc"] == [v["packet"] for v in GOLDEN["tc"]]


def test_a_missing_c_call_path_fails_the_import_instead_of_falling_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flight.tmtc import _crc
    from native.errors import BackendUnavailableError, ConfigError

    def missing() -> Any:
        raise BackendUnavailableError("native._satnode_fast is not built: test")

    monkeypatch.setattr(_crc, "c_fast", missing)
    with pytest.raises(ConfigError, match="not built"):
        _crc._select_pec_kernel()
