"""The rules of ruleset `core` v1 (RULES.md v1, frozen) as pure functions of a ``PatientContext``.

v1 ignores what v2 added to the shared input types (weekly safety screens, red-flag reports, ``as_of``,
``resolutions`` ...): it judges exactly as it did when it was the current ruleset.

``evaluate(context, params)`` returns one ``Finding`` per (rule, qualifier) whose criteria are met today.
Deduplication against open alerts is the caller's job; the engine only honours ``suppress_before`` (entries at
or before the resolution of an earlier alert of the same key are ignored by that rule and qualifier).

Readings of RULES.md (the points it leaves open):

- Windows: a window of N days holds today and the N-1 calendar days before (``local_date >= today - (N-1)``).
  "The last N sessions within W days" are the last N sessions, of which only those inside the window count.
  Criteria without a stated window ("the last 3 sessions", "twice in a row", "the latest weekly") look at the
  newest entries whatever their age. Entries dated after ``today`` are ignored.
- Phase baseline: the first ``baseline_sessions`` (3) sessions dated on or after ``phase_since`` (median), or the
  first ``baseline_weeklies`` (2) weeklies (mean). Until the phase has that many, the last 3 sessions / 2
  weeklies dated before ``phase_since``. The two sources are never mixed: with neither complete there is no
  baseline. "With fewer than 3 entries in the window, only absolute criteria apply": a relative criterion
  (R-03 B, R-03 D level, R-06 A) also needs ``relative_min_entries`` (3) entries of its questionnaire counted
  from the first baseline entry to the newest, so a weekly is never compared with a baseline made of itself and
  one other weekly. Baselines and the R-08 phase best are reference values: they are computed from every entry,
  suppressed or not. All other criteria are absolute (fixed thresholds, or the previous entry).
- Suppression: for each rule and qualifier the engine first drops entries at or before ``suppress_before``;
  the judged series ("last 3 sessions", "twice in a row" ...) are then taken from what is left. For the
  absence criteria of R-11 the resolution day restarts the clock.
- R-03 D: "up >= 1 category on 2 consecutive weeklies" means each of the latest 2 weeklies is at least one
  duration category above the weekly before it (a rise twice in a row, as R-06 C).
- R-04: the neural features are four: stretch `no_change`/`worse`; `thigh_below_knee`; any nerve quality (one
  feature however many qualities); `thigh_level` > `back_pain_now`. Only `left`/`right` entries are judged, so
  the exercise-soreness pattern (`both` sides, easing with stretch, fading) never counts, whatever its other
  answers. (A) is any entry of that side within the 14-day window with >= 2 features; (B) counts, among the last
  3 sessions within 14 d, those of that side that have >= 1 feature each. By that count L, R, L fires for the
  left side (2 of 3), while L, R, none does not.
- R-05: `pain_into_arm` counts as pain for (A); (B) `neck_level >= 5` once means any session in the 14-day
  window. Severity is high when any session in the evidence reports `pain_into_arm`.
- R-06 A: threshold = baseline + 2, and when baseline >= 4 the delta is max(2, 30% of baseline): the 30% arm
  only ever raises the bar (Ostelo 2008: 2 points or 30%, whichever is larger at high baselines). It changes
  the threshold only for baselines above 6.67 (baseline 7: 10 instead of 9; from 8 it cannot be met, and B-E
  still apply). C: the latest 3 sessions with two consecutive rises of >= 2. D: the latest weekly reports a flare, or
  >= 2 `stopped_symptoms` sessions in the 14-day window. E: the latest weekly has `global_change <= -2`.
  ``values["within_6_weeks_of_progression"]`` is True when ``last_progression_date`` is within 42 days.
- R-07: firings are the caller's ``recent_firings`` of R-03..R-06 plus this run's findings of R-03..R-06
  (dated today), dated within 14 days and on or after ``phase_since``; only in the stabilization phase.
- R-08: (A) the latest weekly of the phase has a PSFS mean (of psfs_1..3) at least 2 below the best weekly
  PSFS mean of the phase. (B) the latest clinician ODI of the phase is at least 10 points, or at least 30%,
  above the lowest (best) ODI of the phase ("or": either arm fires; r08_odi_fraction=0 keeps points only).
  Clinician PSFS scores are not used by R-08 (they count in readiness criterion 4).
- R-10: counts, among the last 4 weeklies, those with duration >= `30_60` that also ease with movement.
- R-11: (A) enrolled and no session for >= 7 days, counted from the later of the last session, ``phase_since``
  and the resolution day; (B) the latest 2 weeklies both have `exercise_days_7d <= 2`; (C) enrolled and no weekly
  for >= 2 x 7 days, counted from the later of the last weekly, ``phase_since`` and the resolution day.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Final, Generic, NamedTuple, TypeVar

from ..types import (
    KIND_OUTCOME_SCORE,
    KIND_POST_WORKOUT,
    KIND_WEEKLY,
    MORNING_STIFFNESS_DURATIONS,
    PHASE_STABILIZATION,
    SEVERITY_HIGH,
    SEVERITY_ROUTINE,
    SEVERITY_URGENT,
    THIGH_SIDES,
    Advice,
    Evidence,
    Finding,
    JsonDict,
    OutcomeScore,
    PatientContext,
    PostWorkout,
    Weekly,
)
from .params import DEFAULT_PARAMS, RULESET_VERSION, Params

_EPS: Final = 1e-9

R01_PATIENT_ADVICE: Final = (
    "Stop exercising. These symptoms need same-day emergency assessment: please seek emergency care today."
)
R02_PATIENT_ADVICE: Final = "Please contact your doctor today about these symptoms."


class RuleInfo(NamedTuple):
    """Static description of a rule: id, slug, short title, default severity and therapist-facing rationale."""

    rule_id: str
    slug: str
    title: str
    severity: str
    rationale: str


RULES: Final[Mapping[str, RuleInfo]] = {
    info.rule_id: info
    for info in (
        RuleInfo(
            "R-01",
            "red_flag_ces",
            "Red flag: new safety-screen symptoms",
            SEVERITY_URGENT,
            "New safety-screen symptoms were reported. The patient was told to stop exercising and seek same-day "
            "emergency assessment. Consider contacting the patient today.",
        ),
        RuleInfo(
            "R-02",
            "red_flag_systemic",
            "Red flag: systemic symptoms",
            SEVERITY_URGENT,
            "Systemic red-flag answers were reported. The patient was told to contact their doctor today. "
            "Consider contacting the patient today.",
        ),
        RuleInfo(
            "R-03",
            "stiffening_back",
            "Back stiffening after workouts",
            SEVERITY_HIGH,
            "Stiffness rising after core work tends to precede pain. Consider a load and technique review before "
            "pain returns.",
        ),
        RuleInfo(
            "R-04",
            "unilateral_thigh_neural",
            "One-sided thigh symptoms with neural features",
            SEVERITY_HIGH,
            "One-sided thigh symptoms with neural features are not typical of exercise soreness. Consider "
            "neurodynamic testing before progressing.",
        ),
        RuleInfo(
            "R-05",
            "neck_strain_core",
            "Neck strain during core work",
            SEVERITY_ROUTINE,
            "Neck tension or pain during core work suggests neck substitution, i.e. the deep core may not be "
            "activating. Consider reviewing technique.",
        ),
        RuleInfo(
            "R-06",
            "pain_returning",
            "Back pain returning",
            SEVERITY_HIGH,
            "Back pain appears to be returning. Consider regressing load.",
        ),
        RuleInfo(
            "R-07",
            "phase_review",
            "Several warning signs during stabilization",
            SEVERITY_HIGH,
            "Several warning rules fired within a short time during the stabilization phase. Consider returning "
            "to the treatment phase.",
        ),
        RuleInfo(
            "R-08",
            "function_decline",
            "Function declining",
            SEVERITY_ROUTINE,
            "Function scores are below the best of this phase. Consider reviewing the program and the scores.",
        ),
        RuleInfo(
            "R-10",
            "inflammatory_pattern",
            "Morning stiffness pattern easing with movement",
            SEVERITY_ROUTINE,
            "Long morning stiffness that eases with movement on most recent weeklies. Consider an inflammatory "
            "back pain screen or referral.",
        ),
        RuleInfo(
            "R-11",
            "engagement_drop",
            "Engagement drop",
            SEVERITY_ROUTINE,
            "Self-assessments or exercise days have dropped. Consider contacting the patient.",
        ),
    )
}

# Criterion codes per rule, for emails and screens.
CRITERIA: Final[Mapping[str, Mapping[str, str]]] = {
    "R-01": {"A": "any safety-screen item"},
    "R-02": {"A": "any systemic flag"},
    "R-03": {
        "A": "`stiffer` in >= 2 of the last 3 sessions within 14 d",
        "B": "mean back stiffness of the last 3 sessions >= baseline + 2",
        "C": "`clearly_restricted` spine check >= 2 times in 7 d",
        "D": "morning stiffness duration up on 2 consecutive weeklies, or level >= baseline + 2",
    },
    "R-04": {
        "A": ">= 2 neural features in one entry",
        "B": "same side in >= 2 of the last 3 sessions within 14 d, each with >= 1 neural feature",
    },
    "R-05": {
        "A": "neck tension/pain in >= 2 of the last 4 sessions within 14 d",
        "B": "neck level >= 5 once",
    },
    "R-06": {
        "A": "weekly back pain >= baseline + 2 (30% when baseline >= 4)",
        "B": "worst pain during workout >= 6 in 2 of the last 3 sessions",
        "C": "back pain after workout up >= 2 over the previous session, twice in a row",
        "D": "flare, or `stopped_symptoms` twice in 14 d",
        "E": "global change <= -2",
    },
    "R-07": {"A": ">= 2 distinct rules of R-03..R-06 within 14 d during stabilization"},
    "R-08": {"A": "PSFS mean 2 below the phase best", "B": "ODI 10 points or 30% above the phase best"},
    "R-10": {"A": "morning stiffness >= 30-60 min easing with movement on >= 3 of the last 4 weeklies"},
    "R-11": {
        "A": "no post-workout entry for 7 d",
        "B": "exercise days <= 2 on 2 weeklies in a row",
        "C": "2 weeklies missed",
    },
}

_R07_INPUT_RULES: Final = frozenset({"R-03", "R-04", "R-05", "R-06"})
_DURATION_RANK: Final = {code: rank for rank, code in enumerate(MORNING_STIFFNESS_DURATIONS)}
_NECK_STRAIN: Final = frozenset({"tension", "pain", "pain_into_arm"})
_STRETCH_NOT_EASING: Final = frozenset({"no_change", "worse"})

_E = TypeVar("_E", PostWorkout, Weekly)
_local_date = attrgetter("local_date")

Json = JsonDict


def red_flag_advice(safety_screen: Iterable[str], systemic_flags: Iterable[str]) -> list[Advice]:
    """The urgent patient messages for red-flag answers, for the submit response (no context needed)."""
    advice: list[Advice] = []
    if any(True for _ in safety_screen):
        advice.append(Advice(level=SEVERITY_URGENT, message=R01_PATIENT_ADVICE, rule_id="R-01"))
    if any(True for _ in systemic_flags):
        advice.append(Advice(level=SEVERITY_URGENT, message=R02_PATIENT_ADVICE, rule_id="R-02"))
    return advice


def neural_features(entry: PostWorkout) -> tuple[str, ...]:
    """The R-04 neural features of a one-sided (`left`/`right`) entry; () for `none` and `both`."""
    if entry.thigh_symptoms not in THIGH_SIDES:
        return ()
    features: list[str] = []
    if entry.thigh_stretch_response in _STRETCH_NOT_EASING:
        features.append("stretch_not_easing")
    if entry.thigh_below_knee:
        features.append("below_knee")
    if entry.thigh_nerve_qualities:
        features.append("nerve_qualities")
    if entry.thigh_level is not None and entry.thigh_level > entry.back_pain_now:
        features.append("thigh_above_back_pain")
    return tuple(features)


def evaluate(context: PatientContext, params: Params = DEFAULT_PARAMS) -> list[Finding]:
    """Run every rule of the ruleset on ``context``; return the findings in rule order."""
    p = _Prepared(context, params)
    findings: list[Finding] = []
    findings.extend(_r01(p))
    findings.extend(_r02(p))
    for rule in (_r03, _r04, _r05, _r06):
        findings.extend(rule(p, params))
    findings.extend(_r07(p, params, findings))
    for rule in (_r08, _r10, _r11):
        findings.extend(rule(p, params))
    return findings


def evaluate_red_flags(context: PatientContext, params: Params = DEFAULT_PARAMS) -> list[Finding]:
    """R-01 and R-02 alone: what a scan still raises when another rule cannot be evaluated."""
    p = _Prepared(context, params)
    return [*_r01(p), *_r02(p)]


# --- preparation --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Baseline(Generic[_E]):
    entries: tuple[_E, ...]
    source: str  # "phase" or "before_transition"
    usable: bool  # enough entries for relative criteria

    def describe(self, value: float) -> Json:
        return {
            "value": _num(value),
            "source": self.source,
            "entry_ids": [e.id for e in self.entries],
            "dates": [e.local_date.isoformat() for e in self.entries],
        }


# Time order; ties on the same instant are broken by id so that every evaluation sees the same order.
_sort_key = attrgetter("local_date", "occurred_at", "id")


def _up_to(entries: Iterable[_E], today: date) -> list[_E]:
    """``entries`` in time order, without those dated after ``today``."""
    ordered = sorted(entries, key=_sort_key)
    if ordered and ordered[-1].local_date > today:
        del ordered[bisect_right(ordered, today, key=_local_date) :]
    return ordered


def _find_baseline(entries: list[_E], phase_since: date, size: int, min_entries: int) -> _Baseline[_E] | None:
    first_in_phase = bisect_left(entries, phase_since, key=_local_date)
    if len(entries) - first_in_phase >= size:
        start, source = first_in_phase, "phase"
    elif first_in_phase >= size:
        start, source = first_in_phase - size, "before_transition"
    else:
        return None
    return _Baseline(tuple(entries[start : start + size]), source, len(entries) - start >= min_entries)


class _Prepared:
    """The context sorted and filtered once per evaluation."""

    __slots__ = ("_starts", "ctx", "pw_baseline", "pws", "suppress", "today", "wk_baseline", "wks")

    def __init__(self, ctx: PatientContext, params: Params) -> None:
        today = ctx.today
        self.ctx = ctx
        self.today = today
        self.pws = _up_to(ctx.post_workouts, today)
        self.wks = _up_to(ctx.weeklies, today)
        self._starts: dict[int, date] = {}
        self.suppress = ctx.suppress_before
        self.pw_baseline = _find_baseline(
            self.pws, ctx.phase_since, params.baseline_sessions, params.relative_min_entries
        )
        self.wk_baseline = _find_baseline(
            self.wks, ctx.phase_since, params.baseline_weeklies, params.relative_min_entries
        )

    def cutoff(self, rule_id: str, qualifier: str = "") -> datetime | None:
        if not self.suppress:
            return None
        return self.suppress.get((rule_id, qualifier))

    def visible(self, entries: list[_E], rule_id: str, qualifier: str = "") -> list[_E]:
        """``entries`` without those at or before the resolution of an alert with this key."""
        cutoff = self.cutoff(rule_id, qualifier)
        if cutoff is None:
            return entries
        return [e for e in entries if e.occurred_at > cutoff]

    def window_start(self, days: int) -> date:
        """The first day of a window of ``days`` calendar days ending today."""
        start = self._starts.get(days)
        if start is None:
            start = self._starts[days] = self.today - timedelta(days=days - 1)
        return start


def _since(entries: list[_E], start: date) -> list[_E]:
    """The suffix of date-sorted ``entries`` dated on or after ``start``."""
    if not entries or entries[0].local_date >= start:
        return entries
    return entries[bisect_left(entries, start, key=_local_date) :]


# --- output helpers -----------------------------------------------------------------------------------------


def _num(value: float) -> int | float:
    """A JSON-friendly number: whole values as int, others rounded to 2 decimals."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def _point(entry: PostWorkout | Weekly, *names: str) -> Json:
    point: Json = {"entry_id": entry.id, "date": entry.local_date.isoformat()}
    for name in names:
        point[name] = _jsonable(getattr(entry, name))
    return point


