"""The rules of ruleset `core` v2 (RULES.md v2) as pure functions of a ``PatientContext``: the orchestration.

``evaluate(context, params, only=...)`` returns one ``Finding`` per (rule, qualifier) whose criteria are met as of
``context.as_of`` (or the end of ``context.today``), in rule order. Each rule lives in its own module (see the
module docstrings for every reading of RULES.md): red_flags (R-01, R-02), stiffness (R-03), thigh (R-04),
neck (R-05), pain (R-06), phase_review (R-07), function (R-08), inflammatory (R-10), engagement (R-11),
bilateral (R-12). Shared pieces: ``windows`` (the windowed counts), ``baselines`` (phase and pre-transition
baselines), ``suppression`` (after a resolution), ``evidence`` (values and findings), ``prepare`` (the context
sorted and filtered once).

Deduplication against open alerts and escalation are the caller's job; the engine honours ``resolutions``
(v2) and ``suppress_before`` (v1 meaning, for keys without a resolution), and marks "reported late" findings.
R-07 and R-11 read the findings of the rules judged before them in the same evaluation, so they run last.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Final

from . import bilateral, engagement, function, inflammatory, neck, pain, phase_review, red_flags, stiffness, thigh
from .catalog import RULE_ORDER
from .params import DEFAULT_PARAMS, Params
from .prepare import Prepared
from .types import Finding, PatientContext

Judge = Callable[[Prepared, Sequence[Finding]], list[Finding]]

# In evaluation order: R-07 reads R-03..R-06 and R-12; R-11 reads.
_JUDGES: Final[tuple[tuple[str, Judge], ...]] = (
    ("R-01", red_flags.judge_r01),
    ("R-02", red_flags.judge_r02),
    ("R-03", stiffness.judge),
    ("R-04", thigh.judge),
    ("R-05", neck.judge),
    ("R-06", pain.judge),
    ("R-12", bilateral.judge),
    ("R-07", phase_review.judge),
    ("R-08", function.judge),
    ("R-10", inflammatory.judge),
    ("R-11", engagement.judge),
)
RULE_IDS: Final = frozenset(rule_id for rule_id, _ in _JUDGES)
_POSITION: Final = {rule_id: i for i, rule_id in enumerate(RULE_ORDER)}


def evaluate(
    context: PatientContext, params: Params = DEFAULT_PARAMS, *, only: Collection[str] | None = None
) -> list[Finding]:
    """Run the rules of ruleset v2 on ``context`` (those in ``only`` when given); findings in rule order.

    Rules switched off in ``params`` never run; R-01 and R-02 cannot be switched off. An unknown rule id in
    ``only`` is a ``ValueError``.
    """
    if only is not None:
        unknown = set(only) - RULE_IDS
        if unknown:
            raise ValueError(f"unknown rule ids: {', '.join(sorted(unknown))}")
    p = Prepared(context, params)
    findings: list[Finding] = []
    for rule_id, judge in _JUDGES:
        if (only is None or rule_id in only) and params.enabled(rule_id):
            findings.extend(judge(p, findings))
    findings.sort(key=lambda f: _POSITION[f.rule_id])
    return findings


def evaluate_red_flags(context: PatientContext, params: Params = DEFAULT_PARAMS) -> list[Finding]:
    """R-01 and R-02 alone: what a scan still raises when another rule cannot be evaluated."""
    return evaluate(context, params, only=("R-01", "R-02"))
