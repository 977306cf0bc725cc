"""The parameter store: typed, limit-checked values persisted atomically with a CRC.

Each component declares its parameters (:class:`~flight.core.ParamDef`). The store holds the
current values, validates every change against the declaration, and persists the whole table
to a file by writing a temporary file, syncing it and renaming it over the old one (an atomic
replace on POSIX). The previous good file is kept as ``<name>.bak``.

File format (big-endian)::

    magic b"SNPR" | version u16 (=1) | payload length u32 | CRC-32 (zlib) of payload u32 | payload

The payload is UTF-8 JSON ``{component: {parameter: value}}``. On load, a missing, truncated or
corrupted primary falls back to the backup, then to the declared defaults; the caller learns
which (:class:`LoadOutcome`) and raises an event. Values that are no longer valid (a limit
changed) are replaced by defaults and reported, never loaded.
"""

from __future__ import annotations

import enum
import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from flight.core._declare import ParamDef
from native.errors import ParameterError

__all__ = ["LoadOutcome", "LoadReport", "ParamStore"]

_MAGIC = b"SNPR"
_VERSION = 1
_HEADER = struct.Struct(">4sHII")


@enum.unique
class LoadOutcome(enum.Enum):
    """Where the loaded parameter values came from."""

    PRIMARY = "primary"
    BACKUP = "backup"
    DEFAULTS = "defaults"
    NO_FILE = "no_file"


@dataclass(slots=True)
class LoadReport:
    """Result of :meth:`ParamStore.load`: source used and the problems met on the way."""

    outcome: LoadOutcome
    problems: list[str] = field(default_factory=list)


def encode_table(table: dict[str, dict[str, bool | int | float]]) -> bytes:
    """Serialise a parameter table in the store's file format."""
    payload = json.dumps(table, sort_keys=True, separators=(",", ":")).encode()
    return _HEADER.pack(_MAGIC, _VERSION, len(payload), zlib.crc32(payload)) + payload


def decode_table(blob: bytes) -> dict[str, dict[str, object]]:
    """Parse a parameter file, raising ``ValueError`` with the reason when it is damaged."""
    if len(blob) < _HEADER.size:
        raise ValueError(f"truncated header ({len(blob)} bytes)")
    magic, version, length, crc = _HEADER.unpack_from(blob)
    if magic != _MAGIC:
        raise ValueError(f"bad magic {magic!r}")
    if version != _VERSION:
        raise ValueError(f"unsupported version {version}")
    payload = blob[_HEADER.size :]
    if len(payload) != length:
        raise ValueError(f"length mismatch: header says {length}, file holds {len(payload)}")
    if zlib.crc32(payload) != crc:
        raise ValueError("CRC mismatch")
    table = json.loads(payload.decode())
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ValueError("payload is not a table of tables")
    return table


class ParamStore:
    """Current parameter values of every registered component, persisted to ``path``.

    ``path=None`` keeps the store in memory only (tests, tools).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._defs: dict[str, dict[str, ParamDef]] = {}
        self._values: dict[str, dict[str, bool | int | float]] = {}
        self.saves = 0
        self.rejected = 0
        #: Incremented by every change of any value (set or load): a component that derives
        #: state from its parameters compares it with the revision it last derived from.
        self.revision = 0

    @property
    def backup_path(self) -> Path | None:
        """Where the last good copy lives."""
        return self.path.with_name(self.path.name + ".bak") if self.path else None

    def register(self, component: str, params: tuple[ParamDef, ...]) -> None:
        """Add a component's declared parameters with their default values."""
        if component in self._defs:
            raise ParameterError(f"component {component!r} already registered")
        self._defs[component] = {p.name: p for p in params}
        self._values[component] = {p.name: p.default for p in params}

    def definition(self, component: str, name: str) -> ParamDef:
        """The declaration of a parameter (``ParameterError`` if unknown)."""
        try:
            return self._defs[component][name]
        except KeyError:
            raise ParameterError(f"unknown parameter {component}.{name}") from None

    def by_id(self, component: str, param_id: int) -> ParamDef:
        """The declaration of a parameter by its id (``ParameterError`` if unknown)."""
        for p in self._defs.get(component, {}).values():
            if p.id == param_id:
                return p
        raise ParameterError(f"unknown parameter id {param_id} in {component!r}")

    def get(self, component: str, name: str) -> bool | int | float:
        """Current value."""
        self.definition(component, name)
        return self._values[component][name]

    def values(self, component: str) -> dict[str, bool | int | float]:
        """The live dict of a component's values (read it, do not write it)."""
        return self._values[component]

    def set(self, component: str, name: str, value: object, persist: bool = True) -> None:
        """Validate and set a value; persist the table. Invalid -> ``ParameterError``, no change."""
        pdef = self.definition(component, name)
        try:
            checked = pdef.check(value)
        except (TypeError, ValueError) as exc:
            self.rejected += 1
            raise ParameterError(f"{component}.{name}: {exc}") from None
        old = self._values[component][name]
        self._values[component][name] = checked
        self.revision += 1
        if persist and self.path is not None:
            try:
                self.save()
            except OSError as exc:
                self._values[component][name] = old
                raise ParameterError(f"could not persist {component}.{name}: {exc}") from exc

    def table(self) -> dict[str, dict[str, bool | int | float]]:
        """A copy of every value."""
        return {c: dict(v) for c, v in self._values.items()}

    def save(self) -> None:
        """Write the table atomically; the previous good file becomes the backup."""
        if self.path is None:
            return
        blob = encode_table(self.table())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        if self.path.exists():
            try:
                decode_table(self.path.read_bytes())
                os.replace(self.path, self.backup_path)  # type: ignore[arg-type]
            except ValueError:
                pass  # never let a damaged primary overwrite the good backup
        os.replace(tmp, self.path)
        # The rename is durable only once the directory entry is on disk.
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.saves += 1

    def load(self) -> LoadReport:
        """Load values from the primary file, else the backup, else keep defaults.

        Never raises for a damaged file: the report says what happened.
        """
        if self.path is None:
            return LoadReport(LoadOutcome.NO_FILE)
        report = LoadReport(LoadOutcome.DEFAULTS)
        candidates = ((self.path, LoadOutcome.PRIMARY), (self.backup_path, LoadOutcome.BACKUP))
        for path, outcome in candidates:
            assert path is not None
            if not path.exists():
                report.problems.append(f"{path.name}: missing")
                continue
            try:
                table = decode_table(path.read_bytes())
            except (OSError, ValueError) as exc:
                report.problems.append(f"{path.name}: {exc}")
                continue
            self._apply(table, report)
            report.outcome = outcome
            break
        if report.outcome is LoadOutcome.DEFAULTS and all(
            p.endswith("missing") for p in report.problems
        ):
            report.outcome = LoadOutcome.NO_FILE
        return report

    def _apply(self, table: dict[str, dict[str, object]], report: LoadReport) -> None:
        for component, values in table.items():
            defs = self._defs.get(component)
            if defs is None:
                report.problems.append(f"unknown component {component!r} ignored")
                continue
            for name, value in values.items():
                pdef = defs.get(name)
                if pdef is None:
                    report.problems.append(f"unknown parameter {component}.{name} ignored")
                    continue
                try:
                    self._values[component][name] = pdef.check(value)
                    self.revision += 1
                except (TypeError, ValueError) as exc:
                    report.problems.append(f"{component}.{name}: {exc}; default kept")
