"""R-01 red_flag_ces and R-02 red_flag_systemic: every red-flag report alerts, keyed on its entry."""

from assessments.rules.v1 import R01_PATIENT_ADVICE, R02_PATIENT_ADVICE, red_flag_advice

from .builders import at, ctx, findings, pw, wk


def test_any_safety_screen_item_alerts_urgently_with_emergency_advice():
    entry = pw(0, safety_screen=("saddle_numbness",))

    [f] = findings(ctx(entry), "R-01")

    assert f.severity == "urgent"
    assert f.rule_slug == "red_flag_ces"
    assert f.qualifier == f"entry:{entry.id}"
    assert f.values["items"] == ["saddle_numbness"]
    assert f.patient_advice == R01_PATIENT_ADVICE
    assert "stop exercising" in R01_PATIENT_ADVICE.lower()
    assert "same-day emergency assessment" in R01_PATIENT_ADVICE
    assert [e.entry_id for e in f.evidence] == [entry.id]
    assert f.evidence[0].values == {"safety_screen": ["saddle_numbness"]}


def test_empty_safety_screen_does_not_alert():
    assert findings(ctx(pw(0), pw(1)), "R-01") == []


def test_every_red_flag_report_alerts_separately():
    first = pw(3, safety_screen=("bladder_change",))
    second = pw(1, safety_screen=("bladder_change", "bowel_change"))

    found = findings(ctx(second, first), "R-01")

    assert [f.qualifier for f in found] == [f"entry:{first.id}", f"entry:{second.id}"]


def test_red_flag_has_no_time_window():
    old = pw(40, safety_screen=("foot_drop_or_leg_weakness",))

    assert len(findings(ctx(old), "R-01")) == 1


def test_entries_dated_after_today_are_ignored():
    assert findings(ctx(pw(-1, safety_screen=("saddle_numbness",))), "R-01") == []


def test_resolved_red_flag_entry_is_not_raised_again_but_a_new_report_is():
    old = pw(5, safety_screen=("saddle_numbness",))
    new = pw(0, safety_screen=("saddle_numbness",))
    context = ctx(old, new, suppress_before={("R-01", f"entry:{old.id}"): at(4)})

    assert [f.qualifier for f in findings(context, "R-01")] == [f"entry:{new.id}"]


def test_any_systemic_flag_alerts_urgently_with_contact_your_doctor_advice():
    entry = wk(0, systemic_flags=("fever_or_unwell", "night_pain_unrelenting"))

    [f] = findings(ctx(entry), "R-02")

    assert f.severity == "urgent"
    assert f.rule_slug == "red_flag_systemic"
    assert f.qualifier == f"entry:{entry.id}"
    assert f.values["items"] == ["fever_or_unwell", "night_pain_unrelenting"]
    assert f.patient_advice == R02_PATIENT_ADVICE
    assert "contact your doctor today" in R02_PATIENT_ADVICE.lower()


def test_weekly_without_systemic_flags_does_not_alert():
    assert findings(ctx(wk(0), wk(7)), "R-02") == []


def test_red_flag_advice_at_submit_time():
    assert red_flag_advice([], []) == []
    [ces] = red_flag_advice(["bowel_change"], [])
    assert (ces.level, ces.rule_id, ces.message) == ("urgent", "R-01", R01_PATIENT_ADVICE)
    [systemic] = red_flag_advice((), ("fall_or_injury",))
    assert (systemic.level, systemic.rule_id, systemic.message) == ("urgent", "R-02", R02_PATIENT_ADVICE)
    assert [a.rule_id for a in red_flag_advice(["saddle_numbness"], ["fever_or_unwell"])] == ["R-01", "R-02"]
