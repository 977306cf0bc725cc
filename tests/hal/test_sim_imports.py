"""The sim backend's import structure: devices never depend on the backend (no cycle).

The backend (``hal/sim/_backend.py``) imports every device module; a device reaches the
backend only through its :class:`hal.sim._context.DeviceContext`. These checks read the source
(AST), so an import hidden under ``if TYPE_CHECKING:`` or inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hal.sim

SIM_DIR = Path(hal.sim.__file__).parent
#: Modules allowed to know the backend: the backend itself and the package's public face.
BACKEND_SIDE = frozenset({"_backend.py", "__init__.py"})
DEVICE_MODULES = sorted(
    p for p in SIM_DIR.rglob("*.py") if p.parent != SIM_DIR or p.name not in BACKEND_SIDE
)


def _imports(path: Path, location: Path | None = None) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved as if the file
    were at ``location``, default its own path)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    where = location if location is not None else path
    package = ".".join(where.relative_to(SIM_DIR.parent.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _names(path: Path) -> set[str]:
    """Every identifier, attribute and imported name used in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.alias):
            out.add(node.name.rsplit(".", 1)[-1])
    return out


def test_there_are_device_modules_to_check() -> None:
    names = {p.name for p in DEVICE_MODULES}
    assert {"sensors.py", "thermal.py", "power.py", "attitude.py", "_base.py"} <= names


@pytest.mark.parametrize("path", DEVICE_MODULES, ids=lambda p: str(p.relative_to(SIM_DIR)))
def test_device_module_does_not_import_the_backend(path: Path) -> None:
    imported = _imports(path)
    assert not {m for m in imported if m.startswith("hal.sim._backend")}, imported
    # The package's __init__ imports the backend, so importing the package is a cycle too.
    assert "hal.sim" not in imported
    assert not {
        m
        for m in imported
        if m.startswith("hal.sim.")
        and m.count(".") == 2
        and m.split(".")[2] in {"SimBackend", "open_sim_backend", "DEVICE_CLASSES"}
    }


@pytest.mark.parametrize("path", DEVICE_MODULES, ids=lambda p: str(p.relative_to(SIM_DIR)))
def test_device_module_does_not_touch_backend_internals(path: Path) -> None:
    used = _names(path)
    assert not used & {"SimBackend", "_push", "_set", "_pushed"}


def test_the_checker_catches_a_backend_import(tmp_path: Path) -> None:
    # The oracle must be able to fail: a device module importing the backend the old way.
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ._backend import SimBackend\n"
        "def f(b):\n"
        "    b._push()\n"
    )
    assert "hal.sim._backend" in _imports(probe, location=SIM_DIR / "probe.py")
    assert {"SimBackend", "_push"} <= _names(probe)
