"""Protected memory regions: SECDED-encoded NumPy buffers with a golden copy in storage.

A :class:`ProtectedRegion` holds any number of bytes as ``uint64`` words (``data``, the last
word zero-padded) plus one Hsiao (72,64) check byte per word (``checks``); both arrays are
allocated once and never replaced, so the simulated radiation environment can hold
references to them and flip their bits (:meth:`ProtectedRegion.arrays`).

Access goes through the protection layer:

* **Reads** (:meth:`~ProtectedRegion.read`, :meth:`~ProtectedRegion.read_all`,
  :meth:`~ProtectedRegion.read_array`) first scrub the words they cover with the native
  kernel (single-bit errors are corrected in place: "scrub on read"), then copy the bytes out.
  Corrupted data is never handed out: if a covered word is uncorrectable the region turns
  **BAD** and the read raises :class:`RegionBadError`.
* **Writes** re-encode the words they cover. A write that starts or ends inside a word is a
  read-modify-write: that boundary word is corrected first (uncorrectable -> BAD, raise).
* **BAD** regions refuse every read and write with :class:`RegionBadError` (a typed error,
  never a block: flight code runs in rate groups and must not wait) until
  :meth:`~ProtectedRegion.reload` restores them from the golden copy. The scrubber does that
  at its next step (so a reader sees at most one scrubber period of unavailability) and the
  ground can command it.
* **Reload granularity** is the page (``page_bytes``, default 4 KiB): the pages that hold
  uncorrectable words are copied back from the golden image and re-encoded; other pages keep
  their (protected) content. A full reload (``full=True``) restores every page.
* The **golden copy** lives in non-volatile storage (:mod:`flight.edac._store` layout,
  CRC-32C-checked). A missing or corrupted golden copy raises a ``GOLDEN_CORRUPT`` region
  event, counts a golden failure and leaves the region BAD: nothing of it is handed out.

For a writable region (telemetry buffers, parameter tables) the golden copy is the content
at the last :meth:`~ProtectedRegion.store_golden`; a page reloaded after an uncorrectable
error returns to that content (the loss is reported, never silent).

**Bit interleaving** (``interleave=8``): one particle often flips two adjacent bits of the
physical memory (a multiple-bit upset). Stored as plain words, both flips land in one SECDED
word, which is then uncorrectable. An interleaved region stores each group of 8 words with
their bits interleaved: bit ``b`` of word ``w`` of the group is physical bit ``8 b + w`` of the
group's 64 data octets, and check bit ``c`` of word ``w`` is physical bit ``8 c + w`` of the
group's 8 check octets. Physically adjacent bits then always belong to different words, so
an adjacent-bit upset becomes two correctable single-bit errors. ``data``/``checks``
(:meth:`~ProtectedRegion.arrays`) are the physical arrays (what radiation hits); words are
de-interleaved for decoding and re-interleaved after a correction or a write.
:meth:`~ProtectedRegion.flip` injects upsets in word/bit terms whatever the layout.

Region events (:class:`RegionEvent`) go to listeners (:meth:`~ProtectedRegion.add_listener`);
the scrubber turns them into flight events.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from flight.edac._store import BlobStore, GoldenCopyError, pack_golden, unpack_golden
from native import secded_encode, secded_scrub
from native.errors import FlightError

__all__ = [
    "DEFAULT_PAGE_BYTES",
    "INTERLEAVE_DEGREES",
    "ProtectedRegion",
    "RegionBadError",
    "RegionEvent",
    "RegionEventKind",
    "RegionState",
    "ScrubOutcome",
]

#: Default reload granularity (bytes).
DEFAULT_PAGE_BYTES = 4096
#: Interleaving degrees a region supports (words per interleaved group).
INTERLEAVE_DEGREES = (1, 8)
_GROUP = 8

_T8_STEPS = (
    (np.uint64(7), np.uint64(0x00AA00AA00AA00AA)),
    (np.uint64(14), np.uint64(0x0000CCCC0000CCCC)),
    (np.uint64(28), np.uint64(0x00000000F0F0F0F0)),
)


def _transpose8(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Transpose, in place, each 8 x 8 bit matrix held in a uint64 (bit ``8 r + c`` ->
    bit ``8 c + r``; Hacker's Delight 7-3). An involution."""
    t = np.empty_like(x)
    for shift, mask in _T8_STEPS:  # in place: one temporary for the whole transpose
        np.right_shift(x, shift, out=t)
        t ^= x
        t &= mask
        x ^= t
        t <<= shift
        x ^= t
    return x


