"""Replay: evaluate a ruleset version over stored history, in memory only.

Each version is replayed the way its scans judge:
- v1: every rule at the end of every local day from ``since`` to today;
- v2 (RULES.md "When rules are judged"): every rule but R-11 as of each stored entry and red-flag report, in
  time order, and R-11 at the end of every local day; an R-11 alert whose condition stops holding is cleared
  and a later one counts anew.

The phase on each day comes from the phase history. An alert key (rule, qualifier) counts once while it would
have stayed open, as deduplication keeps it; nothing is resolved and nothing is written.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from django.utils import timezone

from assessments import rules
from assessments.loader import ActiveRuleset, PatientWindow, load_windows, lookback
from programs.models import Phase, PhaseTransition

R11: Final = "R-11"
# Rules whose alerts other rules read (R-07's inputs, R-11's high variant), as the scan's loader passes them.
FIRING_RULES: Final = frozenset({"R-01", "R-03", "R-04", "R-05", "R-06", "R-12"})

# An alert as the replay counts it: (rule id, qualifier, occurrence: 1 unless an earlier one was cleared).
AlertKey = tuple[str, str, int]


@dataclass
class Replayed:
    """What one patient would have raised since the replay's first day."""

    patient_id: int
    caseload_ref: str
    clinic_id: int
    alerts: set[AlertKey] = field(default_factory=set)


def _phase_on(day: date, transitions: list[PhaseTransition], current: str, started: date) -> tuple[str, date]:
    """The phase and its start on ``day``, from the transitions of the enrollment (oldest first)."""
    phase, since = (transitions[0].from_phase, started) if transitions else (current, started)
    for transition in transitions:
        if transition.effective_date <= day:
            phase, since = transition.to_phase, transition.effective_date
    return phase, since


class _PatientReplay:
    """The replay of one patient: its phase history, the alerts it has open, and the firings so far."""

    def __init__(self, window: PatientWindow, transitions: list[PhaseTransition], active: ActiveRuleset) -> None:
        window.alerts = []  # judge history afresh: no existing alerts, no suppression
        self.window = window
        self.transitions = transitions
        self.active = active
        self.base = window.context()
        self.firings: list[rules.Firing] = []
        self.open: dict[tuple[str, str], int] = {}
        self.evidence: defaultdict[tuple[str, str], set[tuple[str, int | None]]] = defaultdict(set)
        self.occurrences: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.result = Replayed(window.patient.pk, window.patient.caseload_ref, window.patient.clinic_id)

    def context(self, day: date, **changes: Any) -> rules.PatientContext:
        enrollment = self.window.enrollment
        if enrollment is not None:
            # Without a recorded transition the phase began on the enrollment's phase_since, as the scan reads it.
            started = enrollment.started_on if self.transitions else enrollment.phase_since
            phase, phase_since = _phase_on(day, self.transitions, enrollment.phase, started)
        else:
            phase, phase_since = Phase.TREATMENT, day
        return dataclasses.replace(
            self.base, today=day, phase=phase, phase_since=phase_since, recent_firings=tuple(self.firings), **changes
        )

    def judge(self, context: rules.PatientContext, only: frozenset[str] | None) -> list[rules.Finding]:
        if only is None:
            findings = list(self.active.engine.evaluate(context, self.active.params))
        else:
            findings = list(self.active.engine.evaluate(context, self.active.params, only=only))
        for finding in findings:
            if finding.key not in self.open:
                self.occurrences[finding.key] += 1
                self.open[finding.key] = self.occurrences[finding.key]
                self.result.alerts.add((*finding.key, self.open[finding.key]))
            seen = self.evidence[finding.key]
            new = {(e.kind, e.entry_id) for e in finding.evidence} - seen
            seen |= new
            if finding.rule_id in FIRING_RULES and (new or not finding.evidence):
                # Dated by its newest evidence, as the scan's loader dates an alert's firing.
                newest = max((e.local_date for e in finding.evidence), default=context.today)
                self.firings.append(rules.Firing(finding.rule_id, newest, finding.latest_evidence_at))
        return findings


def _day_end(day: date, window: PatientWindow) -> datetime:
    return datetime.combine(day, time.max, tzinfo=window.tz)


def _days(since: date, until: date) -> Iterator[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def _replay_v1(replay: _PatientReplay, since: date) -> None:
    for day in _days(since, replay.window.today):
        replay.judge(replay.context(day), None)


def _replay_v2(replay: _PatientReplay, since: date) -> None:
    window = replay.window
    every = frozenset(replay.active.engine.catalog) - {R11}
    first = datetime.combine(since, time.min, tzinfo=window.tz)
    points: list[tuple[datetime, int, frozenset[str]]] = [
        (e.occurred_at, 0, every) for e in window.entries if e.occurred_at >= first
    ]
    points += [(r.occurred_at, 0, frozenset({"R-01", "R-02"})) for r in window.reports if r.occurred_at >= first]
    points += [(_day_end(day, window), 1, frozenset({R11})) for day in _days(since, window.today)]
    for at, _order, only in sorted(points, key=lambda p: (p[0], p[1])):
        day = window.local(at)
        if only == frozenset({R11}):
            found = replay.judge(replay.context(day, now=min(at, window.now)), only)
            if not found:
                replay.open.pop((R11, ""), None)  # cleared: a later R-11 is a new alert
        else:
            replay.judge(replay.context(day, as_of=at, now=at), only)


def replay_patients(
    patient_ids: list[int], *, since: date, active: ActiveRuleset, now: datetime | None = None
) -> list[Replayed]:
    """The alerts each patient would have raised since ``since`` under ``active``'s version and thresholds."""
    now = now or timezone.now()
    # Read as far back as the thresholds replayed (not the clinic's active ones) reach.
    windows = load_windows(patient_ids, now=now, since=since - lookback(active.params))
    enrollment_ids = [w.enrollment.pk for w in windows if w.enrollment is not None]
    history: dict[int, list[PhaseTransition]] = defaultdict(list)
    for transition in PhaseTransition.objects.filter(enrollment_id__in=enrollment_ids).order_by("effective_date", "id"):
        history[transition.enrollment_id].append(transition)
    results = []
    for window in windows:
        transitions = history[window.enrollment.pk] if window.enrollment is not None else []
        replay = _PatientReplay(window, transitions, active)
        if active.version == 1:
            _replay_v1(replay, since)
        else:
            _replay_v2(replay, since)
        results.append(replay.result)
    return results
