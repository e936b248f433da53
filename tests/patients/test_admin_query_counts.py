"""Every admin changelist costs the same number of queries at 10 rows as at 100: no query per row.

Each test warms up (first-request caches such as content types), measures the page at 10 rows, adds
90 rows and asserts the exact same count at 100 rows, with every row on one page (``?all=``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.models import RedFlagReport
from patients.models import Clinic, Invitation, Patient, Therapist
from programs.models import Enrollment, OutcomeScore, Phase, PhaseTransition, Program
from tests.factories import (
    ClinicFactory,
    EnrollmentFactory,
    OutcomeScoreFactory,
    PatientFactory,
    ProgramFactory,
    TherapistFactory,
)
from tests.patients.helpers import issue_invitation, listed, record_transition


def add_patients(world: Any, count: int, therapists: list[Therapist] | None = None) -> list[Patient]:
    """Patients of the clinic spread over its therapists, each enrolled in one of two shared programs."""
    programs = [ProgramFactory(name="Back pain treatment"), ProgramFactory(name="Core stabilization")]
    therapists = therapists or [world.therapist, world.colleague, TherapistFactory(clinic=world.clinic)]
    patients = []
    for i in range(count):
        patient = PatientFactory(therapist=therapists[i % len(therapists)])
        EnrollmentFactory(patient=patient, program=programs[i % 2], phase=[Phase.TREATMENT, Phase.STABILIZATION][i % 2])
        patients.append(patient)
    return patients


def add_transitions(world: Any, count: int) -> None:
    for patient in add_patients(world, count):
        enrollment = patient.enrollments.get()
        came_from = Phase.MAINTENANCE if enrollment.phase == Phase.TREATMENT else Phase.TREATMENT
        by = [world.therapist.user, world.colleague.user][patient.pk % 2]
        record_transition(enrollment, from_phase=came_from, by=by)


def add_invitations(world: Any, count: int) -> None:
    for patient in add_patients(world, count):
        issue_invitation(patient)


def add_outcome_scores(world: Any, count: int) -> None:
    patients = add_patients(world, 4)
    for i in range(count):
        OutcomeScoreFactory(
            patient=patients[i % 4],
            instrument=["ODI", "PSFS"][i % 2],
            score=[30, 6][i % 2],
            recorded_on=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            entered_by=[world.therapist.user, world.clinic_admin.user][i % 2],
        )


def add_red_flag_reports(world: Any, count: int) -> None:
    patients = add_patients(world, 4)
    for i in range(count):
        RedFlagReport.objects.create(
            patient=patients[i % 4],
            kind="post_workout",
            occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i),
            safety_screen=["saddle_numbness"],
            refusal=[{"field": "answers.back_pain_now", "code": "max_value"}],
        )


# changelist: URL, model, how to add n rows the viewer sees
CHANGELISTS: dict[str, tuple[str, type[Any], Callable[[Any, int], Any]]] = {
    "therapist": (
        "/admin/patients/therapist/",
        Therapist,
        lambda world, n: TherapistFactory.create_batch(n, clinic=world.clinic),
    ),
    "patient": ("/admin/patients/patient/?caseload=all", Patient, add_patients),
    "invitation": ("/admin/patients/invitation/", Invitation, add_invitations),
    "program": ("/admin/programs/program/", Program, lambda world, n: ProgramFactory.create_batch(n)),
    "enrollment": ("/admin/programs/enrollment/", Enrollment, add_patients),
    "phase transition": ("/admin/programs/phasetransition/", PhaseTransition, add_transitions),
    "outcome score": ("/admin/programs/outcomescore/", OutcomeScore, add_outcome_scores),
    "red-flag report": ("/admin/assessments/redflagreport/", RedFlagReport, add_red_flag_reports),
}


def viewer(world: Any, superuser: Any, persona: str) -> Any:
    return superuser if persona == "superuser" else world.clinic_admin.user


def visible_count(model: type[Any], user: Any) -> int:
    manager = model.objects
    return manager.visible_to(user).count() if hasattr(manager, "visible_to") else manager.count()


@pytest.mark.parametrize(
    ("changelist", "persona"),
    [
        *((changelist, "clinic_admin") for changelist in CHANGELISTS),
        ("patient", "superuser"),  # a superuser's list also filters by clinic
        ("therapist", "superuser"),
    ],
)
def test_changelist_query_count_is_the_same_at_10_and_100_rows(
    client: Any, world: Any, superuser: Any, django_assert_num_queries: Any, changelist: str, persona: str
) -> None:
    path, model, add_rows = CHANGELISTS[changelist]
    assert_same_query_count_at_10_and_100_rows(
        client, world, viewer(world, superuser, persona), django_assert_num_queries, path, model, add_rows
    )


def test_clinic_changelist_query_count_is_the_same_at_10_and_100_rows(
    client: Any, world: Any, superuser: Any, django_assert_num_queries: Any
) -> None:
    # Only a superuser sees more than one clinic.
    assert_same_query_count_at_10_and_100_rows(
        client,
        world,
        superuser,
        django_assert_num_queries,
        "/admin/patients/clinic/",
        Clinic,
        lambda world, n: ClinicFactory.create_batch(n),
    )


def assert_same_query_count_at_10_and_100_rows(
    client: Any,
    world: Any,
    user: Any,
    django_assert_num_queries: Any,
    path: str,
    model: type[Any],
    add_rows: Callable[[Any, int], Any],
) -> None:
    url = f"{path}{'&' if '?' in path else '?'}all="
    client.force_login(user)
    add_rows(world, 10)
    assert client.get(url).status_code == 200  # warm-up

    with CaptureQueriesContext(connection) as at_10:
        response = client.get(url)
    assert len(listed(response)) == visible_count(model, user) >= 10

    add_rows(world, 90)
    with django_assert_num_queries(len(at_10)):
        response = client.get(url)
    assert len(listed(response)) == visible_count(model, user) >= 100


def test_patient_changelist_of_a_therapists_own_caseload_costs_the_same_at_10_and_100_rows(
    client: Any, world: Any, django_assert_num_queries: Any
) -> None:
    client.force_login(world.therapist.user)
    add_patients(world, 8, therapists=[world.therapist])
    add_patients(world, 5, therapists=[world.colleague])
    client.get("/admin/patients/patient/?all=")

    with CaptureQueriesContext(connection) as at_10:
        response = client.get("/admin/patients/patient/?all=")
    assert len(listed(response)) == 10  # Maria, Tom and the 8 added

    add_patients(world, 90, therapists=[world.therapist])
    add_patients(world, 5, therapists=[world.colleague])
    with django_assert_num_queries(len(at_10)):
        response = client.get("/admin/patients/patient/?all=")
    assert len(listed(response)) == 100


# --- The patient page ----------------------------------------------------------------------------


def add_history(world: Any, count: int) -> None:
    """Outcome scores and back-and-forth phase transitions of ``world.patient``."""
    enrollment = world.patient.enrollments.get()
    for i in range(count):
        OutcomeScoreFactory(
            patient=world.patient,
            instrument="ODI",
            score=40 - i,
            recorded_on=dt.date(2025, 6, 1) + dt.timedelta(days=i),
            entered_by=[world.therapist.user, world.colleague.user][i % 2],
        )
        record_transition(
            enrollment,
            from_phase=[Phase.TREATMENT, Phase.STABILIZATION][i % 2],
            to_phase=[Phase.STABILIZATION, Phase.TREATMENT][i % 2],
            effective_date=dt.date(2025, 6, 1) + dt.timedelta(days=i),
            by=[world.therapist.user, world.colleague.user][i % 2],
            reason=f"Reason number {i}",
        )


def test_patient_page_shows_details_enrollment_phase_history_and_outcome_scores(client: Any, world: Any) -> None:
    add_history(world, 2)
    client.force_login(world.therapist.user)

    response = client.get(f"/admin/patients/patient/{world.patient.pk}/change/")

    assert response.status_code == 200
    content = response.content.decode()
    assert world.patient.caseload_ref in content
    assert world.patient.email in content
    enrollment = world.patient.enrollments.get()
    assert enrollment.program.name in content  # the enrollment inline
    assert "Phase history" in content
    assert "Reason number 0" in content
    assert "Reason number 1" in content
    assert "<td>Core stabilization</td><td>Treatment</td>" in content
    assert "Oswestry Disability Index" in content
    assert "ODI 40.0 on 2025-06-01" in content
    assert "ODI 39.0 on 2025-06-02" in content
    assert "Move to another phase" in content


def test_patient_page_without_transitions_says_so(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.get(f"/admin/patients/patient/{world.patient.pk}/change/")

    assert "No transitions recorded." in response.content.decode()


def test_patient_page_query_count_does_not_grow_with_its_history(
    client: Any, world: Any, django_assert_num_queries: Any
) -> None:
    url = f"/admin/patients/patient/{world.patient.pk}/change/"
    client.force_login(world.therapist.user)
    add_history(world, 2)
    client.get(url)

    with CaptureQueriesContext(connection) as short_history:
        client.get(url)

    add_history(world, 20)
    with django_assert_num_queries(len(short_history)):
        response = client.get(url)
    assert response.content.decode().count("Reason number") == 22
