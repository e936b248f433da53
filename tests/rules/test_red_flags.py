"""R-01 red_flag_ces and R-02 red_flag_systemic (v2): every red-flag entry or report alerts, keyed on it."""

from typing import Any

import pytest

from assessments.rules import (
    R01_PATIENT_ADVICE,
    R01_STABLE_PATIENT_ADVICE,
    R02_PATIENT_ADVICE,
    Params,
    evaluate,
    evaluate_red_flags,
    red_flag_advice,
)

from .builders import at, ctx, day, findings, pw, report, resolved, thigh, wk

# R-01 on both questionnaires and on refused submissions.


def test_any_safety_screen_item_alerts_urgently_with_emergency_advice():
    entry = pw(0, safety_screen=("saddle_numbness",))

    [f] = findings(ctx(entry), "R-01")

    assert (f.severity, f.rule_slug, f.qualifier, f.criteria) == ("urgent", "red_flag_ces", f"entry:{entry.id}", ("A",))
    assert f.values["items"] == f.values["new_or_worse"] == ["saddle_numbness"]
    assert f.values["unchanged"] == []
    assert f.patient_advice == R01_PATIENT_ADVICE
    assert [(e.kind, e.entry_id, e.values) for e in f.evidence] == [
        ("post_workout", entry.id, {"safety_screen": ["saddle_numbness"]})
    ]
    assert f.ruleset_version == 2


def test_a_safety_screen_item_on_a_weekly_alerts_too():
    entry = wk(0, safety_screen=("sexual_dysfunction",))

    [f] = findings(ctx(entry), "R-01")

    assert (f.severity, f.qualifier, f.evidence[0].kind) == ("urgent", f"entry:{entry.id}", "weekly")


def test_a_refused_submission_with_red_flags_alerts_keyed_on_the_report():
    refused = report(1, safety_screen=("bladder_change",), systemic_flags=("fever_or_unwell",))

    found = evaluate(ctx(refused, enrolled=False))

    assert [(f.rule_id, f.qualifier, f.severity) for f in found] == [
        ("R-01", f"report:{refused.id}", "urgent"),
        ("R-02", f"report:{refused.id}", "urgent"),
    ]
    assert found[0].evidence[0].kind == "red_flag_report"
    assert found[0].values["report_id"] == refused.id


def test_reports_feed_no_other_rule():
    refused = report(0, safety_screen=("bladder_change",))

    assert {f.rule_id for f in evaluate(ctx(refused, pw(1), wk(1)))} == {"R-01"}
    # A refused post-workout submission is not a session: it does not stop R-11's clock.
    late = report(0, safety_screen=("bladder_change",))
    assert {f.rule_id for f in evaluate(ctx(late, pw(9), wk(1)))} == {"R-01", "R-11"}


def test_every_red_flag_entry_alerts_separately_in_time_order():
    first = pw(3, safety_screen=("bladder_change",))
    second = wk(1, safety_screen=("bladder_change", "bowel_change"))

    assert [f.qualifier for f in findings(ctx(second, first), "R-01")] == [f"entry:{first.id}", f"entry:{second.id}"]


def test_empty_safety_screen_does_not_alert():
    assert findings(ctx(pw(0), wk(1)), "R-01") == []


# R-01 v2: unchanged and assessed stable within 90 days is high.


@pytest.mark.parametrize(("recorded_days_before", "severity"), [(0, "high"), (89, "high"), (90, "urgent")])
def test_an_unchanged_item_recorded_stable_in_the_last_90_days_is_high(recorded_days_before, severity):
    entry = pw(0, safety_screen=("saddle_numbness",), safety_screen_unchanged=("saddle_numbness",))
    stable = {"saddle_numbness": day(recorded_days_before)}

    [f] = findings(ctx(entry, stable_items=stable), "R-01")

    assert f.severity == severity
    assert f.criteria == (("B",) if severity == "high" else ("A",))
    assert f.patient_advice == (R01_STABLE_PATIENT_ADVICE if severity == "high" else R01_PATIENT_ADVICE)
    assert f.values["unchanged"] == ["saddle_numbness"]


def test_an_unchanged_item_without_a_stable_record_stays_urgent():
    entry = pw(0, safety_screen=("saddle_numbness",), safety_screen_unchanged=("saddle_numbness",))

    [f] = findings(ctx(entry), "R-01")

    assert (f.severity, f.values["new_or_worse"], f.values["unchanged"]) == ("urgent", [], ["saddle_numbness"])


def test_one_new_item_next_to_a_stable_unchanged_one_is_urgent():
    entry = pw(0, safety_screen=("saddle_numbness", "bladder_change"), safety_screen_unchanged=("saddle_numbness",))

    [f] = findings(ctx(entry, stable_items={"saddle_numbness": day(10)}), "R-01")

    assert (f.severity, f.values["new_or_worse"]) == ("urgent", ["bladder_change"])


