"""What an onboard application is, and what it gets when it is installed.

An application is a package ``flight.<name>`` that exposes

- ``Config``: its configuration schema (a dataclass checked by :mod:`native.schema`), and
- ``install(ctx: InstallContext, cfg: Config) -> App``: builds its components, adds them with
  :meth:`InstallContext.add`, registers its PUS services and offers services to other apps.

The returned app object has ``summary() -> dict`` (its section of ``summary.json``) and may
have ``sample() -> dict[str, float]`` (values for the ground's time series).

An app never sees the node: the :class:`InstallContext` is the whole of what it may use
(clock, bus, events, parameters, TM/TC registration, device lookup by name, backend
capabilities, and named services that other apps provide). Its components' ids come from the
one id table of the application registry (:mod:`flight.apps`), never from constructor defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from flight.core._bus import SoftwareBus
from flight.core._component import Component
from flight.core._events import EventLog
from flight.core._params import ParamStore
from flight.core._time import Clock
from native.errors import ConfigError, DeviceUnavailableError, SatnodeError

__all__ = ["AppSpec", "Application", "BootCounting", "InstallContext", "ServiceHandlerLike"]

D = TypeVar("D")
T = TypeVar("T")


@runtime_checkable
class Application(Protocol):
    """What the node keeps of an installed application."""

    def summary(self) -> dict[str, Any]:
        """The application's section of ``summary.json`` (JSON-serialisable)."""
        ...


@runtime_checkable
class BootCounting(Protocol):
    """An installed application that counts processor boots (FDIR): the boot event says it."""

    @property
    def boot_count(self) -> int:
        """Boots counted so far (persisted across resets)."""
        ...


class ServiceHandlerLike(Protocol):
    """A PUS service handler (the shape of :class:`flight.tmtc.ServiceHandler`)."""

    def check(self, subtype: int, data: bytes) -> Any:
        """Acceptance: raise to reject the request (TM[1,2]); return the decoded request."""
        ...

    def execute(self, subtype: int, data: bytes, send_tm: Callable[..., bytes]) -> Any:
        """Execution: act on the request, sending any report through ``send_tm``."""
        ...


@dataclass(frozen=True, slots=True)
class AppSpec:
    """One line of the application registry.

    ``section``: the configuration section (and the app's name); the app is installed when
    that section is present. ``module``: the package exposing ``Config`` and ``install``.
    ``components``: ``(component name, component id)`` pairs: the ids are part of the ground
    interface (PUS-8 function id = id << 8 | opcode), so they live here, in one table.
    ``publishes``/``consumes``: bus message type names (from :mod:`flight.messages`); the
    order inside a tick follows them (producers before consumers). ``feedback``: consumed
    topics read one tick late on purpose (a control loop closed through the bus), which do
    not constrain the order. ``devices``: configuration keys that name HAL devices.
    ``provides``/``requires``: named services between apps (installation order follows them).
    """

    section: str
    module: str
    components: tuple[tuple[str, int], ...]
    publishes: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()
    feedback: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    summary: str = ""


