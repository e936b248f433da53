"""A burst of submissions: the scan of a patient who just submitted takes the others waiting along, one batch.

See assessments/burst.py. The locks are PostgreSQL advisory locks; on SQLite (one writer at a time) there is
nothing to coordinate, and the tests of the locks skip (fail under REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments import burst
from assessments.burst import LOCK_BASE, scan_submitted
from assessments.models import Alert, Entry
from tests.assessments.helpers import enrolled_patient, rules_raised, submit_session

RED_FLAG = {"safety_screen": ["saddle_numbness"]}


def waiting(world: Any, n: int) -> list[Any]:
    """``n`` patients who each just submitted a red-flag session, not yet scanned."""
    patients = [enrolled_patient(world.therapist) for _ in range(n)]
    for patient in patients:
        submit_session(patient, 0, **RED_FLAG)
    return patients


@pytest.fixture
def other_session() -> Iterator[Any]:
    """Another worker's database session (its advisory locks are what matter, not its view of the data)."""
    other = connection.get_new_connection(connection.get_connection_params())
    other.autocommit = True
    try:
        yield other
    finally:
        other.close()


def test_a_submission_scan_takes_the_waiting_patients_along_and_their_own_scans_find_nothing_left(
    world: Any,
) -> None:
    first, *others = waiting(world, 3)

    report = scan_submitted(first.pk, batch=200)

    assert (report.patients, report.created, report.failed) == (3, 3, [])
    assert all(rules_raised(p) == ["R-01"] for p in (first, *others))
    assert not Entry.objects.filter(scanned_at__isnull=True).exists()
    with CaptureQueriesContext(connection) as queries:
        again = scan_submitted(others[0].pk, batch=200)
    assert again.patients == 0
    # Only the lock and the check that nothing waits: no window is read, nothing is written.
    assert not [q for q in queries if "assessments_alert" in q["sql"] or q["sql"].startswith(("INSERT", "UPDATE"))]
    assert len(queries) <= 5


def test_the_batch_bounds_how_many_patients_are_taken_along(world: Any) -> None:
    first, second, third = waiting(world, 3)

    report = scan_submitted(first.pk, batch=2)

    assert report.patients == 2
    assert rules_raised(first) == ["R-01"]
    assert Alert.objects.count() == 2  # the one submitted first among the others went with it
    assert rules_raised(second) == ["R-01"]
    assert scan_submitted(third.pk, batch=2).patients == 1


def test_entries_waiting_longer_than_a_minute_are_left_to_the_sweep(world: Any, clock: Any) -> None:
    [late] = waiting(world, 1)
    clock.shift(burst.TAKE_ALONG.total_seconds() + 1)
    [first] = waiting(world, 1)

    assert scan_submitted(first.pk, batch=200).patients == 1
    assert rules_raised(late) == []


@pytest.mark.usefixtures("require_postgres")  # advisory locks
def test_a_patient_another_task_is_scanning_is_not_taken_along(world: Any, other_session: Any) -> None:
    first, busy, free = waiting(world, 3)
    with other_session.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_BASE + busy.pk])

    report = scan_submitted(first.pk, batch=200)

    assert report.patients == 2
    assert (rules_raised(first), rules_raised(busy), rules_raised(free)) == (["R-01"], [], ["R-01"])
    with other_session.cursor() as cursor:  # every lock this scan took is released
        cursor.execute(
            "SELECT count(*) FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_lock(k)",
            [[LOCK_BASE + first.pk, LOCK_BASE + free.pk]],
        )
        assert cursor.fetchone()[0] == 2


@pytest.mark.usefixtures("require_postgres")
def test_a_scan_waits_for_another_task_scanning_its_own_patient(
    world: Any, other_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    [patient] = waiting(world, 1)
    key = LOCK_BASE + patient.pk
    with other_session.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    released = threading.Event()

    def release_later() -> None:
        released.set()
        with other_session.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])

    scanned_while: list[tuple[bool, bool]] = []
    scan_patients = burst.scan_patients

    def observed(patient_ids: list[int]) -> Any:
        with connection.cursor() as probe:  # our own session holds the patient's lock now
            probe.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            held = probe.fetchone()[0] >= 1
        scanned_while.append((released.is_set(), held))
        return scan_patients(patient_ids)

    monkeypatch.setattr(burst, "scan_patients", observed)
    timer = threading.Timer(0.2, release_later)
    timer.start()
    try:
        report = scan_submitted(patient.pk, batch=200)
    finally:
        timer.join()

    assert scanned_while == [(True, True)]  # only once the other task let go, and holding the lock itself
    assert (report.patients, rules_raised(patient)) == (1, ["R-01"])
