"""The HAL backend registry: backend names -> factories, resolved lazily.

Backends are chosen in one place, the node's composition root, from configuration::

    from hal.registry import open_from_config
    backend = open_from_config({"backend": "sim", "seed": 1, "devices": {
        "temp": {"family": "temperature", "channels": {"battery": "battery"}},
        "htr_batt": {"family": "heater", "node": "battery", "rated_w": 10.0},
    }})
    heater = get_device(backend, "htr_batt", Heater)

Built-in names are ``sim`` (``hal.sim``), ``hil`` and ``linux`` (their modules are imported
only when asked for, and a name whose module cannot be imported is reported as unavailable).
Third-party backends register through the ``satnode.hal_backends`` entry-point group; the entry
point loads a factory ``(**options) -> Backend``. Nothing here imports a backend module before
:func:`open_backend` is called for it.

What a backend offers beyond devices is a set of capabilities, each a runtime-checkable
Protocol that the node tests with ``isinstance``: :class:`SteppedPlant` (lock-step time),
:class:`ProcessorReset` (watchdog/commanded resets), :class:`UpsetModel` (radiation upsets),
:class:`MemoryRegistration` (flight memory exposed to the upsets) and :class:`RunReport`
(figures for the run summary).
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any, Protocol, TypeVar, runtime_checkable

from numpy.typing import NDArray

from hal._common import Device, Family
from hal.platform import ResetReason
from native.errors import BackendNotFoundError, ConfigError, DeviceUnavailableError

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backend",
    "BackendFactory",
    "FaultScenarios",
    "MemoryRegistration",
    "ProcessorReset",
    "RunReport",
    "SteppedPlant",
    "UpsetModel",
    "get_device",
    "known_backends",
    "open_backend",
    "open_from_config",
    "register_backend",
]

#: Entry-point group through which installed distributions add HAL backends.
ENTRY_POINT_GROUP = "satnode.hal_backends"

D = TypeVar("D")


@runtime_checkable
class Backend(Protocol):
    """What :func:`open_backend` returns: a factory and owner of devices of one backend."""

    @property
    def name(self) -> str:
        """Registry name of the backend (``"sim"``, ``"hil"``...)."""
        ...

    @property
    def families(self) -> tuple[Family, ...]:
        """Device families this backend can create."""
        ...

    @property
    def t_ns(self) -> int:
        """The backend clock (ns): simulated time for ``sim``, monotonic time for hardware."""
        ...

    @property
    def devices(self) -> Mapping[str, Device]:
        """Every device created so far, by name (read-only view)."""
        ...

    def create(
        self, family: Family | str, name: str, config: Mapping[str, Any] | None = None
    ) -> Device:
        """Create device ``name`` of ``family`` from its configuration table.

        Unknown family, duplicate name or bad configuration -> ConfigError naming the key.
        """
        ...

    def create_devices(self, devices: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Device]:
        """Create every device of a ``{name: {"family": ..., ...}}`` table; returns them."""
        ...

    def device(self, name: str) -> Device:
        """The device called ``name``; DeviceUnavailableError if there is none."""
        ...

    def close(self) -> None:
        """Release the backend's resources (idempotent)."""
        ...


BackendFactory = Callable[..., Backend]


# --------------------------------------------------------------------------- capabilities
# What a backend may offer beyond device lookup. The node's composition checks each with
# ``isinstance`` and uses it only when present; the ``hil`` and ``linux`` backends implement
# exactly these (a rig steps its plant too; real hardware resets the processor for real).


@runtime_checkable
class SteppedPlant(Protocol):
    """A plant that runs in lock-step with the executive: time passes only when told.

    The node advances it by each executive tick (``sim``; ``hil`` in lock-step mode). A
    backend without this capability runs on its own clock (real time).
    """

    @property
    def t_ns(self) -> int:
        """Plant time (ns since the scenario epoch); moves only through :meth:`advance`."""
        ...

    def advance(self, dt_ns: int) -> None:
        """Let ``dt_ns`` (int ns, >= 0) of plant time pass; DeviceCommandError otherwise."""
        ...


@runtime_checkable
class ProcessorReset(Protocol):
    """The hardware can reset the flight computer (watchdog expiry, commanded reset)."""

    @property
    def reboot_pending(self) -> bool:
        """True when the hardware would reset the flight computer now (a watchdog expired)."""
        ...

    def reboot(self, reason: ResetReason = ResetReason.COMMANDED) -> ResetReason:
        """Reset the flight computer: volatile device state returns to its power-on values,
        non-volatile storage keeps its contents. Returns the reason recorded by the hardware
        (WATCHDOG when a watchdog expired, else ``reason``)."""
        ...


@runtime_checkable
class UpsetModel(Protocol):
    """A radiation environment that flips bits of registered memory (single-event upsets).

    Rates are per bit per day; counts are totals since the backend was opened.
    """

    @property
    def seu_rate_per_bit_day(self) -> float:
        """Configured upset rate outside the South Atlantic Anomaly (upsets per bit per day)."""
        ...

    @property
    def upset_rate_per_bit_day(self) -> float:
        """Upset rate now, SAA enhancement included (upsets per bit per day)."""
        ...

    @property
    def upsets_injected(self) -> int:
        """Upset events injected so far (a multiple-bit upset counts once)."""
        ...

    @property
    def bits_flipped(self) -> int:
        """Bits flipped so far (a multiple-bit upset flips two)."""
        ...

    def upsets_by_region(self) -> dict[str, int]:
        """Upset events injected per registered memory region name."""
        ...


