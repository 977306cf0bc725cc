"""PUS-1 failure codes: why a telecommand was rejected or failed.

Carried in every verification failure report (TM[1,2], TM[1,4], TM[1,8]) as a 16-bit code.
The numbers are satnode's own (ECSS leaves them to the mission) and are part of the dictionary.
"""

from __future__ import annotations

import enum

__all__ = ["FailureCode"]


@enum.unique
class FailureCode(enum.IntEnum):
    """Reason a TC was rejected (acceptance) or failed (start/completion)."""

    ILLEGAL_APID = 1
    INVALID_LENGTH = 2
    CRC_MISMATCH = 3
    ILLEGAL_PACKET_TYPE = 4
    ILLEGAL_SERVICE = 5
    ILLEGAL_SUBTYPE = 6
    ILLEGAL_ARGUMENT = 7
    UNKNOWN_FUNCTION = 8
    EXECUTION_FAILED = 9
    NOT_ALLOWED = 10
    MALFORMED = 11
    UNKNOWN_PARAMETER = 12
    UNKNOWN_STRUCTURE = 13
    #: a hazardous command that was not armed, or whose arming window expired
    NOT_ARMED = 14
