"""The one helper for baselines: the phase baseline and the pre-transition baseline (RULES.md v2 conventions).

- Phase baseline: the first ``baseline_sessions`` (3) sessions dated on or after ``phase_since`` (median) or the
  first ``baseline_weeklies`` (2) weeklies (mean); until the phase has that many, the last ones dated before
  ``phase_since`` (source "before_transition"). The two sources are never mixed: with neither complete there
  is no baseline, and only absolute criteria apply (v2).
- Pre-transition baseline (v2): the last 3 sessions / 2 weeklies dated before ``phase_since``. During the first
  ``pre_transition_days`` (42) days of the stabilization phase every baseline-relative criterion is judged
  against it as well as the phase baseline and fires on either (it is judged once when the phase baseline is
  still the same entries).
- "baseline + n" means at least min(baseline + n, cap) and strictly above the baseline (cap 10 for 0-10
  answers, the longest category for morning-stiffness durations), so a flat 10 never fires.
- Never the baseline judged against itself: a criterion on single entries ("the latest weekly", "each of the
  last 2 weeklies") judges only entries after the baseline's last entry; a criterion on an aggregate ("the mean
  of the last 3 sessions", "the last 7-day block") needs its newest entry after the baseline's last entry.
- Baselines are reference values: computed from every entry visible as of the judged day, whatever has been
  resolved since.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import Final, Generic, TypeVar

from .evidence import EPS, median, num
from .types import JsonDict, PostWorkout, Weekly

E = TypeVar("E", PostWorkout, Weekly)

SOURCE_PHASE: Final = "phase"
SOURCE_BEFORE_TRANSITION: Final = "before_transition"  # the phase baseline's fallback
SOURCE_PRE_TRANSITION: Final = "pre_transition"  # v2, the first 6 weeks of stabilization

_local_date = attrgetter("local_date")
sort_key = attrgetter("local_date", "occurred_at", "id")


@dataclass(frozen=True, slots=True)
class Baseline(Generic[E]):
    """A run of entries a relative criterion is judged against."""

    entries: tuple[E, ...]
    source: str

    def median(self, get: Callable[[E], float]) -> float:
        return median([get(e) for e in self.entries])

    def mean(self, get: Callable[[E], float]) -> float:
        return sum(get(e) for e in self.entries) / len(self.entries)

    def highest(self, get: Callable[[E], float]) -> float:
        return max(get(e) for e in self.entries)

    def precedes(self, entry: E) -> bool:
        """True when ``entry`` comes after every baseline entry (so it may be judged against it)."""
        return bool(sort_key(entry) > sort_key(self.entries[-1]))

    def describe(self, value: float, threshold: float, met: bool) -> JsonDict:
        return {
            "value": num(value),
            "threshold": num(threshold),
            "met": met,
            "source": self.source,
            "entry_ids": [e.id for e in self.entries],
            "dates": [e.local_date.isoformat() for e in self.entries],
        }


def find_baselines(
    entries: Sequence[E], phase_since: date, size: int, *, with_pre_transition: bool
) -> tuple[Baseline[E], ...]:
    """The phase baseline (or its fallback) and, when asked and different, the pre-transition baseline."""
    first_in_phase = bisect_left(entries, phase_since, key=_local_date)
    pre = tuple(entries[first_in_phase - size : first_in_phase]) if first_in_phase >= size else None
    found: list[Baseline[E]] = []
    if len(entries) - first_in_phase >= size:
        found.append(Baseline(tuple(entries[first_in_phase : first_in_phase + size]), SOURCE_PHASE))
    elif pre is not None:
        found.append(Baseline(pre, SOURCE_BEFORE_TRANSITION))
    if with_pre_transition and pre is not None and not (found and found[0].entries == pre):
        found.append(Baseline(pre, SOURCE_PRE_TRANSITION))
    return tuple(found)


def threshold(base: float, delta: float, cap: float = 10) -> float:
    """The bar of "baseline + delta": min(baseline + delta, cap)."""
    return min(base + delta, cap)


def above(value: float, base: float, delta: float, cap: float = 10) -> bool:
    """``value`` >= min(base + delta, cap) and strictly above ``base``."""
    return value >= threshold(base, delta, cap) - EPS and value > base + EPS


def below(value: float, best: float, drop: float, floor: float = 0) -> bool:
    """``value`` <= max(best - drop, floor) and strictly below ``best`` (the mirror of ``above``)."""
    return value <= max(best - drop, floor) + EPS and value < best - EPS


@dataclass(frozen=True, slots=True)
class Relative:
    """A relative criterion met against at least one baseline: every baseline judged, with its outcome."""

    baselines: list[JsonDict]

    def describe(self) -> JsonDict:
        """``baseline`` is the first baseline met (the phase one first); ``baselines`` lists all judged."""
        first = next(b for b in self.baselines if b["met"])
        return {"baseline": first, "threshold": first["threshold"], "baselines": self.baselines}


def judge_relative(
    baselines: Sequence[Baseline[E]],
    judged: Sequence[E],
    *,
    base_of: Callable[[Baseline[E]], float],
    observed: Callable[[Sequence[E]], Sequence[float]],
    delta: float,
    each: bool,
    cap: float = 10,
) -> Relative | None:
    """Judge ``observed(judged)`` against each baseline: every observed value must be ``above`` it.

    ``each``: the criterion is on single entries, so every judged entry must come after the baseline; otherwise
    (an aggregate) the newest must. None unless the criterion is met against at least one baseline.
    """
    if not judged:
        return None
    outcomes: list[tuple[Baseline[E], float, bool]] = []
    for baseline in baselines:
        if not baseline.precedes(judged[0] if each else judged[-1]):
            continue
        base = base_of(baseline)
        outcomes.append((baseline, base, all(above(v, base, delta, cap) for v in observed(judged))))
    if not any(met for _, _, met in outcomes):
        return None
    return Relative([b.describe(base, threshold(base, delta, cap), met) for b, base, met in outcomes])
