"""The import rules of DESIGN.md, checked on the source text of every module.

- native imports nothing of the project;
- hal may import native, never flight;
- flight may import hal's interface modules and registry and native, never hal.sim,
  hal.hil or hal.linux by name;
- hil may import hal and native, never flight.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("flight", "hal", "native", "hil")
BACKENDS = ("hal.sim", "hal.hil", "hal.linux")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{a.name}" for a in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.append(str(node.args[0].value))
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("package", PROJECT)
def test_layer_rules(package: str) -> None:
    bad: list[str] = []
    for path in _modules(package):
        if package == "native" and path.name == "_build_c.py":
            continue
        for name in _imports(path):
            top = _top(name)
            if top not in PROJECT or top == package:
                if package == "flight" and name.startswith(BACKENDS):
                    bad.append(f"{path.relative_to(ROOT)} imports backend {name}")
                continue
            allowed = {
                "native": set(),
                "hal": {"native"},
                "flight": {"hal", "native"},
                "hil": {"hal", "native"},
            }[package]
            if top not in allowed:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
            if package == "flight" and name.startswith(BACKENDS):
                bad.append(f"{path.relative_to(ROOT)} imports backend {name}")
    assert not bad, "\n".join(bad)


def test_flight_never_reads_the_wall_clock() -> None:
    # The OS clock is read only by _time.py (the clocks and the performance counter).
    allowed = {ROOT / "flight" / "core" / "_time.py"}
    bad = []
    for path in _modules("flight"):
        if path in allowed:
            continue
        text = path.read_text()
        for needle in (
            "time.time(",
            "time.monotonic(",
            "time.perf_counter",
            "time.process_time",
            "datetime.now(",
        ):
            if needle in text:
                bad.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not bad, "\n".join(bad)
