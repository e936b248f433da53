"""Replay: evaluate the rules day by day over stored history, in memory only.

Each patient is judged at the end of every local day from ``since`` to today, with the phase they were
in on that day (from the phase history). An alert key (rule, qualifier) counts once while it would have
stayed open, as deduplication would keep it; nothing is written.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.utils import timezone

from assessments import rules
from assessments.loader import LOOKBACK, load_windows
from programs.models import Phase, PhaseTransition


def _phase_on(day: date, transitions: list[PhaseTransition], current: str, started: date) -> tuple[str, date]:
    """The phase and its start on ``day``, from the transitions of the enrollment (oldest first)."""
    phase, since = (transitions[0].from_phase, started) if transitions else (current, started)
    for transition in transitions:
        if transition.effective_date <= day:
            phase, since = transition.to_phase, transition.effective_date
    return phase, since


def replay_patients(
    patient_ids: list[int], *, since: date, params: rules.Params, now: datetime | None = None
) -> dict[str, set[tuple[str, str]]]:
    """The alert keys each patient (by caseload reference) would have raised since ``since``."""
    now = now or timezone.now()
    windows = load_windows(patient_ids, now=now, since=since - LOOKBACK)
    enrollment_ids = [w.enrollment.pk for w in windows if w.enrollment is not None]
    history: dict[int, list[PhaseTransition]] = defaultdict(list)
    for transition in PhaseTransition.objects.filter(enrollment_id__in=enrollment_ids).order_by("effective_date", "id"):
        history[transition.enrollment_id].append(transition)
    raised: dict[str, set[tuple[str, str]]] = {}
    for window in windows:
        window.alerts = []  # judge history afresh: no existing alerts, no suppression
        base = window.context()
        enrollment = window.enrollment
        keys: set[tuple[str, str]] = set()
        firings: list[rules.Firing] = []
        day = since
        while day <= window.today:
            if enrollment is not None:
                # Without a recorded transition the phase began on the enrollment's phase_since, as the scan reads it.
                transitions = history[enrollment.pk]
                started = enrollment.started_on if transitions else enrollment.phase_since
                phase, phase_since = _phase_on(day, transitions, enrollment.phase, started)
            else:
                phase, phase_since = Phase.TREATMENT, day
            context = dataclasses.replace(
                base, today=day, phase=phase, phase_since=phase_since, recent_firings=tuple(firings)
            )
            for finding in rules.evaluate(context, params):
                keys.add(finding.key)
                if finding.rule_id in ("R-03", "R-04", "R-05", "R-06"):
                    firings.append(rules.Firing(finding.rule_id, day, None))
            day += timedelta(days=1)
        if keys:
            raised[window.patient.caseload_ref] = keys
    return raised
