"""Simulated laser terminal and the optical channel between terminals of in-process nodes.

The terminal runs a timed PAT sequence against a neighbour of its world: in a
:class:`~hal.sim.world.Universe` the neighbours are the other spacecraft themselves, so a
terminal pointed at a peer node's spacecraft tracks that spacecraft's actual motion.

The channel, physically (:class:`OpticalChannel`, the default):

* geometry (:func:`hal.sim.world.link_geometry`): line of sight above the grazing height,
  range, light time ``R / c``; the line of sight's angular rate seen from the turning body
  ``|(omega_los - omega_body) x u|`` and its angle from the terminal's gimbal boresight;
* link budget (:func:`hal.laser.received_power_dbm`): received power at the current range
  and pointing error; the rate is the highest configured rate whose need
  ``photons_per_bit h c / lambda * rate`` plus the margin the power meets; the bit error rate
  is ``BER = erfc(Q / sqrt 2) / 2`` with ``Q = Q_req sqrt(n / n_req)`` (a shot-noise-limited
  receiver: SNR grows with the photons per bit ``n = P_r lambda / (h c rate)``; at the
  required ``n_req = photons_per_bit`` the BER is ``required_ber``); a frame of ``b`` bits
  is lost with ``FER = 1 - (1 - BER)^b`` (the receiver's check discards it, counted in
  ``frames_in_error``), its pointing error drawn from the fine-tracking Rayleigh law;
* timing: a frame leaves when the transmitter is free, takes ``8 n / rate`` to serialise and
  arrives ``R / c`` later; the peer's terminal takes it when its time reaches the arrival and
  it is still in COMM with us (else ``frames_dropped`` of the sender); more than
  ``tx_backlog_s`` of queued transmission drops the frame at once;
* mutual pointing: a scan finds the peer only while a terminal of the peer points back at us
  (its own acquisition of our node, at any stage: it lights its beacon towards us), and
  tracking or COMM is lost when the peer turns away. A peer whose terminal the channel does
  not simulate (a catalogue spacecraft without flight software) is assumed to point back;
* loss of lock: tracking or COMM drops to SCANNING (``lock_losses``) when the line of sight
  is lost, the range exceeds ``max_range_m``, the peer leaves the gimbal's field of regard or
  turns faster than ``tracking_rate_rad_s``, the peer stops pointing at us, or on the
  ``laser_loss_of_lock`` fault.

``OpticalChannel(ideal=True)`` keeps the first model: immediate, lossless, unlimited-rate
delivery (for protocol tests that want no physics).

``OpticalChannel(synchronised=names)``: the channel of one shard of a constellation whose
nodes run in several processes (or one), exchanging frames at synchronisation points. Every
frame, to a local node or not, leaves through :meth:`OpticalChannel.take_outbound`; the
driver hands each to the channel of its destination with :meth:`OpticalChannel.accept_inbound`
at the next synchronisation point, the end ``t_end`` of the interval it was sent in, and it
arrives at ``max(arrival, t_end)``: never before it was sent plus light time, never inside the
interval it was sent in. Frames
that find no listening terminal are reported back to the sender's terminal the same way.
Whom each node's terminals point at is exchanged the same way (:meth:`OpticalChannel.pointing_report`
after an interval, :meth:`OpticalChannel.set_pointing` before the next): during an interval
every terminal sees every peer's pointing as it was at the interval's start. So a node's
frames and counters do not depend on which shard runs which node.
"""

from __future__ import annotations

import collections
import functools
import heapq
import math
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hal._common import Family, require_range
from hal._frames import cross3
from hal.laser import (
    PLANCK_J_S,
    SPEED_OF_LIGHT_M_S,
    LaserReading,
    LaserTerminal,
    PatState,
    received_power_dbm,
    w_to_dbm,
)
from hal.sim._base import Options, SimDevice
from hal.sim._context import DeviceContext
from hal.sim.world import LinkGeometry, link_geometry
from native.errors import ConfigError, DeviceCommandError, DeviceFaultError

