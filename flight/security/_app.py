"""Installing the security application and what the node keeps of it."""

from __future__ import annotations

from typing import Any, Final

from flight.core import InstallContext
from flight.security._component import SecurityComponent
from flight.security._config import Config
from flight.security._state import MISSION_SAS, SecurityState
from flight.tmtc import TmFramer, UdpGroundLink
from hal.platform import Storage

__all__ = ["UPLINK_SERVICE", "SecurityApp", "install", "sa_dictionary"]

#: The named service under which the composition offers the node's ground link.
UPLINK_SERVICE: Final = "tmtc.uplink"


class SecurityApp:
    """The installed security application: its component and its run summary."""

    def __init__(self, component: SecurityComponent, link: UdpGroundLink | None) -> None:
        self.component = component
        self.link = link

    def summary(self) -> dict[str, Any]:
        """The ``security`` section of summary.json: whether security is required, where the
        state came from, its NV generation, SA states, key counts by state (never a key) and
        the rejection counters."""
        c = self.component
        hk = c.hk
        keys: dict[str, int] = {}
        if c.state is not None:
            for st in c.state.key_states().values():
                keys[st.name.lower()] = keys.get(st.name.lower(), 0) + 1
        out: dict[str, Any] = {
            "required": c.cfg.required,
            "origin": c.state.origin if c.state is not None else None,
            "generation": c.state.generation if c.state is not None else None,
            "sas": {str(k): v for k, v in c.sa_states().items()},
            "keys": keys,
        }
        for f in c.DECLARATION.telemetry:
            out[f.name] = int(getattr(hk, f.name))
        if self.link is not None:
            out["uplink"] = self.link.counters()
        return out

    def sample(self) -> dict[str, float]:
        """Values for the ground's time series."""
        hk = self.component.hk
        return {
            "security.frames_accepted": float(hk.frames_accepted),
            "security.rejected": float(
                hk.rej_frame + hk.rej_spi + hk.rej_sa + hk.rej_replay + hk.rej_window
                + hk.rej_rollover + hk.rej_mac + hk.rej_segment + hk.rej_bare
            ),
        }  # fmt: skip


def sa_dictionary(cfg: Config) -> dict[str, Any]:
    """The security section of the dictionary: frame parameters and every SA (no keys)."""
    return {
        "required": cfg.required,
        "scid": cfg.scid,
        "window": cfg.window,
        "tc_frame": {
            "version": 0,
            "bypass": True,
            "segment_header": True,
            "max_octets": 1024,
            "fecf": "crc-16-ccitt-false",
        },
        "tm_frames": {"enabled": cfg.downlink_frames, "octets": cfg.tm_frame_len, "vcid": 0},
        "security_associations": [sa.describe() for sa in MISSION_SAS],
        "management": {"spi": MISSION_SAS[-1].spi, "pus_report_service": 150},
    }


def install(ctx: InstallContext, cfg: Config) -> SecurityApp:
    """Add the security component, open the key store and become the ground link's gate."""
    state = None
    if cfg.storage:
        storage = ctx.device("storage", cfg.storage, Storage)
        state = SecurityState.open(storage, cfg.window, cfg.provision or None)
    tmtc = ctx.tmtc
    component = SecurityComponent(
        cfg,
        ctx.component_id("security"),
        state,
        max_packet_len=int(tmtc.max_packet_len) if tmtc is not None else 4096,
        send_tm=ctx.send_tm,
    )
    ctx.add(component, ctx.base_hz)
    link = ctx.optional(UPLINK_SERVICE, UdpGroundLink)
    if link is not None:
        link.set_gate(component)
        if cfg.downlink_frames:
            link.set_framer(TmFramer(cfg.scid, 0, link.send_frame, cfg.tm_frame_len))
    return SecurityApp(component, link)
