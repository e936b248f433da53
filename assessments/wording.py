"""Alert evidence in plain language, written once: the admin, both email bodies and the API read it from here.

An alert stores what the rules judged as data (``values``: per criterion code the series, counts, baselines and
thresholds; ``evidence``: the entries that triggered it with their triggering answers). This module turns that
data into sentences a therapist reads at a glance, with the field labels and answer words of the questionnaire
definition and the criterion texts of the rule catalog:

- ``summary``: one line (the attention view, the queue, the digest).
- ``criteria``: per criterion met, its catalog text and the facts that met it, thresholds explained
  ("mean 5 over the last 3 sessions; baseline 2; alert at 4 or more").
- ``entries``: per evidence entry, its date, kind and triggering answers in words.
- ``notes``: flags and what the patient was told.

It reads values by their shape (a windowed count, a comparison with a baseline, a list of entries), so a new
rule that reuses the shared helpers of ``assessments.rules`` is worded without a change here; an unknown key is
still written as words, never as JSON or a Python repr. Pure Python: no database, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from assessments import questionnaires as q

# Keys that only support other keys (shown through them) or are internal identifiers.
_QUIET: Final = frozenset(
    {
        "entry_id", "entry_ids", "dates", "met", "source", "baselines", "series", "entries", "count", "required",
        "of_last", "window_days", "baseline", "threshold", "mean", "latest", "delta", "flags", "patient_told",
        "occurred_at", "submitted_at", "date", "text", "urgent", "severity", "stable_within_days",
    }
)  # fmt: skip

# Derived values of the engine that are not questionnaire fields.
_KEY_WORDS: Final[Mapping[str, str]] = {
    "features": "neural features",
    "psfs_score": "PSFS score",
    "peg_score": "PEG score",
    "psfs_mean": "PSFS score",
    "score": "score",
    "instrument": "instrument",
    "pins_needles": "pins and needles",
    "numbness": "numbness",
    "recurrence": "neural feature again",
    "days_without_session": "days without a post-workout report",
    "days_without_weekly": "days without a weekly check-in",
    "weeklies_missed": "weekly check-ins missed",
    "threshold_days": "alert at (days)",
    "threshold_missed": "alert at (missed)",
    "expected_every_days": "expected every (days)",
    "at_least": "alert at or above",
    "at_most": "alert at or below",
    "times": "times in a row",
    "pain_level_at_least": "pain alert at or above",
    "tension_level_at_least": "tension alert at or above",
    "duration_at_least": "duration at least",
    "recurrence_days": "recurrence window (days)",
    "last_session_date": "last post-workout report",
    "last_weekly_date": "last weekly check-in",
    "phase_since": "phase since",
    "rules": "rules",
    "firings": "raised or given new evidence",
    "rule_id": "rule",
    "lookback_days": "looked back (days)",
    "pain_into_arm": "pain into the arm",
    "within_6_weeks_of_progression": "within 6 weeks of progression",
    "last_progression_date": "progressed on",
}
_FEATURE_WORDS: Final[Mapping[str, str]] = {
    "stretch_not_easing": "not eased by stretching",
    "below_knee": "below the knee",
    "nerve_qualities": "nerve symptoms",
    "numbness": "numbness",
    "pins_needles": "pins and needles",
}
# The summary names at most this many criteria; the side of a one-sided rule is said first, not per entry.
SUMMARY_PARTS: Final = 2
_SIDE_KEYS: Final = frozenset({"thigh_symptoms", "side"})
_DAYS: Final = re.compile(r"(\d+) d\b")
_KIND_WORDS: Final[Mapping[str, str]] = {
    q.POST_WORKOUT: "after a workout",
    q.WEEKLY: "weekly check-in",
    "red_flag_report": "red-flag report",
    "outcome_score": "outcome score",
}
_BASELINE_SOURCES: Final[Mapping[str, str]] = {
    "phase": "this phase",
    "pre_transition": "before the move to stabilization",
    "fallback": "earliest entries",
}


@dataclass(frozen=True, slots=True)
class CriterionWords:
    code: str
    text: str
    facts: str

    @property
    def line(self) -> str:
        return f"({self.code}) {self.text}: {self.facts}" if self.facts else f"({self.code}) {self.text}"


@dataclass(frozen=True, slots=True)
class AlertWords:
    summary: str
    criteria: tuple[CriterionWords, ...]
    entries: tuple[str, ...]
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "criteria": [{"code": c.code, "text": c.text, "facts": c.facts} for c in self.criteria],
            "entries": list(self.entries),
            "notes": list(self.notes),
        }


def describe_alert(
    *,
    rule_id: str,
    qualifier: str,
    criteria: Mapping[str, str],
    values: Mapping[str, Any],
    evidence: Sequence[Mapping[str, Any]],
) -> AlertWords:
    """The alert in words. ``criteria`` maps each criterion code met to its catalog text, in order."""
    counted = {e.get("entry_id") for e in evidence if e.get("entry_id") is not None}
    if rule_id in ("R-01", "R-02"):
        facts = {code: _red_flag_facts(rule_id, code, values) for code in criteria}
    else:
        facts = {code: _criterion_facts(values.get(code), counted) for code in criteria}
    worded = tuple(CriterionWords(code, plain(text), facts[code]) for code, text in criteria.items())
    entries = tuple(entry_line(e) for e in evidence)
    notes = _notes(values)
    return AlertWords(_summary(rule_id, qualifier, values, criteria, counted), worded, entries, notes)


# --- one line ------------------------------------------------------------------------------------------------


def _summary(rule_id: str, qualifier: str, values: Mapping[str, Any], codes: Iterable[str], counted: set[Any]) -> str:
    if rule_id in ("R-01", "R-02"):
        items = ", ".join(words(i) for i in values.get("items") or ())
        where = _day(values.get("date"))
        text = f"{items} reported on {where}" if where else f"{items} reported"
    else:
        parts = list(
            dict.fromkeys(p for p in (_criterion_facts(values.get(c), counted, short=True) for c in codes) if p)
        )
        text = "; ".join(parts[:SUMMARY_PARTS])
        if len(parts) > SUMMARY_PARTS:
            text += f" (and {len(parts) - SUMMARY_PARTS} more)"
        if qualifier in ("left", "right"):
            text = f"{qualifier} leg: {text}"
    flags = [str(f) for f in values.get("flags") or ()]
    if flags:
        text = f"{'; '.join(flags)}. {text[:1].upper()}{text[1:]}"
    return text[:1].upper() + text[1:]


# --- red flags ---------------------------------------------------------------------------------------------------


def _red_flag_facts(rule_id: str, code: str, values: Mapping[str, Any]) -> str:
    where = _day(values.get("date"))
    source = _KIND_WORDS.get(str(values.get("source") or ""), "")
    on = f" on {where}" + (f" ({source})" if source else "") if where else ""
    if rule_id == "R-01":
        new = [words(i) for i in values.get("new_or_worse") or ()]
        same = [words(i) for i in values.get("unchanged") or ()]
        parts = []
        if new:
            parts.append(f"new or worse: {', '.join(new)}")
        if same:
            parts.append(f"unchanged: {', '.join(same)}")
        stable = values.get("assessed_stable") or {}
        if stable:
            parts.append("assessed stable: " + ", ".join(f"{words(i)} on {_day(d)}" for i, d in sorted(stable.items())))
        return "; ".join(parts) + on
    items = [words(i) for i in values.get("items") or ()]
    fall = values.get("fall") or {}
    if code == "C" and fall:
        reasons = [f"{_key_words(k)}: {_value_words(k, v)}" for k, v in fall.items() if k not in _QUIET]
        return "; ".join(reasons) + on
    if code == "B":
        return f"a fall or injury{on}"
    return ", ".join(i for i in items if i != "fall or injury") + on


# --- a criterion by the shape of its values ------------------------------------------------------------------


def _criterion_facts(data: Any, counted: set[Any], *, short: bool = False) -> str:
    """The facts that met a criterion; ``short`` leaves out the thresholds (for the one-line summary)."""
    if not isinstance(data, Mapping):
        return "" if data in (None, True) else _value_words("", data)
    parts: list[str] = []
    if "count" in data:
        parts.append(_count_facts(data, counted, short=short))
    elif isinstance(data.get("entries"), list):
        parts.append(_entries_facts(data["entries"], None if short else data.get("window_days")))
    if isinstance(data.get("baseline"), Mapping):
        parts.append(_baseline_facts(data))
    elif "latest" in data and isinstance(data["latest"], Mapping):
        parts.append(_point_words(data["latest"]))
    for key, value in data.items():
        if key in _QUIET or value in (None, [], {}):
            continue
        if _is_points(value):
            parts.append(f"{_key_words(key)} on {_dates(value)}")
        elif not short:
            parts.append(f"{_key_words(key)} {_value_words(key, value)}")
    return "; ".join(p for p in parts if p)


def _count_facts(data: Mapping[str, Any], counted: set[Any], *, short: bool) -> str:
    count, required = data.get("count"), data.get("required")
    of_last, days = data.get("of_last"), data.get("window_days")
    text = f"{count} of the last {of_last} entries" if of_last else f"{count} times"
    if days and not short:
        text += f" within {days} days"
    if required is not None and not short:
        text += f" (alert at {required})"
    series = data.get("series") or ()
    hits = [p for p in series if isinstance(p, Mapping) and p.get("entry_id") in counted]
    if not hits:
        return text
    if short:
        answers = _hit_answers(hits)
        return f"{answers} in {text} ({_dates(hits)})" if answers else f"{text} ({_dates(hits)})"
    return f"{text}: {_dates(hits)}"


def _hit_answers(hits: Sequence[Mapping[str, Any]]) -> str:
    """What the counted entries answered: ``stiffness compared with before the workout: Stiffer``."""
    keys = [k for k in hits[0] if k not in _QUIET and k not in _SIDE_KEYS]
    parts = []
    for key in keys:
        given = [p.get(key) for p in hits if p.get(key) not in (None, [])]
        flat = [v for g in given for v in (g if isinstance(g, list) else [g])]
        answers = dict.fromkeys(_value_words(key, v) for v in flat)
        if answers:
            parts.append(f"{_key_words(key)}: {', '.join(answers)}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def _entries_facts(entries: Sequence[Any], days: Any) -> str:
    shown = []
    for point in entries:
        if not isinstance(point, Mapping):
            continue
        answers = _answers_words(point)
        shown.append(f"{_day(point.get('date'))} ({answers})" if answers else _day(point.get("date")))
    return ", ".join(shown) + (f" (within {days} days)" if days and shown else "")


def _baseline_facts(data: Mapping[str, Any]) -> str:
    base = data["baseline"]
    parts = []
    if "mean" in data:
        parts.append(f"mean {_number(data['mean'])}")
    elif isinstance(data.get("latest"), Mapping):
        parts.append(_point_words(data["latest"]))
    elif isinstance(data.get("series"), list) and data["series"]:
        parts.append(", ".join(_point_words(p) for p in data["series"] if isinstance(p, Mapping)))
    if "delta" in data:
        parts.append(f"up {_number(data['delta'])}")
    source = _BASELINE_SOURCES.get(str(base.get("source")), "")
    parts.append(f"baseline {_number(base.get('value'))}" + (f" ({source})" if source else ""))
    threshold = data.get("threshold", base.get("threshold"))
    if threshold is not None:
        parts.append(f"alert at {_number(threshold)} or more")
    return "; ".join(parts)


def _point_words(point: Mapping[str, Any]) -> str:
    answers = _answers_words(point)
    day = _day(point.get("date"))
    return f"{answers} on {day}" if day else answers


def _answers_words(point: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{_key_words(k)}: {_value_words(k, v)}" for k, v in point.items() if k not in _QUIET and v not in (None, [])
    )


def _is_points(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) and "date" in v for v in value)


# --- evidence entries --------------------------------------------------------------------------------------------


def entry_line(item: Mapping[str, Any]) -> str:
    """One evidence entry: ``Wed 2 Dec, after a workout: Back stiffness now 6/10, ...``."""
    kind = str(item.get("kind") or "")
    values = item.get("values") or {}
    answers = "; ".join(answer_words(kind, k, v) for k, v in values.items())
    head = f"{_day(item.get('local_date'))}, {_KIND_WORDS.get(kind, words(kind))}"
    return f"{head}: {answers}" if answers else head


def answer_words(kind: str, name: str, value: Any) -> str:
    """``Label: answer`` with the questionnaire's label and the answer's words."""
    return f"{field_label(kind, name)}: {answer_value(kind, name, value)}"


def field_label(kind: str, name: str) -> str:
    """The questionnaire's label of a field (words of the name for a value the engine derived)."""
    field = _field(kind, name)
    if field is not None:
        return field.label
    text = _KEY_WORDS.get(name, words(name))
    return text[:1].upper() + text[1:]


