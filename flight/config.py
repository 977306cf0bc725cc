"""Node configuration: the embedded default TOML, user files merged over it, validation.

A user's file only needs the keys it changes (:func:`merge`, the rule of
:func:`native.schema.merge`):

- tables merge key by key;
- arrays of tables (``[[thermal.zones]]``, ``[[fdir.monitors]]``, ``[[edac.regions]]``) merge
  **by name**: an entry whose ``name`` is that of a default entry replaces that entry, an
  entry with a new name is appended, and ``<array>_replace = true`` in the same table
  (``[thermal] zones_replace = true``) replaces the whole default array;
- any other value replaces the default.

Every section is checked by one schema mechanism (:mod:`native.schema`): the node's own
sections by the dataclasses of :mod:`flight._sections`, each application's section by its
package's ``parse_config`` (the ``Config`` dataclass), ``[world]`` and ``[devices]`` by the
HAL backend when it opens them. Relations between sections (every rate divides the base
rate, device names exist, the plant rate) are checked here. A problem is one
:class:`~native.errors.ConfigError` line naming the file, the section and the key::

    user.toml: [power] capacity_ah: expected a number in (0, 10000] (Ah), got 'sixty'
"""

from __future__ import annotations

import importlib
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from flight._sections import (
    ExecutiveSection,
    HalSection,
    NodeSection,
    ParamsSection,
    ReportSection,
    TmtcSection,
)
from flight.core import AppSpec
from native import schema
from native.errors import ConfigError

__all__ = [
    "HAL_SECTIONS",
    "NODE_SECTIONS",
    "default_config",
    "format_config",
    "load_config",
    "merge",
    "read_toml",
    "validate",
]

#: The node's own sections and their schemas.
NODE_SECTIONS: Mapping[str, type] = {
    "node": NodeSection,
    "executive": ExecutiveSection,
    "tmtc": TmtcSection,
    "params": ParamsSection,
    "hal": HalSection,
    "report": ReportSection,
}

#: Sections the HAL backend validates when it opens them (here: only that they are tables).
HAL_SECTIONS: frozenset[str] = frozenset({"world", "devices"})

