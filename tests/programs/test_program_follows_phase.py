"""The program follows the phase (issue 9, item 1): a phase move changes what the patient is asked to do.

Through the admin (the "Move to another phase" page, the enrollment page with the patient's prescription)
and the portal API (``/api/v1/me/program/``).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from programs.models import Enrollment, Exercise, Phase, PhaseTransition, PrescribedExercise, Program
from programs.services import default_program, prescription_reset
from tests.factories import EnrollmentFactory, ExerciseFactory, ProgramFactory
from tests.patients.helpers import changeform_data

PROGRAM = "/api/v1/me/program/"
READY = {"irritability_low": "true", "neuro_screen_clear": "true", "motor_control_ok": "true"}


def transition_url(patient: Any) -> str:
    return f"/admin/patients/patient/{patient.pk}/transition/"


def enrollment_url(enrollment: Enrollment) -> str:
    return f"/admin/programs/enrollment/{enrollment.pk}/change/"


def built_in(phase: str) -> Program:
    program = default_program(phase, None)
    assert program is not None
    assert program.is_default
    return program


@pytest.fixture
def in_treatment(world: Any) -> Enrollment:
    """The patient in treatment, on the built-in treatment program, as a new enrollment starts."""
    world.patient.enrollments.all().delete()
    treatment = built_in("treatment")
    enrollment: Enrollment = EnrollmentFactory(patient=world.patient, phase=Phase.TREATMENT, program=treatment)
    return enrollment


@pytest.fixture
def portal(world: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(world.patient.user)
    return api


def exercise_names(portal: APIClient) -> list[str]:
    response = portal.get(PROGRAM)
    assert response.status_code == 200, response.content
    return [e["name"] for e in response.json()["exercises"]]


def test_the_built_in_programs_give_each_phase_a_default_with_exercises(world: Any) -> None:
    for phase in Phase.values:
        program = built_in(phase)
        assert program.kind == phase
        assert program.exercises.exists()


def test_a_move_to_stabilization_in_the_admin_changes_the_program_the_patient_is_served(
    client: Any, world: Any, in_treatment: Enrollment, portal: APIClient
) -> None:
    treatment, stabilization = built_in("treatment"), built_in("stabilization")
    assert exercise_names(portal) == [e.name for e in treatment.exercises.all()]
    assert portal.get(PROGRAM).json()["phase"] == Phase.TREATMENT

    client.force_login(world.therapist.user)
    page = client.get(transition_url(world.patient))
    choices = page.context["form"].fields["program"].choices
    assert choices[0] == ("", "The new phase's default program")
    groups = dict(choices[1:])
    assert set(groups) == {"Core stabilization", "Maintenance"}  # the phases the patient may move to
    assert groups["Core stabilization"][0] == (stabilization.pk, f"{stabilization.name} (default)")
    response = client.post(
        transition_url(world.patient),
        {"to_phase": Phase.STABILIZATION, "effective_date": page.context["form"].fields["effective_date"].initial,
         **READY, "reason": "Settled"},
    )  # fmt: skip
    assert response.status_code == 302, response.context["form"].errors

    body = portal.get(PROGRAM).json()
    assert (body["phase"], body["kind"], body["name"]) == (Phase.STABILIZATION, "stabilization", stabilization.name)
    assert [e["name"] for e in body["exercises"]] == [e.name for e in stabilization.exercises.all()]
    transition = PhaseTransition.objects.get(enrollment=in_treatment)
    assert (transition.from_program, transition.to_program) == (treatment, stabilization)
    assert portal.get("/api/v1/me/").json()["enrollment"]["program"] == {
        "name": stabilization.name,
        "kind": "stabilization",
    }
    patient_page = client.get(f"/admin/patients/patient/{world.patient.pk}/change/").content.decode()
    assert f"<td>{stabilization.name}</td>" in patient_page  # the phase history says which program applied


def test_the_therapist_may_pick_another_program_of_the_new_phase(
    client: Any, world: Any, in_treatment: Enrollment, portal: APIClient
) -> None:
    gentle = ProgramFactory(name="Gentle stabilization", kind=Phase.STABILIZATION)
    ExerciseFactory(program=gentle, name="Heel slides", position=0)
    client.force_login(world.therapist.user)
    today = client.get(transition_url(world.patient)).context["form"].fields["effective_date"].initial

    response = client.post(
        transition_url(world.patient),
        {"to_phase": Phase.STABILIZATION, "program": gentle.pk, "effective_date": today, **READY,
         "reason": "Settled"},
    )  # fmt: skip

    assert response.status_code == 302
    assert PhaseTransition.objects.get(enrollment=in_treatment).to_program == gentle
    assert exercise_names(portal) == ["Heel slides"]


def test_a_program_of_another_phase_is_refused_on_the_move_page_and_nothing_changes(
    client: Any, world: Any, in_treatment: Enrollment, portal: APIClient
) -> None:
    before = exercise_names(portal)
    client.force_login(world.therapist.user)
    page = client.get(transition_url(world.patient))

    response = client.post(
        transition_url(world.patient),
        {"to_phase": Phase.STABILIZATION, "program": built_in("maintenance").pk,
         "effective_date": page.context["form"].fields["effective_date"].initial, **READY, "reason": "Settled"},
    )  # fmt: skip

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["program"] == ["Maintenance is not a program of the Core stabilization phase."]
    in_treatment.refresh_from_db()
    assert (in_treatment.phase, in_treatment.program) == (Phase.TREATMENT, built_in("treatment"))
    assert exercise_names(portal) == before
    assert not PhaseTransition.objects.exists()


def test_the_therapist_adjusts_one_patients_prescription_without_touching_the_template(
    client: Any, world: Any, portal: APIClient
) -> None:
    Enrollment.objects.filter(patient__in=[world.patient, world.other_patient]).delete()
    program = ProgramFactory(kind=Phase.STABILIZATION)
    ExerciseFactory.create_batch(3, program=program)
    enrollment = EnrollmentFactory(patient=world.patient, program=program)  # the patient's copy of the three
    neighbour = EnrollmentFactory(patient=world.other_patient, program=program)
    rows = list(enrollment.prescription.all())
    assert len(rows) == 3
    client.force_login(world.therapist.user)
    page = client.get(enrollment_url(enrollment))
    assert page.status_code == 200

    first, dropped = rows[0], rows[1]
    data = changeform_data(page)
    prefix = "prescription"
    index = {int(data[f"{prefix}-{i}-id"]): i for i in range(len(rows))}
    data[f"{prefix}-{index[first.pk]}-sets"] = "5"
    data[f"{prefix}-{index[first.pk]}-hold_seconds"] = "45"
    data[f"{prefix}-{index[dropped.pk]}-DELETE"] = "on"
    new = len(rows)
    data.update({
        f"{prefix}-TOTAL_FORMS": str(new + 1),
        f"{prefix}-{new}-position": "9", f"{prefix}-{new}-name": "Wall sit", f"{prefix}-{new}-region": "hips",
        f"{prefix}-{new}-sets": "2", f"{prefix}-{new}-reps": "1", f"{prefix}-{new}-hold_seconds": "30",
        f"{prefix}-{new}-instructions": "Back flat on the wall.",
    })  # fmt: skip
    response = client.post(enrollment_url(enrollment), data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors

    served = {e["name"]: e for e in portal.get(PROGRAM).json()["exercises"]}
    assert served[first.name]["sets"] == 5
    assert served[first.name]["hold_seconds"] == 45
    assert dropped.name not in served
    assert served["Wall sit"] == {
        "name": "Wall sit", "instructions": "Back flat on the wall.", "region": "hips", "sets": 2, "reps": 1,
        "hold_seconds": 30,
    }  # fmt: skip
    # The template and the other patients on the same program are untouched.
    source = Exercise.objects.get(pk=first.source_id)
    assert (source.sets, source.hold_seconds) != (5, 45)
    assert Exercise.objects.filter(pk=dropped.source_id).exists()
    assert [e.sets for e in neighbour.prescription.all()] == [e.sets for e in program.exercises.all()]
    assert neighbour.prescription.count() == 3
    assert not PrescribedExercise.objects.filter(name="Wall sit").exclude(enrollment=enrollment).exists()


def test_another_clinics_therapist_cannot_reach_the_prescription(client: Any, world: Any) -> None:
    enrollment = world.patient.enrollments.get()
    client.force_login(world.outsider.user)

    assert client.get(enrollment_url(enrollment)).status_code == 404
    assert client.post(enrollment_url(enrollment), {}).status_code == 404


def test_a_new_enrollment_offers_the_treatment_programs_and_prescribes_the_chosen_one(client: Any, world: Any) -> None:
    world.patient.enrollments.all().delete()
    treatment = built_in("treatment")
    client.force_login(world.therapist.user)

    page = client.get(f"/admin/programs/enrollment/add/?patient={world.patient.pk}")
    program = page.context["adminform"].form.fields["program"]
    assert {p.kind for p in program.queryset} == {Phase.TREATMENT}
    assert program.initial == treatment

    response = client.post(
        "/admin/programs/enrollment/add/",
        {"patient": world.patient.pk, "program": treatment.pk, "phase": Phase.TREATMENT, "started_on": "2026-01-05",
         "active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    enrollment = world.patient.enrollments.get()
    assert [e.name for e in enrollment.prescription.all()] == [e.name for e in treatment.exercises.all()]


def test_my_program_costs_the_same_queries_whatever_the_prescription_length(world: Any, portal: APIClient) -> None:
    enrollment = world.patient.enrollments.get()
    assert portal.get(PROGRAM).status_code == 200  # the first request of a client warms its caches
    counts = []
    for extra in (1, 12):
        ExerciseFactory.create_batch(extra, program=enrollment.program)
        prescription_reset(enrollment)
        with CaptureQueriesContext(connection) as queries:
            assert portal.get(PROGRAM).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
