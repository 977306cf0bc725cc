"""The ``isl`` component: contact planning, PAT through the terminal, the bundle network.

Each step: read the terminal; replan contacts when due (or when the catalogue changed),
with the node's own orbit from a fresh GNSS fix when a receiver is configured (``[isl]
gnss``: the fix's ECEF state turned to ECI and to osculating elements at the fix's onboard
time; a fix at most every ``own_fix_s``; no valid fix: the previous estimate stays);
choose and follow the terminal's peer (:class:`PatManager`); move frames and bundles
(:class:`IslNetwork` over a :class:`TerminalTransport`); take in neighbours' states; update
housekeeping, events and the :class:`~flight.messages.LinkStatus` bus message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import struct

from flight.core import (
    NS_PER_S,
    Arg,
    CommandDef,
    CommandError,
    Component,
    Declaration,
    EventDef,
    FailureCode,
    FieldType,
    Severity,
    TlmField,
)
from flight.isl._bundles import BundleKind, StorageFullError
from flight.isl._config import Config, _elements
from flight.isl._contacts import OrbitElements, plan_contacts
from flight.isl._network import IslNetwork
from flight.isl._pat import LinkState, PatManager, PatPeer
from flight.isl._routing import Contact
from flight.isl._transport import TerminalTransport
from flight.messages import LinkStatus
from hal.laser import LaserReading, LaserTerminal, beam_divergence_rad, received_power_dbm
from hal.sensors import GnssReceiver, ecef_to_eci
from native.errors import HalError, WireError

__all__ = ["IslComponent", "decode_ephemeris", "encode_ephemeris", "pointing_error_estimate_rad"]

_EPH = struct.Struct(">6dq")
#: a GNSS-derived orbit outside these bounds is refused (a bad fix, not a LEO/MEO orbit)
_MIN_A_M = 6378137.0 + 100e3
_MAX_A_M = 6378137.0 + 50000e3
_MAX_E = 0.5
_DB_PER_NEPER2 = 10.0 * math.log10(math.e)


def encode_ephemeris(name: str, el: OrbitElements) -> bytes:
    """Payload of an EPHEMERIS bundle: node ``name``'s elements at their epoch."""
    raw = name.encode()
    return _EPH.pack(*el.as_array().tolist(), el.epoch_ns) + raw


def decode_ephemeris(payload: bytes) -> tuple[str, OrbitElements]:
    """``(name, elements)`` from an EPHEMERIS payload (WireError on bad octets)."""
    if len(payload) <= _EPH.size:
        raise WireError("ephemeris payload too short", "ephemeris")
    a, e, i, raan, argp, m, epoch = _EPH.unpack_from(payload, 0)
    try:
        return payload[_EPH.size :].decode(), OrbitElements(a, e, i, raan, argp, m, epoch)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"bad ephemeris: {exc}", "ephemeris") from None


def pointing_error_estimate_rad(reading: LaserReading, cfg: Config) -> float:
    """Pointing error (rad) from the received power's shortfall below the Gaussian-beam
    budget at the reading's range: ``theta_e = theta0 sqrt(L_dB / (20 log10 e))``.
    NaN without a valid reading; a terminal reporting ``pointing_error_rad`` is used as is."""
    measured = getattr(reading, "pointing_error_rad", None)
    if isinstance(measured, float):
        return measured
    if not reading.valid or not math.isfinite(reading.rx_power_dbm) or not reading.range_m > 0:
        return math.nan
    p0 = received_power_dbm(cfg.tx_power_w, reading.range_m, wavelength_m=cfg.wavelength_m,
                            tx_aperture_m=cfg.aperture_m, rx_aperture_m=cfg.aperture_m)
    loss_db = max(0.0, p0 - reading.rx_power_dbm)
    th0 = beam_divergence_rad(cfg.wavelength_m, cfg.aperture_m)
    return th0 * math.sqrt(loss_db / (2.0 * _DB_PER_NEPER2))


_PEER = Arg("peer", FieldType.U8, 0, 254, "", "peer index in [[isl.peers]] order")


