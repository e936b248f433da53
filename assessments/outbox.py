"""Sending the outbox: claim by compare-and-swap, send with a stable Message-ID, mark, or retry with backoff."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Q
from django.utils import timezone

from assessments.models import OutgoingEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# A row still SENDING after this long belongs to a worker that died mid-send.
STUCK_AFTER = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min, 8 min ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def outbox_send(*, email_id: int, now: datetime | None = None) -> str:
    """Send one outbox row if it is due and nobody else holds it; return the resulting status."""
    now = now or timezone.now()
    claimed = (
        OutgoingEmail.objects.filter(pk=email_id, status__in=[OutgoingEmail.Status.QUEUED, OutgoingEmail.Status.RETRY])
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=OutgoingEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return "skipped"
    row = OutgoingEmail.objects.get(pk=email_id)
    message = EmailMultiAlternatives(
        subject=row.subject, body=row.body_text, to=[row.to], headers={"Message-ID": row.message_id}
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    try:
        with get_connection() as connection:  # EMAIL_TIMEOUT bounds a hanging server
            connection.send_messages([message])
    except Exception as exc:
        failed = row.attempts >= MAX_ATTEMPTS
        status = OutgoingEmail.Status.FAILED if failed else OutgoingEmail.Status.RETRY
        OutgoingEmail.objects.filter(pk=row.pk, status=OutgoingEmail.Status.SENDING).update(
            status=status,
            next_attempt_at=None if failed else timezone.now() + backoff(row.attempts),
            last_error=f"{type(exc).__name__}: {exc}"[:300],
        )
        log = logger.error if failed else logger.warning
        log("email id=%s attempt %s failed (%s); status %s", row.pk, row.attempts, type(exc).__name__, status)
        return str(status)
    OutgoingEmail.objects.filter(pk=row.pk, status=OutgoingEmail.Status.SENDING).update(
        status=OutgoingEmail.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return str(OutgoingEmail.Status.SENT)


@dataclass
class OutboxSweep:
    due: list[int]
    stuck: int


def outbox_sweep(*, now: datetime | None = None, limit: int = 100) -> OutboxSweep:
    """Rows due for (re)sending, bounded; rows stuck in SENDING are reported and put back once.

    A stuck row was claimed by a worker that died, possibly inside the SMTP exchange: it is resent
    once with the same Message-ID (so the receiving side can tell the repeat), and logged.
    """
    now = now or timezone.now()
    stuck_rows = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENDING, claimed_at__lt=now - STUCK_AFTER)
    stuck = stuck_rows.count()
    if stuck:
        logger.warning("%s outbox email(s) stuck in sending for over %s; re-queued", stuck, STUCK_AFTER)
        stuck_rows.update(status=OutgoingEmail.Status.RETRY, next_attempt_at=now, last_error="stuck in sending")
    due = list(
        OutgoingEmail.objects.unsent()
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return OutboxSweep(due=due, stuck=stuck)


def outbox_requeue_failed(*, email_ids: list[int], now: datetime | None = None) -> int:
    """Give FAILED emails a fresh set of attempts (after a person fixed the mail set-up); the sweep sends them."""
    return OutgoingEmail.objects.filter(pk__in=email_ids, status=OutgoingEmail.Status.FAILED).update(
        status=OutgoingEmail.Status.RETRY, next_attempt_at=now or timezone.now(), attempts=0, last_error=""
    )
