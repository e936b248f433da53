"""Patient reminders: at most one per due self-assessment, in the patient's daytime (clinic time zone)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from assessments.models import OutgoingEmail
from assessments.notifications import reminders_send
from assessments.tasks import send_reminders
from tests.assessments.helpers import submit_session, submit_weekly
from tests.factories import EnrollmentFactory, PatientFactory

# NOW is Wednesday 17 June, 13:00 in London and 08:00 in New York; weekly check-ins are due on Mondays.


def _keys() -> set[str]:
    return set(OutgoingEmail.objects.filter(key__startswith="reminder:").values_list("key", flat=True))


def test_an_overdue_weekly_check_in_is_reminded_once(world: Any) -> None:
    first = reminders_send(now=timezone.now())
    second = reminders_send(now=timezone.now())

    london = (world.patient, world.other_patient, world.colleague_patient)
    assert {e.key for e in first} == {f"reminder:{p.pk}:weekly:2026-06-15" for p in london}
    assert second == []
    email = next(e for e in first if e.to == world.patient.email)
    assert email.subject == "[Riverside] Reminder: your weekly check-in"
    assert "Monday 15 June" in email.body_text
    assert world.patient.first_name not in email.body_text + email.subject


def test_reminders_wait_for_the_patients_daytime(world: Any, clock: Any) -> None:
    reminders_send(now=timezone.now())
    assert f"reminder:{world.foreign_patient.pk}:weekly:2026-06-15" not in _keys()  # 08:00 in New York

    clock.shift(dt.timedelta(hours=1, minutes=5))  # 09:05 in New York
    reminders_send(now=timezone.now())
    assert f"reminder:{world.foreign_patient.pk}:weekly:2026-06-15" in _keys()


def test_a_weekly_check_in_already_in_is_not_reminded(world: Any) -> None:
    submit_weekly(world.patient, 1)

    reminders_send(now=timezone.now())

    assert not any(key.startswith(f"reminder:{world.patient.pk}:") for key in _keys())


def test_post_workout_check_ins_still_expected_are_reminded_near_the_end_of_the_week(world: Any, clock: Any) -> None:
    submit_session(world.patient, 0)
    reminders_send(now=timezone.now())
    assert f"reminder:{world.patient.pk}:post_workout:2026-06-22" not in _keys()  # Wednesday: time enough

    clock.move_to(dt.datetime(2026, 6, 20, 10, 0, tzinfo=dt.UTC), tick=False)  # Saturday, 11:00 in London
    reminders_send(now=timezone.now())
    email = OutgoingEmail.objects.get(key=f"reminder:{world.patient.pk}:post_workout:2026-06-22")
    assert email.subject == "[Riverside] Reminder: your after-workout check-ins"
    assert "2 still to go this week" in email.body_text


def test_patients_without_a_portal_account_or_discharged_get_no_reminder(world: Any) -> None:
    offline = PatientFactory(therapist=world.therapist)
    EnrollmentFactory(patient=offline)
    world.other_patient.status = "discharged"
    world.other_patient.save()

    reminders_send(now=timezone.now())

    skipped = (f"reminder:{offline.pk}:", f"reminder:{world.other_patient.pk}:")
    assert not any(key.startswith(skipped) for key in _keys())


def test_the_hourly_task_sends_the_reminders(world: Any, mailoutbox: Any) -> None:
    assert send_reminders() == {"reminders": 3}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        p.email for p in (world.patient, world.other_patient, world.colleague_patient)
    )
