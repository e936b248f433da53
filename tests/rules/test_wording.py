"""The evidence formatter: alert values and evidence in plain words, never JSON or reprs."""

from __future__ import annotations

import re
from typing import Any

from assessments.rules.catalog import CRITERIA
from assessments.wording import describe_alert, entry_line

R04_VALUES: dict[str, Any] = {
    "side": "right",
    "A": {
        "entries": [{"entry_id": 69, "date": "2026-12-02", "features": ["stretch_not_easing", "below_knee"]}],
        "required_features": 2,
        "window_days": 14,
    },
    "B": {
        "series": [
            {"entry_id": 67, "date": "2026-11-27", "thigh_symptoms": "none", "features": []},
            {"entry_id": 68, "date": "2026-11-30", "thigh_symptoms": "right", "features": ["stretch_not_easing"]},
            {"entry_id": 69, "date": "2026-12-02", "thigh_symptoms": "right", "features": ["below_knee"]},
        ],
        "count": 2,
        "required": 2,
        "of_last": 3,
        "window_days": 14,
    },
}
R04_EVIDENCE = [
    {
        "kind": "post_workout",
        "entry_id": 68,
        "local_date": "2026-11-30",
        "values": {"thigh_symptoms": "right", "thigh_stretch_response": "no_change", "thigh_nerve_qualities": []},
    },
    {
        "kind": "post_workout",
        "entry_id": 69,
        "local_date": "2026-12-02",
        "values": {"thigh_level": 4, "thigh_below_knee": True, "thigh_nerve_qualities": ["pins_needles"]},
    },
]
NOT_WORDS = re.compile(r"[{}\[\]=_'\"]")


def criteria(rule_id: str, *codes: str) -> dict[str, str]:
    return {code: CRITERIA[rule_id][code] for code in codes}


def test_a_one_sided_thigh_alert_reads_as_sentences() -> None:
    words = describe_alert(
        rule_id="R-04", qualifier="right", criteria=criteria("R-04", "A", "B"), values=R04_VALUES, evidence=R04_EVIDENCE
    )

    assert words.summary.startswith("Right leg: Wed 2 Dec (neural features: not eased by stretching, below the knee)")
    assert "in 2 of the last 3 entries (Mon 30 Nov, Wed 2 Dec)" in words.summary
    assert words.criteria[1].line == (
        "(B) same side in at least 2 of the last 3 sessions within 14 days, each with at least 1 neural feature: "
        "2 of the last 3 entries within 14 days (alert at 2): Mon 30 Nov, Wed 2 Dec"
    )
    assert words.entries == (
        "Mon 30 Nov, after a workout: Leg symptoms (buttock, thigh, calf or foot): Yes, on the right; "
        "Leg symptoms when stretched: Does not change; Nerve qualities: none",
        "Wed 2 Dec, after a workout: Leg symptoms, how strong: 4/10; Spreads below the knee: yes; "
        "Nerve qualities: Pins and needles",
    )
    for text in (words.summary, *(c.line for c in words.criteria), *words.entries):
        assert not NOT_WORDS.search(text), text


def test_a_baseline_comparison_explains_the_threshold() -> None:
    baseline = {"value": 2, "threshold": 4, "met": True, "source": "phase", "entry_ids": [1], "dates": ["2026-11-09"]}
    values = {
        "A": {
            "latest": {"entry_id": 9, "date": "2026-11-30", "back_pain_avg_7d": 5},
            "delta": 2,
            "baseline": baseline,
            "threshold": 4,
            "baselines": [baseline],
        },
        "flags": ["within 6 weeks of progression"],
    }

    words = describe_alert(rule_id="R-06", qualifier="", criteria=criteria("R-06", "A"), values=values, evidence=[])

    assert words.criteria[0].facts == (
        "back pain, 7-day average: 5/10 on Mon 30 Nov; up 2; baseline 2 (this phase); alert at 4 or more"
    )
    assert words.summary.startswith("Within 6 weeks of progression. Back pain, 7-day average: 5/10 on Mon 30 Nov")
    assert words.notes == ("Within 6 weeks of progression.",)


def test_red_flags_name_each_item_and_what_the_patient_was_told() -> None:
    values = {
        "items": ["saddle_numbness", "bladder_change"],
        "new_or_worse": ["saddle_numbness"],
        "unchanged": ["bladder_change"],
        "assessed_stable": {},
        "source": "post_workout",
        "date": "2026-12-02",
        "patient_told": "Stop exercising.",
    }
    evidence = [
        {
            "kind": "post_workout",
            "entry_id": 5,
            "local_date": "2026-12-02",
            "values": {"safety_screen": ["bladder_change"]},
        }
    ]

    words = describe_alert(
        rule_id="R-01", qualifier="", criteria=criteria("R-01", "A"), values=values, evidence=evidence
    )

    assert words.summary == "Saddle numbness, bladder change reported on Wed 2 Dec"
    assert words.criteria[0].facts == (
        "new or worse: saddle numbness; unchanged: bladder change on Wed 2 Dec (after a workout)"
    )
    assert words.entries[0].startswith("Wed 2 Dec, after a workout: Safety screen: Trouble passing urine")
    assert words.notes == ("The patient was told: Stop exercising.",)


def test_values_of_unknown_shape_are_still_words() -> None:
    values = {"A": {"days_without_session": 9, "last_session_date": "2026-11-23", "odd_key": ["some_code"]}}

    words = describe_alert(rule_id="R-11", qualifier="", criteria=criteria("R-11", "A"), values=values, evidence=[])

    assert words.criteria[0].facts == (
        "days without a post-workout report 9; last post-workout report Mon 23 Nov; odd key some code"
    )


def test_an_outcome_score_and_a_missing_date_do_not_break_the_entry_line() -> None:
    line = entry_line({"kind": "outcome_score", "entry_id": None, "local_date": "2026-12-01", "values": {"score": 30}})

    assert line == "Tue 1 Dec, outcome score: Score: 30"
