"""Demo histories: the self-assessments of each demo patient since enrollment, quiet ones and one per pattern.

The newest entries carry the pattern, so the first scan after ``make run`` raises one alert per pattern:
stiffening back (R-03), one-sided thigh ache not eased by stretching (R-04), neck strain during core work
(R-05), returning pain (R-06) and a red flag (R-01). Entries are written unscanned, as if just submitted, each
with the phase of its day (from the enrollment's phase history, as the submit service stores it): the sessions
before a move to stabilization carry the treatment phase.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone

from assessments import questionnaires as q
from assessments.models import Entry
from assessments.services import phase_on
from patients.models import Patient
from programs.models import Enrollment, PhaseTransition

QUIET_SESSION: dict[str, Any] = {
    "session_completed": "full",
    "back_pain_now": 1,
    "back_pain_during_max": 2,
    "back_stiffness_now": 2,
    "stiffness_change": "looser",
    "spine_check": "free",
    "neck_symptoms": "none",
    "neck_level": None,
    "thigh_symptoms": "none",
    "thigh_level": None,
    "thigh_stretch_response": None,
    "thigh_below_knee": None,
    "thigh_nerve_qualities": None,
    "safety_screen": [],
    "safety_screen_unchanged": [],
}
QUIET_WEEKLY: dict[str, Any] = {
    "back_pain_avg_7d": 2,
    "leg_pain_avg_7d": 0,
    "peg_pain": 2,
    "peg_enjoyment": 2,
    "peg_activity": 2,
    "morning_stiffness_level": 2,
    "morning_stiffness_duration": "lt15",
    "stiffness_eases_with_movement": None,
    "global_change": 1,
    "flare_7d": False,
    "exercise_days_7d": 4,
    "psfs_1": 7,
    "psfs_2": 7,
    "psfs_3": 8,
    "systemic_flags": [],
    "safety_screen": [],
    "safety_screen_unchanged": [],
}
SORE_BOTH_EASING = {  # ordinary exercise soreness: both sides, eases with stretch
    "thigh_symptoms": "both",
    "thigh_level": 3,
    "thigh_stretch_response": "eases",
    "thigh_below_knee": False,
    "thigh_nerve_qualities": [],
}

# The last sessions of each pattern, oldest first; earlier sessions are quiet.
PATTERNS: dict[str, list[dict[str, Any]]] = {
    "stiffening": [
        {"back_stiffness_now": 4, "stiffness_change": "stiffer"},
        {"back_stiffness_now": 5, "stiffness_change": "stiffer", "spine_check": "slightly_restricted"},
        {"back_stiffness_now": 6, "stiffness_change": "stiffer", "spine_check": "slightly_restricted"},
    ],
    "thigh_neural": [
        {
            "thigh_symptoms": "right",
            "thigh_level": 3,
            "thigh_stretch_response": "no_change",
            "thigh_below_knee": False,
            "thigh_nerve_qualities": [],
        },
        {
            "thigh_symptoms": "right",
            "thigh_level": 4,
            "thigh_stretch_response": "worse",
            "thigh_below_knee": True,
            "thigh_nerve_qualities": ["pins_needles"],
        },
    ],
    "neck_strain": [
        {"neck_symptoms": "tension", "neck_level": 3},
        {"neck_symptoms": "pain", "neck_level": 4},
        {"neck_symptoms": "pain_into_arm", "neck_level": 6},
    ],
    "pain_returning": [
        {"back_pain_now": 3, "back_pain_during_max": 6},
        {"back_pain_now": 4, "back_pain_during_max": 7},
    ],
    "red_flag": [
        {"back_pain_now": 4, "back_pain_during_max": 5, "safety_screen": ["saddle_numbness", "bladder_change"]},
    ],
    "soreness": [SORE_BOTH_EASING, SORE_BOTH_EASING, {**SORE_BOTH_EASING, "thigh_level": 1}],
    "quiet": [],
}
WEEKLY_PATTERNS: dict[str, dict[str, Any]] = {
    "pain_returning": {"back_pain_avg_7d": 5, "peg_pain": 5, "global_change": -1},
}
# Sessions on these weekdays (Mon, Wed, Fri); weeklies on Mondays.
SESSION_WEEKDAYS = (0, 2, 4)
SENT_AFTER = timedelta(minutes=2)  # from the moment a demo report describes to its arrival


def history_create(*, patient: Patient, enrollment: Enrollment, pattern: str) -> int:
    """Write the demo history of one patient since the enrollment began (nothing when they already have
    entries); return the count."""
    if Entry.objects.filter(patient=patient).exists():
        return 0
    tz = patient.clinic.tz
    now = timezone.now()
    today = now.astimezone(tz).date()
    start = enrollment.started_on
    days = [start + timedelta(days=i) for i in range((today - start).days + 1)]
    session_days = [d for d in days if d.weekday() in SESSION_WEEKDAYS]
    tail = PATTERNS[pattern]
    transitions = list(PhaseTransition.objects.filter(enrollment=enrollment))

    def phase(day: date) -> str:
        return phase_on(day, transitions, enrollment.phase)

    rows: list[Entry] = []
    for index, day in enumerate(session_days):
        at = datetime.combine(day, time(18, 30), tzinfo=tz)
        if at > now:
            at = now - timedelta(minutes=5)
        from_end = len(session_days) - index
        answers = dict(QUIET_SESSION)
        if from_end <= len(tail):
            answers.update(tail[len(tail) - from_end])
        rows.append(_entry(patient, enrollment, phase(day), q.POST_WORKOUT, at, answers))
    for day in days:
        if day.weekday() != 0:
            continue
        at = datetime.combine(day, time(9, 0), tzinfo=tz)
        answers = dict(QUIET_WEEKLY)
        if day > today - timedelta(days=7):
            answers.update(WEEKLY_PATTERNS.get(pattern, {}))
        rows.append(_entry(patient, enrollment, phase(day), q.WEEKLY, min(at, now), answers))
    Entry.objects.bulk_create(rows)
    # Each report reached the clinic two minutes after the moment it describes, as from the patient's phone
    # (``submitted_at`` is stamped on insert): the remote-monitoring days and the "reported late" rule see a
    # history sent day by day, not one batch sent today.
    Entry.objects.filter(pk__in=[row.pk for row in rows]).update(submitted_at=F("occurred_at") + SENT_AFTER)
    return len(rows)


def _entry(
    patient: Patient, enrollment: Enrollment, phase: str, kind: str, at: datetime, answers: dict[str, Any]
) -> Entry:
    return Entry(
        patient=patient,
        enrollment=enrollment,
        phase=phase,
        kind=kind,
        occurred_at=at,
        questionnaire_version=q.QUESTIONNAIRE_VERSION,
        **q.column_values(kind, answers),
    )
