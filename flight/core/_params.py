"""The parameter store: typed, limit-checked values persisted atomically with a CRC.

Each component declares its parameters (:class:`~flight.core.ParamDef`). The store holds the
current values, validates every change against the declaration, and persists the whole table
to a file by writing a temporary file, syncing it and renaming it over the old one (an atomic
replace on POSIX). The previous good file is kept as ``<name>.bak``.

File format (big-endian)::

    magic b"SNPR" | version u16 (=1) | payload length u32 | CRC-32 (zlib) of payload u32 | payload

The payload is UTF-8 JSON ``{component: {parameter: value}}``: a flat table of scalars, two
levels deep and never more (a payload nested deeper is refused before it is parsed, so a
CRC-valid but hostile file cannot exhaust the parser's recursion). On load, a missing,
truncated or corrupted primary falls back to the backup, then to the declared defaults; the
caller learns which (:class:`LoadOutcome`) and raises an event. Values that are no longer valid
(a limit changed) are replaced by defaults and reported, never loaded.

The files cannot hurt the store: only regular files are read (a directory, FIFO, device or
socket at a file's path is reported, never opened for a blocking read), reads are bounded by
``max_file_bytes``, and every failure is a report entry, never an exception or a hang. A save
that fails is counted (``write_failures``) and reported to the write listeners (the node turns
it into an event); the next save that succeeds repairs both copies: an obstacle at the primary's
path (a directory, FIFO...) is moved aside, and a backup that is missing or damaged is rewritten
with the new table.

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
import re
import stat
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from flight.core._declare import ParamDef
from native.errors import ParameterError, SatnodeError

__all__ = [
    "MAX_FILE_BYTES",
    "ImageMemory",
    "LoadOutcome",
    "LoadReport",
    "ParamImageError",
    "ParamStore",
]

_MAGIC = b"SNPR"
_VERSION = 1
_HEADER = struct.Struct(">4sHII")
#: Default bound on a parameter file (octets): far above any real table (a few KiB), far
#: below anything that could exhaust memory. Larger files are refused unread.
MAX_FILE_BYTES: Final = 1 << 20
#: Nesting of the payload: the table ``{component: {parameter: value}}`` is two levels deep.
_MAX_DEPTH: Final = 2
#: A JSON string (with escapes) or one bracket: what the depth scan must tell apart.
_JSON_TOKEN: Final = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
#: How many quarantine names (``<file>.damaged-<k>``) a save tries for an obstacle.
_QUARANTINE_SLOTS: Final = 8


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


def _check_depth(payload: bytes) -> None:
    """Refuse a payload nested deeper than the table format allows (``ValueError``), before
    the JSON parser sees it (its recursion is bounded only by the interpreter's stack)."""
    depth = 0
    for match in _JSON_TOKEN.finditer(payload):
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
            if depth > _MAX_DEPTH:
                raise ValueError(f"payload nested deeper than {_MAX_DEPTH} levels")
        elif token in (b"}", b"]"):
            depth -= 1


def decode_table(blob: bytes) -> dict[str, dict[str, object]]:
    """Parse a parameter file, raising ``ValueError`` with the reason when it is damaged
    (including a payload nested deeper than the table, or holding non-scalar values)."""
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
    _check_depth(payload)
    table = json.loads(payload.decode())
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ValueError("payload is not a table of tables")
    for values in table.values():
        for name, value in values.items():
            if not isinstance(value, bool | int | float):
                raise ValueError(f"value of {name!r} is not a scalar")
    return table


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The content of the regular file at ``path``, at most ``max_bytes`` octets.

    Raises ``OSError`` (it cannot be opened or read) or ``ValueError`` (it is not a regular
    file, or it is larger than ``max_bytes``). Never blocks on a FIFO (opened non-blocking,
    then refused by type) and never reads more than ``max_bytes + 1`` octets of anything.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > max_bytes:
            raise ValueError(f"{info.st_size} octets, more than the {max_bytes} allowed")
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:  # it grew since fstat
            raise ValueError(f"more than the {max_bytes} octets allowed")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


class ParamStore:
    """Current parameter values of every registered component, persisted to ``path``.

    ``path=None`` keeps the store in memory only (tests, tools). ``max_file_bytes`` bounds
    every read of the files (octets; a larger file is refused unread).
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, max_file_bytes: int = MAX_FILE_BYTES
    ) -> None:
        if max_file_bytes < _HEADER.size:
            raise ParameterError(f"max_file_bytes {max_file_bytes} cannot hold a header")
        self.path = Path(path) if path is not None else None
        self.max_file_bytes = int(max_file_bytes)
        self._defs: dict[str, dict[str, ParamDef]] = {}
        self._values: dict[str, dict[str, bool | int | float]] = {}
        self.saves = 0
        self.rejected = 0
        #: saves that failed (saturating at 2**32 - 1: it is a U32 in housekeeping)
        self.write_failures = 0
        #: why the last save failed ("" once a save succeeds again)
        self.last_write_error = ""
        #: obstacles (directories, FIFOs...) moved away from the files' paths by saves
        self.repairs = 0
        self._write_listeners: list[Callable[[str], object]] = []
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

    def discard_files(self) -> None:
        """Forget what the files hold (a fresh start): the primary, the backup and any
        temporary file are removed; an obstacle at their paths (a directory...) is moved
        aside, never deleted. ``ParameterError`` when a path cannot be cleared."""
        if self.path is None:
            return
        assert self.backup_path is not None
        for path in (self.path, self.backup_path, self.path.with_name(self.path.name + ".tmp")):
            try:
                if self._state(path) == "obstacle":
                    self._move_aside(path)
                else:
                    path.unlink(missing_ok=True)
            except OSError as exc:
                raise ParameterError(f"cannot clear the parameter file {path}: {exc}") from exc

    def add_write_listener(self, listener: Callable[[str], object]) -> None:
        """Call ``listener(reason)`` after every failed save (the node raises an event)."""
        self._write_listeners.append(listener)

    def _write_failed(self, exc: BaseException) -> None:
        self.write_failures = min(self.write_failures + 1, 2**32 - 1)
        self.last_write_error = str(exc)
        for listener in self._write_listeners:
            with contextlib.suppress(Exception):  # a listener must not mask the failure
                listener(self.last_write_error)

    def save(self) -> None:
        """Write the table atomically; the previous good file becomes the backup. The
        protected image (if any) is rewritten first when it is older than the table
        (``ParameterError`` if that fails).

        A failure raises ``OSError`` and is counted and reported to the write listeners;
        nothing is left half-written (the temporary file is removed, the old primary or the
        backup is always a whole table). A successful save repairs both copies: whatever
        blocks the primary's path (a directory, a FIFO) is moved aside, and a missing or
        damaged backup is rewritten with the new table.
        """
        if self._image is not None and self._image_revision != self.revision:
            self._write_image()
        if self.path is None:
            return
        blob = encode_table(self.table())
        try:
            if len(blob) > self.max_file_bytes:
                raise OSError(
                    f"table of {len(blob)} octets exceeds the {self.max_file_bytes}-octet bound"
                )
            self._save(blob)
        except OSError as exc:
            self._write_failed(exc)
            raise
        self.last_write_error = ""
        self.saves += 1

    def _save(self, blob: bytes) -> None:
        path, backup = self.path, self.backup_path
        assert path is not None and backup is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        self._write_new(tmp, blob)
        try:
            state = self._state(path)
            if state == "valid":
                if self._state(backup) == "obstacle":
                    self._move_aside(backup)
                os.replace(path, backup)
            elif state == "obstacle":
                self._move_aside(path)
            # "damaged" (a bad regular file) is simply replaced: it must never become the
            # backup and overwrite the good one.
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        self._sync_dir(path.parent)
        if self._state(backup) != "valid":
            # The backup is missing or damaged: the new table is the only good copy, so it
            # becomes the backup too (a later damaged primary then still falls back).
            btmp = backup.with_name(backup.name + ".tmp")
            self._write_new(btmp, blob)
            try:
                if self._state(backup) == "obstacle":
                    self._move_aside(backup)
                os.replace(btmp, backup)
            except OSError:
                btmp.unlink(missing_ok=True)
                raise
            self._sync_dir(path.parent)

    def _write_new(self, tmp: Path, blob: bytes) -> None:
        """Write ``blob`` to the temporary file ``tmp`` and sync it."""
        if self._state(tmp) == "obstacle":
            self._move_aside(tmp)
        try:
            fd = os.open(
                tmp,
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0),
                0o644,
            )
            try:
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            with contextlib.suppress(OSError):
                if self._state(tmp) != "obstacle":
                    tmp.unlink(missing_ok=True)
            raise

    def _state(self, path: Path) -> str:
        """'missing', 'valid' (a regular file holding a whole table), 'damaged' (a regular
        file that does not) or 'obstacle' (anything else: directory, FIFO, device...)."""
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return "missing"
        if stat.S_ISLNK(info.st_mode):
            try:
                info = os.stat(path)
            except OSError:
                return "obstacle"  # a dangling link
        if not stat.S_ISREG(info.st_mode):
            return "obstacle"
        try:
            decode_table(read_bounded(path, self.max_file_bytes))
        except (OSError, ValueError):
            return "damaged"
        return "valid"

    def _move_aside(self, path: Path) -> None:
        """Take an obstacle off ``path``: a link, FIFO, socket or device entry is unlinked
        (the entry only: nothing it points to is touched); a directory is renamed to
        ``<name>.damaged-<k>`` so that nothing in it is lost. ``OSError`` if impossible."""
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            path.unlink()
        else:
            for k in range(_QUARANTINE_SLOTS):
                aside = path.with_name(f"{path.name}.damaged-{k}")
                if not os.path.lexists(aside):
                    os.rename(path, aside)
                    break
            else:
                raise OSError(f"{path} is a directory and no quarantine name is free")
        self.repairs += 1

    @staticmethod
    def _sync_dir(directory: Path) -> None:
        # The rename is durable only once the directory entry is on disk.
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

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
            if not os.path.lexists(path):
                report.problems.append(f"{path.name}: missing")
                continue
            try:
                table = decode_table(read_bounded(path, self.max_file_bytes))
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
