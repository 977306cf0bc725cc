"""Configuration sections as dataclasses: one checked constructor for every application.

``parse_section(ConfigClass, table, "[power]")`` refuses unknown keys (a typo must not fall
back to a default silently) and turns a missing or mistyped key into a ConfigError naming the
section, so each application only adds its own semantic checks.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from native.errors import ConfigError

__all__ = ["parse_section"]

C = TypeVar("C")


def parse_section(cls: type[C], table: Any, where: str, **overrides: Any) -> C:
    """Build ``cls(**table)`` (``overrides`` replace keys already parsed, e.g. nested lists)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(unknown)}")
    try:
        return cls(**{**table, **overrides})
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