#: Tolerance on "a rate divides the base rate" (the executive's own tolerance).
_DIVIDE_TOL = 1e-9


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` laid over a copy of ``base``: the rule of :func:`native.schema.merge`
    (tables by key, arrays of tables by entry name, ``<array>_replace = true``)."""
    return schema.merge(base, over)


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


def _app_sections(applications: Iterable[AppSpec] | None = None) -> dict[str, str]:
    """Application section -> package, from the application registry (default: the
    flight registry, :data:`flight.apps.APPLICATIONS`)."""
    if applications is None:
        from flight.apps import APPLICATIONS

        applications = APPLICATIONS
    return {spec.section: spec.module for spec in applications}


def known_sections(applications: Iterable[AppSpec] | None = None) -> tuple[str, ...]:
    """Every top-level section a configuration may have, sorted."""
    return tuple(sorted({*NODE_SECTIONS, *HAL_SECTIONS, *_app_sections(applications)}))


def validate(
    cfg: Mapping[str, Any], applications: Iterable[AppSpec] | None = None
) -> dict[str, Any]:
    """Check every section of a merged configuration; return the parsed sections.

    The node's sections parse to the dataclasses of :mod:`flight._sections`, each present
    application's section to its ``Config`` (through its package's ``parse_config``);
    ``[world]`` and ``[devices]`` stay tables (the backend checks them). Raises
    :class:`ConfigError` (one line: section, key, what is allowed) on the first problem.
    """
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"the configuration must be a table, got {type(cfg).__name__}")
    apps = _app_sections(applications)
    parsed: dict[str, Any] = {}
    for section, table in cfg.items():
        if section in NODE_SECTIONS:
            parsed[section] = schema.parse(NODE_SECTIONS[section], table, section)
        elif section in HAL_SECTIONS:
            if not isinstance(table, Mapping):
                raise ConfigError(f"[{section}]: expected a table, got {table!r}")
            parsed[section] = table
        elif section in apps:
            if not isinstance(table, Mapping):
                raise ConfigError(f"[{section}]: expected a table, got {table!r}")
            module = importlib.import_module(apps[section])
            parsed[section] = module.parse_config(dict(table))
        else:
            raise ConfigError(
                f"[{section}]: unknown section (known: {', '.join(known_sections(applications))})"
            )
    _check_relations(parsed)
    return parsed


def _divides(rate_hz: float, base_hz: float) -> bool:
    ratio = base_hz / rate_hz
    return rate_hz <= base_hz and abs(ratio - round(ratio)) <= _DIVIDE_TOL * max(1.0, ratio)


def _check_relations(parsed: Mapping[str, Any]) -> None:
    """Relations between sections: rates against the base rate, devices by name."""
    executive = parsed.get("executive", ExecutiveSection())
    base = executive.base_hz
    hal = parsed.get("hal")
    if hal is not None and hal.plant_rate_hz > base:
        raise ConfigError(
            f"[hal] plant_rate_hz: {hal.plant_rate_hz!r} Hz exceeds [executive] base_hz "
            f"({base!r} Hz): the plant is synchronised once per tick at most"
        )
    report = parsed.get("report")
    if report is not None and report.enabled and not _divides(1.0 / report.sample_s, base):
        raise ConfigError(
            f"[report] sample_s: {report.sample_s!r} s is not a whole number of ticks of "
            f"[executive] base_hz ({base!r} Hz)"
        )
    devices = parsed.get("devices")
    if executive.watchdog and devices is not None and executive.watchdog not in devices:
        raise ConfigError(
            f"[executive] watchdog: no device {executive.watchdog!r} in [devices] "
            f"(add a [devices.{executive.watchdog}] table with family = \"watchdog\", or set '')"
        )
    from flight.apps import APPLICATIONS

    for spec in APPLICATIONS:
        cfg = parsed.get(spec.section)
        if cfg is None or isinstance(cfg, Mapping):
            continue
        rate = getattr(cfg, "rate_hz", None)
        if isinstance(rate, float) and not _divides(rate, base):
            raise ConfigError(
                f"[{spec.section}] rate_hz: {rate!r} Hz does not divide [executive] base_hz "
                f"({base!r} Hz): allowed are base_hz / n for a whole n >= 1"
            )
        if devices is None:
            continue
        for key in spec.devices:
            name = getattr(cfg, key, None)
            if isinstance(name, str) and name and name not in devices:
                raise ConfigError(
                    f"[{spec.section}] {key}: no device {name!r} in [devices] "
                    f"(known: {', '.join(sorted(devices))})"
                )


def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; ConfigError naming the file when it is missing,
    unreadable or not valid TOML."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the configuration file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """The default configuration with the TOML file at ``path`` merged over it, validated.

    Every error is a :class:`ConfigError` whose one line starts with the file's name.
    """
    cfg = default_config()
    label = "default configuration"
    if path is not None:
        p = Path(path)
        label = str(p)
        user = read_toml(p)
        try:
            cfg = merge(cfg, user)
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from None
    try:
        validate(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None
    return cfg


# ------------------------------------------------------------------------ TOML output
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def format_config(cfg: Mapping[str, Any]) -> str:
    """The configuration as TOML text (``tomllib.loads`` gives ``cfg`` back).

    Tables become ``[a.b]`` headers, arrays of tables ``[[a.b]]`` blocks, everything else
    ``key = value`` lines, in the order of ``cfg``. For ``satnode config show``.
    """
    lines: list[str] = ["# satnode configuration: the embedded default with the user's file merged"]
    _emit_table(cfg, [], lines, header=False)
    return "\n".join(lines).rstrip("\n") + "\n"


def _key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else _string(k)


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar_text(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_scalar_text(x) for x in v) + "]"
    raise ConfigError(f"cannot write {type(v).__name__} {v!r} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _emit_table(table: Mapping[str, Any], path: list[str], lines: list[str], header: bool) -> None:
    if header:
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    subtables = []
    arrays = []
    for k, v in table.items():
        if isinstance(v, Mapping):
            subtables.append((k, v))
        elif _is_table_array(v):
            arrays.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_scalar_text(v)}")
    for k, v in subtables:
        _emit_table(v, [*path, k], lines, header=True)
    for k, entries in arrays:
        for entry in entries:
            lines.append("")
            lines.append("[[" + ".".join(_key(p) for p in [*path, k]) + "]]")
            # an entry's own sub-tables and arrays of tables follow as dotted headers
            _emit_entry(entry, [*path, k], lines)


def _emit_entry(entry: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    nested = []
    for k, v in entry.items():
        if isinstance(v, Mapping) or _is_table_array(v):
            nested.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_scalar_text(v)}")
    for k, v in nested:
        if isinstance(v, Mapping):
            _emit_table(v, [*path, k], lines, header=True)
        else:
            for sub in v:
                lines.append("")
                lines.append("[[" + ".".join(_key(p) for p in [*path, k]) + "]]")
                _emit_entry(sub, [*path, k], lines)
