"""The rule screen (``possible_rules``) against judging every rule as of every point: a differential test.

The scan judges, as of each new entry, only the rules the screen lets through. That is only right if a rule
the screen leaves out finds nothing as of any point of the window, whatever the thresholds, phase, baselines,
resolutions or earlier firings. Thousands of random windows check exactly that, with the engine's own
``evaluate`` as the reference: for every point, every rule judged (as v2 says) against the screened rules.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from assessments.rules import (
    DEFAULT_PARAMS,
    RULE_IDS,
    Firing,
    OutcomeScore,
    Params,
    PatientContext,
    PostWorkout,
    RedFlagReport,
    Resolution,
    Weekly,
    evaluate,
)
from assessments.rules.screening import possible_rules
from tests.rules.builders import ctx, day, pw, wk

TODAY = date(2025, 3, 20)
NOW = datetime.combine(TODAY, time(21), tzinfo=UTC)
JUDGED = frozenset(RULE_IDS - {"R-11"})  # R-11 is judged once, as of now, not per point

# Thresholds: the defaults, a sensitive clinic and a strict one (every rule's numbers move).
SENSITIVE = Params.from_dict(
    {
        "r03_stiffer_count": 1,
        "r03_mean_delta": 1,
        "r03_creep_delta": 0.5,
        "r03_restricted_count": 1,
        "r03_morning_level_delta": 1,
        "r03_morning_duration_step": 1,
        "r03_morning_duration_latest_min": "lt15",
        "r04_single_entry_features": 1,
        "r05_count": 1,
        "r06_pain_delta": 1,
        "r06_during_max_threshold": 4,
        "r06_during_max_count": 1,
        "r06_rise_delta": 1,
        "r06_rise_times": 1,
        "r06_stopped_count": 1,
        "r06_global_change_max": -1,
        "r07_distinct_rules": 1,
        "r08_psfs_drop": 1,
        "r08_psfs_consecutive": 1,
        "r08_odi_points": 4,
        "r08_peg_rise": 1,
        "r08_peg_consecutive": 1,
        "r10_count": 1,
        "r12_stretch_count": 1,
        "r12_rise_delta": 1,
        "r12_rise_sessions": 2,
        "r12_rise_level": 2,
        "r12_alternating_reports": 2,
        "r12_leg_pain_once": 3,
        "r12_leg_pain_delta": 1,
        "r12_leg_pain_min": 1,
        "r12_leg_pain_consecutive": 1,
        "baseline_sessions": 2,
        "baseline_weeklies": 1,
    }
)
STRICT = Params.from_dict(
    {
        "r03_stiffer_count": 3,
        "r03_mean_delta": 3,
        "r03_creep_delta": 4,
        "r06_rise_delta": 3,
        "r06_rise_times": 3,
        "r07_distinct_rules": 3,
        "r08_psfs_drop": 3,
        "r12_rise_sessions": 4,
        "baseline_sessions": 5,
        "baseline_weeklies": 3,
    }
)
PARAMS = {"default": DEFAULT_PARAMS, "sensitive": SENSITIVE, "strict": STRICT}

SAFETY = ("saddle_numbness", "bladder_change", "foot_drop_or_leg_weakness")
SYSTEMIC = ("fever_or_unwell", "fall_or_injury", "night_pain_unrelenting")
DURATIONS = ("none", "lt15", "15_30", "30_60", "60_120", "gt120")
QUALITIES = ("pins_needles", "numbness", "burning", "shooting")


class History:
    """A random window: a quiet baseline with a few features switched on at random rates."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ids = iter(range(1, 10_000))
        # Each feature is absent, rare or common in this window, so that many windows lack most of them.
        self.rate = {name: rng.choice((0, 0, 0, 0.05, 0.3, 0.8)) for name in self.FEATURES}
        self.noise = rng.choice((0, 1, 1, 2))
        self.base = {"pain": rng.randint(0, 4), "stiff": rng.randint(0, 4), "leg": rng.randint(0, 3)}

    FEATURES = (
        "safety",
        "systemic",
        "stiffer",
        "restricted",
        "thigh_side",
        "thigh_both",
        "neck",
        "stopped",
        "during_max",
        "pain_rise",
        "stiff_rise",
        "flare",
        "global_worse",
        "morning",
        "leg",
        "psfs_drop",
        "peg_rise",
    )

    def on(self, feature: str) -> bool:
        return self.rng.random() < self.rate[feature]

    def jitter(self, value: int, extra: int = 0, hi: int = 10) -> int:
        return max(0, min(hi, value + self.rng.randint(-self.noise, self.noise) + extra))

    def when(self, days_ago: int, hour: int) -> tuple[datetime, date, datetime | None]:
        occurred = datetime.combine(TODAY - timedelta(days=days_ago), time(hour), tzinfo=UTC)
        late = self.rng.random() < 0.1
        submitted = occurred + timedelta(days=self.rng.randint(1, 20)) if late else None
        return occurred, occurred.date(), submitted

    def session(self, days_ago: int, rising: int) -> PostWorkout:
        rng = self.rng
        occurred, local, submitted = self.when(days_ago, rng.choice((7, 12, 18)))
        fields: dict[str, Any] = {
            "session_completed": "stopped_symptoms" if self.on("stopped") else rng.choice(("full", "partial")),
            "back_pain_now": self.jitter(self.base["pain"], rising if self.on("pain_rise") else 0),
            "back_pain_during_max": rng.randint(6, 9) if self.on("during_max") else self.jitter(self.base["pain"] + 1),
            "back_stiffness_now": self.jitter(self.base["stiff"], rising if self.on("stiff_rise") else 0),
            "stiffness_change": "stiffer" if self.on("stiffer") else rng.choice(("looser", "same")),
            "spine_check": "clearly_restricted" if self.on("restricted") else rng.choice(("free", "not_done")),
            "neck_symptoms": "none",
            "thigh_symptoms": "none",
        }
        if self.on("neck"):
            fields["neck_symptoms"] = rng.choice(("tension", "pain", "pain_into_arm"))
            fields["neck_level"] = rng.randint(1, 9)
        side = None
        if self.on("thigh_side"):
            side = rng.choice(("left", "right"))
        elif self.on("thigh_both"):
            side = "both"
        if side is not None:
            fields["thigh_symptoms"] = side
            fields["thigh_level"] = rng.randint(1, 7)
            fields["thigh_stretch_response"] = rng.choice(("eases", "eases", "no_change", "worse", "not_tried"))
            fields["thigh_below_knee"] = rng.random() < 0.3
            fields["thigh_nerve_qualities"] = tuple(rng.sample(QUALITIES, rng.choice((0, 0, 1, 2))))
        if self.on("safety"):
            fields["safety_screen"] = tuple(rng.sample(SAFETY, rng.randint(1, 2)))
        return PostWorkout(id=next(self.ids), occurred_at=occurred, local_date=local, submitted_at=submitted, **fields)

    def weekly(self, days_ago: int, rising: int) -> Weekly:
        rng = self.rng
        occurred, local, submitted = self.when(days_ago, 9)
        psfs = self.jitter(7, -rising if self.on("psfs_drop") else 0)
        peg = self.jitter(2, rising if self.on("peg_rise") else 0)
        morning = self.on("morning")
        fields: dict[str, Any] = {
            "back_pain_avg_7d": self.jitter(self.base["pain"], rising if self.on("pain_rise") else 0),
            "leg_pain_avg_7d": self.jitter(self.base["leg"], rising + 2 if self.on("leg") else 0),
            "peg_pain": peg,
            "peg_enjoyment": self.jitter(peg),
            "peg_activity": peg,
            "morning_stiffness_level": self.jitter(2, rising if morning else 0),
            "morning_stiffness_duration": rng.choice(DURATIONS[3:]) if morning else rng.choice(DURATIONS[:2]),
            "global_change": rng.randint(-3, -2) if self.on("global_worse") else rng.randint(0, 2),
            "flare_7d": self.on("flare"),
            "exercise_days_7d": rng.randint(0, 6),
            "psfs_1": psfs,
            "psfs_2": self.jitter(psfs),
            "psfs_3": psfs,
        }
        if fields["morning_stiffness_duration"] in DURATIONS[3:]:
            fields["stiffness_eases_with_movement"] = rng.random() < 0.7
        if self.on("systemic"):
            fields["systemic_flags"] = tuple(rng.sample(SYSTEMIC, 1))
        if self.on("safety"):
            fields["safety_screen"] = (rng.choice(SAFETY),)
        return Weekly(id=next(self.ids), occurred_at=occurred, local_date=local, submitted_at=submitted, **fields)

    def context(self) -> PatientContext:
        rng = self.rng
        span = rng.randint(20, 80)
        pws: list[PostWorkout] = []
        wks: list[Weekly] = []
        day = span
        while day >= 0:
            rising = (span - day) // 10  # features that grow do so over the window
            pws.append(self.session(day, rising))
            if day % 7 == 0:
                wks.append(self.weekly(day, rising))
            day -= rng.choice((1, 2, 2, 3, 5))
        reports = []
        if self.on("safety") or self.on("systemic"):
            occurred, local, submitted = self.when(rng.randint(0, span), 20)
            reports.append(
                RedFlagReport(
                    id=next(self.ids),
                    kind="post_workout",
                    occurred_at=occurred,
                    local_date=local,
                    submitted_at=submitted,
                    safety_screen=(rng.choice(SAFETY),) if rng.random() < 0.5 else (),
                    systemic_flags=(rng.choice(SYSTEMIC),),
                )
            )
        scores = [
            OutcomeScore(instrument="ODI", score=float(rng.randint(10, 40)), local_date=TODAY - timedelta(days=d))
            for d in sorted(rng.sample(range(span + 1), rng.choice((0, 0, 1, 2, 3))), reverse=True)
        ]
        rules = sorted(JUDGED)
        resolutions = {
            (rule_id, qualifier): Resolution(
                at=datetime.combine(TODAY - timedelta(days=rng.randint(0, span)), time(20), tzinfo=UTC),
                criteria=tuple(rng.sample("ABCDE", rng.randint(0, 2))),
                severity=rng.choice(("routine", "high")),
                peaks={"back_pain_now": rng.randint(0, 8), "thigh_level": rng.randint(0, 8)},
            )
            for rule_id, qualifier in rng.sample(
                [(r, "") for r in rules] + [("R-04", "left"), ("R-04", "right"), ("R-12", "both")],
                rng.choice((0, 0, 1, 3)),
            )
        }
        firings = [
            Firing(rule_id, TODAY - timedelta(days=d), NOW - timedelta(days=d))
            for rule_id, d in zip(
                rng.sample(["R-03", "R-04", "R-05", "R-06", "R-12", "R-01"], rng.choice((0, 0, 1, 2))),
                (rng.randint(0, 20), rng.randint(0, 20)),
                strict=False,
            )
        ]
        return PatientContext(
            phase=rng.choice(("treatment", "stabilization", "stabilization")),
            phase_since=TODAY - timedelta(days=rng.randint(0, span + 10)),
            today=TODAY,
            now=NOW,
            post_workouts=pws,
            weeklies=wks,
            red_flag_reports=reports,
            outcome_scores=scores,
            recent_firings=firings,
            resolutions=resolutions,
            last_progression_date=TODAY - timedelta(days=rng.randint(0, 90)),
            fracture_risk=rng.random() < 0.2,
        )


