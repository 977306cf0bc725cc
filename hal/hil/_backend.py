"""The ``hil`` backend object: the flight side of hardware-in-the-loop.

Opened through the registry from configuration only (``[hal] backend = "hil"``,
``rig = "HOST:PORT"``). It connects to the rig, checks the rig's device table against the
node's ``[devices]`` (same names, same families, same configuration), and hands out one client
device per configured device. The capabilities (:mod:`hal.registry`) it offers:

- :class:`~hal.registry.SteppedPlant` in lock-step mode only (:class:`LockstepHilBackend`):
  ``advance`` asks the rig to move its world to the tick's time and returns when it is there;
- :class:`~hal.registry.ProcessorReset`: ``reboot_pending`` comes with every reply (no extra
  round trip), ``reboot`` resets the rig's devices;
- :class:`~hal.registry.MemoryRegistration` and :class:`~hal.registry.UpsetModel`: the rig
  keeps a shadow of each registered region; the bits its radiation model flips there come
  back with the replies and are XORed into the flight memory here;
- :class:`~hal.registry.RunReport`; and fault scenarios (``load_scenario`` sends the file to
  the rig).

A lost rig: calls raise :class:`~hal.hil._wire.RigTimeoutError` within about twice the call
timeout and then at once while the link is down; ``advance`` raises once at the loss and
then lets flight time run on without the plant (counted); the link reconnects by itself and
the next ``advance`` resynchronises the rig's world to the flight's time.
"""

from __future__ import annotations

import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hal._common import Device, Family
from hal._device_table import create_all, lookup, new_device
from hal.hil._devices import DEVICE_CLASSES, HilDevice
from hal.hil._link import RigLink
from hal.hil._wire import (
    BACKEND_TARGET,
    ClockMode,
    MessageType,
    RigProtocolError,
    RigRefusedError,
    RigTimeoutError,
    encode_value,
    raise_entry,
)
from hal.platform import ResetReason
from native.errors import ConfigError, DeviceCommandError, DeviceUnavailableError

__all__ = ["HilBackend", "LockstepHilBackend", "open_hil_backend"]

#: Message types as plain strings (read on every request).
_CALL = MessageType.CALL.value
_ADVANCE = MessageType.ADVANCE.value


