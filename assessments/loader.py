"""Load patients' windows from the database into the rules engine's plain values, a batch at a time.

Every read is one query per batch, whatever the number of patients or entries in it: patients,
enrollments, progressions, entries, outcome scores and alerts. The scan, the readiness check and the
replay command all build their contexts here.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date, datetime, timedelta
from functools import cached_property, reduce
from operator import or_
from typing import Any, Final, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import F, JSONField, Max, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import NullIf
from django.utils import timezone

from assessments import questionnaires as q
from assessments import rules
from assessments.models import Alert, Entry, RedFlagReport, RuleSet, SafetyScreenReview
from patients.models import Patient
from programs.models import Enrollment, OutcomeScore, Phase, PhaseTransition

# How far before the phase (or before today) entries are loaded: an entry may be judged as of its own date up
# to 30 days back (a late diary), and as of that date R-03 E reads 6 weekly blocks (42 d); the baseline
# fallback uses the last entries before the transition, R-10 the last 4 weeklies, R-11 two weekly cadences.
# That is the reach of the default thresholds; ``lookback`` gives a clinic's own (its windows may be longer).
LATE_DIARY = timedelta(days=30)
LOOKBACK = LATE_DIARY + timedelta(days=42)
# Day-counted thresholds that are not windows of entries ending on the judged day: safety-screen reviews (loaded on
# their own), the "reported late" age, how long the pre-transition baseline applies (its entries are the phase's
# neighbours), the distance from the last progression, R-11's look back at alerts and its exercise days per week.
_NOT_ENTRY_WINDOWS = frozenset(
    {
        "r01_stable_days",
        "late_report_days",
        "pre_transition_days",
        "r06_progression_window_days",
        "r11_high_lookback_days",
        "r11_low_exercise_days",
    }
)
# The phase-best of R-08 reads the whole phase; a very long phase is capped.
MAX_WINDOW = timedelta(days=365)
# Alerts whose dates matter to other rules: R-07 counts R-03..R-06 and R-12, R-11's high variant R-01, R-04,
#
FIRING_RULES = ("R-01", "R-03", "R-04", "R-05", "R-06", "R-12")
# R-01 (v2): items assessed and stable within `r01_stable_days` (at most a year) of an entry lower an unchanged
# report to high; entries are judged up to 30 days back, so reviews this old are loaded.
STABLE_REVIEW_LOOKBACK = timedelta(days=365 + 31)
# The longest window a clinic's thresholds can make the scan read (a window of days is at most a year).
MAX_REACH = LATE_DIARY + timedelta(days=365)


# Entries are read as named rows, not model instances: a scan reads tens of thousands of them a batch and only
# ever reads their values (building a model instance costs more than reading its row). A row holds what the scan
# and the engine read (``q.engine_values``), not the note, the idempotency key or the derived scores.
_ENGINE_READ: Final = {name for kind in q.KINDS for name in q.engine_fields(kind)}
ENTRY_COLUMNS: Final = (
    "pk", "patient_id", "kind", "occurred_at", "submitted_at", "scanned_at",
    *(f.attname for f in Entry._meta.concrete_fields if f.attname in _ENGINE_READ),
)  # fmt: skip
# The answers that are lists (JSON arrays) are mostly empty: the database answers an empty one as null, which
# the engine reads as the same empty list (``q.engine_values``), and decoding JSON is the costliest part of a row.
_LIST_COLUMNS: Final = frozenset(
    f.attname for f in Entry._meta.concrete_fields if isinstance(f, JSONField) and f.attname in ENTRY_COLUMNS
)
_Row = namedtuple("_Row", ENTRY_COLUMNS)  # type: ignore[misc]


def _entry_rows(entries: QuerySet[Entry]) -> list[EntryRow]:
    """``entries`` as rows of ``ENTRY_COLUMNS`` (an empty list answer as None), in the queryset's order."""
    listed = {f"{name}_listed": NullIf(F(name), Value([], output_field=JSONField())) for name in _LIST_COLUMNS}
    selected = [f"{name}_listed" if name in _LIST_COLUMNS else name for name in ENTRY_COLUMNS]
    rows: list[Any] = list(map(_Row._make, entries.annotate(**listed).values_list(*selected)))
    return rows


