"""The one helper for windowed counts: "k of the last n entries within d days".

Every count of RULES.md v2 is an instance: "`stiffer` in >= 2 of the last 3 sessions within 14 d" is
``windowed(sessions, today, k=2, of_last=3, days=14, where=...)``; "`clearly_restricted` >= 2 times in 7 d" has
no ``of_last``; "twice in a row" / "n consecutive" is k = of_last = n with no window.

Readings (as v1): the last n entries are taken first, then those outside the d-day window are dropped (a window
of d days holds ``today`` and the d-1 days before). Entries must be sorted in time order.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from operator import attrgetter
from typing import Generic, TypeVar

from .types import JsonDict, PostWorkout, Weekly

E = TypeVar("E", PostWorkout, Weekly)
_local_date = attrgetter("local_date")


@dataclass(frozen=True, slots=True)
class Window(Generic[E]):
    """The entries judged (the last ``of_last`` within ``days``) and those among them that matched."""

    judged: list[E]
    hits: list[E]
    required: int
    of_last: int | None
    days: int | None

    @property
    def met(self) -> bool:
        return len(self.hits) >= self.required

    def describe(self) -> JsonDict:
        """The count and the thresholds it was judged with (the caller adds the series it wants to show)."""
        out: JsonDict = {"count": len(self.hits), "required": self.required}
        if self.of_last is not None:
            out["of_last"] = self.of_last
        if self.days is not None:
            out["window_days"] = self.days
        return out


def since(entries: Sequence[E], start: date) -> list[E]:
    """The suffix of date-sorted ``entries`` dated on or after ``start``."""
    if not entries or entries[0].local_date >= start:
        return list(entries)
    return list(entries[bisect_left(entries, start, key=_local_date) :])


def window_start(today: date, days: int) -> date:
    """The first day of a window of ``days`` calendar days ending on ``today``."""
    return today - timedelta(days=days - 1)


def windowed(
    entries: Sequence[E],
    today: date,
    *,
    k: int,
    where: Callable[[E], bool],
    of_last: int | None = None,
    days: int | None = None,
) -> Window[E]:
    """Count the entries matching ``where`` among the last ``of_last`` within ``days`` days ending ``today``."""
    judged = list(entries[-of_last:]) if of_last is not None else list(entries)
    if days is not None:
        judged = since(judged, window_start(today, days))
    return Window(judged, [e for e in judged if where(e)], k, of_last, days)


def consecutive(entries: Sequence[E], n: int, where: Callable[[E], bool]) -> Window[E] | None:
    """The last ``n`` entries when there are ``n`` and every one matches ``where`` ("n in a row"), else None."""
    if len(entries) < n:
        return None
    window = windowed(entries, date.max, k=n, of_last=n, where=where)
    return window if window.met else None
