"""The fault suite (issue 11 item 8): each fault against real processes, counting lost and duplicated alerts and emails.

Every test has a redis-server of its own on a free port, the broker of real workers in the production layout
(a scan worker ``-Q celery``, an email worker ``-Q email``) and of real ``celery beat``, and the cache of this
process, whose HTTP API takes the patients' red-flag entries. The fault is injected, ended, and the system
left to recover by itself: workers reconnect, beat's sweeps find what the fault lost. Then the ledger counts
(one R-01 alert per red-flag patient, one email per alert at the SMTP server) and each test prints a line

    FAULT redis-frozen: alerts 5/5 lost 0 dup 0; emails 5/5 lost 0 dup 0; recovered 2.1 s after ...

collected into a table at the end of the run. Recovery is counted from the end of the fault to the last
expected email received. Beat sweeps every second here (15 s for the outbox, 30 s for unscanned entries in
production); entries submitted during a fault are aged past the unscanned sweep's 30 s grace, and after an
SMTP fault the outbox's 30 s retry backoff is skipped, so the figures are the system's own reaction time:
docs/operations.md ("Faults") gives the production bounds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from assessments.models import Alert, OutgoingEmail
from patients.models import Therapist
from tests.conftest import REQUIRE_SERVICES
from tests.integration.conftest import (
    WORKER_EMAIL_TIMEOUT,
    Broker,
    SharedDb,
    SmtpServer,
    StartWorker,
    publishing_to,
    stop_all,
)
from tests.integration.faults import (
    RedisServer,
    Rig,
    backoff_elapsed,
    beat_sent,
    fast_sweeps,
    publishing_idle,
    settings_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PATIENTS = 5
# The email workers' lease, derived by clinic/settings.py from their EMAIL_TIMEOUT: 6 x 2 s + 15 s.
WORKER_LEASE = min(6 * WORKER_EMAIL_TIMEOUT + 15, 90)
# The email worker's EMAIL_TIMEOUT in the hanging-server test: its first send outlasts every scan.
HANG_TIMEOUT = 4
SENT, RETRY, SENDING = OutgoingEmail.Status.SENT, OutgoingEmail.Status.RETRY, OutgoingEmail.Status.SENDING


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def broker(request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path: Path) -> Iterator[Broker]:
    """The test's own Redis as the broker of its workers, its beat and this process (overrides conftest's)."""
    if REQUIRE_SERVICES:
        request.getfixturevalue("require_postgres")
    url = redis_server.url(0)
    options = dict(settings_for(CELERY_BROKER_URL=url).CELERY_BROKER_TRANSPORT_OPTIONS)
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    with publishing_to(url, options):
        try:
            yield Broker(url, var_dir, options)
        finally:
            publishing_idle()


@pytest.fixture
def rig(
    request: pytest.FixtureRequest,
    settings: Any,
    start_worker: StartWorker,
    shared_db: SharedDb,
    broker: Broker,
    redis_server: RedisServer,
    smtp: SmtpServer,
    tmp_path: Path,
) -> Iterator[Rig]:
    settings.CACHES = settings_for(CACHE_URL=redis_server.url(1)).CACHES  # the throttles of this process's API
    fast_sweeps("sweep-unscanned-entries", "sweep-outbox")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": shared_db.url,
        "CELERY_BROKER_URL": broker.url,
        "CACHE_URL": redis_server.url(1),
        "VAR_DIR": str(broker.var_dir),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    rig = Rig(redis_server, smtp, start_worker, env, tmp_path, request.node)
    try:
        yield rig
    finally:
        # Beat first (it writes to the database), before conftest stops the workers and flushes the database.
        stop_all([p.process for p in rig.processes if p.name.startswith("beat")])


def _rows(status: str | None = None) -> list[OutgoingEmail]:
    rows = OutgoingEmail.objects.filter(key__startswith="alert:")
    return list(rows.filter(status=status) if status else rows)


# --- Redis -------------------------------------------------------------------------------------------------


def test_entries_submitted_while_redis_is_stopped_are_alerted_and_emailed_once_it_is_back(rig: Rig) -> None:
    rig.start("scans", "mail", "beat")
    for patient in rig.patients(2):
        rig.submit(patient)
    rig.wait(rig.ledger.delivered, what="the emails sent before the fault")

    publish_failed, reconnect_failed = rig.logged("Message Error"), rig.logged("Cannot connect")
    rig.redis.stop()
    during = rig.patients(PATIENTS - 2)
    took = [rig.submit(patient) for patient in during]
    rig.past_sweep_grace(during)
    rig.wait_logged("Message Error", "beat", since=publish_failed)  # beat could not publish a sweep
    rig.wait_logged("Cannot connect", "scans", "mail", since=reconnect_failed)  # nor the workers reconnect
    rig.redis.start()
    ended = time.monotonic()

    recovery = rig.recover(since=ended)
    rig.report("redis-stopped", recovery=recovery, since="Redis was back", note=f"POST took {max(took):.2f} s at most")
    assert max(took) < 2.0  # the cache and the broker each cost one short timeout, then are skipped


def test_entries_submitted_while_redis_is_frozen_are_alerted_and_emailed_once_it_thaws(rig: Rig) -> None:
    # The email worker gets its first task done while Redis is frozen: its acknowledgement times out.
    rig.start("scans", "mail", "beat", environment={"EMAIL_TIMEOUT": "10"})
    rig.smtp.sink.hang_seconds = 60
    (first,) = rig.patients(1)
    rig.submit(first)
    rig.wait(lambda: rig.smtp.sink.attempts >= 1, what="the email worker to reach DATA")

    ack_failed = rig.logged("Couldn't ack")
    rig.redis.freeze()
    during = rig.patients(PATIENTS - 1)
    took = [rig.submit(patient) for patient in during]
    rig.past_sweep_grace(during)
    rig.smtp.sink.hang_seconds = 0  # the send ends (refused, to be retried), the worker acknowledges it...
    rig.wait_logged("Couldn't ack", "mail", since=ack_failed)  # ...and Redis does not answer
    rig.redis.thaw()
    ended = time.monotonic()
    backoff_elapsed()

    recovery = rig.recover(since=ended)
    rig.report(
        "redis-frozen",
        recovery=recovery,
        since="Redis thawed",
        note=f"an ack timed out; POST took {max(took):.2f} s at most; backoff skipped",
    )
    assert max(took) < 2.0  # the cache and the broker each cost one short timeout, then are skipped


def test_messages_lost_with_a_restarted_redis_are_recovered_by_the_sweeps(rig: Rig) -> None:
    # The email worker is down: the alerts' send tasks wait in Redis.
    rig.start("scans", "beat")
    first = rig.patients(3)
    for patient in first:
        rig.submit(patient)
    rig.wait(lambda: len(_rows(OutgoingEmail.Status.QUEUED)) == len(first), what="the alert emails to be queued")
    # Then the scan worker too: the next entries' scans wait in Redis.
    stop_all([rig.get("scans").process])
    second = rig.patients(PATIENTS - len(first))
    for patient in second:
        rig.submit(patient)
    rig.past_sweep_grace(second)
    queued = rig.redis.queued()
    assert queued["assessments.send_email"] == len(first), queued
    assert queued["assessments.scan_patient"] >= len(second), queued

    rig.redis.stop()
    rig.redis.start()
    assert not rig.redis.queued()
    rig.start("scans2", "mail")
    ended = time.monotonic()

    recovery = rig.recover(since=ended)
    rig.report(
        "redis-restarted-empty",
        recovery=recovery,
        since="the workers were back",
        note=f"{queued['assessments.send_email']} sends and {queued['assessments.scan_patient']} scans lost",
    )


# --- workers and beat --------------------------------------------------------------------------------------


def test_an_email_whose_worker_is_killed_mid_data_is_resent_once_after_its_lease(rig: Rig) -> None:
    rig.start("scans", "mail1", "beat")
    rig.smtp.sink.hang_seconds = 60  # the server sits on DATA: the worker is in the middle of the exchange
    for patient in rig.patients(PATIENTS):
        rig.submit(patient)
    rig.wait(lambda: rig.smtp.sink.attempts >= 1, what="the email worker to reach DATA")

    rig.get("mail1").kill()
    (row,) = _rows(SENDING)
    assert row.attempts == 1
    first_claim = row.claimed_at
    assert first_claim is not None
    rig.smtp.sink.hang_seconds = 0  # the server answers again; the killed connection's DATA is dropped
    rig.start("mail2")  # the replacement (restart: unless-stopped, honcho ...)
    ended = time.monotonic()

    recovery = rig.recover(since=ended, timeout=WORKER_LEASE + 30)
    rig.report(
        "email-worker-sigkill-in-data",
        recovery=recovery,
        since="the worker was replaced",
        note=f"lease {WORKER_LEASE} s from the claim",
    )
    assert recovery is not None
    assert recovery <= WORKER_LEASE + 5
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (SENT, 2, "")
    assert row.claimed_at is not None
    assert (row.claimed_at - first_claim).total_seconds() >= WORKER_LEASE  # not a moment before the lease ran out
    assert rig.smtp.sink.data_message_ids.count(row.message_id) == 2  # the lost attempt and the resend


def test_two_beats_at_once_send_no_alert_email_or_digest_twice(rig: Rig) -> None:
    fast_sweeps("send-digests")
    # Two workers on each queue, as one worker with --concurrency=2: the doubled sweeps run at the same time.
    rig.start("scans1", "scans2", "mail1", "mail2")
    patients = rig.patients(PATIENTS)
    for patient in patients:
        rig.write(patient)  # no scan published: the (doubled) sweeps alone find them
    rig.past_sweep_grace(patients)

    beats = rig.start("beat1", "beat2")
    started = time.monotonic()
    rig.wait(rig.ledger.delivered, what="the alert emails")
    # Every therapist's digest is due now, with the alert in it.
    now = timezone.now()
    therapists = list(Therapist.objects.filter(patients__in=patients))
    Therapist.objects.filter(pk__in=[t.pk for t in therapists]).update(
        next_digest_at=now - timedelta(minutes=1), last_digest_at=now - timedelta(days=1)
    )
    rig.ledger.digests_for = therapists
    recovery = rig.recover(since=started)

    for beat in beats:
        rig.wait(lambda beat=beat: all(beat_sent(beat, name) >= 2 for name in ("sweep-outbox", "send-digests")),
                 what=f"{beat.name} to publish the sweeps and digests")  # fmt: skip
    rig.report("two-beats", recovery=recovery, since="the beats started", note="alert emails and digests")


# --- SMTP --------------------------------------------------------------------------------------------------


def test_emails_refused_with_451_are_retried_and_delivered_once(rig: Rig) -> None:
    rig.start("scans", "mail", "beat")
    rig.smtp.sink.refuse_next = 1_000_000
    for patient in rig.patients(PATIENTS):
        rig.submit(patient)
    rows = rig.wait(lambda: len(r := _rows(RETRY)) == PATIENTS and r, what="every email to be refused")
    assert all(r.attempts == 1 and r.last_error.startswith("SMTPDataError: (451") for r in rows)
    assert all(r.next_attempt_at and r.next_attempt_at > timezone.now() for r in rows)  # backing off
    assert rig.smtp.received == []

    rig.smtp.sink.refuse_next = 0
    ended = time.monotonic()
    backoff_elapsed()

    recovery = rig.recover(since=ended)
    rig.report("smtp-451", recovery=recovery, since="SMTP answered 250", note="30 s retry backoff skipped")
    assert [(r.status, r.attempts, r.last_error) for r in _rows()] == [(SENT, 2, "")] * PATIENTS


def test_a_hanging_smtp_server_delays_no_scan_and_its_emails_are_delivered_once(rig: Rig) -> None:
    rig.start("scans", "mail", "beat", environment={"EMAIL_TIMEOUT": str(HANG_TIMEOUT)})
    rig.smtp.sink.hang_seconds = 60
    patients = rig.patients(PATIENTS)
    submitted = time.monotonic()
    for patient in patients:
        rig.submit(patient)
    rig.wait(lambda: Alert.objects.filter(patient__in=patients).count() == PATIENTS, what="the alerts")
    scanned = time.monotonic() - submitted
    # Every scan ran while the email worker sat in its first send: a worker of their own, not behind the emails.
    assert _rows(RETRY) == []
    (timed_out,) = rig.wait(lambda: _rows(RETRY), what="the first send to time out")
    assert timed_out.attempts == 1
    assert "timed out" in timed_out.last_error
    assert rig.smtp.received == []

    rig.smtp.sink.hang_seconds = 0  # the DATA hanging now is refused, the emails still queued go out
    ended = time.monotonic()
    rig.wait(lambda: not _rows(SENDING), what="the send in progress to end")
    backoff_elapsed()

    recovery = rig.recover(since=ended)
    rig.report(
        "smtp-hang",
        recovery=recovery,
        since="SMTP answered",
        note=f"alerts raised {scanned:.1f} s after the POSTs; backoff skipped",
    )
    assert {r.status for r in _rows()} == {SENT}
    timed_out.refresh_from_db()
    assert timed_out.attempts == 2
