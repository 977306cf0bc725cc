"""What every HAL backend does with its ``[devices]`` table, written once.

Backends differ in how they build one device; they share the checks on a new device's name
and family, the all-or-nothing creation of a whole table, and the lookup by name with an error
that lists what exists. :func:`new_device` and :func:`create_all` are those pieces; each
backend calls them from its ``create``/``create_devices``/``device``.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from hal._common import Device, Family
from native.errors import ConfigError, DeviceUnavailableError

__all__ = ["create_all", "lookup", "new_device"]

D = TypeVar("D")


def new_device(
    name: Any,
    family: Family | str,
    existing: Collection[str],
    *,
    allowed: Collection[Family] | None = None,
    backend: str = "",
) -> tuple[str, Family]:
    """Check a new device's ``name`` (non-empty, no '.', not taken) and ``family`` (a known
    family, one of ``allowed`` when given); returns ``(path, family)`` where ``path`` is
    ``devices.<name>`` for error messages. ConfigError names the key otherwise."""
    path = f"devices.{name}"
    if not isinstance(name, str) or not name or "." in name:
        raise ConfigError(f"{path}: device names must be non-empty and contain no '.'")
    if name in existing:
        raise ConfigError(f"{path}: duplicate device name")
    try:
        fam = Family(family)
    except ValueError:
        raise ConfigError(
            f"{path}.family: unknown family {family!r} "
            f"(families: {', '.join(f.value for f in Family)})"
        ) from None
    if allowed is not None and fam not in allowed:
        raise ConfigError(
            f"{path}.family: the {backend} backend has no {fam.value!r} devices "
            f"(families: {', '.join(f.value for f in allowed)})"
        )
    return path, fam


def create_all(
    devices: Any,
    create: Callable[[Any, str, Mapping[str, Any]], Device],
    forget: Callable[[str, Device], None],
) -> Mapping[str, Device]:
    """Create every device of ``{name: {"family": ..., ...}}`` with ``create(family, name,
    table)``; all or nothing: on any error the ones already made are ``forget``-ed and the
    error goes on. Returns the new devices by name (read-only)."""
    if not isinstance(devices, Mapping):
        raise ConfigError("devices: must be a table of device tables")
    created: dict[str, Device] = {}
    try:
        for name, table in devices.items():
            if not isinstance(table, Mapping):
                raise ConfigError(f"devices.{name}: must be a table")
            if "family" not in table:
                raise ConfigError(f"devices.{name}.family: missing required key")
            created[name] = create(table["family"], name, table)
    except BaseException:
        for name, dev in created.items():
            forget(name, dev)
        raise
    return types.MappingProxyType(created)


def lookup(devices: Mapping[str, D], name: str) -> D:
    """The device called ``name``; DeviceUnavailableError listing the devices otherwise."""
    dev = devices.get(name)
    if dev is None:
        raise DeviceUnavailableError(
            f"no device named {name!r} (devices: {', '.join(devices) or 'none'})"
        )
    return dev
