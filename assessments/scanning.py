"""Scans: run the rules over a batch of patients and upsert alerts, idempotently.

Re-running a scan, a retried task or two workers racing on one patient never create a duplicate alert:
the alert key (patient, rule, qualifier) is unique among unresolved alerts in the database, and a
scan that loses the race attaches its evidence to the winner's alert instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from assessments import rules
from assessments.loader import PatientWindow, active_params, load_windows
from assessments.models import SEVERITY_RANK, Alert, Entry, Severity
from assessments.notifications import queue_alert_email, wants_immediate_email

logger = logging.getLogger(__name__)

# Entries whose patient failed this many scans are left for a person to look at (admin, /health/).
MAX_SCAN_FAILURES = 5


@dataclass
class ScanReport:
    patients: int = 0
    findings: int = 0
    created: int = 0
    updated: int = 0
    failed: list[int] = field(default_factory=list)
    emails: list[int] = field(default_factory=list)

    def merge(self, other: ScanReport) -> None:
        self.patients += other.patients
        self.findings += other.findings
        self.created += other.created
        self.updated += other.updated
        self.failed += other.failed
        self.emails += other.emails


def scan_patients(patient_ids: list[int], *, now: datetime | None = None) -> ScanReport:
    """Evaluate the rules for each patient of the batch and mark the entries read as scanned.

    Reads take a fixed number of queries for the whole batch; writes happen only for findings that
    are new or bring new evidence. Each patient is its own transaction: one failing patient is
    counted (``scan_failures`` on its entries) and does not hold back the others.
    """
    now = now or timezone.now()
    version, params = active_params()
    report = ScanReport()
    windows = load_windows(patient_ids, now=now)
    scanned: list[int] = []
    for window in windows:
        report.patients += 1
        try:
            with transaction.atomic():
                patient_report = _scan_one(window, version, params)
        except Exception:
            logger.exception("scan failed for patient id=%s", window.patient.pk)
            patient_report = ScanReport(failed=[window.patient.pk])
        report.merge(patient_report)
        if patient_report.failed:
            Entry.objects.filter(pk__in=window.unscanned_ids).update(scan_failures=F("scan_failures") + 1)
        else:
            scanned += window.unscanned_ids
    if scanned:
        Entry.objects.filter(pk__in=scanned, scanned_at__isnull=True).update(scanned_at=now)
    for email_id in report.emails:
        _enqueue_send(email_id)
    return report


def _scan_one(window: PatientWindow, version: int, params: rules.Params) -> ScanReport:
    report = ScanReport()
    context = window.context()
    try:
        findings = rules.evaluate(context, params)
    except Exception:
        # A rule that cannot be evaluated must not silence a red flag: raise those, count the failure.
        logger.exception("rules failed for patient id=%s; raising red flags only", window.patient.pk)
        findings = rules.evaluate_red_flags(context, params)
        report.failed.append(window.patient.pk)
    report.findings = len(findings)
    unresolved = window.unresolved_alerts()
    for finding in findings:
        existing = unresolved.get(finding.key)
        if existing is None:
            alert, created = _create_or_join(window, finding, version, params)
        else:
            alert, created = existing, False
        if created:
            report.created += 1
        elif _attach(alert, finding):
            report.updated += 1
        else:
            continue
        if wants_immediate_email(alert, window.patient.clinic):
            email = queue_alert_email(alert=alert, patient=window.patient)
            if email is not None:
                report.emails.append(email.pk)
    return report


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


def _create_or_join(
    window: PatientWindow, finding: rules.Finding, version: int, params: rules.Params
) -> tuple[Alert, bool]:
    alert = Alert(
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
        ruleset_version=version,
        thresholds=params.to_dict(),
        last_evidence_at=finding.latest_evidence_at,
    )
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


def _attach(alert: Alert, finding: rules.Finding) -> bool:
    """Attach new evidence (and a higher severity) to an unresolved alert; False when nothing is new."""
    known = {(e.get("kind"), e.get("entry_id")) for e in alert.evidence}
    new = [e for e in _evidence(finding) if (e["kind"], e["entry_id"]) not in known]
    escalates = SEVERITY_RANK[Severity(finding.severity)] < SEVERITY_RANK[Severity(alert.severity)]
    new_criteria = sorted(set(alert.criteria) | set(finding.criteria))
    if not new and not escalates and new_criteria == sorted(alert.criteria):
        return False
    # Lock the row: a racing scan may be attaching to it too (a no-op lock on SQLite, which serialises writes).
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    known = {(e.get("kind"), e.get("entry_id")) for e in locked.evidence}
    locked.evidence = locked.evidence + [e for e in _evidence(finding) if (e["kind"], e["entry_id"]) not in known]
    locked.criteria = sorted(set(locked.criteria) | set(finding.criteria))
    locked.values = finding.values
    if escalates:
        locked.severity = finding.severity
    latest = finding.latest_evidence_at
    if latest is not None and (locked.last_evidence_at is None or latest > locked.last_evidence_at):
        locked.last_evidence_at = latest
    locked.save()
    alert.__dict__.update(locked.__dict__)
    return True


def _enqueue_send(email_id: int) -> None:
    from assessments.tasks import send_email

    transaction.on_commit(lambda: _safe_delay(send_email, email_id), robust=True)


def _safe_delay(task: Any, *args: Any) -> None:
    """Publish a task; a broker that is down is logged and left to the sweeps."""
    try:
        task.delay(*args)
    except Exception:  # the outbox sweep re-sends what was not published
        logger.warning("could not publish %s; the sweep will pick it up", task.name)


def unscanned_patient_ids(*, older_than: datetime, limit: int) -> list[int]:
    """Patients with entries still unscanned (and not given up on), oldest first. Uses entry_unscanned_idx."""
    rows = (
        Entry.objects.filter(scanned_at__isnull=True, submitted_at__lte=older_than, scan_failures__lt=MAX_SCAN_FAILURES)
        .order_by("submitted_at")
        .values_list("patient_id", flat=True)[: limit * 20]
    )
    seen: dict[int, None] = {}
    for pid in rows:
        seen.setdefault(pid, None)
        if len(seen) >= limit:
            break
    return list(seen)