__all__ = [
    "DEFAULT_OPTICAL_CHANNEL",
    "FrameInFlight",
    "OpticalChannel",
    "SimLaserTerminal",
    "bit_error_rate",
    "frame_error_rate",
    "photons_per_bit",
    "q_for_ber",
]


def photons_per_bit(power_w: float, rate_bps: float, wavelength_m: float) -> float:
    """Received photons per bit ``P lambda / (h c rate)``."""
    return power_w * wavelength_m / (PLANCK_J_S * SPEED_OF_LIGHT_M_S * rate_bps)


@functools.lru_cache(maxsize=64)
def q_for_ber(ber: float) -> float:
    """The Q factor with ``erfc(Q / sqrt 2) / 2 = ber`` (0 < ber < 0.5), by bisection."""
    if not 0.0 < ber < 0.5:
        raise ValueError(f"ber must be in (0, 0.5), got {ber!r}")
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(mid / math.sqrt(2.0)) > ber:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def bit_error_rate(n_photons: float, n_required: float, required_ber: float) -> float:
    """``erfc(Q / sqrt 2) / 2`` with ``Q = q_for_ber(required_ber) sqrt(n / n_required)``."""
    if n_photons <= 0.0:
        return 0.5
    q = q_for_ber(required_ber) * math.sqrt(n_photons / n_required)
    return 0.5 * math.erfc(q / math.sqrt(2.0))


def frame_error_rate(ber: float, frame_bits: int) -> float:
    """Probability that a frame of ``frame_bits`` has at least one bit error."""
    return -math.expm1(frame_bits * math.log1p(-ber)) if ber < 1.0 else 1.0


#: A frame between shards: (arrival_ns, src_node, src_terminal, src_frame_number, dst_node,
#: frame). The first four fields order frames uniquely, whatever the sharding.
OutboundFrame = tuple[int, str, str, int, str, bytes]
#: A frame that found no listening terminal, reported to its sender: (src_node, src_terminal).
DropNotice = tuple[str, str]


@dataclass(frozen=True, slots=True)
class FrameInFlight:
    """A frame on its way: sender and receiver node, arrival time (ns, simulated), size."""

    src_node: str
    dst_node: str
    arrival_ns: int
    n_bytes: int


_TRACKING = (PatState.COARSE_TRACK, PatState.FINE_TRACK, PatState.COMM)


