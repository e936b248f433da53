"""The scan reads what the rules read, not the whole phase (issue 10): the same judgments as the whole history.

Random histories (long and short phases, sparse and dense diaries, red flags, falls, resolved alerts, unscanned
entries) are judged at every point a scan judges, and R-11 as of now, once with the windows the scan loads and
once with every entry since 2000: the findings must be the same, entry for entry.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.db.models import F
from django.utils import timezone

from assessments import questionnaires as q
from assessments.demo import QUIET_SESSION, QUIET_WEEKLY, _entry
from assessments.loader import ClinicRulesets, PatientWindow, load_windows
from assessments.models import Alert, Entry, RedFlagReport, RuleSet
from assessments.scanning import R11, _new_points
from programs.models import Phase
from tests.assessments.factories import AlertFactory
from tests.factories import EnrollmentFactory, OutcomeScoreFactory, PatientFactory

pytestmark = pytest.mark.usefixtures("require_postgres")


def _codes(kind: str, name: str) -> list[str]:
    return [c.code for f in q.fields_of(kind) if f.name == name for c in f.choices]


SCREEN = _codes(q.POST_WORKOUT, "safety_screen")
FLAGS = _codes(q.WEEKLY, "systemic_flags")


def _session(rng: random.Random) -> dict[str, Any]:
    thigh = rng.choice(["none", "none", "none", "left", "right", "both"])
    return {
        **QUIET_SESSION,
        "session_completed": rng.choice(["full", "full", "partial", "stopped_symptoms"]),
        "back_pain_now": rng.randint(0, 8),
        "back_pain_during_max": rng.randint(0, 9),
        "back_stiffness_now": rng.randint(0, 8),
        "stiffness_change": rng.choice(["looser", "same", "stiffer"]),
        "spine_check": rng.choice(["free", "slightly_restricted", "clearly_restricted", "not_done"]),
        "neck_symptoms": (neck := rng.choice(["none", "none", "tension", "pain"])),
        "neck_level": rng.randint(1, 8) if neck != "none" else None,
        "thigh_symptoms": thigh,
        "thigh_level": rng.randint(1, 8) if thigh != "none" else None,
        "thigh_stretch_response": rng.choice(["eases", "no_change", "worse"]) if thigh != "none" else None,
        "thigh_below_knee": rng.random() < 0.3 if thigh != "none" else None,
        "thigh_nerve_qualities": rng.sample(["pins_needles", "numbness", "burning"], rng.randint(0, 2))
        if thigh != "none"
        else None,
        "safety_screen": [rng.choice(SCREEN)] if rng.random() < 0.04 else [],
    }


def _weekly(rng: random.Random) -> dict[str, Any]:
    return {
        **QUIET_WEEKLY,
        "back_pain_avg_7d": rng.randint(0, 8),
        "leg_pain_avg_7d": rng.randint(0, 6),
        "peg_pain": rng.randint(0, 9),
        "morning_stiffness_level": rng.randint(0, 8),
        "morning_stiffness_duration": rng.choice(["none", "lt15", "15_30", "30_60", "60_120"]),
        "stiffness_eases_with_movement": rng.choice([None, True, False]),
        "exercise_days_7d": rng.randint(0, 7),
        "psfs_1": rng.randint(2, 9),
        "psfs_2": rng.randint(2, 9),
        "psfs_3": rng.randint(2, 9),
        "systemic_flags": [rng.choice(FLAGS)] if rng.random() < 0.05 else [],
        "safety_screen": [rng.choice(SCREEN)] if rng.random() < 0.03 else [],
    }


def _history(rng: random.Random, therapist: Any, now: dt.datetime) -> int:
    """One patient with a random history; returns the patient's id."""
    patient = PatientFactory(therapist=therapist)
    tz = patient.clinic.tz
    today = now.astimezone(tz).date()
    phase_since = today - dt.timedelta(days=rng.choice([3, 20, 60, 120, 200, 280, 300, 420]))
    started = phase_since - dt.timedelta(days=rng.choice([10, 40, 90]))
    enrollment = EnrollmentFactory(
        patient=patient, phase=Phase.STABILIZATION, phase_since=phase_since, started_on=started
    )
    rows: list[Entry] = []
    gap = rng.choice([1, 2, 3, 9, 25])  # a diligent, an irregular or a sparse diarist
    day = started
    while day <= today:
        at = dt.datetime.combine(day, dt.time(rng.randint(6, 21), rng.randint(0, 59)), tzinfo=tz)
        if at < now:
            phase = Phase.STABILIZATION if day >= phase_since else Phase.TREATMENT
            rows.append(_entry(patient, enrollment, phase, q.POST_WORKOUT, at, _session(rng)))
            if day.weekday() == 0 and rng.random() < 0.8:
                rows.append(_entry(patient, enrollment, phase, q.WEEKLY, at - dt.timedelta(hours=1), _weekly(rng)))
        day += dt.timedelta(days=rng.randint(1, gap) if rng.random() > 0.05 else rng.randint(30, 80))
    Entry.objects.bulk_create(rows)
    Entry.objects.filter(patient=patient).update(submitted_at=F("occurred_at") + dt.timedelta(minutes=5))
    stored = list(Entry.objects.filter(patient=patient).order_by("occurred_at"))
    for e in rng.sample(stored, len(stored) // 10):  # paper diaries typed in up to 30 days later
        late = min(e.occurred_at + dt.timedelta(days=rng.randint(1, 30)), now - dt.timedelta(minutes=1))
        Entry.objects.filter(pk=e.pk).update(submitted_at=late)
    unscanned = {e.pk for e in stored[len(stored) - rng.randint(0, min(6, len(stored))) :]}
    if rng.random() < 0.3:  # left unscanned while the scanner was down, not the newest
        unscanned |= {
            e.pk for e in rng.sample(stored, min(2, len(stored))) if now - e.occurred_at < dt.timedelta(days=40)
        }
    Entry.objects.filter(patient=patient).exclude(pk__in=unscanned).update(scanned_at=now)
    recent = [e for e in stored if now - e.occurred_at < dt.timedelta(days=29)]
    if rng.random() < 0.3 and recent:  # a late diary entry (at most 30 days back), submitted an hour ago
        late = recent[rng.randrange(len(recent))]
        Entry.objects.filter(pk=late.pk).update(submitted_at=now - dt.timedelta(hours=1), scanned_at=None)
    if rng.random() < 0.3:  # a refused submission with a fall, at some point of the phase, perhaps not yet scanned
        at = now - dt.timedelta(days=rng.randint(0, 200))
        report = RedFlagReport.objects.create(
            patient=patient, kind=q.WEEKLY, occurred_at=at, systemic_flags=["fall_or_injury"]
        )
        scanned = now if rng.random() < 0.7 else None
        RedFlagReport.objects.filter(pk=report.pk).update(submitted_at=at, scanned_at=scanned)
    if rng.random() < 0.3:  # a clinician's ODI, perhaps not yet scanned
        OutcomeScoreFactory(
            patient=patient, score=rng.randint(5, 60), recorded_on=today - dt.timedelta(days=rng.randint(0, 25)),
            scanned_at=now if rng.random() < 0.5 else None,
        )  # fmt: skip
    for key in rng.sample(RESOLVABLE, rng.randint(0, 3)):
        # Resolved recently or long ago (before the reach of the thresholds: late entries after it still count).
        resolved = now - dt.timedelta(days=rng.choice([rng.randint(1, 50), rng.randint(60, 250)]))
        AlertFactory(
            patient=patient, therapist=therapist, rule_id=key[0], qualifier=key[1], status=Alert.Status.RESOLVED,
            resolved_at=resolved, raised_at=resolved - dt.timedelta(days=3), criteria=["A"],
        )  # fmt: skip
    return int(patient.pk)


RESOLVABLE = [
    ("R-03", ""), ("R-04", "left"), ("R-04", "right"), ("R-05", ""), ("R-06", ""), ("R-12", "both"),
    ("R-12", "alternating"), ("R-12", "weekly_leg_pain"), ("R-08", ""), ("R-10", ""),
]  # fmt: skip


def _judgments(window: PatientWindow, rulesets: ClinicRulesets, points: list[Any]) -> list[Any]:
    active = rulesets.of(window.patient.clinic_id)
    found = [
        active.engine.evaluate(window.context(as_of=at, now=window.now), active.params, only=only)
        for at, only in points
    ]
    found.append(active.engine.evaluate(window.context(now=window.now), active.params, only=frozenset({R11})))
    return found


# A clinic's own thresholds move what the rules read: longer windows of days, longer runs of sessions, a wider
# fall window, more blocks of slow creep, a later baseline.
OVERRIDES = {
    "defaults": {},
    "longer": {
        "r02_fall_window_days": 14, "r06_rise_times": 4, "r05_of_last": 8, "r05_window_days": 40,
        "r04_alternating_days": 30, "r03_block_days": 10, "r03_max_blocks": 8, "baseline_sessions": 5,
        "baseline_weeklies": 3, "r12_alternating_days": 35,
    },
    "shorter": {"r02_fall_window_days": 3, "r06_rise_times": 1, "r04_recurrence_days": 10, "r03_max_blocks": 4},
}  # fmt: skip
CASES = [("defaults", seed) for seed in range(1, 11)] + [
    (name, seed) for name in ("longer", "shorter") for seed in range(1, 7)
]


@pytest.mark.parametrize(("thresholds", "seed"), CASES)
def test_the_windows_a_scan_loads_judge_as_the_whole_history_does(world: Any, thresholds: str, seed: int) -> None:
    if OVERRIDES[thresholds]:
        RuleSet.objects.create(clinic=world.clinic, version=2, params=OVERRIDES[thresholds], is_active=True)
    rng = random.Random(seed)
    now = timezone.now()
    ids = [_history(rng, world.therapist, now) for _ in range(12)]
    rulesets = ClinicRulesets()
    for name, value in OVERRIDES[thresholds].items():
        assert getattr(rulesets.of(world.clinic.pk).params, name) == value

    loaded = {w.patient.pk: w for w in load_windows(ids, now=now, rulesets=rulesets)}
    # Every entry since each window's start (``since`` widens no window: it only asks for the whole of each).
    whole = {w.patient.pk: w for w in load_windows(ids, now=now, since=dt.date.max, rulesets=rulesets)}

    judged = 0
    for pid in ids:
        assert sorted(loaded[pid].unscanned_ids) == sorted(whole[pid].unscanned_ids)
        points = _new_points(whole[pid], rulesets.of(whole[pid].patient.clinic_id))
        got, expected = _judgments(loaded[pid], rulesets, points), _judgments(whole[pid], rulesets, points)
        for i, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert a == b, (pid, points[i] if i < len(points) else "R-11 as of now")
        judged += len(points)
    assert judged > 0
    # And reading less was the point: the long phases are not read whole.
    assert sum(len(w.entries) for w in loaded.values()) < sum(len(w.entries) for w in whole.values())
