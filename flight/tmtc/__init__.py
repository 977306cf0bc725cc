"""Telemetry and telecommand: the CCSDS Space Packet / PUS-C wire codec (and, later, services).

Codec modules:

- :mod:`flight.tmtc._crc`: CRC-16-CCITT-FALSE packet error control in crcmod's C extension.
  Importing this package raises :class:`~native.errors.ConfigError` if that extension is
  missing (no silent pure-Python fallback).
- :mod:`flight.tmtc._spacepacket`: primary header (CCSDS 133.0-B-2), the
  :class:`WireReason` codes of :class:`~native.errors.WireError`, stream splitting.
- :mod:`flight.tmtc._pus`: PUS-C TM/TC secondary headers and PEC (ECSS-E-ST-70-41C), octet-for-
  octet compatible with ``spacepackets`` 0.32.
- :mod:`flight.tmtc._timecode`: CUC and CDS time codes (CCSDS 301.0-B-4) from/to int ns.
- :mod:`flight.tmtc._downlink_buffer`: :class:`DownlinkBuffer`, the ring of outgoing TM in
  error-corrected memory (:class:`DownlinkMemory`) that :class:`TmtcService` routes TM
  through once one is attached.
"""

from flight.tmtc._crc import (
    CRC16_CHECK,
    CRC16_INIT,
    BytesLike,
    crc16,
    crc_extension_status,
    require_crc_extension,
)
from flight.tmtc._pus import (
    DEFAULT_ACK_FLAGS,
    PEC_LEN,
    PUS_VERSION_C,
    TC_OVERHEAD_LEN,
    TC_SEC_HEADER_LEN,
    TM_OVERHEAD_LEN,
    TM_SEC_HEADER_LEN,
    TcHeader,
    TcPacket,
    TmPacket,
    pack_tc,
    pack_tm,
    peek_tc_header,
    unpack_tc,
    unpack_tm,
)
from flight.tmtc._spacepacket import (
    ABSOLUTE_MAX_PACKET_LEN,
    DEFAULT_MAX_PACKET_LEN,
    MAX_APID,
    MAX_SEQ_COUNT,
    PRIMARY_HEADER_LEN,
    PacketType,
    PrimaryHeader,
    SeqFlags,
    WireReason,
    pack_primary_header,
    packet_length,
    split_packets,
    unpack_primary_header,
)
from flight.tmtc._timecode import (
    CCSDS_TO_UNIX_EPOCH_NS,
    CDS_SHORT,
    CUC_4_2,
    MS_PER_DAY,
    NS_PER_DAY,
    NS_PER_MS,
    NS_PER_S,
    CdsFormat,
    CucFormat,
)
from native.errors import CrcError, WireError

__all__ = [
    "ABSOLUTE_MAX_PACKET_LEN",
    "CCSDS_TO_UNIX_EPOCH_NS",
    "CDS_SHORT",
    "CRC16_CHECK",
    "CRC16_INIT",
    "CUC_4_2",
    "DEFAULT_ACK_FLAGS",
    "DEFAULT_MAX_PACKET_LEN",
    "MAX_APID",
    "MAX_SEQ_COUNT",
    "MS_PER_DAY",
    "NS_PER_DAY",
    "NS_PER_MS",
    "NS_PER_S",
    "PEC_LEN",
    "PRIMARY_HEADER_LEN",
    "PUS_VERSION_C",
    "TC_OVERHEAD_LEN",
    "TC_SEC_HEADER_LEN",
    "TM_OVERHEAD_LEN",
    "TM_SEC_HEADER_LEN",
    "BytesLike",
    "CdsFormat",
    "CrcError",
    "CucFormat",
    "PacketType",
    "PrimaryHeader",
    "SeqFlags",
    "TcHeader",
    "TcPacket",
    "TmPacket",
    "WireError",
    "WireReason",
    "crc16",
    "crc_extension_status",
    "pack_primary_header",
    "pack_tc",
    "pack_tm",
    "packet_length",
    "peek_tc_header",
    "require_crc_extension",
    "split_packets",
    "unpack_primary_header",
    "unpack_tc",
    "unpack_tm",
]

from flight.tmtc._downlink_buffer import RECORD_HEADER_LEN, DownlinkBuffer, DownlinkMemory
from flight.tmtc._groundlink import UdpGroundLink, parse_host_port
from flight.tmtc._services import HkSchedule, ServiceHandler, TmtcService

__all__ += [
    "RECORD_HEADER_LEN",
    "DownlinkBuffer",
    "DownlinkMemory",
    "HkSchedule",
    "ServiceHandler",
    "TmtcService",
    "UdpGroundLink",
    "parse_host_port",
]
