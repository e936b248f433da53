"""Migration programs 0003: built-in programs per phase, and every active enrollment on the program of its phase.

Before it, a phase move left the enrollment on the old phase's program, so the patient was served the old
routine; the migration gives such an enrollment its phase's default program and each enrollment its own copy.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from programs.models import Enrollment, Program
from tests.factories import PatientFactory

BEFORE = [("programs", "0002_outcomescore_scanned_at_and_more")]
AFTER = [("programs", "0003_program_follows_phase")]


@pytest.mark.django_db(transaction=True)
def test_an_enrollment_left_on_the_old_phases_program_gets_its_phases_program_and_a_prescription() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    OldProgram, OldExercise, OldEnrollment = (
        old.get_model("programs", name) for name in ("Program", "Exercise", "Enrollment")
    )
    OldProgram.objects.all().delete()
    # A clinic that already had programs of these names (seed_demo made them): they become the built-ins.
    treatment = OldProgram.objects.create(name="Back pain treatment", kind="treatment")
    OldExercise.objects.create(program=treatment, name="Pelvic tilts", instructions="Gently.", region="core")
    stabilization = OldProgram.objects.create(name="Core stabilization", kind="stabilization")
    for position, name in enumerate(["Dead bug", "Bird dog"]):
        OldExercise.objects.create(
            program=stabilization, name=name, instructions="Slowly.", region="core", position=position
        )
    since = dt.date(2026, 1, 5)
    moved, stayed = PatientFactory(), PatientFactory()
    OldEnrollment.objects.create(  # moved to stabilization, still holding the treatment program
        patient_id=moved.pk, program=treatment, phase="stabilization", phase_since=since, started_on=since
    )
    OldEnrollment.objects.create(
        patient_id=stayed.pk, program=treatment, phase="treatment", phase_since=since, started_on=since
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # the rest, so that today's models can read the rows

    defaults = {p.kind: p.name for p in Program.objects.filter(is_default=True)}
    assert defaults == {
        "treatment": "Back pain treatment",
        "stabilization": "Core stabilization",
        "maintenance": "Maintenance",
    }
    fixed = Enrollment.objects.get(patient_id=moved.pk)
    assert fixed.program.name == "Core stabilization"
    assert [e.name for e in fixed.prescription.all()] == ["Dead bug", "Bird dog"]  # the clinic's own exercises
    kept = Enrollment.objects.get(patient_id=stayed.pk)
    assert kept.program.name == "Back pain treatment"
    assert [e.name for e in kept.prescription.all()] == ["Pelvic tilts"]
    assert Program.objects.get(name="Maintenance").exercises.count() == 2  # made, with the built-in exercises