def answer_value(kind: str, name: str, value: Any) -> str:
    field = _field(kind, name)
    if field is None:
        return _value_words(name, value)
    if value is None:
        return "not asked"
    if field.type == q.BOOL:
        return "yes" if value else "no"
    if field.type == q.INT:
        return f"{value}/{field.max_value}" if field.max_value == 10 else str(value)
    if field.type == q.CHOICE:
        return field.label_of(str(value))
    if field.type == q.LIST:
        return ", ".join(field.label_of(str(v)) for v in value) if value else "none"
    return str(value)


def _field(kind: str, name: str) -> q.Field | None:
    for k in (kind, *q.KINDS) if kind in q.KINDS else q.KINDS:
        try:
            return q.field_of(k, name)
        except KeyError:
            continue
    return None


# --- notes -------------------------------------------------------------------------------------------------------


def _notes(values: Mapping[str, Any]) -> tuple[str, ...]:
    notes = [f"{str(f).capitalize()}." for f in values.get("flags") or ()]
    since = values.get("no_report_since")
    if isinstance(since, Mapping):
        notes.append(f"No report since {since.get('rule_id')} on {_day(since.get('date'))}.")
    told = values.get("patient_told")
    if told:
        notes.append(f"The patient was told: {told}")
    return tuple(notes)


