"""Emails in their own worker pool: a lost sender is replaced within two minutes, a hanging server delays no scan.

Production layout (Procfile, docker-compose.yml): one worker consumes the default queue (scans), another the
``email`` queue (alert emails, the outbox sweep, digests, reminders). Here each is a real ``celery worker``
subprocess with ``-Q``; beat is played by this process, which publishes ``sweep_outbox`` at the interval of
the beat schedule (a real beat would also run the reminders and digests, whose emails would muddle the count).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from assessments.models import Alert, Entry, OutgoingEmail
from assessments.tasks import scan_patient, sweep_outbox
from tests.integration.conftest import WORKER_EMAIL_TIMEOUT, SmtpServer, StartWorker, Worker, wait_until
from tests.integration.helpers import RED_FLAG_SESSION, RED_FLAG_SUBJECT, enrolled_patient, write_entry

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SWEEP = "assessments.sweep_outbox"
# The workers' lease, derived by clinic/settings.py from their EMAIL_TIMEOUT: 6 x 2 s + 15 s.
WORKER_LEASE = min(6 * WORKER_EMAIL_TIMEOUT + 15, 90)
# How often beat publishes the outbox sweep (clinic/settings.py, CELERY_BEAT_SCHEDULE).
SWEEP_EVERY = float(settings.CELERY_BEAT_SCHEDULE["sweep-outbox"]["schedule"])
TWO_MINUTES = 120.0


def _red_flag_email_claimed_by(workers: tuple[Worker, ...], smtp: SmtpServer, number: int = 0) -> OutgoingEmail:
    """Raise an urgent alert through the scan worker; return its email once the email worker is inside DATA."""
    patient, enrollment = enrolled_patient(number=number)
    write_entry(patient, enrollment, RED_FLAG_SESSION)
    scan_patient.delay(patient.pk)
    wait_until(lambda: smtp.sink.attempts >= 1, what="the email worker to reach DATA", workers=workers)
    alert = Alert.objects.get(patient=patient)
    return OutgoingEmail.objects.get(key=f"alert:{alert.pk}:immediate")


def test_an_email_whose_worker_is_killed_mid_send_is_resent_once_within_two_minutes(
    start_worker: StartWorker, smtp: SmtpServer
) -> None:
    scans = start_worker("scans", queues="celery")
    mail1 = start_worker("mail1", queues="email")
    smtp.sink.hang_seconds = 60  # the server sits on DATA: the worker is in the middle of the exchange

    row = _red_flag_email_claimed_by((scans, mail1), smtp)
    mail1.kill()
    killed_at = time.monotonic()

    row.refresh_from_db()
    assert row.status == OutgoingEmail.Status.SENDING, f"the worker finished before the kill: {row.status}"
    assert row.attempts == 1
    first_claim = row.claimed_at
    assert first_claim is not None
    smtp.sink.hang_seconds = 0  # the server answers again; the killed connection's DATA is dropped
    assert smtp.received == []

    mail2 = start_worker("mail2", queues="email")  # the replacement (restart: unless-stopped, honcho ...)
    workers = (scans, mail2)
    next_sweep = killed_at  # beat ticks on, whatever happened to the worker

    def beat_then_delivered() -> list[Any]:
        nonlocal next_sweep
        if time.monotonic() >= next_sweep:
            sweep_outbox.delay()
            next_sweep += SWEEP_EVERY
        return smtp.received

    (mail,) = wait_until(beat_then_delivered, what="the resent email", timeout=TWO_MINUTES, workers=workers)
    recovery = time.monotonic() - killed_at
    print(
        f"\nemail worker killed in DATA; resent and delivered {recovery:.1f} s after the kill "
        f"(lease {WORKER_LEASE} s from the claim, sweep every {SWEEP_EVERY:.0f} s; at the production defaults "
        f"the bound is {settings.OUTBOX_LEASE_SECONDS} + {SWEEP_EVERY:.0f} s)"
    )
    assert recovery < TWO_MINUTES
    assert recovery <= WORKER_LEASE + SWEEP_EVERY + 5

    wait_until(
        lambda: OutgoingEmail.objects.filter(pk=row.pk, status=OutgoingEmail.Status.SENT).exists(),
        what="the sweep to mark the email sent",
        workers=workers,
    )
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (OutgoingEmail.Status.SENT, 2, "")
    assert row.claimed_at is not None
    assert (row.claimed_at - first_claim).total_seconds() >= WORKER_LEASE  # not a moment before the lease ran out
    assert mail.message_id == row.message_id
    assert mail.subject.endswith(RED_FLAG_SUBJECT)

    # Later sweeps send nothing more: one resend, with the Message-ID of the lost attempt.
    swept = mail2.succeeded(SWEEP)
    sweep_outbox.delay()
    wait_until(lambda: mail2.succeeded(SWEEP) > swept, what="one more sweep", workers=workers)
    assert [m.message_id for m in smtp.received] == [row.message_id]
    assert smtp.sink.data_message_ids == [row.message_id, row.message_id]
    assert OutgoingEmail.objects.filter(key=row.key).count() == 1
    assert scans.errors() == mail2.errors() == []


def test_a_hanging_smtp_server_does_not_delay_a_scan(start_worker: StartWorker, smtp: SmtpServer) -> None:
    scans = start_worker("scans", queues="celery")
    # A long EMAIL_TIMEOUT: the email worker stays stuck in DATA for the whole test, until the server answers.
    mail = start_worker("mail", queues="email", environment={"EMAIL_TIMEOUT": "60"})
    workers = (scans, mail)
    smtp.sink.hang_seconds = 60

    stuck = _red_flag_email_claimed_by(workers, smtp, number=1)
    sweep_outbox.delay()  # queued behind the hanging send, as beat's sweeps would be

    patient, enrollment = enrolled_patient(number=2)
    write_entry(patient, enrollment, RED_FLAG_SESSION)
    started = time.monotonic()
    scan_patient.delay(patient.pk)
    alert = wait_until(
        lambda: Alert.objects.filter(patient=patient).first(), what="the second alert", timeout=10, workers=workers
    )
    latency = time.monotonic() - started
    print(f"\nscan raised its alert {latency:.2f} s after it was enqueued, with the SMTP server hanging")

    assert latency < 5
    assert (alert.rule_id, alert.severity) == ("R-01", "urgent")
    assert Entry.objects.get(patient=patient).scanned_at is not None
    email = OutgoingEmail.objects.get(key=f"alert:{alert.pk}:immediate")
    assert email.status == OutgoingEmail.Status.QUEUED  # waiting in the email queue, not blocking the scans
    stuck.refresh_from_db()
    assert stuck.status == OutgoingEmail.Status.SENDING  # the email worker is still inside DATA
    assert smtp.sink.attempts == 1
    assert smtp.received == []

    smtp.sink.hang_seconds = 0  # the server answers again: the hung DATA is refused, the queued email goes out
    (mail_received,) = wait_until(lambda: smtp.received, what="the second alert's email", workers=workers)
    assert mail_received.message_id == OutgoingEmail.objects.get(pk=email.pk).message_id
    stuck.refresh_from_db()
    assert stuck.status == OutgoingEmail.Status.RETRY
    assert timezone.now() < stuck.next_attempt_at  # backing off
    assert scans.errors() == mail.errors() == []
