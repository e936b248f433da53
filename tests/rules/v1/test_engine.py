"""Properties of the v1 engine as a whole: output shape, determinism (purity: tests/rules/test_package.py)."""

import json
import random

from assessments.rules.types import Firing
from assessments.rules.v1 import evaluate

from .builders import at, ctx, day, neck, odi, pw, thigh, wk


def busy_context(**kwargs):
    """A stabilization patient for whom every rule fires."""
    sessions = [
        pw(6, safety_screen=("saddle_numbness",), stiffness_change="stiffer", back_pain_now=1),
        thigh(
            4,
            "left",
            stretch="worse",
            below_knee=True,
            back_pain_now=3,
            neck_symptoms="tension",
            neck_level=6,
            stiffness_change="stiffer",
            spine_check="clearly_restricted",
            session_completed="stopped_symptoms",
            back_pain_during_max=7,
        ),
        neck(
            2,
            "pain_into_arm",
            4,
            back_pain_now=5,
            spine_check="clearly_restricted",
            back_pain_during_max=7,
            session_completed="stopped_symptoms",
        ),
    ]
    weeklies = [
        wk(35, back_pain_avg_7d=1, morning_stiffness_level=1, psfs_1=8, psfs_2=8, psfs_3=8),
        wk(
            28,
            back_pain_avg_7d=1,
            morning_stiffness_level=1,
            morning_stiffness_duration="30_60",
            stiffness_eases_with_movement=True,
        ),
        wk(
            21,
            back_pain_avg_7d=4,
            morning_stiffness_duration="30_60",
            stiffness_eases_with_movement=True,
            exercise_days_7d=1,
            systemic_flags=("fever_or_unwell",),
        ),
        wk(
            14,
            back_pain_avg_7d=4,
            morning_stiffness_level=5,
            morning_stiffness_duration="60_120",
            stiffness_eases_with_movement=True,
            exercise_days_7d=2,
            flare_7d=True,
            global_change=-3,
            psfs_1=5,
            psfs_2=5,
            psfs_3=5,
        ),
    ]
    return ctx(
        *sessions,
        *weeklies,
        phase="stabilization",
        phase_since=day(40),
        today=day(0),
        outcome_scores=[odi(30, 20), odi(3, 35)],
        recent_firings=[Firing("R-05", day(3))],
        last_progression_date=day(40),
        **kwargs,
    )


def test_every_rule_can_fire_and_findings_come_in_rule_order():
    found = evaluate(busy_context())

    assert [f.rule_id for f in found] == [
        "R-01",
        "R-02",
        "R-03",
        "R-04",
        "R-05",
        "R-06",
        "R-07",
        "R-08",
        "R-10",
        "R-11",
    ]


def test_findings_are_json_serialisable_and_carry_ruleset_and_version():
    for f in evaluate(busy_context()):
        json.dumps(f.values)
        for e in f.evidence:
            json.dumps(e.values)
        assert (f.ruleset, f.ruleset_version) == ("core", 1)
        assert f.severity in ("urgent", "high", "routine")
        assert f.title
        assert "the patient has" not in f.rationale.lower()
        assert f.key == (f.rule_id, f.qualifier)


def test_input_order_does_not_matter():
    context = busy_context()
    shuffled_pws = list(context.post_workouts)
    shuffled_wks = list(context.weeklies)
    random.Random(7).shuffle(shuffled_pws)
    random.Random(7).shuffle(shuffled_wks)

    shuffled = ctx(
        *shuffled_pws,
        *shuffled_wks,
        phase="stabilization",
        phase_since=day(40),
        outcome_scores=list(reversed(context.outcome_scores)),
        recent_firings=context.recent_firings,
        last_progression_date=day(40),
    )

    assert evaluate(shuffled) == evaluate(context)


def test_replay_with_an_earlier_today_ignores_later_entries():
    context = ctx(
        pw(5, stiffness_change="stiffer"), pw(4, stiffness_change="stiffer"), pw(0), pw(0), wk(6), today=day(4)
    )

    assert [f.rule_id for f in evaluate(context)] == ["R-03"]


def test_latest_evidence_at_is_the_newest_evidence_instant():
    [f] = [
        f
        for f in evaluate(ctx(pw(3, stiffness_change="stiffer"), pw(1, stiffness_change="stiffer")))
        if f.rule_id == "R-03"
    ]

    assert f.latest_evidence_at == at(1)


def test_a_calm_patient_has_no_findings():
    context = ctx(pw(6), pw(4), pw(2), pw(0), wk(7), wk(0), outcome_scores=[odi(10, 20)])

    assert evaluate(context) == []
