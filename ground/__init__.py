"""satnode's ground segment: everything that runs off the spacecraft.

The ``satnode`` command (:mod:`ground.cli`), the run report and its plots
(:mod:`ground.report`), fault-injection campaigns (:mod:`ground.campaigns`), benchmark drivers
(:mod:`ground.bench`), the dictionary export (:mod:`ground.dictionary`) and the operator's
tool: :class:`Commander` (:mod:`ground.commander`), the Python API that commands a running
node and watches its telemetry by name, and ``satnode ground`` (:mod:`ground.operate`) on top
of it. Flight code (``flight``, ``hal``, ``native``, ``hil``) never imports this package; it
may import all of them.
"""

from ground.commander import (
    CommandArgumentError,
    Commander,
    CommanderError,
    CommanderTimeout,
    CommandFailed,
    CommandResult,
    Telemetry,
    Uplink,
)

__all__ = [
    "CommandArgumentError",
    "CommandFailed",
    "CommandResult",
    "Commander",
    "CommanderError",
    "CommanderTimeout",
    "Telemetry",
    "Uplink",
]
