"""Ruleset `core` v1, frozen: the engine as it was before v2, kept runnable for replays and comparisons.

It reads the shared input types of ``assessments.rules.types`` and ignores what v2 added to them. Its findings
carry ``ruleset_version=1``; its thresholds are ``ParamsV1`` (``Params`` is an alias inside this package).
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
from .params import DEFAULT_PARAMS, RULESET_VERSION, Params, ParamsV1
from .readiness import check_readiness

__all__ = [
    "CRITERIA",
    "DEFAULT_PARAMS",
    "R01_PATIENT_ADVICE",
    "R02_PATIENT_ADVICE",
    "RULES",
    "RULESET_VERSION",
    "Params",
    "ParamsV1",
    "RuleInfo",
    "check_readiness",
    "evaluate",
    "evaluate_red_flags",
    "neural_features",
    "red_flag_advice",
]
