"""The import rules of DESIGN.md, checked on the source text of every module.

- native imports nothing of the project;
- hal may import native, never flight, hil or ground;
- flight may import hal's interface modules and registry and native, never hal.sim,
  hal.hil or hal.linux by name;
- hil may import hal and native, never flight or ground;
- ground may import everything; nothing imports ground;
- flight, hal and native never import plotting (matplotlib) or test tools (pytest,
  hypothesis): they are the flight image;
- no module imports another package's private module: ``a.b._c`` (or a private name
  ``_c`` of package ``a.b``) is imported only by modules inside package ``a.b``. What other
  packages need gets a public name (``native.constants``, ``native.jit``, ``native.kernels``,
  ``flight.tmtc.require_crc_extension``...).

The checks read imports from the syntax tree (``import``, ``from ... import`` with relative
imports resolved, and ``importlib.import_module("...")`` with a literal name), so a rule is
caught wherever the import sits, including inside functions. ``ground/`` is checked when it
exists (it is created by the restructuring of issue 12).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Top-level packages of the project, in layer order, and what each may import.
ALLOWED: dict[str, frozenset[str]] = {
    "native": frozenset(),
    "hal": frozenset({"native"}),
    "flight": frozenset({"hal", "native"}),
    "hil": frozenset({"hal", "native"}),
    "ground": frozenset({"flight", "hal", "native", "hil"}),
}
PROJECT = tuple(ALLOWED)
BACKENDS = ("hal.sim", "hal.hil", "hal.linux")
#: The flight image: these packages never import plotting or test tools.
FLIGHT_IMAGE = ("flight", "hal", "native")
FORBIDDEN_IN_FLIGHT_IMAGE = ("matplotlib", "pytest", "hypothesis", "_pytest")


@dataclass(frozen=True, slots=True)
class Import:
    """One imported name: the dotted module (or module.attribute) and where it is imported."""

    name: str
    line: int


def _module_name(path: Path) -> tuple[str, bool]:
    """Dotted module name of ``path`` and whether it is a package ``__init__``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _imports(path: Path) -> list[Import]:
    """Every module (and ``module.name`` for ``from module import name``) ``path`` imports."""
    module, is_package = _module_name(path)
    here = module.split(".") if is_package else module.split(".")[:-1]
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append(Import(target, node.lineno))
            found.extend(Import(f"{target}.{a.name}", node.lineno) for a in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(Import(node.args[0].value, node.lineno))
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _present(packages: tuple[str, ...]) -> list[str]:
    return [p for p in packages if (ROOT / p / "__init__.py").is_file()]


def _top(name: str) -> str:
    return name.split(".")[0]


def _private_owner(name: str) -> str | None:
    """The package whose private module or name ``name`` reaches into, or None.

    ``flight.tmtc._crc.crc16`` -> ``flight.tmtc``; ``native._jit`` -> ``native``;
    ``native.crc16`` -> None. Dunder names (``__future__``, ``__version__``) are public.
    """
    parts = name.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            return ".".join(parts[:i])
    return None


def _inside(module: str, is_package: bool, owner: str) -> bool:
    """Whether ``module`` lies inside package ``owner`` (may use its private modules)."""
    package = module if is_package else module.rpartition(".")[0]
    return package == owner or package.startswith(owner + ".")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# -- the rules, as functions of one module (so the rules themselves can be tested) -----------
def layer_violations(path: Path, package: str) -> list[str]:
    """Imports of ``path`` (a module of top-level ``package``) that break the layer rules."""
    bad: list[str] = []
    for imp in _imports(path):
        top = _top(imp.name)
        if package == "flight" and imp.name.startswith(BACKENDS):
            bad.append(f"{_rel(path)}:{imp.line} imports backend {imp.name}")
        if top in ALLOWED and top != package and top not in ALLOWED[package]:
            bad.append(f"{_rel(path)}:{imp.line} imports {imp.name}")
    return bad


def private_violations(path: Path) -> list[str]:
    """Imports of another package's private module or name by ``path``."""
    module, is_package = _module_name(path)
    bad: dict[tuple[int, str], str] = {}
    for imp in _imports(path):
        if _top(imp.name) not in ALLOWED:
            continue  # third-party privates (numba internals...) are their own business
        owner = _private_owner(imp.name)
        if owner is not None and not _inside(module, is_package, owner):
            # One report per statement and private module (not one per imported name).
            private = ".".join(imp.name.split(".")[: owner.count(".") + 2])
            bad.setdefault(
                (imp.line, private),
                f"{_rel(path)}:{imp.line} imports {private} (private to {owner})",
            )
    return list(bad.values())


def flight_image_violations(path: Path) -> list[str]:
    """Imports of plotting or test tools by ``path`` (a module of the flight image)."""
    return [
        f"{_rel(path)}:{imp.line} imports {imp.name}"
        for imp in _imports(path)
        if _top(imp.name) in FORBIDDEN_IN_FLIGHT_IMAGE
    ]


# -- the tree -----------------------------------------------------------------------------------
@pytest.mark.parametrize("package", _present(PROJECT))
def test_layer_rules(package: str) -> None:
    bad: list[str] = []
    for path in _modules(package):
        if package == "native" and path.name == "_build_c.py":
            continue  # the cffi build script runs at install, outside the package
        bad.extend(layer_violations(path, package))
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", _present(PROJECT))
def test_no_private_imports_across_packages(package: str) -> None:
    bad = [v for path in _modules(package) for v in private_violations(path)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", FLIGHT_IMAGE)
def test_flight_image_never_imports_plotting_or_test_tools(package: str) -> None:
    bad = [v for path in _modules(package) for v in flight_image_violations(path)]
    assert not bad, "\n".join(bad)


def test_nothing_imports_ground() -> None:
    bad = [
        f"{_rel(path)}:{imp.line} imports {imp.name}"
        for package in _present(PROJECT)
        if package != "ground"
        for path in _modules(package)
        for imp in _imports(path)
        if _top(imp.name) == "ground"
    ]
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
                bad.append(f"{_rel(path)}: {needle}")
    assert not bad, "\n".join(bad)


# -- the checker itself: each rule catches what it must and nothing else ----------------------
@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """``fake(rel_path, source)``: a module at a project-relative path under a temporary root."""
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)

    def write(rel: str, source: str) -> Path:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        return path

    return write


@pytest.mark.parametrize(
    ("rel", "source", "expected"),
    [
        # another package's private module, in every import form
        ("flight/node.py", "from flight.tmtc._crc import crc16\n", ["flight.tmtc"]),
        ("flight/compute/_eo.py", "from native._jit import kernel\n", ["native"]),
        ("hal/sim/x.py", "import native._orbit_constants\n", ["native"]),
        ("flight/power/_x.py", "from native import _env\n", ["native"]),
        ("flight/power/_x.py", "from ..tmtc._crc import crc16\n", ["flight.tmtc"]),
        ("ground/cli.py", "importlib.import_module('flight._config')\n", ["flight"]),
        (
            "flight/fdir/_x.py",
            "def f():\n    from flight.core._bus import SoftwareBus\n",
            ["flight.core"],
        ),
        # inside the owning package (or below it): allowed
        ("flight/tmtc/_services.py", "from flight.tmtc._crc import crc16\n", []),
        ("flight/tmtc/pus/_x.py", "from flight.tmtc._crc import crc16\n", []),
        ("flight/tmtc/__init__.py", "from ._crc import crc16\n", []),
        ("flight/fdir/_manager.py", "from flight._sections import parse_section\n", []),
        ("native/_orbit.py", "from native._orbit_numba import rk4_step\n", []),
        # public names, dunders and third-party privates
        ("flight/node.py", "from flight.tmtc import require_crc_extension\n", []),
        (
            "hal/sim/x.py",
            "from native.constants import AU_M\nfrom __future__ import annotations\n",
            [],
        ),
        ("native/x.py", "from numba.core._utils import y\n", []),
    ],
)
def test_private_rule(
    fake: Callable[[str, str], Path], rel: str, source: str, expected: list[str]
) -> None:
    found = private_violations(fake(rel, source))
    assert [v.rpartition("(private to ")[2].rstrip(")") for v in found] == expected


@pytest.mark.parametrize(
    ("rel", "package", "source", "bad"),
    [
        ("native/x.py", "native", "import hal\n", True),
        ("hal/x.py", "hal", "from flight.core import Component\n", True),
        ("hal/x.py", "hal", "import native.errors\n", False),
        ("flight/x.py", "flight", "from hal.sim import SimBackend\n", True),
        ("flight/x.py", "flight", "from hal.registry import open_backend\n", False),
        ("flight/x.py", "flight", "import ground.report\n", True),
        ("hil/x.py", "hil", "from flight import node\n", True),
        ("ground/x.py", "ground", "from flight.node import Node\nimport hil\n", False),
    ],
)
def test_layer_rule(
    fake: Callable[[str, str], Path], rel: str, package: str, source: str, bad: bool
) -> None:
    assert bool(layer_violations(fake(rel, source), package)) is bad


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("import matplotlib.pyplot as plt\n", True),
        ("def plot():\n    from matplotlib import pyplot\n", True),
        ("import pytest\n", True),
        ("from hypothesis import given\n", True),
        ("import numpy\n", False),
    ],
)
def test_flight_image_rule(fake: Callable[[str, str], Path], source: str, bad: bool) -> None:
    assert bool(flight_image_violations(fake("flight/x.py", source))) is bad
