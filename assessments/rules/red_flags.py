"""R-01 red_flag_ces and R-02 red_flag_systemic (v2): one alert per red-flag entry or report, never delayed.

Readings of RULES.md v2:

- Sources: post-workout entries and (v2) weeklies for R-01's safety screen, weeklies for R-02's systemic flags,
  and (v2) red-flag reports (refused submissions) for both, with qualifier ``report:<id>`` and evidence kind
  `red_flag_report`; entries keep ``entry:<id>``. Red flags have no time window: every visible red-flag entry
  yields its finding at every evaluation, and the caller's deduplication on the key keeps one alert per entry.
- R-01 severity: `high` (criterion B) only when every reported item is marked unchanged AND has a therapist's
  "assessed and stable" record dated within the 90 days ending on the entry's date (a record dated after the
  entry does not count: it was not known when the patient reported). Any new or worse item, or an unchanged
  item without such a record, keeps it `urgent` (criterion A). Items marked unchanged but not reported are
  ignored. ``values``: items, new_or_worse, unchanged, assessed_stable (item -> record date).
- R-02: a flag other than `fall_or_injury` is criterion A (urgent); `fall_or_injury` is B (high alone) and is
  urgent with C when the therapist recorded fracture risk, or within the 7 days either side of the report's
  date (days d-6 .. d+6, entries visible as of ``as_of``; later entries escalate the same alert when they
  arrive): `back_pain_now` (sessions) or `back_pain_avg_7d` (weeklies) is >= 2 above its last value before the
  fall (min(value + 2, 10) and above it, as every "+ n"); leg symptoms appear (`thigh_symptoms` not `none`)
  where the last session before had none (or there was no session before); or any safety-screen item is
  reported on an entry or report. "Its last value before the fall report" is read as the last value before
  that 7-day window: the weekly's fall happened at some point in the week it covers, so sessions of that week
  may already be after the fall.
- ``red_flag_advice``: the R-01 high-variant message uses level `info` (it is not an emergency instruction; the
  submit response still shows it); R-02 stays `urgent` whatever the flag, since the submit response has no
  context to tell a lone fall from an escalated one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from types import MappingProxyType
from typing import Final, TypeVar

from .baselines import above, sort_key
from .catalog import R01_PATIENT_ADVICE, R01_STABLE_PATIENT_ADVICE, R02_PATIENT_ADVICE
from .evidence import Bag, Json, make_finding, point
from .params import DEFAULT_PARAMS, Params
from .prepare import Prepared
from .suppression import judge_entry
from .types import (
    KIND_RED_FLAG_REPORT,
    SEVERITY_HIGH,
    SEVERITY_URGENT,
    Advice,
    Finding,
    PostWorkout,
    RedFlagReport,
    Weekly,
)

Source = PostWorkout | Weekly | RedFlagReport
FALL: Final = "fall_or_injury"
_NO_STABLE: Mapping[str, date] = MappingProxyType({})


def qualifier(source: Source) -> str:
    """``entry:<id>`` for entries, ``report:<id>`` for red-flag reports."""
    return f"report:{source.id}" if isinstance(source, RedFlagReport) else f"entry:{source.id}"


def stable_records(items: Iterable[str], stable_items: Mapping[str, date], on: date, days: int) -> dict[str, date]:
    """The items with an "assessed and stable" record dated within the ``days`` days ending on ``on``."""
    out: dict[str, date] = {}
    for item in items:
        recorded = stable_items.get(item)
        if recorded is not None and 0 <= (on - recorded).days < days:
            out[item] = recorded
    return out


def r01_is_high(items: Sequence[str], unchanged: Collection[str], stable: Mapping[str, date]) -> bool:
    """R-01's high variant: every item unchanged and recorded stable (an empty screen is never high)."""
    return bool(items) and all(item in unchanged and item in stable for item in items)


