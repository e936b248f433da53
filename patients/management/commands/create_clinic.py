from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.commands import one_line
from patients.services import clinic_create


class Command(BaseCommand):
    help = "Create a clinic with its IANA time zone."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", required=True, help="IANA name, e.g. Europe/London")
        parser.add_argument("--digest-hour", type=int, default=7, help="Local hour of the digest (0-23)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            clinic = clinic_create(
                name=options["name"], timezone_name=options["timezone"], digest_hour=options["digest_hour"]
            )
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None
        self.stdout.write(f"Created clinic {clinic.name!r} ({clinic.timezone}), id {clinic.pk}")
