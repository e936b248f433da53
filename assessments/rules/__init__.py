"""The pure rules engine of ruleset `core` (RULES.md): plain values in, findings out, no Django.

The names here are those of the latest version, v2. v1 stays runnable, frozen, in ``assessments.rules.v1``;
``RULESETS`` maps each built-in version to its engine, thresholds and catalog. Typical use by the scan::

    engine = RULESETS[version]
    params = params_for(version, clinic_overrides)
    context = PatientContext(phase=..., phase_since=..., today=..., as_of=entry.occurred_at, now=now, ...)
    for finding in engine.evaluate(context, params, only=rule_ids):
        ...  # upsert an alert keyed on (patient, finding.rule_id, finding.qualifier)
"""

from .catalog import (
    CRITERIA,
    FLAG_ALTERNATING,
    FLAG_PROGRESSION,
    FLAG_REPORTED_LATE,
    R01_PATIENT_ADVICE,
    R01_STABLE_PATIENT_ADVICE,
    R02_PATIENT_ADVICE,
    RULES,
    RuleInfo,
)
from .engine import RULE_IDS, evaluate, evaluate_red_flags
from .params import DEFAULT_PARAMS, SWITCHES, Params
from .paramspec import InvalidParams
from .readiness import check_readiness
from .red_flags import red_flag_advice
from .thigh import neural_features, one_sided_features
from .types import (
    PHASE_MAINTENANCE,
    PHASE_STABILIZATION,
    PHASE_TREATMENT,
    RULESET,
    RULESET_VERSION,
    SAFETY_SCREEN,
    SEVERITY_HIGH,
    SEVERITY_ROUTINE,
    SEVERITY_URGENT,
    Advice,
    AlertSummary,
    CriterionResult,
    Evidence,
    Finding,
    Firing,
    OutcomeScore,
    PatientContext,
    PostWorkout,
    ReadinessReport,
    RedFlagReport,
    Resolution,
    TherapistRatings,
    Weekly,
)
from .versions import LATEST_VERSION, RULESETS, RulesetVersion, params_for

__all__ = [
    "CRITERIA",
    "DEFAULT_PARAMS",
    "FLAG_ALTERNATING",
    "FLAG_PROGRESSION",
    "FLAG_REPORTED_LATE",
    "LATEST_VERSION",
    "PHASE_MAINTENANCE",
    "PHASE_STABILIZATION",
    "PHASE_TREATMENT",
    "R01_PATIENT_ADVICE",
    "R01_STABLE_PATIENT_ADVICE",
    "R02_PATIENT_ADVICE",
    "RULES",
    "RULESET",
    "RULESETS",
    "RULESET_VERSION",
    "RULE_IDS",
    "SAFETY_SCREEN",
    "SEVERITY_HIGH",
    "SEVERITY_ROUTINE",
    "SEVERITY_URGENT",
    "SWITCHES",
    "Advice",
    "AlertSummary",
    "CriterionResult",
    "Evidence",
    "Finding",
    "Firing",
    "InvalidParams",
    "OutcomeScore",
    "Params",
    "PatientContext",
    "PostWorkout",
    "ReadinessReport",
    "RedFlagReport",
    "Resolution",
    "RuleInfo",
    "RulesetVersion",
    "TherapistRatings",
    "Weekly",
    "check_readiness",
    "evaluate",
    "evaluate_red_flags",
    "neural_features",
    "one_sided_features",
    "params_for",
    "red_flag_advice",
]
