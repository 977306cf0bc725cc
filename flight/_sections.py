"""The node-level configuration sections as schema dataclasses (see :mod:`native.schema`).

``[node]``, ``[executive]``, ``[tmtc]``, ``[params]``, ``[hal]`` and ``[report]`` belong to the
node itself; each application's section is its package's ``Config`` (parsed by its
``parse_config``), ``[world]`` and ``[devices]`` belong to the HAL backend. Relations between
sections (rates that must divide the base rate, the watchdog device) are checked by
:func:`flight.config.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from native.errors import ConfigError
from native.schema import setting

__all__ = [
    "MAX_BASE_HZ",
    "ExecutiveSection",
    "HalSection",
    "NodeSection",
    "ParamsSection",
    "ReportSection",
    "TmtcSection",
]

#: The highest base tick a flight computer runs (Hz): 1 ms per tick for every component.
MAX_BASE_HZ = 1000.0

#: Largest CCSDS space packet (octets): 6-octet primary header + 65536 octets of data field.
_CCSDS_MAX_PACKET = 6 + 0x10000


@dataclass(frozen=True, slots=True)
class NodeSection:
    """``[node]``: who this spacecraft is."""

    name: str = setting("satnode-1", min_len=1, max_len=64, doc="node name (reports, dictionary)")
    apid: int = setting(100, lo=0, hi=2046, doc="APID of the node's TM and TC (2047 is idle)")
    seed: int = setting(1, lo=0, hi=2**63 - 1, doc="master seed of the simulated world")


@dataclass(frozen=True, slots=True)
class ExecutiveSection:
    """``[executive]``: the base tick, health pings, restarts and the watchdog."""

    base_hz: float = setting(
        10.0,
        lo=0,
        lo_open=True,
        hi=MAX_BASE_HZ,
        units="Hz",
        doc="base tick; every rate group divides it; its period is a whole number of ns",
    )
    ping_period_s: float = setting(
        1.0, lo=0, lo_open=True, hi=3600, units="s", doc="health ping period (>= one tick)"
    )
    ping_misses_to_escalate: int = setting(
        3, lo=1, hi=1000, doc="missed pings before a component is restarted"
    )
    max_restarts: int = setting(2, lo=0, hi=1000, doc="restarts before a component is disabled")
    watchdog: str = setting(
        "wdog", doc="HAL watchdog device kicked while every component is healthy ('' = none)"
    )
    watchdog_timeout_s: float = setting(
        5.0, lo=0, lo_open=True, hi=3600, units="s", doc="watchdog timeout (> one tick)"
    )

    def validate(self) -> None:
        """The period is a whole number of ns; pings and the watchdog span at least a tick."""
        period_ns = 1e9 / self.base_hz
        if abs(period_ns - round(period_ns)) > 1e-6:
            raise ConfigError(
                f"base_hz: {self.base_hz!r} Hz does not give a whole-ns tick period "
                "(use a rate whose period 1e9/base_hz is an integer, e.g. 1, 2, 5, 10, 100)"
            )
        tick_s = 1.0 / self.base_hz
        if self.ping_period_s < tick_s:
            raise ConfigError(
                f"ping_period_s: {self.ping_period_s!r} s is shorter than one tick ({tick_s!r} s)"
            )
        if self.watchdog and self.watchdog_timeout_s <= tick_s:
            raise ConfigError(
                f"watchdog_timeout_s: {self.watchdog_timeout_s!r} s must exceed one tick "
                f"({tick_s!r} s), or the watchdog fires between two kicks"
            )


@dataclass(frozen=True, slots=True)
class TmtcSection:
    """``[tmtc]``: the PUS endpoint and the UDP ground link."""

    time_code: str = setting(
        "cuc", choices=("cuc", "cds"), doc="TM time code: CUC 4+2 or CDS short (with P-field)"
    )
    hk_interval_s: float = setting(
        10.0, lo=0.1, hi=86400, units="s", doc="default periodic housekeeping interval"
    )
    max_packet_len: int = setting(
        4096, lo=1024, hi=_CCSDS_MAX_PACKET, units="octets", doc="largest TM/TC packet"
    )
    ground_link: bool = setting(True, doc="UDP ground link (uplink socket, downlink sender)")
    uplink_host: str = setting("127.0.0.1", min_len=1, doc="address the uplink socket binds")
    uplink_port: int = setting(0, lo=0, hi=65535, doc="uplink UDP port (0: an ephemeral port)")
    downlink: str = setting(
        "", doc="HOST:PORT every TM packet is sent to by UDP ('': no downlink, tm.bin only)"
    )

    def validate(self) -> None:
        """``downlink`` is empty or HOST:PORT with a port in 1..65535."""
        from flight.tmtc import parse_host_port

        if not self.downlink:
            return
        try:
            parse_host_port(self.downlink)
        except ConfigError as exc:
            raise ConfigError(f"downlink: {exc}") from None


@dataclass(frozen=True, slots=True)
class ParamsSection:
    """``[params]``: the persistent parameter store."""

    file: str = setting(
        "params.bin", min_len=1, max_len=255, doc="parameter file, relative to the output folder"
    )

    def validate(self) -> None:
        """A plain relative file name: the store must stay inside the output folder."""
        parts = self.file.replace("\\", "/").split("/")
        if self.file.startswith(("/", "\\")) or ".." in parts or "\0" in self.file:
            raise ConfigError(
                f"file: {self.file!r} must be a relative path inside the output folder"
            )


@dataclass(frozen=True, slots=True)
class HalSection:
    """``[hal]``: the HAL backend (by registry name) and the simulated plant's rate."""

    backend: str = setting("sim", min_len=1, doc="HAL backend name (hal.registry)")
    plant_rate_hz: float = setting(
        1.0,
        lo=0,
        lo_open=True,
        hi=MAX_BASE_HZ,
        units="Hz",
        doc="a stepped plant advances in lock-step at this rate (<= [executive] base_hz)",
    )
    rig: str = setting("", max_len=255, doc="hil backend: the rig's HOST:PORT")
    timeout_s: float = setting(
        1.0, lo=0, lo_open=True, hi=600, units="s", doc="hil backend: device call timeout"
    )
    root: str = setting(
        "",
        max_len=4096,
        doc="linux backend: the folder standing for / (sysfs, /dev); '' = the real root",
    )

    def validate(self) -> None:
        """The backend is registered (its module is imported only when opened); ``rig``
        goes with the ``hil`` backend, which needs it."""
        from hal.registry import known_backends

        known = known_backends()
        if self.backend not in known:
            raise ConfigError(
                f"backend: {self.backend!r} is not a registered HAL backend "
                f"(known: {', '.join(known)})"
            )
        if self.backend == "hil" and not self.rig:
            raise ConfigError('rig: the hil backend needs rig = "HOST:PORT"')
        if self.backend != "hil" and self.rig:
            raise ConfigError(f"rig: only the hil backend talks to a rig (backend is {self.backend!r})")
        if self.backend != "linux" and self.root:
            raise ConfigError(
                f"root: only the linux backend reads device files (backend is {self.backend!r})"
            )


@dataclass(frozen=True, slots=True)
class ReportSection:
    """``[report]``: the ground-side recorder of the run's time series."""

    enabled: bool = setting(True, doc="record time series and draw the run's plots")
    sample_s: float = setting(
        10.0,
        lo=0,
        lo_open=True,
        hi=86400,
        units="s",
        doc="sampling period (a whole number of ticks)",
    )
