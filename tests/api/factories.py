"""Valid questionnaire answers and an Entry factory that stores rows the API itself would accept.

Both are built from the questionnaires' declaration (assessments/questionnaires.py): every field of the
questionnaire is present, conditional ones null, optional ones at their default, lists empty; only the
required numbers and choices of a quiet entry are written here.
"""

from __future__ import annotations

from typing import Any, cast

import factory
from django.utils import timezone
from factory.declarations import LazyAttribute, LazyFunction, SubFactory, Trait

from assessments import questionnaires as q
from assessments.models import Entry
from programs.models import Enrollment
from tests.factories import EnrollmentFactory, PatientFactory, blank_answers

# The required answers of a quiet entry: low pain, nothing of note, no red flags.
QUIET: dict[str, dict[str, Any]] = {
    q.POST_WORKOUT: {
        "session_completed": "full",
        "back_pain_now": 2,
        "back_pain_during_max": 3,
        "back_stiffness_now": 2,
        "stiffness_change": "looser",
        "spine_check": "free",
        "neck_symptoms": "none",
        "thigh_symptoms": "none",
    },
    q.WEEKLY: {
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
    },
}


def answers(kind: str, **overrides: Any) -> dict[str, Any]:
    """A complete, quiet questionnaire of ``kind``: every field, as the API returns it for such an entry."""
    return {**blank_answers(kind), **QUIET[kind], **overrides}


def post_workout_answers(**overrides: Any) -> dict[str, Any]:
    """A complete, quiet post-workout questionnaire (no neck or leg symptoms, no red flags)."""
    return answers(q.POST_WORKOUT, **overrides)


def weekly_answers(**overrides: Any) -> dict[str, Any]:
    """A complete, quiet weekly questionnaire (short morning stiffness, no red flags)."""
    return answers(q.WEEKLY, **overrides)


def _active_enrollment(entry: Any) -> Any:
    enrollment = Enrollment.objects.filter(patient=entry.patient, active=True).first()
    return enrollment if enrollment is not None else EnrollmentFactory(patient=entry.patient)


class EntryFactory(factory.django.DjangoModelFactory[Entry]):
    """A stored post-workout entry (``EntryFactory(weekly=True)`` for a weekly check-in).

    The answer columns are those the submit service stores for the quiet answers above, with any answer
    given as a keyword instead (stored as given); the weekly scores follow the stored items unless given.
    """

    class Meta:
        model = Entry

    class Params:
        weekly = Trait(kind=q.WEEKLY)

    patient = SubFactory(PatientFactory)
    enrollment = LazyAttribute(_active_enrollment)
    phase = LazyAttribute(lambda o: o.enrollment.phase)
    kind = q.POST_WORKOUT
    occurred_at = LazyFunction(timezone.now)

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        kind = kwargs["kind"]
        given = {name: kwargs.pop(name) for name in q.ANSWER_FIELDS if name in kwargs}
        columns = {**q.column_values(kind, answers(kind, **given)), **given}
        for score in q.scores_of(kind):
            columns[score.name] = kwargs.pop(score.name) if score.name in kwargs else score.of(columns)
        return {**kwargs, **columns}


def make_entry(**kwargs: Any) -> Entry:
    """``EntryFactory(**kwargs)``, typed: a stored entry."""
    return cast(Entry, EntryFactory(**kwargs))


def build_entry(**kwargs: Any) -> Entry:
    """``EntryFactory.build(**kwargs)``: an unsaved entry, for ``bulk_create``."""
    return EntryFactory.build(**kwargs)
