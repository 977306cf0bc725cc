"""The ``sim`` backend object: owns a simulated world and the devices that read and drive it.

Opened through the registry (``open_backend("sim", seed=1, world={...})``). Time passes only
through :meth:`SimBackend.advance`, which applies due scenario faults, declares every device's
electrical load and heat to the world, advances the physics and lets the devices run their
timed behaviour (PAT sequence, accelerator jobs, watchdog).
"""

from __future__ import annotations

import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from hal._common import Device, Family
from hal._device_table import create_all, lookup, new_device
from hal.platform import ResetReason
from hal.sim._base import Options, SimDevice
from hal.sim._context import DeviceContext
from hal.sim._scenario import Scenario, ScenarioRunner, load_scenario
from hal.sim.accelerator import SimAccelerator
from hal.sim.attitude import SimAttitude
from hal.sim.imager import SimImager
from hal.sim.laser import DEFAULT_OPTICAL_CHANNEL, OpticalChannel, SimLaserTerminal
from hal.sim.platform import SimStorage, SimWatchdog
from hal.sim.power import SimBattery, SimPdu, SimSolarArray
from hal.sim.propulsion import SimThruster
from hal.sim.sensors import SimGnss, SimImu, SimStarTracker, SimSunSensor, SimTemperature
from hal.sim.thermal import SimHeater, SimRadiator
from native.errors import ConfigError, DeviceCommandError

__all__ = ["DEVICE_CLASSES", "SimBackend", "open_sim_backend"]

#: The simulated device class of each family.
DEVICE_CLASSES: Mapping[Family, type[SimDevice]] = types.MappingProxyType(
    {
        Family.GNSS: SimGnss,
        Family.IMU: SimImu,
        Family.STAR_TRACKER: SimStarTracker,
        Family.SUN_SENSOR: SimSunSensor,
        Family.TEMPERATURE: SimTemperature,
        Family.HEATER: SimHeater,
        Family.RADIATOR: SimRadiator,
        Family.SOLAR_ARRAY: SimSolarArray,
        Family.BATTERY: SimBattery,
        Family.PDU: SimPdu,
        Family.THRUSTER: SimThruster,
        Family.LASER_TERMINAL: SimLaserTerminal,
        Family.ACCELERATOR: SimAccelerator,
        Family.IMAGER: SimImager,
        Family.WATCHDOG: SimWatchdog,
        Family.STORAGE: SimStorage,
        Family.ATTITUDE: SimAttitude,
    }
)


def _make_world(world: Any, seed: int) -> Any:
    from hal.sim.world import World, WorldConfig

    if isinstance(world, World):
        return world
    if world is None:
        cfg = WorldConfig.from_dict({})
    elif isinstance(world, WorldConfig):
        cfg = world
    elif isinstance(world, Mapping):
        cfg = WorldConfig.from_dict(world)
    else:
        raise ConfigError(
            f"sim.world: expected a World, a WorldConfig or a table, got {type(world).__name__}"
        )
    return World(cfg, seed=seed)


