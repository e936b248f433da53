"""Enrolling a patient in the admin: the schedule comes from the program unless set; one active enrollment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from programs.models import Enrollment, OutcomeScore, Phase
from tests.factories import PatientFactory, ProgramFactory


def _form(patient: Any, program: Any, **fields: Any) -> dict[str, Any]:
    data = {
        "patient": patient.pk,
        "program": program.pk,
        "phase": "treatment",
        "phase_since": "",
        "started_on": "2026-05-04",
        "ended_on": "",
        "active": "on",
        "post_workouts_per_week": "",
        "weekly_checkin_weekday": "",
    }
    data.update(fields)
    return data


def test_a_new_enrollment_takes_the_programs_schedule_and_starts_its_phase_on_the_start_date(
    client: Any, world: Any
) -> None:
    patient = PatientFactory(therapist=world.therapist)
    program = ProgramFactory(kind=Phase.TREATMENT, post_workouts_per_week=5, weekly_checkin_weekday=3)
    client.force_login(world.therapist.user)

    response = client.post("/admin/programs/enrollment/add/", _form(patient, program))

    assert response.status_code == 302, response.context["adminform"].form.errors
    enrollment = Enrollment.objects.get(patient=patient)
    assert (enrollment.post_workouts_per_week, enrollment.weekly_checkin_weekday) == (5, 3)
    assert enrollment.phase_since == dt.date(2026, 5, 4)


def test_a_schedule_set_by_the_therapist_wins_over_the_programs(client: Any, world: Any) -> None:
    patient = PatientFactory(therapist=world.therapist)
    program = ProgramFactory(kind=Phase.TREATMENT, post_workouts_per_week=5, weekly_checkin_weekday=3)
    client.force_login(world.therapist.user)

    client.post(
        "/admin/programs/enrollment/add/",
        _form(patient, program, post_workouts_per_week="2", weekly_checkin_weekday="6", phase_since="2026-05-10"),
    )

    enrollment = Enrollment.objects.get(patient=patient)
    assert (enrollment.post_workouts_per_week, enrollment.weekly_checkin_weekday) == (2, 6)
    assert enrollment.phase_since == dt.date(2026, 5, 10)


def test_a_second_active_enrollment_is_a_form_error_not_a_crash(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)
    program = ProgramFactory(kind=Phase.TREATMENT)

    response = client.post("/admin/programs/enrollment/add/", _form(world.patient, program))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Enrollment.objects.filter(patient=world.patient).count() == 1


def test_an_outcome_score_dated_in_the_future_is_a_form_error(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)
    tomorrow = timezone.localdate(timezone=world.clinic.tz) + dt.timedelta(days=1)

    response = client.post(
        "/admin/programs/outcomescore/add/",
        {"patient": world.patient.pk, "instrument": "ODI", "score": "18", "recorded_on": tomorrow.isoformat()},
    )

    assert response.status_code == 200
    assert "recorded_on" in response.context["adminform"].form.errors
    assert not OutcomeScore.objects.exists()


def test_a_new_enrollment_cannot_skip_the_readiness_check_by_starting_in_stabilization(client: Any, world: Any) -> None:
    patient = PatientFactory(therapist=world.therapist)
    client.force_login(world.therapist.user)

    response = client.post("/admin/programs/enrollment/add/", _form(patient, ProgramFactory(), phase="stabilization"))

    assert response.status_code == 200
    assert "phase" in response.context["adminform"].form.errors
    assert not Enrollment.objects.filter(patient=patient).exists()


def test_a_program_of_another_phase_or_clinic_is_a_form_error_on_the_program(client: Any, world: Any) -> None:
    patient = PatientFactory(therapist=world.therapist)
    client.force_login(world.therapist.user)
    offered = [
        ProgramFactory(kind=Phase.STABILIZATION),
        ProgramFactory(kind=Phase.TREATMENT, clinic=world.other_clinic),
    ]

    for program in offered:
        response = client.post("/admin/programs/enrollment/add/", _form(patient, program))

        assert response.status_code == 200
        assert list(response.context["adminform"].form.errors) == ["program"]
    assert not Enrollment.objects.filter(patient=patient).exists()