def points(context: PatientContext) -> list[datetime]:
    """Every instant the scan may judge as of: each entry, report, and each score's day end."""
    found = [e.occurred_at for e in (*context.post_workouts, *context.weeklies, *context.red_flag_reports)]
    found += [min(datetime.combine(s.local_date, time.max, tzinfo=UTC), NOW) for s in context.outcome_scores]
    return sorted(found)


def judged_as_of(context: PatientContext, at: datetime) -> PatientContext:
    return replace(context, as_of=at, today=at.date())


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_a_rule_screened_out_finds_nothing_at_any_point(name: str) -> None:
    params = PARAMS[name]
    rng = random.Random(f"screening-{name}")
    fired: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    judgments = 0
    for _ in range(160):
        context = History(rng).context()
        possible = possible_rules(context, params)
        for at in points(context):
            as_of = judged_as_of(context, at)
            every = evaluate(as_of, params, only=JUDGED)
            screened = evaluate(as_of, params, only=JUDGED & possible)
            assert screened == every, (name, sorted(JUDGED - possible), [f.rule_id for f in every])
            fired.update({f.rule_id for f in every})
            skipped.update(JUDGED - possible)
            judgments += 1
    # The windows must exercise the screen both ways: each rule fires somewhere and is screened out elsewhere
    # (a sensitive clinic's R-06 can fire on ordinary day-to-day noise, so it is never screened out there).
    for rule_id in sorted(JUDGED):
        if params.enabled(rule_id):
            assert fired[rule_id] > 0, (name, rule_id)
        assert skipped[rule_id] > 0 or (name, rule_id) == ("sensitive", "R-06"), (name, rule_id)
    assert sum(skipped.values()) > judgments * 3, (name, sum(skipped.values()) / judgments)


