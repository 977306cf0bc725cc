"""Statistical SEU fault-injection campaign against a live EDAC setup (``satnode faults seu``).

Set-up (as in a node, without HAL): a simulated clock, an :class:`~flight.core.Executive`
at 10 Hz, an :class:`~flight.edac.EdacApp` built from an ``[edac]`` table (regions
``weights`` 1 MiB, ``params`` 64 KiB, ``code`` 256 KiB of the flight image, ``staging``
128 KiB; 1 KiB pages; golden copies in a RAM store), its :class:`~flight.edac.Scrubber` at
10 Hz sweeping the memory in about four steps (accelerated: in flight the period comes from
the upset rate), and a *reader* component that every tick reads one region through the
protection layer and compares what it was handed with an independent copy of the content
(the oracle, kept outside the protected memory).

Each batch:

1. picks distinct pages at random (one injection per page, so that a page reload caused by
   one injection can never hide the outcome of another) and one word in each, uniformly;
2. flips ``b`` distinct bits of that 72-bit word (positions uniform over the 64 data and 8
   check bits) directly in the region's memory (:meth:`~flight.edac.ProtectedRegion.flip`:
   word terms, whatever the physical layout);

   or, for the kind ``"world"``, draws one upset as the simulated world does
   (:mod:`hal.sim.world._radiation`): a bit uniform over the *physical* arrays the radiation
   model is given (data and check octets, ``data``/``checks`` of each region, so 8 in 72 land
   in check octets), which with probability ``mbu_fraction`` (0.014) also flips the next
   physical bit (the previous one at the end of an array). With bit interleaving (the
   ``[edac] interleave`` default, 8) the two bits of such a multiple-bit upset belong to two
   different words; without it (``interleave=1``) they nearly always share one. The kind
   ``"mbu"`` is the same draw conditioned on a multiple-bit upset (every injection flips two
   adjacent physical bits), to measure that 1.4 % precisely;
3. lets the application refill one staging page in eight from its source, through the
   protection layer (a write that overwrites an upset masks it);
4. runs the executive until the scrubber has examined every word since the injection and no
   region is BAD, then reads every region once more (the final consumer pass);
5. classifies every injection from what the system did and handed out:

   - ``masked``: the word was overwritten by the application before anything read it;
   - ``corrected``: restored to its golden value without any detection or reload;
   - ``detected_recovered``: reported uncorrectable (by a reader or the scrubber) and restored
     from the golden copy;
   - ``detected_unrecovered``: reported uncorrectable but not restored (golden copy unusable);
   - ``silent``: a reader was handed wrong data for that word (a miscorrection);
   - ``latent``: wrong data left in memory that nobody read (must not happen: the final pass
     reads everything).

   An injection that touched two words takes the worst outcome of the two (silent, then
   detected, then corrected). The classification is cross-checked against the kernel's own
   counters, word by word: words the regions counted as corrected must equal the touched
   words restored without detection plus the silent ones (a miscorrection is a "correction"
   to the kernel), and words counted uncorrectable must equal the detected ones.

Fractions are reported with 95 % Wilson score intervals. ``effective`` injections exclude
the masked ones; the acceptance figures are taken over them.

Orbit estimates: for the campaign's memory size and the scrub plan a node would run with
the default ``[edac]`` settings (and for 1 GiB at its required period), the expected
double-upset (detected, reloaded), triple-upset and silent (triple x measured miscorrection
fraction) rates per year, outside and inside the SAA, and the multiple-bit-upset rate that
no scrub period bounds.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from flight.core import Component, Executive, SimClock
from flight.edac import (
    DAYS_PER_YEAR,
    MemoryBlobStore,
    ProtectedRegion,
    RegionBadError,
    RegionEvent,
    RegionEventKind,
    RegionState,
    ScrubConfig,
    build_edac,
    mbu_rate_per_day,
    parse_config,
    plan_scrub,
    triple_upset_rate_per_day,
    uncorrectable_rate_per_day,
    wilson_interval,
)

__all__ = [
    "CAMPAIGN_REGIONS",
    "WORLD_KINDS",
    "BitResult",
    "CampaignReport",
    "Classification",
    "format_campaign",
    "orbit_estimates",
    "run_seu_campaign",
]

#: Memory of the campaign node (an ``[edac]`` regions array).
CAMPAIGN_REGIONS: tuple[dict[str, Any], ...] = (
    {"name": "weights", "kind": "weights", "size_bytes": 1 << 20},
    {"name": "params", "kind": "params", "size_bytes": 64 << 10},
    {"name": "code", "kind": "code", "size_bytes": 256 << 10},
    {"name": "staging", "kind": "buffer", "size_bytes": 128 << 10},
)
#: Injection kinds besides a number of bits per word (see the module docstring).
WORLD_KINDS = ("world", "mbu")
#: Region kinds of the campaign memory: writable or not.
_WRITABLE = {"weights": False, "params": True, "code": False, "buffer": True}
_PARAM_RECORD = np.dtype(
    [("id", "<u4"), ("flags", "<u4"), ("value", "<f8"), ("min", "<f4"), ("max", "<f4")]
)


def _flight_image_bytes() -> bytes:
    """The flight image's code bytes: the ``flight`` package's sources, sorted by path."""
    import flight

    root = Path(flight.__file__).resolve().parent
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*.py")))


def _content(kind: str, size_bytes: int, seed: int, region_id: int) -> bytes:
    """Deterministic realistic content of a campaign region of ``kind``."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, region_id, 0xEDAC])
    if kind == "code":
        image = np.frombuffer(_flight_image_bytes(), dtype=np.uint8)
        return np.resize(image, size_bytes).tobytes()
    if kind == "weights":
        weights = rng.normal(0.0, 0.02, math.ceil(size_bytes / 4)).astype("<f4")
        return weights.tobytes()[:size_bytes]
    if kind == "params":
        n = math.ceil(size_bytes / _PARAM_RECORD.itemsize)
        table = np.zeros(n, dtype=_PARAM_RECORD)
        table["id"] = np.arange(1, n + 1)
        table["flags"] = rng.integers(0, 4, n)
        table["min"] = -rng.integers(1, 100, n)
        table["max"] = rng.integers(1, 100, n)
        table["value"] = rng.uniform(table["min"], table["max"])
        return table.tobytes()[:size_bytes]
    if kind == "buffer":
        return bytes(size_bytes)
    raise ValueError(f"unknown region kind {kind!r}")