class SimBackend:
    """The simulated HAL backend (registry name ``sim``).

    Capabilities (:mod:`hal.registry`): SteppedPlant (:meth:`advance`), ProcessorReset
    (:attr:`reboot_pending`, :meth:`reboot`), UpsetModel and MemoryRegistration (the world's
    radiation model), RunReport (:meth:`summary`).

    Parameters (all keyword): ``world`` (a :class:`~hal.sim.world.World`, a ``WorldConfig``,
    a ``[world]`` table, or None for the default world), ``seed`` (int, world seed; every
    device noise stream derives from it), ``scenario`` (a scenario file path, a
    :class:`~hal.sim._scenario.Scenario` from :func:`load_scenario`/``parse_scenario``, or
    None: faults applied as time passes; its ``[world]``
    table and ``seed`` are used when ``world``/``seed`` are not given), ``node_name`` (this
    node's name on the optical channel, default ``"self"``), ``optical_channel``
    (:class:`~hal.sim.laser.OpticalChannel` shared with other in-process nodes; default the
    process-wide one), ``universe`` and ``spacecraft`` (a
    :class:`~hal.sim.world.Universe` and the name of this node's spacecraft in it, instead of
    ``world``; ``node_name`` then defaults to the spacecraft name).

    Time: :meth:`advance` advances the world's universe (every spacecraft once, every
    backend attached to it preparing and finishing the step; see
    :mod:`hal.sim.world._universe`): in a multi-node run the other nodes then find their
    plant at the tick time already.
    """

    name = "sim"

    def __init__(
        self,
        *,
        world: Any = None,
        seed: int | None = None,
        scenario: str | os.PathLike[str] | Scenario | None = None,
        node_name: str | None = None,
        optical_channel: OpticalChannel | None = None,
        universe: Any = None,
        spacecraft: str | None = None,
    ) -> None:
        if scenario is not None and not isinstance(scenario, Scenario):
            scenario = load_scenario(Path(scenario))
        if seed is None:
            seed = scenario.seed if scenario is not None and scenario.seed is not None else 0
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"sim.seed: must be an integer, got {seed!r}")
        if universe is not None:
            world = _universe_world(universe, spacecraft, world)
        elif spacecraft is not None:
            raise ConfigError("sim.spacecraft: only with sim.universe")
        if node_name is None:
            node_name = world.name if universe is not None else "self"
        if world is None and scenario is not None:
            world = scenario.world
        if not isinstance(node_name, str) or not node_name:
            raise ConfigError(f"sim.node_name: must be a non-empty string, got {node_name!r}")
        if optical_channel is not None and not isinstance(optical_channel, OpticalChannel):
            raise ConfigError("sim.optical_channel: must be an OpticalChannel")
        self._world = _make_world(world, seed)
        self._seed = int(self._world.seed)  # a World passed in keeps its own seed
        self._node_name = node_name
        self._channel = optical_channel if optical_channel is not None else DEFAULT_OPTICAL_CHANNEL
        self._devices: dict[str, SimDevice] = {}
        self._watchdogs: list[SimWatchdog] = []  # polled after every tick: kept apart
        self._scenario = scenario
        self._runner: ScenarioRunner | None = None
        self._closed = False
        self._pushed: dict[tuple[str, str], float] = {}
        # Configured loads of rails and nodes (avionics, structure...): the devices' declared
        # loads are added to these, never replace them.
        cfg = self._world.config
        self._rail_base_w = {k: float(r.load_w) for k, r in cfg.power.rails.items()}
        self._node_base_w = {k: float(n.dissipation_w) for k, n in cfg.thermal.nodes.items()}
        self._world.universe.attach(self)

    # ----------------------------------------------------------------- world facts
    @property
    def world(self) -> Any:
        """The simulated world (:class:`hal.sim.world.World`)."""
        return self._world

    @property
    def seed(self) -> int:
        """Seed of the world."""
        return self._seed

    @property
    def node_name(self) -> str:
        """This node's name on the optical channel."""
        return self._node_name

    @property
    def optical_channel(self) -> OpticalChannel:
        """The in-process optical channel of the laser terminals."""
        return self._channel

    # ----------------------------------------------------------------- Backend API
    @property
    def families(self) -> tuple[Family, ...]:
        """Every device family the sim backend can create."""
        return tuple(DEVICE_CLASSES)

    @property
    def t_ns(self) -> int:
        """Simulated time (ns since the scenario epoch)."""
        return int(self._world.t_ns)

    @property
    def devices(self) -> Mapping[str, Device]:
        """Read-only view of the devices by name."""
        return types.MappingProxyType(self._devices)

    def create(
        self, family: Family | str, name: str, config: Mapping[str, Any] | None = None
    ) -> SimDevice:
        """Create simulated device ``name`` of ``family`` from its configuration table."""
        path, fam = new_device(name, family, self._devices)
        table = dict(config or {})
        table.pop("family", None)
        ctx = DeviceContext(
            self._world,
            name,
            node_name=self._node_name,
            optical_channel=self._channel,
            on_loads_changed=self._push,
        )
        dev = DEVICE_CLASSES[fam](name, ctx, Options(table, path))
        self._devices[name] = dev
        if isinstance(dev, SimWatchdog):
            self._watchdogs.append(dev)
        self._push()
        return dev

    def create_devices(self, devices: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Device]:
        """Create every device of ``{name: {"family": ..., ...}}``; all or nothing."""
        try:
            created = create_all(devices, self.create, self._forget)
        except BaseException:
            self._push()  # the loads of the devices just forgotten
            raise
        try:
            if self._scenario is not None and self._runner is None:
                self.scenario_runner()  # reject a scenario naming unknown targets now
        except BaseException:
            for name, dev in created.items():
                self._forget(name, dev)
            self._push()
            raise
        return created

    def _forget(self, name: str, dev: Device) -> None:
        self._devices.pop(name, None)
        if isinstance(dev, SimWatchdog):
            self._watchdogs.remove(dev)
        if isinstance(dev, SimLaserTerminal):
            dev._detach()

    def device(self, name: str) -> SimDevice:
        """The device called ``name``; DeviceUnavailableError if there is none."""
        return lookup(self._devices, name)

    def close(self) -> None:
        """Detach the laser terminals from the optical channel (idempotent)."""
        if self._closed:
            return
        for dev in self._devices.values():
            if isinstance(dev, SimLaserTerminal):
                dev._detach()
        self._world.universe.detach(self)
        self._closed = True

    # ------------------------------------------------------------------ simulation
    def load_scenario(self, scenario: str | os.PathLike[str] | Scenario) -> ScenarioRunner:
        """Use ``scenario`` from now on: targets checked against the current devices and
        radiation targets against the memory regions registered now (ConfigError naming the
        line), so a bad target is refused here, never swallowed when its fault is due."""
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(Path(scenario))
        scenario.check(
            {n: d.family for n, d in self._devices.items()},
            {n: d.fault_channels for n, d in self._devices.items()},
            regions=self._world.radiation.regions,
        )
        self._scenario = scenario
        self._runner = None
        return self.scenario_runner()  # type: ignore[return-value]

    def scenario_runner(self) -> ScenarioRunner | None:
        """The runner applying the scenario (created and validated on first use)."""
        if self._scenario is None:
            return None
        if self._runner is None:
            self._runner = ScenarioRunner(self._scenario, self._world, self._devices)
            self._runner.update(self.t_ns)  # faults due now (at_s = 0) act at once
        return self._runner

    def advance(self, dt_ns: int) -> None:
        """Advance simulated time by ``dt_ns`` (>= 0)."""
        if isinstance(dt_ns, bool) or not isinstance(dt_ns, int) or dt_ns < 0:
            raise DeviceCommandError(f"advance: dt_ns must be an int >= 0, got {dt_ns!r}")
        if self._closed:
            self._world.advance(dt_ns)  # a closed backend's devices no longer take part
            return
        self._world.universe.advance_to(self.t_ns + dt_ns)

    def universe_before_step(self, t0_ns: int, dt_ns: int) -> None:
        """Universe step hook: due faults, device pre-step, declared loads to the world."""
        runner = self.scenario_runner()
        if runner is not None:
            runner.update(t0_ns)
        for dev in self._devices.values():
            dev._pre_step(t0_ns, dt_ns)
        self._push()

    def universe_after_step(self, t1_ns: int) -> None:
        """Universe step hook: the devices' timed behaviour at ``t1_ns``, due faults, loads."""
        for dev in self._devices.values():
            dev._post_step(t1_ns)
        runner = self._runner
        if runner is not None:
            runner.update(t1_ns)
        self._push()

    def run_for(self, duration_ns: int, step_ns: int = 1_000_000_000) -> None:
        """Advance by ``duration_ns`` in steps of at most ``step_ns``."""
        if step_ns <= 0:
            raise DeviceCommandError(f"run_for: step_ns must be > 0, got {step_ns!r}")
        left = duration_ns
        while left > 0:
            dt = min(step_ns, left)
            self.advance(dt)
            left -= dt

    def _push(self) -> None:
        """Declare the summed loads and heat of every device to the world."""
        rails: dict[str, float] = {}
        heaters: dict[str, float] = {}
        dissipation: dict[str, float] = {}
        for dev in self._devices.values():
            for rail, w in dev._rail_loads():
                rails[rail] = rails.get(rail, 0.0) + w
            for kind, node, w in dev._heat():
                bucket = heaters if kind == "heater" else dissipation
                bucket[node] = bucket.get(node, 0.0) + w
        # Only changed values reach the world (each setter re-solves the power bus).
        w = self._world
        for rail, load in rails.items():
            self._set(
                ("rail", rail), self._rail_base_w.get(rail, 0.0) + load, w.power.set_rail_load_w
            )
        for node, p in heaters.items():
            self._set(("heater", node), p, w.thermal.set_heater_w)
        for node, p in dissipation.items():
            self._set(
                ("node", node), self._node_base_w.get(node, 0.0) + p, w.thermal.set_dissipation_w
            )

    def _set(self, key: tuple[str, str], value: float, setter: Any) -> None:
        if self._pushed.get(key) != value:
            setter(key[1], value)
            self._pushed[key] = value

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable report of the backend for a run summary: time, seed, devices by
        family, and the scenario's fault events."""
        runner = self._runner
        scn = self._scenario
        scenario: dict[str, Any] | None = None
        if scn is not None:
            scenario = {
                "name": scn.name,
                "source": scn.source,
                "faults": len(scn.faults),
                "events": [
                    {
                        "t_s": e.t_ns / 1e9,
                        "action": e.action,
                        "kind": e.fault.kind.value,
                        "target": e.fault.target,
                    }
                    for e in (runner.events if runner is not None else ())
                ],
                "active": [
                    f.target + ":" + f.kind.value for f in (runner.active if runner else ())
                ],
            }
        return {
            "backend": self.name,
            "seed": self._seed,
            "node_name": self._node_name,
            "t_s": self.t_ns / 1e9,
            "devices": {n: d.family.value for n, d in self._devices.items()},
            "reboot_pending": self.reboot_pending,
            "scenario": scenario,
        }

    # ------------------------------------------------- capabilities (hal.registry)
    def register_memory(self, name: str, array: NDArray[Any]) -> None:
        """Expose ``array``'s bytes to the simulated radiation environment (SEUs flip its
        bits as the world advances): :class:`hal.registry.MemoryRegistration`. The flight
        side's memory protection calls this through the backend; hardware backends have no
        such hook (their memory is really exposed)."""
        self._world.radiation.register_memory(name, array)

    @property
    def seu_rate_per_bit_day(self) -> float:
        """Configured upset rate outside the SAA (upsets per bit per day; UpsetModel)."""
        return float(self._world.config.radiation.seu_rate_per_bit_day)

    @property
    def upset_rate_per_bit_day(self) -> float:
        """Upset rate now, SAA enhancement included (upsets per bit per day; UpsetModel)."""
        return float(self._world.radiation.rate_per_bit_day)

    @property
    def upsets_injected(self) -> int:
        """Upset events injected into registered memory so far (UpsetModel)."""
        return int(self._world.radiation.upsets_total)

    @property
    def bits_flipped(self) -> int:
        """Bits flipped in registered memory so far (UpsetModel)."""
        return int(self._world.radiation.bits_flipped_total)

    def upsets_by_region(self) -> dict[str, int]:
        """Upset events per registered region name (UpsetModel)."""
        return dict(self._world.radiation.upsets_by_region)

    # -------------------------------------------------------------- harness hooks
    def set_device_power(self, name: str, on: bool) -> None:
        """Connect or disconnect device ``name``'s supply (a test-harness switch in front of
        the device, independent of its PDU rail)."""
        self.device(name)._set_switch(on)

    @property
    def reboot_pending(self) -> bool:
        """True when a watchdog expired and the flight computer should restart."""
        return any(d.expired for d in self._watchdogs)

    def reboot(self, reason: ResetReason = ResetReason.COMMANDED) -> ResetReason:
        """Restart the simulated flight computer: volatile device state returns to its
        power-on values (watchdog disarmed, heaters off, accelerator jobs lost, laser IDLE),
        storage keeps its blobs. The reason recorded is WATCHDOG if a watchdog expired,
        else ``reason``. Returns the recorded reason."""
        recorded = ResetReason.WATCHDOG if self.reboot_pending else ResetReason(reason)
        for dev in self._devices.values():
            dev._on_reboot(recorded)
        self._push()
        return recorded


_OPTIONS = ("world", "seed", "scenario", "node_name", "optical_channel", "universe", "spacecraft")


def _universe_world(universe: Any, spacecraft: str | None, world: Any) -> Any:
    """The world of ``spacecraft`` in ``universe`` (the sole one when not named)."""
    from hal.sim.world import Universe

    if not isinstance(universe, Universe):
        raise ConfigError(f"sim.universe: must be a Universe, got {type(universe).__name__}")
    if world is not None:
        raise ConfigError("sim.world: give a world or a universe, not both")
    if spacecraft is None:
        if len(universe.names) != 1:
            raise ConfigError(
                f"sim.spacecraft: required with a universe of {len(universe.names)} spacecraft"
            )
        spacecraft = universe.names[0]
    return universe.spacecraft(spacecraft)


def open_sim_backend(**options: Any) -> SimBackend:
    """Registry factory of the ``sim`` backend; unknown options -> ConfigError."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigError(
            f"sim backend: unknown option(s) {', '.join(map(repr, unknown))} "
            f"(options: {', '.join(_OPTIONS)})"
        )
    return SimBackend(**options)
