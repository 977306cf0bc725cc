"""Golden data for the tests: every file here has its source named in ``SOURCES.md``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["DATA_DIR", "load"]

#: This folder.
DATA_DIR = Path(__file__).resolve().parent


def load(name: str) -> Any:
    """The parsed content of ``tests/data/<name>`` (``.json`` or ``.toml``)."""
    path = DATA_DIR / name
    if path.suffix == ".json":
        return json.loads(path.read_text())
    if path.suffix == ".toml":
        return tomllib.loads(path.read_text())
    raise ValueError(f"no loader for {name!r}")
