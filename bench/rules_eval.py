"""Rules evaluations per second: the pure engine, no Django, no database.

Builds contexts of 30 post-workout sessions and 8 weeklies per patient (quiet histories and the
warning patterns of RULES.md in various proportions), then calls the ruleset's ``evaluate`` on them N
times, as the v2 scan does: as of the newest entry (``as_of``), with the wall clock (``now``) an hour later.
Measures the latest ruleset (v2) unless ``--version 1`` asks for the frozen v1 engine.

    python -m bench.rules_eval [--evaluations 20000] [--patients 500] [--seed 1] [--version 2]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

from assessments.rules import LATEST_VERSION, RULESETS, OutcomeScore, PatientContext, PostWorkout, Weekly

TODAY = date(2026, 6, 17)
SESSIONS = 30
WEEKLIES = 8
# Tails of the newest sessions, oldest first (the last one is the newest); the rest of the history is quiet.
PATTERNS: dict[str, list[dict[str, object]]] = {
    "quiet": [],
    "soreness": [{"thigh_symptoms": "both", "thigh_level": 3, "thigh_stretch_response": "eases"}] * 3,
    "stiffening": [
        {"back_stiffness_now": 4, "stiffness_change": "stiffer"},
        {"back_stiffness_now": 5, "stiffness_change": "stiffer", "spine_check": "clearly_restricted"},
        {"back_stiffness_now": 6, "stiffness_change": "stiffer", "spine_check": "clearly_restricted"},
    ],
    "thigh_neural": [
        {"thigh_symptoms": "right", "thigh_level": 3, "thigh_stretch_response": "no_change"},
        {
            "thigh_symptoms": "right",
            "thigh_level": 4,
            "thigh_stretch_response": "worse",
            "thigh_below_knee": True,
            "thigh_nerve_qualities": ("pins_needles",),
        },
    ],
    "neck_strain": [{"neck_symptoms": "tension", "neck_level": 3}, {"neck_symptoms": "pain", "neck_level": 6}],
    "pain_returning": [
        {"back_pain_now": 4, "back_pain_during_max": 6},
        {"back_pain_now": 5, "back_pain_during_max": 7},
    ],
    "red_flag": [{"safety_screen": ("saddle_numbness",)}],
    # v2 patterns: nerve signs in both legs, and stiffness creeping up slowly over three weeks.
    "both_legs": [
        {"thigh_symptoms": "both", "thigh_level": 3, "thigh_stretch_response": "no_change", "thigh_below_knee": False},
        {"thigh_symptoms": "both", "thigh_level": 4, "thigh_stretch_response": "worse", "thigh_below_knee": True},
    ],
    "slow_creep": [{"back_stiffness_now": level} for level in (3, 3, 3, 3, 4, 4, 4, 5, 5, 5)],
}
# Most patients are quiet, as in a real caseload.
WEIGHTS = {
    "quiet": 60,
    "soreness": 15,
    "stiffening": 5,
    "thigh_neural": 5,
    "neck_strain": 5,
    "pain_returning": 5,
    "red_flag": 3,
    "both_legs": 1,
    "slow_creep": 1,
}


def _session(rng: random.Random, entry_id: int, day: date, overrides: dict[str, object]) -> PostWorkout:
    values: dict[str, object] = {
        "session_completed": "full",
        "back_pain_now": rng.randint(0, 2),
        "back_pain_during_max": rng.randint(1, 3),
        "back_stiffness_now": rng.randint(1, 3),
        "stiffness_change": rng.choice(("looser", "same")),
        "spine_check": rng.choice(("free", "free", "slightly_restricted")),
        "neck_symptoms": "none",
        "thigh_symptoms": "none",
    }
    values.update(overrides)
    at = datetime.combine(day, clock(18, 30), tzinfo=UTC)
    return PostWorkout(id=entry_id, occurred_at=at, local_date=day, **values)  # type: ignore[arg-type]


def _weekly(rng: random.Random, entry_id: int, day: date) -> Weekly:
    at = datetime.combine(day, clock(9, 0), tzinfo=UTC)
    return Weekly(
        id=entry_id,
        occurred_at=at,
        local_date=day,
        back_pain_avg_7d=rng.randint(1, 3),
        leg_pain_avg_7d=rng.randint(0, 1),
        peg_pain=rng.randint(1, 3),
        peg_enjoyment=rng.randint(1, 3),
        peg_activity=rng.randint(1, 3),
        morning_stiffness_level=rng.randint(1, 3),
        morning_stiffness_duration=rng.choice(("none", "lt15", "15_30")),
        global_change=rng.randint(0, 2),
        flare_7d=False,
        exercise_days_7d=rng.randint(3, 5),
        psfs_1=rng.randint(6, 8),
        psfs_2=rng.randint(6, 8),
        psfs_3=rng.randint(6, 8),
    )


def build_context(rng: random.Random, pattern: str, first_id: int) -> PatientContext:
    """One patient: 30 sessions every other day up to today, 8 Monday weeklies, two ODI scores."""
    tail = PATTERNS[pattern]
    sessions = []
    for index in range(SESSIONS):
        day = TODAY - timedelta(days=2 * (SESSIONS - 1 - index))
        from_end = SESSIONS - index
        overrides = tail[len(tail) - from_end] if from_end <= len(tail) else {}
        sessions.append(_session(rng, first_id + index, day, overrides))
    monday = TODAY - timedelta(days=TODAY.weekday())
    weeklies = [
        _weekly(rng, first_id + SESSIONS + i, monday - timedelta(weeks=WEEKLIES - 1 - i)) for i in range(WEEKLIES)
    ]
    newest = sessions[-1].occurred_at
    return PatientContext(
        phase="stabilization",
        phase_since=TODAY - timedelta(days=40),
        today=TODAY,
        as_of=newest,
        now=newest + timedelta(hours=1),
        post_workouts=sessions,
        weeklies=weeklies,
        outcome_scores=[
            OutcomeScore(instrument="ODI", score=22, local_date=TODAY - timedelta(days=35), id=1),
            OutcomeScore(instrument="ODI", score=18, local_date=TODAY - timedelta(days=5), id=2),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=20_000, help="calls of evaluate (default 20000)")
    parser.add_argument("--patients", type=int, default=500, help="distinct contexts cycled through (default 500)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is reported (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--version", type=int, default=LATEST_VERSION, choices=sorted(RULESETS))
    args = parser.parse_args()
    ruleset = RULESETS[args.version]
    evaluate, params = ruleset.evaluate, ruleset.default_params

    rng = random.Random(args.seed)
    names = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=args.patients)
    contexts = [build_context(rng, name, first_id=i * 100) for i, name in enumerate(names)]
    findings = [len(evaluate(c, params)) for c in contexts]  # warm-up, and what the mix produces
    calls = [contexts[i % len(contexts)] for i in range(args.evaluations)]

    runs = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        for context in calls:
            evaluate(context, params)
        runs.append(time.perf_counter() - started)
    best = min(runs)

    print(f"ruleset: core v{ruleset.version}")
    print(f"contexts: {args.patients} ({SESSIONS} sessions + {WEEKLIES} weeklies + 2 ODI scores each)")
    print("mix: " + ", ".join(f"{n} {names.count(n)}" for n in WEIGHTS))
    print(f"findings per evaluation: mean {statistics.mean(findings):.2f}, max {max(findings)}")
    median = statistics.median(runs)
    print(f"evaluations: {args.evaluations} x {args.repeats} runs, best {best:.3f} s (median {median:.3f} s)")
    print(f"evaluations/s: {args.evaluations / best:,.0f}")
    print(f"microseconds per evaluation: {best / args.evaluations * 1e6:.1f}")


if __name__ == "__main__":
    main()
