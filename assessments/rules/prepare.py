"""The context of one v2 evaluation, sorted and filtered once: what every rule module reads.

"When rules are judged" (RULES.md v2): the rules are judged as of ``context.as_of`` (a newly stored entry's
``occurred_at``) when given: entries and red-flag reports that occurred after it are ignored, and so is anything
dated after ``context.today`` (which the caller sets to ``as_of``'s clinic-local date). Without ``as_of`` the
evaluation is as of the end of ``today``, as in v1.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import NamedTuple, TypeVar

from .baselines import Baseline, find_baselines, sort_key
from .catalog import FLAG_REPORTED_LATE
from .evidence import with_flag
from .params import Params
from .types import (
    PHASE_STABILIZATION,
    Finding,
    OutcomeScore,
    PatientContext,
    PostWorkout,
    RedFlagReport,
    Weekly,
)
from .windows import window_start

_T = TypeVar("_T", PostWorkout, Weekly, RedFlagReport)


class Scope(NamedTuple):
    """The entries one rule and qualifier may judge (after suppression), and the resolution instant if any."""

    pws: list[PostWorkout]
    wks: list[Weekly]
    scores: list[OutcomeScore]
    cutoff: datetime | None


def _visible(entries: Iterable[_T], today: date, as_of: datetime | None) -> list[_T]:
    """``entries`` in time order (ties broken by id), without those after ``today`` or ``as_of``."""
    kept = [e for e in entries if e.local_date <= today and (as_of is None or e.occurred_at <= as_of)]
    kept.sort(key=sort_key)
    return kept


class Prepared:
    """The context sorted and filtered once per evaluation, with lazily computed baselines."""

    __slots__ = (
        "_pw_baselines",
        "_scopes",
        "_wk_baselines",
        "ctx",
        "full",
        "now",
        "params",
        "pws",
        "reports",
        "scores",
        "today",
        "wks",
    )

    def __init__(self, ctx: PatientContext, params: Params) -> None:
        self.ctx = ctx
        self.params = params
        self.today = ctx.today
        self.now = ctx.now or ctx.as_of
        self.pws = _visible(ctx.post_workouts, ctx.today, ctx.as_of)
        self.wks = _visible(ctx.weeklies, ctx.today, ctx.as_of)
        self.reports = _visible(ctx.red_flag_reports, ctx.today, ctx.as_of)
        self.scores = [s for s in ctx.outcome_scores if s.local_date <= ctx.today]
        self.full = Scope(self.pws, self.wks, self.scores, None)
        self._pw_baselines: tuple[Baseline[PostWorkout], ...] | None = None
        self._wk_baselines: tuple[Baseline[Weekly], ...] | None = None
        self._scopes: dict[tuple[datetime, bool], Scope] = {}

    def start(self, days: int) -> date:
        """The first day of a window of ``days`` calendar days ending on the judged day."""
        return window_start(self.today, days)

    @property
    def pre_transition_applies(self) -> bool:
        """The first 6 weeks of the stabilization phase: the pre-transition baseline is judged too."""
        ctx = self.ctx
        days = (self.today - ctx.phase_since).days
        return ctx.phase == PHASE_STABILIZATION and 0 <= days < self.params.pre_transition_days

    @property
    def pw_baselines(self) -> tuple[Baseline[PostWorkout], ...]:
        if self._pw_baselines is None:
            self._pw_baselines = find_baselines(
                self.pws,
                self.ctx.phase_since,
                self.params.baseline_sessions,
                with_pre_transition=self.pre_transition_applies,
            )
        return self._pw_baselines

    @property
    def wk_baselines(self) -> tuple[Baseline[Weekly], ...]:
        if self._wk_baselines is None:
            self._wk_baselines = find_baselines(
                self.wks,
                self.ctx.phase_since,
                self.params.baseline_weeklies,
                with_pre_transition=self.pre_transition_applies,
            )
        return self._wk_baselines

    def scope_after(self, at: datetime, *, lenient: bool) -> Scope:
        """Entries dated after ``at`` (``lenient``: or submitted after it, v2); scores dated after its day."""
        key = (at, lenient)
        scope = self._scopes.get(key)
        if scope is None:
            pws = [e for e in self.pws if e.occurred_at > at or (lenient and e.submitted > at)]
            wks = [e for e in self.wks if e.occurred_at > at or (lenient and e.submitted > at)]
            scores = [s for s in self.scores if s.local_date > at.date()]
            scope = self._scopes[key] = Scope(pws, wks, scores, at)
        return scope

    def is_late_item(self, occurred_at: datetime | None, local_date: date) -> bool:
        """More than ``late_report_days`` before now (date-only items and no clock: by calendar days)."""
        days = self.params.late_report_days
        if self.now is not None and occurred_at is not None:
            return self.now - occurred_at > timedelta(days=days)
        reference = self.now.date() if self.now is not None else self.today
        return (reference - local_date).days > days

    def mark_late(self, finding: Finding | None) -> Finding | None:
        """Flag ``finding`` "reported late" when every evidence entry is older than the late-report limit."""
        if finding is None or not finding.evidence:
            return finding
        if all(self.is_late_item(e.occurred_at, e.local_date) for e in finding.evidence):
            days = self.params.late_report_days
            return with_flag(finding, FLAG_REPORTED_LATE, f"Reported late: built on entries more than {days} days old.")
        return finding
