"""Invariants of the domain rows: database constraints, and validation where a constraint cannot express it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from patients.models import Clinic, Patient
from programs.models import Enrollment, OutcomeScore, Phase, PhaseTransition
from tests.factories import (
    ClinicFactory,
    EnrollmentFactory,
    ExerciseFactory,
    OutcomeScoreFactory,
    PatientFactory,
    ProgramFactory,
    TherapistFactory,
)

pytestmark = pytest.mark.django_db


@contextmanager
def rejected_by_database() -> Iterator[None]:
    """Expect an IntegrityError, inside a savepoint so that PostgreSQL's transaction stays usable."""
    with pytest.raises(IntegrityError), transaction.atomic():
        yield


# --- Patient -------------------------------------------------------------------------------------


def test_patient_email_is_unique_per_clinic() -> None:
    first = PatientFactory(email="maria@example.test")

    with rejected_by_database():
        PatientFactory(therapist=first.therapist, email="maria@example.test")


def test_patient_email_unique_per_clinic_is_reported_by_validation() -> None:
    first = PatientFactory(email="maria@example.test")
    second = PatientFactory.build(therapist=first.therapist, clinic=first.clinic, email="maria@example.test")

    with pytest.raises(ValidationError) as caught:
        second.full_clean()

    assert "already exists" in str(caught.value)


def test_the_same_patient_email_is_allowed_in_two_clinics() -> None:
    first = PatientFactory(email="maria@example.test")

    second = PatientFactory(therapist=TherapistFactory(), email="maria@example.test")

    assert first.clinic != second.clinic
    assert Patient.objects.filter(email="maria@example.test").count() == 2


def test_caseload_ref_is_unique_per_clinic() -> None:
    first = PatientFactory(caseload_ref="CR-ABC234")

    with rejected_by_database():
        PatientFactory(therapist=first.therapist, caseload_ref="CR-ABC234")


def test_the_same_caseload_ref_is_allowed_in_two_clinics() -> None:
    PatientFactory(caseload_ref="CR-ABC234")

    PatientFactory(therapist=TherapistFactory(), caseload_ref="CR-ABC234")

    assert Patient.objects.filter(caseload_ref="CR-ABC234").count() == 2


def test_new_patients_get_distinct_pseudonymous_caseload_refs() -> None:
    therapist = TherapistFactory()
    refs = {
        Patient.objects.create(
            clinic=therapist.clinic, therapist=therapist, first_name="A", last_name="B", email=f"p{i}@example.test"
        ).caseload_ref
        for i in range(20)
    }

    assert len(refs) == 20
    assert all(ref.startswith("CR-") and len(ref) == 9 for ref in refs)


def test_patient_therapist_must_belong_to_the_patients_clinic() -> None:
    outsider = TherapistFactory()
    patient = PatientFactory.build(clinic=ClinicFactory(), therapist=outsider)

    with pytest.raises(ValidationError) as caught:
        patient.full_clean()

    assert list(caught.value.message_dict) == ["therapist"]
    assert "must belong to the patient's clinic" in caught.value.message_dict["therapist"][0]


def test_patient_of_a_therapist_of_the_same_clinic_is_valid() -> None:
    therapist = TherapistFactory()
    patient = PatientFactory.build(clinic=therapist.clinic, therapist=therapist)

    patient.full_clean()


def test_patient_birth_date_cannot_be_in_the_future() -> None:
    patient = PatientFactory.build(therapist=TherapistFactory(), birth_date=dt.date(2999, 1, 1))
    patient.clinic = patient.therapist.clinic

    with pytest.raises(ValidationError) as caught:
        patient.full_clean()

    assert list(caught.value.message_dict) == ["birth_date"]


def test_patient_email_is_stored_lower_case_after_validation() -> None:
    therapist = TherapistFactory()
    patient = PatientFactory.build(clinic=therapist.clinic, therapist=therapist, email="Maria@Example.TEST")

    patient.full_clean()

    assert patient.email == "maria@example.test"


# --- Enrollment ----------------------------------------------------------------------------------


def test_at_most_one_active_enrollment_per_patient() -> None:
    enrollment = EnrollmentFactory()

    with rejected_by_database():
        EnrollmentFactory(patient=enrollment.patient, active=True)


def test_ended_enrollments_do_not_count_against_the_active_one() -> None:
    patient = PatientFactory()
    for _ in range(2):
        ended = EnrollmentFactory(patient=patient, active=False)
        ended.ended_on = ended.started_on + dt.timedelta(days=40)
        ended.save()

    EnrollmentFactory(patient=patient, active=True)

    assert Enrollment.objects.filter(patient=patient).count() == 3


def test_enrollment_cannot_end_before_it_started() -> None:
    with rejected_by_database():
        EnrollmentFactory(
            started_on=dt.date(2026, 1, 10), phase_since=dt.date(2026, 1, 10), ended_on=dt.date(2026, 1, 9)
        )


def test_enrollment_may_end_on_the_day_it_started() -> None:
    enrollment = EnrollmentFactory(
        started_on=dt.date(2026, 1, 10), phase_since=dt.date(2026, 1, 10), ended_on=dt.date(2026, 1, 10), active=False
    )

    assert enrollment.pk is not None


