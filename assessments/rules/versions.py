"""The registry of built-in ruleset versions: v1 (frozen, ``assessments.rules.v1``) and v2 (this package).

``RULESETS[version]`` gives a version's params class and defaults, its ``evaluate`` (every version accepts
``only=``), ``evaluate_red_flags``, catalog (rule id -> ``RuleInfo`` with slug, title, severity, rationale,
action and criteria) and, for v2, ``possible_rules`` (the screen the scan runs before judging entry by
entry). ``params_for(version, overrides)`` validates a clinic's overrides for that version.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from . import v1
from .catalog import RULES as V2_RULES
from .catalog import RuleInfo
from .engine import evaluate as evaluate_v2
from .engine import evaluate_red_flags as evaluate_red_flags_v2
from .params import DEFAULT_PARAMS, Params
from .paramspec import InvalidParams
from .screening import possible_rules
from .types import Finding, PatientContext

LATEST_VERSION: Final = 2

Evaluate = Callable[..., list[Finding]]


@dataclass(frozen=True, slots=True)
class RulesetVersion:
    """One built-in version of ruleset `core`."""

    version: int
    params_class: type[Any]
    default_params: Any
    evaluate: Evaluate
    evaluate_red_flags: Callable[..., list[Finding]]
    catalog: Mapping[str, RuleInfo]
    # The rules that may fire as of some point of a context (a sound screen, see ``screening``); None: all.
    possible_rules: Callable[[PatientContext, Any], frozenset[str]] | None = None


def _evaluate_v1(
    context: PatientContext, params: v1.ParamsV1 = v1.DEFAULT_PARAMS, *, only: Collection[str] | None = None
) -> list[Finding]:
    """v1's engine with the registry's uniform ``only=`` (v1 itself always runs every rule)."""
    found = v1.evaluate(context, params)
    return found if only is None else [f for f in found if f.rule_id in only]


def _v1_catalog() -> Mapping[str, RuleInfo]:
    """v1's RULES/CRITERIA in the catalog shape: its rationale split before its "Consider ..." action."""
    out: dict[str, RuleInfo] = {}
    for rule_id, info in v1.RULES.items():
        head, sep, tail = info.rationale.partition(" Consider ")
        rationale, action = (head, f"Consider {tail}") if sep else (info.rationale, "")
        out[rule_id] = RuleInfo(rule_id, info.slug, info.title, info.severity, rationale, action, v1.CRITERIA[rule_id])
    return MappingProxyType(out)


RULESETS: Final[Mapping[int, RulesetVersion]] = MappingProxyType(
    {
        1: RulesetVersion(1, v1.ParamsV1, v1.DEFAULT_PARAMS, _evaluate_v1, v1.evaluate_red_flags, _v1_catalog()),
        2: RulesetVersion(2, Params, DEFAULT_PARAMS, evaluate_v2, evaluate_red_flags_v2, V2_RULES, possible_rules),
    }
)


def params_for(version: int, overrides: Mapping[str, Any] | None = None) -> Any:
    """The thresholds of ``version`` with a clinic's ``overrides``; ``InvalidParams`` naming a bad key."""
    ruleset = RULESETS.get(version)
    if ruleset is None:
        known = ", ".join(str(v) for v in sorted(RULESETS))
        raise InvalidParams("(version)", f"no built-in ruleset version {version}; known: {known}")
    return ruleset.params_class.from_dict(overrides or {})
