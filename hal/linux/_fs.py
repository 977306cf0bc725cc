"""Power-loss-safe file primitives: every write, fsync and rename goes through one object.

:class:`FileOps` is the storage layer of the ``linux`` backend. Each primitive calls
:meth:`FileOps.point` first, so a power-loss campaign can interpose on the layer (a subclass
that cuts power at the n-th point) and enumerate every write and fsync point of a procedure.

A blob is replaced atomically: write a temporary file (in chunks), fsync it, rename it over
the old name, fsync the directory. After a power loss the name holds the old or the new
content, never a mixture.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_CHUNK_BYTES", "TMP_PREFIX", "FileOps"]

#: Temporary files of an atomic replace start with this (a listing ignores them).
TMP_PREFIX = ".tmp-"
#: Bytes written per ``write`` call (one interposition point each).
DEFAULT_CHUNK_BYTES = 1 << 20


class FileOps:
    """The file primitives of the ``linux`` backend's storage (write, fsync, rename...).

    ``chunk_bytes``: bytes per write call (> 0). Subclasses override :meth:`point` to observe
    or interrupt the sequence; the base class does nothing there.
    """

    def __init__(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, int) or chunk_bytes < 1:
            raise ValueError(f"chunk_bytes must be an int >= 1, got {chunk_bytes!r}")
        self.chunk_bytes = chunk_bytes

    def point(self, kind: str, path: Path, data: bytes | None = None) -> None:
        """Called before every primitive: ``kind`` is ``open``, ``write``, ``fsync``,
        ``rename``, ``fsync_dir`` or ``unlink``; ``data`` the bytes of a ``write``."""

    # -- primitives ------------------------------------------------------------------------
    def open_new(self, path: Path) -> int:
        """Create (truncate) ``path`` for writing; returns the descriptor."""
        self.point("open", path)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)

    def write(self, fd: int, path: Path, data: bytes) -> None:
        """Write all of ``data`` to ``fd`` (the file ``path``)."""
        self.point("write", path, data)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def fsync(self, fd: int, path: Path) -> None:
        """Flush ``path``'s data to the device."""
        self.point("fsync", path)
        os.fsync(fd)

    def close(self, fd: int) -> None:
        """Close a descriptor (not a durability point)."""
        os.close(fd)

    def rename(self, src: Path, dst: Path) -> None:
        """Atomically rename ``src`` over ``dst``."""
        self.point("rename", dst)
        os.replace(src, dst)

    def fsync_dir(self, directory: Path) -> None:
        """Make the directory's entries (renames, unlinks) durable."""
        self.point("fsync_dir", directory)
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def unlink(self, path: Path) -> None:
        """Remove ``path`` (missing is fine)."""
        self.point("unlink", path)
        path.unlink(missing_ok=True)

    # -- composite -------------------------------------------------------------------------
    def replace_file(self, path: Path, data: bytes) -> None:
        """Replace ``path`` with ``data`` atomically and durably (write the temporary file in
        chunks, fsync, rename, fsync the directory). On error the temporary file is removed
        and ``path`` is unchanged."""
        tmp = path.with_name(TMP_PREFIX + path.name)
        fd = self.open_new(tmp)
        try:
            view = memoryview(data)
            for i in range(0, len(view), self.chunk_bytes):
                self.write(fd, tmp, bytes(view[i : i + self.chunk_bytes]))
            self.fsync(fd, tmp)
        except BaseException:
            self.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        self.close(fd)
        self.rename(tmp, path)
        self.fsync_dir(path.parent)

    def remove_file(self, path: Path) -> None:
        """Remove ``path`` durably (unlink, fsync the directory)."""
        self.unlink(path)
        self.fsync_dir(path.parent)
