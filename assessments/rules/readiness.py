"""The readiness check for moving a patient from treatment to core stabilization (RULES.md v2, criteria 1-7).

Evaluated on demand; each criterion is `pass`, `fail` or `unknown` with the values it was judged on. A failing
or unknown criterion does not block the move, but the caller then requires a recorded reason.

Readings of RULES.md:

1. Fails on any unresolved alert of severity urgent or high (passed in by the caller), or any entry or (v2)
   red-flag report with a safety-screen item (either questionnaire, v2) or a systemic flag dated in the last
   28 days. Never unknown.
2. The latest 2 weeklies both have `back_pain_avg_7d <= 3` and (v2) `leg_pain_avg_7d <= 2`; unknown with fewer
   than 2 weeklies.
3. Fails when a weekly dated in the last 14 days reports a flare or `global_change < 0`; passes when there are
   enough weeklies to cover the 14 days (14 / 7 = 2) and none fails; otherwise unknown.
4. Passes when the latest clinician ODI is <= 20, or the latest weekly PSFS score (v2 score) is >= 7, or the
   latest clinician PSFS score is >= 7; fails when at least one of these exists and none passes; unknown when
   none exists.
5, 7. The therapist's rating: True pass, False fail, None unknown.
6. Fails when a leg session in the last 14 days has >= 1 neural feature (R-04's list for `left`/`right`, and
   (v2) the same list for `both`: R-12's signs), or the therapist's neurological screen is not clear; passes
   when there were sessions in the window, none had a feature and the screen is clear; otherwise unknown (no
   sessions to judge, or the screen not yet done). v2's narrowed "leg above back pain" feature applies.

Entries are those visible as of ``context.today`` (and ``context.as_of`` when given).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Final

from .params import DEFAULT_PARAMS, Params
from .prepare import Prepared
from .thigh import neural_features
from .types import (
    SEVERITY_HIGH,
    SEVERITY_URGENT,
    AlertSummary,
    CriterionResult,
    JsonDict,
    OutcomeScore,
    PatientContext,
    PostWorkout,
    ReadinessReport,
    RedFlagReport,
    TherapistRatings,
    Weekly,
)

PASS: Final = "pass"  # noqa: S105 - a status, not a password
FAIL: Final = "fail"
UNKNOWN: Final = "unknown"


def check_readiness(
    context: PatientContext,
    params: Params = DEFAULT_PARAMS,
    *,
    unresolved_alerts: Iterable[AlertSummary],
    ratings: TherapistRatings,
) -> ReadinessReport:
    """Judge criteria 1-7 of the treatment -> stabilization readiness check as of ``context.today``."""
    p = Prepared(context, params)
    today, pws, wks, scores = p.today, p.pws, p.wks, p.scores
    return ReadinessReport(
        criteria=(
            _no_alerts_or_red_flags(today, p, unresolved_alerts, params),
            _back_pain_low(wks, params),
            _stable(today, wks, params),
            _function(wks, scores, params),
            _rated(
                5,
                "low_irritability",
                "Low irritability: exercise symptoms settle within 24 h",
                ratings.low_irritability,
            ),
            _no_neural_signs(today, pws, ratings.neuro_screen_clear, params),
            _rated(
                7,
                "motor_control",
                "Motor control: drawing-in and craniocervical flexion without superficial substitution",
                ratings.motor_control_clear,
            ),
        )
    )


def _start(today: date, days: int) -> date:
    return today - timedelta(days=days - 1)


def _red_flag(kind: str, source: PostWorkout | Weekly | RedFlagReport, items: list[str]) -> JsonDict:
    return {"kind": kind, "entry_id": source.id, "date": source.local_date.isoformat(), "items": items}


def _no_alerts_or_red_flags(
    today: date, p: Prepared, unresolved_alerts: Iterable[AlertSummary], params: Params
) -> CriterionResult:
    blocking = [a for a in unresolved_alerts if a.severity in (SEVERITY_URGENT, SEVERITY_HIGH)]
    start = _start(today, params.readiness_red_flag_days)
    red_flags: list[JsonDict] = [
        _red_flag("post_workout", e, list(e.safety_screen)) for e in p.pws if e.local_date >= start and e.safety_screen
    ]
    red_flags += [
        _red_flag("weekly", e, [*e.safety_screen, *e.systemic_flags])
        for e in p.wks
        if e.local_date >= start and (e.safety_screen or e.systemic_flags)
    ]
    red_flags += [
        _red_flag("red_flag_report", r, [*r.safety_screen, *r.systemic_flags])
        for r in p.reports
        if r.local_date >= start and (r.safety_screen or r.systemic_flags)
    ]
    return CriterionResult(
        number=1,
        code="no_alerts_or_red_flags",
        label=f"No unresolved urgent or high alert, and no red flag in the last {params.readiness_red_flag_days} days",
        status=FAIL if blocking or red_flags else PASS,
        values={
            "unresolved_alerts": [
                {"rule_id": a.rule_id, "severity": a.severity, "qualifier": a.qualifier} for a in blocking
            ],
            "red_flags": red_flags,
            "window_days": params.readiness_red_flag_days,
        },
    )


def _back_pain_low(wks: list[Weekly], params: Params) -> CriterionResult:
    n = params.readiness_pain_consecutive
    last = wks[-n:]
    if len(last) < n:
        status = UNKNOWN
    elif all(
        e.back_pain_avg_7d <= params.readiness_pain_max and e.leg_pain_avg_7d <= params.readiness_leg_pain_max
        for e in last
    ):
        status = PASS
    else:
        status = FAIL
    return CriterionResult(
        number=2,
        code="back_pain_low",
        label=(
            f"Weekly back pain <= {params.readiness_pain_max} and leg pain <= {params.readiness_leg_pain_max} "
            f"on {n} consecutive weeklies"
        ),
        status=status,
        values={
            "series": [
                {
                    "entry_id": e.id,
                    "date": e.local_date.isoformat(),
                    "back_pain_avg_7d": e.back_pain_avg_7d,
                    "leg_pain_avg_7d": e.leg_pain_avg_7d,
                }
                for e in last
            ],
            "at_most": params.readiness_pain_max,
            "leg_pain_at_most": params.readiness_leg_pain_max,
            "consecutive": n,
        },
    )


def _stable(today: date, wks: list[Weekly], params: Params) -> CriterionResult:
    days = params.readiness_stable_days
    start = _start(today, days)
    window = [e for e in wks if e.local_date >= start]
    failing = [e for e in window if e.flare_7d or e.global_change < params.readiness_global_change_min]
    needed = math.ceil(days / params.r11_weekly_cadence_days)
    if failing:
        status = FAIL
    elif len(window) >= needed:
        status = PASS
    else:
        status = UNKNOWN
    return CriterionResult(
        number=3,
        code="stable_no_flare",
        label=f"No flare and global change >= {params.readiness_global_change_min} for {days} days",
        status=status,
        values={
            "series": [
                {
                    "entry_id": e.id,
                    "date": e.local_date.isoformat(),
                    "flare_7d": e.flare_7d,
                    "global_change": e.global_change,
                }
                for e in window
            ],
            "weeklies_needed": needed,
            "window_days": days,
        },
    )


def _latest_score(scores: list[OutcomeScore], instrument: str) -> OutcomeScore | None:
    latest: OutcomeScore | None = None
    for s in scores:  # the last of the latest date wins: the order given is the order entered
        if s.instrument == instrument and (latest is None or s.local_date >= latest.local_date):
            latest = s
    return latest


def _function(wks: list[Weekly], scores: list[OutcomeScore], params: Params) -> CriterionResult:
    odi = _latest_score(scores, "ODI")
    clinician_psfs = _latest_score(scores, "PSFS")
    weekly = wks[-1] if wks else None
    checks: list[bool] = []
    values: JsonDict = {
        "odi_at_most": params.readiness_odi_max,
        "psfs_at_least": params.readiness_psfs_min,
        "odi": None,
        "psfs_weekly": None,
        "psfs_clinician": None,
    }
    if odi is not None:
        checks.append(odi.score <= params.readiness_odi_max)
        values["odi"] = {"date": odi.local_date.isoformat(), "score": odi.score}
    if weekly is not None:
        checks.append(weekly.psfs_score >= params.readiness_psfs_min - 1e-9)
        values["psfs_weekly"] = {
            "entry_id": weekly.id,
            "date": weekly.local_date.isoformat(),
            "mean": weekly.psfs_score,
        }
    if clinician_psfs is not None:
        checks.append(clinician_psfs.score >= params.readiness_psfs_min)
        values["psfs_clinician"] = {"date": clinician_psfs.local_date.isoformat(), "score": clinician_psfs.score}
    status = UNKNOWN if not checks else PASS if any(checks) else FAIL
    return CriterionResult(
        number=4,
        code="function",
        label=f"Function: clinician ODI <= {params.readiness_odi_max:g}, or PSFS mean >= {params.readiness_psfs_min:g}",
        status=status,
        values=values,
    )


def _rated(number: int, code: str, label: str, rating: bool | None) -> CriterionResult:
    status = UNKNOWN if rating is None else PASS if rating else FAIL
    return CriterionResult(number=number, code=code, label=label, status=status, values={"therapist_rating": rating})


def _no_neural_signs(today: date, pws: list[PostWorkout], screen_clear: bool | None, params: Params) -> CriterionResult:
    days = params.readiness_neural_days
    start = _start(today, days)
    window = [e for e in pws if e.local_date >= start]
    with_features = [(e, f) for e in window if (f := neural_features(e, params))]
    if with_features:
        data_status = FAIL
    elif window:
        data_status = PASS
    else:
        data_status = UNKNOWN
    screen_status = UNKNOWN if screen_clear is None else PASS if screen_clear else FAIL
    if FAIL in (data_status, screen_status):
        status = FAIL
    elif data_status == screen_status == PASS:
        status = PASS
    else:
        status = UNKNOWN
    return CriterionResult(
        number=6,
        code="no_neural_signs",
        label=f"No R-04 or R-12 features in the last {days} days and the neurological screen is clear",
        status=status,
        values={
            "sessions_in_window": len(window),
            "entries_with_features": [
                {"entry_id": e.id, "date": e.local_date.isoformat(), "side": e.thigh_symptoms, "features": list(f)}
                for e, f in with_features
            ],
            "neuro_screen_clear": screen_clear,
            "window_days": days,
        },
    )
