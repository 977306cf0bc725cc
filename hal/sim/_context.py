"""What a simulated device may use of its backend: the :class:`DeviceContext`.

A simulated device never holds the backend. It gets a context at creation holding exactly
what it needs: the world it reads and drives, its own random stream, the clock, a way to say
"my declared loads or heat changed" and the facts of its node (seed, name on the optical
channel, the channel itself). The backend builds one context per device; a test can build
one around a bare :class:`~hal.sim.world.World` to exercise a device alone.

Keeping the dependency this way round (backend -> devices -> context, never devices ->
backend) is what breaks the old import cycle; ``tests/hal/test_sim_imports.py`` keeps it
broken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["DeviceContext", "OpticalMedium"]


@runtime_checkable
class OpticalMedium(Protocol):
    """The in-process medium laser terminals of different nodes exchange frames through
    (implemented by :class:`hal.sim.laser.OpticalChannel`)."""

    def attach(self, node: str, terminal: Any) -> None:
        """Make ``terminal`` reachable as a terminal of node ``node``."""
        ...

    def detach(self, node: str, terminal: Any) -> None:
        """Remove ``terminal`` (no-op if absent)."""
        ...

    def deliver(self, src_node: str, dst_node: str, frame: bytes) -> bool:
        """Hand ``frame`` to ``dst_node``'s terminal in COMM with ``src_node``; False if none."""
        ...


class DeviceContext:
    """The services of a simulated backend that one device may use.

    ``world``: the :class:`~hal.sim.world.World` (read its views, command its plant).
    ``name``: the device name; its random stream is ``world.rng(name)``.
    ``seed``: the world seed (for pure functions of the seed, such as synthetic scenes).
    ``node_name``: this node's name on the optical channel.
    ``optical_channel``: the medium of the laser terminals.
    ``on_loads_changed``: called by :meth:`loads_changed`; the backend re-sums every
    device's declared rail loads and heat into the world (a no-op is fine for a lone device).
    """

    __slots__ = ("_on_loads_changed", "name", "node_name", "optical_channel", "seed", "world")

    def __init__(
        self,
        world: Any,
        name: str,
        *,
        node_name: str = "self",
        optical_channel: OpticalMedium,
        on_loads_changed: Callable[[], None],
    ) -> None:
        self.world = world
        self.name = name
        self.seed = int(world.seed)
        self.node_name = node_name
        self.optical_channel = optical_channel
        self._on_loads_changed = on_loads_changed

    def now_ns(self) -> int:
        """Simulated time (ns since the scenario epoch)."""
        return int(self.world.t_ns)

    def rng(self) -> np.random.Generator:
        """This device's random stream (fixed by the world seed and the device name)."""
        gen: np.random.Generator = self.world.rng(self.name)
        return gen

    def loads_changed(self) -> None:
        """Declare that this device's rail loads or heat changed (a command, a fault): the
        world sees the new sums at once, not only at the next step."""
        self._on_loads_changed()
