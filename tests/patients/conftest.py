"""Fixtures of the patients tests."""

from __future__ import annotations

from typing import Any

import pytest

from assessments.models import RuleSet
from programs.models import Program
from tests.factories import OutcomeScoreFactory, ProgramFactory
from tests.patients.helpers import issue_invitation, record_transition


@pytest.fixture
def clinic_records(world: Any) -> None:
    """Give every persona patient an invitation, a recorded phase transition and an outcome score.

    The program templates (one per enrollment) are named after the patients, to tell them apart in lists.
    """
    for patient in (world.patient, world.other_patient, world.colleague_patient, world.foreign_patient):
        enrollment = patient.enrollments.get()
        Program.objects.filter(pk=enrollment.program_id).update(name=f"Program {patient.first_name}")
        record_transition(enrollment)
        OutcomeScoreFactory(patient=patient)
        issue_invitation(patient)
    # Each clinic's own program and its own copy of the active ruleset (issue 9: each clinic owns them).
    RuleSet.objects.get_or_create(clinic=None, name="core", version=2, defaults={"is_active": True})  # built in
    for clinic in (world.clinic, world.other_clinic):
        ProgramFactory(name=f"{clinic.name} own", clinic=clinic)
        RuleSet.objects.create(clinic=clinic, name="core", version=2, notes="a clinic's copy")
