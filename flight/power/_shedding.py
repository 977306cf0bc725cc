"""Load shedding by priority with hysteresis.

Levels (see :class:`flight.messages.ShedLevel`): 1 sheds compute, 2 also the laser terminal,
3 also the payload heaters. Level k is entered when the state of charge falls below
``enter_soc[k-1]`` and left only when it rises above that threshold plus ``hysteresis_frac``,
so the loads do not chatter around a threshold. The mode can force a minimum level (SAFE
sheds everything sheddable). Bus, thermal control and communications are never in the list.
"""

from __future__ import annotations

from flight.messages import ShedLevel

__all__ = ["NEVER_SHED", "ShedPolicy"]

#: Rails that no policy may shed.
NEVER_SHED = frozenset({"avionics", "adcs", "comms", "heaters", "bus", "obc", "thermal"})


class ShedPolicy:
    """Chooses the shed level from SoC with per-level hysteresis."""

    def __init__(self, enter_soc: tuple[float, float, float], hysteresis_frac: float) -> None:
        if not enter_soc[0] > enter_soc[1] > enter_soc[2] > 0:
            raise ValueError("shed thresholds must decrease: compute > laser > payload heaters")
        if not 0 < hysteresis_frac < 0.5:
            raise ValueError("hysteresis_frac must be in (0, 0.5)")
        self.enter_soc = enter_soc
        self.hysteresis_frac = hysteresis_frac
        self.level = ShedLevel.NONE

    def update(self, soc_frac: float, minimum: ShedLevel = ShedLevel.NONE) -> ShedLevel:
        """New shed level for ``soc_frac`` (never below ``minimum``)."""
        level = int(self.level)
        # Deepen as far as the SoC demands.
        while level < 3 and soc_frac < self.enter_soc[level]:
            level += 1
        # Restore one level at a time, only past the hysteresis band.
        while level > 0 and soc_frac > self.enter_soc[level - 1] + self.hysteresis_frac:
            level -= 1
        self.level = ShedLevel(level)
        return ShedLevel(max(level, int(minimum)))
