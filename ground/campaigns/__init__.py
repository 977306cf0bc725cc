"""Fault-injection campaigns run on the ground against the flight code.

- :mod:`ground.campaigns.seu`: single-event-upset injection into SECDED-protected words,
  outcome classes with Wilson 95 % intervals (``satnode faults seu``).
"""

from ground.campaigns.seu import (
    WORLD_KINDS,
    CampaignReport,
    Classification,
    format_campaign,
    run_seu_campaign,
)

__all__ = [
    "WORLD_KINDS",
    "CampaignReport",
    "Classification",
    "format_campaign",
    "run_seu_campaign",
]
