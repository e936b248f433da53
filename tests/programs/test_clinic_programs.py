"""Each clinic owns its programs (issue 9, item 2): built-ins are shared and read-only, a clinic edits its own copy,
and a phase move prescribes the clinic's own default of the phase.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from programs.models import Enrollment, Exercise, Phase, Program
from programs.services import default_program
from tests.factories import EnrollmentFactory, ExerciseFactory, ProgramFactory
from tests.patients.helpers import changeform_data, listed

PROGRAMS = "/admin/programs/program/"


def built_in(phase: str) -> Program:
    return Program.objects.get(clinic__isnull=True, kind=phase, is_default=True)


@pytest.fixture
def own(world: Any) -> Program:
    """Riverside's own stabilization program, with one exercise."""
    program: Program = ProgramFactory(name="Riverside core", kind=Phase.STABILIZATION, clinic=world.clinic)
    ExerciseFactory(program=program, name="Pallof press", position=0)
    return program


@pytest.fixture
def foreign(world: Any) -> Program:
    program: Program = ProgramFactory(name="Hilltop core", kind=Phase.STABILIZATION, clinic=world.other_clinic)
    return program


def test_a_clinic_sees_the_built_in_programs_and_its_own_only(
    client: Any, world: Any, own: Program, foreign: Program
) -> None:
    client.force_login(world.clinic_admin.user)

    names = {p.name for p in listed(client.get(PROGRAMS))}

    assert {"Back pain treatment", "Core stabilization", "Maintenance", "Riverside core"} <= names
    assert "Hilltop core" not in names
    assert client.get(f"{PROGRAMS}{foreign.pk}/change/").status_code == 404
    assert client.post(f"{PROGRAMS}{foreign.pk}/delete/", {"post": "yes"}).status_code == 404


def test_a_built_in_program_is_read_only_for_a_clinic(client: Any, world: Any) -> None:
    program = built_in(Phase.STABILIZATION)
    before = list(program.exercises.values_list("name", "sets"))
    client.force_login(world.clinic_admin.user)

    page = client.get(f"{PROGRAMS}{program.pk}/change/")
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    client.post(f"{PROGRAMS}{program.pk}/change/", {"name": "Renamed", "kind": "stabilization"})
    assert client.post(f"{PROGRAMS}{program.pk}/delete/", {"post": "yes"}).status_code == 403

    program.refresh_from_db()
    assert program.name == "Core stabilization"
    assert list(program.exercises.values_list("name", "sets")) == before


def test_copy_for_my_clinic_makes_an_editable_copy_and_leaves_the_original(client: Any, world: Any) -> None:
    original = built_in(Phase.STABILIZATION)
    client.force_login(world.clinic_admin.user)

    response = client.post(PROGRAMS, {"action": "copy_for_my_clinic", "_selected_action": [original.pk]})

    assert response.status_code == 302
    copy = Program.objects.get(clinic=world.clinic, name="Core stabilization (copy)")
    assert (copy.kind, copy.is_default) == (Phase.STABILIZATION, False)
    assert [e.name for e in copy.exercises.all()] == [e.name for e in original.exercises.all()]
    page = client.get(f"{PROGRAMS}{copy.pk}/change/")
    assert page.context["has_change_permission"]
    data = changeform_data(page, name="Core stabilization, Riverside", is_default="on")
    assert client.post(f"{PROGRAMS}{copy.pk}/change/", data).status_code == 302
    copy.refresh_from_db()
    assert (copy.name, copy.is_default, copy.clinic) == ("Core stabilization, Riverside", True, world.clinic)
    original.refresh_from_db()
    assert (original.name, original.is_default) == ("Core stabilization", True)
    # A second copy does not clash with the first one's name.
    client.post(PROGRAMS, {"action": "copy_for_my_clinic", "_selected_action": [original.pk]})
    assert Program.objects.filter(clinic=world.clinic, name="Core stabilization (copy)").exists()


def test_copies_of_a_program_with_the_longest_name_keep_their_suffix_and_do_not_clash(client: Any, world: Any) -> None:
    long_name = "Lumbar stabilization " + "x" * 99  # 120 characters, the longest a name may be
    original = ProgramFactory(clinic=world.clinic, name=long_name, kind=Phase.STABILIZATION)
    client.force_login(world.clinic_admin.user)

    for _ in range(2):
        response = client.post(PROGRAMS, {"action": "copy_for_my_clinic", "_selected_action": [original.pk]})
        assert response.status_code == 302

    names = sorted(Program.objects.filter(clinic=world.clinic).exclude(pk=original.pk).values_list("name", flat=True))
    assert [name[-9:] for name in names] == [" (copy 2)", "xx (copy)"]
    assert all(len(name) == 120 and name.startswith("Lumbar stabilization xxx") for name in names)


