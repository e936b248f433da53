"""R-08 function_decline (v2): PSFS, clinician ODI and PEG against the best of the phase.

Readings of RULES.md v2:

- Scores are those of the weeklies dated on or after ``phase_since`` (PSFS and PEG scores: the mean of their
  three items, one decimal). Phase bests are reference values, computed from every weekly of the phase; the
  judged weeklies are the latest visible ones (after a resolution: dated or submitted after it).
- A: the PSFS phase best is the best mean of 2 consecutive weeklies of the phase; each of the last 2 weeklies has
  a PSFS score <= max(best - 2, 0) and below the best. The evidence records the drop as ``psfs_drop``.
- B: the latest clinician ODI of the phase is >= 10 points above the lowest (best) ODI of the phase
  (v2: no 30% arm). Clinician PSFS scores are not used here (they count in readiness criterion 4).
- C (v2): the PEG phase best is the lowest single PEG score of the phase; each of the last 2 weeklies has a PEG
  score >= min(best + 2, 10) and above the best.
"""

from __future__ import annotations

from collections.abc import Sequence

from .baselines import above, below
from .evidence import Bag, Json, make_finding, num, point
from .prepare import Prepared, Scope
from .suppression import judge_key
from .types import Finding, OutcomeScore, Weekly
from .windows import since


def judge(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    found = judge_key(p, "R-08", "", lambda scope: _judge(p, scope))
    return [found] if found is not None else []


def _judge(p: Prepared, scope: Scope) -> Finding | None:
    phase = since(p.wks, p.ctx.phase_since)
    judged = since(scope.wks, p.ctx.phase_since)
    bag = Bag()
    values: Json = {}
    for code, met in (
        ("A", _psfs(p, phase, judged, bag)),
        ("B", _odi(p, scope.scores, bag)),
        ("C", _peg(p, phase, judged, bag)),
    ):
        if met:
            values[code] = met
    if not values:
        return None
    return make_finding("R-08", criteria=list(values), bag=bag, values=values)


def psfs_phase_best(phase: Sequence[Weekly], size: int) -> tuple[float, list[Weekly]] | None:
    """The best mean PSFS score of ``size`` consecutive weeklies of the phase, and those weeklies."""
    scores = [e.psfs_score for e in phase]
    best: tuple[float, int] | None = None
    for i in range(len(phase) - size + 1):
        mean = sum(scores[i : i + size]) / size
        if best is None or mean > best[0]:
            best = (mean, i)
    return None if best is None else (best[0], list(phase[best[1] : best[1] + size]))


def _psfs(p: Prepared, phase: list[Weekly], judged: list[Weekly], bag: Bag) -> Json | None:
    params = p.params
    n = params.r08_psfs_consecutive
    found = psfs_phase_best(phase, params.r08_psfs_best_of)
    if found is None or len(judged) < n:
        return None
    best, run = found
    last = judged[-n:]
    if not all(below(e.psfs_score, best, params.r08_psfs_drop) for e in last):
        return None
    for e in last:
        bag.add(e, "psfs_1", "psfs_2", "psfs_3", "psfs_score", psfs_drop=num(best - e.psfs_score))
    return {
        "series": [point(e, "psfs_score") for e in last],
        "phase_best": {"mean": num(best), "weeklies": [point(e, "psfs_score") for e in run]},
        "drop_at_least": num(params.r08_psfs_drop),
        "consecutive": n,
    }


def _odi(p: Prepared, visible: list[OutcomeScore], bag: Bag) -> Json | None:
    since_day = p.ctx.phase_since
    all_odi = [s for s in p.scores if s.instrument == "ODI" and s.local_date >= since_day]
    latest: OutcomeScore | None = None
    for s in visible:  # the last given of the latest date wins: the order given is the order entered
        if (
            s.instrument == "ODI"
            and s.local_date >= since_day
            and (latest is None or s.local_date >= latest.local_date)
        ):
            latest = s
    if latest is None:
        return None
    best = min(all_odi, key=lambda s: (s.score, s.local_date))
    if not above(latest.score, best.score, p.params.r08_odi_points, cap=100):
        return None
    bag.add_score(latest)
    return {
        "latest": {"date": latest.local_date.isoformat(), "score": num(latest.score)},
        "phase_best": {"date": best.local_date.isoformat(), "score": num(best.score)},
        "rise": num(latest.score - best.score),
        "rise_points_at_least": num(p.params.r08_odi_points),
    }


def _peg(p: Prepared, phase: list[Weekly], judged: list[Weekly], bag: Bag) -> Json | None:
    params = p.params
    n = params.r08_peg_consecutive
    if not phase or len(judged) < n:
        return None
    best = min(phase, key=lambda e: (e.peg_score, e.local_date))
    last = judged[-n:]
    if not all(above(e.peg_score, best.peg_score, params.r08_peg_rise) for e in last):
        return None
    for e in last:
        bag.add(e, "peg_pain", "peg_enjoyment", "peg_activity", "peg_score")
    return {
        "series": [point(e, "peg_score") for e in last],
        "phase_best": point(best, "peg_score"),
        "rise_at_least": num(params.r08_peg_rise),
        "consecutive": n,
    }
