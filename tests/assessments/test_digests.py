"""Digests: scheduled at the clinic's local hour on its digest days, across daylight-saving changes.

Beat only ticks (``send_digests``); the database decides who is due (``next_digest_at``), and a
compare-and-swap on that column makes two ticks at once produce one digest.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from assessments.alerts import alert_resolve
from assessments.models import Alert, OutgoingEmail
from assessments.notifications import digest_due, digest_send, next_digest_at
from assessments.tasks import send_digests
from patients.models import Therapist
from tests.assessments.factories import AlertFactory
from tests.factories import ClinicFactory, PatientFactory, TherapistFactory

UTC = dt.UTC
EVERY_DAY = "0123456"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=UTC)


# --- when ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "before", "after", "utc_hour_before", "utc_hour_after"),
    [
        pytest.param("Europe/London", dt.date(2026, 3, 28), dt.date(2026, 3, 29), 7, 6, id="London-spring-forward"),
        pytest.param("Europe/London", dt.date(2026, 10, 24), dt.date(2026, 10, 25), 6, 7, id="London-fall-back"),
        pytest.param("America/New_York", dt.date(2026, 3, 7), dt.date(2026, 3, 8), 12, 11, id="New-York-spring"),
        pytest.param("America/New_York", dt.date(2026, 10, 31), dt.date(2026, 11, 1), 11, 12, id="New-York-fall"),
    ],
)
def test_next_digest_stays_at_the_local_hour_across_a_daylight_saving_change(
    db: None, zone: str, before: dt.date, after: dt.date, utc_hour_before: int, utc_hour_after: int
) -> None:
    clinic = ClinicFactory(timezone=zone, digest_hour=7, digest_weekdays=EVERY_DAY)
    noon_the_day_before = dt.datetime.combine(before - dt.timedelta(days=1), dt.time(12), tzinfo=ZoneInfo(zone))

    first = next_digest_at(clinic, noon_the_day_before)
    second = next_digest_at(clinic, first)

    assert (first, second) == (at(before, utc_hour_before), at(after, utc_hour_after))
    assert [d.astimezone(ZoneInfo(zone)).time() for d in (first, second)] == [dt.time(7), dt.time(7)]
    assert second - first == dt.timedelta(hours=24 + utc_hour_after - utc_hour_before)


def test_next_digest_skips_days_that_are_not_digest_days(db: None) -> None:
    clinic = ClinicFactory(timezone="Europe/London", digest_hour=7, digest_weekdays="01234")  # Monday to Friday
    friday_digest = at(dt.date(2026, 6, 19), 6)  # 07:00 BST

    assert next_digest_at(clinic, friday_digest - dt.timedelta(seconds=1)) == friday_digest
    assert next_digest_at(clinic, friday_digest) == at(dt.date(2026, 6, 22), 6)  # Monday, not Saturday


def test_an_hour_that_does_not_exist_locally_moves_to_just_after_the_gap(db: None) -> None:
    clinic = ClinicFactory(timezone="Europe/London", digest_hour=1, digest_weekdays=EVERY_DAY)

    due = next_digest_at(clinic, at(dt.date(2026, 3, 28), 12))

    assert due == at(dt.date(2026, 3, 29), 1)  # 02:00 BST, the first local time after 01:00 GMT
    assert due > at(dt.date(2026, 3, 28), 12)


# --- who is due, and the first run ---------------------------------------------------------------------


def test_the_first_run_only_schedules_the_next_digest(world: Any) -> None:
    AlertFactory(patient=world.patient)
    assert world.therapist.next_digest_at is None

    assert send_digests() == {"digests": 0}

    world.therapist.refresh_from_db()
    # Wednesday 13:00 in London: the next digest is on Thursday at 07:00 BST.
    assert world.therapist.next_digest_at == at(dt.date(2026, 6, 18), 6)
    assert not OutgoingEmail.objects.exists()


def test_a_digest_that_is_not_due_yet_is_not_written(world: Any, clock: Any) -> None:
    AlertFactory(patient=world.patient)
    send_digests()  # schedules everyone for Thursday 06:00 UTC
    clock.move_to(at(dt.date(2026, 6, 18), 5, 59), tick=False)

    assert send_digests() == {"digests": 0}
    assert digest_send(therapist=Therapist.objects.get(pk=world.therapist.pk), now=timezone.now()) is None
    assert not OutgoingEmail.objects.exists()


# --- what ------------------------------------------------------------------------------------------


@pytest.fixture
def digest_day(world: Any, clock: Any) -> dict[str, Any]:
    """The therapist's last digest went out on Tuesday 07:00 BST; Wednesday's is due at 07:00 BST.

    Raised before Tuesday's digest: one still open, one resolved since. Raised after it: high, urgent and
    routine alerts in that order (newest first is not most severe first), and one of the colleague's.
    """
    Therapist.objects.filter(pk=world.therapist.pk).update(
        last_digest_at=at(dt.date(2026, 6, 16), 6), next_digest_at=at(dt.date(2026, 6, 17), 6)
    )
    # Names that cannot occur in a digest otherwise (a random "Jane" would be the therapist's own name).
    names = [("Ottilie", "Quenby"), ("Bartholomew", "Ashdown"), ("Winifred", "Fairweather"), ("Cornelius", "Lockridge")]
    names.append(("Philippa", "Tamsworth"))
    patients = [PatientFactory(therapist=world.therapist, first_name=f, last_name=n) for f, n in names]
    clock.move_to(at(dt.date(2026, 6, 15), 10), tick=False)
    alerts = {
        "old_open": AlertFactory(patient=patients[0], rule_id="R-06"),
        "old_resolved": AlertFactory(patient=patients[1], rule_id="R-04", qualifier="left"),
    }
    clock.move_to(at(dt.date(2026, 6, 16), 9), tick=False)
    alert_resolve(alert=alerts["old_resolved"], by=world.therapist.user, note="Neurodynamic tests negative")
    alerts["high"] = AlertFactory(patient=patients[4], rule_id="R-03")
    clock.move_to(at(dt.date(2026, 6, 16), 15), tick=False)
    alerts["urgent"] = AlertFactory(patient=patients[3], rule_id="R-01", qualifier="entry:1")
    alerts["colleague"] = AlertFactory(patient=world.colleague_patient, rule_id="R-10")
    clock.move_to(at(dt.date(2026, 6, 16), 18), tick=False)
    alerts["routine"] = AlertFactory(patient=patients[2], rule_id="R-05")
    clock.move_to(at(dt.date(2026, 6, 17), 6, 1), tick=False)
    return alerts


def test_a_due_digest_lists_new_alerts_most_severe_first_then_those_still_open(
    world: Any, digest_day: dict[str, Alert], mailoutbox: Any
) -> None:
    assert send_digests() == {"digests": 1}

    email = OutgoingEmail.objects.get(key=f"digest:{world.therapist.pk}:2026-06-17")
    assert email.to == world.therapist.user.email
    assert email.status == OutgoingEmail.Status.SENT
    assert email.subject == "[Riverside] Alert digest for Wed 17 Jun: 3 new, 4 listed"
    for body in (email.body_text, email.body_html):
        new, still_open = body.split("Still open")
        refs = {name: alert.patient.caseload_ref for name, alert in digest_day.items()}
        assert [new.index(refs[n]) for n in ("urgent", "high", "routine")] == sorted(
            new.index(refs[n]) for n in ("urgent", "high", "routine")
        )
        assert refs["old_open"] not in new
        assert refs["old_open"] in still_open
        assert refs["old_resolved"] not in body
        assert refs["colleague"] not in body
        for alert in digest_day.values():
            assert alert.patient.first_name not in body
            assert alert.patient.last_name not in body
    assert [m.subject for m in mailoutbox] == [email.subject]
    # Adherence as counts only: Maria and Tom (the therapist's enrolled patients) reported nothing last week.
    assert (
        "over your 2 enrolled patients: 2 reported under half of their prescribed sessions, 2 missed the weekly "
        "check-in" in " ".join(email.body_text.split())
    )
    assert "Adherence last week" in email.body_html


def test_a_digest_moves_the_schedule_on_and_marks_the_new_alerts_as_digested(
    world: Any, digest_day: dict[str, Alert]
) -> None:
    send_digests()

    therapist = Therapist.objects.get(pk=world.therapist.pk)
    assert therapist.last_digest_at == timezone.now()
    assert therapist.next_digest_at == at(dt.date(2026, 6, 18), 6)
    digested = set(Alert.objects.filter(digested_at__isnull=False).values_list("pk", flat=True))
    assert digested == {digest_day[n].pk for n in ("urgent", "high", "routine")}


def test_two_runs_at_the_same_time_write_one_digest(world: Any, digest_day: dict[str, Alert]) -> None:
    # Two workers read the due therapists before either writes.
    [first] = [t for t in digest_due(timezone.now()) if t.pk == world.therapist.pk]
    [second] = [t for t in digest_due(timezone.now()) if t.pk == world.therapist.pk]

    written = [digest_send(therapist=first, now=timezone.now()), digest_send(therapist=second, now=timezone.now())]
    send_digests()

    assert written[0] is not None
    assert written[1] is None
    assert list(OutgoingEmail.objects.values_list("key", flat=True)) == [f"digest:{world.therapist.pk}:2026-06-17"]


def test_no_digest_when_there_is_nothing_to_say_but_the_schedule_moves_on(world: Any, clock: Any) -> None:
    Therapist.objects.filter(pk=world.therapist.pk).update(
        last_digest_at=at(dt.date(2026, 6, 16), 6), next_digest_at=at(dt.date(2026, 6, 17), 6)
    )
    AlertFactory(patient=world.colleague_patient)  # the colleague's, not ours

    send_digests()

    assert not OutgoingEmail.objects.filter(key__startswith=f"digest:{world.therapist.pk}:").exists()
    therapist = Therapist.objects.get(pk=world.therapist.pk)
    assert therapist.next_digest_at == at(dt.date(2026, 6, 18), 6)
    assert therapist.last_digest_at == timezone.now()


def test_digests_go_out_at_the_local_hour_on_both_sides_of_the_spring_change(db: None, clock: Any) -> None:
    clinic = ClinicFactory(name="Riverside", timezone="Europe/London", digest_hour=7, digest_weekdays=EVERY_DAY)
    therapist = TherapistFactory(clinic=clinic)
    AlertFactory(patient=PatientFactory(therapist=therapist))
    clock.move_to(at(dt.date(2026, 3, 27), 12), tick=False)
    send_digests()  # schedules Saturday 07:00 GMT
    sent = []

    for instant in (at(dt.date(2026, 3, 28), 6, 59), at(dt.date(2026, 3, 28), 7), at(dt.date(2026, 3, 29), 5, 59)):
        clock.move_to(instant, tick=False)
        sent.append(send_digests()["digests"])
    clock.move_to(at(dt.date(2026, 3, 29), 6), tick=False)  # 07:00 BST
    sent.append(send_digests()["digests"])

    assert sent == [0, 1, 0, 1]
    assert sorted(OutgoingEmail.objects.values_list("key", flat=True)) == [
        f"digest:{therapist.pk}:2026-03-28",
        f"digest:{therapist.pk}:2026-03-29",
    ]
    therapist.refresh_from_db()
    assert therapist.next_digest_at == at(dt.date(2026, 3, 30), 6)
