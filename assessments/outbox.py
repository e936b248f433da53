"""Sending the outbox: claim by compare-and-swap, send with a stable Message-ID, mark, or retry with backoff.

A claim is a lease. ``outbox_send`` claims a row (status ``sending``, ``claimed_at`` = now) and must finish
within ``lease()`` of that moment: the SMTP exchange is cut at ``send_deadline()`` (80 % of the lease; each
step is also bounded by EMAIL_TIMEOUT), which leaves the rest for marking the row. A row still ``sending``
after its lease therefore belongs to a worker that died, possibly inside the SMTP exchange: the sweep puts it
back once and it is resent with the same Message-ID, so the receiving side can tell the repeat.

An alert's email is queued without a body (a scan queues hundreds at once): the first attempt writes it from the
alert as it stands and stores it on the row, so a resend carries the same text.
"""

from __future__ import annotations

import logging
import socket
import threading
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from assessments.models import OutgoingEmail
from assessments.notifications import alert_email_bodies

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# The share of the lease one send may spend talking to the SMTP server; the rest covers claiming and marking.
SEND_SHARE = 0.8
STUCK_ERROR = "stuck in sending (worker lost)"


def lease() -> timedelta:
    """How long a claim holds: settings.OUTBOX_LEASE_SECONDS (by default min(6 x EMAIL_TIMEOUT + 15 s, 90 s))."""
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def send_deadline() -> float:
    """Seconds after which a send's SMTP connection is cut, so no live send outlasts its lease."""
    return lease().total_seconds() * SEND_SHARE


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min, 8 min ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


class _Deadline:
    """Cut an email backend's SMTP connection once ``seconds`` have passed, ending any send still in progress.

    EMAIL_TIMEOUT bounds each socket operation, not the exchange: a server answering every command just in
    time could keep a send going past its lease, and the sweep would then resend an email still being sent.
    Shutting the socket down makes the blocked read or write fail at once (SMTPServerDisconnected).
    """

    def __init__(self, backend: Any, seconds: float) -> None:
        self._backend = backend
        self._seconds = seconds
        self._done = threading.Event()
        self.expired = False
        self._thread = threading.Thread(target=self._watch, name="outbox-send-deadline", daemon=True)

    def __enter__(self) -> _Deadline:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._done.wait(self._seconds):
            return
        self.expired = True
        # The socket appears only once connected (connecting is bounded by EMAIL_TIMEOUT): look until it does.
        while not self._done.is_set():
            sock = getattr(getattr(self._backend, "connection", None), "sock", None)
            if isinstance(sock, socket.socket):
                with suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # not SSLSocket.shutdown: no TLS state touched
            self._done.wait(0.1)


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
    # Only this claim may mark the row: after its lease the row may have been put back and claimed again.
    mine = OutgoingEmail.objects.filter(pk=row.pk, status=OutgoingEmail.Status.SENDING, claimed_at=now)
    backend = get_connection()  # EMAIL_TIMEOUT bounds each step with a hanging server, the deadline the whole
    deadline = _Deadline(backend, send_deadline())
    try:
        _write_body(row, mine)
        message = EmailMultiAlternatives(
            subject=row.subject, body=row.body_text, to=[row.to], headers={"Message-ID": row.message_id}
        )
        if row.body_html:
            message.attach_alternative(row.body_html, "text/html")
        with deadline, backend:
            backend.send_messages([message])
    except Exception as exc:
        failed = row.attempts >= MAX_ATTEMPTS
        status = OutgoingEmail.Status.FAILED if failed else OutgoingEmail.Status.RETRY
        error = f"{type(exc).__name__}: {exc}"
        if deadline.expired:
            error = f"send deadline of {send_deadline():.0f} s exceeded ({error})"
        mine.update(
            status=status,
            next_attempt_at=None if failed else timezone.now() + backoff(row.attempts),
            last_error=error[:300],
        )
        log = logger.error if failed else logger.warning
        log("email id=%s attempt %s failed (%s); status %s", row.pk, row.attempts, error[:200], status)
        return str(status)
    if not mine.update(status=OutgoingEmail.Status.SENT, sent_at=timezone.now(), last_error=""):
        logger.error("email id=%s sent after its lease of %s had run out; it may be sent twice", row.pk, lease())
    return str(OutgoingEmail.Status.SENT)


def _write_body(row: OutgoingEmail, mine: QuerySet[OutgoingEmail]) -> None:
    """An alert's email is written from its alert on the first attempt and kept: every resend is the same."""
    if row.alert_id is None or row.body_text:
        return
    row.body_text, row.body_html = alert_email_bodies(row.alert_id)
    mine.update(body_text=row.body_text, body_html=row.body_html)


@dataclass
class OutboxSweep:
    due: list[int]
    stuck: int


def outbox_sweep(*, now: datetime | None = None, limit: int = 100) -> OutboxSweep:
    """Rows due for (re)sending, bounded; rows whose claim outlived its lease are reported and put back once.

    Such a row was claimed by a worker that died, possibly inside the SMTP exchange: it is resent once with
    the same Message-ID (so the receiving side can tell the repeat), and logged. A stale row that had used its
    last attempt fails instead, for a person to requeue (a message that kills its worker is not retried forever).
    """
    now = now or timezone.now()
    stale = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENDING, claimed_at__lt=now - lease())
    # Each UPDATE re-checks status and claim time, so a row another sweep already put back is not counted twice.
    stuck = stale.filter(attempts__lt=MAX_ATTEMPTS).update(
        status=OutgoingEmail.Status.RETRY, next_attempt_at=now, last_error=STUCK_ERROR
    )
    given_up = stale.update(status=OutgoingEmail.Status.FAILED, next_attempt_at=None, last_error=STUCK_ERROR)
    if stuck:
        logger.warning(
            "%s outbox email(s) still in sending %s after their claim (worker lost); resending once", stuck, lease()
        )
    if given_up:
        logger.error("%s outbox email(s) lost their worker on the last attempt; failed", given_up)
    due = list(
        OutgoingEmail.objects.unsent()
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return OutboxSweep(due=due, stuck=stuck + given_up)


def outbox_requeue_failed(*, email_ids: list[int], now: datetime | None = None) -> int:
    """Give FAILED emails a fresh set of attempts (after a person fixed the mail set-up); the sweep sends them."""
    return OutgoingEmail.objects.filter(pk__in=email_ids, status=OutgoingEmail.Status.FAILED).update(
        status=OutgoingEmail.Status.RETRY, next_attempt_at=now or timezone.now(), attempts=0, last_error=""
    )
