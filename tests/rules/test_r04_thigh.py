"""R-04 unilateral_thigh_neural (v2; qualifier: side), the narrowed feature, and the patterns that stay quiet."""

import pytest

from assessments.rules import neural_features, one_sided_features

from .builders import criteria, ctx, findings, pw, thigh


def sides(context):
    return [(f.qualifier, f.criteria, f.severity) for f in findings(context, "R-04")]


# Neural features (v2: leg above back pain only from back pain 2 and when not eased by stretching).


@pytest.mark.parametrize(
    ("back_pain", "stretch", "counts"),
    [(1, "not_tried", False), (2, "not_tried", True), (2, "eases", False), (3, "no_change", True), (0, "worse", False)],
)
def test_leg_above_back_pain_is_a_feature_only_from_back_pain_two_and_not_eased(back_pain, stretch, counts):
    entry = thigh(0, "left", level=back_pain + 3, back_pain_now=back_pain, stretch=stretch)

    assert ("thigh_above_back_pain" in neural_features(entry)) is counts


def test_neural_features_lists_the_four_features_and_serves_both_legs_too():
    entry = thigh(0, "right", stretch="worse", below_knee=True, qualities=("shooting",), level=7, back_pain_now=2)
    both = thigh(0, "both", stretch="worse", below_knee=True, qualities=("burning",), back_pain_now=1)

    assert neural_features(entry) == ("stretch_not_easing", "below_knee", "nerve_qualities", "thigh_above_back_pain")
    assert neural_features(both) == ("stretch_not_easing", "below_knee", "nerve_qualities")
    assert one_sided_features(both) == ()
    assert neural_features(pw(0)) == ()


def test_a_one_sided_ache_eased_by_stretching_at_back_pain_zero_or_one_stays_quiet():
    sessions = [thigh(d, "left", level=4, stretch="eases", back_pain_now=d % 2) for d in (8, 6, 4, 2, 0)]

    assert findings(ctx(*sessions), "R-04") == []


def test_a_one_sided_ache_stronger_than_low_back_pain_without_stretch_answer_stays_quiet():
    sessions = [thigh(d, "right", level=5, stretch="not_tried", back_pain_now=1) for d in (4, 2)]

    assert findings(ctx(*sessions), "R-04") == []


def test_symmetric_soreness_that_eases_and_fades_never_fires_r04():
    sessions = [thigh(d, "both", level=lvl, stretch="eases", back_pain_now=1) for d, lvl in ((4, 6), (2, 4), (0, 2))]

    assert findings(ctx(*sessions), "R-04") == []


# (A) >= 2 features in one entry.


def test_unilateral_ache_not_eased_by_stretch_and_spreading_below_knee_alerts():
    [f] = findings(ctx(thigh(0, "left", stretch="no_change", below_knee=True)), "R-04")

    assert (f.qualifier, f.criteria, f.severity) == ("left", ("A",), "high")
    assert f.values["A"]["entries"][0]["features"] == ["stretch_not_easing", "below_knee"]
    assert "neurodynamic" in f.rationale


# (B) the same side in >= 2 of the last 3 sessions within 14 d, each with >= 1 feature.


def test_same_side_with_a_feature_in_two_of_last_three_sessions_alerts():
    context = ctx(thigh(5, "left", stretch="no_change"), pw(3), thigh(0, "left", stretch="worse"))

    assert sides(context) == [("left", ("B",), "high")]


def test_same_side_twice_but_once_without_a_feature_does_not_alert():
    context = ctx(thigh(5, "left", stretch="no_change"), pw(3), thigh(0, "left", stretch="eases"))

    assert findings(context, "R-04") == []


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_repeat_counts_only_sessions_within_fourteen_days(days_ago, fires):
    context = ctx(thigh(days_ago, "right", stretch="worse"), thigh(0, "right", stretch="worse"))

    assert ("B" in criteria(context, "R-04")) is fires


# (C, v2) the same side in >= 3 consecutive sessions, none eased by stretching.


@pytest.mark.parametrize(
    ("stretches", "fires"),
    [
        (("not_tried", "not_tried", "not_tried"), True),
        (("not_tried", "eases", "not_tried"), False),
        (("not_tried", "not_tried"), False),
    ],
)
def test_same_side_in_three_consecutive_sessions_none_eased_alerts(stretches, fires):
    n = len(stretches)
    sessions = [thigh(2 * (n - 1 - i), "left", stretch=s, back_pain_now=1) for i, s in enumerate(stretches)]

    assert (criteria(ctx(*sessions), "R-04") == ("C",)) is fires


def test_consecutive_sessions_must_all_be_the_same_side():
    sessions = [
        thigh(4, "left", stretch="not_tried"),
        thigh(2, "right", stretch="not_tried"),
        thigh(0, "left", stretch="not_tried"),
    ]

    assert findings(ctx(*sessions), "R-04") == []


# (D, v2) numbness once high; pins and needles once routine, high when a feature recurs within 28 d.


def test_numbness_once_alerts_high():
    assert sides(ctx(thigh(0, "right", qualities=("numbness",)))) == [("right", ("D",), "high")]


def test_pins_and_needles_once_with_no_other_feature_is_routine():
    [f] = findings(ctx(thigh(0, "left", qualities=("pins_needles",))), "R-04")

    assert (f.criteria, f.severity) == (("D",), "routine")
    assert f.values["D"]["severity"] == "routine"


@pytest.mark.parametrize(("days_ago", "severity"), [(27, "high"), (28, "routine")])
def test_pins_and_needles_is_high_when_a_feature_recurs_on_that_side_within_28_days(days_ago, severity):
    context = ctx(thigh(days_ago, "left", stretch="worse"), thigh(0, "left", qualities=("pins_needles",)))

    [f] = findings(context, "R-04")

    assert (f.criteria, f.severity) == (("D",), severity)


def test_a_feature_recurring_after_pins_and_needles_outside_fourteen_days_is_high():
    context = ctx(thigh(20, "right", qualities=("pins_needles",)), thigh(0, "right", below_knee=True))

    assert sides(context) == [("right", ("D",), "high")]


# Alternating sides (v2).


def test_both_sides_qualifying_within_fourteen_days_says_alternating_sides():
    context = ctx(
        thigh(10, "left", stretch="worse", below_knee=True), thigh(0, "right", stretch="worse", below_knee=True)
    )

    left, right = findings(context, "R-04")

    for f in (left, right):
        assert "alternating sides" in f.values["flags"]
        assert "safety screen" in f.rationale
        assert "Alternating sides. " in f.rationale
    assert left.reported_late
    assert not right.reported_late
    assert right.values["alternating_sides"] == {
        "other_side": "left",
        "qualified_on": left.evidence[0].local_date.isoformat(),
    }


@pytest.mark.parametrize(("days_ago", "alternating"), [(13, True), (14, False)])
def test_the_other_side_must_have_qualified_within_fourteen_days(days_ago, alternating):
    context = ctx(
        thigh(days_ago, "left", stretch="worse", below_knee=True), thigh(0, "right", stretch="worse", below_knee=True)
    )

    right = findings(context, "R-04")[-1]

    assert right.qualifier == "right"
    assert ("alternating sides" in right.values.get("flags", [])) is alternating


def test_both_sides_alert_separately():
    context = ctx(
        thigh(1, "left", stretch="worse", below_knee=True), thigh(0, "right", stretch="worse", below_knee=True)
    )

    assert [(q, c) for q, c, _ in sides(context)] == [("left", ("A",)), ("right", ("A",))]
