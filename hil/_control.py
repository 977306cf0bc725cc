"""The rig control channel, client side: inject, clear and list faults on a running rig."""

from __future__ import annotations

from typing import Any

from hal.hil import CONTROL_TARGET, MessageType, RigLink, Role, encode_value, raise_entry

__all__ = ["RigControl"]


class RigControl:
    """A control session on the rig at ``address`` ("HOST:PORT").

    Faults use the scenario vocabulary (``kind`` of :class:`hal.sim.FaultKind`, ``target``
    ``device``, ``device.channel`` or ``radiation.region``) and are checked as a scenario
    fault would be (ConfigError). Link failures raise RigTimeoutError within the timeout.
    """

    def __init__(self, address: str, *, timeout_s: float = 2.0) -> None:
        self._link = RigLink(address, role=Role.CONTROL, timeout_s=timeout_s)
        self.welcome = self._link.connect()

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        reply = self._link.request(
            {
                "type": MessageType.CALL.value,
                "calls": [
                    [
                        CONTROL_TARGET,
                        method,
                        [encode_value(a) for a in args],
                        {k: encode_value(v) for k, v in kwargs.items()},
                    ]
                ],
            },
            1,
        )
        entry = reply["results"][0]
        if "err" in entry:
            raise_entry(entry)
        return entry.get("ok")

    @property
    def t_ns(self) -> int:
        """The rig's world time at the last reply (ns)."""
        return int(self.welcome["t_ns"])

    def inject(
        self,
        target: str,
        kind: str,
        params: dict[str, float | int] | None = None,
        duration_s: float | None = None,
    ) -> dict[str, Any]:
        """Start a fault now; returns ``{"target", "kind", "t_ns"}``."""
        out: dict[str, Any] = self._call(
            "inject", target, kind, params or {}, duration_s=duration_s
        )
        return out

    def clear(self, target: str, kind: str) -> int:
        """End a control-channel fault; returns how many were cleared."""
        return int(self._call("clear", target, kind))

    def list(self) -> list[dict[str, Any]]:
        """Active faults (``source`` "control" or "scenario")."""
        out: list[dict[str, Any]] = self._call("list")
        return out

    def close(self) -> None:
        """End the session."""
        self._link.close()

    def __enter__(self) -> RigControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