# --- small words ---------------------------------------------------------------------------------------------


def words(code: Any) -> str:
    """A code as words: ``pins_needles`` -> ``pins and needles``, ``bladder_change`` -> ``bladder change``."""
    text = str(code)
    return _FEATURE_WORDS.get(text) or text.replace("_", " ")


def plain(text: str) -> str:
    """A catalog criterion text for a reader: no code marks, words for the comparison signs."""
    text = text.replace("`", "").replace(">=", "at least").replace("<=", "at most")
    return _DAYS.sub(r"\1 days", text)


def _key_words(key: str) -> str:
    """A key in the middle of a sentence: the field's label, lower-cased (``back stiffness now``)."""
    if key in _KEY_WORDS:
        return _KEY_WORDS[key]
    field = _field("", key)
    if field is None:
        return words(key)
    return field.label[:1].lower() + field.label[1:]


def _value_words(key: str, value: Any) -> str:
    field = _field("", key) if key else None
    if field is not None:
        return answer_value("", key, value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | int):
        return _number(value)
    if isinstance(value, str):
        return _day(value) if _is_iso_date(value) else words(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{_key_words(k)} {_value_words(k, v)}" for k, v in value.items() if k not in _QUIET)
    if isinstance(value, Iterable):
        items = list(value)
        if _is_points(items):
            return _dates(items)
        return ", ".join(_value_words("", v) for v in items) or "none"
    return str(value)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _dates(points: Iterable[Mapping[str, Any]]) -> str:
    return ", ".join(_day(p.get("date")) for p in points)


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return len(text) >= 10 and text[4] == "-"


def _day(value: Any) -> str:
    """``2026-12-02`` -> ``Wed 2 Dec``."""
    if not value:
        return ""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day:%a} {day.day} {day:%b}"