class OpticalChannel:
    """In-process medium joining simulated laser terminals of different nodes by node name.

    Physical by default (frames arrive after serialisation and light time, see the module
    docstring); ``ideal=True``: immediate, lossless delivery. Terminals are held weakly, so a
    forgotten backend does not keep receiving frames.
    """

    def __init__(self, *, ideal: bool = False, synchronised: Iterable[str] | None = None) -> None:
        self._nodes: dict[str, weakref.WeakSet[SimLaserTerminal]] = {}
        self._ideal = bool(ideal)
        self._seq = 0
        # (arrival_ns, seq, src, dst, frame, sender): a heap per destination node. In a
        # synchronised channel seq is (src terminal, its frame number) and sender the
        # sender's terminal name: both independent of the sharding.
        self._flight: dict[str, list[tuple[int, Any, str, str, bytes, Any]]] = {}
        self._sync_nodes: frozenset[str] | None = None
        self._outbound: list[OutboundFrame] = []
        self._drops: list[DropNotice] = []
        #: synchronised: node -> the nodes its terminals pointed at, at the last sync point
        self._pointing: dict[str, frozenset[str]] = {}
        if synchronised is not None:
            if ideal:
                raise ConfigError("optical channel: a synchronised channel is physical")
            self._sync_nodes = frozenset(str(n) for n in synchronised)

    @property
    def synchronised(self) -> bool:
        """True: frames are exchanged at synchronisation points (see the module doc)."""
        return self._sync_nodes is not None

    def take_outbound(self) -> tuple[list[OutboundFrame], list[DropNotice]]:
        """Frames sent and drops seen since the last call (a synchronised channel)."""
        out, drops = self._outbound, self._drops
        self._outbound, self._drops = [], []
        return out, drops

    def accept_inbound(
        self, frames: Iterable[OutboundFrame], drops: Iterable[DropNotice], not_before_ns: int
    ) -> None:
        """At a synchronisation point: queue ``frames`` for their (local) destinations,
        arriving no earlier than ``not_before_ns`` (the end of the interval they were sent
        in); count each drop notice at its (local) sender terminal."""
        if self._sync_nodes is None:
            raise DeviceCommandError("optical channel: not a synchronised channel")
        floor = int(not_before_ns)
        for arrival, src, term, number, dst, frame in frames:
            heapq.heappush(
                self._flight.setdefault(dst, []),
                (max(int(arrival), floor), (src, term, number), src, dst, frame, term),
            )
        for src, term in drops:
            for t in self._nodes.get(src, ()):
                if t.name == term:
                    t._dropped += 1

    def pointing_report(self) -> dict[str, tuple[str, ...]]:
        """Whom the terminals attached here point at now (node -> peers, sorted; nodes whose
        terminals point at nobody are left out): what a synchronisation point exchanges."""
        out: dict[str, tuple[str, ...]] = {}
        for node, terms in self._nodes.items():
            peers = sorted({t._peer for t in terms if t._beaconing()})
            if peers:
                out[node] = tuple(peers)
        return out

    def set_pointing(self, pointing: Mapping[str, Iterable[str]]) -> None:
        """At a synchronisation point: every node's pointing (:meth:`pointing_report` of
        every shard, merged), which terminals see until the next one."""
        if self._sync_nodes is None:
            raise DeviceCommandError("optical channel: not a synchronised channel")
        self._pointing = {str(n): frozenset(str(p) for p in ps) for n, ps in pointing.items()}

    def points_at(self, node: str, target: str) -> bool:
        """True when a terminal of ``node`` points at ``target`` (its beacon reaches it):
        in a synchronised channel as of the last synchronisation point; always True for a
        node whose terminals are not simulated (assumed identical, pointing back)."""
        if self._sync_nodes is not None:
            if node not in self._sync_nodes:
                return True
            return target in self._pointing.get(node, ())
        terms = self._nodes.get(node)
        if not terms:
            return True
        return any(t._peer == target and t._beaconing() for t in terms)

    @property
    def ideal(self) -> bool:
        """True: immediate lossless delivery; False: the physical channel."""
        return self._ideal

    def attach(self, node: str, terminal: SimLaserTerminal) -> None:
        """Make ``terminal`` reachable as a terminal of node ``node``."""
        self._nodes.setdefault(node, weakref.WeakSet()).add(terminal)

    def detach(self, node: str, terminal: SimLaserTerminal) -> None:
        """Remove ``terminal`` (no-op if absent)."""
        ts = self._nodes.get(node)
        if ts is not None:
            ts.discard(terminal)

    def deliver(self, src_node: str, dst_node: str, frame: bytes) -> bool:
        """Hand ``frame`` to the terminal of ``dst_node`` in COMM with ``src_node`` now.

        Returns False when no such terminal listens.
        """
        for term in list(self._nodes.get(dst_node, ())):
            if term._listens_to(src_node):
                term._enqueue(frame)
                return True
        return False

    def has_node(self, node: str) -> bool:
        """True if a terminal of ``node`` is attached (in a synchronised channel: if the
        constellation has that node, whichever shard runs it)."""
        if self._sync_nodes is not None:
            return node in self._sync_nodes
        return bool(self._nodes.get(node))

    def transmit(
        self, src_node: str, dst_node: str, frame: bytes, arrival_ns: int, sender: Any
    ) -> None:
        """Put ``frame`` on its way to ``dst_node``, arriving at ``arrival_ns`` (in a
        synchronised channel: to the outbound list, see the module doc)."""
        if self._sync_nodes is not None:
            self._outbound.append(
                (int(arrival_ns), src_node, sender.name, sender._sent, dst_node, frame)
            )
            return
        self._seq += 1
        heapq.heappush(
            self._flight.setdefault(dst_node, []),
            (int(arrival_ns), self._seq, src_node, dst_node, frame, weakref.ref(sender)),
        )

    def collect(self, dst_node: str, now_ns: int) -> None:
        """Deliver every frame to ``dst_node`` that has arrived by ``now_ns`` (to the
        terminal in COMM with its sender; else the sender counts it dropped)."""
        q = self._flight.get(dst_node)
        while q and q[0][0] <= now_ns:
            _, _, src, dst, frame, sender_ref = heapq.heappop(q)
            if not self.deliver(src, dst, frame):
                if self._sync_nodes is not None:
                    self._drops.append((src, sender_ref))
                    continue
                sender = sender_ref()
                if sender is not None:
                    sender._dropped += 1

    def in_flight(self) -> tuple[FrameInFlight, ...]:
        """Frames on their way, by arrival time."""
        out = [FrameInFlight(e[2], e[3], e[0], len(e[4])) for q in self._flight.values() for e in q]
        return tuple(sorted(out, key=lambda f: f.arrival_ns))


