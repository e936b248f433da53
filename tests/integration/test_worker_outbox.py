"""The email outbox against an SMTP server that refuses or hangs: retried, then delivered exactly once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from assessments.models import OutgoingEmail
from assessments.tasks import scan_patient, sweep_outbox
from tests.integration.conftest import WORKER_EMAIL_TIMEOUT, SmtpServer, StartWorker, Worker, wait_until
from tests.integration.helpers import RED_FLAG_SESSION, RED_FLAG_SUBJECT, enrolled_patient, write_entry

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _first_attempt_fails(worker: Worker, smtp: SmtpServer) -> OutgoingEmail:
    """Raise an urgent alert through the worker; return its email once the failed attempt left it to retry."""
    patient, enrollment = enrolled_patient()
    write_entry(patient, enrollment, RED_FLAG_SESSION)
    scan_patient.delay(patient.pk)
    row = wait_until(
        lambda: OutgoingEmail.objects.filter(status=OutgoingEmail.Status.RETRY).first(),
        what="the failed email to be set to retry",
        workers=(worker,),
    )
    assert row.attempts == 1
    assert row.next_attempt_at is not None
    assert row.next_attempt_at > timezone.now()  # backing off, not hammering the server
    assert smtp.received == []
    assert smtp.sink.attempts == 1
    return row


def _sweep_delivers_once(worker: Worker, smtp: SmtpServer, row: OutgoingEmail) -> None:
    # The backoff has passed.
    OutgoingEmail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())

    sweep_outbox.delay()

    (mail,) = wait_until(lambda: smtp.received, what="the email sent by the sweep", workers=(worker,))
    wait_until(lambda: worker.succeeded("assessments.sweep_outbox") == 1, what="the sweep", workers=(worker,))
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (OutgoingEmail.Status.SENT, 2, "")
    assert mail.message_id == row.message_id
    assert mail.subject.endswith(RED_FLAG_SUBJECT)
    assert len(smtp.received) == 1
    assert worker.errors() == []


def test_email_refused_with_451_is_retried_by_the_sweep_and_delivered_once(
    start_worker: StartWorker, smtp: SmtpServer
) -> None:
    worker = start_worker()
    smtp.sink.refuse_next = 1

    row = _first_attempt_fails(worker, smtp)

    assert row.last_error.startswith("SMTPDataError: (451")
    _sweep_delivers_once(worker, smtp, row)


def test_email_to_a_hanging_server_times_out_and_is_delivered_once_after_it_recovers(
    start_worker: StartWorker, smtp: SmtpServer
) -> None:
    worker = start_worker()
    smtp.sink.hang_seconds = 3 * WORKER_EMAIL_TIMEOUT  # longer than the worker's EMAIL_TIMEOUT

    row = _first_attempt_fails(worker, smtp)

    assert "timed out" in row.last_error
    smtp.sink.hang_seconds = 0  # the server answers again
    _sweep_delivers_once(worker, smtp, row)
