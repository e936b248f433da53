"""Concise builders for v1 rules-engine inputs (frozen with v1), placed by how many days before TODAY they occurred."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from assessments.rules.types import Finding, OutcomeScore, PatientContext, PostWorkout, Weekly
from assessments.rules.v1 import DEFAULT_PARAMS, Params, evaluate

TODAY = date(2024, 6, 28)
_ids = itertools.count(1)


def day(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


def at(days_ago: int, hour: int = 18) -> datetime:
    """An aware instant on the given day (the clinic's zone is UTC in these tests)."""
    return datetime.combine(day(days_ago), time(hour), tzinfo=UTC)


def pw(days_ago: int = 0, *, hour: int = 18, **answers: Any) -> PostWorkout:
    """A calm, complete session unless ``answers`` say otherwise."""
    fields: dict[str, Any] = {
        "session_completed": "full",
        "back_pain_now": 1,
        "back_pain_during_max": 2,
        "back_stiffness_now": 2,
        "stiffness_change": "same",
        "spine_check": "free",
        "neck_symptoms": "none",
        "thigh_symptoms": "none",
    }
    fields.update(answers)
    return PostWorkout(id=next(_ids), occurred_at=at(days_ago, hour), local_date=day(days_ago), **fields)


def thigh(
    days_ago: int = 0,
    side: str = "left",
    *,
    level: int = 3,
    stretch: str = "eases",
    below_knee: bool | None = None,
    qualities: Iterable[str] = (),
    back_pain_now: int = 3,
    **answers: Any,
) -> PostWorkout:
    """A session with thigh symptoms; by default mild, easing with stretch and no stronger than the back."""
    if below_knee is None:
        below_knee = False if side in ("left", "right") else None
    return pw(
        days_ago,
        thigh_symptoms=side,
        thigh_level=level,
        thigh_stretch_response=stretch,
        thigh_below_knee=below_knee,
        thigh_nerve_qualities=tuple(qualities),
        back_pain_now=back_pain_now,
        **answers,
    )


def neck(days_ago: int = 0, symptoms: str = "tension", level: int = 3, **answers: Any) -> PostWorkout:
    return pw(days_ago, neck_symptoms=symptoms, neck_level=level, **answers)


def wk(days_ago: int = 0, *, hour: int = 12, **answers: Any) -> Weekly:
    """A calm weekly unless ``answers`` say otherwise."""
    fields: dict[str, Any] = {
        "back_pain_avg_7d": 2,
        "leg_pain_avg_7d": 1,
        "peg_pain": 2,
        "peg_enjoyment": 2,
        "peg_activity": 2,
        "morning_stiffness_level": 2,
        "morning_stiffness_duration": "lt15",
        "global_change": 0,
        "flare_7d": False,
        "exercise_days_7d": 4,
        "psfs_1": 6,
        "psfs_2": 6,
        "psfs_3": 6,
    }
    fields.update(answers)
    return Weekly(id=next(_ids), occurred_at=at(days_ago, hour), local_date=day(days_ago), **fields)


def odi(days_ago: int, score: float, instrument: str = "ODI") -> OutcomeScore:
    return OutcomeScore(instrument=instrument, score=score, local_date=day(days_ago), id=next(_ids))


def ctx(*entries: PostWorkout | Weekly, **kwargs: Any) -> PatientContext:
    """A context as of TODAY; by default in treatment since 60 days ago, enrolled."""
    kwargs.setdefault("phase", "treatment")
    kwargs.setdefault("phase_since", day(60))
    kwargs.setdefault("today", TODAY)
    kwargs.setdefault("enrolled", True)
    return PatientContext(
        post_workouts=[e for e in entries if isinstance(e, PostWorkout)],
        weeklies=[e for e in entries if isinstance(e, Weekly)],
        **kwargs,
    )


def findings(context: PatientContext, rule_id: str, params: Params = DEFAULT_PARAMS) -> list[Finding]:
    return [f for f in evaluate(context, params) if f.rule_id == rule_id]


def finding(context: PatientContext, rule_id: str, params: Params = DEFAULT_PARAMS) -> Finding | None:
    """The single finding of ``rule_id`` (asserting there is at most one), or None."""
    found = findings(context, rule_id, params)
    assert len(found) <= 1, found
    return found[0] if found else None


def criteria(context: PatientContext, rule_id: str, params: Params = DEFAULT_PARAMS) -> tuple[str, ...]:
    """The criteria met by ``rule_id`` (empty when it does not fire)."""
    f = finding(context, rule_id, params)
    return f.criteria if f else ()


def recent_weeklies(n: int, **answers: Any) -> list[Weekly]:
    """``n`` weeklies 7 days apart ending today, oldest first."""
    return [wk(7 * (n - 1 - i), **answers) for i in range(n)]
