"""Alert emails: which alerts are emailed at once, what the email says (and never says), and the outbox.

The outbox row is written by the scan in the same transaction as its alert; sending claims the row by
compare-and-swap, sends with a Message-ID derived from the row, and retries with backoff until it fails. A
claim is a lease: a row still sending after it belongs to a dead worker and is resent once by the sweep.
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from assessments import rules
from assessments.models import Alert, OutgoingEmail
from assessments.outbox import MAX_ATTEMPTS, STUCK_ERROR, lease, outbox_send, outbox_sweep, send_deadline
from assessments.tasks import send_email, sweep_outbox
from clinic.celery import app as celery_app
from tests.assessments.helpers import NOW, enrolled_patient, scan, sent, submit_session

ROOT = Path(__file__).resolve().parents[2]
STIFFER = {"stiffness_change": "stiffer"}
NOTE_MARKER = "ZQX-4417 my neighbour Mrs Pettigrew"


class FailingBackend(BaseEmailBackend):
    """An SMTP server that answers every message with a temporary failure."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise smtplib.SMTPException("451 4.3.0 Try again later")


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the worker runs after it, so the row is left in sending."""


class DyingBackend(BaseEmailBackend):
    """The worker dies inside the SMTP exchange, after the message went out (the server may have it)."""

    message_ids: list[str] = []

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        DyingBackend.message_ids += [str(m.message()["Message-ID"]) for m in email_messages]
        raise WorkerKilled


class SlowBackend(BaseEmailBackend):
    """A slow but alive server: while it sends, ``during`` runs (another worker's sweep, later)."""

    during: Callable[[], None] = staticmethod(lambda: None)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        SlowBackend.during()
        mail.outbox.extend(email_messages)
        return len(email_messages)


class SilentServerBackend(BaseEmailBackend):
    """A connected SMTP server that never finishes the exchange (each reply just within EMAIL_TIMEOUT, forever).

    ``connection.sock`` is where Django's SMTP backend keeps the socket (smtplib.SMTP.sock).
    """

    def open(self) -> bool:
        ours, self._server = socket.socketpair()
        ours.settimeout(10)  # a safety net for this test: the deadline must end the send long before
        self.connection = SimpleNamespace(sock=ours)
        return True

    def close(self) -> None:
        self.connection.sock.close()
        self._server.close()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not self.connection.sock.recv(1):
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return 0


def raise_high(patient: Any) -> Alert:
    submit_session(patient, 2, **STIFFER)
    submit_session(patient, 1, **STIFFER)
    scan(patient)
    return Alert.objects.get(patient=patient, rule_id="R-03")


def raise_urgent(patient: Any, **answers: Any) -> Alert:
    submit_session(patient, 1, safety_screen=["saddle_numbness", "bladder_change"], **answers)
    scan(patient)
    return Alert.objects.get(patient=patient, rule_id="R-01")


def outbox_row(clinic: Any, key: str, **fields: Any) -> OutgoingEmail:
    values: dict[str, Any] = {
        "clinic": clinic,
        "to": "jane.roe@clinic.test",
        "subject": f"[{clinic.name}] HIGH: Back stiffening after workouts",
        "body_text": "Rule R-03",
        "body_html": "<p>Rule R-03</p>",
        "next_attempt_at": timezone.now(),
    }
    values.update(fields)
    return OutgoingEmail.objects.create(key=key, **values)


# --- which alerts are emailed ------------------------------------------------------------------------


def test_an_urgent_alert_is_emailed_at_once_to_the_assigned_therapist(world: Any) -> None:
    alert = raise_urgent(enrolled_patient(world.therapist))

    email = OutgoingEmail.objects.get()
    assert email.key == f"alert:{alert.pk}:immediate"
    assert email.to == world.therapist.user.email
    assert email.clinic == world.clinic
    assert email.status == OutgoingEmail.Status.QUEUED


def test_a_high_alert_is_emailed_at_once_when_the_clinic_says_so(world: Any) -> None:
    assert world.clinic.email_high_immediately
    alert = raise_high(enrolled_patient(world.therapist))

    assert list(OutgoingEmail.objects.values_list("key", flat=True)) == [f"alert:{alert.pk}:immediate"]


def test_a_high_alert_waits_for_the_digest_when_the_clinic_says_so(world: Any) -> None:
    world.clinic.email_high_immediately = False
    world.clinic.save()

    raise_high(enrolled_patient(world.therapist))
    raise_urgent(enrolled_patient(world.therapist))

    assert [e.subject.split("] ")[1].split(":")[0] for e in OutgoingEmail.objects.all()] == ["URGENT"]


def test_a_routine_alert_is_never_emailed_at_once(world: Any) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 2, neck_symptoms="tension", neck_level=3)
    submit_session(patient, 1, neck_symptoms="tension", neck_level=3)

    scan(patient)

    assert Alert.objects.get(patient=patient).severity == "routine"
    assert not OutgoingEmail.objects.exists()


