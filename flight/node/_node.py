"""The node's run loop: boot, lock-step with a stepped plant, processor resets, the summary.

:class:`Node` is the facade the ground uses: it composes the node (:mod:`._compose`), runs it
in onboard time and reports (:mod:`._summary`). The backend's capabilities are checked with
``isinstance`` on the Protocols of :mod:`hal.registry`, never
probed by attribute name.

Sequence of a run: composition (nothing touches the output folder unless asked), then
:meth:`Node.open_output`, then boot (every component's lifecycle, which also loads the compiled
kernels, then the fault scenario, so faults due at t = 0 act on a composed node), then ticks
from t = 0. :meth:`Node.request_stop` (safe from a signal handler) ends a run at the next tick
boundary; the summary then says ``"interrupted": true``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from flight._sections import ExecutiveSection, HalSection
from flight.apps import APPLICATIONS
from flight.core import (
    NS_PER_S,
    AppSpec,
    BootCounting,
    LoadOutcome,
    perf_counter_ns,
    seconds_to_ns,
)
from flight.node._compose import Composition, NodeOptions, compose, section
from flight.node._plant import attach_plant
from flight.node._summary import build_summary
from flight.tmtc import require_crc_extension
from native.errors import ConfigError

__all__ = ["Node"]


class Node:
    """One spacecraft's flight software plus its devices, built from a configuration dict.

    The configuration is the merged, validated dict of :func:`flight.config.load_config`.
    Attributes give read access to what composition built: ``executive``, ``tmtc``,
    ``backend``, ``apps`` (section -> app), ``clock``, ``events``, ``params``, ``seed``.
    With ``open_output=False`` the output folder is left alone until :meth:`open_output`
    (or the first :meth:`run`), so a caller can validate the built node first.
    """

    def __init__(
        self,
        config: dict[str, Any],
        options: NodeOptions | None = None,
        applications: Sequence[AppSpec] = APPLICATIONS,
        *,
        open_output: bool = True,
    ) -> None:
        require_crc_extension()  # fail loudly before anything runs
        self._c: Composition = compose(config, options, applications, open_output=open_output)
        c = self._c
        self.config = c.config
        self.options = c.options
        self.seed = c.seed
        self.clock = c.clock
        self.events = c.events
        self.params = c.params
        self.executive = c.executive
        self.archive = c.archive
        self.link = c.link
        self.tmtc = c.tmtc
        self.backend = c.backend
        self.watchdog = c.watchdog
        self.apps = c.apps
        self.param_load = c.param_load
        self.resets: list[dict[str, Any]] = []
        self.wall_seconds = 0.0
        from hal.registry import ProcessorReset

        #: the backend when it can reset the flight computer (checked once: runtime
        #: Protocol checks are too slow for every tick)
        self._resetter: ProcessorReset | None = (
            c.backend if isinstance(c.backend, ProcessorReset) else None
        )
        self._booted = False
        self._stop_requested = False
        #: True when the last :meth:`run` ended early on :meth:`request_stop`
        self.interrupted = False
        try:
            self._sync_plant()
        except BaseException:
            c.close()
            raise

    def open_output(self) -> None:
        """Create the output folder's files (``tm.bin``) and load the parameters (idempotent;
        :meth:`run` does it when the caller has not)."""
        self._c.open_output()
        self.param_load = self._c.param_load

    def request_stop(self) -> None:
        """Ask a running :meth:`run` to stop at the next tick boundary (only sets a flag: safe
        to call from a signal handler)."""
        self._stop_requested = True

    @property
    def composition(self) -> Composition:
        """What composition built (app specs in run order, services...)."""
        return self._c

    def _sync_plant(self) -> None:
        """A stepped plant (the simulated world) runs in lock-step with the executive at the
        configured plant rate (:func:`attach_plant`, the one sync loop)."""
        from hal.registry import SteppedPlant

        if isinstance(self.backend, SteppedPlant):
            rate_hz = section(self._c.sections, "hal", HalSection).plant_rate_hz
            attach_plant(self.executive, self.backend, rate_hz)

    def add_observer(self, hook: Callable[[int], None]) -> None:
        """Call ``hook(t_ns)`` at the start of every tick (after the plant sync): how the
        ground samples a run without being part of the flight software."""
        self.executive.add_tick_hook(hook)

    # -- boot --------------------------------------------------------------------------------
    def _boot(self) -> None:
        """Start the executive, arm the watchdog and report the boot (TM[5,1]): the boot
        count, the native kernel backends, and any parameter-file fallback."""
        from native.backend import backend_report, selected_backend

        ex = self.executive
        ex.start()  # init counts the boot (fdir) and loads compiled kernels
        self._arm_watchdog()
        self._load_scenario()
        load = self.param_load
        if load is not None and load.outcome in (LoadOutcome.BACKUP, LoadOutcome.DEFAULTS):
            ex.monitor.emit(
                "params_fallback", source=load.outcome.value, problems="; ".join(load.problems)
            )
        variants = sorted(set(backend_report(strict=False).values()))
        fdir = self.apps.get("fdir")
        count = fdir.boot_count if isinstance(fdir, BootCounting) else 0
        ex.monitor.emit("boot", count=count, native=selected_backend(), kernels=",".join(variants))

    def _load_scenario(self) -> None:
        """Hand the fault scenario to the backend now that every app is installed and booted
        (its memory regions registered): faults due at t = 0 act before the first tick."""
        scenario = self.options.scenario
        if scenario is None:
            return
        from hal.registry import FaultScenarios

        if not isinstance(self.backend, FaultScenarios):
            name = type(self.backend).__name__ if self.backend is not None else "no backend"
            raise ConfigError(f"scenario {scenario}: {name} cannot run fault scenarios")
        self.backend.load_scenario(scenario)

    def _arm_watchdog(self) -> None:
        if self.watchdog is not None:
            timeout = section(self._c.sections, "executive", ExecutiveSection).watchdog_timeout_s
            self.watchdog.arm(timeout)

    # -- running -----------------------------------------------------------------------------
    def run(
        self, duration_s: float, progress: Callable[[float], None] | None = None
    ) -> dict[str, Any]:
        """Run for ``duration_s`` seconds of onboard time; return the run summary.

        ``progress(fraction)`` is called about 100 times. A :meth:`request_stop` ends the run
        at the next tick boundary (``interrupted`` is then True). The run's wall time (for
        the real-time factor) is measured with the clock module's performance counter, from
        the first tick: boot is not part of it.
        """
        self.open_output()
        if not self._booted:
            self._boot()
            self._booted = True
        duration_ns = seconds_to_ns(duration_s)
        self.interrupted = False

        def stop() -> bool:
            return self._stop_requested or self._reset_pending()

        t_start = perf_counter_ns()
        chunks = 100 if progress else 1
        done = 0
        for i in range(chunks):
            target = duration_ns * (i + 1) // chunks
            while done < target and not self._stop_requested:
                before = self.clock.now_ns()
                self.executive.run_for(target - done, stop=stop)
                done += self.clock.now_ns() - before
                if self._reset_pending():
                    self._processor_reset()
            if self._stop_requested:
                break
            if progress:
                progress((i + 1) / chunks)
        self.wall_seconds += (perf_counter_ns() - t_start) / NS_PER_S
        if self.tmtc is not None:
            # TM still waiting in the downlink buffer goes out now, so that tm.bin holds
            # every packet the summary counts
            self.tmtc.flush_downlink()
        if self._stop_requested:
            self.interrupted = True
            self._stop_requested = False
        return self.summary()

    def advance(self, duration_s: float) -> None:
        """Run ``duration_s`` seconds of onboard time without building a summary: how a
        constellation driver ticks its nodes in lock-step slices (boot on the first call,
        processor resets handled as in :meth:`run`; :meth:`summary` when done)."""
        self.open_output()
        if not self._booted:
            self._boot()
            self._booted = True
        duration_ns = seconds_to_ns(duration_s)
        t_start = perf_counter_ns()
        done = 0
        while done < duration_ns:
            before = self.clock.now_ns()
            self.executive.run_for(duration_ns - done, stop=self._reset_pending)
            done += self.clock.now_ns() - before
            if self._reset_pending():
                self._processor_reset()
        self.wall_seconds += (perf_counter_ns() - t_start) / NS_PER_S
        if self.tmtc is not None:
            self.tmtc.flush_downlink()

    def _reset_pending(self) -> bool:
        """True when the hardware would reset the flight computer now (watchdog expired).
        Polled after every tick: the capability check is made once, at construction."""
        resetter = self._resetter
        return resetter is not None and bool(resetter.reboot_pending)

    def _processor_reset(self) -> None:
        """The flight computer's reset: devices return to their power-on state (the
        backend), the executive restarts every component, parameters are reloaded from their
        file (so the boot counter persists), the load is reported, and the watchdog is armed
        again."""
        backend = self._resetter
        if backend is None:
            return
        reason = backend.reboot()
        self.resets.append({"t_s": self.clock.now_ns() / NS_PER_S, "reason": reason.name})
        self.executive.reset()
        # After a reset the values come from the protected image when there is one (the
        # file otherwise); any other source than the image is reported.
        self.param_load = self._c.param_load = self.params.restore()
        self.executive.monitor.emit("reset", reason=reason.name)
        self.executive.start()
        load = self.param_load
        if load.outcome in (LoadOutcome.BACKUP, LoadOutcome.DEFAULTS) or load.problems:
            self.executive.monitor.emit(
                "params_fallback", source=load.outcome.value, problems="; ".join(load.problems)
            )
        self._arm_watchdog()

    # -- reporting ---------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Figures of merit of the run so far (JSON-serialisable; see :mod:`._summary`)."""
        return build_summary(self._c, self.wall_seconds, self.resets, self.interrupted)

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Write ``summary.json`` to the output folder (atomically: a reader never sees half
        a summary)."""
        path = self.options.out_dir / "summary.json"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
        tmp.replace(path)
        return path

    def close(self) -> None:
        """Stop the executive and release the archive, link and backend (idempotent)."""
        self._c.close()
