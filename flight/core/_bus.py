"""The software bus: typed messages, latest-value reads and bounded subscriber queues.

Applications talk through the bus, never by holding references to each other. A message is an
instance of a frozen, slotted dataclass whose type is its topic; field names carry units
(``power_w``, ``temp_c``, ``soc_frac``). ``latest(T)`` returns the newest ``T`` published;
``subscribe(T, depth)`` gives a queue that keeps at most ``depth`` messages and counts the
ones it had to drop (newest dropped when full, so a slow reader sees a consistent prefix).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any, Generic, TypeVar

from native.errors import BusError

__all__ = ["SoftwareBus", "Subscription"]

M = TypeVar("M")


class Subscription(Generic[M]):
    """A bounded queue of messages of one type for one reader."""

    __slots__ = ("_queue", "depth", "drops", "received", "topic")

    def __init__(self, topic: type[M], depth: int) -> None:
        self.topic = topic
        self.depth = depth
        self._queue: deque[M] = deque()
        self.drops = 0
        self.received = 0

    def _offer(self, msg: M) -> None:
        if len(self._queue) >= self.depth:
            self.drops += 1
            return
        self._queue.append(msg)
        self.received += 1

    def pop(self) -> M | None:
        """Oldest queued message, or None when empty."""
        return self._queue.popleft() if self._queue else None

    def drain(self) -> list[M]:
        """All queued messages, oldest first; the queue is left empty."""
        items = list(self._queue)
        self._queue.clear()
        return items

    def __len__(self) -> int:
        return len(self._queue)


def _check_topic(topic: type) -> None:
    params = getattr(topic, "__dataclass_params__", None)
    if not dataclasses.is_dataclass(topic) or params is None or not params.frozen:
        raise BusError(f"{topic.__name__} is not a frozen dataclass; bus messages must be")
    if not hasattr(topic, "__slots__"):
        raise BusError(f"{topic.__name__} must be a slotted dataclass (slots=True)")


class SoftwareBus:
    """Publish/subscribe by message type, with latest-value reads and drop counters."""

    def __init__(self) -> None:
        self._latest: dict[type, Any] = {}
        self._subs: dict[type, list[Subscription[Any]]] = {}
        self._known: set[type] = set()
        self.published: dict[type, int] = {}

    def _admit(self, topic: type) -> None:
        if topic not in self._known:
            _check_topic(topic)
            self._known.add(topic)
            self.published.setdefault(topic, 0)

    def publish(self, msg: object) -> None:
        """Publish ``msg`` on the topic of its type (``BusError`` if it is not a bus message)."""
        topic = type(msg)
        if topic not in self._known:
            self._admit(topic)
        self._latest[topic] = msg
        self.published[topic] += 1
        subs = self._subs.get(topic)
        if subs:
            for sub in subs:
                sub._offer(msg)

    def latest(self, topic: type[M]) -> M | None:
        """Newest published message of type ``topic``, or None if none yet."""
        return self._latest.get(topic)

    def subscribe(self, topic: type[M], depth: int = 16) -> Subscription[M]:
        """A new queue receiving every later message of ``topic`` (at most ``depth`` held)."""
        if depth < 1:
            raise BusError("subscription depth must be >= 1")
        self._admit(topic)
        sub: Subscription[M] = Subscription(topic, depth)
        self._subs.setdefault(topic, []).append(sub)
        return sub

    def drops(self) -> dict[str, int]:
        """Total dropped messages per topic name, over all subscriptions."""
        return {t.__name__: sum(s.drops for s in subs) for t, subs in self._subs.items()}