def test_enrollment_check_in_weekday_is_0_to_6() -> None:
    with rejected_by_database():
        EnrollmentFactory(weekly_checkin_weekday=7)


def test_enrollment_phase_cannot_begin_before_the_enrollment() -> None:
    enrollment = EnrollmentFactory.build(
        patient=PatientFactory(),
        program=ProgramFactory(),
        started_on=dt.date(2026, 2, 1),
        phase_since=dt.date(2026, 1, 31),
    )

    with pytest.raises(ValidationError) as caught:
        enrollment.full_clean()

    assert list(caught.value.message_dict) == ["phase_since"]


# --- Phase transitions ---------------------------------------------------------------------------


def test_transition_to_the_same_phase_is_rejected_by_the_database() -> None:
    enrollment = EnrollmentFactory()

    with rejected_by_database():
        PhaseTransition.objects.create(
            enrollment=enrollment,
            from_phase=Phase.STABILIZATION,
            to_phase=Phase.STABILIZATION,
            effective_date=enrollment.phase_since,
            by=enrollment.patient.therapist.user,
        )


# --- Outcome scores ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "score"),
    [
        (OutcomeScore.Instrument.ODI, Decimal("100.1")),
        (OutcomeScore.Instrument.ODI, Decimal("-1")),
        (OutcomeScore.Instrument.PSFS, Decimal("10.1")),
        (OutcomeScore.Instrument.PSFS, Decimal("-0.5")),
        (OutcomeScore.Instrument.OTHER, Decimal("-3")),
    ],
)
def test_outcome_score_out_of_the_instruments_range_is_rejected_by_the_database(
    instrument: str, score: Decimal
) -> None:
    with rejected_by_database():
        OutcomeScoreFactory(instrument=instrument, score=score)


@pytest.mark.parametrize(
    ("instrument", "score"),
    [
        (OutcomeScore.Instrument.ODI, Decimal("0")),
        (OutcomeScore.Instrument.ODI, Decimal("100")),
        (OutcomeScore.Instrument.PSFS, Decimal("10")),
        (OutcomeScore.Instrument.PSFS, Decimal("6.7")),
        (OutcomeScore.Instrument.OTHER, Decimal("250")),
    ],
)
def test_outcome_score_within_the_instruments_range_is_stored(instrument: str, score: Decimal) -> None:
    outcome = OutcomeScoreFactory(instrument=instrument, score=score)

    outcome.refresh_from_db()
    assert outcome.score == score


def test_outcome_score_range_is_reported_by_validation() -> None:
    outcome = OutcomeScoreFactory.build(patient=PatientFactory(), instrument=OutcomeScore.Instrument.PSFS, score=11)
    outcome.entered_by = outcome.patient.therapist.user

    with pytest.raises(ValidationError) as caught:
        outcome.full_clean()

    assert "outcome_psfs_0_10" in str(caught.value)


# --- Clinic --------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["", "Europe/Londn", "UTC+2", "+02:00", "GMT+1", "europe/london", "Mars/Olympus_Mons"])
def test_clinic_time_zone_must_be_an_iana_name(zone: str) -> None:
    clinic = Clinic(name="Harbour Physio", timezone=zone)

    with pytest.raises(ValidationError) as caught:
        clinic.full_clean()

    assert list(caught.value.message_dict) == ["timezone"]


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Asia/Kolkata", "UTC"])
def test_clinic_accepts_an_iana_time_zone(zone: str) -> None:
    clinic = Clinic(name="Harbour Physio", timezone=zone)

    clinic.full_clean()

    assert clinic.tz.key == zone


@pytest.mark.parametrize("weekdays", ["", "7", "0a", "00", "0,1", "01234567"])
def test_clinic_digest_weekdays_must_be_distinct_digits_0_to_6(weekdays: str) -> None:
    clinic = Clinic(name="Harbour Physio", timezone="Europe/London", digest_weekdays=weekdays)

    with pytest.raises(ValidationError) as caught:
        clinic.full_clean()

    assert list(caught.value.message_dict) == ["digest_weekdays"]


@pytest.mark.parametrize(
    ("weekdays", "names"),
    [("0", ["Mon"]), ("0123456", ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]), ("50", ["Mon", "Sat"])],
)
def test_clinic_accepts_digest_weekdays_and_names_them(weekdays: str, names: list[str]) -> None:
    clinic = Clinic(name="Harbour Physio", timezone="Europe/London", digest_weekdays=weekdays)

    clinic.full_clean()

    assert clinic.digest_weekday_names == names


def test_clinic_digest_hour_past_23_is_rejected_by_the_database() -> None:
    with rejected_by_database():
        ClinicFactory(digest_hour=24)


# --- Exercises -----------------------------------------------------------------------------------


def test_exercise_names_are_unique_within_a_program() -> None:
    exercise = ExerciseFactory(name="Dead bug")

    with rejected_by_database():
        ExerciseFactory(program=exercise.program, name="Dead bug")


@pytest.mark.parametrize("field", ["sets", "reps"])
def test_exercise_needs_at_least_one_set_and_rep(field: str) -> None:
    with rejected_by_database():
        ExerciseFactory(**{field: 0})