class IslComponent(Component):
    """Laser link manager and bundle node of one spacecraft."""

    DECLARATION = Declaration(
        commands=(
            CommandDef(1, "enable_peer", (_PEER,), "let the terminal serve a peer"),
            CommandDef(2, "disable_peer", (_PEER,), "never serve a peer (drops its link)"),
            CommandDef(3, "set_priority",
                       (_PEER, Arg("priority", FieldType.U8, 1, 255, "", "higher wins")),
                       "terminal-time priority of a peer"),
            CommandDef(4, "set_elements", (
                _PEER,
                Arg("altitude_km", FieldType.F64, 100.0, 50000.0, "km"),
                Arg("eccentricity", FieldType.F64, 0.0, 0.49, ""),
                Arg("inclination_deg", FieldType.F64, 0.0, 180.0, "deg"),
                Arg("raan_deg", FieldType.F64, -360.0, 360.0, "deg"),
                Arg("arg_perigee_deg", FieldType.F64, -360.0, 360.0, "deg"),
                Arg("arg_lat_deg", FieldType.F64, -360.0, 360.0, "deg"),
                Arg("epoch_s", FieldType.F64, 0.0, 1e9, "s", "onboard time of the elements"),
            ), "catalogue upload: a peer's orbit (replans)"),
            CommandDef(5, "replan", (), "plan contacts now"),
        ),
        telemetry=(
            TlmField("state", FieldType.U8, "", "LinkState"),
            TlmField("time_in_state_s", FieldType.F64, "s", "time in the current state"),
            TlmField("peer", FieldType.I16, "", "peer index served (-1 none)", -1),
            TlmField("attempts", FieldType.U32, "", "acquisitions started"),
            TlmField("acquisitions", FieldType.U32, "", "acquisitions that reached COMM"),
            TlmField("acq_failures", FieldType.U32, "", "acquisitions given up"),
            TlmField("link_losses", FieldType.U32, "", "links lost while up"),
            TlmField("mean_acquisition_s", FieldType.F64, "s", "mean acquisition time"),
            TlmField("rx_power_dbm", FieldType.F64, "dBm", "received optical power", -math.inf),
            TlmField("rx_valid", FieldType.BOOL, "", "the detector has a measurement"),
            TlmField("pointing_error_urad", FieldType.F64, "urad",
                     "pointing error (0 without a measurement)"),
            TlmField("link_rate_bps", FieldType.F64, "bit/s", "link data rate"),
            TlmField("range_km", FieldType.F64, "km", "range to the peer (0 without one)"),
            TlmField("frames_sent", FieldType.U32, "", "link frames sent"),
            TlmField("frames_received", FieldType.U32, "", "link frames received"),
            TlmField("frames_retransmitted", FieldType.U32, "", "ARQ retransmissions"),
            TlmField("frames_in_error", FieldType.U32, "", "frames failing CRC-32C"),
            TlmField("bundles_stored", FieldType.U32, "", "bundles held"),
            TlmField("store_bytes", FieldType.U64, "B", "octets held"),
            TlmField("bundles_delivered", FieldType.U32, "", "bundles delivered here"),
            TlmField("bundles_forwarded", FieldType.U32, "", "custody handed on"),
            TlmField("bundles_expired", FieldType.U32, "", "deleted at end of lifetime"),
            TlmField("bundles_lost", FieldType.U32, "", "own bundles reported lost"),
            TlmField("storage_drops", FieldType.U32, "", "bundles dropped for storage"),
            TlmField("contacts_planned", FieldType.U16, "", "contacts in the plan"),
        ),
        events=(
            EventDef(1, "link_up", Severity.INFO, "link up with {peer} after {acq_s:.1f} s"),
            EventDef(2, "link_lost", Severity.LOW, "link with {peer} lost"),
            EventDef(3, "acq_failed", Severity.LOW, "acquisition of {peer} given up"),
            EventDef(4, "bundles_expired", Severity.LOW, "{n} bundle(s) expired here"),
            EventDef(5, "bundles_lost", Severity.MEDIUM, "{n} own bundle(s) reported lost"),
            EventDef(6, "storage_drop", Severity.MEDIUM, "{n} bundle(s) dropped: store full"),
            EventDef(7, "terminal_error", Severity.MEDIUM, "terminal unreadable: {error}"),
        ),
    )

    def __init__(self, component_id: int, cfg: Config, terminal: LaserTerminal,
                 session: int, gnss: GnssReceiver | None = None) -> None:
        super().__init__("isl", component_id)
        self.cfg = cfg
        self.terminal = terminal
        self.transport = TerminalTransport(terminal)
        self.peer_names = tuple(p.name for p in cfg.peers)
        self.network = IslNetwork(
            cfg.node, self.peer_names,
            storage_bytes=cfg.storage_bytes, window=cfg.window,
            rto_ns=round(cfg.rto_s * NS_PER_S),
            custody_timeout_ns=round(cfg.custody_timeout_s * NS_PER_S),
            max_frames_per_step=cfg.max_frames_per_step, max_hops=cfg.max_hops,
            report_lifetime_ns=round(cfg.report_lifetime_s * NS_PER_S), session=session,
        )
        self.network.add_transport(self.transport)
        self.pat = PatManager(
            terminal,
            [PatPeer(p.name, p.priority, p.enabled) for p in cfg.peers if p.link],
            acq_timeout_ns=round(cfg.acq_timeout_s * NS_PER_S),
            retry_backoff_ns=round(cfg.retry_backoff_s * NS_PER_S),
            min_dwell_ns=round(cfg.min_dwell_s * NS_PER_S),
            max_dwell_ns=round(cfg.max_dwell_s * NS_PER_S),
        )
        self.gnss = gnss
        #: where the own orbit in the catalogue came from: "config", "gnss" or "upload"
        self.own_source = "config"
        self.own_fixes = 0  #: GNSS fixes taken into the own orbit
        self.own_fix_failures = 0  #: fixes refused (no 3-D fix, unreadable, implausible)
        self._last_fix_ns: int | None = None
        self.catalogue: dict[str, OrbitElements] = {cfg.node: cfg.own_elements()}
        for p in cfg.peers:
            el = p.elements()
            if el is not None:
                self.catalogue[p.name] = el
        self._plan_due = True
        self._last_plan_ns = 0
        self._last_ns: int | None = None
        self._prev_state = LinkState.IDLE
        self._seen = {"failures": 0, "losses": 0, "expired": 0, "lost": 0, "drops": 0}
        self.link_up_ns = 0  #: onboard time spent LINKED (ns)
        self.terminal_errors = 0

    # -- commands -------------------------------------------------------------------------
    def _check_peer(self, peer: int) -> None:
        if peer >= len(self.peer_names):
            raise CommandError(
                f"isl: peer index {peer} outside 0..{len(self.peer_names) - 1}",
                FailureCode.ILLEGAL_ARGUMENT,
            )

    def _pat_peer(self, peer: int) -> PatPeer:
        name = self.peer_names[peer]
        slot = self.pat.peers.get(name)
        if slot is None:
            raise CommandError(f"isl: {name!r} is not a link peer (link = false)",
                               FailureCode.NOT_ALLOWED)
        return slot

    def check_enable_peer(self, peer: int) -> None:
        """Refuse an unknown peer index or a routing-only peer."""
        self._check_peer(peer)
        self._pat_peer(peer)

    check_disable_peer = check_enable_peer

    def check_set_priority(self, peer: int, priority: int) -> None:
        """Refuse an unknown peer index or a routing-only peer."""
        self.check_enable_peer(peer)

    def check_set_elements(self, peer: int, **_: float) -> None:
        """Refuse an unknown peer index."""
        self._check_peer(peer)

    def cmd_enable_peer(self, peer: int) -> None:
        """Let the terminal serve peer ``peer`` (index)."""
        self._check_peer(peer)
        self._pat_peer(peer).enabled = True

    def cmd_disable_peer(self, peer: int) -> None:
        """Stop serving peer ``peer``; a link with it is dropped at the next step."""
        self._check_peer(peer)
        self._pat_peer(peer).enabled = False

    def cmd_set_priority(self, peer: int, priority: int) -> None:
        """Set the terminal-time priority of peer ``peer`` (1..255)."""
        self._check_peer(peer)
        self._pat_peer(peer).priority = priority

    def cmd_set_elements(self, peer: int, altitude_km: float, eccentricity: float,
                         inclination_deg: float, raan_deg: float, arg_perigee_deg: float,
                         arg_lat_deg: float, epoch_s: float) -> None:
        """Catalogue upload of peer ``peer``'s orbit at onboard time ``epoch_s``."""
        self._check_peer(peer)
        el = _elements(altitude_km, eccentricity, inclination_deg, raan_deg, arg_perigee_deg,
                       arg_lat_deg)
        self.catalogue[self.peer_names[peer]] = OrbitElements(
            el.a_m, el.e, el.i_rad, el.raan_rad, el.argp_rad, el.mean_anomaly_rad,
            round(epoch_s * NS_PER_S))
        self._plan_due = True

    def cmd_replan(self) -> None:
        """Plan contacts at the next step."""
        self._plan_due = True

    # -- step -----------------------------------------------------------------------------
    def _own_fix(self, t_ns: int) -> None:
        """The own orbit from a GNSS fix, at most every ``own_fix_s`` (see the module doc)."""
        if self.gnss is None:
            return
        if self._last_fix_ns is not None and t_ns - self._last_fix_ns < self.cfg.own_fix_s * NS_PER_S:
            return
        self._last_fix_ns = t_ns
        try:
            fix = self.gnss.read()
        except HalError:
            self.own_fix_failures += 1
            return
        if not fix.valid:
            self.own_fix_failures += 1
            return
        r, v = ecef_to_eci(fix.position_ecef_m, fix.velocity_ecef_m_s, fix.utc_ns)
        try:
            el = OrbitElements.from_state(r.tolist(), v.tolist(), fix.t_ns)
        except ValueError:
            el = None
        if el is None or not (_MIN_A_M <= el.a_m <= _MAX_A_M and el.e < _MAX_E):
            self.own_fix_failures += 1
            return
        self.catalogue[self.cfg.node] = el
        self.own_source = "gnss"
        self.own_fixes += 1

    def _replan(self, t_ns: int) -> None:
        cfg = self.cfg
        self._own_fix(t_ns)
        if len(self.catalogue) >= 2:
            contacts = plan_contacts(
                self.catalogue, t_ns, round(cfg.plan_horizon_s * NS_PER_S),
                step_ns=round(cfg.plan_step_s * NS_PER_S),
                grazing_height_m=cfg.grazing_height_km * 1e3,
                max_range_m=cfg.max_range_km * 1e3, rate_bps=cfg.plan_rate_bps,
            )
        else:
            contacts = []
        if cfg.link_schedule:
            contacts = self._within_schedule(contacts)
        self.network.set_plan(contacts)
        self._plan_due, self._last_plan_ns = False, t_ns

    def _within_schedule(self, contacts: list[Contact]) -> list[Contact]:
        """``contacts`` with this node's own cut to the slots ``link_schedule`` gives their
        peer (the terminal serves no one else then; contacts between other nodes stay)."""
        me, slot_ns, sched = self.cfg.node, self.cfg.schedule_slot_ns, self.cfg.link_schedule
        out: list[Contact] = []
        for c in contacts:
            if me not in (c.a, c.b):
                out.append(c)
                continue
            peer = c.other(me)
            for k in range(c.start_ns // slot_ns, -(-c.end_ns // slot_ns)):
                if sched[k % len(sched)] != peer:
                    continue
                start, end = max(c.start_ns, k * slot_ns), min(c.end_ns, (k + 1) * slot_ns)
                if start < end:
                    out.append(dataclasses.replace(c, start_ns=start, end_ns=end))
        return out

    def _available(self) -> set[str]:
        if self.cfg.node not in self.catalogue:
            return set(self.pat.peers)
        planned = self.network.in_contact()
        return {n for n in self.pat.peers if n in planned or n not in self.catalogue}

    def step(self, t_ns: int) -> None:
        """One cycle at onboard time ``t_ns`` (see the module doc)."""
        dt_ns = t_ns - self._last_ns if self._last_ns is not None else 0
        self._last_ns = t_ns
        try:
            reading: LaserReading | None = self.terminal.read()
        except HalError as exc:
            reading = None
            self.terminal_errors += 1
            if self.terminal_errors == 1 or self.pat.state is not LinkState.FAULT:
                self.emit("terminal_error", error=str(exc))
        self.transport.refresh(reading)
        if self._plan_due or t_ns - self._last_plan_ns >= self.cfg.replan_s * NS_PER_S:
            self.network.now_ns = t_ns
            self._replan(t_ns)
        self.network.now_ns = t_ns
        scheduled = self.cfg.scheduled_peer(t_ns)  # with a schedule, demand decides nothing
        demand = self.network.demand() if scheduled is None else ()
        self.pat.step(t_ns, reading, self._available(), demand, scheduled)
        if self.transport.peer() not in (None, self.pat.peer):
            # the terminal was just turned away from the peer it reads COMM with: that link is
            # gone for this step (no frames into a terminal that now points elsewhere)
            self.transport.refresh(None)
        if self._prev_state is LinkState.LINKED:
            self.link_up_ns += dt_ns
        self._on_transitions(t_ns)
        self.network.step(t_ns, dt_ns)
        self._take_ephemerides()
        self._housekeeping(t_ns, reading)

    def _on_transitions(self, t_ns: int) -> None:
        pat, seen = self.pat, self._seen
        if pat.state is LinkState.LINKED and self._prev_state is not LinkState.LINKED:
            self.emit("link_up", peer=pat.peer, acq_s=(t_ns - pat.attempt_start_ns) / NS_PER_S)
            if self.cfg.exchange_ephemeris:
                own = self.catalogue.get(self.cfg.node)
                if own is not None:
                    # a full store counts the drop; the peer keeps its older estimate
                    with contextlib.suppress(StorageFullError):
                        self.network.send(pat.peer, encode_ephemeris(self.cfg.node, own),
                                          priority=2, kind=BundleKind.EPHEMERIS,
                                          lifetime_ns=round(self.cfg.ephemeris_lifetime_s
                                                            * NS_PER_S))
        if pat.losses > seen["losses"]:
            self.emit("link_lost", peer=pat.peer)
        if pat.failures > seen["failures"]:
            self.emit("acq_failed", peer=pat.peer or "peer")
        seen["losses"], seen["failures"] = pat.losses, pat.failures
        self._prev_state = pat.state

    def _take_ephemerides(self) -> None:
        while (d := self.network.receive(BundleKind.EPHEMERIS)) is not None:
            try:
                name, el = decode_ephemeris(d.payload)
            except WireError:
                continue
            if name != self.cfg.node and name in self.peer_names:
                old = self.catalogue.get(name)
                if old is None or (el.epoch_ns >= old.epoch_ns and el != old):
                    self.catalogue[name] = el
                    self._plan_due = True  # the same elements again change no contact

    def _housekeeping(self, t_ns: int, reading: LaserReading | None) -> None:
        hk, pat, net = self.hk, self.pat, self.network
        c, lc = net.counters, net.link_counters()
        hk.state = int(pat.state)
        hk.time_in_state_s = pat.time_in_state_s(t_ns)
        hk.peer = self.peer_names.index(pat.peer) if pat.peer in self.peer_names else -1
        hk.attempts, hk.acquisitions = pat.attempts, pat.acquisitions
        hk.acq_failures, hk.link_losses = pat.failures, pat.losses
        hk.mean_acquisition_s = pat.mean_acquisition_s
        perr = math.nan
        if reading is not None:
            perr = pointing_error_estimate_rad(reading, self.cfg)
        # telemetry carries no NaN: 0 plus a validity flag
        hk.rx_valid = reading is not None and reading.valid
        hk.rx_power_dbm = reading.rx_power_dbm if reading is not None else -math.inf
        hk.pointing_error_urad = perr * 1e6 if math.isfinite(perr) else 0.0
        rng = reading.range_m if reading is not None else math.nan
        hk.range_km = rng / 1e3 if math.isfinite(rng) else 0.0
        hk.link_rate_bps = self.transport.rate_bps()
        hk.frames_sent, hk.frames_received = lc.frames_sent, lc.frames_received
        hk.frames_retransmitted = lc.frames_retransmitted
        hk.frames_in_error = c.frames_in_error
        hk.bundles_stored, hk.store_bytes = len(net.store), net.store.used_bytes
        hk.bundles_delivered, hk.bundles_forwarded = c.bundles_delivered, c.bundles_forwarded
        hk.bundles_expired, hk.bundles_lost = c.bundles_expired, c.bundles_lost_reported
        hk.storage_drops = sum(c.dropped_by_priority)
        hk.contacts_planned = len(net.plan)
        for key, now, event in (("expired", c.bundles_expired, "bundles_expired"),
                                ("lost", c.bundles_lost_reported, "bundles_lost"),
                                ("drops", hk.storage_drops, "storage_drop")):
            if now > self._seen[key]:
                self.emit(event, n=now - self._seen[key])
                self._seen[key] = now
        next_s = min((net.next_contact_s(p) for p, s in pat.peers.items() if s.enabled),
                     default=math.inf)
        self.bus.publish(LinkStatus(
            t_ns, int(pat.state), pat.peer, self.transport.peer() is not None,
            hk.time_in_state_s, hk.link_rate_bps,
            reading.rx_power_dbm if reading is not None else -math.inf, perr,
            reading.range_m if reading is not None else math.nan,
            len(net.store), net.store.used_bytes, next_s,
        ))