def test_a_routine_alert_escalated_to_high_is_emailed_once_escalated(world: Any, clock: Any) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 2, neck_symptoms="tension", neck_level=3)
    submit_session(patient, 1, neck_symptoms="tension", neck_level=3)
    scan(patient)
    clock.shift(dt.timedelta(hours=1))
    submit_session(patient, 0, neck_symptoms="pain_into_arm", neck_level=6)

    scan(patient)

    alert = Alert.objects.get(patient=patient)
    assert alert.severity == "high"
    assert list(OutgoingEmail.objects.values_list("key", flat=True)) == [f"alert:{alert.pk}:escalation:1"]


def test_an_alert_is_emailed_once_however_often_it_is_scanned_or_updated(world: Any, clock: Any) -> None:
    patient = enrolled_patient(world.therapist)
    alert = raise_high(patient)
    scan(patient)
    clock.shift(dt.timedelta(hours=1))
    submit_session(patient, 0, **STIFFER)  # new evidence on the open alert

    report = scan(patient)

    assert report.updated == 1
    assert report.emails == []
    assert list(OutgoingEmail.objects.values_list("key", flat=True)) == [f"alert:{alert.pk}:immediate"]


# --- what the email says ----------------------------------------------------------------------------


@pytest.fixture
def private_patient(world: Any) -> Any:
    """A patient whose name, birth date and email must never appear in an email."""
    return enrolled_patient(
        world.therapist,
        first_name="Philippa",
        last_name="Montgomery-Vance",
        birth_date=dt.date(1979, 2, 3),
        email="philippa.mv@example.test",
    )


def test_the_alert_email_carries_the_minimum_information(world: Any, private_patient: Any) -> None:
    alert = raise_urgent(private_patient)
    email = sent(OutgoingEmail.objects.get())

    assert email.subject == f"[Riverside] URGENT: {rules.RULES['R-01'].title}"
    for body in (email.body_text, email.body_html):
        assert private_patient.caseload_ref in body
        assert "R-01" in body
        assert f"core v{alert.ruleset_version}" in body
        assert "Saddle numbness, bladder change reported on Tue 16 Jun" in body  # the triggering values in words
        assert "Numbness or tingling between the legs" in body  # ... with the patient's answer
        assert "same-day emergency assessment" in body  # the rationale
        assert f"{settings.SITE_URL}/admin/assessments/alert/{alert.pk}/change/" in body
    assert email.body_html.lstrip().startswith("<!doctype html>")


def test_the_alert_email_never_names_the_patient_nor_quotes_their_note(world: Any, private_patient: Any) -> None:
    raise_urgent(private_patient, note=f"Fell off my bike. {NOTE_MARKER}")
    raise_high(private_patient)
    assert OutgoingEmail.objects.count() == 2

    for email in map(sent, OutgoingEmail.objects.all()):
        for text in (email.subject, email.body_text, email.body_html):
            for private in ("Philippa", "Montgomery", "1979", "philippa.mv", "ZQX-4417", "Pettigrew", "bike"):
                assert private not in text, (private, email.key)