def test_a_program_added_by_a_clinic_is_the_clinics_own(client: Any, world: Any) -> None:
    client.force_login(world.clinic_admin.user)
    page = client.get(f"{PROGRAMS}add/")
    assert "clinic" not in page.context["adminform"].form.fields

    data = changeform_data(page, name="Riverside maintenance", kind="maintenance", post_workouts_per_week="2",
                           weekly_checkin_weekday="0")  # fmt: skip
    assert client.post(f"{PROGRAMS}add/", data).status_code == 302

    assert Program.objects.get(name="Riverside maintenance").clinic == world.clinic


def test_a_phase_move_prescribes_the_clinics_own_default_and_another_clinic_keeps_the_built_in(
    client: Any, world: Any, own: Program
) -> None:
    Program.objects.filter(pk=own.pk).update(is_default=True)
    for patient in (world.patient, world.foreign_patient):
        Enrollment.objects.filter(patient=patient).delete()
        EnrollmentFactory(patient=patient, phase=Phase.TREATMENT, program=built_in(Phase.TREATMENT))
    assert default_program(Phase.STABILIZATION, world.clinic.pk) == own
    assert default_program(Phase.STABILIZATION, world.other_clinic.pk) == built_in(Phase.STABILIZATION)

    for therapist, patient in ((world.therapist, world.patient), (world.outsider, world.foreign_patient)):
        client.force_login(therapist.user)
        url = f"/admin/patients/patient/{patient.pk}/transition/"
        form = client.get(url).context["form"]
        assert form.fields["program"].choices[1][1][0][1].endswith("(default)")
        response = client.post(url, {"to_phase": Phase.STABILIZATION, "irritability_low": "true",
                                     "neuro_screen_clear": "true", "motor_control_ok": "true", "reason": "Settled",
                                     "effective_date": form.fields["effective_date"].initial})  # fmt: skip
        assert response.status_code == 302, response.context["form"].errors

    ours, theirs = (APIClient(), APIClient())
    ours.force_authenticate(world.patient.user)
    theirs.force_authenticate(world.foreign_patient.user)
    assert ours.get("/api/v1/me/program/").json()["name"] == "Riverside core"
    assert [e["name"] for e in ours.get("/api/v1/me/program/").json()["exercises"]] == ["Pallof press"]
    assert theirs.get("/api/v1/me/program/").json()["name"] == "Core stabilization"


def test_another_clinics_program_cannot_be_prescribed(client: Any, world: Any, foreign: Program) -> None:
    Enrollment.objects.filter(patient=world.patient).delete()
    EnrollmentFactory(patient=world.patient, phase=Phase.TREATMENT, program=built_in(Phase.TREATMENT))
    client.force_login(world.therapist.user)
    url = f"/admin/patients/patient/{world.patient.pk}/transition/"
    form = client.get(url).context["form"]
    offered = {pk for _, group in form.fields["program"].choices[1:] for pk, _ in group}
    assert foreign.pk not in offered

    response = client.post(url, {"to_phase": Phase.STABILIZATION, "program": foreign.pk, "reason": "Settled",
                                 "effective_date": form.fields["effective_date"].initial})  # fmt: skip

    assert response.status_code == 200
    assert "program" in response.context["form"].errors
    assert Enrollment.objects.get(patient=world.patient).phase == Phase.TREATMENT
    assert not Exercise.objects.filter(program=foreign).exists()


def test_the_patient_pages_enrollment_row_cannot_change_the_program(client: Any, world: Any, foreign: Program) -> None:
    enrollment = Enrollment.objects.get(patient=world.patient)
    client.force_login(world.therapist.user)
    page = client.get(f"/admin/patients/patient/{world.patient.pk}/change/")
    assert "Hilltop core" not in page.content.decode()

    data = changeform_data(page, **{"enrollments-0-program": str(foreign.pk)})
    response = client.post(f"/admin/patients/patient/{world.patient.pk}/change/", data)

    assert response.status_code == 302  # saved: the program in the row was ignored, not refused

    enrollment.refresh_from_db()
    assert enrollment.program_id != foreign.pk


def test_the_enrollment_list_filter_names_no_other_clinics_program(client: Any, world: Any, foreign: Program) -> None:
    client.force_login(world.therapist.user)
    assert "Hilltop core" not in client.get("/admin/programs/enrollment/").content.decode()


def test_a_second_default_or_a_taken_name_is_a_form_error_not_a_crash(client: Any, world: Any, own: Program) -> None:
    Program.objects.filter(pk=own.pk).update(is_default=True)
    client.force_login(world.clinic_admin.user)
    page = client.get(f"{PROGRAMS}add/")

    schedule = {"kind": "stabilization", "post_workouts_per_week": "3", "weekly_checkin_weekday": "0"}
    taken = client.post(f"{PROGRAMS}add/", changeform_data(page, name="Riverside core", **schedule))
    second = client.post(f"{PROGRAMS}add/", changeform_data(page, name="Riverside two", is_default="on", **schedule))

    assert taken.status_code == second.status_code == 200
    assert "name" in taken.context["adminform"].form.errors
    assert "is_default" in second.context["adminform"].form.errors
    assert Program.objects.filter(clinic=world.clinic).count() == 1
