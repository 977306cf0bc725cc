"""The TM downlink ring in EDAC region ``tm_buffer`` (protect_core), end to end.

Oracles: the packets an identical TmtcService without a buffer emits (octet for octet), the
``spacepackets`` decoder (every packet that reaches the ground passes its CRC check), and the
pure-NumPy Hsiao reference for the region's check bytes.
"""

from __future__ import annotations

import numpy as np
import pytest
from spacepackets.ecss import PusTm

from flight.core import ConfigError, Executive, ParamStore, SimClock
from flight.edac import (
    EdacApp,
    MemoryBlobStore,
    RegionState,
    build_edac,
    parse_config,
    protect_core,
)
from flight.tmtc import DownlinkBuffer, TmtcService
from native._secded_ref import encode_ref

APID = 0x64


class Rig:
    def __init__(self, tm_buffer_bytes: int = 4096, max_packet_len: int = 512) -> None:
        self.clock = SimClock()
        self.params = ParamStore(None)
        self.ex = Executive(self.clock, 10.0, params=self.params, timer=lambda: 0)
        self.tm: list[bytes] = []
        self.svc = TmtcService(
            self.ex, APID, sinks=[self.tm.append], hk_interval_s=1e6, max_packet_len=max_packet_len
        )
        self.cfg = parse_config(
            {"tm_buffer_bytes": tm_buffer_bytes, "params_bytes": 2048, "page_bytes": 256}
        )
        self.app: EdacApp = build_edac(self.ex, self.cfg, MemoryBlobStore(), tmtc=self.svc)
        protect_core(self.app.regions, self.params, self.svc, self.cfg)
        self.ring = self.svc.downlink_buffer
        assert isinstance(self.ring, DownlinkBuffer)
        self.region = self.app.regions.region("tm_buffer")
        self.ex.start()
        self.svc.flush_downlink()
        self.tm.clear()

    def queue(self, n: int) -> list[bytes]:
        """Queue ``n`` TM[17,2] with distinct data; returns the packets as made."""
        return [self.svc.send_tm(200, 1, bytes([k]) * (40 + k)) for k in range(n)]

    def events(self, name: str) -> list[str]:
        return [r.message for r in self.ex.events.find(name)]


def test_core_regions_have_fixed_ids_and_the_ring_is_attached() -> None:
    rig = Rig()
    assert rig.app.regions.names() == ("params", "tm_buffer")
    assert rig.region.region_id == 2 and rig.app.regions.region("params").region_id == 1
    assert rig.ring is not None and rig.ring.memory is rig.region
    assert rig.app.summary()["downlink"]["capacity_bytes"] == 4096


def test_single_bit_upsets_are_corrected_before_the_downlink() -> None:
    rig = Rig()
    made = rig.queue(5)
    assert rig.ring is not None
    flipped = list(range(0, rig.ring.used_bytes // 8, 7))  # words inside queued records
    for w in flipped:  # one bit in each: correctable
        rig.region.flip(w, 1 << (w % 64))
    rig.region.flip(3, 0, 0x10)  # and one check bit of another word
    rig.svc.flush_downlink()
    sent = [p for p in rig.tm if p in made]
    assert sent == made  # octet for octet what was made: the upsets never left
    for p in sent:
        PusTm.unpack(p, timestamp_len=rig.svc.time_code.length)  # CRC checked by the peer
    assert rig.region.corrected == len(flipped) + 1 and rig.ring.dropped_corrupt == 0
    words, checks = rig.region.words()
    assert np.array_equal(checks, encode_ref(words))


def test_an_uncorrectable_record_is_dropped_counted_and_never_sent() -> None:
    rig = Rig()
    assert rig.ring is not None
    ends = []
    made = []
    for _ in range(5):
        made += rig.queue(1)
        ends.append(rig.ring.used_bytes)  # records are [0, e0), [e0, e1), ...
    starts = [0, *ends[:-1]]
    rig.region.flip(starts[1] // 8 + 2, 0b11)  # two bits in record 1
    rig.svc.flush_downlink()
    # Record 1 is dropped; records 2..4 wait for the reload. The "uncorrectable" event
    # report, made while the region is BAD, went to the ground directly.
    assert [p for p in rig.tm if p in made] == [made[0]]
    assert rig.ring.dropped_corrupt == 1 and rig.region.state is RegionState.BAD
    assert rig.events("uncorrectable") and rig.ring.bypassed == 1
    assert PusTm.unpack(rig.tm[-1], timestamp_len=rig.svc.time_code.length).service == 5
    bypass = rig.svc.send_tm(200, 2, b"direct")
    assert rig.tm[-1] == bypass and rig.ring.bypassed == 2
    # The scrubber reloads the damaged page from the golden copy (zeros, the ring's initial
    # content): records overlapping that page then fail their CRC and are dropped, unsent.
    rig.ex.run_for(1_000_000_000)
    assert not rig.region.is_bad and rig.events("region_reloaded")
    page = 256
    damaged_page = (starts[1] // 8 + 2) * 8 // page
    hit = [k for k in (2, 3, 4) if starts[k] // page <= damaged_page <= (ends[k] - 1) // page]
    assert rig.ring.dropped_corrupt == 1 + len(hit)
    assert 0 < len(hit) < 3  # both cases occur: a record in the page and one outside it
    for k in (2, 3, 4):
        assert (made[k] in rig.tm) == (k not in hit)
    assert made[1] not in rig.tm
    for p in rig.tm:
        PusTm.unpack(p, timestamp_len=rig.svc.time_code.length)


def test_ring_too_small_for_one_packet_is_a_config_error_naming_the_key() -> None:
    clock = SimClock()
    params = ParamStore(None)
    ex = Executive(clock, 10.0, params=params)
    svc = TmtcService(ex, APID, max_packet_len=4096)
    cfg = parse_config({"tm_buffer_bytes": 4096})
    app = build_edac(ex, cfg, MemoryBlobStore(), tmtc=svc)
    with pytest.raises(ConfigError, match=r"\[edac\] tm_buffer_bytes = 4096.*at least 4104"):
        protect_core(app.regions, params, svc, cfg)
    assert len(app.regions) == 0 and svc.downlink_buffer is None and params.image is None
    ok = parse_config({"tm_buffer_bytes": 4104})
    protect_core(app.regions, params, svc, ok)
    assert svc.downlink_buffer is not None
    with pytest.raises(ConfigError, match="already"):
        protect_core(app.regions, params, svc, ok)


def test_without_tmtc_only_the_parameters_are_protected() -> None:
    params = ParamStore(None)
    ex = Executive(SimClock(), 10.0, params=params)
    cfg = parse_config({})
    app = build_edac(ex, cfg, MemoryBlobStore())
    protect_core(app.regions, params, None, cfg)
    assert app.regions.names() == ("params",) and params.image is app.regions.region("params")
    assert app.summary()["downlink"] is None