class EntryRow(Protocol):
    """One entry as a window holds it: a named row of ``ENTRY_COLUMNS`` (the answers by their field names)."""

    @property
    def pk(self) -> int: ...
    @property
    def patient_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def submitted_at(self) -> datetime: ...
    @property
    def scanned_at(self) -> datetime | None: ...


@functools.lru_cache(maxsize=64)  # thresholds are frozen (hashable); a scan asks several times per patient
def lookback(params: Any) -> timedelta:
    """How far before the judged day the rules judged with ``params`` read entries, a late diary included.

    The longest window of days among the thresholds (v2's R-03 E: its blocks times their length), so that a clinic
    lengthening a window gets it read whole; at least ``LOOKBACK``, at most ``MAX_REACH``. v1 thresholds are read
    the same way (v1 judges as of the scan's day: the late-diary margin only reads a little more).
    """
    days = [
        int(getattr(params, f.name))
        for f in dataclass_fields(params)
        if f.name.endswith("_days") and f.name not in _NOT_ENTRY_WINDOWS
    ]
    if isinstance(params, rules.Params):
        days.append(params.r03_block_days * params.r03_max_blocks)
        # R-04's "alternating sides" asks whether the other side qualified within its days, each judged over its
        # own window of sessions.
        days.append(params.r04_alternating_days + max(params.r04_window_days, params.r04_recurrence_days))
    reach = LATE_DIARY + timedelta(days=max(days, default=0))
    return min(max(LOOKBACK, reach), MAX_REACH)


class ActiveRuleset(NamedTuple):
    """The ruleset version the scans judge with, its engine and its thresholds (and the row, when stored)."""

    version: int
    engine: rules.RulesetVersion
    params: Any
    ruleset_id: int | None = None


def judged_with(ruleset: RuleSet) -> ActiveRuleset:
    """What judging with this stored ruleset means: its version's engine and its thresholds."""
    return ActiveRuleset(
        ruleset.version, rules.RULESETS[ruleset.version], rules.params_for(ruleset.version, ruleset.params), ruleset.pk
    )


def _latest_built_in() -> ActiveRuleset:
    engine = rules.RULESETS[rules.LATEST_VERSION]
    return ActiveRuleset(engine.version, engine, engine.default_params)


class ClinicRulesets:
    """The active ruleset of each clinic: its own active copy, else the active built-in version (one query)."""

    def __init__(self) -> None:
        stored = RuleSet.objects.filter(name=rules.RULESET, is_active=True)
        self._by_clinic = {r.clinic_id: judged_with(r) for r in stored if r.clinic_id is not None}
        built_in = next((r for r in stored if r.clinic_id is None), None)
        self._built_in = judged_with(built_in) if built_in is not None else _latest_built_in()

    def of(self, clinic_id: int | None) -> ActiveRuleset:
        return self._by_clinic.get(clinic_id, self._built_in) if clinic_id is not None else self._built_in


def active_params(clinic_id: int | None = None) -> ActiveRuleset:
    """The ruleset a clinic's patients are judged with (the built-in active one for ``None``)."""
    return ClinicRulesets().of(clinic_id)


