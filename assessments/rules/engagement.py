"""R-11 engagement_drop (v2): counts only, judged as of now.

Readings of RULES.md v2:

- R-11 is judged as of the evaluation's ``today`` on every visible entry, by ``occurred_at`` (a back-filled
  diary entry counts on the day it occurred). The scan calls it alone (``only={"R-11"}``) as of now, with
  ``today`` = now's clinic-local date, once a burst of submissions is over; waiting for the burst
  (``r11_burst_quiet_minutes``) and closing an alert whose condition no longer holds (`cleared`) are the
  caller's job. It is never flagged "reported late": it is about what has not been reported.
- A: enrolled and no session for >= 7 days, counted from the later of the last session, ``phase_since`` and
  the resolution day; B: the latest 2 weeklies (after a resolution: dated or submitted after it) both have
  `exercise_days_7d` <= 2; C: enrolled and no weekly for >= 2 x 7 days, counted as A.
- High (v2): when an R-01, R-04, R-06 or R-12 alert was raised on entries dated within the 14 days ending on
  the patient's last entry (that day included): the caller's ``recent_firings`` of those rules (dated by their
  entries) and this evaluation's findings of them (dated by their newest evidence). The text names the
  latest such firing: "no report since <rule> on <date>; contact the patient".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Final

from .evidence import Bag, Json, make_finding, point
from .phase_review import as_firings
from .prepare import Prepared
from .types import SEVERITY_HIGH, SEVERITY_ROUTINE, Finding, Firing, Weekly

HIGH_RULES: Final = frozenset({"R-01", "R-04", "R-06", "R-12"})


def _cutoff(p: Prepared) -> tuple[datetime | None, bool]:
    """The resolution instant of R-11, and whether it is a v2 ``Resolution`` (entries submitted after count)."""
    key = ("R-11", "")
    resolution = p.ctx.resolutions.get(key) if p.ctx.resolutions else None
    if resolution is not None:
        return resolution.at, True
    return (p.ctx.suppress_before.get(key) if p.ctx.suppress_before else None), False


def _days_since(today: date, *days: date | None) -> int:
    return (today - max(d for d in days if d is not None)).days


def judge(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    ctx, params = p.ctx, p.params
    cutoff, lenient = _cutoff(p)
    resolved_on = cutoff.date() if cutoff is not None else None
    bag = Bag()
    values: Json = {}
    if ctx.enrolled:
        last_session = p.pws[-1].local_date if p.pws else None
        days = _days_since(p.today, last_session, ctx.phase_since, resolved_on)
        if days >= params.r11_no_session_days:
            values["A"] = {
                "days_without_session": days,
                "last_session_date": last_session.isoformat() if last_session else None,
                "threshold_days": params.r11_no_session_days,
            }
    low = _low_exercise(p, cutoff, lenient)
    if low:
        values["B"] = {"series": [point(e, "exercise_days_7d") for e in low]}
        values["B"].update(at_most=params.r11_low_exercise_days, times=params.r11_low_exercise_times)
        bag.add_all(low, "exercise_days_7d")
    if ctx.enrolled:
        missed = _missed_weeklies(p, resolved_on)
        if missed is not None:
            values["C"] = missed
    if not values:
        return []
    return [_finding(p, earlier, bag, values)]


def _low_exercise(p: Prepared, cutoff: datetime | None, lenient: bool) -> list[Weekly]:
    wks = p.wks
    if cutoff is not None:
        wks = [e for e in wks if e.occurred_at > cutoff or (lenient and e.submitted > cutoff)]
    times = p.params.r11_low_exercise_times
    last = wks[-times:]
    if len(last) < times or any(e.exercise_days_7d > p.params.r11_low_exercise_days for e in last):
        return []
    return last


def _missed_weeklies(p: Prepared, resolved_on: date | None) -> Json | None:
    params = p.params
    last_weekly = p.wks[-1].local_date if p.wks else None
    days = _days_since(p.today, last_weekly, p.ctx.phase_since, resolved_on)
    cadence = params.r11_weekly_cadence_days
    if days < cadence * params.r11_weeklies_missed:
        return None
    return {
        "days_without_weekly": days,
        "weeklies_missed": days // cadence,
        "last_weekly_date": last_weekly.isoformat() if last_weekly else None,
        "expected_every_days": cadence,
        "threshold_missed": params.r11_weeklies_missed,
    }


def _finding(p: Prepared, earlier: Sequence[Finding], bag: Bag, values: Json) -> Finding:
    firing = _recent_serious_firing(p, earlier)
    if firing is None:
        return make_finding("R-11", criteria=list(values), bag=bag, values=values, severity=SEVERITY_ROUTINE)
    text = f"no report since {firing.rule_id} on {firing.local_date.isoformat()}; contact the patient"
    values["no_report_since"] = {
        "rule_id": firing.rule_id,
        "date": firing.local_date.isoformat(),
        "lookback_days": p.params.r11_high_lookback_days,
        "text": text,
    }
    action = f"No report since {firing.rule_id} on {firing.local_date.isoformat()}: consider contacting the patient."
    return make_finding(
        "R-11", criteria=list(values)[:-1], bag=bag, values=values, severity=SEVERITY_HIGH, action=action
    )


def _recent_serious_firing(p: Prepared, earlier: Sequence[Finding]) -> Firing | None:
    """The latest firing of R-01/R-04/R-06/R-12 dated within the 14 days ending on the patient's last entry."""
    newest = max([e.local_date for e in p.pws[-1:]] + [e.local_date for e in p.wks[-1:]], default=None)
    if newest is None:
        return None
    start = newest - timedelta(days=p.params.r11_high_lookback_days - 1)
    candidates = [*p.ctx.recent_firings, *as_firings(earlier, HIGH_RULES)]
    recent = [f for f in candidates if f.rule_id in HIGH_RULES and start <= f.local_date <= newest]
    if not recent:
        return None
    return max(recent, key=lambda f: (f.local_date, f.rule_id))
