"""Plain-value inputs and outputs of the rules engine.

Nothing here knows about Django. The scan loads a patient's entries once into these frozen dataclasses, the
engine computes findings from them, and the caller turns findings into alerts. Questionnaire field names and
answer codes are exactly those of RULES.md.

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
RULESET_VERSION: Final = 1

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

    @property
    def psfs_mean(self) -> float:
        """Mean of the three PSFS activities (0-10, higher is better)."""
        return (self.psfs_1 + self.psfs_2 + self.psfs_3) / 3


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeScore:
    """A clinician-entered score: ``instrument`` is `ODI` (0-100, lower is better), `PSFS` (0-10) or `other`."""

    instrument: str
    score: float
    local_date: date
    id: int | None = None


class Firing(NamedTuple):
    """An alert of R-03..R-06 raised or updated recently (input of R-07).

    ``at`` is when it fired; without it, suppression falls back to comparing ``local_date`` with the date of
    the suppression instant.
    """

    rule_id: str
    local_date: date
    at: datetime | None = None


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One entry that triggered a finding, with only the triggering values (never free text).

    ``kind`` is `post_workout`, `weekly` or `outcome_score`; outcome scores have no ``occurred_at`` and their
    ``entry_id`` is ``OutcomeScore.id`` (possibly None).
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