def test_a_stable_record_made_after_the_entry_does_not_lower_it():
    entry = pw(5, safety_screen=("saddle_numbness",), safety_screen_unchanged=("saddle_numbness",))

    [f] = findings(ctx(entry, stable_items={"saddle_numbness": day(2)}), "R-01")

    assert f.severity == "urgent"


def test_red_flag_advice_at_submit_time():
    assert red_flag_advice([], []) == []
    [ces] = red_flag_advice(["bowel_change"], [])
    assert (ces.level, ces.rule_id, ces.message) == ("urgent", "R-01", R01_PATIENT_ADVICE)
    [systemic] = red_flag_advice((), ("fall_or_injury",))
    assert (systemic.level, systemic.rule_id, systemic.message) == ("urgent", "R-02", R02_PATIENT_ADVICE)
    assert [a.rule_id for a in red_flag_advice(["saddle_numbness"], ["fever_or_unwell"])] == ["R-01", "R-02"]


def test_red_flag_advice_for_unchanged_items_assessed_stable_says_call_if_it_changes():
    stable = {"saddle_numbness": day(30)}

    [calm] = red_flag_advice(["saddle_numbness"], [], unchanged=["saddle_numbness"], stable_items=stable, today=day(0))
    [no_date] = red_flag_advice(["saddle_numbness"], [], unchanged=["saddle_numbness"], stable_items=stable)
    [old] = red_flag_advice(
        ["saddle_numbness"], [], unchanged=["saddle_numbness"], stable_items={"saddle_numbness": day(90)}, today=day(0)
    )

    assert (calm.level, calm.message) == ("info", R01_STABLE_PATIENT_ADVICE)
    assert "contact the clinic today if they change" in calm.message
    assert (no_date.level, old.level) == ("urgent", "urgent")


# R-02 systemic flags, and v2's fall rules.


def test_any_systemic_flag_alerts_urgently_with_contact_your_doctor_advice():
    entry = wk(0, systemic_flags=("fever_or_unwell", "night_pain_unrelenting"))

    [f] = findings(ctx(entry), "R-02")

    assert (f.severity, f.criteria, f.patient_advice) == ("urgent", ("A",), R02_PATIENT_ADVICE)
    assert f.values["items"] == ["fever_or_unwell", "night_pain_unrelenting"]


def fall(days_ago=0, **answers):
    return wk(days_ago, systemic_flags=("fall_or_injury",), **answers)


def test_a_fall_alone_is_high():
    [f] = findings(ctx(pw(9, back_pain_now=2), fall(0, back_pain_avg_7d=2), wk(7, back_pain_avg_7d=2)), "R-02")

    assert (f.severity, f.criteria, f.values["fall"]) == ("high", ("B",), {"urgent": False})
    assert f.patient_advice == R02_PATIENT_ADVICE


def test_a_fall_with_another_systemic_flag_is_urgent():
    [f] = findings(ctx(wk(0, systemic_flags=("fall_or_injury", "fever_or_unwell"))), "R-02")

    assert (f.severity, f.criteria) == ("urgent", ("A", "B"))


def test_a_fall_with_a_recorded_fracture_risk_is_urgent():
    [f] = findings(ctx(fall(0), fracture_risk=True), "R-02")

    assert (f.severity, f.criteria) == ("urgent", ("B", "C"))
    assert f.values["fall"]["fracture_risk"] is True


@pytest.mark.parametrize(("pain", "severity"), [(4, "urgent"), (3, "high")])
def test_back_pain_two_above_its_value_before_the_fall_is_urgent(pain, severity):
    report_ = fall(8)
    sessions = [pw(16, back_pain_now=2), pw(4, back_pain_now=pain)]

    [f] = findings(ctx(report_, *sessions), "R-02")

    assert f.severity == severity
    if severity == "urgent":
        [rise] = f.values["fall"]["pain_rise"]
        assert (rise["back_pain_now"], rise["before"], rise["before_date"]) == (pain, 2, day(16).isoformat())
        assert sessions[1].id in [e.entry_id for e in f.evidence]


@pytest.mark.parametrize(("days_after", "severity"), [(6, "urgent"), (7, "high")])
def test_entries_count_within_seven_days_after_the_fall_report(days_after, severity):
    context = ctx(pw(20, back_pain_now=1), fall(10), pw(10 - days_after, back_pain_now=5))

    [f] = findings(context, "R-02")

    assert f.severity == severity


@pytest.mark.parametrize(("days_before", "severity"), [(6, "urgent"), (7, "high")])
def test_entries_count_within_seven_days_before_the_fall_report(days_before, severity):
    context = ctx(pw(20, back_pain_now=1), pw(days_before, back_pain_now=5), fall(0))

    [f] = findings(context, "R-02")

    assert f.severity == severity


def test_weekly_back_pain_two_above_the_weekly_before_the_fall_is_urgent():
    context = ctx(wk(7, back_pain_avg_7d=3), fall(0, back_pain_avg_7d=5))

    [f] = findings(context, "R-02")

    assert f.severity == "urgent"
    assert f.values["fall"]["pain_rise"][0]["back_pain_avg_7d"] == 5