@dataclass
class PatientWindow:
    """One patient's loaded rows, before and after conversion to plain values."""

    patient: Patient
    enrollment: Enrollment | None
    tz: ZoneInfo
    today: date
    now: datetime
    since: datetime
    entries: list[EntryRow] = field(default_factory=list)
    reports: list[RedFlagReport] = field(default_factory=list)
    scores: list[OutcomeScore] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    stable_items: dict[str, date] = field(default_factory=dict)
    last_progression: date | None = None
    _alert_views_key: tuple[Any, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _alert_views_cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def unscanned_ids(self) -> list[int]:
        return [e.pk for e in self.entries if e.scanned_at is None]

    @property
    def unscanned_report_ids(self) -> list[int]:
        return [r.pk for r in self.reports if r.scanned_at is None]

    @property
    def unscanned_score_ids(self) -> list[int]:
        return [s.pk for s in self.scores if s.scanned_at is None]

    def unresolved_alerts(self) -> dict[tuple[str, str], Alert]:
        return {(a.rule_id, a.qualifier): a for a in self.alerts if a.status not in Alert.CLOSED}

    def local(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def context(
        self, *, today: date | None = None, as_of: datetime | None = None, now: datetime | None = None
    ) -> rules.PatientContext:
        """The engine's view of this patient as of ``as_of`` (an entry's time) or, without it, of ``today``."""
        if as_of is not None:
            today = self.local(as_of)
        today = today or self.today
        enrollment = self.enrollment
        post_workouts, weeklies = self._engine_entries
        return rules.PatientContext(
            phase=enrollment.phase if enrollment else Phase.TREATMENT,
            phase_since=enrollment.phase_since if enrollment else today,
            today=today,
            as_of=as_of,
            now=now or self.now,
            enrolled=enrollment is not None and self.patient.status == Patient.Status.ACTIVE,
            post_workouts=post_workouts,
            weeklies=weeklies,
            red_flag_reports=self._engine_reports,
            outcome_scores=self._engine_scores,
            **self._alert_views(),
            fracture_risk=self.patient.fracture_risk,
            last_progression_date=self.last_progression,
        )

    # The rows as the engine reads them, converted once per window: v2 judges a patient as of each new entry,
    # and converting every row for every judgment was most of a scan's time. The rows are not changed while a
    # window is judged (the alerts are: what is derived from them is built for each judgment).

    @cached_property
    def _engine_entries(self) -> tuple[tuple[rules.PostWorkout, ...], tuple[rules.Weekly, ...]]:
        post_workouts: list[rules.PostWorkout] = []
        weeklies: list[rules.Weekly] = []
        for entry in self.entries:
            when: dict[str, Any] = {
                "id": entry.pk,
                "occurred_at": entry.occurred_at,
                "local_date": self.local(entry.occurred_at),
                "submitted_at": entry.submitted_at,
            }
            if entry.kind == q.POST_WORKOUT:
                post_workouts.append(rules.PostWorkout(**when, **q.engine_values(q.POST_WORKOUT, entry)))
            else:
                weeklies.append(rules.Weekly(**when, **q.engine_values(q.WEEKLY, entry)))
        return tuple(post_workouts), tuple(weeklies)

    @cached_property
    def _engine_reports(self) -> tuple[rules.RedFlagReport, ...]:
        return tuple(self._report(r) for r in self.reports)

    @cached_property
    def _engine_scores(self) -> tuple[rules.OutcomeScore, ...]:
        return tuple(
            rules.OutcomeScore(instrument=s.instrument, score=float(s.score), local_date=s.recorded_on, id=s.pk)
            for s in self.scores
        )

    def _report(self, report: RedFlagReport) -> rules.RedFlagReport:
        return rules.RedFlagReport(
            id=report.pk,
            kind=report.kind,
            occurred_at=report.occurred_at,
            local_date=self.local(report.occurred_at),
            submitted_at=report.submitted_at,
            safety_screen=tuple(report.safety_screen or ()),
            safety_screen_unchanged=tuple(report.safety_screen_unchanged or ()),
            systemic_flags=tuple(report.systemic_flags or ()),
        )

    def _alert_views(self) -> dict[str, Any]:
        """What the engine reads of the alerts (and the stable items), built again only when they changed.

        A scan judges a patient as of each new entry and changes the alerts between two judgments (a new alert, new
        evidence moving ``last_evidence_at``, a status); the key below covers every field these views read.
        """
        key = (*map(_alert_state, self.alerts), *self.stable_items.items())
        if self._alert_views_key != key:
            self._alert_views_cache = {
                "recent_firings": self._firings(),
                "suppress_before": self._suppress_before(),
                "resolutions": self._resolutions(),
                "stable_items": dict(self.stable_items),
            }
            self._alert_views_key = key
        return self._alert_views_cache

    def _firings(self) -> list[rules.Firing]:
        firings = []
        for alert in self.alerts:
            if alert.rule_id in FIRING_RULES:
                at = alert.last_evidence_at or alert.raised_at
                firings.append(rules.Firing(alert.rule_id, self.local(at), at))
        return firings

    def _resolved(self) -> dict[tuple[str, str], Alert]:
        """The latest resolved alert of each key (v1 and v2 read suppression from it)."""
        latest: dict[tuple[str, str], Alert] = {}
        for alert in self.alerts:
            if alert.status == Alert.Status.RESOLVED and alert.resolved_at is not None:
                key = (alert.rule_id, alert.qualifier)
                if key not in latest or latest[key].resolved_at < alert.resolved_at:  # type: ignore[operator]
                    latest[key] = alert
        return latest

    def _suppress_before(self) -> dict[tuple[str, str], datetime]:
        return {key: a.resolved_at.astimezone(self.tz) for key, a in self._resolved().items()}  # type: ignore[union-attr]

    def _resolutions(self) -> dict[tuple[str, str], rules.Resolution]:
        return {
            key: rules.Resolution(
                at=a.resolved_at.astimezone(self.tz),  # type: ignore[union-attr]
                criteria=tuple(a.criteria or ()),
                severity=a.severity,
                peaks=evidence_peaks(a.evidence),
            )
            for key, a in self._resolved().items()
        }


def _alert_state(a: Alert) -> tuple[Any, ...]:
    """Every field of an alert that ``PatientWindow``'s views of the alerts read."""
    sizes = len(a.criteria or ()), len(a.evidence or ())
    return (id(a), a.rule_id, a.qualifier, a.status, a.severity, a.raised_at, a.last_evidence_at, a.resolved_at, sizes)


def latest_reviews(rows: Iterable[tuple[int, str, tuple[date, int], str]]) -> dict[tuple[int, str], tuple[Any, str]]:
    """Each (patient, item)'s latest safety-screen review: only a latest review of "stable" lowers R-01 to high
    (a later "referred" undoes an earlier "stable")."""
    latest: dict[tuple[int, str], tuple[Any, str]] = {}
    for patient_id, item, order, outcome in rows:
        key = (patient_id, item)
        if key not in latest or latest[key][0] < order:
            latest[key] = (order, outcome)
    return latest


def evidence_peaks(evidence: list[dict[str, Any]]) -> dict[str, float]:
    """The highest value of each numeric answer recorded in an alert's evidence (booleans are not numbers)."""
    peaks: dict[str, float] = {}
    for item in evidence or ():
        for name, value in (item.get("values") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                peaks[name] = max(peaks.get(name, value), value)
    return peaks


def load_windows(
    patient_ids: list[int],
    *,
    now: datetime | None = None,
    since: date | None = None,
    rulesets: ClinicRulesets | None = None,
) -> list[PatientWindow]:
    """Load the windows of a batch of patients: eight queries, whatever the batch size (nine without ``rulesets``,
    one more when a batch mixes windows read whole and read flat: ``_entries``).

    Each window reaches as far back as the thresholds of the patient's clinic read (``lookback``).
    ``since`` widens every window back to that day (the replay reads the whole period it judges).
    """
    now = now or timezone.now()
    rulesets = rulesets or ClinicRulesets()
    patients = list(Patient.objects.filter(pk__in=patient_ids).select_related("clinic", "therapist__user"))
    if not patients:
        return []
    ids = [p.pk for p in patients]
    enrollments = {e.patient_id: e for e in Enrollment.objects.filter(patient_id__in=ids, active=True)}
    progressions = dict(
        PhaseTransition.objects.filter(
            enrollment__patient_id__in=ids, from_phase=Phase.TREATMENT, to_phase=Phase.STABILIZATION
        )
        .values_list("enrollment__patient_id")
        .annotate(last=Max("effective_date"))
    )
    windows: dict[int, PatientWindow] = {}
    for patient in patients:
        tz = patient.clinic.tz
        today = now.astimezone(tz).date()
        enrollment = enrollments.get(patient.pk)
        reach = lookback(rulesets.of(patient.clinic_id).params)
        start = today - reach
        if enrollment is not None:
            start = min(start, enrollment.phase_since - reach)
        start = max(start, today - max(MAX_WINDOW, reach))
        if since is not None:
            start = min(start, since)
        windows[patient.pk] = PatientWindow(
            patient=patient,
            enrollment=enrollment,
            tz=tz,
            today=today,
            now=now,
            since=datetime.combine(start, datetime.min.time(), tzinfo=tz),
            last_progression=progressions.get(patient.pk),
        )
    oldest = min(w.since for w in windows.values())
    # Alerts before entries: a resolution decides which entries a flat window reads (``FLAT_ENTRY_IDS``).
    recent = now - timedelta(days=60)
    alert_filter = ~Q(status__in=Alert.CLOSED) | Q(resolved_at__gte=min(recent, oldest)) | Q(cleared_at__gte=recent)
    for alert in Alert.objects.filter(alert_filter, patient_id__in=ids):
        windows[alert.patient_id].alerts.append(alert)
    for entry in _entries(windows, rulesets, whole=since is not None):
        windows[entry.patient_id].entries.append(entry)
    # Red-flag reports: every unscanned one (it must alert, however old), and the recent ones.
    for report in RedFlagReport.objects.filter(
        Q(scanned_at__isnull=True) | Q(occurred_at__gte=oldest), patient_id__in=ids
    ).order_by("occurred_at", "id"):
        windows[report.patient_id].reports.append(report)
    # Every unscanned score, however old its date (it must be marked scanned), and the recent ones.
    scores = OutcomeScore.objects.filter(Q(scanned_at__isnull=True) | Q(recorded_on__gte=oldest.date()))
    for score in scores.filter(patient_id__in=ids):
        windows[score.patient_id].scores.append(score)
    reviews = SafetyScreenReview.objects.filter(
        patient_id__in=ids, assessed_on__gte=(now - STABLE_REVIEW_LOOKBACK).date()
    ).values_list("patient_id", "item", "assessed_on", "outcome", "pk")
    latest = latest_reviews((patient_id, item, (on, pk), outcome) for patient_id, item, on, outcome, pk in reviews)
    for (patient_id, item), (order, outcome) in latest.items():
        if outcome == SafetyScreenReview.Outcome.STABLE:
            windows[patient_id].stable_items[item] = order[0]
    return [windows[p.pk] for p in patients]


# What the v2 rules read of a patient's entries (PostgreSQL), each patient a row of {values}:
# (patient, window start, reach start, phase start, sessions k, baseline sessions, baseline weeklies, R-03 E span,
# reach, R-02 fall span, oldest resolution). "Window start" is the start of the whole window (the phase, capped at
# a year), "reach start" the day the longest threshold window reaches back to from today (``lookback``). Read,
# beyond the reach:
# - every weekly since the window start (R-08's phase bests; R-01/R-02 judge every visible red-flag entry), every
#   session with a safety-screen item since then, every unscanned entry, every entry submitted since the
#   reach start (a late entry counts after a resolution) or after the oldest loaded resolution (a resolved key
#   sees the entries dated or submitted after it: its "last n" may reach back past the reach);
# - the last k sessions before the reach start ("the last n", R-06 C's run of rises included); the first and last
#   baseline entries around the phase start; the newest submitted entry;
# - R-03 E's blocks before the newest session older than the reach start;
# - around each weekly or report with a systemic flag (R-02's fall window of ``r02_fall_window_days``): the
#   entries of that many days and one more either side, and the last session and weekly before them (the value
#   before the fall).
# Reading more than this changes nothing: the rules read what they need of what they are given.
FLAT_ENTRY_IDS = """
WITH v(pid, since, recent, phase, ks, bs, bw, span, reach, fall, resolved) AS (VALUES {values}),
p AS (
    -- An entry left unscanned for a while (the scanner was down) is judged as of its own date: reach back from it.
    SELECT v.pid, v.since, v.phase, v.ks, v.bs, v.bw, v.span, v.fall, v.resolved, GREATEST(v.since, LEAST(v.recent, (
        SELECT min(occurred_at) FROM assessments_entry
        WHERE patient_id = v.pid AND scanned_at IS NULL AND occurred_at >= v.since
    ) - v.reach)) AS recent
    FROM v
),
ids AS (
    SELECT e.id FROM p JOIN assessments_entry e ON e.patient_id = p.pid
    WHERE e.occurred_at >= p.recent OR e.submitted_at >= p.recent OR e.scanned_at IS NULL
        OR e.submitted_at >= p.resolved
        OR (e.occurred_at >= p.since AND (e.kind = 'weekly' OR jsonb_array_length(
            CASE jsonb_typeof(e.safety_screen) WHEN 'array' THEN e.safety_screen ELSE '[]'::jsonb END) > 0))
    UNION
    SELECT x.id FROM p CROSS JOIN LATERAL (
        (SELECT id FROM assessments_entry WHERE patient_id = p.pid AND kind = 'post_workout' AND occurred_at < p.recent
         ORDER BY occurred_at DESC, id DESC LIMIT p.ks)
        UNION ALL
        (SELECT id FROM assessments_entry WHERE patient_id = p.pid AND kind = 'post_workout'
         AND occurred_at >= GREATEST(p.phase, p.since)
         ORDER BY occurred_at, id LIMIT p.bs)
        UNION ALL
        (SELECT id FROM assessments_entry WHERE patient_id = p.pid AND kind = 'post_workout' AND occurred_at < p.phase
         ORDER BY occurred_at DESC, id DESC LIMIT p.bs)
        UNION ALL
        (SELECT id FROM assessments_entry WHERE patient_id = p.pid AND kind = 'weekly'
         AND occurred_at >= GREATEST(p.phase, p.since)
         ORDER BY occurred_at, id LIMIT p.bw)
        UNION ALL
        (SELECT id FROM assessments_entry WHERE patient_id = p.pid AND kind = 'weekly' AND occurred_at < p.phase
         ORDER BY occurred_at DESC, id DESC LIMIT p.bw)
        UNION ALL
        (SELECT id FROM assessments_entry WHERE patient_id = p.pid ORDER BY submitted_at DESC, id DESC LIMIT 1)
    ) x
    UNION
    SELECT e.id FROM p
    JOIN LATERAL (
        SELECT max(occurred_at) AS newest FROM assessments_entry
        WHERE patient_id = p.pid AND kind = 'post_workout' AND occurred_at < p.recent
    ) n ON n.newest IS NOT NULL
    JOIN assessments_entry e ON e.patient_id = p.pid AND e.kind = 'post_workout'
        AND e.occurred_at >= n.newest - p.span AND e.occurred_at < p.recent
    UNION
    SELECT y.id FROM p
    -- Per patient (an index probe each), not one pass over every weekly of the table joined to the batch after.
    CROSS JOIN LATERAL (
        SELECT occurred_at FROM assessments_entry
        WHERE patient_id = p.pid AND kind = 'weekly' AND jsonb_typeof(systemic_flags) = 'array'
            AND systemic_flags <> '[]'::jsonb
        UNION ALL
        SELECT occurred_at FROM assessments_redflagreport
        WHERE patient_id = p.pid AND jsonb_typeof(systemic_flags) = 'array' AND systemic_flags <> '[]'::jsonb
    ) f
    CROSS JOIN LATERAL (
        (SELECT id FROM assessments_entry WHERE patient_id = p.pid
         AND occurred_at BETWEEN f.occurred_at - p.fall AND f.occurred_at + p.fall)
        UNION ALL
        (SELECT id FROM assessments_entry WHERE patient_id = p.pid AND kind = 'post_workout'
         AND occurred_at < f.occurred_at - p.fall ORDER BY occurred_at DESC, id DESC LIMIT 1)
        UNION ALL
        (SELECT id FROM assessments_entry WHERE patient_id = p.pid AND kind = 'weekly'
         AND occurred_at < f.occurred_at - p.fall ORDER BY occurred_at DESC, id DESC LIMIT 1)
    ) y
)
SELECT e.id FROM assessments_entry e JOIN p ON p.pid = e.patient_id
WHERE e.id IN (SELECT id FROM ids) AND e.occurred_at >= p.since
"""


# A window this much longer than the reach of the thresholds is read flat (``FLAT_ENTRY_IDS``); a shorter one whole,
# in the plain query (the flat one costs more to run than those few weeks of entries do to read).
FLAT_FROM = timedelta(days=28)
_FLAT_ROW = (
    "(%s::bigint, %s::timestamptz, %s::timestamptz, %s::timestamptz, %s, %s, %s, %s::interval, %s::interval,"
    " %s::interval, %s::timestamptz)"
)


def _entries(windows: dict[int, PatientWindow], rulesets: ClinicRulesets, *, whole: bool) -> Iterable[EntryRow]:
    """Every patient's entries in one query, as rows of ``ENTRY_COLUMNS``, each patient's in time order.

    On PostgreSQL, for v2 thresholds, what the rules read and no more (``FLAT_ENTRY_IDS``), so that a patient's cost
    does not grow with the length of the phase; otherwise (and for the replay, ``whole``) every entry since the
    window's start, one condition per distinct start.
    """
    flat: dict[int, PatientWindow] = {}
    if not whole and connection.vendor == "postgresql":
        for pid, w in windows.items():
            params = rulesets.of(w.patient.clinic_id).params
            # Only where it reads less: a phase that began before the reach of the thresholds.
            if isinstance(params, rules.Params) and w.since.date() < w.today - lookback(params) - FLAT_FROM:
                flat[pid] = w
    by_start: dict[datetime, list[int]] = {}
    for pid, w in windows.items():
        if pid not in flat:
            by_start.setdefault(w.since, []).append(pid)
    rows: list[EntryRow] = []
    ordered = Entry.objects.order_by("occurred_at", "id")
    if by_start:
        window_filter = reduce(or_, (Q(patient_id__in=pids, occurred_at__gte=at) for at, pids in by_start.items()))
        rows += _entry_rows(ordered.filter(window_filter))
    if flat:
        values, params = [], []
        for w in flat.values():
            values.append(_FLAT_ROW)
            params += _flat_params(w, rulesets.of(w.patient.clinic_id).params)
        flat_ids = RawSQL(FLAT_ENTRY_IDS.replace("{values}", ", ".join(values)), params)  # noqa: S611
        rows += _entry_rows(ordered.filter(pk__in=flat_ids))
    # No sort of the two together: a patient's rows all come from one of the queries, in time order.
    return rows


def _flat_params(w: PatientWindow, params: rules.Params) -> list[Any]:
    """One patient's row of ``FLAT_ENTRY_IDS``: the instants that bound what the rules read, and the counts."""

    def midnight(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=w.tz)

    recent = midnight(w.today - lookback(params))
    phase = midnight(w.enrollment.phase_since) if w.enrollment is not None else recent
    # "The last n sessions" of every threshold counted in sessions, and R-06 C's run of rises with the session
    # before it (counted in times, read with no window of days).
    counted = [int(getattr(params, f.name)) for f in dataclass_fields(params) if f.metadata.get("unit") == "sessions"]
    sessions = max([*counted, params.r06_rise_times + 1])
    blocks = timedelta(days=params.r03_block_days * params.r03_max_blocks + 2)
    resolved = min(
        (a.resolved_at for a in w.alerts if a.status == Alert.Status.RESOLVED and a.resolved_at is not None),
        default=None,
    )
    return [
        w.patient.pk, w.since, max(recent, w.since), phase, sessions, params.baseline_sessions,
        params.baseline_weeklies, blocks, lookback(params) + timedelta(days=1),
        timedelta(days=params.r02_fall_window_days + 1), resolved,
    ]  # fmt: skip


def readiness_context(*, patient: Patient, ratings: dict[str, Any] | None = None) -> rules.ReadinessReport:
    """The readiness check treatment -> stabilization for one patient, as of today."""
    rulesets = ClinicRulesets()
    window = load_windows([patient.pk], rulesets=rulesets)[0]
    params = rulesets.of(patient.clinic_id).params
    if not isinstance(params, rules.Params):  # readiness is judged with v2's criteria whatever scans run
        params = rules.DEFAULT_PARAMS
    ratings = ratings or {}
    return rules.check_readiness(
        window.context(),
        params,
        unresolved_alerts=[
            rules.AlertSummary(rule_id=a.rule_id, severity=a.severity, qualifier=a.qualifier)
            for a in window.unresolved_alerts().values()
        ],
        ratings=rules.TherapistRatings(
            low_irritability=ratings.get("irritability_low"),
            neuro_screen_clear=ratings.get("neuro_screen_clear"),
            motor_control_clear=ratings.get("motor_control_ok"),
        ),
    )
