"""The node: composition, the run loop and the summary of one spacecraft's flight software.

- :mod:`flight.node._topology`: the order of applications from the registry (data flow);
- :mod:`flight.node._compose`: the composition root (core, backend, applications);
- :mod:`flight.node._node`: :class:`Node`, the run loop (plant lock-step, resets, boot);
- :mod:`flight.node._plant`: :func:`attach_plant`, the one plant lock-step loop;
- :mod:`flight.node._summary`: the run summary.
"""

from flight.node._compose import (
    Composition,
    NodeOptions,
    TmArchive,
    compose,
    make_context,
    message_types,
    resolve_downlink,
)
from flight.node._node import Node
from flight.node._plant import attach_plant
from flight.node._summary import build_summary
from flight.node._topology import dataflow_order, dependencies

__all__ = [
    "Composition",
    "Node",
    "NodeOptions",
    "TmArchive",
    "attach_plant",
    "build_summary",
    "compose",
    "dataflow_order",
    "dependencies",
    "make_context",
    "message_types",
    "resolve_downlink",
]