class HilBackend:
    """The ``hil`` backend in paced mode (the rig's world runs in real time); see the module
    docstring. :func:`open_hil_backend` returns :class:`LockstepHilBackend` when the rig runs
    in lock-step."""

    name = "hil"

    def __init__(self, link: RigLink, welcome: dict[str, Any], *, seed: int | None) -> None:
        self._link = link
        self._rig_devices: dict[str, dict[str, Any]] = {}
        self._devices: dict[str, HilDevice] = {}
        self._memory: dict[str, NDArray[np.uint8]] = {}
        self._t_ns = 0
        self._reboot_pending = False
        self._overruns = 0
        self._advances_missed = 0
        self._sources_seen: dict[str, int] = {}
        self._flips_applied = 0
        self._closed = False
        self._clock = ClockMode(welcome["clock"])
        self._rig_seed = int(welcome["seed"])
        if seed is not None and int(seed) != self._rig_seed:
            link.close()
            raise RigRefusedError(
                f"hil: the rig's world has seed {self._rig_seed}, the node's is {seed}; "
                f"start the rig with the node's seed (satnode rig --seed {seed})"
            )
        self._welcome(welcome)
        link.on_welcome = self._rewelcome

    # ----------------------------------------------------------------- handshake
    def _welcome(self, welcome: dict[str, Any]) -> None:
        self._rig_devices = {}
        for entry in welcome["devices"]:
            if not (isinstance(entry, dict) and isinstance(entry.get("name"), str)):
                raise RigProtocolError("hil: malformed device list in WELCOME")
            self._rig_devices[entry["name"]] = entry
        self._t_ns = int(welcome["t_ns"])

    def _rewelcome(self, welcome: dict[str, Any]) -> None:
        """A reconnection: the device table must still hold our devices; time comes from
        the rig (the next ``advance`` moves its world to the flight's time)."""
        self._welcome(welcome)
        for name, dev in self._devices.items():
            entry = self._rig_devices.get(name)
            if entry is None or entry.get("family") != dev.family.value:
                self._link.drop(f"rig no longer serves device {name!r}")
                raise RigRefusedError(f"hil: after reconnection the rig has no {name!r}")
        # memory regions live on in the flight computer: expose them to the rig again
        for region, arr in self._memory.items():
            self._request_calls([[BACKEND_TARGET, "register_memory", [region, int(arr.size)], {}]])

    # ----------------------------------------------------------------- Backend API
    @property
    def families(self) -> tuple[Family, ...]:
        """Families the client can drive (every HAL family)."""
        return tuple(DEVICE_CLASSES)

    @property
    def t_ns(self) -> int:
        """The rig's world time (ns) as of the last reply."""
        return self._t_ns

    @property
    def clock(self) -> ClockMode:
        """The rig's clock mode."""
        return self._clock

    @property
    def link(self) -> RigLink:
        """The link to the rig (statistics, tests)."""
        return self._link

    @property
    def devices(self) -> Mapping[str, Device]:
        """Read-only view of the devices by name."""
        return types.MappingProxyType(self._devices)

    @property
    def rig_devices(self) -> tuple[str, ...]:
        """Names of every device the rig serves."""
        return tuple(self._rig_devices)

    def create(
        self, family: Family | str, name: str, config: Mapping[str, Any] | None = None
    ) -> HilDevice:
        """The client of rig device ``name``: the rig must serve it with the same family and
        the same configuration as the node's table (ConfigError naming the key otherwise)."""
        path, fam = new_device(name, family, self._devices)
        entry = self._rig_devices.get(name)
        if entry is None:
            raise ConfigError(
                f"{path}: the rig at {self._link.address} serves no such device "
                f"(rig devices: {', '.join(self._rig_devices) or 'none'})"
            )
        if entry.get("family") != fam.value:
            raise ConfigError(
                f"{path}.family: node says {fam.value}, the rig serves a {entry.get('family')}"
            )
        mine = {k: v for k, v in (config or {}).items() if k != "family"}
        theirs = {k: v for k, v in dict(entry.get("config") or {}).items() if k != "family"}
        for key in sorted(set(mine) | set(theirs)):
            if _as_tuples(mine.get(key)) != _as_tuples(theirs.get(key)):
                raise ConfigError(
                    f"{path}.{key}: node configuration says {mine.get(key)!r}, the rig serves "
                    f"{theirs.get(key)!r} (start the rig with the node's configuration)"
                )
        channels = tuple(str(c) for c in entry.get("fault_channels") or ())
        dev = DEVICE_CLASSES[fam](
            name, self, dict(entry.get("info") or {}), str(entry["source"]), channels
        )
        self._devices[name] = dev
        return dev

    def create_devices(self, devices: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Device]:
        """Create every device of ``{name: {"family": ..., ...}}``; all or nothing."""
        return create_all(devices, self.create, self._forget)

    def _forget(self, name: str, dev: Device) -> None:
        self._devices.pop(name, None)

    def device(self, name: str) -> HilDevice:
        """The device called ``name``; DeviceUnavailableError if there is none."""
        return lookup(self._devices, name)

    def close(self) -> None:
        """Close the link to the rig (idempotent)."""
        if not self._closed:
            self._closed = True
            self._link.close()

    # ----------------------------------------------------------------- calls
    def call(self, target: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Forward one call to the rig (one round trip); return its value or raise its
        typed error (RigTimeoutError when the rig is silent)."""
        if self._closed:
            raise DeviceUnavailableError(f"hil backend to {self._link.address} is closed")
        # most calls are reads without arguments: skip building empty containers
        call = [
            target,
            method,
            [encode_value(a) for a in args] if args else [],
            {k: encode_value(v) for k, v in kwargs.items()} if kwargs else {},
        ]
        entry = self._request_calls([call])[0]
        if type(entry) is not dict:
            raise RigProtocolError("hil: malformed result entry")
        if "err" in entry:
            raise_entry(entry)
        src = entry.get("src")
        if type(src) is str:
            seen = self._sources_seen
            seen[src] = seen.get(src, 0) + 1
        return entry.get("ok")

    def _request_calls(self, calls: list[Any], advance_to: int | None = None) -> list[Any]:
        if advance_to is None:
            msg: dict[str, Any] = {"type": _CALL, "calls": calls}
        else:
            msg = {"type": _ADVANCE, "calls": calls, "to_ns": advance_to}
        reply = self._link.request(msg, len(calls))
        results: list[Any] = reply["results"]
        if len(results) != len(calls):
            self._link.drop("reply has the wrong number of results")
            raise RigProtocolError("hil: reply has the wrong number of results")
        self._absorb(reply)
        return results

    def _absorb(self, reply: dict[str, Any]) -> None:
        self._t_ns = int(reply["t_ns"])
        status = reply["status"]
        self._reboot_pending = bool(status.get("reboot_pending", False))
        self._overruns = int(status.get("overruns", 0))
        for flip in reply.get("flips", ()):
            # [region, offsets (uint32 little endian), masks (one byte per offset)]
            if not (type(flip) is tuple and len(flip) == 3):
                continue
            region, offsets, masks = flip
            arr = self._memory.get(region) if type(region) is str else None
            if (
                arr is None
                or type(offsets) is not bytes
                or type(masks) is not bytes
                or len(offsets) != 4 * len(masks)
            ):
                continue
            idx = np.frombuffer(offsets, dtype="<u4").astype(np.int64)
            if idx.size and idx.max() >= arr.size:
                continue  # a region re-registered smaller: stale flips are dropped
            np.bitwise_xor.at(arr, idx, np.frombuffer(masks, dtype=np.uint8))
            self._flips_applied += len(masks)

    # ----------------------------------------------------------------- capabilities
    @property
    def reboot_pending(self) -> bool:
        """True when a watchdog on the rig expired (as of the last reply; ProcessorReset)."""
        return self._reboot_pending

    def reboot(self, reason: ResetReason = ResetReason.COMMANDED) -> ResetReason:
        """Reset the rig's devices to their power-on state (ProcessorReset)."""
        out = self.call(BACKEND_TARGET, "reboot", [ResetReason(reason)], {})
        self._reboot_pending = False
        return ResetReason(out)

    def register_memory(self, name: str, array: NDArray[Any]) -> None:
        """Expose ``array``'s bytes to the rig's upset model (MemoryRegistration): the rig
        keeps a shadow of the region and sends back the bits it flips."""
        if not isinstance(name, str) or not name:
            raise DeviceCommandError("memory region name must be a non-empty string")
        if not isinstance(array, np.ndarray):
            raise DeviceCommandError(f"memory region {name!r} must be a numpy array")
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise DeviceCommandError(f"memory region {name!r} must be C-contiguous and writeable")
        flat = array.reshape(-1).view(np.uint8)
        self.call(BACKEND_TARGET, "register_memory", [name, int(flat.size)], {})
        self._memory[name] = flat

    def _upsets(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call(BACKEND_TARGET, "upsets", [], {})
        return out

    @property
    def seu_rate_per_bit_day(self) -> float:
        """Configured upset rate outside the SAA (per bit per day; UpsetModel)."""
        return float(self._upsets()["seu_rate_per_bit_day"])

    @property
    def upset_rate_per_bit_day(self) -> float:
        """Upset rate now (per bit per day; UpsetModel)."""
        return float(self._upsets()["upset_rate_per_bit_day"])

    @property
    def upsets_injected(self) -> int:
        """Upset events injected into registered memory so far (UpsetModel)."""
        return int(self._upsets()["upsets_injected"])

    @property
    def bits_flipped(self) -> int:
        """Bits flipped in registered memory so far (UpsetModel)."""
        return int(self._upsets()["bits_flipped"])

    def upsets_by_region(self) -> dict[str, int]:
        """Upset events per region (UpsetModel)."""
        return {str(k): int(v) for k, v in self._upsets()["by_region"].items()}

    def load_scenario(self, scenario: str | os.PathLike[str]) -> None:
        """Run fault scenario file ``scenario`` on the rig from now on (the file is read here
        and sent; the rig parses and checks it, ConfigError naming the line)."""
        path = Path(scenario)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read scenario: {exc}") from None
        self.call(BACKEND_TARGET, "load_scenario", [text, str(path)], {})

    def set_device_power(self, name: str, on: bool) -> None:
        """Test harness: cut or restore device ``name``'s supply on the rig."""
        self.call(BACKEND_TARGET, "set_device_power", [name, bool(on)], {})

    def set_rail_on(self, rail: str, on: bool) -> None:
        """Test harness: switch a rail of the rig's world directly."""
        self.call(BACKEND_TARGET, "set_rail_on", [rail, bool(on)], {})

    def rig_summary(self) -> dict[str, Any]:
        """The rig's own summary (its backend, sources, counters)."""
        out: dict[str, Any] = self.call(BACKEND_TARGET, "summary", [], {})
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable figures of the link and the rig (RunReport). Never raises: a
        silent rig leaves ``rig`` null."""
        st = self._link.stats
        rig: dict[str, Any] | None
        try:
            rig = self.rig_summary()
        except (RigTimeoutError, RigProtocolError, DeviceUnavailableError):
            rig = None
        sources = {d.source for d in self._devices.values()}
        return {
            "backend": self.name,
            "rig": self._link.address,
            "clock": self._clock.value,
            "seed": self._rig_seed,
            "t_s": self._t_ns / 1e9,
            "devices": {n: d.family.value for n, d in self._devices.items()},
            "sources": {n: d.source for n, d in self._devices.items()},
            "mixed_sources": len(sources) > 1,
            "readings_by_source": dict(self._sources_seen),
            "reboot_pending": self._reboot_pending,
            "link": {
                "requests": st.requests,
                "calls": st.calls,
                "timeouts": st.timeouts,
                "disconnects": st.disconnects,
                "reconnects": st.reconnects,
                "rejected": st.rejected,
                "advances_missed": self._advances_missed,
                "flips_applied": self._flips_applied,
                **st.rtt_summary(),
            },
            "rig_overruns": self._overruns,
            "rig_summary": rig,
        }


class LockstepHilBackend(HilBackend):
    """The ``hil`` backend with a rig in lock-step: also a :class:`~hal.registry.SteppedPlant`."""

    def advance(self, dt_ns: int) -> None:
        """Ask the rig to move its world to ``t_ns + dt_ns`` and wait until it is there.

        A lost rig raises RigTimeoutError once (at the loss); while the link stays down the
        call returns without moving the plant (counted in ``advances_missed``), so that the
        flight software runs on and detects the loss through its devices."""
        if isinstance(dt_ns, bool) or not isinstance(dt_ns, int) or dt_ns < 0:
            raise DeviceCommandError(f"advance: dt_ns must be an int >= 0, got {dt_ns!r}")
        was_up = self._link.up
        try:
            self._request_calls([], advance_to=self._t_ns + dt_ns)
        except (RigTimeoutError, RigProtocolError):
            self._advances_missed += 1
            if was_up:
                raise


_OPTIONS = (
    "rig",
    "seed",
    "world",
    "scenario",
    "timeout_s",
    "reconnect_s",
    "clock",
    "restart",
    "node_name",
)


def open_hil_backend(**options: Any) -> HilBackend:
    """Registry factory of the ``hil`` backend.

    Options: ``rig`` ("HOST:PORT", required), ``seed`` (the node's seed; must match the
    rig's world), ``timeout_s`` (call timeout, default 1 s), ``reconnect_s`` (least wall
    time between reconnection attempts, default the timeout), ``clock`` ("lockstep",
    "paced" or "any": the mode the node expects), ``restart`` (default True: a lock-step rig
    starts a fresh, seeded world for this run, as ``satnode sim`` would), ``scenario`` (a fault scenario file sent
    to the rig). ``world`` and ``node_name`` are accepted and ignored: the rig owns the
    world. Unknown options -> ConfigError.
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigError(
            f"hil backend: unknown option(s) {', '.join(map(repr, unknown))} "
            f"(options: {', '.join(_OPTIONS)})"
        )
    rig = options.get("rig")
    if not rig:
        raise ConfigError('hil backend: [hal] rig = "HOST:PORT" is required')
    clock = options.get("clock", "any")
    if clock not in ("any", "lockstep", "paced"):
        raise ConfigError(f"hil backend: clock must be 'any', 'lockstep' or 'paced', got {clock!r}")
    seed = options.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"hil backend: seed must be an integer, got {seed!r}")
    link = RigLink(
        str(rig),
        clock=clock,
        timeout_s=options.get("timeout_s", 1.0),
        reconnect_s=options.get("reconnect_s"),
        restart=bool(options.get("restart", True)),
    )
    welcome = link.connect()
    cls = LockstepHilBackend if welcome["clock"] == ClockMode.LOCKSTEP.value else HilBackend
    backend = cls(link, welcome, seed=seed)
    scenario = options.get("scenario")
    if scenario is not None:
        backend.load_scenario(scenario)
    return backend


def _as_tuples(value: Any) -> Any:
    """``value`` with every list and tuple as a tuple (a rig in another language sends
    configuration arrays as plain MessagePack arrays, which decode as tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_tuples(v) for k, v in value.items()}
    return value