def test_a_high_alert_email_subject_names_the_severity_and_rule_title(world: Any) -> None:
    raise_high(enrolled_patient(world.therapist))

    assert OutgoingEmail.objects.get().subject == "[Riverside] HIGH: Back stiffening after workouts"


# --- sending ----------------------------------------------------------------------------------------


def test_sending_marks_the_row_sent_with_a_message_id_derived_from_it(world: Any, mailoutbox: Any) -> None:
    alert = raise_urgent(enrolled_patient(world.therapist))
    row = OutgoingEmail.objects.get()

    assert send_email(row.pk) == "sent"

    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (OutgoingEmail.Status.SENT, 1, NOW, "")
    assert row.message_id == f"<outbox-{row.pk}.alert.{alert.pk}.immediate@clinic.invalid>"
    [message] = mailoutbox
    assert message.message()["Message-ID"] == row.message_id
    assert (message.subject, message.to, message.body) == (row.subject, [world.therapist.user.email], row.body_text)
    assert message.alternatives[0][0] == row.body_html
    assert message.alternatives[0][1] == "text/html"


def test_a_sent_row_is_not_sent_again(world: Any, mailoutbox: Any) -> None:
    row = outbox_row(world.clinic, "alert:1:immediate")
    outbox_send(email_id=row.pk)

    assert outbox_send(email_id=row.pk) == "skipped"
    assert len(mailoutbox) == 1


def test_a_row_already_claimed_by_another_worker_is_skipped(world: Any, mailoutbox: Any) -> None:
    row = outbox_row(world.clinic, "alert:1:immediate")
    # Another worker won the compare-and-swap a moment ago and is talking to the SMTP server.
    OutgoingEmail.objects.filter(pk=row.pk).update(status=OutgoingEmail.Status.SENDING, claimed_at=NOW, attempts=1)

    assert outbox_send(email_id=row.pk) == "skipped"

    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutgoingEmail.Status.SENDING, 1)
    assert mailoutbox == []


