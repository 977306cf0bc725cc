"""Image uplink: the onboard CCSDS CFDP entity (class 2) over PUS service 23.

- :mod:`flight.filexfer._receiver`: the receiving entity (:class:`Receiver`), its state and
  every received segment in NV storage, NAKs of the missing ranges, CRC-32 check;
- :mod:`flight.filexfer._app`: the ``filexfer`` application (``[filexfer]``, component id
  29): TC[23,128]/TM[23,129] carry CFDP PDUs; a complete, verified file is installed into the
  inactive slot and armed by :class:`flight.boot.BootStore`.
"""

from flight.filexfer._app import (
    PDU_TC_SUBTYPE,
    PDU_TM_SUBTYPE,
    SERVICE,
    FileXferApp,
    FileXferComponent,
    PduService,
    install,
    unwrap_pdu,
    wrap_pdu,
)
from flight.filexfer._config import Config, parse_config
from flight.filexfer._receiver import (
    SEGMENT_PREFIX,
    STATE_BLOB,
    Outcome,
    PduError,
    Receiver,
    missing_ranges,
)

__all__ = [
    "PDU_TC_SUBTYPE",
    "PDU_TM_SUBTYPE",
    "SEGMENT_PREFIX",
    "SERVICE",
    "STATE_BLOB",
    "Config",
    "FileXferApp",
    "FileXferComponent",
    "Outcome",
    "PduError",
    "PduService",
    "Receiver",
    "install",
    "missing_ranges",
    "parse_config",
    "unwrap_pdu",
    "wrap_pdu",
]
