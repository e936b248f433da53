"""Valid questionnaire answers and an Entry factory that stores rows the API itself would accept."""

from __future__ import annotations

from typing import Any, cast

import factory
from django.utils import timezone
from factory.declarations import LazyAttribute, LazyFunction, SubFactory, Trait

from assessments import questionnaires as q
from assessments.models import Entry
from programs.models import Enrollment
from tests.factories import EnrollmentFactory, PatientFactory


def post_workout_answers(**overrides: Any) -> dict[str, Any]:
    """A complete, quiet post-workout questionnaire (no neck or thigh symptoms, no red flags)."""
    answers: dict[str, Any] = {
        "session_completed": "full",
        "back_pain_now": 2,
        "back_pain_during_max": 3,
        "back_stiffness_now": 2,
        "stiffness_change": "looser",
        "spine_check": "free",
        "neck_symptoms": "none",
        "thigh_symptoms": "none",
        "safety_screen": [],
    }
    answers.update(overrides)
    return answers


def weekly_answers(**overrides: Any) -> dict[str, Any]:
    """A complete, quiet weekly questionnaire (short morning stiffness, no systemic flags)."""
    answers: dict[str, Any] = {
        "back_pain_avg_7d": 3,
        "leg_pain_avg_7d": 1,
        "peg_pain": 3,
        "peg_enjoyment": 2,
        "peg_activity": 2,
        "morning_stiffness_level": 3,
        "morning_stiffness_duration": "lt15",
        "global_change": 1,
        "flare_7d": False,
        "exercise_days_7d": 4,
        "psfs_1": 6,
        "psfs_2": 7,
        "psfs_3": 5,
        "systemic_flags": [],
    }
    answers.update(overrides)
    return answers


def _active_enrollment(entry: Any) -> Any:
    enrollment = Enrollment.objects.filter(patient=entry.patient, active=True).first()
    return enrollment if enrollment is not None else EnrollmentFactory(patient=entry.patient)


class EntryFactory(factory.django.DjangoModelFactory[Entry]):
    """A stored post-workout entry (``EntryFactory(weekly=True)`` for a weekly check-in).

    The answers are the same quiet ones the payload helpers above produce, so every row is one the API
    would have accepted; the enrollment and phase are the patient's current ones.
    """

    class Meta:
        model = Entry

    class Params:
        weekly = Trait(
            kind=q.WEEKLY,
            **{name: None for name in q.POST_WORKOUT_FIELDS if name != "note"},
            **{**weekly_answers(), "systemic_flags": LazyFunction(list)},
        )

    patient = SubFactory(PatientFactory)
    enrollment = LazyAttribute(_active_enrollment)
    phase = LazyAttribute(lambda o: o.enrollment.phase)
    kind = q.POST_WORKOUT
    occurred_at = LazyFunction(timezone.now)
    session_completed = "full"
    back_pain_now = 2
    back_pain_during_max = 3
    back_stiffness_now = 2
    stiffness_change = "looser"
    spine_check = "free"
    neck_symptoms = "none"
    neck_level = None
    thigh_symptoms = "none"
    thigh_level = None
    thigh_stretch_response = None
    thigh_below_knee = None
    thigh_nerve_qualities = None
    safety_screen = LazyFunction(list)
    note = ""


def make_entry(**kwargs: Any) -> Entry:
    """``EntryFactory(**kwargs)``, typed: a stored entry."""
    return cast(Entry, EntryFactory(**kwargs))


def build_entry(**kwargs: Any) -> Entry:
    """``EntryFactory.build(**kwargs)``: an unsaved entry, for ``bulk_create``."""
    return EntryFactory.build(**kwargs)
