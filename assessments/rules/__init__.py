"""The pure rules engine of ruleset `core` v1 (RULES.md): plain values in, findings out, no Django.

Typical use by the scan::

    context = PatientContext(phase=..., phase_since=..., today=..., post_workouts=..., weeklies=...)
    for finding in evaluate(context, Params.from_dict(clinic_overrides)):
        ...  # upsert an alert keyed on (patient, finding.rule_id, finding.qualifier)
"""

from .engine import (
    CRITERIA,
    R01_PATIENT_ADVICE,
    R02_PATIENT_ADVICE,
    RULES,
    RuleInfo,
    evaluate,
    evaluate_red_flags,
    neural_features,
    red_flag_advice,
)
from .params import DEFAULT_PARAMS, InvalidParams, Params
from .readiness import check_readiness
from .types import (
    PHASE_MAINTENANCE,
    PHASE_STABILIZATION,
    PHASE_TREATMENT,
    RULESET,
    RULESET_VERSION,
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
    TherapistRatings,
    Weekly,
)

__all__ = [
    "CRITERIA",
    "DEFAULT_PARAMS",
    "PHASE_MAINTENANCE",
    "PHASE_STABILIZATION",
    "PHASE_TREATMENT",
    "R01_PATIENT_ADVICE",
    "R02_PATIENT_ADVICE",
    "RULES",
    "RULESET",
    "RULESET_VERSION",
    "SEVERITY_HIGH",
    "SEVERITY_ROUTINE",
    "SEVERITY_URGENT",
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
    "RuleInfo",
    "TherapistRatings",
    "Weekly",
    "check_readiness",
    "evaluate",
    "evaluate_red_flags",
    "neural_features",
    "red_flag_advice",
]