# --- the readiness check -------------------------------------------------------------------------------------

_READINESS_KEYS: Final[Mapping[str, str]] = {
    "unresolved_alerts": "unresolved urgent or high alerts",
    "red_flags": "red flags",
    "window_days": "looked back (days)",
    "at_most": "back pain passes at or below",
    "leg_pain_at_most": "leg pain passes at or below",
    "consecutive": "consecutive weeklies needed",
    "weeklies_needed": "weeklies needed",
    "odi_at_most": "ODI passes at or below",
    "psfs_at_least": "PSFS passes at or above",
    "odi": "ODI (clinician)",
    "psfs_weekly": "PSFS (weekly)",
    "psfs_clinician": "PSFS (clinician)",
    "therapist_rating": "your rating",
    "neuro_screen_clear": "neurological screen clear",
    "sessions_in_window": "sessions in the window",
    "entries_with_features": "entries with neural features",
    "series": "weeklies",
    "mean": "mean",
    "score": "score",
    "side": "side",
    "items": "items",
    "qualifier": "side or kind",
    "severity": "severity",
}
_IDS: Final = frozenset({"entry_id", "entry_ids", "dates", "date", "kind"})


def readiness_words(values: Mapping[str, Any]) -> list[str]:
    """A readiness criterion's values, one line each in words (``Weeklies: Mon 30 Nov back pain ... 2/10``)."""
    lines = []
    for key, value in values.items():
        label = _READINESS_KEYS.get(key) or _key_words(key)
        lines.append(f"{label[:1].upper()}{label[1:]}: {_readiness_value(key, value)}")
    return lines


def _readiness_value(key: str, value: Any) -> str:
    if value is None:
        return "not given yet" if key in ("therapist_rating", "neuro_screen_clear") else "none recorded"
    if isinstance(value, Mapping):
        return _pairs(value)
    if isinstance(value, list):
        if not value:
            return "none"
        return "; ".join(_pairs(v) if isinstance(v, Mapping) else _value_words("", v) for v in value)
    return _value_words(key, value)


def _pairs(point: Mapping[str, Any]) -> str:
    day = _day(point.get("date"))
    pairs = ", ".join(
        f"{_READINESS_KEYS.get(k) or _key_words(k)} {_value_words(k, v)}"
        for k, v in point.items()
        if k not in _IDS and v not in (None, [])
    )
    return f"{day}: {pairs}" if day and pairs else day or pairs
