"""Celery tasks: thin interfaces that take ids, call one service, and are safe to run twice.

The tasks that talk to the SMTP server (send_email, sweep_outbox, send_digests, send_reminders) are routed to
the "email" queue (CELERY_TASK_ROUTES), which its own worker consumes: a hanging server never delays a scan.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.utils import timezone

from assessments import queues
from assessments.burst import scan_submitted
from assessments.notifications import digest_due, digest_send, reminders_send
from assessments.outbox import outbox_send, outbox_sweep
from assessments.scanning import ScanReport, scan_patients, unscanned_patient_ids
from clinic.publish import publish_now
from patients.models import Patient

logger = logging.getLogger(__name__)

BATCH = 200
# The sweep leaves fresh entries to the task enqueued on commit.
SWEEP_DELAY = timedelta(seconds=30)


def _scan(patient_ids: list[int]) -> ScanReport:
    return _published(scan_patients(patient_ids))


def _published(report: ScanReport) -> ScanReport:
    """Publish what a scan asks for: its emails at once, each R-11 once its burst is over.

    A message the broker refuses is not lost: the outbox sweep sends the email, the daily evaluation judges R-11.
    """
    for email_id in report.emails:
        publish_now(queues.SEND_EMAIL, email_id)
    now = timezone.now()
    for patient_id, due in report.r11_due:
        publish_now(queues.SCAN_PATIENT, patient_id, countdown=max(1, int((due - now).total_seconds()) + 1))
    return report


@shared_task(name=queues.SCAN_PATIENT)
def scan_patient(patient_id: int, submitted: bool = False) -> dict[str, Any]:
    """Scan one patient. After a submission (``submitted``), with the other patients whose new entries wait, in
    one batch (``assessments.burst``); otherwise (R-11's due time, a phase change) the patient alone, always."""
    report = _published(scan_submitted(patient_id, batch=BATCH) if submitted else scan_patients([patient_id]))
    return {
        "patients": report.patients,
        "findings": report.findings,
        "created": report.created,
        "updated": report.updated,
    }


@shared_task(name=queues.SWEEP_UNSCANNED)
def sweep_unscanned() -> dict[str, Any]:
    """Scan every patient with entries left unscanned (a lost message, a broker outage), in bounded batches."""
    ids = unscanned_patient_ids(older_than=timezone.now() - SWEEP_DELAY, limit=BATCH)
    if not ids:
        return {"patients": 0}
    report = _scan(ids)
    if report.failed:
        logger.error("sweep: %s patient scan(s) failed: ids %s", len(report.failed), report.failed)
    if len(ids) == BATCH:
        sweep_unscanned.delay()  # more remain: continue in a fresh task
    return {"patients": report.patients, "created": report.created, "failed": len(report.failed)}


@shared_task(name=queues.EVALUATE_ENROLLED)
def evaluate_enrolled(after_id: int = 0) -> dict[str, Any]:
    """Daily: run the rules for every enrolled patient (time-based rules such as R-11), a batch per task."""
    ids = list(
        Patient.objects.active()
        .filter(pk__gt=after_id, enrollments__active=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    if not ids:
        return {"patients": 0}
    report = _scan(ids)
    if len(ids) == BATCH:
        evaluate_enrolled.delay(after_id=ids[-1])
    return {"patients": report.patients, "created": report.created, "failed": len(report.failed)}


@shared_task(name=queues.SEND_EMAIL)
def send_email(email_id: int) -> str:
    return outbox_send(email_id=email_id)


@shared_task(name=queues.SWEEP_OUTBOX)
def sweep_outbox() -> dict[str, Any]:
    """Every 15 s: send what is due, and resend once what a dead worker left in sending past its lease."""
    sweep = outbox_sweep()
    for email_id in sweep.due:
        outbox_send(email_id=email_id)
    return {"sent_or_tried": len(sweep.due), "stuck": sweep.stuck}


@shared_task(name=queues.SEND_DIGESTS)
def send_digests() -> dict[str, Any]:
    """Beat ticks; the database decides whose digest is due (clinic-local hour and weekdays)."""
    now = timezone.now()
    written = 0
    for therapist in digest_due(now):
        email = digest_send(therapist=therapist, now=now)
        if email is not None:
            written += 1
            outbox_send(email_id=email.pk)
    return {"digests": written}


@shared_task(name=queues.SEND_REMINDERS)
def send_reminders() -> dict[str, Any]:
    """Hourly: at most one reminder per due self-assessment, in the patient's daytime."""
    emails = reminders_send(now=timezone.now())
    for email in emails:
        outbox_send(email_id=email.pk)
    return {"reminders": len(emails)}
