"""Scrub period from the upset rate, orbit-rate estimates, and Wilson confidence intervals.

SECDED corrects one flipped bit per 72-bit word and detects two; a word becomes uncorrectable
when a second upset lands in it before the scrubber has corrected the first. With ``W`` words
of 72 bits, an upset rate ``lambda`` per bit per day and a scrub period ``T`` (days), the
probability that one word gathers two upsets in one period is ``(72 lambda T)^2 / 2``; there are
``1 / T`` periods per day, so (REFERENCE.md, "Radiation and memory protection")::

    R2 ~ W (72 lambda)^2 T / 2          uncorrectable words per day
    T  = 2 R2 / (W (72 lambda)^2)       the longest scrub period that keeps R2 at the target

Three upsets in one word within a period (the case SECDED can miscorrect) follow the same
Poisson argument one order higher::

    R3 ~ W (72 lambda)^3 T^2 / 6        words per day

Multiple-bit upsets (one particle flipping two adjacent bits, ~1.4 % of upsets in LEO SRAM)
put two errors into one word at once; their rate ``W 72 lambda f_mbu`` does not depend on the
scrub period (they are detected and reloaded, never miscorrected).

Inside the South Atlantic Anomaly the upset rate is ``saa_factor`` times higher; keeping the
same instantaneous uncorrectable rate needs ``T / saa_factor^2``.
"""

from __future__ import annotations

import math

__all__ = [
    "BITS_PER_WORD",
    "DAYS_PER_YEAR",
    "S_PER_DAY",
    "mbu_rate_per_day",
    "required_scrub_period_s",
    "triple_upset_rate_per_day",
    "uncorrectable_rate_per_day",
    "wilson_interval",
]

#: Stored bits per protected word: 64 data + 8 check bits (Hsiao (72,64)).
BITS_PER_WORD = 72
#: Seconds per day.
S_PER_DAY = 86_400.0
#: Days per (Julian) year, for rates given per year.
DAYS_PER_YEAR = 365.25


def _check_rate(words: int, rate_per_bit_day: float) -> None:
    if words < 0:
        raise ValueError(f"words must be >= 0, got {words}")
    if not rate_per_bit_day >= 0 or not math.isfinite(rate_per_bit_day):
        raise ValueError(f"upset rate must be a finite number >= 0, got {rate_per_bit_day}")


def required_scrub_period_s(
    words: int, rate_per_bit_day: float, target_uncorrectable_per_day: float
) -> float:
    """Longest scrub period (s) keeping double upsets per word below the target rate.

    ``T = 2 R / (W (72 lambda)^2)`` days, returned in seconds. ``inf`` when there is nothing
    to protect or no upsets. ``target_uncorrectable_per_day`` must be > 0.
    """
    _check_rate(words, rate_per_bit_day)
    if not target_uncorrectable_per_day > 0:
        raise ValueError(f"target rate must be > 0, got {target_uncorrectable_per_day}")
    denom = words * (BITS_PER_WORD * rate_per_bit_day) ** 2
    if denom == 0:
        return math.inf
    return 2.0 * target_uncorrectable_per_day / denom * S_PER_DAY


def uncorrectable_rate_per_day(words: int, rate_per_bit_day: float, period_s: float) -> float:
    """Expected words per day that gather two upsets within one scrub period (``R2``)."""
    _check_rate(words, rate_per_bit_day)
    t_days = period_s / S_PER_DAY
    return words * (BITS_PER_WORD * rate_per_bit_day) ** 2 * t_days / 2.0


def triple_upset_rate_per_day(words: int, rate_per_bit_day: float, period_s: float) -> float:
    """Expected words per day that gather three upsets within one scrub period (``R3``)."""
    _check_rate(words, rate_per_bit_day)
    t_days = period_s / S_PER_DAY
    return words * (BITS_PER_WORD * rate_per_bit_day) ** 3 * t_days**2 / 6.0


def mbu_rate_per_day(words: int, rate_per_bit_day: float, mbu_fraction: float) -> float:
    """Expected words per day hit by a two-bit multiple-bit upset (independent of scrubbing)."""
    _check_rate(words, rate_per_bit_day)
    return words * BITS_PER_WORD * rate_per_bit_day * mbu_fraction


def wilson_interval(
    successes: int, trials: int, z: float = 1.959963984540054
) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (default 95 %: z = 1.95996).

    Returns ``(low, high)``; ``(0.0, 1.0)`` when ``trials`` is 0. Unlike the normal
    approximation it stays inside [0, 1] and is informative at 0 or ``trials`` successes
    (for 0 of n at 95 %: high ~ 3.84 / (n + 3.84)).
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return (0.0, 1.0)
    n = float(trials)
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)
