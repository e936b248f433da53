"""R-07 phase_review (v2): >= 2 distinct rules of R-03..R-06 or R-12 opened, or given new evidence, within 14 d
during the stabilization phase.

Readings of RULES.md v2:

- Inputs: the caller's ``recent_firings`` of those rules (alerts raised or given new evidence, dated by the
  entries they were raised on) and this evaluation's findings of those rules, each dated by its newest evidence
  entry (a finding whose newest entry is within the window was opened or given that entry as evidence within
  it). With ``only`` excluding those rules, only the caller's firings count.
- The window is the 14 days ending on the judged day, and never before ``phase_since``; only in stabilization.
- Suppression: after an R-07 alert is resolved, firings at or before the resolution (by ``at``, else by day)
  no longer count, nor do this evaluation's findings whose newest evidence is at or before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Final

from .evidence import Bag, Json, make_finding
from .prepare import Prepared
from .types import PHASE_STABILIZATION, Finding, Firing

INPUT_RULES: Final = frozenset({"R-03", "R-04", "R-05", "R-06", "R-12"})


def as_firings(findings: Sequence[Finding], rules: frozenset[str]) -> list[Firing]:
    """This evaluation's findings of ``rules`` as firings dated by their newest evidence."""
    out: list[Firing] = []
    for f in findings:
        if f.rule_id in rules and f.evidence:
            newest = max(f.evidence, key=lambda e: (e.local_date, e.occurred_at is not None, e.occurred_at))
            out.append(Firing(f.rule_id, newest.local_date, newest.occurred_at))
    return out


def _cutoff(p: Prepared) -> datetime | None:
    key = ("R-07", "")
    resolution = p.ctx.resolutions.get(key) if p.ctx.resolutions else None
    if resolution is not None:
        return resolution.at
    return p.ctx.suppress_before.get(key) if p.ctx.suppress_before else None


def _counts(firing: Firing, start: date, today: date, cutoff: datetime | None) -> bool:
    if firing.rule_id not in INPUT_RULES or not start <= firing.local_date <= today:
        return False
    if cutoff is None:
        return True
    if firing.at is not None:
        return firing.at > cutoff
    return firing.local_date > cutoff.date()


def judge(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    ctx = p.ctx
    if ctx.phase != PHASE_STABILIZATION:
        return []
    params = p.params
    start = max(p.start(params.r07_window_days), ctx.phase_since)
    cutoff = _cutoff(p)
    candidates = [*ctx.recent_firings, *as_firings(earlier, INPUT_RULES)]
    firings = {(f.rule_id, f.local_date) for f in candidates if _counts(f, start, p.today, cutoff)}
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
    return [make_finding("R-07", criteria=["A"], bag=Bag(), values=values)]
