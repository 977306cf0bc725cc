"""The rig side of hardware-in-the-loop: serves one spacecraft's devices over the wire.

:class:`Rig` serves the devices of a seeded simulated world (or real drivers, per device) to a
flight stack in another process, over the protocol of ``hal/hil/PROTOCOL.md`` (whose schema
lives in :mod:`hal.hil`). ``satnode rig`` runs one; :class:`RigControl` is the control channel
a test or an operator uses to inject, clear and list faults mid-run.
"""

from hil._control import RigControl
from hil._rig import ActiveFault, Rig, RigStats

__all__ = ["ActiveFault", "Rig", "RigControl", "RigStats"]
