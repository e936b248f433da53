"""R-03 stiffening_back (v2): criteria A-E.

Readings of RULES.md v2:

- A and C are absolute counts (``windows.windowed``). B, D and E are relative to the baselines
  (``baselines.judge_relative``: the phase baseline, and in the first 6 weeks of stabilization the
  pre-transition baseline too, firing on either); without a baseline only A and C apply.
- B: the mean `back_stiffness_now` of the last 3 sessions >= min(baseline + 2, 10) and above it; the newest of
  the 3 must come after the baseline's sessions.
- D duration (v2 wording): each of the last 2 weeklies, all after the baseline's weeklies, is >= 1
  `morning_stiffness_duration` category above the baseline category (the higher of the 2 baseline weeklies),
  capped at the longest category, and the latest is `15_30` or longer. D level: the latest weekly's
  `morning_stiffness_level` >= min(baseline + 2, 10) and above it (one weekly, as in v1: "each of the last 2"
  belongs to the duration arm).
- E (v2, slow creep): blocks of 7 calendar days ending on the newest session's date (block i covers
  newest - 7(i+1) + 1 .. newest - 7i), at most 6 blocks back; empty blocks are skipped; the last 3 non-empty
  blocks' means of `back_stiffness_now` must rise strictly (oldest < middle < newest) and the newest block's
  mean must be >= min(baseline + 1.5, 10) and above it; the newest session must come after the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from itertools import pairwise
from typing import Final, NamedTuple

from .baselines import judge_relative
from .evidence import EPS, Bag, Json, make_finding, num, point
from .params import Params
from .prepare import Prepared, Scope
from .suppression import judge_key
from .types import MORNING_STIFFNESS_DURATIONS, Finding, PostWorkout, Weekly
from .windows import windowed

RANK: Final = {code: rank for rank, code in enumerate(MORNING_STIFFNESS_DURATIONS)}
_LONGEST: Final = len(MORNING_STIFFNESS_DURATIONS) - 1


def judge(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    found = judge_key(p, "R-03", "", lambda scope: _judge(p, scope))
    return [found] if found is not None else []


def _judge(p: Prepared, scope: Scope) -> Finding | None:
    bag = Bag()
    criteria: list[str] = []
    values: Json = {}
    for code, met in (
        ("A", _a(p, scope.pws, bag)),
        ("B", _b(p, scope.pws, bag)),
        ("C", _c(p, scope.pws, bag)),
        ("D", _d(p, scope.wks, bag)),
        ("E", _e(p, scope.pws, bag)),
    ):
        if met:
            criteria.append(code)
            values[code] = met
    if not criteria:
        return None
    return make_finding("R-03", criteria=criteria, bag=bag, values=values)


def _a(p: Prepared, pws: list[PostWorkout], bag: Bag) -> Json | None:
    """(A) `stiffer` in >= 2 of the last 3 sessions within 14 d."""
    params = p.params
    w = windowed(
        pws,
        p.today,
        k=params.r03_stiffer_count,
        of_last=params.r03_stiffer_of_last,
        days=params.r03_window_days,
        where=lambda e: e.stiffness_change == "stiffer",
    )
    if not w.met:
        return None
    bag.add_all(w.hits, "stiffness_change")
    return {"series": [point(e, "stiffness_change") for e in w.judged], **w.describe()}


def _b(p: Prepared, pws: list[PostWorkout], bag: Bag) -> Json | None:
    """(B) mean back_stiffness_now of the last 3 sessions >= baseline + 2."""
    n = p.params.r03_mean_of_last
    if len(pws) < n:
        return None
    last = pws[-n:]
    mean = sum(e.back_stiffness_now for e in last) / n
    rel = judge_relative(
        p.pw_baselines,
        last,
        base_of=lambda b: b.median(lambda e: e.back_stiffness_now),
        observed=lambda _: [mean],
        delta=p.params.r03_mean_delta,
        each=False,
    )
    if rel is None:
        return None
    bag.add_all(last, "back_stiffness_now")
    return {"series": [point(e, "back_stiffness_now") for e in last], "mean": num(mean), **rel.describe()}


def _c(p: Prepared, pws: list[PostWorkout], bag: Bag) -> Json | None:
    """(C) `clearly_restricted` >= 2 times in 7 d."""
    params = p.params
    w = windowed(
        pws,
        p.today,
        k=params.r03_restricted_count,
        days=params.r03_restricted_window_days,
        where=lambda e: e.spine_check == "clearly_restricted",
    )
    if not w.met:
        return None
    bag.add_all(w.hits, "spine_check")
    return {"series": [point(e, "spine_check") for e in w.hits], **w.describe()}


def _d(p: Prepared, wks: list[Weekly], bag: Bag) -> Json:
    """(D) duration category above the baseline category on each of the last 2 weeklies, or level + 2."""
    out: Json = {}
    duration = _d_duration(p, wks)
    if duration is not None:
        out["duration_above_baseline"] = duration
        bag.add_all(wks[-p.params.r03_morning_duration_times :], "morning_stiffness_duration")
    if wks:
        rel = judge_relative(
            p.wk_baselines,
            wks[-1:],
            base_of=lambda b: b.mean(lambda e: e.morning_stiffness_level),
            observed=lambda judged: [judged[-1].morning_stiffness_level],
            delta=p.params.r03_morning_level_delta,
            each=True,
        )
        if rel is not None:
            out["level_above_baseline"] = {"latest": point(wks[-1], "morning_stiffness_level"), **rel.describe()}
            bag.add(wks[-1], "morning_stiffness_level")
    return out


def _d_duration(p: Prepared, wks: list[Weekly]) -> Json | None:
    params = p.params
    n = params.r03_morning_duration_times
    if len(wks) < n or RANK[wks[-1].morning_stiffness_duration] < RANK[params.r03_morning_duration_latest_min]:
        return None
    last = wks[-n:]
    rel = judge_relative(
        p.wk_baselines,
        last,
        base_of=lambda b: b.highest(lambda e: RANK[e.morning_stiffness_duration]),
        observed=lambda judged: [RANK[e.morning_stiffness_duration] for e in judged],
        delta=params.r03_morning_duration_step,
        each=True,
        cap=_LONGEST,
    )
    if rel is None:
        return None
    described = rel.describe()
    for b in described["baselines"]:  # categories, not numbers, for the therapist
        b["category"] = MORNING_STIFFNESS_DURATIONS[int(b["value"])]
        b["threshold_category"] = MORNING_STIFFNESS_DURATIONS[int(b["threshold"])]
    return {
        "series": [point(e, "morning_stiffness_duration") for e in last],
        "latest_at_least": params.r03_morning_duration_latest_min,
        "categories_above": params.r03_morning_duration_step,
        **described,
    }


class Block(NamedTuple):
    """One non-empty block of R-03 E: its calendar days and its sessions."""

    start: date
    end: date
    sessions: list[PostWorkout]

    @property
    def mean(self) -> float:
        return sum(e.back_stiffness_now for e in self.sessions) / len(self.sessions)


def blocks(pws: Sequence[PostWorkout], params: Params) -> list[Block]:
    """The non-empty 7-day blocks ending on the newest session's date, newest first, at most 6 blocks back."""
    if not pws:
        return []
    newest = pws[-1].local_date
    size = params.r03_block_days
    oldest = newest - timedelta(days=size * params.r03_max_blocks - 1)
    found: dict[int, list[PostWorkout]] = {}
    for e in reversed(pws):
        if e.local_date < oldest:
            break
        found.setdefault((newest - e.local_date).days // size, []).insert(0, e)
    return [
        Block(newest - timedelta(days=size * (i + 1) - 1), newest - timedelta(days=size * i), found[i])
        for i in sorted(found)
    ]


def _e(p: Prepared, pws: list[PostWorkout], bag: Bag) -> Json | None:
    """(E) slow creep: the last 3 non-empty blocks' mean stiffness rising strictly, the last >= baseline + 1.5."""
    params = p.params
    chosen = list(reversed(blocks(pws, params)[: params.r03_blocks_compared]))
    if len(chosen) < params.r03_blocks_compared:
        return None
    means = [b.mean for b in chosen]
    if any(later <= earlier + EPS for earlier, later in pairwise(means)):
        return None
    rel = judge_relative(
        p.pw_baselines,
        chosen[-1].sessions,
        base_of=lambda b: b.median(lambda e: e.back_stiffness_now),
        observed=lambda _: [means[-1]],
        delta=params.r03_creep_delta,
        each=False,
    )
    if rel is None:
        return None
    for block in chosen:
        bag.add_all(block.sessions, "back_stiffness_now")
    described = [
        {
            "from": b.start.isoformat(),
            "to": b.end.isoformat(),
            "mean": num(b.mean),
            "series": [point(e, "back_stiffness_now") for e in b.sessions],
        }
        for b in chosen
    ]
    return {"blocks": described, "block_days": params.r03_block_days, **rel.describe()}