class InstallContext:
    """Everything an application may use while it installs itself (never the node).

    Built by the node's composition for one application at a time. Device lookup and
    component ids raise :class:`ConfigError` naming the application's section.
    """

    def __init__(
        self,
        spec: AppSpec,
        *,
        clock: Clock,
        bus: SoftwareBus,
        events: EventLog,
        params: ParamStore,
        seed: int,
        base_hz: float,
        add_component: Callable[[Component, float], None],
        lookup_device: Callable[[str, type], Any] | None,
        capabilities: object | None,
        register_service: Callable[[int, Any], None] | None,
        send_tm: Callable[[int, int, bytes], bytes] | None,
        services: dict[str, Any],
        message_types: Mapping[str, type],
        tmtc: Any = None,
        max_tm_data_len: int = 0,
        after_install: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.bus = bus
        self.events = events
        self.params = params
        #: the run's master seed (an app derives its own streams from it)
        self.seed = seed
        #: the executive's base rate (Hz); every component rate must divide it
        self.base_hz = base_hz
        self._add = add_component
        self._lookup = lookup_device
        self._capabilities = capabilities
        self._register_service = register_service
        self._send_tm = send_tm
        self._services = services
        self._ids = dict(spec.components)
        self._added: set[str] = set()
        #: every bus message type of the node, by name (for table-driven consumers such as FDIR)
        self.message_types = message_types
        #: the node's TM/TC endpoint (:class:`flight.tmtc.TmtcService`), or None: for apps
        #: that manage its memory (EDAC puts its downlink buffer in a protected region)
        self.tmtc = tmtc
        #: the most application data octets one TM packet can carry (0 without TM/TC)
        self.max_tm_data_len = max_tm_data_len
        self._after_install = after_install

    @property
    def where(self) -> str:
        """The section name in brackets, for error messages."""
        return f"[{self.spec.section}]"

    # -- components ---------------------------------------------------------------------------
    def component_id(self, name: str) -> int:
        """The registered id of component ``name`` of this app (ConfigError if unregistered)."""
        try:
            return self._ids[name]
        except KeyError:
            raise ConfigError(
                f"{self.where}: component {name!r} is not in the application registry "
                f"(registered: {', '.join(self._ids) or 'none'})"
            ) from None

    def add(self, component: Component, rate_hz: float) -> None:
        """Add ``component`` to the executive at ``rate_hz`` (Hz, must divide the base rate).

        Its id must be the registered one for its name: ids are part of the ground interface.
        """
        expected = self.component_id(component.name)
        if component.component_id != expected:
            raise ConfigError(
                f"{self.where}: component {component.name!r} has id {component.component_id}, "
                f"the registry says {expected}"
            )
        try:
            self._add(component, float(rate_hz))
        except ConfigError as exc:
            raise ConfigError(f"{self.where}: {exc}") from None
        self._added.add(component.name)

    # -- devices and backend capabilities -----------------------------------------------------
    def device(self, key: str, name: str, interface: type[D]) -> D:
        """HAL device ``name`` (configured under ``key``), checked against ``interface``."""
        if self._lookup is None:
            raise ConfigError(f"{self.where} {key}: needs a HAL backend ([hal] section)")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{self.where} {key}: must be a device name, got {name!r}")
        try:
            return self._lookup(name, interface)  # type: ignore[no-any-return]
        except DeviceUnavailableError as exc:
            raise ConfigError(
                f"{self.where} {key}: {exc} (add a [devices.{name}] table of the right family)"
            ) from None

    def capability(self, protocol: type[T]) -> T | None:
        """The HAL backend if it has capability ``protocol`` (a runtime-checkable Protocol
        of :mod:`hal.registry`), else None."""
        backend = self._capabilities
        if backend is not None and isinstance(backend, protocol):
            return backend
        return None

    # -- TM/TC --------------------------------------------------------------------------------
    def register_service(self, service: int, handler: Any) -> None:
        """Register a PUS service handler with the node's TM/TC endpoint."""
        if self._register_service is None:
            raise ConfigError(f"{self.where}: needs the TM/TC endpoint")
        self._register_service(service, handler)

    @property
    def send_tm(self) -> Callable[[int, int, bytes], bytes] | None:
        """``send_tm(service, subtype, data)``, or None when the node has no TM/TC endpoint."""
        return self._send_tm

    def after_install(self, callback: Callable[[], None]) -> None:
        """Run ``callback()`` once every application is installed (and before the parameter
        file is loaded): for work that needs the whole node, such as protecting the
        parameter table of every component."""
        if self._after_install is None:
            raise ConfigError(f"{self.where}: this node runs no post-install step")
        self._after_install(callback)

    # -- services between apps ----------------------------------------------------------------
    def provide(self, name: str, service: object) -> None:
        """Offer ``service`` to other apps under ``name`` (declared in ``provides``)."""
        if name not in self.spec.provides:
            raise ConfigError(f"{self.where}: service {name!r} is not declared in its provides")
        if name in self._services:
            raise ConfigError(f"{self.where}: service {name!r} is already provided")
        self._services[name] = service

    def require(self, name: str, kind: type[T]) -> T:
        """The service another app provides under ``name`` (declared in ``requires``)."""
        if name not in self.spec.requires:
            raise ConfigError(f"{self.where}: service {name!r} is not declared in its requires")
        service = self._services.get(name)
        if service is None:
            raise ConfigError(
                f"{self.where}: needs service {name!r}, which no installed application provides"
            )
        if not isinstance(service, kind):
            raise SatnodeError(f"service {name!r} is a {type(service).__name__}, not {kind}")
        return service

    def optional(self, name: str, kind: type[T]) -> T | None:
        """Like :meth:`require`, but None when no installed app provides ``name``."""
        if name not in self.spec.requires:
            raise ConfigError(f"{self.where}: service {name!r} is not declared in its requires")
        service = self._services.get(name)
        return service if isinstance(service, kind) else None
