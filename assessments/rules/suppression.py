"""Suppression after a resolved alert (RULES.md "Deduplication", v2) for one (rule, qualifier).

Readings:

- With a ``Resolution`` for the key, an entry counts for that rule and qualifier when it is dated (``occurred_at``)
  or submitted (``submitted_at``) after ``Resolution.at``; outcome scores (date only) when dated after its day.
- A finding whose evidence includes an entry dated at or before ``at`` (a late entry: it counts only because
  it was submitted after the resolution) is kept only when it adds something the resolved alert had not
  recorded: a criterion not in ``Resolution.criteria``, a higher severity, or a numeric evidence value above
  ``Resolution.peaks`` of the same name. It is then marked "reported late". Otherwise the rule is judged again
  on the entries dated after ``at`` alone, so a genuinely new alert is never lost to a late entry.
- Names where a lower value is the worse one (PSFS items and score, global change, exercise days) are not
  compared with the peaks; R-08 records the PSFS drop as ``psfs_drop`` for that purpose.
- Without a ``Resolution``, ``suppress_before`` keeps its v1 meaning: entries at or before it are ignored.
- Independently, a finding whose evidence entries all occurred more than 7 days before now is "reported late".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .catalog import FLAG_REPORTED_LATE
from .evidence import EPS, with_flag
from .prepare import Prepared, Scope
from .types import SEVERITIES, Finding, PostWorkout, RedFlagReport, Resolution, Weekly

Entry = PostWorkout | Weekly

LOWER_IS_WORSE: Final = frozenset({"psfs_1", "psfs_2", "psfs_3", "psfs_score", "global_change", "exercise_days_7d"})
_RANK: Final = {severity: rank for rank, severity in enumerate(SEVERITIES)}
_LATE_ENTRY: Final = "Reported late: an entry dated before the last resolution adds to what was resolved."


def judge_key(p: Prepared, rule_id: str, qualifier: str, judge: Callable[[Scope], Finding | None]) -> Finding | None:
    """Run ``judge`` on the entries this (rule, qualifier) may see; apply the late-entry gate and flags."""
    key = (rule_id, qualifier)
    resolution = p.ctx.resolutions.get(key) if p.ctx.resolutions else None
    if resolution is None:
        cutoff = p.ctx.suppress_before.get(key) if p.ctx.suppress_before else None
        scope = p.full if cutoff is None else p.scope_after(cutoff, lenient=False)
        return p.mark_late(judge(scope))
    strict = p.scope_after(resolution.at, lenient=False)
    lenient = p.scope_after(resolution.at, lenient=True)
    if len(lenient.pws) == len(strict.pws) and len(lenient.wks) == len(strict.wks):
        return p.mark_late(judge(strict))
    found = judge(lenient)
    if found is not None:
        if not uses_late_entry(found, resolution):
            return p.mark_late(found)
        if adds_to(found, resolution):
            return with_flag(found, FLAG_REPORTED_LATE, _LATE_ENTRY)
    return p.mark_late(judge(strict))


def judge_entry(
    p: Prepared, rule_id: str, qualifier: str, entry: Entry | RedFlagReport, judge: Callable[[], Finding]
) -> Finding | None:
    """The same reading for a key that is one entry (the red flags): ``judge`` builds that entry's finding."""
    key = (rule_id, qualifier)
    resolution = p.ctx.resolutions.get(key) if p.ctx.resolutions else None
    if resolution is None:
        cutoff = p.ctx.suppress_before.get(key) if p.ctx.suppress_before else None
        if cutoff is not None and entry.occurred_at <= cutoff:
            return None
        return p.mark_late(judge())
    if entry.occurred_at > resolution.at:
        return p.mark_late(judge())
    if entry.submitted <= resolution.at:
        return None
    found = judge()
    return with_flag(found, FLAG_REPORTED_LATE, _LATE_ENTRY) if adds_to(found, resolution) else None


def uses_late_entry(finding: Finding, resolution: Resolution) -> bool:
    """Whether an evidence entry of ``finding`` is dated at or before the resolution."""
    at = resolution.at
    for e in finding.evidence:
        if e.occurred_at is not None and e.occurred_at <= at:
            return True
        if e.occurred_at is None and e.local_date <= at.date():
            return True
    return False


def adds_to(finding: Finding, resolution: Resolution) -> bool:
    """A criterion, a severity or a worse numeric value that the resolved alert had not recorded."""
    if set(finding.criteria) - set(resolution.criteria):
        return True
    if _RANK.get(finding.severity, 99) < _RANK.get(resolution.severity, 99):
        return True
    peaks = resolution.peaks
    for e in finding.evidence:
        for name, value in e.values.items():
            if name in LOWER_IS_WORSE or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            peak = peaks.get(name)
            if peak is not None and value > peak + EPS:
                return True
    return False