def _jsonable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


class _Bag:
    """Evidence collected by one rule, merged per entry, returned in time order."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: dict[tuple[str, int | None, date], tuple[datetime | None, Json]] = {}

    def add(self, entry: PostWorkout | Weekly, *names: str) -> None:
        kind = KIND_POST_WORKOUT if isinstance(entry, PostWorkout) else KIND_WEEKLY
        key = (kind, entry.id, entry.local_date)
        item = self.items.get(key)
        values = item[1] if item is not None else {}
        for name in names:
            values[name] = _jsonable(getattr(entry, name))
        if item is None:
            self.items[key] = (entry.occurred_at, values)

    def add_score(self, score: OutcomeScore) -> None:
        values: Json = {"instrument": score.instrument, "score": _num(score.score)}
        self.items[(KIND_OUTCOME_SCORE, score.id, score.local_date)] = (None, values)

    def build(self) -> tuple[Evidence, ...]:
        ordered = sorted(
            self.items.items(),
            key=lambda kv: (kv[0][2], kv[1][0] is None, kv[1][0] or datetime.min, kv[0][0], kv[0][1] or 0),
        )
        return tuple(
            Evidence(kind=kind, entry_id=entry_id, occurred_at=at, local_date=day, values=values)
            for (kind, entry_id, day), (at, values) in ordered
        )


def _finding(
    rule_id: str,
    *,
    criteria: list[str],
    bag: _Bag,
    values: Json,
    qualifier: str = "",
    severity: str | None = None,
    rationale: str | None = None,
    patient_advice: str | None = None,
) -> Finding:
    info = RULES[rule_id]
    return Finding(
        rule_id=rule_id,
        rule_slug=info.slug,
        qualifier=qualifier,
        severity=severity or info.severity,
        criteria=tuple(criteria),
        evidence=bag.build(),
        values=values,
        rationale=rationale or info.rationale,
        title=info.title,
        patient_advice=patient_advice,
        ruleset_version=RULESET_VERSION,
    )


# --- red flags (one alert per entry) ---------------------------------------------------------------


def _red_flag(rule_id: str, entry: PostWorkout | Weekly, field: str, items: tuple[str, ...], advice: str) -> Finding:
    bag = _Bag()
    bag.add(entry, field)
    return _finding(
        rule_id,
        qualifier=f"entry:{entry.id}",
        criteria=["A"],
        bag=bag,
        values={
            "items": list(items),
            "entry_id": entry.id,
            "occurred_at": entry.occurred_at.isoformat(),
            "date": entry.local_date.isoformat(),
            "patient_told": advice,
        },
        patient_advice=advice,
    )


def _r01(p: _Prepared) -> list[Finding]:
    out: list[Finding] = []
    for e in p.pws:
        if e.safety_screen:
            cutoff = p.cutoff("R-01", f"entry:{e.id}")
            if cutoff is None or e.occurred_at > cutoff:
                out.append(_red_flag("R-01", e, "safety_screen", e.safety_screen, R01_PATIENT_ADVICE))
    return out


def _r02(p: _Prepared) -> list[Finding]:
    out: list[Finding] = []
    for e in p.wks:
        if e.systemic_flags:
            cutoff = p.cutoff("R-02", f"entry:{e.id}")
            if cutoff is None or e.occurred_at > cutoff:
                out.append(_red_flag("R-02", e, "systemic_flags", e.systemic_flags, R02_PATIENT_ADVICE))
    return out


# --- R-03 stiffening_back ----------------------------------------------------------------------------------------


def _r03(p: _Prepared, params: Params) -> list[Finding]:
    pws = p.visible(p.pws, "R-03")
    wks = p.visible(p.wks, "R-03")
    bag = _Bag()
    criteria: list[str] = []
    values: Json = {}
    for code, judge in (("A", _r03_a), ("B", _r03_b), ("C", _r03_c)):
        met = judge(p, params, pws, bag)
        if met is not None:
            criteria.append(code)
            values[code] = met
    d_values = _r03_d(p, params, wks, bag)
    if d_values:
        criteria.append("D")
        values["D"] = d_values
    if not criteria:
        return []
    return [_finding("R-03", criteria=criteria, bag=bag, values=values)]


def _r03_a(p: _Prepared, params: Params, pws: list[PostWorkout], bag: _Bag) -> Json | None:
    """(A) `stiffer` in >= 2 of the last 3 sessions within 14 d."""
    start = p.window_start(params.r03_window_days)
    last = [e for e in pws[-params.r03_stiffer_of_last :] if e.local_date >= start]
    stiffer = [e for e in last if e.stiffness_change == "stiffer"]
    if len(stiffer) < params.r03_stiffer_count:
        return None
    for e in stiffer:
        bag.add(e, "stiffness_change")
    return {
        "series": [_point(e, "stiffness_change") for e in last],
        "stiffer": len(stiffer),
        "required": params.r03_stiffer_count,
        "of_last": params.r03_stiffer_of_last,
        "window_days": params.r03_window_days,
    }


def _r03_b(p: _Prepared, params: Params, pws: list[PostWorkout], bag: _Bag) -> Json | None:
    """(B) mean back_stiffness_now of the last 3 sessions >= baseline + 2 (relative)."""
    base = p.pw_baseline
    n = params.r03_mean_of_last
    # The last sessions must include at least one after the baseline's: never the baseline judged against
    # itself (three sessions in the phase, or none yet after the transition).
    fresh = base is not None and bool(pws) and _sort_key(pws[-1]) > _sort_key(base.entries[-1])
    if base is None or not base.usable or not fresh or len(pws) < n:
        return None
    last = pws[-n:]
    baseline = _median([e.back_stiffness_now for e in base.entries])
    total = sum(e.back_stiffness_now for e in last)
    threshold = baseline + params.r03_mean_delta
    if total < threshold * n - _EPS:
        return None
    for e in last:
        bag.add(e, "back_stiffness_now")
    return {
        "series": [_point(e, "back_stiffness_now") for e in last],
        "mean": _num(total / n),
        "baseline": base.describe(baseline),
        "threshold": _num(threshold),
    }


def _r03_c(p: _Prepared, params: Params, pws: list[PostWorkout], bag: _Bag) -> Json | None:
    """(C) `clearly_restricted` >= 2 times in 7 d."""
    restricted = [
        e
        for e in _since(pws, p.window_start(params.r03_restricted_window_days))
        if e.spine_check == "clearly_restricted"
    ]
    if len(restricted) < params.r03_restricted_count:
        return None
    for e in restricted:
        bag.add(e, "spine_check")
    return {
        "series": [_point(e, "spine_check") for e in restricted],
        "count": len(restricted),
        "required": params.r03_restricted_count,
        "window_days": params.r03_restricted_window_days,
    }


def _r03_d(p: _Prepared, params: Params, wks: list[Weekly], bag: _Bag) -> Json:
    """(D) morning stiffness duration up >= 1 category on 2 consecutive weeklies, or level >= baseline + 2."""
    d_values: Json = {}
    times = params.r03_morning_duration_times
    if len(wks) > times:
        seq = wks[-(times + 1) :]
        ranks = [_DURATION_RANK[w.morning_stiffness_duration] for w in seq]
        if all(ranks[i + 1] - ranks[i] >= params.r03_morning_duration_step for i in range(times)):
            d_values["duration_rising"] = {
                "series": [_point(w, "morning_stiffness_duration") for w in seq],
                "step": params.r03_morning_duration_step,
                "times": times,
            }
            for w in seq[1:]:
                bag.add(w, "morning_stiffness_duration")
    wbase = p.wk_baseline
    if wbase is not None and wbase.usable and wks:
        latest = wks[-1]
        baseline = sum(w.morning_stiffness_level for w in wbase.entries) / len(wbase.entries)
        threshold = baseline + params.r03_morning_level_delta
        if latest.morning_stiffness_level >= threshold - _EPS:
            d_values["level_above_baseline"] = {
                "latest": _point(latest, "morning_stiffness_level"),
                "baseline": wbase.describe(baseline),
                "threshold": _num(threshold),
            }
            bag.add(latest, "morning_stiffness_level")
    return d_values


# --- R-04 unilateral_thigh_neural (qualifier: side) --------------------------------------------------------------

_R04_NAMES: Final = (
    "thigh_symptoms",
    "thigh_level",
    "back_pain_now",
    "thigh_stretch_response",
    "thigh_below_knee",
    "thigh_nerve_qualities",
)


def _r04(p: _Prepared, params: Params) -> list[Finding]:
    out: list[Finding] = []
    start = p.window_start(params.r04_window_days)
    for side in THIGH_SIDES:
        window = _since(p.visible(p.pws, "R-04", side), start)
        if not window:
            continue
        bag = _Bag()
        criteria: list[str] = []
        values: Json = {"side": side}
        for code, judge in (("A", _r04_a), ("B", _r04_b)):
            met = judge(params, window, side, bag)
            if met is not None:
                criteria.append(code)
                values[code] = met
        if criteria:
            out.append(_finding("R-04", qualifier=side, criteria=criteria, bag=bag, values=values))
    return out


def _r04_a(params: Params, window: list[PostWorkout], side: str, bag: _Bag) -> Json | None:
    """(A) >= 2 neural features in one entry."""
    single = [
        (e, f)
        for e in window
        if e.thigh_symptoms == side and len(f := neural_features(e)) >= params.r04_single_entry_features
    ]
    if not single:
        return None
    for e, _ in single:
        bag.add(e, *_R04_NAMES)
    return {
        "entries": [{**_point(e), "features": list(f)} for e, f in single],
        "required_features": params.r04_single_entry_features,
        "window_days": params.r04_window_days,
    }


def _r04_b(params: Params, window: list[PostWorkout], side: str, bag: _Bag) -> Json | None:
    """(B) the same side in >= 2 of the last 3 sessions within 14 d, each with >= 1 feature."""
    last = window[-params.r04_repeat_of_last :]
    repeat = [e for e in last if e.thigh_symptoms == side and len(neural_features(e)) >= params.r04_repeat_min_features]
    if len(repeat) < params.r04_repeat_count:
        return None
    for e in repeat:
        bag.add(e, *_R04_NAMES)
    return {
        "series": [{**_point(e, "thigh_symptoms"), "features": list(neural_features(e))} for e in last],
        "count": len(repeat),
        "required": params.r04_repeat_count,
        "of_last": params.r04_repeat_of_last,
        "window_days": params.r04_window_days,
    }


# --- R-05 neck_strain_core -----------------------------------------------------------------------------------------


def _r05(p: _Prepared, params: Params) -> list[Finding]:
    window = _since(p.visible(p.pws, "R-05"), p.window_start(params.r05_window_days))
    if not window:
        return []
    bag = _Bag()
    criteria: list[str] = []
    values: Json = {}
    flagged: list[PostWorkout] = []

    last = window[-params.r05_of_last :]
    strained = [e for e in last if e.neck_symptoms in _NECK_STRAIN]
    if len(strained) >= params.r05_count:
        criteria.append("A")
        values["A"] = {
            "series": [_point(e, "neck_symptoms", "neck_level") for e in last],
            "count": len(strained),
            "required": params.r05_count,
            "of_last": params.r05_of_last,
            "window_days": params.r05_window_days,
        }
        flagged.extend(strained)

    strong = [
        e
        for e in window
        if e.neck_symptoms != "none" and e.neck_level is not None and e.neck_level >= params.r05_level_once
    ]
    if strong:
        criteria.append("B")
        values["B"] = {
            "entries": [_point(e, "neck_symptoms", "neck_level") for e in strong],
            "level_at_least": params.r05_level_once,
            "window_days": params.r05_window_days,
        }
        flagged.extend(strong)

    if not criteria:
        return []
    for e in flagged:
        bag.add(e, "neck_symptoms", "neck_level")
    into_arm = any(e.neck_symptoms == "pain_into_arm" for e in flagged)
    values["pain_into_arm"] = into_arm
    severity = SEVERITY_HIGH if into_arm else SEVERITY_ROUTINE
    return [_finding("R-05", criteria=criteria, bag=bag, values=values, severity=severity)]


# --- R-06 pain_returning -------------------------------------------------------------------------------------------


def _r06(p: _Prepared, params: Params) -> list[Finding]:
    pws = p.visible(p.pws, "R-06")
    wks = p.visible(p.wks, "R-06")
    bag = _Bag()
    criteria: list[str] = []
    values: Json = {}
    for code, met in (
        ("A", _r06_a(p, params, wks, bag)),
        ("B", _r06_b(params, pws, bag)),
        ("C", _r06_c(params, pws, bag)),
        ("D", _r06_d(p, params, pws, wks, bag)),
        ("E", _r06_e(params, wks, bag)),
    ):
        if met:
            criteria.append(code)
            values[code] = met
    if not criteria:
        return []
    progression = p.ctx.last_progression_date
    recent = progression is not None and 0 <= (p.today - progression).days < params.r06_progression_window_days
    values["within_6_weeks_of_progression"] = recent
    values["last_progression_date"] = progression.isoformat() if progression is not None else None
    rationale = RULES["R-06"].rationale
    if recent:
        rationale = f"Within 6 weeks of progression to stabilization. {rationale}"
    return [_finding("R-06", criteria=criteria, bag=bag, values=values, rationale=rationale)]


def _r06_a(p: _Prepared, params: Params, wks: list[Weekly], bag: _Bag) -> Json | None:
    """(A) back_pain_avg_7d >= baseline + 2 (delta max(2, 30%) when baseline >= 4) (relative)."""
    wbase = p.wk_baseline
    if wbase is None or not wbase.usable or not wks:
        return None
    latest = wks[-1]
    baseline = sum(e.back_pain_avg_7d for e in wbase.entries) / len(wbase.entries)
    delta = params.r06_pain_delta
    if baseline >= params.r06_relative_from_baseline - _EPS:
        delta = max(delta, baseline * params.r06_relative_fraction)
    threshold = baseline + delta
    if latest.back_pain_avg_7d < threshold - _EPS:
        return None
    bag.add(latest, "back_pain_avg_7d")
    return {
        "latest": _point(latest, "back_pain_avg_7d"),
        "baseline": wbase.describe(baseline),
        "delta": _num(delta),
        "threshold": _num(threshold),
    }


def _r06_b(params: Params, pws: list[PostWorkout], bag: _Bag) -> Json | None:
    """(B) back_pain_during_max >= 6 in 2 of the last 3 sessions."""
    last = pws[-params.r06_during_max_of_last :]
    high = [e for e in last if e.back_pain_during_max >= params.r06_during_max_threshold]
    if len(high) < params.r06_during_max_count:
        return None
    for e in high:
        bag.add(e, "back_pain_during_max")
    return {
        "series": [_point(e, "back_pain_during_max") for e in last],
        "count": len(high),
        "at_least": params.r06_during_max_threshold,
        "required": params.r06_during_max_count,
        "of_last": params.r06_during_max_of_last,
    }


def _r06_c(params: Params, pws: list[PostWorkout], bag: _Bag) -> Json | None:
    """(C) back_pain_now up >= 2 over the previous session, twice in a row."""
    times = params.r06_rise_times
    if len(pws) <= times:
        return None
    seq = pws[-(times + 1) :]
    if not all(seq[i + 1].back_pain_now - seq[i].back_pain_now >= params.r06_rise_delta - _EPS for i in range(times)):
        return None
    for e in seq:
        bag.add(e, "back_pain_now")
    return {
        "series": [_point(e, "back_pain_now") for e in seq],
        "rise_at_least": _num(params.r06_rise_delta),
        "times": times,
    }


def _r06_d(p: _Prepared, params: Params, pws: list[PostWorkout], wks: list[Weekly], bag: _Bag) -> Json:
    """(D) flare_7d on the latest weekly, or `stopped_symptoms` twice in 14 d."""
    d_values: Json = {}
    if wks and wks[-1].flare_7d:
        d_values["flare"] = _point(wks[-1], "flare_7d")
        bag.add(wks[-1], "flare_7d")
    stopped = [
        e
        for e in _since(pws, p.window_start(params.r06_stopped_window_days))
        if e.session_completed == "stopped_symptoms"
    ]
    if len(stopped) >= params.r06_stopped_count:
        d_values["stopped_symptoms"] = {
            "series": [_point(e, "session_completed") for e in stopped],
            "count": len(stopped),
            "required": params.r06_stopped_count,
            "window_days": params.r06_stopped_window_days,
        }
        for e in stopped:
            bag.add(e, "session_completed")
    return d_values


def _r06_e(params: Params, wks: list[Weekly], bag: _Bag) -> Json | None:
    """(E) global_change <= -2 on the latest weekly."""
    if not wks or wks[-1].global_change > params.r06_global_change_max:
        return None
    bag.add(wks[-1], "global_change")
    return {"latest": _point(wks[-1], "global_change"), "at_most": params.r06_global_change_max}


# --- R-07 phase_review ---------------------------------------------------------------------------------------------


def _r07(p: _Prepared, params: Params, findings: Sequence[Finding]) -> list[Finding]:
    ctx = p.ctx
    if ctx.phase != PHASE_STABILIZATION:
        return []
    today = p.today
    start = max(p.window_start(params.r07_window_days), ctx.phase_since)
    cutoff = p.cutoff("R-07")
    firings: set[tuple[str, date]] = set()
    for firing in ctx.recent_firings:
        if firing.rule_id not in _R07_INPUT_RULES or not start <= firing.local_date <= today:
            continue
        if cutoff is not None:
            if firing.at is not None:
                if firing.at <= cutoff:
                    continue
            elif firing.local_date <= cutoff.date():
                continue
        firings.add((firing.rule_id, firing.local_date))
    if start <= today:
        firings.update((f.rule_id, today) for f in findings if f.rule_id in _R07_INPUT_RULES)
    rules = sorted({rule_id for rule_id, _ in firings})
    if len(rules) < params.r07_distinct_rules:
        return []
    values: Json = {
        "rules": rules,
        "firings": [{"rule_id": r, "date": d.isoformat()} for r, d in sorted(firings, key=lambda f: (f[1], f[0]))],
        "required": params.r07_distinct_rules,
        "window_days": params.r07_window_days,
        "phase_since": ctx.phase_since.isoformat(),
    }
    return [_finding("R-07", criteria=["A"], bag=_Bag(), values=values)]


# --- R-08 function_decline -----------------------------------------------------------------------------------------


def _psfs_total(entry: Weekly) -> int:
    return entry.psfs_1 + entry.psfs_2 + entry.psfs_3


def _r08(p: _Prepared, params: Params) -> list[Finding]:
    ctx = p.ctx
    bag = _Bag()
    criteria: list[str] = []
    values: Json = {}

    # (A) the latest weekly PSFS mean is >= 2 below the best weekly PSFS mean of the phase.
    in_phase = _since(p.wks, ctx.phase_since)
    visible = p.visible(in_phase, "R-08")
    if visible:
        latest = visible[-1]
        best = max(in_phase, key=_psfs_total)
        if _psfs_total(latest) <= _psfs_total(best) - 3 * params.r08_psfs_drop + _EPS:
            criteria.append("A")
            values["A"] = {
                "latest": {**_point(latest, "psfs_1", "psfs_2", "psfs_3"), "mean": _num(latest.psfs_mean)},
                "phase_best": {**_point(best), "mean": _num(best.psfs_mean)},
                "drop": _num(best.psfs_mean - latest.psfs_mean),
                "drop_at_least": _num(params.r08_psfs_drop),
            }
            bag.add(latest, "psfs_1", "psfs_2", "psfs_3")

    # (B) the latest clinician ODI of the phase is 10 points or 30% above the best (lowest) ODI of the phase.
    latest_odi: OutcomeScore | None = None
    best_odi: OutcomeScore | None = None
    for s in ctx.outcome_scores:
        if s.instrument != "ODI" or not ctx.phase_since <= s.local_date <= p.today:
            continue
        if latest_odi is None or s.local_date >= latest_odi.local_date:  # same day: the later given wins
            latest_odi = s
        if best_odi is None or (s.score, s.local_date) < (best_odi.score, best_odi.local_date):
            best_odi = s
    cutoff = p.cutoff("R-08")
    if latest_odi is not None and best_odi is not None and (cutoff is None or latest_odi.local_date > cutoff.date()):
        rise = latest_odi.score - best_odi.score
        by_points = rise >= params.r08_odi_points - _EPS
        by_fraction = params.r08_odi_fraction > 0 and rise >= best_odi.score * params.r08_odi_fraction - _EPS
        if rise > _EPS and (by_points or by_fraction):
            criteria.append("B")
            values["B"] = {
                "latest": {"date": latest_odi.local_date.isoformat(), "score": _num(latest_odi.score)},
                "phase_best": {"date": best_odi.local_date.isoformat(), "score": _num(best_odi.score)},
                "rise": _num(rise),
                "rise_points_at_least": _num(params.r08_odi_points),
                "rise_fraction_at_least": _num(params.r08_odi_fraction),
            }
            bag.add_score(latest_odi)

    if not criteria:
        return []
    return [_finding("R-08", criteria=criteria, bag=bag, values=values)]


# --- R-10 inflammatory_pattern ---------------------------------------------------------------------------------


def _r10(p: _Prepared, params: Params) -> list[Finding]:
    last = p.visible(p.wks, "R-10")[-params.r10_of_last :]
    min_rank = _DURATION_RANK[params.r10_min_duration]
    hits = [
        e
        for e in last
        if _DURATION_RANK[e.morning_stiffness_duration] >= min_rank and e.stiffness_eases_with_movement is True
    ]
    if len(hits) < params.r10_count:
        return []
    bag = _Bag()
    for e in hits:
        bag.add(e, "morning_stiffness_duration", "stiffness_eases_with_movement")
    values: Json = {
        "A": {
            "series": [_point(e, "morning_stiffness_duration", "stiffness_eases_with_movement") for e in last],
            "count": len(hits),
            "required": params.r10_count,
            "of_last": params.r10_of_last,
            "duration_at_least": params.r10_min_duration,
        }
    }
    return [_finding("R-10", criteria=["A"], bag=bag, values=values)]


# --- R-11 engagement_drop ---------------------------------------------------------------------------------------


def _days_since(today: date, *days: date | None) -> int:
    return (today - max(d for d in days if d is not None)).days


def _r11(p: _Prepared, params: Params) -> list[Finding]:
    ctx = p.ctx
    cutoff = p.cutoff("R-11")
    resolved_on = cutoff.date() if cutoff is not None else None
    bag = _Bag()
    criteria: list[str] = []
    values: Json = {}

    # (A) enrolled and no post_workout for 7 d.
    if ctx.enrolled:
        last_session = p.pws[-1].local_date if p.pws else None
        days = _days_since(p.today, last_session, ctx.phase_since, resolved_on)
        if days >= params.r11_no_session_days:
            criteria.append("A")
            values["A"] = {
                "days_without_session": days,
                "last_session_date": last_session.isoformat() if last_session else None,
                "threshold_days": params.r11_no_session_days,
            }

    # (B) exercise_days_7d <= 2 on the latest 2 weeklies.
    times = params.r11_low_exercise_times
    wks = p.visible(p.wks, "R-11")
    if len(wks) >= times and all(e.exercise_days_7d <= params.r11_low_exercise_days for e in wks[-times:]):
        criteria.append("B")
        values["B"] = {
            "series": [_point(e, "exercise_days_7d") for e in wks[-times:]],
            "at_most": params.r11_low_exercise_days,
            "times": times,
        }
        for e in wks[-times:]:
            bag.add(e, "exercise_days_7d")

    # (C) enrolled and 2 weeklies missed (none for 2 x 7 d).
    if ctx.enrolled:
        last_weekly = p.wks[-1].local_date if p.wks else None
        days = _days_since(p.today, last_weekly, ctx.phase_since, resolved_on)
        cadence = params.r11_weekly_cadence_days
        if days >= cadence * params.r11_weeklies_missed:
            criteria.append("C")
            values["C"] = {
                "days_without_weekly": days,
                "weeklies_missed": days // cadence,
                "last_weekly_date": last_weekly.isoformat() if last_weekly else None,
                "expected_every_days": cadence,
                "threshold_missed": params.r11_weeklies_missed,
            }

    if not criteria:
        return []
    return [_finding("R-11", criteria=criteria, bag=bag, values=values)]
