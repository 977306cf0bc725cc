"""The node's composition root: builds a whole node from configuration and runs it.

This is the one place that chooses backends (through :mod:`hal.registry`, by name from the
configuration) and wires applications to the executive, the bus and the ground link. Flight
applications never see a backend class.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from flight.core import (
    NS_PER_S,
    Clock,
    EventLog,
    Executive,
    LoadOutcome,
    MonotonicClock,
    ParamStore,
    SimClock,
    perf_counter_ns,
    seconds_to_ns,
)
from flight.report import TelemetryRecorder, write_plots
from flight.tmtc import CdsFormat, CucFormat, TmtcService, UdpGroundLink, parse_host_port
from flight.tmtc._crc import require_crc_extension
from native.errors import ConfigError

__all__ = ["APPLICATIONS", "Node", "NodeOptions"]

#: Onboard applications in installation order (each installs when its section is configured).
APPLICATIONS: tuple[str, ...] = (
    "environment",
    "power",
    "thermal",
    "fdir",
    "edac",
    "compute",
    "gnc",
    "isl",
)


@dataclass(slots=True)
class NodeOptions:
    """Run-time choices that are not part of the configuration file (CLI flags)."""

    out_dir: Path = Path("satnode-out")
    seed: int | None = None
    realtime: bool = False
    scenario: Path | None = None
    uplink_port: int | None = None
    downlink: str | None = None
    extra_sinks: list[Callable[[bytes], None]] = field(default_factory=list)
    #: Start from the declared parameter defaults (a fresh spacecraft) instead of the
    #: parameter file a previous run left in ``out_dir``. A reboot test sets it False.
    fresh_params: bool = True


class TmArchive:
    """Appends every TM packet to ``tm.bin`` (raw concatenated CCSDS packets)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed by close()
        self.packets = 0
        self.octets = 0

    def __call__(self, packet: bytes) -> None:
        self._fh.write(packet)
        self.packets += 1
        self.octets += len(packet)

    def close(self) -> None:
        """Flush and close the archive."""
        self._fh.close()


def _time_code(name: str) -> CucFormat | CdsFormat:
    if name == "cuc":
        return CucFormat()
    if name == "cds":
        return CdsFormat()
    raise ConfigError(f"[tmtc] time_code must be 'cuc' or 'cds', got {name!r}")


