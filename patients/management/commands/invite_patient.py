from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.commands import one_line, parse_date
from patients.commands import get_clinic, get_therapist
from patients.services import patient_invite
from programs.models import Phase, Program


class Command(BaseCommand):
    help = "Create a patient (and enrollment) and email a single-use portal invitation, valid 7 days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", required=True)
        parser.add_argument("--therapist", required=True, help="The assigned therapist's email")
        parser.add_argument("--email", required=True)
        parser.add_argument("--first-name", required=True)
        parser.add_argument("--last-name", required=True)
        parser.add_argument("--birth-date", help="YYYY-MM-DD")
        parser.add_argument("--program", help="Program name; enrolls the patient")
        parser.add_argument("--phase", default=Phase.TREATMENT, choices=[Phase.TREATMENT, Phase.STABILIZATION])
        parser.add_argument("--phase-since", help="YYYY-MM-DD, may be in the past")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = get_clinic(options["clinic"])
        therapist = get_therapist(options["therapist"], clinic)
        birth_date = parse_date(options["birth_date"], "--birth-date")
        phase_since = parse_date(options["phase_since"], "--phase-since")
        program = None
        if options["program"]:
            program = Program.objects.filter(name__iexact=options["program"].strip()).first()
            if program is None:
                raise CommandError(f"Unknown program {options['program']!r}")
        elif options["phase_since"]:
            raise CommandError("--phase-since needs --program")
        elif options["phase"] != Phase.TREATMENT:
            raise CommandError("--phase needs --program")
        try:
            patient, issued = patient_invite(
                clinic=clinic,
                therapist=therapist,
                email=options["email"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                birth_date=birth_date,
                program=program,
                phase=options["phase"],
                phase_since=phase_since,
            )
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None
        self.stdout.write(f"Invited patient {patient.caseload_ref} <{patient.email}> in {clinic.name}")
        self.stdout.write(f"Activation link (single use, expires {issued.invitation.expires_at:%Y-%m-%d %H:%M} UTC):")
        self.stdout.write(issued.activation_link)
