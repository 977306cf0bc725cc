"""Laser (free-space optical) terminal interface and the Gaussian-beam link budget.

The pointing, acquisition and tracking (PAT) sequence of a terminal:
IDLE -> POINTING (open loop from ephemeris) -> SCANNING (spiral over the uncertainty cone) ->
COARSE_TRACK (gimbal) -> FINE_TRACK (fast steering mirror) -> COMM. Losing the beacon while
tracking drops back to SCANNING; an acquisition that does not reach COMM within the terminal's
timeout (100 s, SDA optical terminal standard) returns to IDLE and counts a failure.

The link budget (REFERENCE.md, "Laser terminals"), for a diffraction-limited Gaussian beam::

    theta0 = 2 lambda / (pi D_t)          (far-field 1/e^2 half-angle divergence, rad)
    G_t    = 8 / theta0^2                 G_r = (pi D_r / lambda)^2
    L_p    = exp(-2 theta_e^2 / theta0^2) (pointing loss at pointing error theta_e)
    P_r    = P_t eta_t eta_r G_t G_r (lambda / (4 pi R))^2 L_p

Example: 1550 nm, 80 mm, 1 W, 5,000 km -> theta0 = 12.3 urad, P_r = -30.8 dBm.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hal._common import Device

__all__ = [
    "PLANCK_J_S",
    "SPEED_OF_LIGHT_M_S",
    "LaserReading",
    "LaserTerminal",
    "PatState",
    "beam_divergence_rad",
    "dbm_to_w",
    "pointing_loss_db",
    "received_power_dbm",
    "received_power_w",
    "w_to_dbm",
]

SPEED_OF_LIGHT_M_S = 299_792_458.0
PLANCK_J_S = 6.62607015e-34


def w_to_dbm(power_w: float) -> float:
    """Power in dBm (dB relative to 1 mW); -inf for zero power."""
    if power_w <= 0.0:
        return -math.inf
    return 10.0 * math.log10(power_w / 1e-3)


def dbm_to_w(power_dbm: float) -> float:
    """Power in W from dBm."""
    return float(1e-3 * 10.0 ** (power_dbm / 10.0))


def beam_divergence_rad(wavelength_m: float, aperture_m: float) -> float:
    """Far-field divergence half-angle ``theta0 = 2 lambda / (pi D)`` (rad)."""
    return 2.0 * wavelength_m / (math.pi * aperture_m)


def pointing_loss_db(pointing_error_rad: float, wavelength_m: float, aperture_m: float) -> float:
    """Pointing loss (dB, >= 0) ``-10 log10 exp(-2 theta_e^2 / theta0^2)``."""
    th0 = beam_divergence_rad(wavelength_m, aperture_m)
    return 10.0 * math.log10(math.e) * 2.0 * (pointing_error_rad / th0) ** 2


def received_power_w(
    tx_power_w: float,
    range_m: float,
    *,
    wavelength_m: float = 1550e-9,
    tx_aperture_m: float = 0.08,
    rx_aperture_m: float = 0.08,
    eta_tx: float = 1.0,
    eta_rx: float = 1.0,
    pointing_error_rad: float = 0.0,
) -> float:
    """Received optical power (W) of a Gaussian-beam link (see the module docstring).

    ``eta_tx``/``eta_rx`` are the optical efficiencies of the transmit and receive paths
    (1.0 reproduces the REFERENCE.md example).
    """
    if range_m <= 0.0:
        raise ValueError(f"range_m must be positive, got {range_m!r}")
    th0 = beam_divergence_rad(wavelength_m, tx_aperture_m)
    g_t = 8.0 / th0**2
    g_r = (math.pi * rx_aperture_m / wavelength_m) ** 2
    free_space = (wavelength_m / (4.0 * math.pi * range_m)) ** 2
    l_p = math.exp(-2.0 * pointing_error_rad**2 / th0**2)
    return tx_power_w * eta_tx * eta_rx * g_t * g_r * free_space * l_p


def received_power_dbm(
    tx_power_w: float,
    range_m: float,
    *,
    wavelength_m: float = 1550e-9,
    tx_aperture_m: float = 0.08,
    rx_aperture_m: float = 0.08,
    eta_tx: float = 1.0,
    eta_rx: float = 1.0,
    pointing_error_rad: float = 0.0,
) -> float:
    """Received optical power in dBm; see :func:`received_power_w`."""
    return w_to_dbm(
        received_power_w(
            tx_power_w,
            range_m,
            wavelength_m=wavelength_m,
            tx_aperture_m=tx_aperture_m,
            rx_aperture_m=rx_aperture_m,
            eta_tx=eta_tx,
            eta_rx=eta_rx,
            pointing_error_rad=pointing_error_rad,
        )
    )


@enum.unique
class PatState(enum.IntEnum):
    """Pointing, acquisition and tracking state of a laser terminal."""

    IDLE = 0  #: not pointing at anything
    POINTING = 1  #: open-loop pointing from ephemeris (or a commanded direction)
    SCANNING = 2  #: spiral scan of the uncertainty cone for the peer's beacon
    COARSE_TRACK = 3  #: beacon found, gimbal closed loop
    FINE_TRACK = 4  #: fast-steering-mirror closed loop
    COMM = 5  #: link up, frames flow
    FAULT = 6  #: terminal hardware fault


@dataclass(frozen=True, slots=True)
class LaserReading:
    """Laser terminal telemetry.

    ``rx_power_dbm`` is -inf when no light from the peer reaches the detector (states IDLE,
    POINTING, SCANNING); ``valid`` is True when the detector has a measurement (tracking or
    COMM). ``link_rate_bps`` is 0 outside COMM. The fields after ``acq_failures`` have
    defaults (added by issue 15) so that older producers still build a reading.
    """

    t_ns: int
    valid: bool
    state: PatState
    peer: str  #: name of the peer being acquired/tracked ("" when none)
    rx_power_dbm: float  #: received optical power, dBm
    link_rate_bps: float  #: negotiated data rate, bit/s
    range_m: float  #: range to the peer, m (NaN when no peer)
    frames_sent: int
    frames_received: int
    frames_dropped: int  #: frames lost (receive queue full, peer not listening)
    acq_failures: int  #: acquisitions that timed out
    frames_in_error: int = 0  #: received frames discarded by the receiver's check (bit errors)
    lock_losses: int = 0  #: times tracking or COMM was lost (geometry, rate, gimbal, fault)
    light_time_s: float = math.nan  #: one-way light time to the peer, s (NaN when no peer)
    pointing_error_rad: float = math.nan  #: pointing error behind ``rx_power_dbm``, rad


@runtime_checkable
class LaserTerminal(Device, Protocol):
    """An optical inter-satellite link terminal (family ``laser_terminal``)."""

    @property
    def mtu_bytes(self) -> int:
        """Largest frame accepted by :meth:`send` (bytes)."""
        ...

    def acquire(self, peer: str) -> None:
        """Start PAT towards ``peer`` (a neighbour name). Unknown peer -> DeviceCommandError."""
        ...

    def point(self, az_rad: float, el_rad: float) -> None:
        """Open-loop point the terminal at body-frame azimuth/elevation (rad); state
        POINTING with no peer. Out of the gimbal range -> DeviceCommandError."""
        ...

    def stop(self) -> None:
        """Abandon the link; state IDLE."""
        ...

    def send(self, frame: bytes) -> None:
        """Transmit one frame to the peer. Only in COMM (else DeviceCommandError); frames
        longer than ``mtu_bytes`` or empty -> DeviceCommandError."""
        ...

    def receive(self) -> bytes | None:
        """Next received frame, or None when the receive queue is empty."""
        ...

    def read(self) -> LaserReading:
        """Terminal telemetry."""
        ...
