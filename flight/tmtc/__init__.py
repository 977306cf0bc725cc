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
- :mod:`flight.tmtc._tcframe`: CCSDS TC transfer frames (232.0), segmentation, reassembly.
- :mod:`flight.tmtc._sdls`: SDLS (355.0) security header/trailer, MACs, anti-replay window.
- :mod:`flight.tmtc._tmframe`: CCSDS TM transfer frames (132.0) for the downlink.
- :mod:`flight.tmtc._groundlink`: :class:`UdpGroundLink`, the UDP link whose uplink is drained
  each step through an :class:`UplinkGate` (the security application).
- :mod:`flight.tmtc._downlink_buffer`: :class:`DownlinkBuffer`, the ring of outgoing TM in
  error-corrected memory (:class:`DownlinkMemory`) that :class:`TmtcService` routes TM
  through once one is attached.
"""

from flight.tmtc._crc import (
    CRC16_CHECK,
    CRC16_INIT,
    PEC_KERNEL,
    BytesLike,
    crc16,
    crc_extension_status,
    pec,
    pec_kernel_status,
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
    "PEC_KERNEL",
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
    "pec",
    "pec_kernel_status",
    "peek_tc_header",
    "require_crc_extension",
    "split_packets",
    "unpack_primary_header",
    "unpack_tc",
    "unpack_tm",
]

from flight.tmtc._downlink_buffer import RECORD_HEADER_LEN, DownlinkBuffer, DownlinkMemory
from flight.tmtc._groundlink import UdpGroundLink, UplinkGate, parse_host_port
from flight.tmtc._sdls import (
    ARSN_LEN,
    DEFAULT_WINDOW,
    GCM_IV_LEN,
    KEY_LEN,
    MAC_LEN,
    SEGMENT_HEADER_MASK,
    SPI_LEN,
    TC_HEADER_MASK,
    Algorithm,
    MacEngine,
    ReplayWindow,
    SaLookup,
    SaParams,
    SecurityReason,
    SecurityService,
    VerifiedFrame,
    max_payload,
    protect_frame,
    verify_frame,
)
from flight.tmtc._services import ARM_WINDOW_S, HkSchedule, ServiceHandler, TmtcService
from flight.tmtc._tcframe import (
    FECF_LEN,
    MAX_MAP_ID,
    MAX_SCID,
    MAX_TC_FRAME_LEN,
    MAX_VCID,
    SEGMENT_HEADER_LEN,
    TC_FRAME_HEADER_LEN,
    FrameReason,
    Reassembler,
    SegFlags,
    TcFrame,
    pack_tc_frame,
    pack_tc_frame_header,
    peek_tc_frame_header,
    segment,
    unpack_tc_frame,
)
from flight.tmtc._tmframe import (
    DEFAULT_TM_FRAME_LEN,
    FHP_NO_PACKET_START,
    TM_FRAME_HEADER_LEN,
    TmDeframer,
    TmFramer,
    idle_packet,
    unpack_tm_frame,
)

__all__ += [
    "ARM_WINDOW_S",
    # TC/TM transfer frames and SDLS
    "ARSN_LEN",
    "DEFAULT_TM_FRAME_LEN",
    "DEFAULT_WINDOW",
    "FECF_LEN",
    "FHP_NO_PACKET_START",
    "GCM_IV_LEN",
    "KEY_LEN",
    "MAC_LEN",
    "MAX_MAP_ID",
    "MAX_SCID",
    "MAX_TC_FRAME_LEN",
    "MAX_VCID",
    "RECORD_HEADER_LEN",
    "SEGMENT_HEADER_LEN",
    "SEGMENT_HEADER_MASK",
    "SPI_LEN",
    "TC_FRAME_HEADER_LEN",
    "TC_HEADER_MASK",
    "TM_FRAME_HEADER_LEN",
    "Algorithm",
    "DownlinkBuffer",
    "DownlinkMemory",
    "FrameReason",
    "HkSchedule",
    "MacEngine",
    "Reassembler",
    "ReplayWindow",
    "SaLookup",
    "SaParams",
    "SecurityReason",
    "SecurityService",
    "SegFlags",
    "ServiceHandler",
    "TcFrame",
    "TmDeframer",
    "TmFramer",
    "TmtcService",
    "UdpGroundLink",
    "UplinkGate",
    "VerifiedFrame",
    "idle_packet",
    "max_payload",
    "pack_tc_frame",
    "pack_tc_frame_header",
    "parse_host_port",
    "peek_tc_frame_header",
    "protect_frame",
    "segment",
    "unpack_tc_frame",
    "unpack_tm_frame",
    "verify_frame",
]
