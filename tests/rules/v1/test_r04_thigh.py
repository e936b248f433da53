"""R-04 unilateral_thigh_neural (qualifier: side), and the exercise-soreness pattern that never fires it."""

import pytest

from assessments.rules.v1 import neural_features

from .builders import criteria, ctx, findings, pw, thigh


def test_unilateral_ache_not_eased_by_stretch_and_spreading_below_knee_alerts():
    entry = thigh(0, "left", stretch="no_change", below_knee=True)

    [f] = findings(ctx(entry), "R-04")

    assert f.qualifier == "left"
    assert f.criteria == ("A",)
    assert f.severity == "high"
    assert f.values["side"] == "left"
    assert f.values["A"]["entries"][0]["features"] == ["stretch_not_easing", "below_knee"]
    assert f.evidence[0].values == {
        "thigh_symptoms": "left",
        "thigh_level": 3,
        "back_pain_now": 3,
        "thigh_stretch_response": "no_change",
        "thigh_below_knee": True,
        "thigh_nerve_qualities": [],
    }
    assert "neurodynamic" in f.rationale


def test_unilateral_ache_not_eased_by_stretch_alone_does_not_alert_once():
    assert findings(ctx(thigh(0, "right", stretch="worse")), "R-04") == []


def test_several_nerve_qualities_are_one_feature():
    assert findings(ctx(thigh(0, "left", qualities=("pins_needles", "burning", "shooting"))), "R-04") == []


def test_nerve_quality_with_thigh_stronger_than_back_is_two_features():
    [f] = findings(ctx(thigh(0, "right", qualities=("numbness",), level=5, back_pain_now=2)), "R-04")

    assert (f.qualifier, f.criteria) == ("right", ("A",))


@pytest.mark.parametrize(("level", "fires"), [(4, True), (3, False)])
def test_thigh_level_above_back_pain_is_a_feature_only_when_strictly_above(level, fires):
    entry = thigh(0, "left", stretch="worse", level=level, back_pain_now=3)

    assert (criteria(ctx(entry), "R-04") == ("A",)) is fires


def test_symmetric_soreness_that_eases_with_stretch_and_fades_does_not_alert():
    sessions = [
        thigh(4, "both", level=6, stretch="eases", back_pain_now=1, below_knee=None),
        thigh(2, "both", level=4, stretch="eases", back_pain_now=1, below_knee=None),
        thigh(0, "both", level=2, stretch="eases", back_pain_now=1, below_knee=None),
    ]

    assert findings(ctx(*sessions), "R-04") == []


def test_bilateral_entries_never_count_whatever_their_answers():
    sessions = [
        thigh(2, "both", stretch="worse", level=8, back_pain_now=1, below_knee=None, qualities=("burning",)),
        thigh(0, "both", stretch="no_change", level=8, back_pain_now=1, below_knee=None),
    ]

    assert findings(ctx(*sessions), "R-04") == []
    assert neural_features(sessions[0]) == ()


def test_same_side_with_a_feature_in_two_of_last_three_sessions_alerts():
    context = ctx(thigh(5, "left", stretch="no_change"), pw(3), thigh(0, "left", stretch="worse"))

    [f] = findings(context, "R-04")

    assert (f.qualifier, f.criteria) == ("left", ("B",))
    assert f.values["B"]["count"] == 2
    assert len(f.evidence) == 2


def test_same_side_twice_but_once_easing_without_features_does_not_alert():
    context = ctx(thigh(5, "left", stretch="no_change"), pw(3), thigh(0, "left", stretch="eases"))

    assert findings(context, "R-04") == []


def test_alternating_sides_do_not_alert_from_the_repeat_criterion():
    context = ctx(thigh(4, "left", stretch="no_change"), thigh(2, "right", stretch="no_change"), pw(0))

    assert findings(context, "R-04") == []


def test_left_right_left_alerts_for_the_left_side_only():
    # By the count of RULES.md, left is reported in 2 of the last 3 sessions.
    context = ctx(
        thigh(4, "left", stretch="worse"), thigh(2, "right", stretch="worse"), thigh(0, "left", stretch="worse")
    )

    assert [(f.qualifier, f.criteria) for f in findings(context, "R-04")] == [("left", ("B",))]


def test_same_side_outside_the_last_three_sessions_does_not_count():
    context = ctx(thigh(6, "left", stretch="worse"), pw(4), pw(2), thigh(0, "left", stretch="worse"))

    assert findings(context, "R-04") == []


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_repeat_counts_only_sessions_within_fourteen_days(days_ago, fires):
    context = ctx(thigh(days_ago, "right", stretch="worse"), thigh(0, "right", stretch="worse"))

    assert (criteria(context, "R-04") == ("B",)) is fires


def test_single_entry_with_two_features_older_than_fourteen_days_does_not_alert():
    assert findings(ctx(thigh(14, "left", stretch="worse", below_knee=True), pw(0)), "R-04") == []


def test_both_sides_alert_separately():
    context = ctx(
        thigh(1, "left", stretch="worse", below_knee=True), thigh(0, "right", stretch="worse", below_knee=True)
    )

    assert [(f.qualifier, f.criteria) for f in findings(context, "R-04")] == [("left", ("A",)), ("right", ("A",))]


def test_neural_features_lists_the_four_features():
    entry = thigh(0, "right", stretch="worse", below_knee=True, qualities=("shooting",), level=7, back_pain_now=2)

    assert neural_features(entry) == ("stretch_not_easing", "below_knee", "nerve_qualities", "thigh_above_back_pain")
    assert neural_features(pw(0)) == ()
