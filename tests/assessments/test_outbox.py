"""Alert emails: which alerts are emailed at once, what the email says (and never says), and the outbox.

The outbox row is written by the scan in the same transaction as its alert; sending claims the row by
compare-and-swap, sends with a Message-ID derived from the row, and retries with backoff until it fails.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Sequence
from typing import Any

import pytest
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from assessments import rules
from assessments.models import Alert, OutgoingEmail
from assessments.outbox import MAX_ATTEMPTS, STUCK_AFTER, outbox_send, outbox_sweep
from assessments.tasks import send_email, sweep_outbox
from tests.assessments.helpers import NOW, enrolled_patient, scan, submit_session

STIFFER = {"stiffness_change": "stiffer"}
NOTE_MARKER = "ZQX-4417 my neighbour Mrs Pettigrew"


class FailingBackend(BaseEmailBackend):
    """An SMTP server that answers every message with a temporary failure."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise smtplib.SMTPException("451 4.3.0 Try again later")


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
    email = OutgoingEmail.objects.get()

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

    for email in OutgoingEmail.objects.all():
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


def test_the_sweep_requeues_rows_stuck_in_sending_and_reports_them(world: Any, clock: Any) -> None:
    now = timezone.now()
    stuck = outbox_row(world.clinic, "alert:1:immediate")
    sending = outbox_row(world.clinic, "alert:2:immediate")
    due = outbox_row(world.clinic, "alert:3:immediate", status=OutgoingEmail.Status.RETRY)
    later = outbox_row(world.clinic, "alert:4:immediate", status=OutgoingEmail.Status.RETRY)
    OutgoingEmail.objects.filter(pk=stuck.pk).update(
        status=OutgoingEmail.Status.SENDING, claimed_at=now - STUCK_AFTER - dt.timedelta(seconds=1), attempts=1
    )
    OutgoingEmail.objects.filter(pk=sending.pk).update(
        status=OutgoingEmail.Status.SENDING, claimed_at=now - dt.timedelta(minutes=2), attempts=1
    )
    OutgoingEmail.objects.filter(pk=later.pk).update(next_attempt_at=now + dt.timedelta(minutes=1))

    sweep = outbox_sweep()

    assert sweep.stuck == 1
    assert sorted(sweep.due) == sorted([stuck.pk, due.pk])
    stuck.refresh_from_db()
    assert (stuck.status, stuck.last_error, stuck.next_attempt_at) == (
        OutgoingEmail.Status.RETRY,
        "stuck in sending",
        now,
    )
    sending.refresh_from_db()
    assert sending.status == OutgoingEmail.Status.SENDING  # its worker may still be at it


def test_the_outbox_sweep_task_resends_a_stuck_row_once_with_the_same_message_id(
    world: Any, clock: Any, mailoutbox: Any
) -> None:
    row = outbox_row(world.clinic, "alert:1:immediate")
    OutgoingEmail.objects.filter(pk=row.pk).update(
        status=OutgoingEmail.Status.SENDING, claimed_at=timezone.now(), attempts=1
    )
    clock.shift(STUCK_AFTER + dt.timedelta(minutes=1))

    assert sweep_outbox() == {"sent_or_tried": 1, "stuck": 1}
    assert sweep_outbox() == {"sent_or_tried": 0, "stuck": 0}

    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutgoingEmail.Status.SENT, 2)
    assert [m.message()["Message-ID"] for m in mailoutbox] == [row.message_id]


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
    email = OutgoingEmail.objects.get(key=f"alert:{alert.pk}:immediate")
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