def interleave_words(
    words: npt.NDArray[np.uint64], checks: npt.NDArray[np.uint8]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
    """Physical layout of whole groups of 8 words (see the module doc): new arrays."""
    g = words.size // _GROUP
    x = np.ascontiguousarray(words.view(np.uint8).reshape(g, _GROUP, 8).transpose(0, 2, 1))
    phys = _transpose8(x.reshape(-1).view(np.uint64)).copy()
    pchk = _transpose8(checks.copy().view(np.uint64)).view(np.uint8)
    return phys, pchk


def deinterleave_words(
    phys: npt.NDArray[np.uint64], pchk: npt.NDArray[np.uint8]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
    """Words and check bytes of whole groups from their physical layout: new arrays."""
    g = phys.size // _GROUP
    x = _transpose8(phys.copy())
    words = np.ascontiguousarray(x.view(np.uint8).reshape(g, 8, _GROUP).transpose(0, 2, 1))
    checks = _transpose8(pchk.copy().view(np.uint64)).view(np.uint8)
    return words.reshape(-1).view(np.uint64), checks

U64 = npt.NDArray[np.uint64]
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


@enum.unique
class RegionState(enum.Enum):
    """Availability of a region's content."""

    OK = "ok"  #: every word is clean or correctable
    BAD = "bad"  #: an uncorrectable word was found; reads refused until reloaded


class RegionBadError(FlightError):
    """The region is BAD (an uncorrectable word was found): data refused until reloaded.

    ``region`` is the region's name; ``words`` the uncorrectable word indices known so far.
    """

    def __init__(self, region: str, words: tuple[int, ...]) -> None:
        shown = ", ".join(str(w) for w in words[:8]) + (" ..." if len(words) > 8 else "")
        super().__init__(f"region {region} is BAD (uncorrectable words: {shown or 'none'})")
        self.region = region
        self.words = words


@enum.unique
class RegionEventKind(enum.Enum):
    """What happened to a region."""

    UNCORRECTABLE = "uncorrectable"  #: ``words`` hold new uncorrectable word indices
    RELOADED = "reloaded"  #: ``pages`` were restored from the golden copy
    GOLDEN_CORRUPT = "golden_corrupt"  #: the golden copy failed its checks (``detail``)


@dataclass(frozen=True, slots=True)
class RegionEvent:
    """A region event: kind, region, affected words or pages, who found it, detail text."""

    kind: RegionEventKind
    region: ProtectedRegion
    source: str  #: "read", "write", "scrub", "command", "auto"
    words: tuple[int, ...] = ()
    pages: tuple[int, ...] = ()
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ScrubOutcome:
    """Result of scrubbing a word range: corrected words and new uncorrectable words."""

    n_words: int
    n_corrected: int
    n_corrected_check: int
    uncorrectable: tuple[int, ...]


class ProtectedRegion:
    """A SECDED-protected buffer with a CRC-32C-checked golden copy (see the module doc).

    ``content``: the initial bytes (any bytes-like object or NumPy array, whose raw bytes are
    used) or an ``int`` size for a zero-filled buffer. ``region_id`` 1..65535 is the memory
    id of PUS-6 and the golden image. ``store`` keeps the golden copy (written now unless
    ``store_golden`` is False); without a store the region cannot be reloaded.
    ``interleave``: 1 (plain words) or 8 (bit-interleaved groups of 8 words, see the module
    doc; ``page_bytes`` must then be a multiple of 64 so that pages hold whole groups).
    """

    def __init__(
        self,
        name: str,
        region_id: int,
        content: bytes | bytearray | memoryview | np.ndarray[Any, Any] | int,
        *,
        kind: str = "data",
        store: BlobStore | None = None,
        page_bytes: int = DEFAULT_PAGE_BYTES,
        writable: bool = True,
        golden_name: str | None = None,
        store_golden: bool = True,
        interleave: int = 1,
    ) -> None:
        if not name.isidentifier():
            raise ValueError(f"region name {name!r} is not an identifier")
        if not 1 <= region_id <= 0xFFFF:
            raise ValueError(f"region id {region_id} outside 1..65535")
        if page_bytes < 8 or page_bytes % 8:
            raise ValueError(f"page_bytes must be a positive multiple of 8, got {page_bytes}")
        if interleave not in INTERLEAVE_DEGREES:
            raise ValueError(f"interleave must be one of {INTERLEAVE_DEGREES}, got {interleave}")
        if interleave > 1 and page_bytes % (8 * interleave):
            raise ValueError(
                f"page_bytes {page_bytes} must be a multiple of {8 * interleave} "
                f"(whole groups of {interleave} interleaved words)"
            )
        if isinstance(content, bool):
            raise TypeError("region content must be bytes, an array or a size")
        if isinstance(content, int):
            if content <= 0:
                raise ValueError(f"region size must be > 0 bytes, got {content}")
            raw: U8 = np.zeros(content, dtype=np.uint8)
        else:
            raw = np.frombuffer(
                content.tobytes() if isinstance(content, np.ndarray) else content, dtype=np.uint8
            )
            if raw.size == 0:
                raise ValueError("region content is empty")
        self.name = name
        self.region_id = region_id
        self.kind = kind
        self.writable = writable
        self.size_bytes = int(raw.size)
        self.n_words = math.ceil(self.size_bytes / 8)
        self.page_words = page_bytes // 8
        self.n_pages = math.ceil(self.n_words / self.page_words)
        self.interleave = interleave
        self._pad_cleared = False
        # Physical words: whole interleaved groups (the padding words hold zeros).
        n_phys = -(-self.n_words // interleave) * interleave
        # The two arrays are allocated once: the radiation model keeps references to them.
        self.data: U64 = np.zeros(n_phys, dtype=np.uint64)
        self.checks: U8 = np.zeros(n_phys, dtype=np.uint8)
        a, words, checks = self._words(0, self.n_words)
        words.view(np.uint8)[: self.size_bytes] = raw
        secded_encode(words, out=checks)
        self._put(a, words, checks)
        self.store = store
        self.golden_name = golden_name if golden_name is not None else f"edac.{name}.golden"
        self.state = RegionState.OK
        self.bad_pages: set[int] = set()
        self._bad_words: set[int] = set()
        self._listeners: list[Callable[[RegionEvent], None]] = []
        # Counters (monotonic).
        self.corrected = 0  #: words corrected (reads, writes and scrubs)
        self.corrected_check = 0  #: part of ``corrected`` where a check bit was wrong
        self.uncorrectable = 0  #: uncorrectable words found
        self.reloads = 0  #: successful reloads from the golden copy
        self.pages_reloaded = 0
        self.golden_failures = 0  #: reloads refused because the golden copy was unusable
        #: the last reload found the golden copy unusable: automatic retries stop until a
        #: new golden copy is stored or the ground commands a reload
        self.golden_failed = False
        self.reads = 0
        self.reads_refused = 0  #: reads/writes refused while BAD
        self.writes = 0
        self.words_scrubbed = 0  #: words examined by :meth:`scrub`
        if store is not None and store_golden:
            self.store_golden()

    @property
    def is_bad(self) -> bool:
        """True while the region is BAD (reads refused until reloaded)."""
        return self.state is RegionState.BAD

    # -- exposure --------------------------------------------------------------------------
    def arrays(self) -> tuple[U64, U8]:
        """``(data, checks)``: the stored words and their check bytes (live, never replaced)."""
        return self.data, self.checks

    def add_listener(self, listener: Callable[[RegionEvent], None]) -> None:
        """Call ``listener(event)`` for every :class:`RegionEvent` of this region."""
        self._listeners.append(listener)

    def _notify(self, event: RegionEvent) -> None:
        for listener in self._listeners:
            listener(event)

    def __repr__(self) -> str:
        return (
            f"ProtectedRegion({self.name!r}, id={self.region_id}, kind={self.kind!r}, "
            f"{self.size_bytes} B, {self.state.value})"
        )

    # -- protection core -------------------------------------------------------------------
    def _words(self, w0: int, w1: int) -> tuple[int, U64, U8]:
        """``(a, words, checks)``: words ``[a, a + len)`` covering ``[w0, w1)`` in word order.

        Plain regions: views of the stored arrays (``a = w0``; changes are in place).
        Interleaved regions: de-interleaved copies of the whole groups covering the range
        (write changes back with :meth:`_put`).
        """
        if self.interleave == 1:
            return w0, self.data[w0:w1], self.checks[w0:w1]
        g = self.interleave
        a, b = w0 // g * g, -(-w1 // g) * g
        words, checks = deinterleave_words(self.data[a:b], self.checks[a:b])
        return a, words, checks

    def _put(self, a: int, words: U64, checks: U8) -> None:
        """Store words from :meth:`_words` back (interleaved regions; a no-op for views)."""
        if self.interleave == 1 or words.size == 0:
            return
        phys, pchk = interleave_words(words, checks)
        self.data[a : a + words.size] = phys
        self.checks[a : a + words.size] = pchk

    def _scrub_words(
        self, a: int, words: U64, checks: U8, i0: int, i1: int, source: str
    ) -> ScrubOutcome:
        """Scrub ``words[i0:i1]`` (word ``a + i``) in place; record corrections and
        uncorrectable words. A padding word of an interleaved group holds no data: an
        uncorrectable one is simply cleared."""
        res = secded_scrub(words[i0:i1], checks[i0:i1])
        self.corrected += res.n_corrected
        self.corrected_check += res.n_corrected_check
        new: tuple[int, ...] = ()
        if res.n_uncorrectable:
            found = (res.uncorrectable + (a + i0)).tolist()
            for w in found:
                if w >= self.n_words:
                    words[w - a] = 0
                    checks[w - a] = 0  # the code is linear: zero data has zero check bits
                    self._pad_cleared = True
            new = tuple(w for w in found if w < self.n_words and w not in self._bad_words)
            if new:
                self._mark_bad(new, source)
        return ScrubOutcome(i1 - i0, res.n_corrected, res.n_corrected_check, new)

    def _scan_words(self, w0: int, w1: int, source: str) -> tuple[ScrubOutcome, int, U64]:
        """Scrub words ``[w0, w1)`` in place and return the outcome with the words from
        :meth:`_words` (``a``, the words; interleaved: the other words of the groups are
        passed back unchanged, exactly as a plain region leaves its other words)."""
        a, words, checks = self._words(w0, w1)
        self._pad_cleared = False
        out = self._scrub_words(a, words, checks, w0 - a, w1 - a, source)
        if out.n_corrected or self._pad_cleared:  # only a change is written back
            self._put(a, words, checks)
        return out, a, words

    def _scan(self, w0: int, w1: int, source: str) -> ScrubOutcome:
        """Scrub words ``[w0, w1)`` in place; record corrections and uncorrectable words."""
        return self._scan_words(w0, w1, source)[0]

    def words(self) -> tuple[U64, U8]:
        """Copies of every stored word and its check byte in word order (as stored, upsets
        included: nothing is corrected), whatever the physical layout."""
        _, words, checks = self._words(0, self.n_words)
        return words[: self.n_words].copy(), checks[: self.n_words].copy()

    def flip(self, word: int, data_mask: int = 0, check_mask: int = 0) -> None:
        """Fault injection: flip the bits ``data_mask`` (64 bits) and ``check_mask`` (8 bits)
        of word ``word``, whatever the physical layout (tests, campaigns)."""
        if not 0 <= word < self.n_words:
            raise ValueError(f"region {self.name}: word {word} outside [0, {self.n_words})")
        if not 0 <= data_mask < 1 << 64 or not 0 <= check_mask < 1 << 8:
            raise ValueError("data_mask must fit 64 bits and check_mask 8 bits")
        a, words, checks = self._words(word, word + 1)
        words[word - a] ^= np.uint64(data_mask)
        checks[word - a] ^= np.uint8(check_mask)
        self._put(a, words, checks)

    def _mark_bad(self, words: tuple[int, ...], source: str) -> None:
        self._bad_words.update(words)
        self.bad_pages.update(w // self.page_words for w in words)
        self.uncorrectable += len(words)
        self.state = RegionState.BAD
        self._notify(RegionEvent(RegionEventKind.UNCORRECTABLE, self, source, words=words))

    def _refuse(self) -> RegionBadError:
        self.reads_refused += 1
        return RegionBadError(self.name, tuple(sorted(self._bad_words)))

    def _range(self, offset: int, length: int) -> tuple[int, int]:
        if (
            isinstance(offset, bool)
            or isinstance(length, bool)
            or not isinstance(offset, int | np.integer)
            or not isinstance(length, int | np.integer)
        ):
            raise TypeError("offset and length must be integers")
        if offset < 0 or length < 0 or offset + length > self.size_bytes:
            raise ValueError(
                f"region {self.name}: range [{offset}, {offset + length}) outside "
                f"[0, {self.size_bytes})"
            )
        if length == 0:
            return 0, 0
        return int(offset) // 8, math.ceil((int(offset) + int(length)) / 8)

    # -- reads -------------------------------------------------------------------------------
    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        """Corrected bytes ``[offset, offset + length)`` (default: to the end of the region).

        Raises :class:`RegionBadError` when the region is BAD or a covered word turns out to
        be uncorrectable (the region then turns BAD); ``ValueError`` for a range outside the
        region.
        """
        if length is None:
            length = self.size_bytes - offset
        w0, w1 = self._range(offset, length)
        if self.state is RegionState.BAD:
            raise self._refuse()
        if w1 <= w0:
            self.reads += 1
            return b""
        _, a, words = self._scan_words(w0, w1, "read")
        if self.is_bad:
            raise self._refuse()
        self.reads += 1
        start = offset - 8 * a
        return words.view(np.uint8)[start : start + length].tobytes()

    def read_all(self) -> bytes:
        """The whole region, corrected (see :meth:`read`)."""
        return self.read(0, self.size_bytes)

    def read_array(
        self, dtype: npt.DTypeLike, offset: int = 0, count: int = -1
    ) -> np.ndarray[Any, Any]:
        """``count`` items of ``dtype`` from byte ``offset`` (-1: as many as fit), corrected.

        Returns a new array (the caller owns it; the protected buffer is never exposed).
        """
        dt = np.dtype(dtype)
        if count < 0:
            count = (self.size_bytes - offset) // dt.itemsize
        raw = self.read(offset, count * dt.itemsize)
        return np.frombuffer(raw, dtype=dt).copy()

    # -- writes ------------------------------------------------------------------------------
    def write(
        self, offset: int, payload: bytes | bytearray | memoryview | np.ndarray[Any, Any]
    ) -> None:
        """Write ``payload`` at byte ``offset`` and re-encode the words it covers.

        Read-only regions raise :class:`FlightError`; a BAD region, or a partially written
        boundary word that is uncorrectable, raises :class:`RegionBadError` (nothing
        written).
        """
        if not self.writable:
            raise FlightError(f"region {self.name} is read-only")
        src = np.frombuffer(
            payload.tobytes() if isinstance(payload, np.ndarray) else payload, dtype=np.uint8
        )
        n = int(src.size)
        w0, w1 = self._range(offset, n)
        if self.state is RegionState.BAD:
            raise self._refuse()
        if n == 0:
            return
        a, words, checks = self._words(w0, w1)
        # Boundary words that keep some old bytes are corrected before being merged.
        first_partial = offset % 8 != 0
        if first_partial:
            self._scrub_words(a, words, checks, w0 - a, w0 - a + 1, "write")
        if (offset + n) % 8 and not (first_partial and w1 - 1 == w0):
            self._scrub_words(a, words, checks, w1 - 1 - a, w1 - a, "write")
        if self.is_bad:
            self._put(a, words, checks)  # keep the corrections made on the way
            raise self._refuse()
        start = offset - 8 * a
        words.view(np.uint8)[start : start + n] = src
        secded_encode(words[w0 - a : w1 - a], out=checks[w0 - a : w1 - a])
        self._put(a, words, checks)
        self.writes += 1

    def load(self, content: bytes | bytearray | memoryview | np.ndarray[Any, Any]) -> None:
        """Replace the whole content (same size; e.g. a model upload) and store it as golden.

        Allowed on read-only and BAD regions: every word is rewritten.
        """
        src = np.frombuffer(
            content.tobytes() if isinstance(content, np.ndarray) else content, dtype=np.uint8
        )
        if src.size != self.size_bytes:
            raise ValueError(
                f"region {self.name}: load of {src.size} B, region is {self.size_bytes} B"
            )
        a, words, checks = self._words(0, self.n_words)
        raw = words.view(np.uint8)
        raw[: self.size_bytes] = src
        raw[self.size_bytes :] = 0
        secded_encode(words, out=checks)
        self._put(a, words, checks)
        self.bad_pages.clear()
        self._bad_words.clear()
        self.state = RegionState.OK
        self.writes += 1
        if self.store is not None:
            self.store_golden()

    # -- scrubbing ---------------------------------------------------------------------------
    def scrub(self, w0: int = 0, w1: int | None = None) -> ScrubOutcome:
        """Scrub words ``[w0, w1)`` in place (default: all). Never raises for bad data:
        uncorrectable words turn the region BAD and are listed in the outcome."""
        if w1 is None:
            w1 = self.n_words
        if not 0 <= w0 <= w1 <= self.n_words:
            raise ValueError(f"region {self.name}: words [{w0}, {w1}) outside [0, {self.n_words})")
        out = self._scan(w0, w1, "scrub") if w1 > w0 else ScrubOutcome(0, 0, 0, ())
        self.words_scrubbed += w1 - w0
        return out

    # -- golden copy -------------------------------------------------------------------------
    def store_golden(self) -> None:
        """Write the current (corrected) content as the golden copy.

        Raises :class:`RegionBadError` when the region is BAD (a bad image is never stored)
        and :class:`GoldenCopyError` when there is no store.
        """
        if self.store is None:
            raise GoldenCopyError(f"region {self.name} has no golden store")
        payload = self.read_all()
        self.store.write(self.golden_name, pack_golden(self.region_id, payload))
        self.golden_failed = False

    def _golden_payload(self) -> U8:
        if self.store is None:
            raise GoldenCopyError("no golden store")
        try:
            blob = self.store.read(self.golden_name)
        except GoldenCopyError:
            raise
        except Exception as exc:  # storage device errors, missing blob
            raise GoldenCopyError(f"cannot read {self.golden_name}: {exc}") from exc
        payload = unpack_golden(blob, self.region_id, self.size_bytes)
        return np.frombuffer(payload, dtype=np.uint8)

    def check_golden(self) -> str | None:
        """None when the golden copy passes its checks, else the reason (nothing changes)."""
        try:
            self._golden_payload()
        except GoldenCopyError as exc:
            return str(exc)
        return None

    def reload(self, *, full: bool = False, source: str = "auto") -> bool:
        """Restore the BAD pages (every page if ``full``) from the golden copy.

        Returns True on success (region OK). If the golden copy is missing or fails its
        checks, nothing is copied, ``golden_failures`` counts it, a ``GOLDEN_CORRUPT`` event
        is raised, the region keeps its state (stays BAD) and False is returned.
        """
        pages = tuple(range(self.n_pages)) if full else tuple(sorted(self.bad_pages))
        if not pages:
            return True
        try:
            golden = self._golden_payload()
        except GoldenCopyError as exc:
            self.golden_failures += 1
            self.golden_failed = True
            self._notify(
                RegionEvent(
                    RegionEventKind.GOLDEN_CORRUPT, self, source, pages=pages, detail=str(exc)
                )
            )
            return False
        pw = self.page_words
        for p in pages:
            w0, w1 = p * pw, min((p + 1) * pw, self.n_words)
            b0, b1 = w0 * 8, min(w1 * 8, self.size_bytes)
            a, words, checks = self._words(w0, w1)
            raw = words.view(np.uint8)
            raw[b0 - 8 * a : b1 - 8 * a] = golden[b0:b1]
            raw[b1 - 8 * a : w1 * 8 - 8 * a] = 0  # padding of the last word
            secded_encode(words[w0 - a : w1 - a], out=checks[w0 - a : w1 - a])
            self._put(a, words, checks)
        self.bad_pages.clear()
        self._bad_words.clear()
        self.state = RegionState.OK
        self.reloads += 1
        self.pages_reloaded += len(pages)
        self._notify(RegionEvent(RegionEventKind.RELOADED, self, source, pages=pages))
        return True

    # -- reporting ---------------------------------------------------------------------------
    def counters(self) -> dict[str, int | str]:
        """Counters and state (JSON-serialisable)."""
        return {
            "id": self.region_id,
            "kind": self.kind,
            "size_bytes": self.size_bytes,
            "state": self.state.value,
            "corrected": self.corrected,
            "corrected_check": self.corrected_check,
            "uncorrectable": self.uncorrectable,
            "reloads": self.reloads,
            "pages_reloaded": self.pages_reloaded,
            "golden_failures": self.golden_failures,
            "reads": self.reads,
            "reads_refused": self.reads_refused,
            "writes": self.writes,
        }
