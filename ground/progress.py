"""The text progress bar of the long-running ground commands (``sim``, ``constellation``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

__all__ = ["progress_bar"]


def progress_bar(stream: TextIO, width: int = 40) -> Callable[[float], None]:
    """A ``progress(fraction)`` callback drawing ``[####....]  42.0%`` on ``stream`` (a
    terminal: the line is redrawn in place; a newline when the fraction reaches 1)."""

    def show(frac: float) -> None:
        filled = round(frac * width)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {frac * 100:5.1f}%")
        if frac >= 1.0:
            stream.write("\n")
        stream.flush()

    return show
