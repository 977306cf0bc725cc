"""The ``[isl]`` section: the node's name, its terminal, its peers and catalogue, PAT timing,
contact planning, and the link and bundle layers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flight.isl._contacts import OrbitElements
from native.errors import ConfigError
from native.schema import parse, setting

__all__ = ["Config", "PeerConfig", "parse_config"]


def _elements(altitude_km: float, ecc: float, inc_deg: float, raan_deg: float,
              argp_deg: float, arg_lat_deg: float) -> OrbitElements:
    a_m = 6378137.0 + altitude_km * 1e3
    return OrbitElements(a_m, ecc, math.radians(inc_deg), math.radians(raan_deg),
                         math.radians(argp_deg), math.radians(arg_lat_deg - argp_deg), 0)


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """One ``[[isl.peers]]`` entry: a node of the constellation catalogue.

    The orbit keys are its elements at onboard time 0 (the catalogue the ground loaded); with
    ``ephemeris = false`` they are unknown until the node's state arrives over a link or a
    ground upload (``set_elements``), and the terminal may try it at any time.
    """

    name: str = setting(min_len=1, max_len=64, doc="node name (as the terminal and peers know it)")
    priority: int = setting(1, lo=1, hi=255, doc="terminal-time priority (higher wins)")
    enabled: bool = setting(True, doc="the terminal may serve this peer")
    link: bool = setting(True, doc="a neighbour of our terminal (false: routing only)")
    ephemeris: bool = setting(True, doc="the orbit keys below are known")
    altitude_km: float = setting(550.0, lo=100.0, hi=50000.0, units="km", doc="altitude")
    eccentricity: float = setting(0.0, lo=0.0, hi=0.5, hi_open=True, doc="eccentricity")
    inclination_deg: float = setting(53.0, lo=0.0, hi=180.0, units="deg", doc="inclination")
    raan_deg: float = setting(0.0, lo=-360.0, hi=360.0, units="deg", doc="RAAN")
    arg_perigee_deg: float = setting(0.0, lo=-360.0, hi=360.0, units="deg", doc="perigee arg")
    arg_lat_deg: float = setting(0.0, lo=-360.0, hi=360.0, units="deg", doc="argument of latitude")

    def elements(self) -> OrbitElements | None:
        """The catalogue elements (None with ``ephemeris = false``)."""
        if not self.ephemeris:
            return None
        return _elements(self.altitude_km, self.eccentricity, self.inclination_deg,
                         self.raan_deg, self.arg_perigee_deg, self.arg_lat_deg)


@dataclass(frozen=True, slots=True)
class Config:
    """Every ``[isl]`` key with its default (units in the names)."""

    node: str = setting("node", min_len=1, max_len=64, doc="this node's name on the network")
    terminal: str = setting("lct1", min_len=1, doc="laser terminal device")
    rate_hz: float = setting(1.0, lo=0.0, lo_open=True, hi=100.0, units="Hz", doc="step rate")
    # own orbit at onboard time 0 (the node's own estimate before any update)
    altitude_km: float = setting(550.0, lo=100.0, hi=50000.0, units="km", doc="own altitude")
    eccentricity: float = setting(0.0, lo=0.0, hi=0.5, hi_open=True, doc="own eccentricity")
    inclination_deg: float = setting(53.0, lo=0.0, hi=180.0, units="deg", doc="own inclination")
    raan_deg: float = setting(0.0, lo=-360.0, hi=360.0, units="deg", doc="own RAAN")
    arg_perigee_deg: float = setting(0.0, lo=-360.0, hi=360.0, units="deg", doc="own perigee arg")
    arg_lat_deg: float = setting(0.0, lo=-360.0, hi=360.0, units="deg", doc="own arg of latitude")
    peers: tuple[PeerConfig, ...] = setting((), doc="[[isl.peers]]: catalogue and neighbours")
    # own orbit from a GNSS fix (absent: the keys above and ground uploads only)
    gnss: str | None = setting(None, min_len=1, max_len=64,
                               doc="GNSS receiver giving the node's own orbit for planning")
    own_fix_s: float = setting(600.0, lo=1.0, hi=86400.0, units="s",
                               doc="take a new GNSS fix for the own orbit at most this often")
    # PAT
    acq_timeout_s: float = setting(100.0, lo=1.0, hi=3600.0, units="s",
                                   doc="give an acquisition up after this (SDA: 100 s)")
    retry_backoff_s: float = setting(30.0, lo=0.0, hi=86400.0, units="s",
                                     doc="no new attempt at a peer for this long after a failure")
    min_dwell_s: float = setting(10.0, lo=0.0, hi=86400.0, units="s",
                                 doc="a higher-priority peer preempts after this")
    max_dwell_s: float = setting(300.0, lo=0.0, hi=86400.0, units="s",
                                 doc="an equal-priority peer with traffic gets a turn after this")
    link_schedule: tuple[str, ...] = setting(
        (), max_len=100000,
        doc="the terminal's peer in successive slots from onboard time 0, repeating "
            "(\"\": no link in that slot); empty: the terminal chooses by priority and demand")
    schedule_slot_s: float = setting(120.0, lo=1.0, hi=86400.0, units="s",
                                     doc="length of one slot of link_schedule")
    # contact planning
    plan_horizon_s: float = setting(6000.0, lo=60.0, hi=604800.0, units="s", doc="plan ahead")
    plan_step_s: float = setting(30.0, lo=1.0, hi=600.0, units="s", doc="planning grid step")
    replan_s: float = setting(600.0, lo=10.0, hi=86400.0, units="s", doc="replan interval")
    grazing_height_km: float = setting(100.0, lo=0.0, hi=10000.0, units="km",
                                       doc="line of sight clears the Earth by this")
    max_range_km: float = setting(8000.0, lo=1.0, hi=100000.0, units="km", doc="link range limit")
    plan_rate_bps: float = setting(10e9, lo=0.0, lo_open=True, units="bit/s",
                                   doc="planned rate of a contact")
    # link and bundle layers
    storage_bytes: int = setting(64 << 20, lo=1024, hi=1 << 40, units="B", doc="bundle store")
    window: int = setting(512, lo=1, hi=65536, doc="ARQ window (frames)")
    rto_s: float = setting(2.0, lo=0.001, hi=600.0, units="s", doc="ARQ retransmission timeout")
    custody_timeout_s: float = setting(30.0, lo=0.01, hi=86400.0, units="s",
                                       doc="re-send a bundle with no custody signal after this")
    max_frames_per_step: int = setting(256, lo=1, hi=1 << 20, doc="frame budget of one step")
    max_hops: int = setting(8, lo=1, hi=255, doc="routes longer than this are refused")
    report_lifetime_s: float = setting(3600.0, lo=1.0, hi=604800.0, units="s",
                                       doc="lifetime of loss reports")
    ephemeris_lifetime_s: float = setting(600.0, lo=1.0, hi=86400.0, units="s",
                                          doc="lifetime of exchanged state bundles")
    exchange_ephemeris: bool = setting(True, doc="send our state to a peer on each link-up")
    # terminal optics (to estimate the pointing error from the received power)
    wavelength_m: float = setting(1550e-9, lo=1e-7, hi=2e-5, units="m", doc="laser wavelength")
    aperture_m: float = setting(0.08, lo=0.0, lo_open=True, hi=2.0, units="m", doc="aperture")
    tx_power_w: float = setting(1.0, lo=0.0, lo_open=True, hi=1000.0, units="W",
                                doc="transmit power of the peers")

    def validate(self) -> None:
        """Relations: peer names unique and not this node; dwell limits ordered."""
        names = [p.name for p in self.peers]
        if self.node in names:
            raise ConfigError(f"peers: {self.node!r} is this node")
        if self.max_dwell_s < self.min_dwell_s:
            raise ConfigError("max_dwell_s: must be >= min_dwell_s")
        if self.plan_step_s > self.plan_horizon_s:
            raise ConfigError("plan_step_s: must be <= plan_horizon_s")
        links = {p.name for p in self.peers if p.link}
        for k, name in enumerate(self.link_schedule):
            if name and name not in links:
                raise ConfigError(
                    f"link_schedule[{k}]: {name!r} is not a link peer of this node "
                    "(a [[isl.peers]] entry with link = true)"
                )

    @property
    def schedule_slot_ns(self) -> int:
        """``schedule_slot_s`` in onboard ns."""
        return round(self.schedule_slot_s * 1e9)

    def scheduled_peer(self, t_ns: int) -> str | None:
        """The peer ``link_schedule`` gives the terminal at onboard time ``t_ns`` (``""``:
        none in this slot); None when there is no schedule."""
        if not self.link_schedule:
            return None
        slot = int(t_ns // self.schedule_slot_ns)
        return self.link_schedule[slot % len(self.link_schedule)]

    def own_elements(self) -> OrbitElements:
        """This node's orbit at onboard time 0."""
        return _elements(self.altitude_km, self.eccentricity, self.inclination_deg,
                         self.raan_deg, self.arg_perigee_deg, self.arg_lat_deg)


def parse_config(table: Any) -> Config:
    """Check ``[isl]`` against :class:`Config` (ConfigError names the key)."""
    return parse(Config, table, "isl")
