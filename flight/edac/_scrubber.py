"""The scrubber component: walks every protected region in bounded slices, reloads BAD ones.

Scrub plan (:func:`plan_scrub`)
------------------------------
From the protected size ``W`` (words), the upset rate ``lambda`` (per bit per day) and the
target uncorrectable rate ``R`` the required period is ``T_req = 2 R / (W (72 lambda)^2)``
(:mod:`flight.edac._period`). The scrubber aims at ``T_target = min(margin T_req,
max_period_s)`` and scrubs ``ceil(W / floor(T_target f))`` words per step at its rate ``f`` (so
that a sweep never takes longer than the target by a rounding), but never more than
``max_words_per_step`` (the CPU budget that keeps the rate group from slipping).
The planned period is ``ceil(W / words_per_step) / f``; when the budget caps the rate below
the requirement the plan says so (``meets_requirement`` False, a ``period_violation`` event).

Inside the South Atlantic Anomaly the upset rate is ``saa_factor lambda``, so ``T_req`` shrinks
by ``saa_factor^2`` and the plan is recomputed on entry and exit (``saa_changed`` event).

Entering the SAA must not break the requirement either. A word's risk of a double upset grows
with the square of its exposure since its last scrub (the integral of the upset rate), so a
sweep is judged by its *equivalent period*: its duration weighted by the upset rate at each
step, expressed at the rate in force when it ends (``sum dt k(t) / k_end``, ``k`` =
``saa_factor`` inside, 1 outside). A sweep that starts outside and ends inside carries the
exposure gathered before entry; to keep that inside the requirement, outside the SAA the
target is also capped at ``(1 - margin) saa_factor T_req_inside`` (the exposure an outside sweep
may carry into an SAA pass), while inside the plan keeps ``margin T_req_inside``. The two add up
to at most ``T_req_inside``. Every sweep whose equivalent period exceeds the required period
counts as a violation (``period_violations``, event ``period_violation``).

SAA indicator (first that applies): a ground override (command ``set_saa_override``); the
latest message of the bus topic ``saa_topic`` (its boolean field ``saa_field``, default
``in_saa``) once one has been published; the ``saa`` callable; otherwise outside.

Each step
---------
1. Reload regions that are BAD (found by a reader, a writer or the previous step) from their
   golden copies (``auto_reload``).
2. Scrub up to ``words_per_step`` words, continuing where the previous step stopped, region
   after region; an uncorrectable word found now is reloaded at once. A region whose golden
   copy is unusable stays BAD and is skipped until the ground reloads it.
3. Repair the TMR containers (:class:`~flight.edac.TmrState`).
4. Housekeeping, events, the corrections time series and CPU accounting.

Achieved period: time between successive sweep completions (the first from the first step).
CPU share: the step's own execution time (injected ``timer``, ns) over onboard time elapsed;
``max_cpu_frac`` bounds one step's time against the step period (``cpu_budget_exceeded``).

Housekeeping: totals plus ``MAX_REGION_SLOTS`` fixed per-region slots (``r<id>_corrected``,
``r<id>_uncorrectable`` for region ids 1..8).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flight.core import (
    NS_PER_S,
    Arg,
    CommandDef,
    Component,
    Declaration,
    EventDef,
    FailureCode,
    FieldType,
    Severity,
    TlmField,
    execution_timer,
)
from flight.edac._period import DAYS_PER_YEAR, required_scrub_period_s
from flight.edac._region import ProtectedRegion, RegionEvent, RegionEventKind, RegionState
from flight.edac._tmr_state import TmrState
from native.errors import CommandError

__all__ = ["MAX_REGION_SLOTS", "ScrubConfig", "ScrubPlan", "Scrubber", "plan_scrub"]

#: Regions with their own housekeeping slot (region ids 1..MAX_REGION_SLOTS).
MAX_REGION_SLOTS = 8
#: Most points kept in the corrections time series (older points are decimated).
MAX_SERIES_POINTS = 2048


@dataclass(frozen=True, slots=True)
class ScrubConfig:
    """Scrubbing requirements and budget (units in the names)."""

    upset_rate_per_bit_day: float = 4e-7
    saa_factor: float = 10.0
    target_uncorrectable_per_day: float = 1e-3 / DAYS_PER_YEAR
    period_margin: float = 0.5
    max_period_s: float = 60.0
    max_words_per_step: int = 1 << 20
    max_cpu_frac: float = 0.05

    def __post_init__(self) -> None:
        checks = (
            ("upset_rate_per_bit_day", self.upset_rate_per_bit_day > 0),
            ("saa_factor", self.saa_factor >= 1),
            ("target_uncorrectable_per_day", self.target_uncorrectable_per_day > 0),
            ("period_margin", 0 < self.period_margin <= 1),
            ("max_period_s", self.max_period_s > 0),
            ("max_words_per_step", self.max_words_per_step >= 1),
            ("max_cpu_frac", 0 < self.max_cpu_frac <= 1),
        )
        for name, ok in checks:
            value = getattr(self, name)
            if not ok or (isinstance(value, float) and not math.isfinite(value)):
                raise ValueError(f"{name} = {value!r} is out of range")


@dataclass(frozen=True, slots=True)
class ScrubPlan:
    """What the scrubber does per step and what period that achieves (s)."""

    in_saa: bool
    words: int
    rate_per_bit_day: float
    required_period_s: float
    target_period_s: float
    words_per_step: int
    planned_period_s: float
    meets_requirement: bool


def plan_scrub(words: int, rate_hz: float, cfg: ScrubConfig, in_saa: bool) -> ScrubPlan:
    """The scrub plan for ``words`` protected words at ``rate_hz`` steps per second."""
    lam = cfg.upset_rate_per_bit_day * (cfg.saa_factor if in_saa else 1.0)
    required = required_scrub_period_s(words, lam, cfg.target_uncorrectable_per_day)
    target = min(required * cfg.period_margin, cfg.max_period_s)
    if not in_saa and cfg.period_margin < 1 and cfg.saa_factor > 1:
        # Exposure an outside sweep may carry into an SAA pass (see the module doc).
        inside = required_scrub_period_s(
            words, cfg.upset_rate_per_bit_day * cfg.saa_factor, cfg.target_uncorrectable_per_day
        )
        target = min(target, (1.0 - cfg.period_margin) * cfg.saa_factor * inside)
    if words == 0:
        return ScrubPlan(in_saa, 0, lam, required, target, 0, 0.0, True)
    # Whole steps within the target, then the words that cover the memory in that many: the
    # planned period (a whole number of steps) never exceeds the target by a rounding.
    steps = max(1, math.floor(target * rate_hz * (1 + 1e-12)))
    needed = math.ceil(words / steps)
    wps = max(1, min(needed, cfg.max_words_per_step, words))
    planned = math.ceil(words / wps) / rate_hz
    return ScrubPlan(in_saa, words, lam, required, target, wps, planned, planned <= required)


def _slot_fields() -> tuple[TlmField, ...]:
    fields: list[TlmField] = []
    for k in range(1, MAX_REGION_SLOTS + 1):
        fields.append(
            TlmField(f"r{k}_corrected", FieldType.U32, "", f"region {k}: words corrected")
        )
        fields.append(
            TlmField(f"r{k}_uncorrectable", FieldType.U16, "", f"region {k}: uncorrectable words")
        )
    return tuple(fields)


class Scrubber(Component):
    """Background scrubber of the protected regions and TMR state (see the module doc)."""

    DECLARATION = Declaration(
        commands=(
            CommandDef(
                1,
                "reload_region",
                (Arg("region", FieldType.U8, 0, 255, "", "region id; 0 = every region"),),
                "reload every page of a region from its golden copy",
            ),
            CommandDef(2, "restart_sweep", (), "restart the sweep at the first region"),
            CommandDef(
                3,
                "set_saa_override",
                (
                    Arg(
                        "mode",
                        FieldType.U8,
                        0,
                        2,
                        "",
                        "0 automatic, 1 force inside, 2 force outside",
                    ),
                ),
                "override the SAA indicator",
            ),
        ),
        telemetry=(
            TlmField("corrected", FieldType.U32, "", "words corrected, all regions"),
            TlmField("uncorrectable", FieldType.U32, "", "uncorrectable words found"),
            TlmField("regions_reloaded", FieldType.U32, "", "successful reloads from golden"),
            TlmField("golden_failures", FieldType.U16, "", "reloads refused: golden unusable"),
            TlmField("bad_regions", FieldType.U8, "", "regions BAD now"),
            TlmField("reads_refused", FieldType.U32, "", "reads/writes refused while BAD"),
            TlmField("sweeps", FieldType.U32, "", "complete sweeps"),
            TlmField("scrub_period_s", FieldType.F32, "s", "achieved (last measured) period"),
            TlmField("scrub_period_required_s", FieldType.F32, "s", "required period now"),
            TlmField("scrub_period_planned_s", FieldType.F32, "s", "planned period now"),
            TlmField("words_per_step", FieldType.U32, "", "scrub budget per step"),
            TlmField("in_saa", FieldType.BOOL, "", "SAA indicator used by the plan"),
            TlmField("period_ok", FieldType.BOOL, "", "planned period meets the requirement"),
            TlmField("cpu_frac", FieldType.F32, "1", "scrub CPU time / onboard time"),
            TlmField("step_max_us", FieldType.F32, "us", "longest scrub step"),
            TlmField("tmr_repairs", FieldType.U32, "", "TMR words repaired"),
            TlmField(
                "period_violations",
                FieldType.U32,
                "",
                "times the required period was not met (plan or sweep)",
            ),
            *_slot_fields(),
        ),
        events=(
            EventDef(
                1, "corrected", Severity.INFO, "{region}: {n} word(s) corrected ({total} total)"
            ),
            EventDef(
                2,
                "uncorrectable",
                Severity.HIGH,
                "{region}: {n} uncorrectable word(s) (first {first}) found by {source}",
            ),
            EventDef(
                3,
                "region_reloaded",
                Severity.MEDIUM,
                "{region}: {pages} page(s) reloaded ({source})",
            ),
            EventDef(
                4,
                "golden_corrupt",
                Severity.HIGH,
                "{region}: golden copy unusable, stays BAD: {why}",
            ),
            EventDef(
                5,
                "period_violation",
                Severity.LOW,
                "scrub period {achieved_s:.3g} s exceeds required {required_s:.3g} s",
            ),
            EventDef(
                6,
                "saa_changed",
                Severity.INFO,
                "SAA {state}: required period {required_s:.3g} s, {words} words/step",
            ),
            EventDef(
                7,
                "cpu_budget_exceeded",
                Severity.LOW,
                "scrub step took {frac:.3f} of its period (budget {budget:.3f})",
            ),
            EventDef(8, "tmr_repaired", Severity.LOW, "TMR {name}: {n} word(s) repaired"),
        ),
    )

    def __init__(
        self,
        regions: Sequence[ProtectedRegion],
        config: ScrubConfig,
        rate_hz: float,
        *,
        name: str = "edac",
        component_id: int = 60,
        tmr: TmrState | None = None,
        saa: Callable[[], bool] | None = None,
        saa_topic: type | None = None,
        saa_field: str = "in_saa",
        auto_reload: bool = True,
        timer: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(name, component_id)
        if rate_hz <= 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        ids = [r.region_id for r in regions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate region ids {ids}")
        self.regions: tuple[ProtectedRegion, ...] = tuple(regions)
        self.config = config
        self.rate_hz = float(rate_hz)
        self.step_ns = round(NS_PER_S / rate_hz)
        self.tmr = tmr
        self.auto_reload = auto_reload
        self._saa = saa
        self._saa_topic = saa_topic
        self._saa_field = saa_field
        self._saa_override: bool | None = None
        # None: the onboard cost timer of the clock the executive attaches (zero cost in
        # simulated time, so the CPU share never depends on the host's speed)
        self._timer: Callable[[], int] | None = timer
        self.period_violations = 0  #: plan or sweep periods that missed the requirement
        self.total_words = sum(r.n_words for r in self.regions)
        self.plan = plan_scrub(self.total_words, self.rate_hz, config, False)
        self.plan_outside = self.plan
        self.plan_inside = plan_scrub(self.total_words, self.rate_hz, config, True)
        # Sweep cursor: region index and word index inside it.
        self._ri = 0
        self._wi = 0
        self.sweeps = 0
        self.incomplete_sweeps = 0
        self._sweep_skipped = False
        self.sweep_periods_s: list[float] = []  # bounded (last 256)
        self.period_max_s = 0.0
        #: exposure of the sweep in progress: step time x upset-rate factor (s)
        self._sweep_exposure_s = 0.0
        self.saa_sweeps = 0  #: sweeps that ended inside the SAA
        self.period_max_saa_s = 0.0  #: longest equivalent period of those (s)
        self._first_step_ns: int | None = None
        self._last_sweep_ns: int | None = None
        self._last_step_ns: int | None = None
        self.busy_ns = 0
        self.step_max_ns = 0
        self.steps = 0
        self.saa_s = 0.0
        self.words_scrubbed = 0
        self._seen_corrected = {r.region_id: r.corrected for r in self.regions}
        self.series: list[tuple[float, int]] = []
        self._series_stride = 1
        self._series_skip = 0
        for r in self.regions:
            r.add_listener(self._on_region_event)

    def add_region(self, region: ProtectedRegion) -> None:
        """Sweep ``region`` too (after the existing ones); the plans are recomputed for the
        new protected size. ``ValueError`` (nothing changes) for a duplicate id or name."""
        for r in self.regions:
            if r.region_id == region.region_id or r.name == region.name:
                raise ValueError(
                    f"region {region.name!r} (id {region.region_id}) clashes with {r.name!r} "
                    f"(id {r.region_id})"
                )
        self.regions = (*self.regions, region)
        self.total_words += region.n_words
        self.plan_outside = plan_scrub(self.total_words, self.rate_hz, self.config, False)
        self.plan_inside = plan_scrub(self.total_words, self.rate_hz, self.config, True)
        self.plan = self.plan_inside if self.plan.in_saa else self.plan_outside
        self._seen_corrected[region.region_id] = region.corrected
        region.add_listener(self._on_region_event)

    # -- events from regions -------------------------------------------------------------
    def _on_region_event(self, ev: RegionEvent) -> None:
        if self._events is None:
            return  # before the executive owns us (install-time reads): counters still count
        region = ev.region.name
        if ev.kind is RegionEventKind.UNCORRECTABLE:
            self.emit(
                "uncorrectable", region=region, n=len(ev.words), first=ev.words[0], source=ev.source
            )
        elif ev.kind is RegionEventKind.RELOADED:
            self.emit("region_reloaded", region=region, pages=len(ev.pages), source=ev.source)
        else:
            self.emit("golden_corrupt", region=region, why=ev.detail)

    # -- commands ------------------------------------------------------------------------
    def _region(self, region_id: int) -> ProtectedRegion:
        for r in self.regions:
            if r.region_id == region_id:
                return r
        raise CommandError(f"no region {region_id}", FailureCode.ILLEGAL_ARGUMENT)

    def check_reload_region(self, region: int) -> None:
        """Acceptance check: the region must exist (0 means all)."""
        if region != 0:
            self._region(region)

    def cmd_reload_region(self, region: int) -> None:
        """Reload a region (0: all) completely from its golden copy."""
        targets = self.regions if region == 0 else (self._region(region),)
        failed = [r.name for r in targets if not r.reload(full=True, source="command")]
        if failed:
            raise CommandError(
                f"golden copy unusable for {', '.join(failed)}", FailureCode.EXECUTION_FAILED
            )

    def cmd_restart_sweep(self) -> None:
        """Restart the sweep at the first word of the first region."""
        self._ri = self._wi = 0

    def cmd_set_saa_override(self, mode: int) -> None:
        """0: automatic SAA indicator; 1: force inside; 2: force outside."""
        self._saa_override = None if mode == 0 else mode == 1

    # -- SAA -------------------------------------------------------------------------------
    def read_saa(self) -> bool:
        """The SAA indicator now (see the module docstring for the order of sources)."""
        if self._saa_override is not None:
            return self._saa_override
        if self._saa_topic is not None and self._bus is not None:
            msg = self._bus.latest(self._saa_topic)
            if msg is not None:
                # A stale indicator (older than the publisher's valid_for_s) is "inside":
                # the scrubber must never stay at the quiet rate through an unseen SAA pass.
                valid_for_s = float(getattr(msg, "valid_for_s", math.inf))
                t_msg = getattr(msg, "t_ns", None)
                if t_msg is not None and self.clock.now_ns() - int(t_msg) > valid_for_s * NS_PER_S:
                    return True
                return bool(getattr(msg, self._saa_field))
        if self._saa is not None:
            return bool(self._saa())
        return False

    def _update_plan(self) -> None:
        in_saa = self.read_saa()
        if in_saa == self.plan.in_saa:
            return
        self.plan = self.plan_inside if in_saa else self.plan_outside
        self.emit(
            "saa_changed",
            state="entered" if in_saa else "exited",
            required_s=self.plan.required_period_s,
            words=self.plan.words_per_step,
        )
        self._check_plan()

    def _check_plan(self) -> None:
        if not self.plan.meets_requirement:
            self._violation(self.plan.planned_period_s, self.plan.required_period_s)

    def _violation(self, achieved_s: float, required_s: float) -> None:
        """Count and report one missed requirement (a plan that cannot meet it, or a sweep
        that took longer than it)."""
        self.period_violations += 1
        self.hk.period_violations = self.period_violations & 0xFFFFFFFF
        self.emit("period_violation", achieved_s=achieved_s, required_s=required_s)

    # -- lifecycle -----------------------------------------------------------------------
    def on_start(self) -> None:
        """Report a plan that cannot meet the requirement right away."""
        self._check_plan()

    def step(self, t_ns: int) -> None:
        """Reload, scrub one slice, repair TMR state, report (see the module docstring)."""
        if self._timer is None:
            self._timer = execution_timer(self.clock)
        t0 = self._timer()
        if self._first_step_ns is None:
            self._first_step_ns = t_ns
            self.series.append((t_ns / NS_PER_S, self.corrected))  # baseline for plots
        self._update_plan()
        step_s = self.step_ns / NS_PER_S
        if self.plan.in_saa:
            self.saa_s += step_s
        self._sweep_exposure_s += step_s * (self.config.saa_factor if self.plan.in_saa else 1.0)
        if self.auto_reload:
            for r in self.regions:
                if r.state is RegionState.BAD and not r.golden_failed:
                    r.reload(source="auto")
        self._scrub_slice(t_ns)
        if self.tmr is not None:
            for name, n in self.tmr.scrub().items():
                self.emit("tmr_repaired", name=name, n=n)
        self._report(t_ns)
        dt = self._timer() - t0
        self.busy_ns += dt
        self.steps += 1
        self._last_step_ns = t_ns
        if dt > self.step_max_ns:
            self.step_max_ns = dt
        frac = dt / self.step_ns
        if frac > self.config.max_cpu_frac:
            self.emit("cpu_budget_exceeded", frac=frac, budget=self.config.max_cpu_frac)
        self.hk.cpu_frac = self.cpu_frac
        self.hk.step_max_us = self.step_max_ns / 1e3

    def _scrub_slice(self, t_ns: int) -> None:
        budget = min(self.plan.words_per_step, self.total_words)
        regions = self.regions
        skipped = 0
        while budget > 0 and skipped < len(regions):
            r = regions[self._ri]
            if r.state is RegionState.BAD:
                skipped += 1  # unusable golden copy: nothing to scrub until reloaded
                self._sweep_skipped = True
                self._next_region(t_ns)
                continue
            skipped = 0
            n = min(budget, r.n_words - self._wi)
            out = r.scrub(self._wi, self._wi + n)
            self._wi += n
            budget -= n
            self.words_scrubbed += n
            if out.uncorrectable and self.auto_reload:
                r.reload(source="scrub")
            if self._wi >= r.n_words:
                self._next_region(t_ns)

    def _next_region(self, t_ns: int) -> None:
        self._ri += 1
        self._wi = 0
        if self._ri < len(self.regions):
            return
        self._ri = 0
        end_ns = t_ns + self.step_ns
        # The sweep's equivalent period at the upset rate in force now (see the module doc);
        # with a constant rate it is its duration.
        factor = self.config.saa_factor if self.plan.in_saa else 1.0
        period = self._sweep_exposure_s / factor
        self._sweep_exposure_s = 0.0
        self._last_sweep_ns = end_ns
        if self._sweep_skipped:
            # A BAD region was skipped: this pass protected nothing there, it is no sweep.
            self._sweep_skipped = False
            self.incomplete_sweeps += 1
            return
        self.sweeps += 1
        self.sweep_periods_s.append(period)
        del self.sweep_periods_s[:-256]
        self.period_max_s = max(self.period_max_s, period)
        if self.plan.in_saa:
            self.saa_sweeps += 1
            self.period_max_saa_s = max(self.period_max_saa_s, period)
        if period > self.plan.required_period_s:
            self._violation(period, self.plan.required_period_s)

    # -- reporting -------------------------------------------------------------------------
    @property
    def corrected(self) -> int:
        """Words corrected over every region (reads, writes and scrubs)."""
        return sum(r.corrected for r in self.regions)

    @property
    def uncorrectable(self) -> int:
        """Uncorrectable words found over every region."""
        return sum(r.uncorrectable for r in self.regions)

    @property
    def regions_reloaded(self) -> int:
        """Successful reloads from golden copies over every region."""
        return sum(r.reloads for r in self.regions)

    @property
    def achieved_period_s(self) -> float:
        """Last measured sweep period, or the planned one before the first sweep ends."""
        return self.sweep_periods_s[-1] if self.sweep_periods_s else self.plan.planned_period_s

    @property
    def cpu_frac(self) -> float:
        """Scrubber execution time over onboard time elapsed since its first step."""
        if self._first_step_ns is None or self._last_step_ns is None:
            return 0.0
        elapsed = self._last_step_ns - self._first_step_ns + self.step_ns
        return self.busy_ns / elapsed

    def _report(self, t_ns: int) -> None:
        hk = self.hk
        total = 0
        for r in self.regions:
            seen = self._seen_corrected[r.region_id]
            if r.corrected != seen:
                self.emit("corrected", region=r.name, n=r.corrected - seen, total=r.corrected)
                self._seen_corrected[r.region_id] = r.corrected
            total += r.corrected
            if 1 <= r.region_id <= MAX_REGION_SLOTS:
                setattr(hk, f"r{r.region_id}_corrected", r.corrected & 0xFFFFFFFF)
                setattr(hk, f"r{r.region_id}_uncorrectable", min(r.uncorrectable, 0xFFFF))
        if not self.series or self.series[-1][1] != total:
            self._add_point(t_ns / NS_PER_S, total)
        hk.corrected = total & 0xFFFFFFFF
        hk.uncorrectable = self.uncorrectable & 0xFFFFFFFF
        hk.regions_reloaded = self.regions_reloaded & 0xFFFFFFFF
        hk.golden_failures = min(sum(r.golden_failures for r in self.regions), 0xFFFF)
        hk.bad_regions = sum(r.state is RegionState.BAD for r in self.regions)
        hk.reads_refused = sum(r.reads_refused for r in self.regions) & 0xFFFFFFFF
        hk.sweeps = self.sweeps
        hk.scrub_period_s = self.achieved_period_s
        hk.scrub_period_required_s = min(self.plan.required_period_s, 3.0e38)
        hk.scrub_period_planned_s = self.plan.planned_period_s
        hk.words_per_step = min(self.plan.words_per_step, 0xFFFFFFFF)
        hk.in_saa = self.plan.in_saa
        hk.period_ok = self.plan.meets_requirement
        hk.tmr_repairs = (self.tmr.repairs if self.tmr is not None else 0) & 0xFFFFFFFF

    def _add_point(self, t_s: float, total: int) -> None:
        self._series_skip += 1
        if self._series_skip < self._series_stride:
            return
        self._series_skip = 0
        self.series.append((t_s, total))
        if len(self.series) > MAX_SERIES_POINTS:
            self.series = self.series[::2]
            self._series_stride *= 2

    def summary(self) -> dict[str, Any]:
        """Scrubbing figures (JSON-serialisable)."""
        return {
            "sweeps": self.sweeps,
            "scrub_period_s": self.achieved_period_s,
            "scrub_period_max_s": self.period_max_s if self.sweeps else self.plan.planned_period_s,
            "scrub_period_planned_s": self.plan.planned_period_s,
            "scrub_period_required_s": self.plan.required_period_s,
            "scrub_period_required_outside_saa_s": self.plan_outside.required_period_s,
            "scrub_period_required_inside_saa_s": self.plan_inside.required_period_s,
            # false once the requirement was missed at any time of the run (an SAA pass the
            # budget could not cover), not only when it is missed now
            "period_ok": self.period_violations == 0
            and self.plan.meets_requirement
            and self.achieved_period_s <= self.plan.required_period_s,
            "period_violations": self.period_violations,
            "saa_sweeps": self.saa_sweeps,
            "scrub_period_max_inside_saa_s": self.period_max_saa_s,
            "incomplete_sweeps": self.incomplete_sweeps,
            "words_per_step": self.plan.words_per_step,
            "words_per_step_inside_saa": self.plan_inside.words_per_step,
            "scrub_rate_hz": self.rate_hz,
            "protected_words": self.total_words,
            "words_scrubbed": self.words_scrubbed,
            "in_saa": self.plan.in_saa,
            "saa_s": self.saa_s,
            "cpu_frac": self.cpu_frac,
            "cpu_frac_max_step": self.step_max_ns / self.step_ns,
            "step_max_us": self.step_max_ns / 1e3,
        }
