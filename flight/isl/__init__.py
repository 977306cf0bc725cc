"""``flight/isl``: the laser link manager and reliable data over the links.

- Contact planning from ephemerides (:func:`plan_contacts`): the node's own orbit (from a
  GNSS fix when ``[isl] gnss`` names a receiver, else the ``[isl]`` orbit keys), peers'
  states exchanged over the links (EPHEMERIS bundles), catalogue uploads (PUS-8
  ``set_elements``).
- PAT through the HAL terminal (:class:`PatManager`): acquire, track, re-acquire after a loss,
  give up after the timeout; terminal time shared between peers by priority.
- Link frames with sequence numbers and CRC-32C (:func:`encode_frame`), selective-repeat ARQ
  (:class:`ArqLink`).
- Store-and-forward bundles with a priority and a lifetime (:class:`IslNetwork`): custody
  hop by hop, contact-graph routing over current and planned contacts
  (:func:`earliest_arrival`), resume or reroute after a drop, duplicates suppressed at the
  destination, losses reported to the source.
- A transport seam (:class:`FrameTransport`): the terminal in a node
  (:class:`TerminalTransport`), an in-memory seeded lossy channel in tests
  (:class:`LossyChannel`).

Installed by ``[isl]``; other apps reach the network through the ``isl.network`` service
(:class:`IslNetwork`: ``send``, ``receive``, ``take_lost``, ``route``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flight.core import InstallContext
from flight.isl._arq import ArqLink, ArqReceiver, ArqSender, LinkCounters, unwrap_seq
from flight.isl._bundles import (
    PRIORITIES,
    SEGMENT_OVERHEAD_BYTES,
    Bundle,
    BundleId,
    BundleKind,
    BundleStore,
    LossReason,
    LostBundle,
    StorageFullError,
    decode_bundle,
    encode_bundle,
)
from flight.isl._component import (
    IslComponent,
    decode_ephemeris,
    encode_ephemeris,
    pointing_error_estimate_rad,
)
from flight.isl._config import Config, PeerConfig, parse_config
from flight.isl._contacts import OrbitElements, plan_contacts, positions_m, visible
from flight.isl._frames import (
    FRAME_OVERHEAD_BYTES,
    FrameKind,
    LinkFrame,
    decode_frame,
    encode_frame,
    node_address,
)
from flight.isl._network import Delivery, IslNetwork, NetworkCounters
from flight.isl._pat import LinkState, PatManager, PatPeer
from flight.isl._routing import Contact, Route, earliest_arrival
from flight.isl._transport import ChannelEnd, FrameTransport, LossyChannel, TerminalTransport
from hal.laser import LaserTerminal
from hal.sensors import GnssReceiver
from native import crc32c

__all__ = [
    "FRAME_OVERHEAD_BYTES",
    "PRIORITIES",
    "SEGMENT_OVERHEAD_BYTES",
    "ArqLink",
    "ArqReceiver",
    "ArqSender",
    "Bundle",
    "BundleId",
    "BundleKind",
    "BundleStore",
    "ChannelEnd",
    "Config",
    "Contact",
    "Delivery",
    "FrameKind",
    "FrameTransport",
    "IslApp",
    "IslComponent",
    "IslNetwork",
    "LinkCounters",
    "LinkFrame",
    "LinkState",
    "LossReason",
    "LossyChannel",
    "LostBundle",
    "NetworkCounters",
    "OrbitElements",
    "PatManager",
    "PatPeer",
    "PeerConfig",
    "Route",
    "StorageFullError",
    "TerminalTransport",
    "decode_bundle",
    "decode_ephemeris",
    "decode_frame",
    "earliest_arrival",
    "encode_bundle",
    "encode_ephemeris",
    "encode_frame",
    "install",
    "node_address",
    "parse_config",
    "plan_contacts",
    "pointing_error_estimate_rad",
    "positions_m",
    "unwrap_seq",
    "visible",
]


@dataclass(slots=True)
class IslApp:
    """What the node keeps of the app: the component (and through it the network)."""

    component: IslComponent

    @property
    def network(self) -> IslNetwork:
        """The node's bundle network (also the ``isl.network`` service)."""
        return self.component.network

    def summary(self) -> dict[str, Any]:
        """The ``isl`` section of summary.json."""
        comp, pat, net = self.component, self.component.pat, self.component.network
        c, lc = net.counters, net.link_counters()
        t_ns = net.now_ns
        return {
            "node": comp.cfg.node,
            "state": pat.state.name,
            "peer": pat.peer,
            "attempts": pat.attempts,
            "acquisitions": pat.acquisitions,
            "acq_failures": pat.failures,
            "link_losses": pat.losses,
            "mean_acquisition_s": pat.mean_acquisition_s,
            "link_up_s": comp.link_up_ns / 1e9,
            "link_up_fraction": comp.link_up_ns / t_ns if t_ns > 0 else 0.0,
            "frames_sent": lc.frames_sent,
            "frames_received": lc.frames_received,
            "frames_retransmitted": lc.frames_retransmitted,
            "frames_in_error": c.frames_in_error,
            "bundles_originated": c.bundles_originated,
            "bundles_delivered": c.bundles_delivered,
            "bytes_delivered": c.bytes_delivered,
            "bundles_forwarded": c.bundles_forwarded,
            "bundles_expired": c.bundles_expired,
            "bundles_lost_reported": c.bundles_lost_reported,
            "storage_drops_by_priority": list(c.dropped_by_priority),
            "bundles_stored": len(net.store),
            "contacts_planned": len(net.plan),
            "own_orbit": comp.own_source,
            "own_fixes": comp.own_fixes,
            "own_fix_failures": comp.own_fix_failures,
        }

    def sample(self) -> dict[str, float]:
        """Series for the run report."""
        hk = self.component.hk
        return {
            "isl.state": float(hk.state),
            "isl.link_rate_bps": float(hk.link_rate_bps),
            "isl.rx_power_dbm": float(hk.rx_power_dbm) if math.isfinite(hk.rx_power_dbm)
            else math.nan,
            "isl.bundles_stored": float(hk.bundles_stored),
        }


def install(ctx: InstallContext, cfg: Config) -> IslApp:
    """Add the link manager at its rate with its registered id; offer ``isl.network``."""
    terminal = ctx.device("terminal", cfg.terminal, LaserTerminal)
    gnss = ctx.device("gnss", cfg.gnss, GnssReceiver) if cfg.gnss is not None else None
    session = crc32c(f"{cfg.node}:{ctx.seed}".encode())
    component = IslComponent(ctx.component_id("isl"), cfg, terminal, session, gnss)
    ctx.add(component, cfg.rate_hz)
    ctx.provide("isl.network", component.network)
    return IslApp(component)
