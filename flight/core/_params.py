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

Protected image (:meth:`ParamStore.protect`): the table's serialised form (the file format
above, zero-padded) can also live in error-corrected memory (:class:`ImageMemory`, an EDAC
region in the node). Every change rewrites it, and the values used after a processor reset
or on an explicit check (:meth:`ParamStore.restore`) are read back through the memory's
correction: a single-bit upset is corrected; an uncorrectable word is a
:class:`ParamImageError` (the memory raises its own event), the damaged part is reloaded from
the memory's recovery copy, and if that fails too the values come from the file.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from flight.core._declare import ParamDef
from native.errors import ParameterError, SatnodeError

__all__ = ["ImageMemory", "LoadOutcome", "LoadReport", "ParamImageError", "ParamStore"]

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
    IMAGE = "image"  #: the protected image (:meth:`ParamStore.restore`)


class ParamImageError(ParameterError):
    """The parameter table's protected image cannot be read back intact (an uncorrectable
    word, or content that fails the image's own checks)."""


@runtime_checkable
class ImageMemory(Protocol):
    """Error-corrected memory that holds the parameter table's image (sizes in octets).

    An EDAC region (:class:`flight.edac.ProtectedRegion`) has exactly this shape.
    """

    @property
    def size_bytes(self) -> int:
        """Capacity (octets)."""
        ...

    def load(self, content: bytes) -> None:
        """Replace the whole content (exactly ``size_bytes`` octets) and keep it as the
        recovery copy (usable again even if it was damaged)."""
        ...

    def read(self, offset: int, length: int) -> bytes:
        """Corrected octets ``[offset, offset + length)``; raises a
        :class:`~native.errors.SatnodeError` when a covered word cannot be corrected."""
        ...

    def reload(self) -> bool:
        """Restore damaged content from the recovery copy; True when usable again."""
        ...


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
        self._image: ImageMemory | None = None
        self._image_revision = -1  #: revision the image was last written at
        self.image_writes = 0
        self.image_restores = 0  #: restores that used the image (corrected on the way)
        self.image_failures = 0  #: image reads that failed (uncorrectable or damaged)

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
        if self._image is not None:
            try:
                self._write_image()
            except ParameterError:
                del self._defs[component], self._values[component]
                raise

    # -- protected image ---------------------------------------------------------------------
    @property
    def image(self) -> ImageMemory | None:
        """The protected memory holding the table's image (None: not protected)."""
        return self._image

    def protect(self, image: ImageMemory) -> None:
        """Keep the table's image in ``image`` from now on (written now and on every change).

        ``ParameterError`` (nothing changes) when the image does not fit or ``image`` is
        already attached elsewhere; ``TypeError`` when it is not an :class:`ImageMemory`.
        """
        if not isinstance(image, ImageMemory):
            raise TypeError(f"{type(image).__name__} is not an ImageMemory")
        if self._image is not None:
            raise ParameterError("the parameter table is already protected")
        self._fit(self._encode(), image)
        self._image = image
        try:
            self._write_image()
        except ParameterError:
            self._image = None
            raise

    def image_size(self) -> int:
        """Octets the table's image needs now (the region given to :meth:`protect` must
        hold at least this, plus room for values and components still to come)."""
        return len(self._encode())

    def _encode(self) -> bytes:
        return encode_table(self.table())

    @staticmethod
    def _fit(blob: bytes, image: ImageMemory) -> bytes:
        size = int(image.size_bytes)
        if len(blob) > size:
            raise ParameterError(
                f"parameter image of {len(blob)} octets does not fit its {size}-octet region"
            )
        return blob + bytes(size - len(blob))

    def _write_image(self) -> None:
        """Write the current table into the image (ParameterError if it cannot)."""
        if self._image is None:
            return
        content = self._fit(self._encode(), self._image)
        try:
            self._image.load(content)
        except (SatnodeError, OSError) as exc:
            raise ParameterError(f"could not write the parameter image: {exc}") from exc
        self._image_revision = self.revision
        self.image_writes += 1

    def read_image(self) -> dict[str, dict[str, object]]:
        """The table held in the protected image, read back through its correction.

        Raises :class:`ParamImageError` when there is no image, a word is uncorrectable (the
        memory reports it) or the content fails the format's checks (magic, length, CRC).
        Changes no value.
        """
        image = self._image
        if image is None:
            raise ParamImageError("the parameter table has no protected image")
        try:
            head = image.read(0, _HEADER.size)
            length = _HEADER.unpack_from(head)[2]
            if _HEADER.size + length > int(image.size_bytes):
                raise ParamImageError(
                    f"image length {length} exceeds its {image.size_bytes}-octet region"
                )
            blob = image.read(0, _HEADER.size + length)
        except ParamImageError:
            self.image_failures += 1
            raise
        except SatnodeError as exc:
            self.image_failures += 1
            raise ParamImageError(f"parameter image unreadable: {exc}") from exc
        try:
            return decode_table(blob)
        except ValueError as exc:
            self.image_failures += 1
            raise ParamImageError(f"parameter image damaged: {exc}") from None

    def restore(self) -> LoadReport:
        """Values after a processor reset, or an explicit check: from the protected image.

        The image is read through its memory's correction (single-bit upsets corrected).
        When it cannot be read intact, the damaged part is reloaded from the memory's
        recovery copy and read again; if that fails too, the values come from the file
        (:meth:`load`, which rewrites the image). ``problems`` lists every failure. Without
        a protected image this is :meth:`load`. Never raises for damaged content.
        """
        image = self._image
        if image is None:
            return self.load()
        problems: list[str] = []
        for attempt in range(2):
            try:
                table = self.read_image()
            except ParamImageError as exc:
                problems.append(f"image: {exc}")
                if attempt == 0:
                    try:
                        if image.reload():
                            problems.append("image: damaged part reloaded from its recovery copy")
                            continue
                    except (SatnodeError, OSError) as rexc:
                        problems.append(f"image reload: {rexc}")
                break
            report = LoadReport(LoadOutcome.IMAGE, problems)
            self._apply(table, report)
            self.image_restores += 1
            return report
        report = self.load()
        report.problems[:0] = problems
        return report

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
        try:
            self._write_image()
        except ParameterError as exc:
            self._values[component][name] = old
            self.revision += 1  # observers may re-derive; the value is the old one again
            raise ParameterError(f"{component}.{name}: {exc}") from exc
        if persist and self.path is not None:
            try:
                self.save()
            except OSError as exc:
                self._values[component][name] = old
                self.revision += 1
                # A failure leaves the image newer than the table; the next change rewrites it.
                with contextlib.suppress(ParameterError):
                    self._write_image()
                raise ParameterError(f"could not persist {component}.{name}: {exc}") from exc

    def table(self) -> dict[str, dict[str, bool | int | float]]:
        """A copy of every value."""
        return {c: dict(v) for c, v in self._values.items()}

    def save(self) -> None:
        """Write the table atomically; the previous good file becomes the backup. The
        protected image (if any) is rewritten first when it is older than the table
        (``ParameterError`` if that fails)."""
        if self._image is not None and self._image_revision != self.revision:
            self._write_image()
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

        Never raises for a damaged file: the report says what happened. The protected image
        (if any) is rewritten with the result.
        """
        if self.path is None:
            report = LoadReport(LoadOutcome.NO_FILE)
            self._rewrite_image(report)
            return report
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
        self._rewrite_image(report)
        return report

    def _rewrite_image(self, report: LoadReport) -> None:
        """After a load the image holds exactly the loaded table (a failure is reported)."""
        if self._image is not None:
            try:
                self._write_image()
            except ParameterError as exc:
                report.problems.append(str(exc))

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
