"""The parameter table's image in a protected region (ParamStore.protect + protect_core).

Oracles: the image bytes are rebuilt here from the documented file format (struct, json,
zlib.crc32) and must match the region bit for bit; the region's check bytes must equal the
pure-NumPy Hsiao reference (``native._secded_ref.encode_ref``) of its words; the golden copy
is unpacked with the documented golden layout.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from flight.core import (
    Component,
    ConfigError,
    Declaration,
    Executive,
    FieldType,
    LoadOutcome,
    ParamDef,
    ParameterError,
    ParamImageError,
    ParamStore,
    SimClock,
)
from flight.edac import (
    EdacApp,
    MemoryBlobStore,
    ProtectedRegion,
    RegionState,
    build_edac,
    parse_config,
    protect_core,
    unpack_golden,
)
from native._secded_ref import encode_ref

DEFS = (
    ParamDef(1, "gain", FieldType.F32, 1.0, 0.0, 10.0),
    ParamDef(2, "limit_c", FieldType.I16, 60, -40, 120, "degC"),
    ParamDef(3, "enabled", FieldType.BOOL, True),
)


class Thermal(Component):
    DECLARATION = Declaration(params=DEFS)


def expected_image(table: Mapping[str, Mapping[str, object]], size: int) -> bytes:
    """The documented layout: b"SNPR", u16 version 1, u32 length, u32 CRC-32, JSON payload."""
    payload = json.dumps(table, sort_keys=True, separators=(",", ":")).encode()
    blob = b"SNPR" + struct.pack(">HII", 1, len(payload), zlib.crc32(payload)) + payload
    return blob + bytes(size - len(blob))


class Rig:
    """An executive with EDAC (RAM golden store), one component, params protected."""

    def __init__(self, path: Path | None, params_bytes: int = 1024) -> None:
        self.clock = SimClock()
        self.params = ParamStore(path)
        self.ex = Executive(self.clock, 10.0, params=self.params)
        self.ex.add(Thermal("thermal", 30), 1.0)
        self.store = MemoryBlobStore()
        cfg = parse_config({"params_bytes": params_bytes, "rate_hz": 1.0})
        self.app: EdacApp = build_edac(self.ex, cfg, self.store)
        protect_core(self.app.regions, self.params, None, cfg)
        self.region: ProtectedRegion = self.app.regions.region("params")
        self.ex.start()

    def image_ok(self) -> None:
        assert self.region.read_all() == expected_image(self.params.table(), self.region.size_bytes)
        words, checks = self.region.words()
        assert np.array_equal(checks, encode_ref(words))
        golden = unpack_golden(
            self.store.blobs["edac.params.golden"], self.region.region_id, self.region.size_bytes
        )
        assert bytes(golden) == self.region.read_all()

    def word_of(self, key: bytes) -> int:
        """Index of the 64-bit word holding the first byte of ``key`` in the image."""
        at = self.region.read_all().index(key)
        return at // 8

    def names(self) -> list[str]:
        return [r.name for r in self.ex.events.history()]


def test_image_is_the_table_bit_for_bit_and_follows_every_set(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "params.bin")
    assert rig.region.region_id == 1 and rig.region.writable
    rig.image_ok()
    rig.params.set("thermal", "gain", 2.5)
    rig.image_ok()
    rig.params.set("thermal", "limit_c", 70, persist=False)
    rig.image_ok()
    assert rig.params.read_image()["thermal"] == {"gain": 2.5, "limit_c": 70, "enabled": True}


def test_single_bit_upset_is_corrected_on_restore(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "params.bin")
    rig.params.set("thermal", "limit_c", 70)
    w = rig.word_of(b'"limit_c":70')
    # Flip a bit of the digit '7' (0x37 -> 0x33 would read 30): SECDED must undo it.
    byte = rig.region.read_all().index(b'"limit_c":70') + len(b'"limit_c":')
    rig.region.flip(w, 1 << (8 * (byte % 8) + 2))
    # The live value is lost as after a processor reset: only the image knows it.
    rig.params.values("thermal")["limit_c"] = 60
    report = rig.params.restore()
    assert report.outcome is LoadOutcome.IMAGE and report.problems == []
    assert rig.params.get("thermal", "limit_c") == 70
    assert rig.region.corrected == 1 and rig.region.state is RegionState.OK
    rig.image_ok()
    assert rig.params.image_restores == 1


def test_double_bit_upset_is_detected_and_recovered_from_golden(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "params.bin")
    rig.params.set("thermal", "gain", 4.0)
    w = rig.word_of(b'"gain":4.0')
    rig.region.flip(w, 0b101 << 9)  # two bits of one word: uncorrectable
    with pytest.raises(ParamImageError, match="unreadable"):
        rig.params.read_image()
    rig.params.values("thermal")["gain"] = 1.0  # lost with the processor reset
    report = rig.params.restore()
    assert report.outcome is LoadOutcome.IMAGE
    assert any("reloaded from its recovery copy" in p for p in report.problems)
    assert rig.params.get("thermal", "gain") == 4.0
    assert rig.region.uncorrectable == 1 and rig.region.reloads == 1
    assert rig.region.state is RegionState.OK
    rig.image_ok()
    names = rig.names()
    assert "uncorrectable" in names and "region_reloaded" in names  # the scrubber's events
    assert rig.params.image_failures == 2  # the explicit read and the first restore read


def test_unusable_golden_copy_falls_back_to_the_file(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "params.bin")
    rig.params.set("thermal", "gain", 3.0)  # persisted to the file and the image
    blob = bytearray(rig.store.blobs["edac.params.golden"])
    blob[-1] ^= 0xFF  # the golden copy fails its CRC-32C
    rig.store.blobs["edac.params.golden"] = bytes(blob)
    rig.region.flip(rig.word_of(b'"gain":3.0'), 0b11)
    rig.params.values("thermal")["gain"] = 1.0
    report = rig.params.restore()
    assert report.outcome is LoadOutcome.PRIMARY
    assert any("unreadable" in p for p in report.problems)
    assert rig.params.get("thermal", "gain") == 3.0
    assert "golden_corrupt" in rig.names() and "uncorrectable" in rig.names()
    # The file's values were written back: region usable, image and golden copy fresh.
    assert rig.region.state is RegionState.OK
    rig.image_ok()


def test_image_too_small_is_refused_without_change(tmp_path: Path) -> None:
    params = ParamStore(None)
    params.register("thermal", DEFS)
    ex = Executive(SimClock(), 10.0, params=params)
    cfg = parse_config({"params_bytes": 64})
    app = build_edac(ex, cfg, MemoryBlobStore())
    with pytest.raises(ConfigError, match=r"\[edac\] params_bytes = 64"):
        protect_core(app.regions, params, None, cfg)
    assert len(app.regions) == 0 and params.image is None
    region = ProtectedRegion("p", 1, 64, store=MemoryBlobStore())
    with pytest.raises(ParameterError, match="does not fit"):
        params.protect(region)
    assert params.image is None
    with pytest.raises(TypeError):
        params.protect(object())  # type: ignore[arg-type]


def test_a_set_that_would_overflow_the_image_changes_nothing() -> None:
    params = ParamStore(None)
    params.register("thermal", DEFS)
    size = params.image_size()
    region = ProtectedRegion("p", 1, size, store=MemoryBlobStore())
    params.protect(region)
    before = region.read_all()
    with pytest.raises(ParameterError, match="does not fit"):
        params.set("thermal", "gain", 2.123456789)  # a longer JSON number
    assert params.get("thermal", "gain") == 1.0 and region.read_all() == before
    with pytest.raises(ParameterError, match="does not fit"):
        params.register("power", DEFS)
    assert params.table() == {"thermal": {"gain": 1.0, "limit_c": 60, "enabled": True}}


def test_load_from_file_rewrites_the_image(tmp_path: Path) -> None:
    path = tmp_path / "params.bin"
    first = ParamStore(path)
    first.register("thermal", DEFS)
    first.set("thermal", "limit_c", -5)
    rig = Rig(path)  # a new boot: defaults, then protect, then the file
    assert rig.params.get("thermal", "limit_c") == 60
    assert rig.params.load().outcome is LoadOutcome.PRIMARY
    assert rig.params.get("thermal", "limit_c") == -5
    rig.image_ok()


def test_restore_without_protection_is_load(tmp_path: Path) -> None:
    store = ParamStore(tmp_path / "p.bin")
    store.register("thermal", DEFS)
    assert store.restore().outcome is LoadOutcome.NO_FILE
    with pytest.raises(ParamImageError):
        store.read_image()
