"""Emails to therapists (immediate alerts, digests) and reminders to patients, written to the outbox.

Content follows RULES.md "Email minimum information": the subject carries the clinic, the severity and
the rule title, never the patient's name; the body a caseload reference, the rule id and version, the
triggering values and dates, the rationale and the admin link. Never a name, a birth date or free text.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from assessments import queues
from assessments.adherence import weekly_adherence
from assessments.models import Alert, OutgoingEmail, Severity
from clinic.publish import publish
from patients.models import Clinic, Patient, Therapist
from programs.models import Enrollment

logger = logging.getLogger(__name__)


def wants_immediate_email(alert: Alert, clinic: Clinic) -> bool:
    if alert.status in Alert.CLOSED:
        return False
    if alert.severity == Severity.URGENT:
        return True
    return alert.severity == Severity.HIGH and clinic.email_high_immediately


def admin_url(name: str, *args: Any) -> str:
    return f"{settings.SITE_URL}{reverse(name, args=args)}"


def _alert_context(alert: Alert, patient: Patient) -> dict[str, Any]:
    return {
        "words": alert.words(),
        "alert": alert,
        "caseload_ref": patient.caseload_ref,
        "clinic": patient.clinic,
        "link": admin_url("admin:assessments_alert_change", alert.pk),
    }


def _write(
    *, key: str, clinic: Clinic, to: str, subject: str, context: dict[str, Any], template: str
) -> OutgoingEmail | None:
    """Write one outbox row from the templates; None when the key exists already (queued before)."""
    return _insert(_rendered(key=key, clinic=clinic, to=to, subject=subject, context=context, template=template))


def _rendered(
    *, key: str, clinic: Clinic, to: str, subject: str, context: dict[str, Any], template: str
) -> OutgoingEmail:
    """An outbox row from the templates, not saved."""
    text = render_to_string(f"assessments/email/{template}.txt", context)
    html = render_to_string(f"assessments/email/{template}.html", context)
    return _unsaved(key=key, clinic=clinic, to=to, subject=subject, text=text, html=html)


def _unsaved(*, key: str, clinic: Clinic, to: str, subject: str, text: str, html: str) -> OutgoingEmail:
    return OutgoingEmail(
        key=key,
        clinic=clinic,
        to=to,
        subject=subject[:200],
        body_text=text,
        body_html=html,
        next_attempt_at=timezone.now(),
    )


def _insert(email: OutgoingEmail) -> OutgoingEmail | None:
    """Save a new outbox row; None when its key exists already (queued before)."""
    try:
        with transaction.atomic():
            email.save(force_insert=True)
    except IntegrityError:
        return None
    return email


def _create(*, key: str, clinic: Clinic, to: str, subject: str, text: str, html: str) -> OutgoingEmail | None:
    return _insert(_unsaved(key=key, clinic=clinic, to=to, subject=subject, text=text, html=html))


def queue_email(*, key: str, clinic: Clinic, to: str, subject: str, text: str, html: str = "") -> OutgoingEmail | None:
    """Queue any email through the outbox (written in the caller's transaction, sent after commit; the sweep
    sends it if the broker lost the message). None when ``key`` was queued before: each key is sent once."""
    email = _create(key=key, clinic=clinic, to=to, subject=subject, text=text, html=html)
    if email is not None:
        email_id = email.pk
        transaction.on_commit(lambda: publish(queues.SEND_EMAIL, email_id), robust=True)
    return email


def queue_alert_email(*, alert: Alert, patient: Patient, escalation: bool = False) -> OutgoingEmail | None:
    """The immediate email of an alert to its therapist, once per alert (key ``alert:<id>:immediate``)."""
    return _insert(alert_email(alert=alert, patient=patient, escalation=escalation))


def alert_email(*, alert: Alert, patient: Patient, escalation: bool = False) -> OutgoingEmail:
    """The immediate email of a saved alert, not saved (a scan writes a batch's emails at once).

    Its subject and recipient are set now; its body is written from the alert when it is first sent
    (``alert_email_bodies``), so that queuing an email renders nothing.
    """
    # The patient's current therapist (read with the patient by the scan's load_windows, user included).
    therapist = patient.therapist
    subject = f"[{patient.clinic.name}] {alert.get_severity_display().upper()}: {alert.title}"
    key = f"alert:{alert.pk}:immediate"
    if escalation:
        # Each escalation is told as a new alert of that severity would be (RULES.md "Escalation").
        subject += " (escalated)"
        key = f"alert:{alert.pk}:escalation:{alert.escalations}"
    email = _unsaved(key=key, clinic=patient.clinic, to=therapist.user.email, subject=subject, text="", html="")
    email.alert = alert
    return email


def alert_email_bodies(alert_id: int) -> tuple[str, str]:
    """The text and HTML bodies of an alert's email, written from the alert as it stands (one query)."""
    alert = Alert.objects.select_related("patient__clinic").get(pk=alert_id)
    context = _alert_context(alert, alert.patient)
    return (
        render_to_string("assessments/email/alert.txt", context),
        render_to_string("assessments/email/alert.html", context),
    )


# --- digests ---------------------------------------------------------------------------------------


def next_digest_at(clinic: Clinic, after: datetime) -> datetime:
    """The first digest instant strictly after ``after``: the clinic's local digest hour on a digest day.

    Computed on local calendar dates, so it stays at the local hour across daylight-saving changes; an
    hour that does not exist locally (spring forward) maps to the instant just after the gap.
    """
    tz = clinic.tz
    local = after.astimezone(tz)
    days = {int(d) for d in clinic.digest_weekdays}
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        candidate = datetime.combine(day, time(clinic.digest_hour), tzinfo=tz)
        # Normalise non-existent local times through UTC and back.
        candidate = candidate.astimezone(UTC).astimezone(tz)
        if candidate > after:
            return candidate.astimezone(UTC)
    raise ValueError("the clinic has no digest weekday")


def digest_due(now: datetime, limit: int = 200) -> list[Therapist]:
    """Therapists whose digest is due, or who have no digest time yet. Bounded."""
    return list(
        Therapist.objects.filter(Q(next_digest_at__lte=now) | Q(next_digest_at__isnull=True))
        .select_related("clinic", "user")
        .order_by("next_digest_at")[:limit]
    )


def digest_send(*, therapist: Therapist, now: datetime) -> OutgoingEmail | None:
    """Write the digest of one therapist if it is due, and move the next digest time on.

    Claimed by compare-and-swap on ``next_digest_at``: two beat ticks or two workers handling the same
    therapist produce one digest. No digest when there is nothing to say.
    """
    clinic = therapist.clinic
    with transaction.atomic():
        previous_due = therapist.next_digest_at
        if previous_due is not None and previous_due > now:
            # Not due yet: writing it now would send it early and take the key of the real one.
            return None
        upcoming = next_digest_at(clinic, now)
        claimed = (
            Therapist.objects.filter(pk=therapist.pk, next_digest_at=previous_due).update(next_digest_at=upcoming)
            if previous_due is not None
            else Therapist.objects.filter(pk=therapist.pk, next_digest_at__isnull=True).update(
                next_digest_at=upcoming, last_digest_at=now
            )
        )
        if claimed != 1 or previous_due is None:
            # First run only schedules (and starts the "new since" clock); a lost race means someone else did it.
            return None
        since = therapist.last_digest_at
        alerts = list(
            # The patient's current therapist: alerts follow a reassigned patient.
            Alert.objects.filter(patient__therapist=therapist)
            # Cleared alerts (R-11 whose condition stopped holding) are left out, sent or not.
            .exclude(status=Alert.Status.CLEARED)
            .filter(
                ~Q(status=Alert.Status.RESOLVED)
                | (Q(raised_at__gt=since) | Q(escalated_at__gt=since) if since else Q(pk__in=[]))
            )
            .select_related("patient")
            .order_by("severity_rank", "-raised_at")
        )
        Therapist.objects.filter(pk=therapist.pk).update(last_digest_at=now)
        if not alerts:
            return None
        new = [
            a
            for a in alerts
            if since is None or a.raised_at > since or (a.escalated_at is not None and a.escalated_at > since)
        ]
        local_day: date = previous_due.astimezone(clinic.tz).date()
        context = {
            "clinic": clinic,
            "therapist": therapist,
            "new": [_digest_row(a) for a in new],
            "still_open": [_digest_row(a) for a in alerts if a not in new and a.status != Alert.Status.RESOLVED],
            "day": local_day,
            "queue_link": admin_url("admin:assessments_alert_changelist"),
            "adherence": _adherence_counts(therapist, now),
        }
        email = _write(
            key=f"digest:{therapist.pk}:{local_day.isoformat()}",
            clinic=clinic,
            to=therapist.user.email,
            subject=f"[{clinic.name}] Alert digest for {local_day:%a %d %b}: {len(new)} new, {len(alerts)} listed",
            context=context,
            template="digest",
        )
        Alert.objects.filter(pk__in=[a.pk for a in new], digested_at__isnull=True).update(digested_at=now)
    return email


def _adherence_counts(therapist: Therapist, now: datetime) -> dict[str, int]:
    """Last complete week over the therapist's caseload, as counts only (no patient named in an email)."""
    enrollments = Enrollment.objects.filter(
        patient__therapist=therapist, patient__status=Patient.Status.ACTIVE, active=True
    ).select_related("patient__clinic")
    last_weeks = [weeks[0] for weeks in weekly_adherence(enrollments, weeks=2, now=now).values()]
    return {
        "patients": len(last_weeks),
        "low": sum(1 for week in last_weeks if week.low),
        "missed_checkins": sum(1 for week in last_weeks if week.checkins_due and not week.checkins),
    }


def _digest_row(alert: Alert) -> dict[str, Any]:
    summary = alert.words().summary
    return {
        "summary": summary if len(summary) <= 400 else summary[:397] + "...",
        "alert": alert,
        "caseload_ref": alert.patient.caseload_ref,
        "link": admin_url("admin:assessments_alert_change", alert.pk),
    }


# --- patient reminders -----------------------------------------------------------------------------

# Reminders go out only in the patient's daytime (clinic time zone).
REMINDER_HOURS = range(9, 20)
# A post-workout reminder when the week ends within this time and entries are still expected.
POST_WORKOUT_REMIND_BEFORE = timedelta(days=2)


def reminders_send(*, now: datetime) -> list[OutgoingEmail]:
    """Queue at most one reminder per due item (key ``reminder:<patient>:<kind>:<due local date>``).

    Weekly check-ins are reminded once overdue; post-workout entries when the week ends within two days
    and some are still expected. Only patients with a portal account, between 09:00 and 20:00 local.
    """
    from assessments import questionnaires as q
    from assessments.selectors import due_items

    written: list[OutgoingEmail] = []
    enrollments = (
        Enrollment.objects.filter(active=True, patient__status=Patient.Status.ACTIVE, patient__user__isnull=False)
        .select_related("patient__clinic")
        .order_by("pk")
    )
    # One query per enrolled patient for its due items: bounded by the caseload, run hourly.
    for enrollment in enrollments.iterator(chunk_size=500):
        patient = enrollment.patient
        clinic = patient.clinic
        if now.astimezone(clinic.tz).hour not in REMINDER_HOURS:
            continue
        for item in due_items(patient=patient, enrollment=enrollment, now=now):
            if item.kind == q.WEEKLY and not item.overdue:
                continue
            if item.kind == q.POST_WORKOUT and item.due_at - now > POST_WORKOUT_REMIND_BEFORE:
                continue
            due_day = item.due_at.astimezone(clinic.tz).date()
            label = "weekly check-in" if item.kind == q.WEEKLY else "after-workout check-ins"
            email = _write(
                key=f"reminder:{patient.pk}:{item.kind}:{due_day.isoformat()}",
                clinic=clinic,
                to=patient.email,
                subject=f"[{clinic.name}] Reminder: your {label}",
                context={
                    "clinic": clinic,
                    "item": item,
                    "label": label,
                    "portal": settings.SITE_URL,
                    # A date, not a datetime: templates would render an aware datetime in UTC.
                    "due_local": item.due_at.astimezone(clinic.tz).date(),
                },
                template="reminder",
            )
            if email is not None:
                written.append(email)
    return written