@runtime_checkable
class MemoryRegistration(Protocol):
    """Flight memory can be exposed to the backend's upset model."""

    def register_memory(self, name: str, array: NDArray[Any]) -> None:
        """Expose the bytes of ``array`` (C-contiguous, writeable) under region ``name``;
        registering a name again replaces the region. Bad arguments -> DeviceCommandError."""
        ...


@runtime_checkable
class FaultScenarios(Protocol):
    """A backend that runs fault-injection scenario files (``sim``; a rig has its own
    control channel).

    Loading applies the faults due at the backend's current time at once, then the rest as
    the plant advances. Bad files or targets -> ConfigError naming the file and line.
    """

    def load_scenario(self, scenario: Any) -> object:
        """Run ``scenario`` (a path) from now on."""
        ...


@runtime_checkable
class RunReport(Protocol):
    """The backend reports its own figures for the run summary."""

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable backend figures for ``summary.json``."""
        ...


# Built-in backends as "module:attribute" strings, so that registering costs no import.
_BUILTIN: dict[str, str] = {
    "sim": "hal.sim._backend:open_sim_backend",
    "hil": "hal.hil._backend:open_hil_backend",
    "linux": "hal.linux._backend:open_linux_backend",
}

_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_lock = threading.Lock()
_registered: dict[str, str | BackendFactory] = dict(_BUILTIN)
_entry_points_loaded = False


def _load_entry_points() -> None:
    """Add the ``satnode.hal_backends`` entry points once (built-ins take precedence)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if _NAME_RE.fullmatch(ep.name) and ep.name not in _registered:
            _registered[ep.name] = ep.value
    _entry_points_loaded = True


def known_backends() -> tuple[str, ...]:
    """Every registered backend name, sorted (whether or not its module imports)."""
    with _lock:
        _load_entry_points()
        return tuple(sorted(_registered))


def register_backend(name: str, factory: BackendFactory | str, *, replace: bool = False) -> None:
    """Register ``factory`` (a callable or a ``"module:attribute"`` string) under ``name``.

    ``name``: lowercase identifier, at most 32 characters. Re-registering an existing name
    needs ``replace=True`` (ConfigError otherwise).
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ConfigError(f"backend name {name!r} must match {_NAME_RE.pattern}")
    if isinstance(factory, str) and ":" not in factory:
        raise ConfigError(f"backend factory {factory!r} must be 'module:attribute'")
    with _lock:
        _load_entry_points()
        if name in _registered and not replace:
            raise ConfigError(f"backend {name!r} is already registered")
        _registered[name] = factory


def _resolve(name: str) -> BackendFactory:
    with _lock:
        _load_entry_points()
        target = _registered.get(name)
        known = sorted(_registered)
    if target is None:
        raise BackendNotFoundError(
            f"unknown HAL backend {name!r}; known backends: {', '.join(known)}"
        )
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise BackendNotFoundError(
            f"HAL backend {name!r} is unavailable ({target}: {exc}); "
            f"known backends: {', '.join(known)}"
        ) from exc
    return factory  # type: ignore[no-any-return]


def open_backend(name: str, **options: Any) -> Backend:
    """Open backend ``name`` with backend-specific ``options``.

    Unknown or unavailable name -> BackendNotFoundError naming it and listing the known
    backends; bad options -> ConfigError (raised by the backend).
    """
    if not isinstance(name, str):
        raise BackendNotFoundError(f"backend name must be a string, got {name!r}")
    return _resolve(name)(**options)


def open_from_config(config: Mapping[str, Any]) -> Backend:
    """Open the backend a configuration table names and create its devices.

    ``config["backend"]`` is the backend name, ``config["devices"]`` (optional) the device
    table passed to :meth:`Backend.create_devices`; every other key is a backend option
    (for ``sim``: ``seed``, ``world``, ``scenario``, ``node_name``...).
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"HAL configuration must be a table, got {type(config).__name__}")
    if "backend" not in config:
        raise ConfigError("HAL configuration: missing key 'backend'")
    name = config["backend"]
    devices = config.get("devices", {})
    if not isinstance(devices, Mapping):
        raise ConfigError("HAL configuration: 'devices' must be a table")
    options = {k: v for k, v in config.items() if k not in ("backend", "devices")}
    backend = open_backend(name, **options)
    try:
        backend.create_devices(devices)
    except BaseException:
        backend.close()
        raise
    return backend


def get_device(backend: Backend, name: str, interface: type[D]) -> D:
    """Device ``name`` of ``backend``, checked against ``interface`` (a runtime-checkable
    Protocol such as :class:`hal.thermal.Heater`).

    Missing device or one of another family -> DeviceUnavailableError.
    """
    dev = backend.device(name)
    if not isinstance(dev, interface):
        raise DeviceUnavailableError(
            f"device {name!r} is a {dev.family.value}, not a {interface.__name__}"
        )
    return dev
