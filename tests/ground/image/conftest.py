"""One flight wheel per test session (built with pip from this tree: ~5 s)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def flight_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ground.image import build_flight_wheel

    return build_flight_wheel(tmp_path_factory.mktemp("wheel"))
