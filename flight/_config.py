"""Node configuration: the embedded default TOML, user files merged over it, validation.

A user's file only needs the keys it changes: tables merge key by key, and anything else
replaces the default. Unknown top-level sections and unknown keys in known sections are
errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from native.errors import ConfigError

__all__ = ["default_config", "load_config", "merge"]

#: Sections the node understands, with the keys it checks. None: checked by their owner
#: (the HAL backend validates [world], [devices]; subsystems their own tables).
KNOWN_SECTIONS: dict[str, frozenset[str] | None] = {
    "node": frozenset({"name", "apid", "seed"}),
    "executive": frozenset(
        {
            "base_hz",
            "ping_period_s",
            "ping_misses_to_escalate",
            "max_restarts",
            "watchdog",
            "watchdog_timeout_s",
        }
    ),
    "tmtc": frozenset(
        {
            "time_code",
            "hk_interval_s",
            "max_packet_len",
            "ground_link",
            "uplink_host",
            "uplink_port",
            "downlink",
        }
    ),
    "params": frozenset({"file"}),
    "hal": None,
    "world": None,
    "devices": None,
    "power": None,
    "thermal": None,
    "fdir": None,
    "edac": None,
    "gnc": None,
    "compute": None,
    "isl": None,
    "environment": None,
    "report": frozenset({"enabled", "sample_s"}),
}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base`` (tables merge, other values replace)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def default_config() -> dict[str, Any]:
    """The embedded default configuration (node + the default simulated world)."""
    text = resources.files("flight").joinpath("default_config.toml").read_text()
    cfg = tomllib.loads(text)
    world_default = _default_world()
    if world_default:
        cfg = merge(world_default, cfg)
    return cfg


def _default_world() -> dict[str, Any]:
    """The HAL sim world's own default, if the sim backend ships one (optional file)."""
    try:
        ref = resources.files("hal").joinpath("sim", "world", "default_world.toml")
        if ref.is_file():
            data = tomllib.loads(ref.read_text())
            return data if "world" in data else {"world": data}
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    return {}


def validate(cfg: dict[str, Any]) -> None:
    """Reject unknown sections and unknown keys of the sections the node owns."""
    for section, value in cfg.items():
        if section not in KNOWN_SECTIONS:
            raise ConfigError(f"unknown configuration section [{section}]")
        keys = KNOWN_SECTIONS[section]
        if keys is None:
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"[{section}] must be a table")
        unknown = sorted(set(value) - keys)
        if unknown:
            raise ConfigError(f"unknown key(s) in [{section}]: {', '.join(unknown)}")


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """The default configuration with the TOML file at ``path`` merged over it."""
    cfg = default_config()
    if path is not None:
        p = Path(path)
        try:
            user = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise ConfigError(f"configuration file {p} not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {p}: {exc}") from None
        cfg = merge(cfg, user)
    validate(cfg)
    return cfg
