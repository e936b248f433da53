"""Output helpers shared by the v2 rules: JSON-friendly points, the evidence bag and the finding builder."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Final

from .catalog import FLAG_ALTERNATING, FLAG_PROGRESSION, FLAG_REPORTED_LATE, RULES
from .types import (
    KIND_OUTCOME_SCORE,
    KIND_POST_WORKOUT,
    KIND_RED_FLAG_REPORT,
    KIND_WEEKLY,
    RULESET_VERSION,
    Evidence,
    Finding,
    JsonDict,
    OutcomeScore,
    PostWorkout,
    RedFlagReport,
    Weekly,
)

Json = JsonDict
Entry = PostWorkout | Weekly
EPS: Final = 1e-9

# The sentence a flag puts in front of the therapist's one-line text.
_FLAG_SENTENCES: Final = {
    FLAG_REPORTED_LATE: "Reported late: built on entries more than 7 days old.",
    FLAG_PROGRESSION: "Within 6 weeks of progression to stabilization.",
    FLAG_ALTERNATING: "Alternating sides.",
}


def num(value: float) -> int | float:
    """A JSON-friendly number: whole values as int, others rounded to 2 decimals."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def jsonable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def point(entry: Entry, *names: str) -> Json:
    """The entry's id and date with the named answers (``psfs_score``/``peg_score`` work too)."""
    out: Json = {"entry_id": entry.id, "date": entry.local_date.isoformat()}
    for name in names:
        out[name] = jsonable(getattr(entry, name))
    return out


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


class Bag:
    """Evidence collected by one rule, merged per entry, returned in time order."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: dict[tuple[str, int | None, date], tuple[datetime | None, Json]] = {}

    def add(self, entry: Entry | RedFlagReport, *names: str, **extra: object) -> None:
        """Record ``entry`` with the named answers (and derived ``extra`` values) that triggered the rule."""
        kind = _kind(entry)
        key = (kind, entry.id, entry.local_date)
        item = self.items.get(key)
        values = item[1] if item is not None else {}
        for name in names:
            values[name] = jsonable(getattr(entry, name))
        values.update(extra)
        if item is None:
            self.items[key] = (entry.occurred_at, values)

    def add_all(self, entries: Iterable[Entry], *names: str) -> None:
        for entry in entries:
            self.add(entry, *names)

    def add_score(self, score: OutcomeScore) -> None:
        values: Json = {"instrument": score.instrument, "score": num(score.score)}
        self.items[(KIND_OUTCOME_SCORE, score.id, score.local_date)] = (None, values)

    def build(self) -> tuple[Evidence, ...]:
        ordered = sorted(
            self.items.items(),
            key=lambda kv: (kv[0][2], kv[1][0] is None, kv[1][0] or datetime.min, kv[0][0], kv[0][1] or 0),
        )
        return tuple(
            Evidence(kind=kind, entry_id=entry_id, occurred_at=at, local_date=day, values=values)
            for (kind, entry_id, day), (at, values) in ordered
        )


def _kind(entry: Entry | RedFlagReport) -> str:
    if isinstance(entry, PostWorkout):
        return KIND_POST_WORKOUT
    if isinstance(entry, Weekly):
        return KIND_WEEKLY
    return KIND_RED_FLAG_REPORT


def make_finding(
    rule_id: str,
    *,
    criteria: Sequence[str],
    bag: Bag,
    values: Json,
    qualifier: str = "",
    severity: str | None = None,
    flags: Sequence[str] = (),
    action: str | None = None,
    patient_advice: str | None = None,
) -> Finding:
    """A v2 finding with the catalog's title, rationale and action (the qualifier's own when it has one)."""
    info = RULES[rule_id]
    action = action or info.qualifier_actions.get(qualifier, info.action)
    finding = Finding(
        rule_id=rule_id,
        rule_slug=info.slug,
        qualifier=qualifier,
        severity=severity or info.severity,
        criteria=tuple(criteria),
        evidence=bag.build(),
        values=values,
        rationale=f"{info.rationale} {action}",
        title=info.title_for(qualifier),
        patient_advice=patient_advice,
        ruleset_version=RULESET_VERSION,
        action=action,
    )
    for flag in flags:
        finding = with_flag(finding, flag)
    return finding


def with_flag(finding: Finding, flag: str, sentence: str | None = None) -> Finding:
    """``finding`` carrying the text flag ``flag`` in ``values["flags"]`` and ``sentence`` before its rationale."""
    flags = list(finding.values.get("flags", ()))
    if flag in flags:
        return finding
    values = {**finding.values, "flags": [*flags, flag]}
    sentence = sentence or _FLAG_SENTENCES.get(flag, f"{flag.capitalize()}.")
    late = finding.reported_late or flag == FLAG_REPORTED_LATE
    return replace(finding, values=values, rationale=f"{sentence} {finding.rationale}", reported_late=late)
