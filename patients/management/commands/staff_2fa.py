from __future__ import annotations

import io
from typing import Any

import qrcode
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.commands import one_line
from patients.services import User, staff_two_factor_setup


class Command(BaseCommand):
    help = (
        "Set up two-factor sign-in for a staff member: a new authenticator key (shown as a QR code and as text) "
        "and 10 one-time recovery codes, printed once. Earlier keys and codes stop working."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The staff member's email")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"].strip(), is_staff=True).first()
        if user is None:
            raise CommandError(f"No staff account uses {options['email']!r}.")
        try:
            setup = staff_two_factor_setup(user=user)
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None
        code = qrcode.QRCode(border=1)
        code.add_data(setup.config_url)
        self.stdout.write(f"Two-factor sign-in for {user.email}: scan this with an authenticator app")
        picture = io.StringIO()  # Django's stdout wrapper ends every write with a newline: print whole lines
        code.print_ascii(out=picture, invert=True)
        self.stdout.write(picture.getvalue(), ending="")
        self.stdout.write(f"or enter the key by hand: {setup.secret}")
        self.stdout.write(f"({setup.config_url})")
        self.stdout.write("Recovery codes (each works once; keep them apart from the phone):")
        for recovery in setup.recovery_codes:
            self.stdout.write(f"  {recovery}")
