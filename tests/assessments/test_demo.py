"""The demo histories: idempotent, and a first scan raises exactly one alert per pattern patient."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count

from assessments.models import Alert, Entry, OutgoingEmail
from assessments.scanning import scan_patients
from patients.models import Patient
from programs.models import Enrollment, PhaseTransition

# first name -> the one alert (rule, qualifier, severity) of that patient's history; the quiet ones raise none.
EXPECTED = {
    "Maria": ("R-03", "", "high"),  # stiffening back
    "Tom": ("R-04", "right", "high"),  # one-sided thigh ache not eased by stretching
    "Aisha": ("R-05", "", "high"),  # neck strain during core work, into the arm on the last session
    "Lena": ("R-06", "", "high"),  # returning pain
    "Omar": ("R-01", "entry", "urgent"),  # a red flag
}
QUIET = ("Peter", "Grace")  # Grace's soreness is both-sided and eases with stretching: not neural


def seed() -> None:
    call_command("seed_demo", "--quiet-logins", stdout=StringIO())


def test_seed_demo_is_idempotent_with_histories(db: None) -> None:
    seed()
    counts = {model: model.objects.count() for model in (Patient, Enrollment, PhaseTransition, Entry)}
    per_patient = dict(Entry.objects.order_by().values_list("patient__first_name").annotate(n=Count("id")))

    seed()

    assert {model: model.objects.count() for model in counts} == counts
    assert counts[Patient] == 7
    assert all(n >= 12 for n in per_patient.values())  # four weeks of sessions and weeklies each
    assert not Entry.objects.filter(scanned_at__isnull=False).exists()  # written as if just submitted


@pytest.mark.parametrize("weekday", range(7), ids=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
def test_a_scan_of_the_demo_raises_one_alert_per_pattern_and_none_for_the_quiet_patients(
    db: None, clock: Any, weekday: int
) -> None:
    clock.move_to(dt.datetime(2026, 6, 15 + weekday, 16, 30, tzinfo=dt.UTC), tick=False)
    seed()

    report = scan_patients(list(Patient.objects.values_list("pk", flat=True)))

    assert (report.patients, report.failed) == (7, [])
    raised = {
        a.patient.first_name: (a.rule_id, a.qualifier.split(":")[0], a.severity)
        for a in Alert.objects.select_related("patient")
    }
    assert raised == EXPECTED
    assert Alert.objects.count() == len(EXPECTED)
    assert not Alert.objects.filter(patient__first_name__in=QUIET).exists()
    # Urgent and high: one immediate email each, as `make run` shows them in the outbox.
    assert OutgoingEmail.objects.filter(key__endswith=":immediate").count() == len(EXPECTED)
    assert not Entry.objects.unscanned().exists()
    # The history was sent day by day, each report two minutes after its moment (not in one batch today).
    assert all(e.submitted_at - e.occurred_at == dt.timedelta(minutes=2) for e in Entry.objects.all())

    clock.shift(dt.timedelta(minutes=11))  # the follow-up scan judges R-11: every demo patient reports regularly
    later = scan_patients(list(Patient.objects.values_list("pk", flat=True)))

    assert (later.created, later.updated, later.r11_due) == (0, 0, [])
    assert OutgoingEmail.objects.count() == len(EXPECTED)