def test_a_quiet_window_needs_no_rule_but_r11() -> None:
    history = History(random.Random(1))
    history.rate = dict.fromkeys(History.FEATURES, 0.0)
    history.noise = 0
    context = replace(history.context(), resolutions={}, recent_firings=(), outcome_scores=())
    assert possible_rules(context, DEFAULT_PARAMS) == {"R-11"}


def test_every_red_flag_source_passes_the_screen() -> None:
    history = History(random.Random(2))
    history.rate = dict.fromkeys(History.FEATURES, 0.0)
    quiet = replace(history.context(), resolutions={}, recent_firings=(), outcome_scores=())
    weekly = quiet.weeklies[-1]
    session = quiet.post_workouts[-1]
    report = RedFlagReport(
        id=9_999, kind="weekly", occurred_at=NOW, local_date=TODAY, systemic_flags=("fall_or_injury",)
    )
    cases = {
        "R-01": replace(quiet, post_workouts=[*quiet.post_workouts[:-1], replace(session, safety_screen=SAFETY[:1])]),
        "R-02": replace(quiet, weeklies=[*quiet.weeklies[:-1], replace(weekly, systemic_flags=SYSTEMIC[:1])]),
    }
    for rule_id, context in cases.items():
        assert rule_id in possible_rules(context, DEFAULT_PARAMS)
    assert {"R-01", "R-02"} - possible_rules(replace(quiet, red_flag_reports=[report]), DEFAULT_PARAMS) == {"R-01"}