def test_a_failing_send_retries_with_backoff_then_fails_after_the_last_attempt(
    world: Any, settings: Any, clock: Any, mailoutbox: Any
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    row = outbox_row(world.clinic, "alert:1:immediate")
    delays = []

    for attempt in range(1, MAX_ATTEMPTS):
        assert outbox_send(email_id=row.pk) == "retry"
        row.refresh_from_db()
        assert (row.status, row.attempts) == (OutgoingEmail.Status.RETRY, attempt)
        assert row.last_error == "SMTPException: 451 4.3.0 Try again later"
        delays.append((row.next_attempt_at - timezone.now()).total_seconds())
        assert outbox_send(email_id=row.pk) == "skipped"  # not due yet
        clock.move_to(row.next_attempt_at, tick=False)

    assert delays == [30, 60, 120, 240, 480]
    assert outbox_send(email_id=row.pk) == "failed"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == (OutgoingEmail.Status.FAILED, MAX_ATTEMPTS, None)
    assert outbox_send(email_id=row.pk) == "skipped"
    assert mailoutbox == []


def test_a_retried_row_is_sent_once_the_server_answers_again(
    world: Any, settings: Any, clock: Any, mailoutbox: Any
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    row = outbox_row(world.clinic, "alert:1:immediate")
    outbox_send(email_id=row.pk)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clock.shift(dt.timedelta(seconds=30))

    assert sweep_outbox() == {"sent_or_tried": 1, "stuck": 0}

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (OutgoingEmail.Status.SENT, 2, "")
    assert [m.message()["Message-ID"] for m in mailoutbox] == [row.message_id]


def test_an_alert_email_is_written_from_its_alert_on_the_first_attempt_and_resent_as_written(
    world: Any, settings: Any, clock: Any, mailoutbox: Any
) -> None:
    alert = raise_urgent(enrolled_patient(world.therapist))
    row = OutgoingEmail.objects.get()
    assert (row.alert_id, row.body_text, row.body_html) == (alert.pk, "", "")  # queued: nothing rendered yet

    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    assert outbox_send(email_id=row.pk) == OutgoingEmail.Status.RETRY
    row.refresh_from_db()
    assert alert.rationale in row.body_text
    assert row.body_html.lstrip().startswith("<!doctype html>")
    written = (row.body_text, row.body_html)

    # The alert changes before the resend: the therapist still gets the email as it was first written.
    Alert.objects.filter(pk=alert.pk).update(rationale="Changed after the first attempt.")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clock.shift(dt.timedelta(seconds=30))
    assert sweep_outbox() == {"sent_or_tried": 1, "stuck": 0}

    row.refresh_from_db()
    assert (row.status, (row.body_text, row.body_html)) == (OutgoingEmail.Status.SENT, written)
    [message] = mailoutbox
    assert (message.body, message.alternatives[0][0]) == written


def claimed(row: OutgoingEmail, at: dt.datetime, attempts: int = 1) -> None:
    """The row as a worker leaves it the moment it claimed it (then died, or is still talking to the server)."""
    OutgoingEmail.objects.filter(pk=row.pk).update(
        status=OutgoingEmail.Status.SENDING, claimed_at=at, attempts=attempts
    )


def test_the_default_lease_outlasts_a_send_and_a_lost_email_is_resent_within_two_minutes() -> None:
    assert lease() == dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    # A live send is cut before its lease runs out, and gets at least the connect and five slow replies.
    assert send_deadline() == 0.8 * settings.OUTBOX_LEASE_SECONDS < settings.OUTBOX_LEASE_SECONDS
    assert send_deadline() >= min(6 * settings.EMAIL_TIMEOUT, 72)
    # Beat sweeps often enough: a worker dying right after its claim is resent within lease + one interval.
    sweep = settings.CELERY_BEAT_SCHEDULE["sweep-outbox"]
    assert sweep["task"] == "assessments.sweep_outbox"
    assert sweep["schedule"] == settings.OUTBOX_SWEEP_SECONDS == 15
    assert settings.OUTBOX_LEASE_SECONDS + sweep["schedule"] <= 105 < 120


@pytest.mark.parametrize(("email_timeout", "lease_seconds"), [(None, 75), ("2", 27), ("12", 87), ("60", 90)])
def test_the_lease_is_derived_from_the_smtp_timeout(
    email_timeout: str | None, lease_seconds: int, tmp_path: Path
) -> None:
    """6 x EMAIL_TIMEOUT + 15 s, at most 90 s: 75 s at the default EMAIL_TIMEOUT of 10 s."""
    env = {k: v for k, v in os.environ.items() if k != "EMAIL_TIMEOUT"}
    env["VAR_DIR"] = str(tmp_path)
    if email_timeout is not None:
        env["EMAIL_TIMEOUT"] = email_timeout
    script = "import clinic.settings as s; print(s.EMAIL_TIMEOUT, s.OUTBOX_LEASE_SECONDS)"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [email_timeout or "10", str(lease_seconds)]


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("assessments.send_email", "email"),
        ("assessments.sweep_outbox", "email"),
        ("assessments.send_digests", "email"),
        ("assessments.send_reminders", "email"),
        ("assessments.scan_patient", "celery"),
        ("assessments.sweep_unscanned", "celery"),
        ("assessments.evaluate_enrolled", "celery"),
    ],
)
def test_everything_that_talks_to_the_smtp_server_runs_on_the_email_queue(task: str, queue: str) -> None:
    assert celery_app.amqp.router.route({}, task)["queue"].name == queue


def test_a_sending_row_younger_than_the_lease_is_left_to_its_worker(world: Any, mailoutbox: Any) -> None:
    row = outbox_row(world.clinic, "alert:1:immediate")
    claimed(row, timezone.now() - lease() + dt.timedelta(seconds=1))  # still within its lease

    assert sweep_outbox() == {"sent_or_tried": 0, "stuck": 0}
    assert outbox_send(email_id=row.pk) == "skipped"

    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutgoingEmail.Status.SENDING, 1)
    assert mailoutbox == []


