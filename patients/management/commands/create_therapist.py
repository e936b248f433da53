from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.commands import one_line
from patients.commands import get_clinic
from patients.services import generate_password, therapist_create


class Command(BaseCommand):
    help = "Create a therapist (a staff user in the Therapists group) in a clinic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", required=True, help="Clinic name")
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True, help='Display name with credentials, e.g. "Jane Roe, PT, DPT"')
        parser.add_argument("--password", help="Generated and printed once when omitted")
        parser.add_argument("--clinic-admin", action="store_true", help="Also a clinic administrator")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = get_clinic(options["clinic"])
        password = options["password"] or generate_password()
        try:
            therapist = therapist_create(
                clinic=clinic,
                email=options["email"],
                display_name=options["name"],
                password=password,
                is_clinic_admin=options["clinic_admin"],
            )
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None
        self.stdout.write(f"Created therapist {therapist.display_name} <{therapist.user.email}> in {clinic.name}")
        if not options["password"]:
            self.stdout.write(f"Password (shown once): {password}")