def _phase_context(*entries: PostWorkout | Weekly) -> PatientContext:
    return ctx(*entries, phase="stabilization", phase_since=day(70))


# One relative arm at a time, exactly at its threshold, every other arm of the rule quiet: the screen's bound for
# that arm alone must let the rule through.
SINGLE_ARMS = {
    "R-06 A: weekly back pain at baseline + 2": (
        "R-06",
        ["A"],
        [wk(63, back_pain_avg_7d=2), wk(56, back_pain_avg_7d=2), wk(7, back_pain_avg_7d=4)],
    ),
    "R-03 D: morning stiffness one category above the baseline, twice": (
        "R-03",
        ["D"],
        [
            wk(63, morning_stiffness_duration="lt15"),
            wk(56, morning_stiffness_duration="lt15"),
            wk(14, morning_stiffness_duration="15_30"),
            wk(7, morning_stiffness_duration="15_30"),
        ],
    ),
    "R-03 E: a slow creep below B's bar": (
        "R-03",
        ["E"],
        [
            pw(69, back_stiffness_now=2),
            pw(68, back_stiffness_now=2),
            pw(67, back_stiffness_now=2),
            pw(20, back_stiffness_now=2),
            pw(19, back_stiffness_now=3),
            pw(13, back_stiffness_now=3),
            pw(6, back_stiffness_now=3),
            pw(5, back_stiffness_now=3),
            pw(1, back_stiffness_now=5),
        ],
    ),
    "R-12 F: weekly leg pain at baseline + 2, twice": (
        "R-12",
        ["F"],
        [wk(63, leg_pain_avg_7d=1), wk(56, leg_pain_avg_7d=1), wk(14, leg_pain_avg_7d=3), wk(7, leg_pain_avg_7d=3)],
    ),
}


@pytest.mark.parametrize("case", sorted(SINGLE_ARMS))
def test_a_single_relative_arm_at_its_threshold_passes_the_screen(case: str) -> None:
    rule_id, criteria, entries = SINGLE_ARMS[case]
    context = _phase_context(*entries)
    newest = max(e.occurred_at for e in entries)
    found = [f for f in evaluate(judged_as_of(context, newest), DEFAULT_PARAMS) if f.rule_id == rule_id]
    assert [list(f.criteria) for f in found] == [criteria]
    assert rule_id in possible_rules(context, DEFAULT_PARAMS)
