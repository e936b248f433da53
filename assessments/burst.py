"""Scanning after a submission: the patient, and the other patients whose new entries wait for their own scan.

Every submission publishes a scan of its patient. In a burst (a clinic's patients after a class, a broker coming
back after an outage) those scans queue up, and scanning one patient per task costs about 12 ms of queries and
judging, against about 2 ms a patient in a batch. So the scan of a patient who just submitted takes along the other
patients with entries submitted in the last minute and not yet scanned, up to a batch, and scans them together.

Each patient is scanned by one task at a time: a PostgreSQL advisory lock per patient, held by the database session
across the scan's transactions (and released with it if the worker dies). A task waits for its own patient's lock,
before holding any other (so two tasks never wait for each other), then takes along only the patients whose locks
are free: a locked one is being scanned by another task, and its own task follows. A task whose patient's entries
were all scanned meanwhile by another task returns after one query. Two scans of one patient remain harmless
(``assessments.scanning``); the locks only keep a burst from being scanned twice over.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import DatabaseError, connection
from django.utils import timezone

from assessments.models import Entry, RedFlagReport
from assessments.scanning import MAX_SCAN_FAILURES, ScanReport, scan_patients
from programs.models import OutcomeScore

logger = logging.getLogger(__name__)

# How recent the waiting entries are that a scan takes along; older ones are the unscanned sweep's.
TAKE_ALONG = timedelta(seconds=60)
# The scan's advisory lock of a patient is this key plus the patient's id (one 64-bit key space per database).
LOCK_BASE = 0x5CA7 << 40


def scan_submitted(patient_id: int, *, batch: int) -> ScanReport:
    """Scan a patient who just submitted, with up to ``batch - 1`` other patients whose new entries wait."""
    with _locked(patient_id):
        if not _waiting(patient_id):
            return ScanReport()  # another task's batch took this patient along
        others = _others_waiting(patient_id, limit=batch - 1)
        with _locked_if_free(others) as taken:
            return scan_patients([patient_id, *taken])


def _waiting(patient_id: int) -> bool:
    """Whether anything of the patient is still unscanned (entries first: a submission is nearly always one)."""
    return (
        Entry.objects.filter(patient_id=patient_id, scanned_at__isnull=True).exists()
        or RedFlagReport.objects.filter(patient_id=patient_id, scanned_at__isnull=True).exists()
        or OutcomeScore.objects.filter(patient_id=patient_id, scanned_at__isnull=True).exists()
    )


def _others_waiting(patient_id: int, *, limit: int) -> list[int]:
    """Other patients with entries submitted within ``TAKE_ALONG`` and not yet scanned (the unscanned index)."""
    if limit <= 0:
        return []
    rows = (
        Entry.objects.filter(
            scanned_at__isnull=True,
            submitted_at__gte=timezone.now() - TAKE_ALONG,
            scan_failures__lt=MAX_SCAN_FAILURES,
        )
        .exclude(patient_id=patient_id)
        .order_by("submitted_at")
        .values_list("patient_id", flat=True)[: limit * 5]
    )
    return list(dict.fromkeys(rows))[:limit]


@contextmanager
def _locked(patient_id: int) -> Iterator[None]:
    """Hold the patient's scan lock, waiting for it."""
    if connection.vendor != "postgresql":
        yield  # one writer at a time (SQLite): nothing to coordinate
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_BASE + patient_id])
    try:
        yield
    finally:
        _unlock([patient_id])


@contextmanager
def _locked_if_free(patient_ids: list[int]) -> Iterator[list[int]]:
    """Hold the scan locks of those of ``patient_ids`` that no other task holds; yield them."""
    if connection.vendor != "postgresql" or not patient_ids:
        yield patient_ids
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM unnest(%s::bigint[]) AS pid WHERE pg_try_advisory_lock(%s + pid)",
            [patient_ids, LOCK_BASE],
        )
        taken = [pid for (pid,) in cursor.fetchall()]
    try:
        yield taken
    finally:
        _unlock(taken)


def _unlock(patient_ids: list[int]) -> None:
    if not patient_ids:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s + pid) FROM unnest(%s::bigint[]) AS pid", [LOCK_BASE, patient_ids]
            )
    except DatabaseError:
        # The session is gone or broken, and its locks with it; Django replaces the connection.
        logger.warning("releasing %d scan lock(s) failed; they end with the database session", len(patient_ids))