def test_the_sweep_requeues_rows_whose_lease_ran_out_and_reports_them(world: Any, clock: Any) -> None:
    now = timezone.now()
    stuck = outbox_row(world.clinic, "alert:1:immediate")
    sending = outbox_row(world.clinic, "alert:2:immediate")
    due = outbox_row(world.clinic, "alert:3:immediate", status=OutgoingEmail.Status.RETRY)
    later = outbox_row(world.clinic, "alert:4:immediate", status=OutgoingEmail.Status.RETRY)
    claimed(stuck, now - lease() - dt.timedelta(seconds=1))
    claimed(sending, now - lease() + dt.timedelta(seconds=1))
    OutgoingEmail.objects.filter(pk=later.pk).update(next_attempt_at=now + dt.timedelta(minutes=1))

    sweep = outbox_sweep()

    assert sweep.stuck == 1
    assert sorted(sweep.due) == sorted([stuck.pk, due.pk])
    stuck.refresh_from_db()
    assert (stuck.status, stuck.last_error, stuck.next_attempt_at) == (OutgoingEmail.Status.RETRY, STUCK_ERROR, now)
    sending.refresh_from_db()
    assert sending.status == OutgoingEmail.Status.SENDING  # its worker may still be at it


def test_an_email_whose_worker_died_mid_send_is_resent_once_after_the_lease_with_the_same_message_id(
    world: Any, settings: Any, clock: Any, mailoutbox: Any
) -> None:
    alert = raise_urgent(enrolled_patient(world.therapist))
    row = OutgoingEmail.objects.get()
    settings.EMAIL_BACKEND = f"{__name__}.DyingBackend"
    DyingBackend.message_ids = []
    with pytest.raises(WorkerKilled):
        send_email(row.pk)  # claimed, the message went out, then the worker was killed
    row.refresh_from_db()
    assert (row.status, row.attempts, row.claimed_at) == (OutgoingEmail.Status.SENDING, 1, NOW)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    clock.shift(lease())  # a claim exactly as old as the lease still holds
    assert sweep_outbox() == {"sent_or_tried": 0, "stuck": 0}
    assert send_email(row.pk) == "skipped"  # a redelivered send task leaves it alone too
    clock.shift(dt.timedelta(seconds=1))
    assert sweep_outbox() == {"sent_or_tried": 1, "stuck": 1}
    for _ in range(3):  # later sweeps, and the original task redelivered, send nothing more
        clock.shift(lease() + dt.timedelta(seconds=1))
        assert sweep_outbox() == {"sent_or_tried": 0, "stuck": 0}
        assert send_email(row.pk) == "skipped"

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (OutgoingEmail.Status.SENT, 2, "")
    assert row.sent_at == NOW + lease() + dt.timedelta(seconds=1)
    assert row.message_id == f"<outbox-{row.pk}.alert.{alert.pk}.immediate@clinic.invalid>"
    assert DyingBackend.message_ids == [row.message_id]
    assert [m.message()["Message-ID"] for m in mailoutbox] == [row.message_id]  # one resend, the same id


def test_the_outbox_sweep_task_resends_a_stuck_row_once_with_the_same_message_id(
    world: Any, clock: Any, mailoutbox: Any
) -> None:
    row = outbox_row(world.clinic, "alert:1:immediate")
    claimed(row, timezone.now())
    clock.shift(lease() + dt.timedelta(minutes=1))

    assert sweep_outbox() == {"sent_or_tried": 1, "stuck": 1}
    assert sweep_outbox() == {"sent_or_tried": 0, "stuck": 0}

    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutgoingEmail.Status.SENT, 2)
    assert [m.message()["Message-ID"] for m in mailoutbox] == [row.message_id]


def test_a_slow_but_alive_send_is_not_resent(world: Any, settings: Any, clock: Any, mailoutbox: Any) -> None:
    row = outbox_row(world.clinic, "alert:1:immediate")
    sweeps = []

    def another_workers_sweep_as_the_deadline_nears() -> None:
        clock.shift(dt.timedelta(seconds=send_deadline() - 0.5))
        sweeps.append(sweep_outbox())

    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    SlowBackend.during = staticmethod(another_workers_sweep_as_the_deadline_nears)

    assert outbox_send(email_id=row.pk) == "sent"

    assert sweeps == [{"sent_or_tried": 0, "stuck": 0}]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutgoingEmail.Status.SENT, 1)
    assert [m.message()["Message-ID"] for m in mailoutbox] == [row.message_id]


