"""Load the demo clinic: staff, programs, patients in both phases. Safe to run again (idempotent)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from assessments.demo import history_create
from patients.models import Clinic, Patient, Therapist
from patients.services import therapist_create
from programs.builtin import ensure_built_in_programs
from programs.models import Enrollment, Exercise, Phase, PhaseTransition, Program
from programs.services import default_program, enrollment_start

User = get_user_model()

DEMO_CLINIC = "Riverside Back Clinic"
DEMO_PASSWORD = "demo-clinic-2026"  # demo data only: refused in production

STAFF = [
    # email, display name, clinic administrator
    ("admin@demo.clinic", "Alex Admin, PT", True),
    ("jane.roe@demo.clinic", "Jane Roe, PT, DPT", False),
    ("sam.lee@demo.clinic", "Sam Lee, PT", False),
]

# The programs are the built-in ones (programs/migrations/0003_program_follows_phase.py), one default per phase.
# first, last, email, therapist email, program, phase, days in phase, history pattern (assessments.demo)
PATIENTS = [
    ("Maria", "Lopez", "maria.lopez@example.com", "jane.roe@demo.clinic", "Core stabilization", "stabilization", 26,
     "stiffening"),
    ("Tom", "Becker", "tom.becker@example.com", "jane.roe@demo.clinic", "Core stabilization", "stabilization", 28,
     "thigh_neural"),
    ("Aisha", "Khan", "aisha.khan@example.com", "jane.roe@demo.clinic", "Core stabilization", "stabilization", 24,
     "neck_strain"),
    ("Peter", "Novak", "peter.novak@example.com", "jane.roe@demo.clinic", "Back pain treatment", "treatment", 30,
     "quiet"),
    ("Lena", "Schulz", "lena.schulz@example.com", "sam.lee@demo.clinic", "Core stabilization", "stabilization", 25,
     "pain_returning"),
    ("Omar", "Haddad", "omar.haddad@example.com", "sam.lee@demo.clinic", "Back pain treatment", "treatment", 27,
     "red_flag"),
    ("Grace", "Obi", "grace.obi@example.com", "sam.lee@demo.clinic", "Core stabilization", "stabilization", 35,
     "soreness"),
]  # fmt: skip


class Command(BaseCommand):
    help = "Load the demo clinic (idempotent): staff, programs and patients."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo loads demo logins with a known password: refused when DJANGO_ENV=production")
        with transaction.atomic():
            clinic = self._clinic()
            staff = {email: self._staff(clinic, email, name, admin) for email, name, admin in STAFF}
            ensure_built_in_programs(Program, Exercise)
            programs = {p.name: p for p in Program.objects.filter(is_default=True, clinic__isnull=True)}
            for first, last, email, therapist_email, program, phase, days, pattern in PATIENTS:
                patient = self._patient(
                    clinic, staff[therapist_email], first, last, email, programs[program], phase, days
                )
                enrollment = Enrollment.objects.get(patient=patient, active=True)
                history_create(patient=patient, enrollment=enrollment, pattern=pattern)
        if not options["quiet_logins"]:
            self.stdout.write(self.logins())

    @staticmethod
    def logins() -> str:
        lines = [
            f"Admin: {settings.SITE_URL}/admin/",
            f"  clinic administrator  admin@demo.clinic / {DEMO_PASSWORD}",
            f"  therapist             jane.roe@demo.clinic / {DEMO_PASSWORD}",
            f"  therapist             sam.lee@demo.clinic / {DEMO_PASSWORD}",
            f"Portal API: {settings.SITE_URL}/api/v1/docs/ (patients log in with email and password)",
            *(f"  patient ({pattern:<14}) {email} / {DEMO_PASSWORD}" for _, _, email, *_, pattern in PATIENTS),
        ]
        return "\n".join(lines)

    def _clinic(self) -> Clinic:
        clinic, _ = Clinic.objects.get_or_create(
            name=DEMO_CLINIC, defaults={"timezone": "Europe/London", "digest_hour": 7, "digest_weekdays": "0123456"}
        )
        return clinic

    def _staff(self, clinic: Clinic, email: str, name: str, is_admin: bool) -> Therapist:
        existing = Therapist.objects.filter(user__email=email).first()
        if existing is not None:
            return existing
        return therapist_create(
            clinic=clinic, email=email, display_name=name, password=DEMO_PASSWORD, is_clinic_admin=is_admin
        )

    def _patient(
        self,
        clinic: Clinic,
        therapist: Therapist,
        first: str,
        last: str,
        email: str,
        program: Program,
        phase: str,
        days: int,
    ) -> Patient:
        patient = Patient.objects.filter(clinic=clinic, email=email).first()
        if patient is None:
            patient = Patient(
                clinic=clinic,
                therapist=therapist,
                first_name=first,
                last_name=last,
                email=email,
                birth_date=date(1980, 1, 1) + timedelta(days=len(email) * 300),
            )
            patient.full_clean()
            patient.save()
        if patient.user_id is None:
            user = User(username=email, email=email, first_name=first, last_name=last)
            user.set_password(DEMO_PASSWORD)
            user.save()
            patient.user = user
            patient.save(update_fields=["user"])
        if not Enrollment.objects.filter(patient=patient, active=True).exists():
            today = timezone.localdate(timezone=clinic.tz)
            since = today - timedelta(days=days)
            enrollment = enrollment_start(
                Enrollment(
                    patient=patient,
                    program=program,
                    phase=phase,
                    phase_since=since,
                    started_on=since - timedelta(days=42),
                    post_workouts_per_week=program.post_workouts_per_week,
                    weekly_checkin_weekday=program.weekly_checkin_weekday,
                )
            )
            if phase == Phase.STABILIZATION:
                # The recorded move into stabilization, as a therapist would have made it.
                PhaseTransition.objects.create(
                    enrollment=enrollment,
                    from_phase=Phase.TREATMENT,
                    to_phase=Phase.STABILIZATION,
                    from_program=default_program(Phase.TREATMENT, clinic.pk),
                    to_program=program,
                    effective_date=since,
                    by=therapist.user,
                    reason="Pain settled, neurological screen clear, good motor control.",
                    irritability_low=True,
                    neuro_screen_clear=True,
                    motor_control_ok=True,
                )
        return patient
