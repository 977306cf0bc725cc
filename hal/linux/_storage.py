"""Non-volatile storage as files: one file per blob, replaced with fsync and atomic rename."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from hal._common import Family
from hal.linux._fs import TMP_PREFIX, FileOps
from hal.platform import BLOB_NAME_PATTERN, Storage, StorageReading
from native.errors import ConfigError, DeviceCommandError, DeviceUnavailableError

__all__ = ["FileStorage"]


class FileStorage(Storage):
    """Named blobs as files in ``directory`` (family ``storage``).

    ``capacity_bytes``: total payload accepted (bytes, > 0). ``fs``: the file primitives
    (:class:`~hal.linux._fs.FileOps`; a power-loss campaign passes one that cuts power).
    ``clock``: returns the timestamp of a status reading (ns). Leftover temporary files of an
    interrupted write are ignored by :meth:`list` and removed by the next write of that name.
    """

    family: ClassVar[Family] = Family.STORAGE

    def __init__(
        self,
        name: str,
        directory: str | Path,
        *,
        capacity_bytes: int = 1 << 30,
        fs: FileOps | None = None,
        clock: Callable[[], int] | None = None,
        create: bool = True,
    ) -> None:
        if isinstance(capacity_bytes, bool) or not isinstance(capacity_bytes, int):
            raise ConfigError(f"devices.{name}.capacity_bytes: must be an integer")
        if capacity_bytes < 1:
            raise ConfigError(f"devices.{name}.capacity_bytes: must be >= 1")
        self._name = name
        self._dir = Path(directory)
        self._capacity = capacity_bytes
        self._fs = fs if fs is not None else FileOps()
        self._clock = clock
        self._powered = True
        if create:
            try:
                self._dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"devices.{name}.directory: cannot create {self._dir}: {exc}"
                ) from exc
        if not self._dir.is_dir():
            raise ConfigError(f"devices.{name}.directory: {self._dir} is not a directory")

    @property
    def name(self) -> str:
        """Device name."""
        return self._name

    @property
    def directory(self) -> Path:
        """Where the blob files are."""
        return self._dir

    @property
    def fs(self) -> FileOps:
        """The file primitives every write goes through."""
        return self._fs

    @property
    def capacity_bytes(self) -> int:
        """Total payload capacity (bytes)."""
        return self._capacity

    def _set_switch(self, on: bool) -> None:
        """Harness power switch (conformance kit): off, every call is unavailable."""
        self._powered = bool(on)

    def _check_name(self, name: str) -> Path:
        if not self._powered:
            raise DeviceUnavailableError(f"{self._name}: switched off")
        if not isinstance(name, str) or not BLOB_NAME_PATTERN.fullmatch(name):
            raise DeviceCommandError(
                f"{self._name}: bad blob name {name!r} (pattern {BLOB_NAME_PATTERN.pattern})"
            )
        return self._dir / name

    def _sizes(self) -> dict[str, int]:
        if not self._powered:
            raise DeviceUnavailableError(f"{self._name}: switched off")
        try:
            entries = list(self._dir.iterdir())
        except OSError as exc:
            raise DeviceUnavailableError(f"{self._name}: cannot list {self._dir}: {exc}") from exc
        return {
            p.name: p.stat().st_size
            for p in entries
            if p.is_file()
            and not p.name.startswith(TMP_PREFIX)
            and BLOB_NAME_PATTERN.fullmatch(p.name)
        }

    def write(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` atomically and durably (fsync + rename + fsync dir)."""
        path = self._check_name(name)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DeviceCommandError(f"{self._name}: data must be bytes, got {type(data).__name__}")
        payload = bytes(data)
        sizes = self._sizes()
        used = sum(sizes.values()) - sizes.get(name, 0)
        if used + len(payload) > self._capacity:
            raise DeviceCommandError(
                f"{self._name}: no space for {len(payload)} bytes "
                f"({self._capacity - used} of {self._capacity} free)"
            )
        try:
            self._fs.replace_file(path, payload)
        except OSError as exc:
            raise DeviceCommandError(f"{self._name}: cannot write {name!r}: {exc}") from exc

    def read(self, name: str) -> bytes:
        """Content of blob ``name``; DeviceCommandError if there is none."""
        path = self._check_name(name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise DeviceCommandError(f"{self._name}: no blob named {name!r}") from None
        except OSError as exc:
            raise DeviceUnavailableError(f"{self._name}: cannot read {name!r}: {exc}") from exc

    def list(self) -> tuple[str, ...]:
        """Names of all blobs, sorted."""
        return tuple(sorted(self._sizes()))

    def delete(self, name: str) -> None:
        """Remove blob ``name`` durably; DeviceCommandError if there is none."""
        path = self._check_name(name)
        if not path.is_file():
            raise DeviceCommandError(f"{self._name}: no blob named {name!r}")
        self._fs.remove_file(path)

    def status(self) -> StorageReading:
        """Usage figures."""
        sizes = self._sizes()
        t = int(self._clock()) if self._clock is not None else 0
        return StorageReading(t, True, sum(sizes.values()), self._capacity, len(sizes))