def red_flag_advice(
    safety_screen: Iterable[str],
    systemic_flags: Iterable[str],
    *,
    unchanged: Iterable[str] = (),
    stable_items: Mapping[str, date] = _NO_STABLE,
    today: date | None = None,
    params: Params = DEFAULT_PARAMS,
) -> list[Advice]:
    """The patient's messages for red-flag answers, for the submit response (no history needed).

    Without ``today`` no stable record can be dated, so every safety-screen item gets the urgent advice.
    """
    items = list(safety_screen)
    advice: list[Advice] = []
    if items:
        stable = {} if today is None else stable_records(items, stable_items, today, params.r01_stable_days)
        if r01_is_high(items, set(unchanged), stable):
            advice.append(Advice(level="info", message=R01_STABLE_PATIENT_ADVICE, rule_id="R-01"))
        else:
            advice.append(Advice(level=SEVERITY_URGENT, message=R01_PATIENT_ADVICE, rule_id="R-01"))
    if any(True for _ in systemic_flags):
        advice.append(Advice(level=SEVERITY_URGENT, message=R02_PATIENT_ADVICE, rule_id="R-02"))
    return advice


def _order(source: Source) -> tuple[object, ...]:
    return (*sort_key(source), isinstance(source, RedFlagReport))


def _screened(p: Prepared) -> list[Source]:
    """Every entry and report with a safety-screen item, in time order."""
    found: list[Source] = [e for e in p.pws if e.safety_screen]
    found += [e for e in p.wks if e.safety_screen]
    found += [r for r in p.reports if r.safety_screen]
    return sorted(found, key=_order)


def _systemic(p: Prepared) -> list[Weekly | RedFlagReport]:
    """Every weekly and report with a systemic flag, in time order."""
    found: list[Weekly | RedFlagReport] = [e for e in p.wks if e.systemic_flags]
    found += [r for r in p.reports if r.systemic_flags]
    return sorted(found, key=_order)


def _where(source: Source) -> Json:
    """Which entry or report, and when."""
    if isinstance(source, RedFlagReport):
        out: Json = {"report_id": source.id, "source": KIND_RED_FLAG_REPORT}
    else:
        out = {"entry_id": source.id, "source": "post_workout" if isinstance(source, PostWorkout) else "weekly"}
    out["occurred_at"] = source.occurred_at.isoformat()
    out["date"] = source.local_date.isoformat()
    if source.submitted_at is not None:
        out["submitted_at"] = source.submitted_at.isoformat()
    return out


# --- R-01 red_flag_ces ----------------------------------------------------------------------------------------


