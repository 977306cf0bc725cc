"""The one node harness for tests and benchmarks: plant lock-step in one place.

- :func:`attach_plant` (from :mod:`flight.node`): keeps a stepped plant (the simulated world)
  in lock-step with an executive. The node uses it, and so does every test or bench that
  builds an executive by hand: the plant-sync loop exists once.
- :func:`node_config`: the embedded default configuration with only the applications a test
  wants, the ground link off, and overrides merged in.
- :func:`build_node`: a whole :class:`~flight.node.Node` in a temporary folder, optionally with a
  fault scenario written from text.

Everything waits on onboard time (``Node.run`` / ``Executive.run_for``), never on the wall
clock, so a test behaves the same at any speed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from flight.apps import APPLICATIONS
from flight.core import AppSpec, Executive
from flight.node import attach_plant
from native.errors import ConfigError

__all__ = ["attach_plant", "build_node", "install_app", "node_config"]


def node_config(
    overrides: Mapping[str, Any] | None = None,
    *,
    apps: Iterable[str] | None = None,
    config_file: str | Path | None = None,
) -> dict[str, Any]:
    """The default configuration (or ``config_file`` merged over it) with the ground link off,
    keeping only the application sections named in ``apps`` (None: all of them), then
    ``overrides`` merged in (same rules as a user file)."""
    from flight.config import load_config, merge

    cfg = load_config(config_file)
    cfg = merge(cfg, {"tmtc": {"ground_link": False}})
    if apps is not None:
        keep = set(apps)
        unknown = keep - {spec.section for spec in APPLICATIONS}
        if unknown:
            raise ConfigError(f"unknown application(s): {', '.join(sorted(unknown))}")
        for spec in APPLICATIONS:
            if spec.section not in keep:
                cfg.pop(spec.section, None)
    if overrides:
        cfg = merge(cfg, dict(overrides))
    return cfg


def build_node(
    tmp: Path,
    config: dict[str, Any],
    *,
    scenario: str | None = None,
    applications: Sequence[AppSpec] = APPLICATIONS,
    **options: Any,
) -> Any:
    """A :class:`~flight.node.Node` writing into ``tmp/out``; ``scenario`` is TOML text
    (dedented) written to ``tmp/scenario.toml``; ``applications`` is the registry (default:
    :data:`flight.apps.APPLICATIONS`); ``options`` are :class:`NodeOptions` fields."""
    from flight.node import Node, NodeOptions

    scenario_path = None
    if scenario is not None:
        scenario_path = tmp / "scenario.toml"
        scenario_path.write_text(textwrap.dedent(scenario))
    options.setdefault("out_dir", tmp / "out")
    return Node(config, NodeOptions(scenario=scenario_path, **options), applications)


def install_app(
    section: str,
    table: Mapping[str, Any],
    *,
    executive: Executive,
    backend: Any = None,
    tmtc: Any = None,
    services: dict[str, Any] | None = None,
    seed: int = 1,
) -> Any:
    """Install the registered application ``section`` from its configuration ``table`` on a
    hand-built executive (no node), exactly as composition does: its schema parses the
    table, it installs through an :class:`~flight.core.InstallContext`, then its post-install
    steps run. ``services`` is shared with other apps installed the same way."""
    import importlib

    from flight.apps import app_spec
    from flight.node import make_context

    spec = app_spec(section)
    module = importlib.import_module(spec.module)
    after: list[Callable[[], None]] = []
    ctx = make_context(
        spec,
        executive=executive,
        backend=backend,
        tmtc=tmtc,
        services=services,
        seed=seed,
        after=after,
    )
    app = module.install(ctx, module.parse_config(dict(table)))
    for callback in after:
        callback()
    return app
