"""factory-boy factories that keep related rows consistent (a patient's therapist is of the patient's clinic)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from assessments import questionnaires as q
from patients.models import CLINIC_ADMINS_GROUP, THERAPISTS_GROUP, Clinic, Patient, Therapist
from programs.models import Enrollment, Exercise, OutcomeScore, Phase, Program
from programs.services import prescription_reset

PASSWORD = "correct-horse-battery-staple"


def blank_answers(kind: str) -> dict[str, Any]:
    """Every answer of a questionnaire as the declaration has it before the patient says anything: lists
    empty (nothing reported), optional answers at their default, conditional and other answers None.

    The answer builders of the test suites start from this and fill in the required numbers and choices.
    """
    return {f.name: [] if f.type == q.LIST and not f.conditional and f.required else f.empty for f in q.fields_of(kind)}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    username = factory.SelfAttribute("email")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clinic {n}")
    timezone = "Europe/London"
    digest_hour = 7
    digest_weekdays = "01234"


class TherapistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Therapist
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, is_staff=True)
    clinic = factory.SubFactory(ClinicFactory)
    display_name = factory.Sequence(lambda n: f"Therapist {n}, PT")
    is_clinic_admin = False

    @factory.post_generation
    def groups(self, create: bool, extracted: object, **kwargs: object) -> None:
        if not create:
            return
        names = [THERAPISTS_GROUP] + ([CLINIC_ADMINS_GROUP] if self.is_clinic_admin else [])
        self.user.groups.add(*Group.objects.filter(name__in=names))


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    therapist = factory.SubFactory(TherapistFactory)
    clinic = factory.SelfAttribute("therapist.clinic")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"patient{n}@example.test")
    birth_date = dt.date(1985, 4, 12)
    caseload_ref = factory.Sequence(lambda n: f"CR-T{n:05d}")


class PortalPatientFactory(PatientFactory):
    """A patient with an activated portal account (log in with email and PASSWORD)."""

    user = factory.SubFactory(UserFactory, email=factory.SelfAttribute("..email"))


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Program {n}")
    kind = Phase.STABILIZATION
    post_workouts_per_week = 3
    weekly_checkin_weekday = 0


class ExerciseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exercise

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Exercise {n}")
    instructions = "Slowly, without holding your breath."
    region = Exercise.Region.CORE
    sets = 3
    reps = 8
    hold_seconds = 5


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    phase = Phase.STABILIZATION
    program = factory.SubFactory(ProgramFactory, kind=factory.SelfAttribute("..phase"))  # a program of its phase
    phase_since = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=21))
    started_on = factory.LazyAttribute(lambda o: o.phase_since - dt.timedelta(days=30))
    active = True

    @factory.post_generation
    def prescription(obj: Enrollment, create: bool, extracted: Any, **kwargs: Any) -> None:
        """The patient's own copy of the program's exercises, as every enrollment gets when it starts."""
        if create:
            prescription_reset(obj)


class OutcomeScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutcomeScore

    patient = factory.SubFactory(PatientFactory)
    instrument = OutcomeScore.Instrument.ODI
    score = 18
    recorded_on = factory.LazyFunction(timezone.localdate)
    entered_by = factory.LazyAttribute(lambda o: o.patient.therapist.user)
