"""Simulated laser terminal: Gaussian-beam link budget, a timed PAT sequence against the world's
neighbours, and frames carried between terminals of different in-process nodes.

Frames go through an :class:`OpticalChannel`: terminals attach under their node's name (the
backend's ``node_name``); a frame sent by node A's terminal to peer B is delivered to the
terminal of node B whose own PAT is in COMM with peer A. Delivery is immediate (no light time
or rate limit yet); a frame to a peer nobody simulates, or that is not in COMM with us, is
counted in ``frames_dropped``.
"""

from __future__ import annotations

import collections
import math
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar

from hal._common import Family, require_range
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
from native.errors import ConfigError, DeviceCommandError, DeviceFaultError

__all__ = ["DEFAULT_OPTICAL_CHANNEL", "OpticalChannel", "SimLaserTerminal"]

_TRACKING = (PatState.COARSE_TRACK, PatState.FINE_TRACK, PatState.COMM)


class OpticalChannel:
    """In-process medium joining simulated laser terminals of different nodes by node name.

    Terminals are held weakly, so a forgotten backend does not keep receiving frames.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, weakref.WeakSet[SimLaserTerminal]] = {}

    def attach(self, node: str, terminal: SimLaserTerminal) -> None:
        """Make ``terminal`` reachable as a terminal of node ``node``."""
        self._nodes.setdefault(node, weakref.WeakSet()).add(terminal)

    def detach(self, node: str, terminal: SimLaserTerminal) -> None:
        """Remove ``terminal`` (no-op if absent)."""
        ts = self._nodes.get(node)
        if ts is not None:
            ts.discard(terminal)

    def deliver(self, src_node: str, dst_node: str, frame: bytes) -> bool:
        """Hand ``frame`` to the terminal of ``dst_node`` in COMM with ``src_node``.

        Returns False when no such terminal listens.
        """
        for term in list(self._nodes.get(dst_node, ())):
            if term._listens_to(src_node):
                term._enqueue(frame)
                return True
        return False


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
        opts.finish()

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

    def _range(self) -> float:
        return float(self.world.neighbours.range_m(self._peer)) if self._peer else math.nan

    def _nominal_rate(self) -> float:
        """Link rate at the current range with the fine-tracking pointing error."""
        if self._state is not PatState.COMM:
            return 0.0
        return self._rate_for(self._power_dbm(self._range(), self._fine_err))

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
        nb = self.world.neighbours
        return bool(nb.line_of_sight(self._peer)) and float(nb.range_m(self._peer)) <= (
            self._max_range
        )

    def _enter_scan(self, t0_ns: int) -> PatState:
        """Start a spiral scan at ``t0_ns``; it finds the beacon after a random time."""
        self._scan_ns = round(float(self._rng.uniform(0.0, self._scan_max_s)) * 1e9)
        self._phase_end_ns = t0_ns + self._scan_ns
        return PatState.SCANNING

    def _post_step(self, t_ns: int) -> None:
        if not self.powered:
            if self._state is not PatState.FAULT:
                self._state, self._peer = PatState.IDLE, ""
            return
        if not self._peer or self._state in (PatState.IDLE, PatState.FAULT):
            return
        visible = self._visible() and not self._lock_fault
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
                break
        if st is not PatState.COMM and t_ns - self._acq_start_ns > self._timeout_ns:
            st, self._peer = PatState.IDLE, ""
            self._acq_failures += 1
        self._state = st

    # --------------------------------------------------------------------------- frames
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
        if self._nominal_rate() <= 0.0:
            raise DeviceCommandError(f"{self._name}: received power too low for any rate")
        self._sent += 1
        if not self._channel.deliver(self._node, self._peer, data):
            self._dropped += 1

    def receive(self) -> bytes | None:
        self._require_power()
        return self._rxq.popleft() if self._rxq else None

    def read(self) -> LaserReading:
        self._require_power()
        rng_m = self._range()
        if self._state in _TRACKING:
            sigma = self._coarse_err if self._state is PatState.COARSE_TRACK else self._fine_err
            err = float(self._rng.rayleigh(sigma)) if sigma > 0 else 0.0
            p_dbm, valid = self._power_dbm(rng_m, err), True
        else:
            p_dbm, valid = -math.inf, False
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
        )

    # ---------------------------------------------------------------------------- faults
    def apply_fault(self, kind: str, channel: str | None, params: Mapping[str, Any]) -> None:
        if kind != "laser_loss_of_lock":
            super().apply_fault(kind, channel, params)
            return
        self._lock_fault = True
        if self._state in _TRACKING:
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