class Node:
    """One spacecraft's flight software plus its devices, built from a configuration dict."""

    def __init__(self, config: dict[str, Any], options: NodeOptions | None = None) -> None:
        require_crc_extension()  # fail loudly before anything runs
        self.config = config
        self.options = opts = options or NodeOptions()
        opts.out_dir.mkdir(parents=True, exist_ok=True)
        node_cfg = config.get("node", {})
        exec_cfg = config.get("executive", {})
        tmtc_cfg = config.get("tmtc", {})
        self.seed = int(opts.seed if opts.seed is not None else node_cfg.get("seed", 1))
        self.clock: Clock = MonotonicClock() if opts.realtime else SimClock()
        self.events = EventLog(self.clock)
        param_path = opts.out_dir / config.get("params", {}).get("file", "params.bin")
        if opts.fresh_params:
            for stale in (param_path, param_path.with_name(param_path.name + ".bak")):
                stale.unlink(missing_ok=True)
        self.params = ParamStore(param_path)
        self.executive = Executive(
            self.clock,
            float(exec_cfg.get("base_hz", 10.0)),
            events=self.events,
            params=self.params,
            ping_period_s=float(exec_cfg.get("ping_period_s", 1.0)),
            ping_misses_to_escalate=int(exec_cfg.get("ping_misses_to_escalate", 3)),
            max_restarts=int(exec_cfg.get("max_restarts", 2)),
        )
        self.link: UdpGroundLink | None = None
        self.backend: Any = None
        self.watchdog: Any = None
        self.resets: list[dict[str, Any]] = []
        self.archive = TmArchive(opts.out_dir / "tm.bin")
        try:
            self._build(config, opts, node_cfg, tmtc_cfg)
        except BaseException:
            self.close()  # release the archive, sockets and backend of a half-built node
            raise
        self.wall_seconds = 0.0
        self._booted = False

    def _build(
        self,
        config: dict[str, Any],
        opts: NodeOptions,
        node_cfg: dict[str, Any],
        tmtc_cfg: dict[str, Any],
    ) -> None:
        if tmtc_cfg.get("ground_link", True) or opts.uplink_port is not None:
            port = (
                opts.uplink_port if opts.uplink_port is not None else tmtc_cfg.get("uplink_port", 0)
            )
            downlink = parse_host_port(opts.downlink or tmtc_cfg.get("downlink", "127.0.0.1:10026"))
            self.link = UdpGroundLink(tmtc_cfg.get("uplink_host", "127.0.0.1"), int(port), downlink)
        sinks: list[Callable[[bytes], None]] = [self.archive, *opts.extra_sinks]
        if self.link is not None:
            sinks.append(self.link.send)
        self.tmtc = TmtcService(
            self.executive,
            int(node_cfg.get("apid", 100)),
            time_code=_time_code(tmtc_cfg.get("time_code", "cuc")),
            hk_interval_s=float(tmtc_cfg.get("hk_interval_s", 10.0)),
            max_packet_len=int(tmtc_cfg.get("max_packet_len", 4096)),
            sinks=sinks,
            poll=self.link.poll if self.link is not None else None,
        )
        self._open_hal()
        self.apps: dict[str, Any] = {}
        self._install_apps()
        self.param_load = self.params.load()
        if self.param_load.outcome in (LoadOutcome.BACKUP, LoadOutcome.DEFAULTS):
            self.executive.monitor.emit(
                "params_fallback",
                source=self.param_load.outcome.value,
                problems="; ".join(self.param_load.problems),
            )

    def _boot_report(self) -> None:
        """Boot telemetry: the native kernel backend in use, as an event (TM[5,1])."""
        from native.backend import backend_report, selected_backend

        self.executive.start()  # init counts the boot (fdir) and loads compiled kernels
        self._arm_watchdog()
        report = backend_report(strict=False)
        variants = sorted({v for v in report.values()})
        fdir = self.apps.get("fdir")
        count = fdir.manager.hk.boot_count if fdir is not None else 0
        self.executive.monitor.emit(
            "boot", count=count, native=selected_backend(), kernels=",".join(variants)
        )

    def _open_hal(self) -> None:
        """Open the configured HAL backend (by name, through the registry) and its devices."""
        hal_cfg = self.config.get("hal")
        if not hal_cfg:
            return
        from hal.registry import open_from_config

        table: dict[str, Any] = dict(hal_cfg)
        plant_rate_hz = float(table.pop("plant_rate_hz", 1.0))
        if plant_rate_hz <= 0:
            raise ConfigError("[hal] plant_rate_hz must be > 0")
        table["seed"] = self.seed
        if "world" in self.config:
            table.setdefault("world", self.config["world"])
        if "devices" in self.config:
            table.setdefault("devices", self.config["devices"])
        if self.options.scenario is not None:
            table["scenario"] = str(self.options.scenario)
        self.backend = open_from_config(table)
        wd_name = self.config.get("executive", {}).get("watchdog")
        if wd_name:
            from hal import Watchdog
            from hal.registry import get_device

            self.watchdog = get_device(self.backend, wd_name, Watchdog)
            self.executive.watchdog = self.watchdog
        advance = getattr(self.backend, "advance", None)
        if callable(advance):
            # A simulated plant runs in lock-step with the executive: before the components
            # of a tick run, the world is brought to the tick's time (at the plant rate),
            # in simulated time and in real time alike.
            period_ns = round(NS_PER_S / plant_rate_hz)
            backend = self.backend

            def sync_plant(t_ns: int) -> None:
                lag = t_ns - backend.t_ns
                if lag >= period_ns:
                    advance(lag)

            self.executive.add_tick_hook(sync_plant)

    def _install_apps(self) -> None:
        """Install the onboard applications whose configuration section is present.

        Each application package ``flight.<name>`` exposes ``install(node, section) -> app``;
        the app adds its components to the executive and its services to the TM/TC endpoint,
        and its ``summary()`` becomes the ``<name>`` section of summary.json.
        """
        for name in APPLICATIONS:
            section = self.config.get(name)
            if section is None:
                continue
            module = importlib.import_module(f"flight.{name}")
            self.apps[name] = module.install(self, section)
        report_cfg = self.config.get("report", {})
        self.recorder: TelemetryRecorder | None = None
        if report_cfg.get("enabled", True):
            gnss = None
            if self.backend is not None and "gnss" in getattr(self.backend, "devices", {}):
                from hal import GnssReceiver
                from hal.registry import get_device

                gnss = get_device(self.backend, "gnss", GnssReceiver)
            sources = {
                n: app.sample
                for n, app in self.apps.items()
                if callable(getattr(app, "sample", None))
            }
            self.recorder = TelemetryRecorder(gnss, sources)
            self.executive.add(self.recorder, 1.0 / float(report_cfg.get("sample_s", 10.0)))

    # -- running ----------------------------------------------------------------------------
    def run(
        self,
        duration_s: float,
        progress: Callable[[float], None] | None = None,
    ) -> dict[str, Any]:
        """Run for ``duration_s`` seconds of onboard time; return the run summary.

        ``progress(fraction)`` is called about 100 times. The run's wall time (for the
        real-time factor) is measured with the clock module's performance counter.
        """
        if not self._booted:
            self._boot_report()
            self._booted = True
        duration_ns = seconds_to_ns(duration_s)
        t_start = perf_counter_ns()
        chunks = 100 if progress else 1
        done = 0
        for i in range(chunks):
            target = duration_ns * (i + 1) // chunks
            while done < target:
                before = self.clock.now_ns()
                self.executive.run_for(target - done, stop=self._reset_pending)
                done += self.clock.now_ns() - before
                if self._reset_pending():
                    self._processor_reset()
            if progress:
                progress((i + 1) / chunks)
        self.wall_seconds = (perf_counter_ns() - t_start) / NS_PER_S
        return self.summary()

    def _arm_watchdog(self) -> None:
        if self.watchdog is not None:
            timeout = float(self.config.get("executive", {}).get("watchdog_timeout_s", 5.0))
            self.watchdog.arm(timeout)

    def _reset_pending(self) -> bool:
        """True when the hardware would reset the flight computer now (watchdog expired)."""
        return bool(getattr(self.backend, "reboot_pending", False))

    def _processor_reset(self) -> None:
        """Simulate the flight computer's reset: devices return to their power-on state
        (the backend), the executive restarts every component, parameters are reloaded from
        their file (so the boot counter persists), and the watchdog is armed again."""
        reason = self.backend.reboot()
        self.resets.append({"t_s": self.clock.now_ns() / NS_PER_S, "reason": reason.name})
        self.executive.reset()
        self.params.load()
        self.executive.monitor.emit("reset", reason=reason.name)
        self.executive.start()
        self._arm_watchdog()

    def summary(self) -> dict[str, Any]:
        """Figures of merit of the run so far (JSON-serialisable)."""
        sim_seconds = self.clock.now_ns() / NS_PER_S
        ex = self.executive
        summary: dict[str, Any] = {
            "node": self.config.get("node", {}).get("name", "satnode"),
            "seed": self.seed,
            "sim_seconds": sim_seconds,
            "wall_seconds": self.wall_seconds,
            "realtime_factor": sim_seconds / self.wall_seconds if self.wall_seconds > 0 else None,
            "executive": {
                "base_hz": ex.base_hz,
                "ticks": ex.tick_count,
                "cycle_slips": ex.cycle_slips,
                "rate_groups": [{"rate_hz": r, "components": c} for r, c in ex.rate_groups],
                "components": {
                    name: {
                        "steps": st.steps,
                        "mean_us": st.mean_ns / 1e3,
                        "max_us": st.max_ns / 1e3,
                        "exceptions": st.exceptions,
                        "ping_misses": st.ping_misses,
                        "restarts": st.restarts,
                        "health": st.health.value,
                    }
                    for name, st in ex.stats.items()
                },
            },
            "events": {
                "by_severity": {s.name: n for s, n in self.events.counts.items()},
                "throttled": self.events.throttled_total,
            },
            "tmtc": {
                "tm_packets": self.archive.packets,
                "tm_octets": self.archive.octets,
                "tc_received": self.tmtc.hk.tc_received,
                "tc_rejected": self.tmtc.hk.tc_rejected,
                "tc_completed": self.tmtc.hk.tc_completed,
                "uplink": list(self.link.uplink_address) if self.link else None,
            },
            "params": {"load": self.param_load.outcome.value, "problems": self.param_load.problems},
            "resets": self.resets,
        }
        from native.backend import backend_report, selected_backend

        summary["native"] = {
            "selected": selected_backend(),
            "kernels": backend_report(strict=False),
        }
        for name, app in self.apps.items():
            summary[name] = app.summary()
        if "fdir" in summary:
            summary["modes"] = {"seconds_in": summary["fdir"]["seconds_in"]}
        report = getattr(self.backend, "summary", None)
        if callable(report):
            summary["hal"] = report()
        return summary

    def write_report(self, summary: dict[str, Any]) -> list[Path]:
        """Write the time series (``series.json``) and the PNG plots to the output folder."""
        if self.recorder is None:
            return []
        out = self.options.out_dir
        (out / "series.json").write_text(json.dumps(self.recorder.series))
        limits = {"soc_floor": (summary.get("power", {}).get("soc_floor", float("nan")), 1.0)}
        return write_plots(out, self.recorder.series, limits)

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Write ``summary.json`` to the output folder."""
        path = self.options.out_dir / "summary.json"
        path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str))
        return path

    def close(self) -> None:
        """Stop the executive and release the archive, link and backend (idempotent)."""
        if self.executive.started:
            self.executive.stop()
        self.archive.close()
        if self.link is not None:
            self.link.close()
        if self.backend is not None:
            self.backend.close()