def judge_r01(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    out: list[Finding] = []
    for source in _screened(p):
        if source.safety_screen:
            found = judge_entry(p, "R-01", qualifier(source), source, partial(_r01_finding, p, source))
            if found is not None:
                out.append(found)
    return out


def _r01_finding(p: Prepared, source: Source) -> Finding:
    items = list(source.safety_screen)
    unchanged = [i for i in items if i in source.safety_screen_unchanged]
    stable = stable_records(unchanged, p.ctx.stable_items, source.local_date, p.params.r01_stable_days)
    high = r01_is_high(items, unchanged, stable)
    advice = R01_STABLE_PATIENT_ADVICE if high else R01_PATIENT_ADVICE
    bag = Bag()
    bag.add(source, "safety_screen", *(["safety_screen_unchanged"] if unchanged else []))
    values: Json = {
        "items": items,
        "new_or_worse": [i for i in items if i not in unchanged],
        "unchanged": unchanged,
        "assessed_stable": {item: day.isoformat() for item, day in stable.items()},
        "stable_within_days": p.params.r01_stable_days,
        **_where(source),
        "patient_told": advice,
    }
    return make_finding(
        "R-01",
        qualifier=qualifier(source),
        criteria=["B" if high else "A"],
        bag=bag,
        values=values,
        severity=SEVERITY_HIGH if high else SEVERITY_URGENT,
        patient_advice=advice,
    )


# --- R-02 red_flag_systemic -----------------------------------------------------------------------------------


def judge_r02(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    out: list[Finding] = []
    for source in _systemic(p):
        if source.systemic_flags:
            found = judge_entry(p, "R-02", qualifier(source), source, partial(_r02_finding, p, source))
            if found is not None:
                out.append(found)
    return out


def _r02_finding(p: Prepared, source: Weekly | RedFlagReport) -> Finding:
    flags = list(source.systemic_flags)
    bag = Bag()
    bag.add(source, "systemic_flags")
    criteria = ["A"] if any(f != FALL for f in flags) else []
    values: Json = {"items": flags, **_where(source), "patient_told": R02_PATIENT_ADVICE}
    if FALL in flags:
        criteria.append("B")
        escalation = _fall_escalation(p, source, bag)
        values["fall"] = {"urgent": bool(escalation), **escalation}
        if escalation:
            criteria.append("C")
    severity = SEVERITY_URGENT if "A" in criteria or "C" in criteria else SEVERITY_HIGH
    return make_finding(
        "R-02",
        qualifier=qualifier(source),
        criteria=criteria,
        bag=bag,
        values=values,
        severity=severity,
        patient_advice=R02_PATIENT_ADVICE,
    )


def _fall_escalation(p: Prepared, report: Weekly | RedFlagReport, bag: Bag) -> Json:
    """What makes a fall urgent (empty: high alone), with the entries that show it added to ``bag``."""
    span = p.params.r02_fall_window_days
    lo = report.local_date - timedelta(days=span - 1)
    hi = report.local_date + timedelta(days=span - 1)
    reasons: Json = {}
    if p.ctx.fracture_risk:
        reasons["fracture_risk"] = True
    rises = _pain_rises(p, lo, hi, report.occurred_at, bag)
    if rises:
        reasons["pain_rise"] = rises
    legs = _new_leg_symptoms(p, lo, hi, report.occurred_at, bag)
    if legs:
        reasons["new_leg_symptoms"] = legs
    screens = [s for s in _screened(p) if lo <= s.local_date <= hi]
    if screens:
        reasons["safety_screen"] = [{**_where(s), "items": list(s.safety_screen)} for s in screens]
        for s in screens:
            bag.add(s, "safety_screen")
    if reasons:
        reasons["window_days"] = span
    return reasons


_E = TypeVar("_E", PostWorkout, Weekly)


def _references(entries: Sequence[_E], lo: date, reported_at: datetime) -> list[_E]:
    """The entries a value before the fall is read from: the last one before the fall report, and the last one
    before its 7-day window (the weekly's fall may lie anywhere in the week it covers). Either may fire."""
    found: list[_E] = []
    for before in ([e for e in entries if e.occurred_at < reported_at], [e for e in entries if e.local_date < lo]):
        if before and before[-1] not in found:
            found.append(before[-1])
    return found


def _pain_rises(p: Prepared, lo: date, hi: date, reported_at: datetime, bag: Bag) -> list[Json]:
    window = (lo, hi, reported_at)
    return [
        *_rises_in(p.pws, "back_pain_now", window, p.params.r02_fall_pain_rise, bag),
        *_rises_in(p.wks, "back_pain_avg_7d", window, p.params.r02_fall_pain_rise, bag),
    ]


def _rises_in(
    entries: Sequence[_E], name: str, window: tuple[date, date, datetime], rise: float, bag: Bag
) -> list[Json]:
    """Entries of the fall's window whose ``name`` is ``rise`` above a value before the fall (either reading)."""
    lo, hi, reported_at = window
    for ref in _references(entries, lo, reported_at):
        reference = getattr(ref, name)
        out: list[Json] = []
        for e in entries:
            later = e.occurred_at > ref.occurred_at
            if later and lo <= e.local_date <= hi and above(getattr(e, name), reference, rise):
                out.append({**point(e, name), "before": reference, "before_date": ref.local_date.isoformat()})
                bag.add(e, name)
        if out:
            return out
    return []


def _new_leg_symptoms(p: Prepared, lo: date, hi: date, reported_at: datetime, bag: Bag) -> list[Json]:
    refs = _references(p.pws, lo, reported_at)
    if refs and all(ref.thigh_symptoms != "none" for ref in refs):
        return []
    since = min((ref.occurred_at for ref in refs if ref.thigh_symptoms == "none"), default=None)
    appeared = [
        e
        for e in p.pws
        if lo <= e.local_date <= hi and e.thigh_symptoms != "none" and (since is None or e.occurred_at > since)
    ]
    bag.add_all(appeared, "thigh_symptoms")
    return [point(e, "thigh_symptoms") for e in appeared]