def test_a_later_entry_escalates_the_fall_only_once_it_is_visible_as_of_its_time():
    entries = [pw(12, back_pain_now=1), fall(5), pw(2, back_pain_now=6)]

    [before] = findings(ctx(*entries, today=day(3), as_of=at(3)), "R-02")
    [after] = findings(ctx(*entries, today=day(2), as_of=at(2)), "R-02")

    assert (before.severity, after.severity) == ("high", "urgent")
    assert set(after.criteria) - set(before.criteria) == {"C"}


def test_leg_symptoms_appearing_around_a_fall_make_it_urgent():
    context = ctx(pw(10), fall(3), thigh(1, "left"))

    [f] = findings(context, "R-02")

    assert f.severity == "urgent"
    assert f.values["fall"]["new_leg_symptoms"][0]["thigh_symptoms"] == "left"


def test_leg_symptoms_already_there_before_the_fall_do_not_escalate():
    context = ctx(thigh(10, "left", back_pain_now=1), fall(3), thigh(1, "left", back_pain_now=1))

    assert findings(context, "R-02")[0].severity == "high"


def test_a_safety_screen_item_near_a_fall_makes_it_urgent():
    context = ctx(fall(3), report(0, safety_screen=("both_legs_numb_or_weak",)))

    [f] = findings(context, "R-02")

    assert f.severity == "urgent"
    assert f.values["fall"]["safety_screen"][0]["items"] == ["both_legs_numb_or_weak"]


def test_the_fall_window_is_a_parameter():
    context = ctx(pw(20, back_pain_now=1), fall(10), pw(1, back_pain_now=5))

    assert findings(context, "R-02")[0].severity == "high"
    assert findings(context, "R-02", Params(r02_fall_window_days=10))[0].severity == "urgent"


def test_red_flag_has_no_time_window_and_entries_after_today_are_ignored():
    assert len(findings(ctx(pw(40, safety_screen=("foot_drop_or_leg_weakness",))), "R-01")) == 1
    assert findings(ctx(pw(-1, safety_screen=("saddle_numbness",))), "R-01") == []


def test_evaluate_red_flags_runs_only_r01_and_r02():
    context = ctx(pw(2, stiffness_change="stiffer"), pw(0, stiffness_change="stiffer", safety_screen=("bowel_change",)))

    assert [f.rule_id for f in evaluate_red_flags(context)] == ["R-01"]


def test_a_resolved_red_flag_entry_is_not_raised_again_but_a_new_report_is():
    old = pw(5, safety_screen=("saddle_numbness",))
    new = pw(0, safety_screen=("saddle_numbness",))

    v1_style = ctx(old, new, suppress_before={("R-01", f"entry:{old.id}"): at(4)})
    v2_style = ctx(old, new, resolutions={("R-01", f"entry:{old.id}"): resolved(4, "A", severity="urgent")})

    assert [f.qualifier for f in findings(v1_style, "R-01")] == [f"entry:{new.id}"]
    assert [f.qualifier for f in findings(v2_style, "R-01")] == [f"entry:{new.id}"]


def test_a_red_flag_entry_older_than_seven_days_says_reported_late():
    entry = pw(9, safety_screen=("saddle_numbness",), submitted_at=at(0))

    [f] = findings(ctx(entry, as_of=at(9), today=day(9), now=at(0)), "R-01")

    assert f.reported_late
    assert f.severity == "urgent"
    assert "reported late" in f.values["flags"]
    assert f.rationale.startswith("Reported late")


def _r02(*entries: Any) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.severity, f.criteria) for f in evaluate(ctx(*entries)) if f.rule_id == "R-02"]


FALL = ("fall_or_injury",)


def test_fall_is_urgent_when_pain_rises_over_the_last_session_before_the_report() -> None:
    assert _r02(pw(4, back_pain_now=1), wk(3, systemic_flags=FALL), pw(1, back_pain_now=7)) == [("urgent", ("B", "C"))]


def test_fall_is_urgent_on_a_rise_over_the_report_even_when_an_older_session_was_worse() -> None:
    history = (pw(20, back_pain_now=6), pw(4, back_pain_now=1), wk(3, systemic_flags=FALL), pw(1, back_pain_now=7))
    assert _r02(*history) == [("urgent", ("B", "C"))]


def test_fall_is_urgent_when_leg_symptoms_appear_after_a_last_session_without_them() -> None:
    assert _r02(thigh(13, "left"), pw(5), wk(3, systemic_flags=FALL), thigh(1, "left")) == [("urgent", ("B", "C"))]


def test_fall_with_a_rise_below_two_stays_high() -> None:
    assert _r02(pw(4, back_pain_now=1), wk(3, systemic_flags=FALL), pw(1, back_pain_now=2)) == [("high", ("B",))]
