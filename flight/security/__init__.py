"""Security: the authenticated uplink (CCSDS SDLS on TC frames), the onboard key store and
security-association management.

- :mod:`flight.security._config`: the ``[security]`` section (:class:`Config`); security is
  required by default;
- :mod:`flight.security._state`: :class:`SecurityState`, keys (pre-active, active,
  deactivated) and SA states with their anti-replay counters in HAL NV storage (two slots,
  generation + CRC-32C), the mission's SAs (:data:`MISSION_SAS`) and the key file format;
- :mod:`flight.security._ep`: SDLS extended-procedure PDUs (key and SA management);
- :mod:`flight.security._component`: :class:`SecurityComponent`, the gate every uplink
  datagram passes (verify, persist the counter, then release the packet);
- :mod:`flight.security._app`: :func:`install` (``[security]`` section present).

The wire formats (TC/TM frames, SDLS header and trailer) are in :mod:`flight.tmtc`.
"""

from __future__ import annotations

from flight.security._app import UPLINK_SERVICE, SecurityApp, install, sa_dictionary
from flight.security._component import SecurityComponent
from flight.security._config import Config, parse_config
from flight.security._ep import EP_SERVICE, EpFailure, Procedure, pack_pdu, unpack_pdus
from flight.security._state import (
    KEY_FILE_SCHEMA,
    MANAGEMENT_KEY_ID,
    MANAGEMENT_SPI,
    MISSION_SAS,
    STATE_BLOBS,
    KeyState,
    SaState,
    SecurityState,
    StateError,
    load_key_file,
)

__all__ = [
    "EP_SERVICE",
    "KEY_FILE_SCHEMA",
    "MANAGEMENT_KEY_ID",
    "MANAGEMENT_SPI",
    "MISSION_SAS",
    "STATE_BLOBS",
    "UPLINK_SERVICE",
    "Config",
    "EpFailure",
    "KeyState",
    "Procedure",
    "SaState",
    "SecurityApp",
    "SecurityComponent",
    "SecurityState",
    "StateError",
    "install",
    "load_key_file",
    "pack_pdu",
    "parse_config",
    "sa_dictionary",
    "unpack_pdus",
]