def test_a_send_still_talking_to_the_server_at_its_deadline_is_cut_and_retried(
    world: Any, settings: Any, mailoutbox: Any
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.SilentServerBackend"
    settings.OUTBOX_LEASE_SECONDS = 1  # the send is cut at 0.8 s
    row = outbox_row(world.clinic, "alert:1:immediate")

    started = time.monotonic()
    assert outbox_send(email_id=row.pk) == "retry"
    elapsed = time.monotonic() - started

    assert 0.8 <= elapsed < 5
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutgoingEmail.Status.RETRY, 1)
    assert row.last_error == ("send deadline of 1 s exceeded (SMTPServerDisconnected: Connection unexpectedly closed)")


def test_a_send_that_finishes_after_its_row_was_reclaimed_does_not_mark_it(
    world: Any, settings: Any, clock: Any, mailoutbox: Any
) -> None:
    row = outbox_row(world.clinic, "alert:1:immediate")
    reclaimed_at = NOW + lease() + dt.timedelta(seconds=1)

    def reclaimed_meanwhile() -> None:
        claimed(row, reclaimed_at, attempts=2)

    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    SlowBackend.during = staticmethod(reclaimed_meanwhile)

    outbox_send(email_id=row.pk)

    row.refresh_from_db()
    assert (row.status, row.claimed_at, row.attempts) == (OutgoingEmail.Status.SENDING, reclaimed_at, 2)


def test_a_row_whose_worker_died_on_its_last_attempt_fails_instead_of_being_resent(
    world: Any, clock: Any, mailoutbox: Any
) -> None:
    row = outbox_row(world.clinic, "alert:1:immediate")
    claimed(row, timezone.now(), attempts=MAX_ATTEMPTS)
    clock.shift(lease() + dt.timedelta(seconds=1))

    assert sweep_outbox() == {"sent_or_tried": 0, "stuck": 1}

    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == (OutgoingEmail.Status.FAILED, MAX_ATTEMPTS, None)
    assert row.last_error == STUCK_ERROR
    assert mailoutbox == []


def test_the_admin_requeues_failed_emails_and_the_sweep_sends_them(world: Any, client: Any, mailoutbox: Any) -> None:
    failed = outbox_row(world.clinic, "alert:1:immediate", status=OutgoingEmail.Status.FAILED, attempts=MAX_ATTEMPTS)
    sent = outbox_row(world.clinic, "alert:2:immediate", status=OutgoingEmail.Status.SENT, attempts=1)
    client.force_login(world.clinic_admin.user)

    response = client.post(
        "/admin/assessments/outgoingemail/",
        {"action": "requeue", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )

    assert "Re-queued 1 email(s)." in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutgoingEmail.Status.RETRY, 0)
    assert OutgoingEmail.objects.get(pk=sent.pk).status == OutgoingEmail.Status.SENT
    sweep_outbox()
    assert [m.subject for m in mailoutbox] == [failed.subject]


def test_the_alert_email_gives_the_evidence_in_words_without_json_or_reprs(world: Any) -> None:
    alert = raise_high(enrolled_patient(world.therapist))
    email = sent(OutgoingEmail.objects.get(key=f"alert:{alert.pk}:immediate"))
    words = alert.words()

    text = email.body_text
    print(text)
    assert f"In short: {words.summary}" in text
    assert "(A) stiffer in at least 2 of the last 3 sessions within 14 days: 2 of the last 3 entries" in text
    assert "after a workout: Stiffness compared with before the workout: Stiffer" in text
    body = text.replace(f"{settings.SITE_URL}/admin/assessments/alert/{alert.pk}/change/", "")
    for mark in ("{", "}", "[", "]", "=", "'", "_"):
        assert mark not in body, mark
    assert words.summary in email.body_html
    assert "Values judged" not in text + email.body_html