_CAMPAIGN_PAGE_BYTES = 1024
_BASE_HZ = 10.0
_MBU_FRACTION = 0.014  # REFERENCE.md: 98.6 % of LEO SRAM upsets are single-bit
_REFERENCE_WORDS = (1 << 30) // 8  # 1 GiB


@enum.unique
class Classification(enum.Enum):
    """Outcome of one injected upset (see the module docstring)."""

    MASKED = "masked"
    CORRECTED = "corrected"
    DETECTED_RECOVERED = "detected_recovered"
    DETECTED_UNRECOVERED = "detected_unrecovered"
    SILENT = "silent"
    LATENT = "latent"


@dataclass(slots=True)
class BitResult:
    """Counts for one injection kind: a number of flipped bits per word, or a world-model kind
    (``"world"``, ``"mbu"``)."""

    bits: int | str
    injections: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((c.value for c in Classification), 0)
    )
    check_bit_only: int = 0  #: injections that flipped check bits only
    kernel_corrected: int = 0  #: words the regions counted as corrected during the batches
    kernel_uncorrectable: int = 0  #: words the regions counted as uncorrectable
    reloads: int = 0  #: page reloads from golden copies
    words_touched: int = 0  #: words an unmasked injection changed (2 for a split MBU)
    words_corrected: int = 0  #: of those: restored without detection, or handed out wrong
    words_detected: int = 0  #: of those: reported uncorrectable
    multi_word: int = 0  #: injections whose bits fell into two words

    @property
    def effective(self) -> int:
        """Injections that were not masked."""
        return self.injections - self.counts[Classification.MASKED.value]

    @property
    def consistent(self) -> bool:
        """The classification agrees with the kernel's counters."""
        c = self.counts
        detected = c["detected_recovered"] + c["detected_unrecovered"]
        return (
            self.kernel_corrected == self.words_corrected
            and self.kernel_uncorrectable == self.words_detected
            and self.words_detected >= detected
            and self.words_corrected >= c["corrected"] + c["silent"]
        )

    def fraction(self, name: str, of_effective: bool = False) -> tuple[float, float, float]:
        """(point estimate, 95 % Wilson low, high) of class ``name``."""
        n = self.effective if of_effective else self.injections
        k = self.counts[name]
        lo, hi = wilson_interval(k, n)
        return (k / n if n else 0.0, lo, hi)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, with fractions and intervals."""
        return {
            "bits": self.bits,
            "injections": self.injections,
            "effective": self.effective,
            "check_bit_only": self.check_bit_only,
            "counts": dict(self.counts),
            "fractions": {
                name: dict(zip(("p", "lo95", "hi95"), self.fraction(name), strict=True))
                for name in self.counts
            },
            "fractions_of_effective": {
                name: dict(zip(("p", "lo95", "hi95"), self.fraction(name, True), strict=True))
                for name in self.counts
                if name != Classification.MASKED.value
            },
            "kernel_corrected": self.kernel_corrected,
            "kernel_uncorrectable": self.kernel_uncorrectable,
            "page_reloads": self.reloads,
            "words_touched": self.words_touched,
            "words_corrected": self.words_corrected,
            "words_detected": self.words_detected,
            "multi_word": self.multi_word,
            "consistent": self.consistent,
        }


@dataclass(slots=True)
class CampaignReport:
    """Result of :func:`run_seu_campaign`."""

    seed: int
    injections_per_bit: int
    results: dict[int | str, BitResult]
    protected_bytes: int
    page_bytes: int
    batches: int
    ticks: int
    sweep_period_s: float  #: the accelerated campaign sweep period (simulated s)
    orbit: dict[str, Any]
    interleave: int = 8  #: words per bit-interleaved group of the campaign's regions
    mbu_fraction: float = 0.014  #: fraction of world upsets that flip two adjacent bits

    @property
    def acceptance(self) -> dict[str, bool]:
        """The acceptance checks (True = met), by name."""
        out: dict[str, bool] = {}
        for b, r in self.results.items():
            c = r.counts
            tag = b if isinstance(b, str) else f"{b}bit"
            out[f"{tag}_consistent"] = r.consistent
            out[f"{tag}_no_latent_or_unrecovered"] = (
                c["latent"] == 0 and c["detected_unrecovered"] == 0
            )
            if b == 1:
                out["1bit_all_corrected"] = c["corrected"] == r.effective
            if b == 2:
                out["2bit_all_detected_recovered"] = c["detected_recovered"] == r.effective
            if b in (1, 2):
                out[f"{b}bit_no_silent"] = c["silent"] == 0
            if isinstance(b, str) and self.interleave > 1:
                # interleaved: a multiple-bit upset is two single-bit errors, all corrected
                out[f"{b}_all_corrected"] = c["corrected"] == r.effective
                out[f"{b}_no_silent"] = c["silent"] == 0
        return out

    @property
    def passed(self) -> bool:
        """All acceptance checks met."""
        return all(self.acceptance.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "seed": self.seed,
            "injections_per_bit": self.injections_per_bit,
            "protected_bytes": self.protected_bytes,
            "page_bytes": self.page_bytes,
            "interleave": self.interleave,
            "mbu_fraction": self.mbu_fraction,
            "batches": self.batches,
            "ticks": self.ticks,
            "campaign_sweep_period_s": self.sweep_period_s,
            "results": {str(b): r.as_dict() for b, r in self.results.items()},
            "results_key": "bits per word, or a world-model kind (world, mbu)",
            "acceptance": self.acceptance,
            "passed": self.passed,
            "orbit": self.orbit,
        }


class _Reader(Component):
    """Reads one region per tick through the protection layer and checks it against the
    oracle; records every word for which it was handed wrong data (global word ids)."""

    def __init__(
        self,
        regions: Sequence[ProtectedRegion],
        oracle: Sequence[npt.NDArray[np.uint8]],
        base: Sequence[int],
    ) -> None:
        super().__init__("seu_reader", 61)
        self.regions = tuple(regions)
        self.oracle = tuple(oracle)
        self.base = tuple(base)
        self.silent: list[npt.NDArray[np.int64]] = []
        self.refused = 0
        self._next = 0

    def consume(self, i: int) -> bool:
        """Read region ``i`` completely; False if it was refused (BAD)."""
        region = self.regions[i]
        try:
            got = np.frombuffer(region.read_all(), dtype=np.uint8)
        except RegionBadError:
            self.refused += 1
            return False
        wrong = np.flatnonzero(got != self.oracle[i])
        if wrong.size:
            self.silent.append(np.unique(wrong // 8).astype(np.int64) + self.base[i])
        return True

    def step(self, t_ns: int) -> None:
        """Read the next region (retry the same one next tick if it was refused)."""
        if self.consume(self._next):
            self._next = (self._next + 1) % len(self.regions)


def mbu_same_word_fraction(interleave: int) -> float:
    """Fraction of two-adjacent-bit upsets (uniform over the 72 stored bits of a word's
    physical layout) whose two bits fall into one SECDED word: (63 + 7) / 72 without
    interleaving (the pair straddles a word boundary only at the last bit of a word or check
    octet), 0 with it."""
    return 0.0 if interleave > 1 else (63 + 7) / 72


def orbit_estimates(
    words: int,
    rate_hz: float,
    cfg: ScrubConfig,
    miscorrection_frac: float | None,
    *,
    interleave: int = 8,
    mbu_fraction: float = _MBU_FRACTION,
) -> dict[str, Any]:
    """Expected in-orbit rates (per year) for ``words`` under the scrub plan of ``cfg``."""
    out: dict[str, Any] = {"words": words, "protected_bytes": words * 8, "interleave": interleave}
    same = mbu_same_word_fraction(interleave)
    for label, in_saa in (("outside_saa", False), ("inside_saa", True)):
        plan = plan_scrub(words, rate_hz, cfg, in_saa)
        lam = plan.rate_per_bit_day
        r2 = uncorrectable_rate_per_day(words, lam, plan.planned_period_s) * DAYS_PER_YEAR
        r3 = triple_upset_rate_per_day(words, lam, plan.planned_period_s) * DAYS_PER_YEAR
        out[label] = {
            "upset_rate_per_bit_day": lam,
            "scrub_period_achieved_s": plan.planned_period_s,
            "scrub_period_required_s": plan.required_period_s,
            "words_per_step": plan.words_per_step,
            "meets_requirement": plan.meets_requirement,
            "single_upsets_per_year": words * 72 * lam * DAYS_PER_YEAR,
            "double_in_word_per_year": r2,
            "triple_in_word_per_year": r3,
            "silent_per_year": None if miscorrection_frac is None else r3 * miscorrection_frac,
            "mbu_doubles_per_year": mbu_rate_per_day(words, lam, mbu_fraction)
            * same
            * DAYS_PER_YEAR,
        }
    return out


def _bit_masks(
    rng: np.random.Generator, k: int, bits: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
    """``k`` random patterns of ``bits`` distinct positions among 72: (data mask, check mask)."""
    pos = np.argsort(rng.random((k, 72)), axis=1)[:, :bits].astype(np.uint64)
    is_data = pos < 64
    one = np.uint64(1)
    dbits = np.where(is_data, np.left_shift(one, np.where(is_data, pos, 0)), np.uint64(0))
    cbits = np.where(is_data, np.uint64(0), np.left_shift(one, np.where(is_data, 0, pos - 64)))
    dmask = np.bitwise_or.reduce(dbits, axis=1).astype(np.uint64)
    cmask = np.bitwise_or.reduce(cbits, axis=1).astype(np.uint8)
    return dmask, cmask


def _phys_word(q: int, in_checks: bool, interleave: int) -> int:
    """The word that physical bit ``q`` of a region's data (or check) array belongs to
    (the layout of :class:`~flight.edac.ProtectedRegion`)."""
    width = 8 if in_checks else 64
    if interleave == 1:
        return q // width
    group_bits = width * interleave
    return (q // group_bits) * interleave + (q % group_bits) % interleave


def _world_upset(
    rng: np.random.Generator,
    region: ProtectedRegion,
    first: int,
    n: int,
    mbu: bool,
) -> tuple[tuple[int, ...], bool]:
    """Flip one upset as the world draws it inside words ``[first, first + n)`` of
    ``region`` (physical arrays, adjacent second bit when ``mbu``). Returns the words touched
    and whether only check bits were hit."""
    in_checks = bool(rng.random() < 8 / 72)
    width = 8 if in_checks else 64
    q = first * width + int(rng.integers(0, n * width))
    array = region.checks if in_checks else region.data
    flat = array.view(np.uint8)
    positions = [q]
    if mbu:
        second = q + 1 if q + 1 < flat.size * 8 else q - 1  # the world's rule at the end
        positions.append(second)
    for pos in positions:
        flat[pos >> 3] ^= np.uint8(1 << (pos & 7))
    touched = tuple(sorted({_phys_word(pos, in_checks, region.interleave) for pos in positions}))
    return touched, in_checks


def run_seu_campaign(
    injections: int = 100_000,
    bits: Sequence[int | str] = (1, 2, 3),
    seed: int = 1,
    *,
    regions: Sequence[dict[str, Any]] = CAMPAIGN_REGIONS,
    page_bytes: int = _CAMPAIGN_PAGE_BYTES,
    mask_every: int = 8,
    interleave: int = 8,
    mbu_fraction: float = _MBU_FRACTION,
    progress: Callable[[int, int], None] | None = None,
) -> CampaignReport:
    """Inject ``injections`` upsets of each kind in ``bits`` and classify them.

    A kind is a number of bits flipped in one word (1..72) or a world-model kind
    (:data:`WORLD_KINDS`). ``mask_every``: one staging page in this many is refilled after
    each injection round (0: never). ``interleave``: the regions' bit interleaving (the
    ``[edac]`` key). ``mbu_fraction``: multiple-bit upsets among world upsets (the world's
    ``radiation.mbu_fraction``). ``progress(done, total)`` is called after every batch.
    """
    if injections < 1:
        raise ValueError(f"injections must be >= 1, got {injections}")
    for b in bits:
        if isinstance(b, str):
            if b not in WORLD_KINDS:
                raise ValueError(f"injection kind must be 1..72 or one of {WORLD_KINDS}, got {b!r}")
        elif not 1 <= b <= 72:
            raise ValueError(f"bits per word must be in 1..72, got {b}")
    if not 0 <= mbu_fraction <= 1:
        raise ValueError(f"mbu_fraction must be in [0, 1], got {mbu_fraction}")
    clock = SimClock()
    ex = Executive(clock, _BASE_HZ)
    cfg = parse_config(
        {
            "page_bytes": page_bytes,
            "rate_hz": _BASE_HZ,
            "max_period_s": 0.4,  # accelerated: sweep in about four ticks
            "interleave": interleave,
        }
    )
    app = build_edac(ex, cfg, MemoryBlobStore(), store_label="ram")
    regs: list[ProtectedRegion] = []
    for spec in regions:  # the campaign owns its regions and their (test) content
        if spec["size_bytes"] % (8 * interleave):
            raise ValueError(f"region {spec['name']}: size must hold whole interleaved groups")
        region = app.regions.create(
            spec["name"], spec["size_bytes"], writable=_WRITABLE[spec["kind"]]
        )
        region.load(_content(spec["kind"], spec["size_bytes"], seed, region.region_id))
        regs.append(region)
    oracle = [np.frombuffer(r.read_all(), dtype=np.uint8).copy() for r in regs]
    gold = [r.words() for r in regs]
    word_base = np.cumsum([0] + [r.n_words for r in regs])[:-1]
    total_words = int(sum(r.n_words for r in regs))
    reader = _Reader(regs, oracle, word_base.tolist())
    ex.add(reader, _BASE_HZ)
    detected: list[int] = []

    def on_event(ev: RegionEvent) -> None:
        if ev.kind is RegionEventKind.UNCORRECTABLE:
            base = int(word_base[regs.index(ev.region)])
            detected.extend(base + w for w in ev.words)

    for r in regs:
        r.add_listener(on_event)
    # Pages as a flat table: region index, first word, words in the page.
    page_region = np.concatenate([np.full(r.n_pages, i) for i, r in enumerate(regs)])
    page_first = np.concatenate([np.arange(r.n_pages) * r.page_words for r in regs])
    page_len = np.concatenate(
        [np.minimum(r.page_words, r.n_words - np.arange(r.n_pages) * r.page_words) for r in regs]
    )
    n_pages = page_region.size
    staging = [i for i, spec in enumerate(regions) if spec["kind"] == "buffer"]
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x5E0])
    ex.start()
    results: dict[int | str, BitResult] = {}
    batches = ticks = 0
    total_batches = len(bits) * math.ceil(injections / n_pages)

    def counters() -> tuple[int, int, int]:
        return (
            sum(r.corrected for r in regs),
            sum(r.uncorrectable for r in regs),
            sum(r.pages_reloaded for r in regs),
        )

    for b in bits:
        res = results[b] = BitResult(b)
        remaining = injections
        while remaining:
            k = min(remaining, n_pages)
            remaining -= k
            pages = rng.choice(n_pages, k, replace=False)
            ridx = page_region[pages]
            before = counters()
            detected.clear()
            reader.silent.clear()
            # Words touched by each injection (global ids; the second equals the first when
            # one word was hit) and whether only check bits were hit.
            w_first = np.empty(k, dtype=np.int64)
            w_second = np.empty(k, dtype=np.int64)
            check_only = np.zeros(k, dtype=bool)
            if isinstance(b, str):
                p_mbu = 1.0 if b == "mbu" else mbu_fraction
                for j in range(k):
                    i = int(ridx[j])
                    touched, check_only[j] = _world_upset(
                        rng,
                        regs[i],
                        int(page_first[pages[j]]),
                        int(page_len[pages[j]]),
                        bool(rng.random() < p_mbu),
                    )
                    w_first[j] = word_base[i] + touched[0]
                    w_second[j] = word_base[i] + touched[-1]
            else:
                local = page_first[pages] + (rng.random(k) * page_len[pages]).astype(np.int64)
                dmask, cmask = _bit_masks(rng, k, b)
                for j in range(k):
                    regs[int(ridx[j])].flip(int(local[j]), int(dmask[j]), int(cmask[j]))
                w_first[:] = word_base[ridx] + local
                w_second[:] = w_first
                check_only[:] = dmask == 0
            # Words overwritten by a staging refill; an injection is masked when every word
            # it touched was overwritten.
            refilled = np.zeros(total_words, dtype=bool)
            if mask_every:
                for i in staging:
                    r = regs[i]
                    refill = np.flatnonzero(rng.random(r.n_pages) < 1.0 / mask_every)
                    for p in refill:
                        lo = int(p) * r.page_words * 8
                        hi = min(lo + r.page_words * 8, r.size_bytes)
                        r.write(lo, oracle[i][lo:hi])
                        w0 = int(word_base[i]) + int(p) * r.page_words
                        refilled[w0 : w0 + math.ceil((hi - lo) / 8)] = True
            masked = refilled[w_first] & refilled[w_second]
            # Run until every word was examined since the injection and nothing is BAD.
            start = app.scrubber.words_scrubbed
            while app.scrubber.words_scrubbed - start < app.scrubber.total_words or any(
                r.state is RegionState.BAD for r in regs
            ):
                ex.tick()
                clock.advance(ex.period_ns)
                ticks += 1
            for i in range(len(regs)):  # the final consumer pass
                while not reader.consume(i):
                    ex.tick()
                    clock.advance(ex.period_ns)
                    ticks += 1
            after = counters()
            res.kernel_corrected += after[0] - before[0]
            res.kernel_uncorrectable += after[1] - before[1]
            res.reloads += after[2] - before[2]
            # Per-word state over the whole memory, then per injection (worst of its words).
            ok = np.zeros(total_words, dtype=bool)
            for i, r in enumerate(regs):
                cur_w, cur_c = r.words()
                good = (cur_w == gold[i][0]) & (cur_c == gold[i][1])
                ok[word_base[i] : word_base[i] + r.n_words] = good
                # Harness repair of what the system left wrong (silent words) for the next
                # batch, in word terms whatever the layout.
                for w in np.flatnonzero(~good).tolist():
                    r.flip(
                        w,
                        int(cur_w[w] ^ gold[i][0][w]),
                        int(cur_c[w] ^ gold[i][1][w]),
                    )
            det = np.zeros(total_words, dtype=bool)
            det[np.asarray(detected, dtype=np.int64)] = True
            sil = np.zeros(total_words, dtype=bool)
            if reader.silent:
                sil[np.unique(np.concatenate(reader.silent))] = True
            restored = ok[w_first] & ok[w_second]
            is_detected = det[w_first] | det[w_second]
            is_silent = sil[w_first] | sil[w_second]
            cls = np.full(k, Classification.LATENT.value, dtype=object)
            cls[restored & ~is_detected] = Classification.CORRECTED.value
            cls[is_detected & restored] = Classification.DETECTED_RECOVERED.value
            cls[is_detected & ~restored] = Classification.DETECTED_UNRECOVERED.value
            cls[is_silent] = Classification.SILENT.value
            cls[masked] = Classification.MASKED.value
            names, counts = np.unique(cls, return_counts=True)
            for name, n in zip(names.tolist(), counts.tolist(), strict=True):
                res.counts[name] += n
            # Word-level accounting for the cross-check with the kernel's counters.
            hit = np.unique(np.concatenate([w_first, w_second]))
            hit = hit[~refilled[hit]]
            res.words_touched += int(hit.size)
            res.words_corrected += int(np.count_nonzero(~det[hit] & (ok[hit] | sil[hit])))
            res.words_detected += int(np.count_nonzero(det[hit]))
            res.multi_word += int(np.count_nonzero(w_first != w_second))
            res.injections += k
            res.check_bit_only += int(np.count_nonzero(check_only))
            batches += 1
            if progress is not None:
                progress(batches, total_batches)
    ex.stop()
    three = results.get(3)
    miscorrection = (
        three.fraction("silent", True)[0] if three is not None and three.effective else None
    )
    default_cfg = parse_config({"interleave": interleave}).scrub
    words = sum(r.n_words for r in regs)
    orbit = {
        "campaign_memory": orbit_estimates(
            words,
            1.0,
            default_cfg,
            miscorrection,
            interleave=interleave,
            mbu_fraction=mbu_fraction,
        ),
        # 1 GiB with the step budget lifted: what the formula allows at 1 Hz.
        "reference_1GiB": orbit_estimates(
            _REFERENCE_WORDS,
            1.0,
            dataclasses.replace(default_cfg, max_words_per_step=1 << 40),
            miscorrection,
            interleave=interleave,
            mbu_fraction=mbu_fraction,
        ),
        "miscorrection_fraction_3bit": miscorrection,
        "mbu_fraction": mbu_fraction,
        "mbu_same_word_fraction": mbu_same_word_fraction(interleave),
        "default_scrub_rate_hz": 1.0,
    }
    return CampaignReport(
        seed=seed,
        injections_per_bit=injections,
        results=results,
        protected_bytes=sum(r.size_bytes for r in regs),
        page_bytes=page_bytes,
        batches=batches,
        ticks=ticks,
        sweep_period_s=app.scrubber.achieved_period_s,
        orbit=orbit,
        interleave=interleave,
        mbu_fraction=mbu_fraction,
    )


def _pct(p: tuple[float, float, float]) -> str:
    return f"{100 * p[0]:8.3f}% [{100 * p[1]:7.3f}, {100 * p[2]:7.3f}]"


def format_campaign(report: CampaignReport) -> str:
    """A human-readable report: per-bit table with 95 % Wilson intervals, acceptance, orbit."""
    lines = [
        f"SEU injection campaign: {report.injections_per_bit} injections per bit count, "
        f"seed {report.seed}, {report.protected_bytes} protected bytes, "
        f"{report.page_bytes}-byte reload pages, bit interleaving {report.interleave} "
        f"word(s) per group, {report.batches} batches, {report.ticks} ticks",
        "fractions of all injections, 95% Wilson score intervals in brackets; masked = "
        "overwritten by a staging refill before any read; acceptance is over the effective "
        "(unmasked) injections:",
    ]
    names = [c.value for c in Classification]
    labels = {
        "world": f"world upsets (1 bit, or 2 adjacent physical bits with probability "
        f"{report.mbu_fraction:g})",
        "mbu": "multiple-bit upsets (2 adjacent physical bits)",
    }
    for b, r in report.results.items():
        label = labels[b] if isinstance(b, str) else f"{b}-bit"
        split = f", {r.multi_word} split over two words" if isinstance(b, str) else ""
        lines.append(
            f"  {label} ({r.injections} injections, {r.effective} effective, "
            f"{r.check_bit_only} in check bits only{split}):"
        )
        for name in names:
            if r.counts[name] or name in ("corrected", "detected_recovered", "silent"):
                lines.append(f"    {name:<22}{r.counts[name]:>8}  {_pct(r.fraction(name))}")
        eff = {n: r.fraction(n, True) for n in ("corrected", "detected_recovered", "silent")}
        lines.append(
            "    of effective: corrected "
            + _pct(eff["corrected"]).strip()
            + ", detected+recovered "
            + _pct(eff["detected_recovered"]).strip()
            + ", silent "
            + _pct(eff["silent"]).strip()
        )
        lines.append(
            f"    kernel counters: corrected {r.kernel_corrected}, uncorrectable "
            f"{r.kernel_uncorrectable}, page reloads {r.reloads}; "
            f"classification {'consistent' if r.consistent else 'INCONSISTENT'}"
        )
    lines.append("acceptance:")
    for name, ok in report.acceptance.items():
        lines.append(f"  {'PASS' if ok else 'FAIL'}  {name}")
    orbit = report.orbit
    mis = orbit["miscorrection_fraction_3bit"]
    lines.append(
        "in orbit (REFERENCE: R2 ~ W (72 lambda)^2 T / 2, R3 ~ W (72 lambda)^3 T^2 / 6 per day; "
        f"silent = R3 x measured 3-bit miscorrection {'n/a' if mis is None else f'{mis:.3f}'}; "
        f"default [edac] plan at {orbit['default_scrub_rate_hz']:g} Hz; inside-SAA figures are "
        "annualised rates while inside):"
    )
    for label, note in (
        ("campaign_memory", "default step budget"),
        ("reference_1GiB", "step budget lifted"),
    ):
        est = orbit[label]
        lines.append(f"  {label} ({est['protected_bytes']} bytes, {note}):")
        for zone in ("outside_saa", "inside_saa"):
            z = est[zone]
            silent = "n/a" if z["silent_per_year"] is None else f"{z['silent_per_year']:.3g}"
            lines.append(
                f"    {zone:<12} lambda {z['upset_rate_per_bit_day']:.1e}/bit/day: period "
                f"{z['scrub_period_achieved_s']:.3g} s (required {z['scrub_period_required_s']:.3g} s"
                f"{'' if z['meets_requirement'] else ', NOT MET'}); per year: single "
                f"{z['single_upsets_per_year']:.3g}, double-in-word {z['double_in_word_per_year']:.3g}, "
                f"triple {z['triple_in_word_per_year']:.3g}, silent {silent}, "
                f"MBU doubles {z['mbu_doubles_per_year']:.3g} (not bounded by scrubbing)"
            )
    return "\n".join(lines)
