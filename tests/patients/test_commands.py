"""The operator commands: create_clinic, create_therapist, invite_patient and seed_demo."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import base, call_command, load_command_class
from django.core.management.base import CommandError

from assessments.models import OutgoingEmail
from assessments.outbox import outbox_send
from patients.management.commands.seed_demo import DEMO_PASSWORD
from patients.models import CLINIC_ADMINS_GROUP, THERAPISTS_GROUP, Clinic, Invitation, Patient, Therapist, hash_token
from programs.models import Enrollment, Phase, PhaseTransition, Program
from tests.factories import ProgramFactory
from tests.patients.helpers import activation_token

User = get_user_model()
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def command_error(command: str, *args: str) -> CommandError:
    with pytest.raises(CommandError) as caught:
        run(command, *args)
    return caught.value


def assert_one_line_error(error: CommandError, *words: str) -> None:
    message = str(error)
    assert error.returncode != 0
    assert "\n" not in message
    for word in words:
        assert word in message


def log_in(client: Any, email: str, password: str) -> Any:
    """Log in through the admin login form, as a person would (the lockout backend needs the request)."""
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password})


@pytest.fixture
def frozen(time_machine: Any) -> dt.datetime:
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def program(db: None) -> Program:
    return ProgramFactory(name="Core stabilization plus", kind=Phase.STABILIZATION, post_workouts_per_week=4)


# --- create_clinic ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_clinic_creates_the_clinic_with_its_time_zone() -> None:
    output = run("create_clinic", "--name", "Harbour Physio", "--timezone", "Europe/Dublin", "--digest-hour", "8")

    clinic = Clinic.objects.get(name="Harbour Physio")
    assert (clinic.timezone, clinic.digest_hour) == ("Europe/Dublin", 8)
    assert "Created clinic 'Harbour Physio' (Europe/Dublin)" in output


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["Europe/Londn", "UTC+2", "+02:00", "Mars/Olympus_Mons"])
def test_create_clinic_refuses_a_name_that_is_not_an_iana_time_zone(zone: str) -> None:
    error = command_error("create_clinic", "--name", "Harbour Physio", "--timezone", zone)

    assert_one_line_error(error, "timezone", zone, "IANA")
    assert not Clinic.objects.exists()


@pytest.mark.django_db
def test_create_clinic_refuses_a_duplicate_name() -> None:
    run("create_clinic", "--name", "Harbour Physio", "--timezone", "Europe/Dublin")

    error = command_error("create_clinic", "--name", "Harbour Physio", "--timezone", "Europe/London")

    assert_one_line_error(error, "name", "already exists")
    assert Clinic.objects.count() == 1


@pytest.mark.django_db
def test_create_clinic_refuses_a_digest_hour_past_23() -> None:
    error = command_error(
        "create_clinic", "--name", "Harbour Physio", "--timezone", "Europe/Dublin", "--digest-hour", "24"
    )

    assert_one_line_error(error, "digest_hour")
    assert not Clinic.objects.exists()


# --- create_therapist ------------------------------------------------------------------------------


def test_create_therapist_with_a_password_creates_a_staff_user_in_the_therapists_group(world: Any, client: Any) -> None:
    output = run(
        "create_therapist",
        "--clinic",
        "riverside",
        "--email",
        " Kim.Park@Example.test ",
        "--name",
        "Kim Park, PT, DPT",
        "--password",
        "a-long-enough-passphrase",
    )

    therapist = Therapist.objects.select_related("user").get(display_name="Kim Park, PT, DPT")
    assert therapist.clinic == world.clinic
    assert therapist.user.username == therapist.user.email == "kim.park@example.test"
    assert therapist.user.is_staff
    assert not therapist.user.is_superuser
    assert list(therapist.user.groups.values_list("name", flat=True)) == [THERAPISTS_GROUP]
    assert not therapist.is_clinic_admin
    assert "a-long-enough-passphrase" not in output
    assert "Password" not in output
    response = log_in(client, "kim.park@example.test", "a-long-enough-passphrase")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_create_therapist_without_a_password_prints_a_generated_one_once_that_logs_in(world: Any, client: Any) -> None:
    output = run("create_therapist", "--clinic", "Riverside", "--email", "kim@example.test", "--name", "Kim Park, PT")

    password_lines = [line for line in output.splitlines() if line.startswith("Password (shown once): ")]
    assert len(password_lines) == 1
    password = password_lines[0].removeprefix("Password (shown once): ")
    assert len(password) >= 12
    assert output.count(password) == 1
    user = User.objects.get(email="kim@example.test")
    assert user.password != password  # stored hashed
    assert log_in(client, "kim@example.test", "not-the-password-at-all").status_code == 200  # form shown again
    assert log_in(client, "kim@example.test", password).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_create_therapist_as_clinic_admin_joins_both_groups(world: Any) -> None:
    run(
        "create_therapist",
        "--clinic",
        "Riverside",
        "--email",
        "boss@example.test",
        "--name",
        "Bo Boss, PT",
        "--clinic-admin",
    )

    therapist = Therapist.objects.get(user__email="boss@example.test")
    assert therapist.is_clinic_admin
    assert set(therapist.user.groups.values_list("name", flat=True)) == {THERAPISTS_GROUP, CLINIC_ADMINS_GROUP}


def test_create_therapist_refuses_an_unknown_clinic(world: Any) -> None:
    error = command_error("create_therapist", "--clinic", "Nowhere", "--email", "kim@example.test", "--name", "Kim")

    assert_one_line_error(error, "Unknown clinic", "Nowhere")
    assert not User.objects.filter(email="kim@example.test").exists()


def test_create_therapist_refuses_an_email_already_in_use(world: Any) -> None:
    taken = world.outsider.user.email.upper()

    error = command_error("create_therapist", "--clinic", "Riverside", "--email", taken, "--name", "Kim Park, PT")

    assert_one_line_error(error, "email", "already exists")
    assert Therapist.objects.count() == 4


def test_create_therapist_refuses_a_weak_password(world: Any) -> None:
    error = command_error(
        "create_therapist",
        "--clinic",
        "Riverside",
        "--email",
        "kim@example.test",
        "--name",
        "Kim",
        "--password",
        "short",
    )

    assert_one_line_error(error, "too short")
    assert not User.objects.filter(email="kim@example.test").exists()


def test_create_therapist_refuses_a_blank_display_name(world: Any) -> None:
    error = command_error("create_therapist", "--clinic", "Riverside", "--email", "kim@example.test", "--name", "  ")

    assert_one_line_error(error, "display_name")
    assert not User.objects.filter(email="kim@example.test").exists()


# --- invite_patient --------------------------------------------------------------------------------


def invite(*extra: str, clinic: str = "Riverside", therapist: str, email: str = "new.patient@example.test") -> str:
    return run(
        "invite_patient",
        "--clinic",
        clinic,
        "--therapist",
        therapist,
        "--email",
        email,
        "--first-name",
        "Nora",
        "--last-name",
        "Quinn",
        *extra,
    )


def test_invite_patient_creates_patient_enrollment_and_hashed_invitation_valid_seven_days(
    world: Any, program: Program, frozen: dt.datetime, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        output = invite(
            "--birth-date",
            "1979-11-02",
            "--program",
            "core STABILIZATION plus",
            "--phase",
            "stabilization",
            "--phase-since",
            "2026-02-20",
            therapist=world.therapist.user.email.upper(),
            email=" Nora.Q@Example.test ",
        )

    patient = Patient.objects.get(email="nora.q@example.test")
    assert (patient.clinic, patient.therapist) == (world.clinic, world.therapist)
    assert (patient.first_name, patient.last_name, patient.birth_date) == ("Nora", "Quinn", dt.date(1979, 11, 2))
    assert patient.user is None
    assert patient.status == Patient.Status.ACTIVE
    assert patient.caseload_ref.startswith("CR-")
    enrollment = Enrollment.objects.get(patient=patient)
    assert enrollment.active
    assert enrollment.program == program
    assert (enrollment.phase, enrollment.phase_since, enrollment.started_on) == (
        Phase.STABILIZATION,
        dt.date(2026, 2, 20),
        dt.date(2026, 2, 20),
    )
    assert enrollment.post_workouts_per_week == 4
    assert not PhaseTransition.objects.filter(enrollment=enrollment).exists()

    invitation = Invitation.objects.get(patient=patient)
    token = activation_token(output)
    assert invitation.token_hash == hash_token(token)
    assert token not in invitation.token_hash
    assert invitation.expires_at == frozen + dt.timedelta(days=7)
    assert invitation.used_at is None
    assert Invitation.objects.usable().filter(pk=invitation.pk).exists()
    assert patient.caseload_ref in output

    queued = OutgoingEmail.objects.get(key=f"invitation:{invitation.pk}")  # through the outbox, like every email
    assert (queued.to, queued.clinic) == ("nora.q@example.test", world.clinic)
    outbox_send(email_id=queued.pk)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["nora.q@example.test"]
    assert "Riverside" in message.subject
    assert f"/portal/activate/?token={token}" in message.body
    assert "Quinn" not in message.subject + message.body  # the email carries nothing but the link


def test_invite_patient_email_leaves_only_after_commit(
    world: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invite(therapist=world.therapist.user.email)

    assert mailoutbox == []
    assert len(callbacks) == 1  # the send is published after commit; the outbox row is in the transaction


def test_invitation_expires_after_seven_days(world: Any, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    invite(therapist=world.therapist.user.email)
    invitation = Invitation.objects.get(patient__email="new.patient@example.test")

    time_machine.move_to(NOW + dt.timedelta(days=7, seconds=-1), tick=False)
    assert Invitation.objects.usable().filter(pk=invitation.pk).exists()
    time_machine.move_to(NOW + dt.timedelta(days=7), tick=False)
    assert not Invitation.objects.usable().filter(pk=invitation.pk).exists()


def test_invite_patient_without_program_creates_no_enrollment(world: Any) -> None:
    output = invite(therapist=world.colleague.user.email)

    patient = Patient.objects.get(email="new.patient@example.test")
    assert patient.therapist == world.colleague
    assert not patient.enrollments.exists()
    assert Invitation.objects.filter(patient=patient).count() == 1
    assert "/portal/activate/?token=" in output


def test_invite_patient_with_program_starts_today_in_treatment_by_default(world: Any, frozen: dt.datetime) -> None:
    invite("--program", "Back pain treatment", therapist=world.therapist.user.email)

    enrollment = Enrollment.objects.get(patient__email="new.patient@example.test")
    assert (enrollment.phase, enrollment.phase_since) == (Phase.TREATMENT, dt.date(2026, 3, 10))
    assert [e.name for e in enrollment.prescription.all()] == [e.name for e in enrollment.program.exercises.all()]


def test_invite_patient_refuses_a_program_of_another_phase(world: Any, program: Program) -> None:
    with pytest.raises(CommandError, match="program: Core stabilization plus is not a program of the Treatment phase"):
        invite("--program", "Core stabilization plus", therapist=world.therapist.user.email)

    assert not Patient.objects.filter(email="new.patient@example.test").exists()


def test_invite_patient_allows_an_email_used_in_another_clinic(world: Any) -> None:
    invite(therapist=world.therapist.user.email, email=world.foreign_patient.email)

    assert Patient.objects.filter(email=world.foreign_patient.email).count() == 2


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param({"clinic": "Nowhere"}, ["Unknown clinic", "Nowhere"], id="unknown-clinic"),
        pytest.param(
            {"therapist": "ghost@example.test"}, ["Unknown therapist", "ghost@example.test"], id="unknown-therapist"
        ),
        pytest.param(
            {"therapist": "outsider"}, ["belongs to 'Hilltop'", "not 'Riverside'"], id="therapist-of-another-clinic"
        ),
        pytest.param({"email": "duplicate"}, ["email", "already exists", "Riverside"], id="duplicate-email"),
        pytest.param(
            {"extra": ["--birth-date", "1979-13-01"]}, ["--birth-date", "YYYY-MM-DD", "1979-13-01"], id="bad-birth-date"
        ),
        pytest.param({"extra": ["--birth-date", "2099-01-01"]}, ["birth_date", "future"], id="birth-date-in-future"),
        pytest.param(
            {"extra": ["--program", "Core stabilization", "--phase-since", "last week"]},
            ["--phase-since", "YYYY-MM-DD", "last week"],
            id="bad-phase-since",
        ),
        pytest.param(
            {"extra": ["--program", "Core stabilization", "--phase-since", "2099-01-01"]},
            ["phase_since", "future"],
            id="phase-since-in-future",
        ),
        pytest.param(
            {"extra": ["--program", "Pilates for cats"]}, ["Unknown program", "Pilates for cats"], id="unknown-program"
        ),
        pytest.param(
            {"extra": ["--phase-since", "2026-01-05"]}, ["--phase-since", "--program"], id="phase-since-without-program"
        ),
        pytest.param({"extra": ["--phase", "stabilization"]}, ["--phase", "--program"], id="phase-without-program"),
        pytest.param(
            {"extra": ["--program", "Core stabilization", "--phase", "maintenance"]},
            ["--phase", "maintenance"],
            id="bad-phase",
        ),
        pytest.param({"email": "not-an-email"}, ["email", "valid email"], id="malformed-email"),
    ],
)
def test_invite_patient_refuses_with_a_one_line_error_and_creates_nothing(
    world: Any,
    program: Program,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
    args: dict[str, Any],
    words: list[str],
) -> None:
    therapist = world.outsider.user.email if args.get("therapist") == "outsider" else args.get("therapist")
    email = world.patient.email.upper() if args.get("email") == "duplicate" else args.get("email")
    patients_before = Patient.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        error = command_error(
            "invite_patient",
            "--clinic",
            args.get("clinic", "Riverside"),
            "--therapist",
            therapist or world.therapist.user.email,
            "--email",
            email or "new.patient@example.test",
            "--first-name",
            "Nora",
            "--last-name",
            "Quinn",
            *args.get("extra", []),
        )

    assert_one_line_error(error, *words)
    assert Patient.objects.count() == patients_before
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_command_error_exits_non_zero_with_the_message_on_stderr(
    world: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # run_from_argv closes every connection on the way out, which would end the test's transaction.
    monkeypatch.setattr(base.connections, "close_all", lambda: None)
    command = load_command_class("patients", "invite_patient")
    argv = [
        "manage.py",
        "invite_patient",
        "--clinic",
        "Nowhere",
        "--therapist",
        "x@example.test",
        "--email",
        "n@example.test",
        "--first-name",
        "N",
        "--last-name",
        "Q",
    ]

    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(argv)

    assert exited.value.code == 1
    assert capsys.readouterr().err.strip() == "CommandError: Unknown clinic 'Nowhere'"


# --- seed_demo -------------------------------------------------------------------------------------


def seeded_counts() -> dict[str, int]:
    """Rows of every model of the project's apps, and of users and groups."""
    models = [User, Group]
    for label in ("patients", "programs", "assessments"):
        models.extend(apps.get_app_config(label).get_models())
    return {model._meta.label: model.objects.count() for model in models}


