"""The ``"edac.regions"`` service: protected regions created by the code that owns the data.

EDAC holds no content of its own. An application that owns data worth protecting (compute's
detector weights, the core's parameter image and TM downlink buffer) asks this service for a
region of the size it needs (:meth:`EdacRegions.create`); the service allocates it, stores its
golden copy in non-volatile storage, adds it to the scrubber's sweep, exposes it to PUS-6 (its
memory id is its region id) and to the radiation model. The owner then writes its data into
the region and reads it back through the protection layer.

Region ids are PUS-6 memory ids and housekeeping slots (``r<id>_corrected``), i.e. part of
the ground interface: the known regions have fixed ids (:data:`REGION_IDS`); any other region
gets the lowest id that is neither used nor reserved there.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from flight.edac._region import ProtectedRegion
from flight.edac._scrubber import MAX_REGION_SLOTS, Scrubber
from flight.edac._store import BlobStore
from flight.edac._tmr_state import TmrState
from native.errors import ConfigError, FlightError, SatnodeError

if TYPE_CHECKING:
    from flight.core import ParamStore
    from flight.tmtc import DownlinkBuffer

__all__ = ["MAX_REGION_BYTES", "REGION_IDS", "EdacRegions", "RegionNotFoundError"]

#: Fixed region ids (PUS-6 memory ids) of the regions the flight software creates.
REGION_IDS: Mapping[str, int] = types.MappingProxyType({"params": 1, "tm_buffer": 2, "detector": 3})
#: Largest region (octets).
MAX_REGION_BYTES = 1 << 30

RegisterMemory = Callable[[str, np.ndarray[Any, Any]], Any]


class RegionNotFoundError(FlightError, KeyError):
    """No protected region of that name (or id) exists."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class EdacRegions:
    """Creates and finds protected regions (the ``"edac.regions"`` service; see module doc).

    ``store``: non-volatile storage for the golden copies. ``scrubber``: sweeps every region
    created here. ``page_bytes``: reload granularity (octets). ``register_memory(name,
    array)``: exposes each region's ``data`` and ``checks`` arrays to the radiation model
    (``edac.<name>.data``, ``edac.<name>.checks``). ``tmr``: the TMR containers the scrubber
    repairs (owners of critical state create theirs there).
    """

    def __init__(
        self,
        store: BlobStore,
        scrubber: Scrubber,
        *,
        page_bytes: int,
        register_memory: RegisterMemory | None = None,
        tmr: TmrState | None = None,
        interleave: int = 1,
    ) -> None:
        self.store = store
        self.scrubber = scrubber
        self.page_bytes = page_bytes
        #: bit interleaving of the regions created here (1 or 8 words per group)
        self.interleave = interleave
        self._register_memory = register_memory
        self.tmr = tmr if tmr is not None else TmrState(register_memory)
        self._by_name: dict[str, ProtectedRegion] = {}
        #: regions by id, kept current (PUS-6 looks memory ids up here)
        self.by_id: dict[int, ProtectedRegion] = {}
        #: the parameter store whose image lives in region ``params`` (set by protect_core)
        self.param_store: ParamStore | None = None
        #: the TM downlink ring in region ``tm_buffer`` (set by protect_core)
        self.downlink_buffer: DownlinkBuffer | None = None

    # -- creation --------------------------------------------------------------------------
    def _pick_id(self, name: str, region_id: int | None) -> int:
        if region_id is None:
            region_id = REGION_IDS.get(name)
        if region_id is None:
            reserved = set(REGION_IDS.values())
            free = [
                i
                for i in range(1, MAX_REGION_SLOTS + 1)
                if i not in self.by_id and i not in reserved
            ]
            if not free:
                raise ConfigError(
                    f"[edac] region {name!r}: no free region id (at most {MAX_REGION_SLOTS})"
                )
            return free[0]
        if isinstance(region_id, bool) or not isinstance(region_id, int):
            raise ConfigError(f"[edac] region {name!r}: id must be an integer")
        if not 1 <= region_id <= MAX_REGION_SLOTS:
            raise ConfigError(
                f"[edac] region {name!r}: id {region_id} outside 1..{MAX_REGION_SLOTS}"
            )
        owner = self.by_id.get(region_id)
        if owner is not None:
            raise ConfigError(
                f"[edac] region {name!r}: id {region_id} is already used by {owner.name!r}"
            )
        return region_id

    def create(
        self,
        name: str,
        size_bytes: int,
        *,
        writable: bool = True,
        region_id: int | None = None,
        interleave: int | None = None,
    ) -> ProtectedRegion:
        """A new zero-filled protected region of ``size_bytes`` octets, called ``name``.

        Its golden copy (zeros until the owner calls ``load`` or ``store_golden``) is written
        to the non-volatile store now; the scrubber sweeps it from its next step; PUS-6 can
        dump and check it under its region id (``region_id``, else :data:`REGION_IDS`, else
        the lowest free id). ``writable`` False: only ``load`` may change it (model weights).
        ``interleave``: the bit-interleaving degree (None: ``[edac] interleave``; 1 for data
        that lives only milliseconds, where multi-bit upsets cannot accumulate).
        ``ConfigError`` (nothing created) for a bad or duplicate name, a size outside
        1..:data:`MAX_REGION_BYTES`, no free id, or a golden copy the store cannot take.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"[edac] region name must be an identifier, got {name!r}")
        if name in self._by_name:
            raise ConfigError(f"[edac] region {name!r} already exists")
        if (
            isinstance(size_bytes, bool)
            or not isinstance(size_bytes, int)
            or not 1 <= size_bytes <= MAX_REGION_BYTES
        ):
            raise ConfigError(
                f"[edac] region {name!r}: size must be 1..{MAX_REGION_BYTES} octets, "
                f"got {size_bytes!r}"
            )
        rid = self._pick_id(name, region_id)
        try:
            region = ProtectedRegion(
                name,
                rid,
                size_bytes,
                store=self.store,
                page_bytes=self.page_bytes,
                writable=writable,
                interleave=self.interleave if interleave is None else interleave,
            )
        except (SatnodeError, OSError) as exc:  # the golden copy could not be stored
            raise ConfigError(
                f"[edac] region {name!r}: cannot store its golden copy (storage_device): {exc}"
            ) from exc
        self.scrubber.add_region(region)
        self._by_name[name] = region
        self.by_id[rid] = region
        if self._register_memory is not None:
            self._register_memory(f"edac.{name}.data", region.data)
            self._register_memory(f"edac.{name}.checks", region.checks)
        return region

    # -- lookup ----------------------------------------------------------------------------
    def region(self, name: str) -> ProtectedRegion:
        """The region called ``name`` (:class:`RegionNotFoundError`, a KeyError, if none)."""
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name) or "none"
            raise RegionNotFoundError(f"no EDAC region {name!r} (regions: {known})") from None

    def region_by_id(self, region_id: int) -> ProtectedRegion:
        """The region with this id / PUS-6 memory id (:class:`RegionNotFoundError` if none)."""
        try:
            return self.by_id[region_id]
        except KeyError:
            raise RegionNotFoundError(f"no EDAC region with id {region_id}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[ProtectedRegion]:
        """The regions in creation order."""
        return iter(tuple(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self) -> tuple[str, ...]:
        """Region names in creation order."""
        return tuple(self._by_name)
