"""Plain-value inputs and outputs of the rules engine.

Nothing here knows about Django. The scan loads a patient's entries once into these frozen dataclasses, the
engine computes findings from them, and the caller turns findings into alerts. Questionnaire field names and
answer codes are exactly those of RULES.md. Both ruleset versions read these types: v2 added fields (all with
defaults, so v1-era callers keep working), which the frozen v1 engine ignores.

Dates and times:
- ``occurred_at`` is an aware datetime (when the workout ended, or the day a weekly check-in covers).
- ``local_date`` is the calendar day of ``occurred_at`` in the clinic's time zone. Every window is counted in
  these calendar days, so the loader must derive it from ``occurred_at`` (which keeps ``local_date``
  non-decreasing in ``occurred_at`` order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Final, NamedTuple

RULESET: Final = "core"
RULESET_VERSION: Final = 2  # the latest built-in version (v1 lives on in ``assessments.rules.v1``)

# Phases of an enrollment.
PHASE_TREATMENT: Final = "treatment"
PHASE_STABILIZATION: Final = "stabilization"
PHASE_MAINTENANCE: Final = "maintenance"
PHASES: Final = (PHASE_TREATMENT, PHASE_STABILIZATION, PHASE_MAINTENANCE)

# Severities, most urgent first.
SEVERITY_URGENT: Final = "urgent"
SEVERITY_HIGH: Final = "high"
SEVERITY_ROUTINE: Final = "routine"
SEVERITIES: Final = (SEVERITY_URGENT, SEVERITY_HIGH, SEVERITY_ROUTINE)

# Evidence kinds.
KIND_POST_WORKOUT: Final = "post_workout"
KIND_WEEKLY: Final = "weekly"
KIND_OUTCOME_SCORE: Final = "outcome_score"
KIND_RED_FLAG_REPORT: Final = "red_flag_report"

# Answer codes of the questionnaires (RULES.md).
SESSION_COMPLETED: Final = ("full", "partial", "stopped_symptoms")
STIFFNESS_CHANGE: Final = ("looser", "same", "stiffer")
SPINE_CHECK: Final = ("free", "slightly_restricted", "clearly_restricted", "not_done")
NECK_SYMPTOMS: Final = ("none", "tension", "pain", "pain_into_arm")
THIGH_SYMPTOMS: Final = ("none", "both", "left", "right")
THIGH_SIDES: Final = ("left", "right")
THIGH_STRETCH_RESPONSE: Final = ("eases", "no_change", "worse", "not_tried")
THIGH_NERVE_QUALITIES: Final = ("pins_needles", "numbness", "burning", "shooting")
SAFETY_SCREEN: Final = (
    "saddle_numbness",
    "bladder_change",
    "bowel_change",
    "sexual_dysfunction",
    "both_legs_numb_or_weak",
    "foot_drop_or_leg_weakness",
)
MORNING_STIFFNESS_DURATIONS: Final = ("none", "lt15", "15_30", "30_60", "60_120", "gt120")
SYSTEMIC_FLAGS: Final = (
    "fever_or_unwell",
    "weight_loss_unexplained",
    "night_pain_unrelenting",
    "fall_or_injury",
    "new_cancer_diagnosis",
)
OUTCOME_INSTRUMENTS: Final = ("ODI", "PSFS", "other")

# JSON-like data (only dict, list, str, int, float, bool, None): typed Any so that readers can index into it.
JsonDict = dict[str, Any]

_EMPTY_SUPPRESS: Mapping[tuple[str, str], datetime] = MappingProxyType({})
_EMPTY_STABLE: Mapping[str, date] = MappingProxyType({})
_EMPTY_PEAKS: Mapping[str, float] = MappingProxyType({})


def _mean_1dp(a: int, b: int, c: int) -> float:
    """The mean of three 0-10 items rounded to one decimal (RULES.md "v2 scores")."""
    return round((a + b + c) / 3, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class PostWorkout:
    """One `post_workout` entry ("session"). Conditional fields that do not apply are None / empty."""

    id: int
    occurred_at: datetime
    local_date: date
    session_completed: str
    back_pain_now: int
    back_pain_during_max: int
    back_stiffness_now: int
    stiffness_change: str
    spine_check: str
    neck_symptoms: str
    thigh_symptoms: str
    neck_level: int | None = None
    thigh_level: int | None = None
    thigh_stretch_response: str | None = None
    thigh_below_knee: bool | None = None
    thigh_nerve_qualities: tuple[str, ...] = ()
    safety_screen: tuple[str, ...] = ()
    safety_screen_unchanged: tuple[str, ...] = ()  # v2: items the patient marks "the same as last time"
    submitted_at: datetime | None = None  # v2: when it was stored; None = same as occurred_at

    @property
    def submitted(self) -> datetime:
        """When the entry reached the clinic (``submitted_at``, or ``occurred_at`` when not known)."""
        return self.submitted_at or self.occurred_at


@dataclass(frozen=True, slots=True, kw_only=True)
class Weekly:
    """One `weekly` entry. ``stiffness_eases_with_movement`` is None when the duration is below `30_60`."""

    id: int
    occurred_at: datetime
    local_date: date
    back_pain_avg_7d: int
    leg_pain_avg_7d: int
    peg_pain: int
    peg_enjoyment: int
    peg_activity: int
    morning_stiffness_level: int
    morning_stiffness_duration: str
    global_change: int
    flare_7d: bool
    exercise_days_7d: int
    psfs_1: int
    psfs_2: int
    psfs_3: int
    stiffness_eases_with_movement: bool | None = None
    systemic_flags: tuple[str, ...] = ()
    safety_screen: tuple[str, ...] = ()  # v2: the same screen as on post_workout
    safety_screen_unchanged: tuple[str, ...] = ()
    submitted_at: datetime | None = None

    @property
    def submitted(self) -> datetime:
        """When the entry reached the clinic (``submitted_at``, or ``occurred_at`` when not known)."""
        return self.submitted_at or self.occurred_at

    @property
    def psfs_mean(self) -> float:
        """Mean of the three PSFS activities (0-10, higher is better), unrounded (v1)."""
        return (self.psfs_1 + self.psfs_2 + self.psfs_3) / 3

    @property
    def psfs_score(self) -> float:
        """v2 PSFS score: the mean of the three activities, one decimal (0-10, higher is better)."""
        return _mean_1dp(self.psfs_1, self.psfs_2, self.psfs_3)

    @property
    def peg_score(self) -> float:
        """v2 PEG score: the mean of pain, enjoyment and activity interference, one decimal (higher is worse)."""
        return _mean_1dp(self.peg_pain, self.peg_enjoyment, self.peg_activity)


@dataclass(frozen=True, slots=True, kw_only=True)
class RedFlagReport:
    """v2: the red-flag items of a submission refused for another reason (a bad answer, no enrollment ...).

    R-01 and R-02 raise on it exactly as on an entry (qualifier ``report:<id>``, evidence kind
    `red_flag_report`); no other rule reads it. ``kind`` is the questionnaire it was meant to be.
    """

    id: int
    kind: str
    occurred_at: datetime
    local_date: date
    submitted_at: datetime | None = None
    safety_screen: tuple[str, ...] = ()
    safety_screen_unchanged: tuple[str, ...] = ()
    systemic_flags: tuple[str, ...] = ()

    @property
    def submitted(self) -> datetime:
        return self.submitted_at or self.occurred_at


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeScore:
    """A clinician-entered score: ``instrument`` is `ODI` (0-100, lower is better), `PSFS` (0-10) or `other`."""

    instrument: str
    score: float
    local_date: date
    id: int | None = None


class Firing(NamedTuple):
    """An alert raised or given new evidence recently, as the caller knows it.

    Input of R-07 (R-03..R-06, and R-12 in v2) and of R-11's v2 high variant (R-01, R-04, R-06, R-12).
    ``local_date`` is the clinic-local date of the entries it was raised on (its newest evidence); ``at`` is when
    it fired; without it, suppression falls back to comparing ``local_date`` with the date of the suppression
    instant.
    """

    rule_id: str
    local_date: date
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    """v2: how an alert of one (rule, qualifier) was resolved, for the suppression of later findings.

    ``at`` is the resolution instant; ``criteria`` and ``severity`` are those the resolved alert recorded;
    ``peaks`` is the highest value of each numeric evidence value name it recorded (e.g. ``thigh_level``).
    """

    at: datetime
    criteria: tuple[str, ...] = ()
    severity: str = SEVERITY_ROUTINE
    peaks: Mapping[str, float] = field(default_factory=lambda: _EMPTY_PEAKS)


_EMPTY_RESOLUTIONS: Mapping[tuple[str, str], Resolution] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientContext:
    """Everything the rules know about one patient, as of ``today`` (the clinic-local date).

    ``post_workouts`` and ``weeklies`` may be in any order and may include entries from before
    ``phase_since`` (needed for the baseline fallback); entries dated after ``today`` are ignored, so a
    replay can pass the whole history with an earlier ``today``.

    ``suppress_before`` maps (rule_id, qualifier) to the instant an alert of that key was resolved: entries
    at or before it are ignored by that rule and qualifier. Pass it as an aware datetime in the clinic's time
    zone: comparisons with ``occurred_at`` do not depend on the zone, but its ``.date()`` is the resolution
    day used for date-only items (outcome scores, firings without ``at``) and for restarting R-11's clocks.

    v2 ("When rules are judged"):

    - ``as_of``: judge as of one newly stored entry: entries and red-flag reports with ``occurred_at`` after it
      are ignored (the caller sets ``today`` to its clinic-local date).
    - ``now``: the wall clock of the evaluation (R-11 is judged as of now; an alert whose evidence entries all
      occurred more than 7 days before ``now`` is "reported late"). Default: ``as_of``, else the end of
      ``today``.
    - ``red_flag_reports``: refused submissions that carried red flags (R-01/R-02 only).
    - ``stable_items``: safety-screen item -> the latest date a therapist recorded it "assessed and stable"
      (R-01's high variant).
    - ``fracture_risk``: the therapist's flag on the patient (R-02: a fall is urgent).
    - ``resolutions``: (rule_id, qualifier) -> ``Resolution``; when present for a key it replaces
      ``suppress_before`` for that key with the v2 reading (entries dated or submitted after it count; a late
      entry re-opens only with something new). ``suppress_before`` keeps its v1 meaning for keys without one.
    """

    phase: str
    phase_since: date
    today: date
    enrolled: bool = True
    post_workouts: Sequence[PostWorkout] = ()
    weeklies: Sequence[Weekly] = ()
    outcome_scores: Sequence[OutcomeScore] = ()
    recent_firings: Sequence[Firing] = ()
    suppress_before: Mapping[tuple[str, str], datetime] = field(default_factory=lambda: _EMPTY_SUPPRESS)
    last_progression_date: date | None = None
    # v2 additions (v1 ignores them).
    as_of: datetime | None = None
    now: datetime | None = None
    red_flag_reports: Sequence[RedFlagReport] = ()
    stable_items: Mapping[str, date] = field(default_factory=lambda: _EMPTY_STABLE)
    fracture_risk: bool = False
    resolutions: Mapping[tuple[str, str], Resolution] = field(default_factory=lambda: _EMPTY_RESOLUTIONS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One entry that triggered a finding, with only the triggering values (never free text).

    ``kind`` is `post_workout`, `weekly`, `outcome_score` or (v2) `red_flag_report` (``entry_id`` is then the
    report's id); outcome scores have no ``occurred_at`` and their ``entry_id`` is ``OutcomeScore.id``
    (possibly None).
    """

    kind: str
    entry_id: int | None
    occurred_at: datetime | None
    local_date: date
    values: JsonDict


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One rule met for one qualifier. The caller upserts it as an alert keyed on (patient, rule_id, qualifier).

    ``values`` is JSON-serialisable (dates as ISO strings) and holds the series and numbers that were judged;
    ``criteria`` lists the criterion codes met (e.g. ("A", "C")); ``patient_advice`` is set for R-01/R-02.
    ``rationale`` is the one-line text for the therapist (rationale and suggested action, with any flag such as
    "Reported late." in front); v2 also fills ``action`` with the suggested action alone. ``reported_late``
    (v2) marks an alert built only on entries more than 7 days old, or re-opened by a late entry.
    """

    rule_id: str
    rule_slug: str
    qualifier: str
    severity: str
    criteria: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    values: JsonDict
    rationale: str
    title: str
    patient_advice: str | None = None
    ruleset: str = RULESET
    ruleset_version: int = RULESET_VERSION
    reported_late: bool = False
    action: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """The deduplication key (without the patient): (rule_id, qualifier)."""
        return (self.rule_id, self.qualifier)

    @property
    def latest_evidence_at(self) -> datetime | None:
        """The newest ``occurred_at`` among the evidence, or None when no evidence has one."""
        instants = [e.occurred_at for e in self.evidence if e.occurred_at is not None]
        return max(instants) if instants else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Advice:
    """A message for the patient in the submit response: ``level`` is `urgent` or `info`."""

    level: str
    message: str
    rule_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertSummary:
    """An unresolved alert, as the readiness check needs it."""

    rule_id: str
    severity: str
    qualifier: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TherapistRatings:
    """Therapist-rated readiness criteria 5-7: True clear, False not clear, None not rated (unknown)."""

    low_irritability: bool | None = None
    neuro_screen_clear: bool | None = None
    motor_control_clear: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionResult:
    """One readiness criterion: ``status`` is `pass`, `fail` or `unknown`; ``values`` is JSON-serialisable."""

    number: int
    code: str
    label: str
    status: str
    values: JsonDict


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadinessReport:
    """The readiness check treatment -> stabilization: criteria 1-7 in order."""

    criteria: tuple[CriterionResult, ...]

    @property
    def all_passed(self) -> bool:
        """True when every criterion passes; otherwise moving the patient needs a recorded reason."""
        return all(c.status == "pass" for c in self.criteria)

    @property
    def requires_reason(self) -> bool:
        return not self.all_passed

    def to_dict(self) -> JsonDict:
        """A JSON-serialisable form, to store with the phase transition."""
        return {
            "all_passed": self.all_passed,
            "criteria": [
                {"number": c.number, "code": c.code, "label": c.label, "status": c.status, "values": c.values}
                for c in self.criteria
            ],
        }