@pytest.mark.django_db
def test_seed_demo_is_idempotent() -> None:
    first_output = run("seed_demo")
    first = seeded_counts()
    second_output = run("seed_demo")

    assert seeded_counts() == first
    assert first_output == second_output
    assert first["patients.Clinic"] == 1
    assert first["patients.Therapist"] == 3
    assert first["patients.Patient"] == 7
    assert first["programs.Program"] == 3
    assert Enrollment.objects.filter(active=True).count() == 7
    assert f"jane.roe@demo.clinic / {DEMO_PASSWORD}" in first_output


@pytest.mark.django_db
def test_seed_demo_staff_can_log_into_the_admin(client: Any) -> None:
    run("seed_demo", "--quiet-logins")

    assert log_in(client, "jane.roe@demo.clinic", DEMO_PASSWORD).status_code == 302
    response = client.get("/admin/patients/patient/")
    assert response.status_code == 200
    assert {p.email for p in response.context["cl"].result_list} == {
        "maria.lopez@example.com",
        "tom.becker@example.com",
        "aisha.khan@example.com",
        "peter.novak@example.com",
    }


@pytest.mark.django_db
def test_seed_demo_is_refused_in_production(settings: Any) -> None:
    settings.PRODUCTION = True

    error = command_error("seed_demo")

    assert_one_line_error(error, "DJANGO_ENV=production")
    assert not Clinic.objects.exists()
    assert not User.objects.exists()
