"""Scans: run the rules over a batch of patients and upsert alerts, idempotently.

Re-running a scan, a retried task or two workers racing on one patient never create a duplicate alert:
the alert key (patient, rule, qualifier) is unique among unresolved alerts in the database, and a
scan that loses the race attaches its evidence to the winner's alert instead.

A patient without an open alert is judged without writing anything, and the new alerts and emails of every such
patient of the batch are written at once, in one transaction (``_write_judged``). Should that write fail (another
worker raised one of these alerts meanwhile, or any database error), it is rolled back whole and those patients
are scanned again one by one, each in its own transaction, joining what the other worker raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Final

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from assessments import rules
from assessments.loader import ActiveRuleset, ClinicRulesets, PatientWindow, load_windows
from assessments.models import SEVERITY_RANK, Alert, Entry, OutgoingEmail, RedFlagReport, Severity
from assessments.notifications import alert_email, queue_alert_email, wants_immediate_email
from clinic.db import insert_many
from programs.models import OutcomeScore

logger = logging.getLogger(__name__)

R11: Final = "R-11"
RED_FLAG_RULES: Final = frozenset({"R-01", "R-02"})
EVIDENCE: Final = "evidence"
ESCALATED: Final = "escalated"
FAILED_RULES: Final = -1

# What ``_attach`` changes on an alert (``severity_rank`` follows ``severity`` in ``Alert.save``).
ATTACHED_FIELDS: Final = (
    "evidence",
    "criteria",
    "values",
    "rationale",
    "reported_late",
    "severity",
    "severity_rank",
    "last_evidence_at",
    "escalations",
    "escalated_at",
    "status",
    "updated_at",
)

# Entries whose patient failed this many scans are left for a person to look at (admin, /health/).
MAX_SCAN_FAILURES = 5


@dataclass
class ScanReport:
    patients: int = 0
    findings: int = 0
    created: int = 0
    updated: int = 0
    escalated: int = 0
    cleared: int = 0
    failed: list[int] = field(default_factory=list)
    emails: list[int] = field(default_factory=list)  # outbox rows written, to be sent
    # Patients whose R-11 waits for the end of a submission burst: (patient id, when to judge it).
    r11_due: list[tuple[int, datetime]] = field(default_factory=list)

    def merge(self, other: ScanReport) -> None:
        self.patients += other.patients
        self.findings += other.findings
        self.created += other.created
        self.updated += other.updated
        self.escalated += other.escalated
        self.cleared += other.cleared
        self.failed += other.failed
        self.emails += other.emails
        self.r11_due += other.r11_due


def scan_patients(patient_ids: list[int], *, now: datetime | None = None) -> ScanReport:
    """Evaluate the rules for each patient of the batch and mark the entries read as scanned.

    Reads take a fixed number of queries for the whole batch; writes happen only for findings that
    are new or bring new evidence. A patient with an open alert is its own transaction; the others are judged
    without writing, and their new alerts and emails are written together (see the module's docstring). One
    failing patient is counted (``scan_failures`` on its entries) and does not hold back the others.

    Nothing is published from here: the report names the emails written to the outbox (``emails``) and the
    R-11 judgments to schedule (``r11_due``), and the task that ran the scan publishes them.
    """
    now = now or timezone.now()
    rulesets = ClinicRulesets()  # each patient is judged with their clinic's active ruleset
    report = ScanReport()
    windows = load_windows(patient_ids, now=now, rulesets=rulesets)
    # Writing a batch at once needs the new rows' ids back from one INSERT (PostgreSQL, SQLite 3.35+).
    at_once = connection.features.can_return_rows_from_bulk_insert
    outcomes: list[tuple[PatientWindow, ScanReport]] = []
    unwritten: list[_Judged] = []
    for window in windows:
        active = rulesets.of(window.patient.clinic_id)
        if at_once and not window.unresolved_alerts():
            unwritten.append(_judge_unwritten(window, active, now))
        else:
            outcomes.append((window, _scan_in_transaction(window, active, now)))
    outcomes += _write_judged(unwritten, rulesets, now)
    scanned: dict[type[Any], list[int]] = {Entry: [], RedFlagReport: [], OutcomeScore: []}
    for window, patient_report in outcomes:
        report.patients += 1
        if patient_report.failed:
            patient_report.failed = [window.patient.pk]
        report.merge(patient_report)
        if patient_report.failed:
            Entry.objects.filter(pk__in=window.unscanned_ids).update(scan_failures=F("scan_failures") + 1)
            RedFlagReport.objects.filter(pk__in=window.unscanned_report_ids).update(
                scan_failures=F("scan_failures") + 1
            )
        else:
            scanned[Entry] += window.unscanned_ids
            scanned[RedFlagReport] += window.unscanned_report_ids
            scanned[OutcomeScore] += window.unscanned_score_ids
    for model, ids in scanned.items():
        if ids:
            model.objects.filter(pk__any_of=ids, scanned_at__isnull=True).update(scanned_at=now)
    return report


def _scan_in_transaction(window: PatientWindow, active: ActiveRuleset, now: datetime) -> ScanReport:
    """Judge one patient and write what it finds in the patient's own transaction."""
    try:
        with transaction.atomic():
            return _scan_one(window, active, now)
    except Exception:
        logger.exception("scan failed for patient id=%s", window.patient.pk)
        return ScanReport(failed=[window.patient.pk])


def _scan_one(window: PatientWindow, active: ActiveRuleset, now: datetime) -> ScanReport:
    report = ScanReport()
    touched = _Touched()
    _judge(window, active, now, report, touched)
    touched.save_held()
    _notify(window, touched, report)
    return report


def _judge(window: PatientWindow, active: ActiveRuleset, now: datetime, report: ScanReport, touched: _Touched) -> None:
    if active.version == 1:
        # v1 judged every rule as of the scan's day.
        _apply(
            window, _evaluate(active, window.context(now=now), None, report, window.patient.pk), active, report, touched
        )
    else:
        _judge_v2(window, active, now, report, touched)


@dataclass
class _Judged:
    """A patient judged without writing: its new alerts, in their final state, wait for ``_write_judged``."""

    window: PatientWindow
    report: ScanReport
    touched: _Touched
    alerts_before: list[Alert]  # the window's alerts as loaded, for judging the patient again


def _judge_unwritten(window: PatientWindow, active: ActiveRuleset, now: datetime) -> _Judged:
    """Judge a patient without an open alert: every finding is a new alert (or joins one raised in this scan),
    so nothing needs to be read, locked or written until the batch's single write."""
    before = list(window.alerts)
    touched = _Touched(unwritten=True)
    report = ScanReport()
    try:
        _judge(window, active, now, report, touched)
    except Exception:
        logger.exception("scan failed for patient id=%s", window.patient.pk)
        window.alerts = before
        return _Judged(window, ScanReport(failed=[window.patient.pk]), _Touched(unwritten=True), before)
    return _Judged(window, report, touched, before)


def _write_judged(
    judged: list[_Judged], rulesets: ClinicRulesets, now: datetime
) -> list[tuple[PatientWindow, ScanReport]]:
    """Write the new alerts of the patients judged without writing, and their emails, in one transaction.

    If it fails, nothing of it stays: the patients are then scanned again each in their own transaction, the
    path that joins an alert another worker raised meanwhile (the unique index of unresolved alerts refused it).
    """
    done = [(j.window, j.report) for j in judged if not j.touched.alerts]
    pending = [j for j in judged if j.touched.alerts]
    if not pending:
        return done
    try:
        with transaction.atomic():
            emails = _insert_judged(pending)
    except DatabaseError:
        logger.warning(
            "writing a batch's new alerts at once failed (%d patients); scanning them one by one",
            len(pending),
            exc_info=True,
        )
        for j in pending:
            j.window.alerts = j.alerts_before
            done.append((j.window, _scan_in_transaction(j.window, rulesets.of(j.window.patient.clinic_id), now)))
        return done
    for j, email_ids in zip(pending, emails, strict=True):
        j.report.emails += email_ids
        done.append((j.window, j.report))
    return done


def _insert_judged(pending: list[_Judged]) -> list[list[int]]:
    """Write the alerts (their ids taken, then a COPY), then their immediate emails, which name the alerts' ids."""
    alerts = [alert for j in pending for alert, _created in j.touched.alerts.values()]
    for alert in alerts:
        alert.rank()
    insert_many(alerts)
    emails: list[list[OutgoingEmail]] = []
    for j in pending:
        patient = j.window.patient
        emails.append(
            [
                alert_email(alert=alert, patient=patient, escalation=not created)
                for alert, created in j.touched.alerts.values()
                if wants_immediate_email(alert, patient.clinic)
            ]
        )
    OutgoingEmail.objects.bulk_create([email for mine in emails for email in mine])
    return [[email.pk for email in mine] for mine in emails]


def _judge_v2(
    window: PatientWindow, active: ActiveRuleset, now: datetime, report: ScanReport, touched: _Touched
) -> None:
    """v2 "When rules are judged": every rule as of each newly stored entry, oldest first, so that a
    back-filled diary is read as it happened (red flags within each, never delayed); R-11 alone as of now,
    once the patient's burst of submissions is over. Only the rules the engine's screen lets through are judged
    at each point (``rules.screening``): the others cannot fire as of any of them."""
    possible = _possible_rules(window, active, now)
    for at, only in _new_points(window, active):
        if possible is not None:
            only &= possible  # the others cannot fire as of any point of this window: nothing to judge
            if not only:
                continue
        findings = _evaluate(active, window.context(as_of=at, now=now), only, report, window.patient.pk)
        _apply(window, findings, active, report, touched)
    quiet_from = _burst_end(window, timedelta(minutes=getattr(active.params, "r11_burst_quiet_minutes", 10)))
    if quiet_from is not None and quiet_from > now:
        report.r11_due.append((window.patient.pk, quiet_from))
        return
    failures = len(report.failed)
    r11 = _evaluate(active, window.context(now=now), frozenset({R11}), report, window.patient.pk)
    _apply(window, r11, active, report, touched)
    judged = getattr(active.params, "r11_enabled", True) and len(report.failed) == failures
    if judged and not r11:  # neither switched off nor failed: the condition no longer holds
        _clear_r11(window, now, report)


def _possible_rules(window: PatientWindow, active: ActiveRuleset, now: datetime) -> frozenset[str] | None:
    """The rules that may fire as of some point of the window (the engine's screen); None: judge them all."""
    screen = active.engine.possible_rules
    if screen is None:
        return None
    try:
        return screen(window.context(now=now), active.params)
    except Exception:
        logger.exception("rule screen failed for patient id=%s; judging every rule", window.patient.pk)
        return None


def _new_points(window: PatientWindow, active: ActiveRuleset) -> list[tuple[datetime, frozenset[str]]]:
    """The instants to judge as of, oldest first, each with the rules it can change."""
    every = frozenset(active.engine.catalog) - {R11}
    points = [(e.occurred_at, every) for e in window.entries if e.scanned_at is None]
    points += [(r.occurred_at, RED_FLAG_RULES) for r in window.reports if r.scanned_at is None]
    for score in window.scores:
        if score.scanned_at is None:
            # A score is judged as of the end of its day: every entry of that day counts.
            day_end = datetime.combine(score.recorded_on, time.max, tzinfo=window.tz)
            points.append((min(day_end, window.now), frozenset({"R-08"})))
    return sorted(points, key=lambda p: p[0])


def _burst_end(window: PatientWindow, quiet: timedelta) -> datetime | None:
    """When the patient's latest burst of submissions is over: R-11 waits for it (RULES.md R-11, v2)."""
    submitted = [e.submitted_at for e in window.entries] + [r.submitted_at for r in window.reports]
    if not submitted:
        return None
    return max(submitted) + quiet


def _evaluate(
    active: ActiveRuleset,
    context: rules.PatientContext,
    only: frozenset[str] | None,
    report: ScanReport,
    patient_id: int,
) -> list[rules.Finding]:
    """The findings of ``only`` (None: every rule); when a rule fails, the red flags alone and a failure."""
    try:
        if only is None:
            return list(active.engine.evaluate(context, active.params))
        return list(active.engine.evaluate(context, active.params, only=only))
    except Exception:
        # A rule that cannot be evaluated must not silence a red flag: raise those, count the failure.
        logger.exception("rules failed for patient id=%s; raising red flags only", patient_id)
        report.failed.append(FAILED_RULES)
        return [
            f for f in active.engine.evaluate_red_flags(context, active.params) if only is None or f.rule_id in only
        ]


class _Touched:
    """The alerts a patient's scan created or escalated: each is told once, in its final state.

    It also knows the alerts this patient's transaction holds (created, or locked by ``_attach``): their rows
    are ours until it commits, so later judgments of the same scan change them in memory, and ``save_held``
    writes each once, in its final state, instead of a lock and an UPDATE per judgment. ``unwritten``: the
    patient is judged without writing (``_judge_unwritten``), its new alerts are not saved yet.
    """

    def __init__(self, *, unwritten: bool = False) -> None:
        self.unwritten = unwritten
        self.alerts: dict[object, tuple[Alert, bool]] = {}  # _ref -> (alert, created by this scan)
        self.held: set[object] = set()
        self.changed: dict[object, Alert] = {}

    def save_held(self) -> None:
        for alert in self.changed.values():
            alert.save(update_fields=ATTACHED_FIELDS)
        self.changed.clear()

    def note(self, alert: Alert, *, created: bool) -> None:
        ref = _ref(alert)
        self.alerts[ref] = (alert, created or self.alerts.get(ref, (alert, False))[1])


def _ref(alert: Alert) -> object:
    """An alert's identity within a scan: its id, or the object itself while it is not saved."""
    return alert.pk if alert.pk is not None else ("unsaved", id(alert))


def _apply(
    window: PatientWindow, findings: list[rules.Finding], active: ActiveRuleset, report: ScanReport, touched: _Touched
) -> None:
    """Upsert the findings as alerts: create, attach evidence, or escalate."""
    report.findings += len(findings)
    for finding in findings:
        existing = window.unresolved_alerts().get(finding.key)
        if existing is None:
            if touched.unwritten:
                alert, created = _new_alert(window, finding, active), True
            else:
                alert, created = _create_or_join(window, finding, active)
            if not created:  # another worker's alert, joined: the later judgments of this scan reuse this object
                window.alerts.append(alert)
        else:
            alert, created = existing, False
        if created:
            report.created += 1
            window.alerts.append(alert)
            touched.note(alert, created=True)
            touched.held.add(_ref(alert))
            continue
        change = _attach(alert, finding, touched)
        if change is None:
            continue
        report.updated += 1
        if change == ESCALATED:
            report.escalated += 1
            touched.note(alert, created=False)


def _notify(window: PatientWindow, touched: _Touched, report: ScanReport) -> None:
    """Queue the immediate emails: a new alert once, an escalation as a new alert of its severity would be.

    A back-filled diary judged entry by entry in one scan raises each alert once, in its final state.
    """
    for alert, created in touched.alerts.values():
        if wants_immediate_email(alert, window.patient.clinic):
            email = queue_alert_email(alert=alert, patient=window.patient, escalation=not created)
            if email is not None:
                report.emails.append(email.pk)


def _clear_r11(window: PatientWindow, now: datetime, report: ScanReport) -> None:
    """Close an open R-11 alert whose condition no longer holds, with the entry that cleared it."""
    alert = window.unresolved_alerts().get((R11, ""))
    if alert is None or alert.pk is None:  # none open, or raised by this very scan and not written yet
        return
    newest = max(window.entries, key=lambda e: (e.submitted_at, e.pk), default=None)
    newest_id = newest.pk if newest is not None else None
    changed = (
        Alert.objects.filter(pk=alert.pk)
        .exclude(status__in=Alert.CLOSED)
        .update(status=Alert.Status.CLEARED, cleared_at=now, cleared_by_entry_id=newest_id, updated_at=now)
    )
    if changed:
        alert.status, alert.cleared_at = Alert.Status.CLEARED, now
        alert.cleared_by_entry_id = newest_id
        report.cleared += 1


def _evidence(finding: rules.Finding) -> list[dict[str, Any]]:
    return [
        {
            "kind": e.kind,
            "entry_id": e.entry_id,
            "occurred_at": e.occurred_at.isoformat() if e.occurred_at else None,
            "local_date": e.local_date.isoformat(),
            "values": e.values,
        }
        for e in finding.evidence
    ]


def _create_or_join(window: PatientWindow, finding: rules.Finding, active: ActiveRuleset) -> tuple[Alert, bool]:
    alert = _new_alert(window, finding, active)
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        # Another worker raised the same alert between our read and our insert: join it.
        alert = Alert.objects.unresolved().get(
            patient=window.patient, rule_id=finding.rule_id, qualifier=finding.qualifier
        )
        return alert, False
    return alert, True


def _new_alert(window: PatientWindow, finding: rules.Finding, active: ActiveRuleset) -> Alert:
    """The alert of a finding, not saved."""
    return Alert(
        patient=window.patient,
        therapist=window.patient.therapist,
        rule_id=finding.rule_id,
        rule_slug=finding.rule_slug,
        title=finding.title,
        qualifier=finding.qualifier,
        severity=finding.severity,
        criteria=list(finding.criteria),
        values=finding.values,
        evidence=_evidence(finding),
        rationale=finding.rationale,
        ruleset_id=active.ruleset_id,
        ruleset_version=active.version,
        thresholds=active.params.to_dict(),
        last_evidence_at=finding.latest_evidence_at,
        reported_late=getattr(finding, "reported_late", False),
    )


def _attach(alert: Alert, finding: rules.Finding, touched: _Touched) -> str | None:
    """Attach new evidence to an open alert, escalating it when the finding adds a criterion or severity.

    Returns None when nothing is new, ``EVIDENCE`` when only evidence was added, ``ESCALATED`` when the
    alert gained a criterion or a higher severity (RULES.md "Escalation": notified as a new alert would be).
    The change is written by ``touched.save_held()`` before the patient's transaction commits.
    """
    ref = _ref(alert)
    current = touched.changed.get(ref, alert)  # this scan's own changes, if any, are the row's state
    if current is not alert:
        alert.__dict__.update(current.__dict__)
    if not _news(alert, finding):
        return None
    if ref in touched.held:
        locked = alert  # created or locked earlier in this transaction: what memory holds is the row
    elif touched.unwritten:
        raise RuntimeError("a patient judged without writing has no saved alert to attach to")
    else:
        # Lock the row: a racing scan may be attaching to it too (a no-op lock on SQLite, which serialises writes).
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        touched.held.add(ref)
    news = _news(locked, finding)
    if news is None:
        alert.__dict__.update(locked.__dict__)
        return None
    new_evidence, added_criteria, higher = news
    locked.evidence = locked.evidence + new_evidence
    locked.criteria = sorted(set(locked.criteria) | set(finding.criteria))
    # Values per criterion: the newest judgement of each, and those of criteria recorded earlier kept.
    locked.values = {**(locked.values or {}), **finding.values}
    # The words follow the newest judgement (e.g. "alternating sides", the R-12 "phone the patient today").
    locked.rationale = finding.rationale
    locked.reported_late = locked.reported_late and getattr(finding, "reported_late", False)
    if higher:
        locked.severity = finding.severity
    latest = finding.latest_evidence_at
    if latest is not None and (locked.last_evidence_at is None or latest > locked.last_evidence_at):
        locked.last_evidence_at = latest
    escalated = bool(added_criteria) or higher
    if escalated:
        locked.escalations += 1
        locked.escalated_at = timezone.now()
        if locked.status == Alert.Status.ACKNOWLEDGED:
            locked.status = Alert.Status.OPEN  # a worse picture needs a fresh look
    if locked is not alert:
        alert.__dict__.update(locked.__dict__)
    if not touched.unwritten:  # an unsaved alert is inserted in its final state
        touched.changed[ref] = alert
    return ESCALATED if escalated else EVIDENCE


def _news(alert: Alert, finding: rules.Finding) -> tuple[list[dict[str, Any]], set[str], bool] | None:
    """What ``finding`` adds to ``alert``: new evidence, new criteria, a higher severity; None when nothing."""
    known = {(e.get("kind"), e.get("entry_id")) for e in alert.evidence}
    new_evidence = [e for e in _evidence(finding) if (e["kind"], e["entry_id"]) not in known]
    added = set(finding.criteria) - set(alert.criteria)
    higher = SEVERITY_RANK[Severity(finding.severity)] < SEVERITY_RANK[Severity(alert.severity)]
    if not new_evidence and not added and not higher:
        return None
    return new_evidence, added, higher


def unscanned_patient_ids(*, older_than: datetime, limit: int) -> list[int]:
    """Patients with red-flag reports, entries or outcome scores still unscanned (and not given up on).

    Red-flag reports first, then the oldest entries, then scores. Uses the partial unscanned indexes.
    """
    reports = (
        RedFlagReport.objects.filter(
            scanned_at__isnull=True, submitted_at__lte=older_than, scan_failures__lt=MAX_SCAN_FAILURES
        )
        .order_by("submitted_at")
        .values_list("patient_id", flat=True)[: limit * 20]
    )
    entries = (
        Entry.objects.filter(scanned_at__isnull=True, submitted_at__lte=older_than, scan_failures__lt=MAX_SCAN_FAILURES)
        .order_by("submitted_at")
        .values_list("patient_id", flat=True)[: limit * 20]
    )
    scores = (
        OutcomeScore.objects.filter(scanned_at__isnull=True, created_at__lte=older_than)
        .order_by("created_at")
        .values_list("patient_id", flat=True)[: limit * 20]
    )
    seen: dict[int, None] = {}
    for rows in (reports, entries, scores):
        for pid in rows:
            seen.setdefault(pid, None)
            if len(seen) >= limit:
                return list(seen)
    return list(seen)