#: The channel backends share unless given their own (``optical_channel=`` option).
DEFAULT_OPTICAL_CHANNEL = OpticalChannel()


class SimLaserTerminal(SimDevice, LaserTerminal):
    """A simulated optical inter-satellite terminal.

    Link keys (defaults reproduce the REFERENCE.md example): ``wavelength_m`` (1550e-9),
    ``aperture_m`` (0.08, transmit and receive), ``tx_power_w`` (1.0), ``eta_tx``/``eta_rx``
    (1.0), ``max_range_m`` (8e6). The peer is assumed to be an identical terminal pointing back.

    Rate keys: ``rates_bps`` ([1e9, 2.5e9, 10e9, 25e9, 100e9]), ``photons_per_bit`` (200: the
    receiver needs ``photons_per_bit * h c / lambda * rate`` W), ``margin_db`` (3.0). The link
    runs at the highest rate whose requirement plus margin the received power meets.

    PAT keys: ``pointing_s`` (5, open-loop slew), ``scan_max_s`` (30, the spiral scan finds the
    beacon after a uniform time in [0, scan_max_s]), ``coarse_s`` (2), ``fine_s`` (1),
    ``acq_timeout_s`` (100), ``coarse_error_rad`` (3e-6) and ``fine_error_rad`` (0.5e-6): the
    Rayleigh-distributed pointing error (per-axis sigma) while tracking.

    Channel keys (module docstring): ``tracking_rate_rad_s`` (0.05: the fastest line-of-sight
    motion relative to the body the gimbal follows), ``gimbal_boresight_body`` ([1, 0, 0]) and
    ``gimbal_half_angle_deg`` (180: no limit) the field of regard about the boresight,
    ``required_ber`` (1e-12: the BER at ``photons_per_bit``), ``tx_backlog_s`` (1.0).

    Other keys: ``mtu_bytes`` (16384), ``rx_queue_frames`` (1024), ``rail`` (default ``isl``).
    Fault ``laser_loss_of_lock``: tracking drops to SCANNING and the scan cannot succeed while
    the fault lasts.
    """

    family: ClassVar[Family] = Family.LASER_TERMINAL
    FAULTS: ClassVar[frozenset[str]] = frozenset({"laser_loss_of_lock"})

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        if "isl" in tuple(ctx.world.power.rail_names):
            opts.setdefault("rail", "isl")
        super().__init__(name, ctx, opts)
        r = opts.real
        self._wavelength = r("wavelength_m", 1550e-9, lo=1e-7, hi=2e-5)
        self._aperture = r("aperture_m", 0.08, lo=0.0, hi=2.0, lo_open=True)
        self._tx_w = r("tx_power_w", 1.0, lo=0.0, lo_open=True)
        self._eta_tx = r("eta_tx", 1.0, lo=0.0, hi=1.0, lo_open=True)
        self._eta_rx = r("eta_rx", 1.0, lo=0.0, hi=1.0, lo_open=True)
        self._max_range = r("max_range_m", 8.0e6, lo=0.0, lo_open=True)
        rates = opts.raw("rates_bps", [1e9, 2.5e9, 10e9, 25e9, 100e9])
        if (
            not isinstance(rates, (list, tuple))
            or not rates
            or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in rates
            )
        ):
            raise ConfigError(f"{opts.path}.rates_bps: must be a non-empty array of rates > 0")
        self._rates = tuple(sorted(float(x) for x in rates))
        self._ppb = r("photons_per_bit", 200.0, lo=0.0, lo_open=True)
        self._margin_db = r("margin_db", 3.0, lo=0.0)
        self._pointing_ns = round(r("pointing_s", 5.0, lo=0.0) * 1e9)
        self._scan_max_s = r("scan_max_s", 30.0, lo=0.0)
        self._coarse_ns = round(r("coarse_s", 2.0, lo=0.0) * 1e9)
        self._fine_ns = round(r("fine_s", 1.0, lo=0.0) * 1e9)
        self._timeout_ns = round(r("acq_timeout_s", 100.0, lo=0.0, lo_open=True) * 1e9)
        self._coarse_err = r("coarse_error_rad", 3e-6, lo=0.0)
        self._fine_err = r("fine_error_rad", 0.5e-6, lo=0.0)
        self._mtu = opts.integer("mtu_bytes", 16384, lo=1, hi=1 << 24)
        self._rxq_max = opts.integer("rx_queue_frames", 1024, lo=1, hi=1 << 20)
        self._track_rate = r("tracking_rate_rad_s", 0.05, lo=0.0, lo_open=True)
        bore = opts.vec3("gimbal_boresight_body", (1.0, 0.0, 0.0))
        if float(np.linalg.norm(bore)) == 0.0:
            raise ConfigError(f"{opts.path}.gimbal_boresight_body: must be non-zero")
        self._boresight = bore / np.linalg.norm(bore)
        self._gimbal_cos = math.cos(
            math.radians(r("gimbal_half_angle_deg", 180.0, lo=0.0, hi=180.0, lo_open=True))
        )
        self._req_ber = r("required_ber", 1e-12, lo=1e-30, hi=0.1)
        self._backlog_ns = round(r("tx_backlog_s", 1.0, lo=0.0) * 1e9)
        opts.finish()
        self._frame_rng = ctx.world.rng(name + ".channel")  # apart from the reading noise
        self._tx_free_ns = 0
        self._errors = 0
        self._lock_losses = 0

        self._state = PatState.IDLE
        self._peer = ""
        self._phase_end_ns = 0
        self._acq_start_ns = 0
        self._scan_ns = 0
        self._lock_fault = False
        self._rxq: collections.deque[bytes] = collections.deque()
        self._sent = self._received = self._dropped = self._acq_failures = 0
        self._node = ctx.node_name
        self._channel = ctx.optical_channel
        # the physical channel needs the peer to point back (the ideal one does not)
        chan = self._channel
        self._mutual = chan if isinstance(chan, OpticalChannel) and not chan.ideal else None
        self._geometry_cache: tuple[tuple[int, int, str], LinkGeometry] | None = None
        self._range_cache: tuple[tuple[int, int, str] | None, float] = (None, math.nan)
        self._rate_cache: tuple[float | None, float] = (None, 0.0)
        self._channel.attach(self._node, self)

    # ------------------------------------------------------------------------ link budget
    def _power_dbm(self, range_m: float, pointing_error_rad: float) -> float:
        return received_power_dbm(
            self._tx_w,
            range_m,
            wavelength_m=self._wavelength,
            tx_aperture_m=self._aperture,
            rx_aperture_m=self._aperture,
            eta_tx=self._eta_tx,
            eta_rx=self._eta_rx,
            pointing_error_rad=pointing_error_rad,
        )

    def _rate_for(self, power_dbm: float) -> float:
        photon_j = PLANCK_J_S * SPEED_OF_LIGHT_M_S / self._wavelength
        best = 0.0
        for rate in self._rates:
            need_dbm = w_to_dbm(self._ppb * photon_j * rate) + self._margin_db
            if power_dbm >= need_dbm:
                best = rate
        return best

    def _geometry_key(self) -> tuple[int, int, str]:
        w = self.world
        return (w.t_ns, w.universe.state_version, self._peer)

    def _range(self) -> float:
        if not self._peer:
            return math.nan
        key = self._geometry_key()
        if self._range_cache[0] != key:
            self._range_cache = (key, float(self.world.neighbours.range_m(self._peer)))
        return self._range_cache[1]

    def _nominal_rate(self) -> float:
        """Link rate at the current range with the fine-tracking pointing error."""
        if self._state is not PatState.COMM:
            return 0.0
        rng = self._range()
        if self._rate_cache[0] != rng:
            self._rate_cache = (rng, self._rate_for(self._power_dbm(rng, self._fine_err)))
        return self._rate_cache[1]

    def geometry(self) -> LinkGeometry | None:
        """The line to the current peer now (None without a peer). Derived geometry is
        cached per plant time and state version: the physics only moves at plant steps."""
        if not self._peer:
            return None
        key = self._geometry_key()
        cached = self._geometry_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        w = self.world
        r, v = w.neighbours.state(self._peer)
        own = np.concatenate([w.orbit.r_eci_m, w.orbit.v_eci_m_s])
        g = link_geometry(own, np.concatenate([r, v]), w.config.neighbours.grazing_height_km * 1e3)
        self._geometry_cache = (key, g)
        return g

    def body_los_rate_rad_s(self) -> float:
        """Angular rate (rad/s) of the line to the peer relative to the body (NaN: no peer)."""
        g = self.geometry()
        if g is None:
            return math.nan
        att = self.world.attitude
        w_b = att.body_to_eci(att.rate_body_rad_s)
        rel = np.asarray(g.los_rate_eci) - w_b
        return float(np.linalg.norm(cross3(rel, g.unit_eci)))

    def gimbal_angle_rad(self) -> float:
        """Angle (rad) of the peer from the gimbal boresight (NaN: no peer)."""
        if not self._peer:
            return math.nan
        d = self.world.neighbours.direction_body(self._peer)
        return math.acos(max(-1.0, min(1.0, float(d @ self._boresight))))

    def blocked_reason(self) -> str:
        """Why the peer cannot be tracked now ("" when it can): ``no line of sight``,
        ``out of range``, ``gimbal limit`` or ``angular rate``."""
        if not self._peer:
            return "no peer"
        if not self.world.neighbours.line_of_sight(self._peer):
            return "no line of sight"
        if self._range() > self._max_range:
            return "out of range"
        # (a 180 deg field of regard, cos = -1, limits nothing: no angle to compute)
        if self._gimbal_cos > -1.0 and math.cos(self.gimbal_angle_rad()) < self._gimbal_cos:
            return "gimbal limit"
        if self.body_los_rate_rad_s() > self._track_rate:
            return "angular rate"
        return ""

    def fer(self, pointing_error_rad: float, frame_bytes: int) -> float:
        """Frame error rate at the current range and rate for this pointing error (COMM)."""
        return self._fer(self._nominal_rate(), self._range(), pointing_error_rad, frame_bytes)

    def _fer(self, rate: float, range_m: float, pointing_error_rad: float, nbytes: int) -> float:
        if rate <= 0.0:
            return 1.0
        p_w = 1e-3 * 10.0 ** (self._power_dbm(range_m, pointing_error_rad) / 10.0)
        n = photons_per_bit(p_w, rate, self._wavelength)
        return frame_error_rate(bit_error_rate(n, self._ppb, self._req_ber), 8 * nbytes)

    # ---------------------------------------------------------------------------- PAT
    @property
    def mtu_bytes(self) -> int:
        return self._mtu

    @property
    def state(self) -> PatState:
        """Current PAT state (also in :meth:`read`)."""
        return self._state

    def acquire(self, peer: str) -> None:
        self._require_power()
        if self._state is PatState.FAULT:
            raise DeviceFaultError(f"{self._name}: terminal in FAULT")
        names = tuple(self.world.neighbours.names)
        if peer not in names:
            raise DeviceCommandError(
                f"{self._name}: unknown peer {peer!r} (neighbours: {', '.join(names)})"
            )
        now = self._now()
        self._peer = peer
        self._state = PatState.POINTING
        self._acq_start_ns = now
        self._phase_end_ns = now + self._pointing_ns

    def point(self, az_rad: float, el_rad: float) -> None:
        self._require_power()
        require_range(az_rad, -math.pi, math.pi, f"{self._name}: az_rad")
        require_range(el_rad, -math.pi / 2, math.pi / 2, f"{self._name}: el_rad")
        if self._state is PatState.FAULT:
            raise DeviceFaultError(f"{self._name}: terminal in FAULT")
        self._peer = ""
        self._state = PatState.POINTING

    def stop(self) -> None:
        self._require_power()
        if self._state is not PatState.FAULT:
            self._state = PatState.IDLE
        self._peer = ""

    def _visible(self) -> bool:
        return self.blocked_reason() == ""

    def _enter_scan(self, t0_ns: int) -> PatState:
        """Start a spiral scan at ``t0_ns``; it finds the beacon after a random time."""
        self._scan_ns = round(float(self._rng.uniform(0.0, self._scan_max_s)) * 1e9)
        self._phase_end_ns = t0_ns + self._scan_ns
        return PatState.SCANNING

    def _post_step(self, t_ns: int) -> None:
        self._collect()  # frames that arrived during the step meet the state they found
        if not self.powered:
            if self._state is not PatState.FAULT:
                self._state, self._peer = PatState.IDLE, ""
            return
        if not self._peer or self._state in (PatState.IDLE, PatState.FAULT):
            return
        visible = (
            self._visible()
            and not self._lock_fault
            and (self._mutual is None or self._mutual.points_at(self._peer, self._node))
        )
        st: PatState = self._state
        # Walk through every phase that ends within this step (steps may be long).
        for _ in range(6):
            if st is PatState.POINTING:
                if t_ns < self._phase_end_ns:
                    break
                if not self._visible():
                    self._phase_end_ns = t_ns  # keep pointing open loop until visible
                    break
                st = self._enter_scan(self._phase_end_ns)
            elif st is PatState.SCANNING:
                if not visible:
                    self._phase_end_ns = t_ns + self._scan_ns  # the scan starts over
                    break
                if t_ns < self._phase_end_ns:
                    break
                st, self._phase_end_ns = PatState.COARSE_TRACK, self._phase_end_ns + self._coarse_ns
            elif st in (PatState.COARSE_TRACK, PatState.FINE_TRACK):
                if not visible:
                    st = self._enter_scan(t_ns)
                    self._lock_losses += 1
                    break
                if t_ns < self._phase_end_ns:
                    break
                if st is PatState.COARSE_TRACK:
                    st, self._phase_end_ns = PatState.FINE_TRACK, self._phase_end_ns + self._fine_ns
                else:
                    st = PatState.COMM
            else:  # COMM
                if not visible:
                    # Lost lock: re-acquire, with a fresh acquisition timeout.
                    st = self._enter_scan(t_ns)
                    self._acq_start_ns = t_ns
                    self._lock_losses += 1
                break
        if st is not PatState.COMM and t_ns - self._acq_start_ns > self._timeout_ns:
            st, self._peer = PatState.IDLE, ""
            self._acq_failures += 1
        self._state = st

    # --------------------------------------------------------------------------- frames
    def _collect(self) -> None:
        if isinstance(self._channel, OpticalChannel) and not self._channel.ideal:
            self._channel.collect(self._node, self._now())

    def _beaconing(self) -> bool:
        """True while the terminal points at its peer (any stage from pointing to COMM)."""
        return bool(self._peer) and self.powered and self._state not in (
            PatState.IDLE, PatState.FAULT
        )

    def _listens_to(self, node: str) -> bool:
        return self.powered and self._state is PatState.COMM and self._peer == node

    def _enqueue(self, frame: bytes) -> None:
        if len(self._rxq) >= self._rxq_max:
            self._dropped += 1
        else:
            self._rxq.append(frame)
            self._received += 1

    def send(self, frame: bytes) -> None:
        self._require_power()
        if not isinstance(frame, (bytes, bytearray, memoryview)):
            raise DeviceCommandError(
                f"{self._name}: frame must be bytes, got {type(frame).__name__}"
            )
        data = bytes(frame)
        if not 0 < len(data) <= self._mtu:
            raise DeviceCommandError(
                f"{self._name}: frame of {len(data)} bytes outside 1..{self._mtu}"
            )
        if self._state is not PatState.COMM:
            raise DeviceCommandError(f"{self._name}: link not up (state {self._state.name})")
        rate = self._nominal_rate()
        if rate <= 0.0:
            raise DeviceCommandError(f"{self._name}: received power too low for any rate")
        self._sent += 1
        chan = self._channel
        if not isinstance(chan, OpticalChannel) or chan.ideal:
            if not chan.deliver(self._node, self._peer, data):
                self._dropped += 1
            return
        if not chan.has_node(self._peer):
            self._dropped += 1  # nobody simulates that peer's terminal
            return
        now = self._now()
        start = max(now, self._tx_free_ns)
        if start - now > self._backlog_ns:
            self._dropped += 1  # transmit queue full
            return
        bits = 8 * len(data)
        self._tx_free_ns = start + math.ceil(bits / rate * 1e9)
        g = self.geometry()
        assert g is not None  # in COMM there is a peer
        err = float(self._frame_rng.rayleigh(self._fine_err)) if self._fine_err > 0 else 0.0
        if float(self._frame_rng.random()) < self._fer(rate, self._range(), err, len(data)):
            self._errors += 1  # the receiver's check will discard it: never delivered
            return
        chan.transmit(
            self._node, self._peer, data, self._tx_free_ns + round(g.light_time_s * 1e9), self
        )

    def receive(self) -> bytes | None:
        self._require_power()
        self._collect()
        return self._rxq.popleft() if self._rxq else None

    def read(self) -> LaserReading:
        self._require_power()
        rng_m = self._range()
        if self._state in _TRACKING:
            sigma = self._coarse_err if self._state is PatState.COARSE_TRACK else self._fine_err
            err = float(self._rng.rayleigh(sigma)) if sigma > 0 else 0.0
            p_dbm, valid = self._power_dbm(rng_m, err), True
        else:
            p_dbm, valid, err = -math.inf, False, math.nan
        return LaserReading(
            self._now(),
            valid,
            self._state,
            self._peer,
            p_dbm,
            self._nominal_rate(),
            rng_m,
            self._sent,
            self._received,
            self._dropped,
            self._acq_failures,
            self._errors,
            self._lock_losses,
            rng_m / SPEED_OF_LIGHT_M_S if self._peer else math.nan,  # the nan singleton: equal
            err if valid else math.nan,
        )

    # ---------------------------------------------------------------------------- faults
    def apply_fault(self, kind: str, channel: str | None, params: Mapping[str, Any]) -> None:
        if kind != "laser_loss_of_lock":
            super().apply_fault(kind, channel, params)
            return
        self._lock_fault = True
        if self._state in _TRACKING:
            self._lock_losses += 1
            now = self._now()
            self._state = self._enter_scan(now)
            self._acq_start_ns = now

    def clear_fault(self, kind: str, channel: str | None) -> None:
        if kind == "laser_loss_of_lock":
            self._lock_fault = False

    def _on_reboot(self, reason: Any) -> None:
        if self._state is not PatState.FAULT:
            self._state, self._peer = PatState.IDLE, ""
        self._rxq.clear()

    def _detach(self) -> None:
        self._channel.detach(self._node, self)
