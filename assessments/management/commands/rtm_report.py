"""The monthly remote-monitoring report of one clinic, as CSV (assessments/monitoring.py says what it counts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.monitoring import monitoring_csv, monitoring_report, month_bounds
from patients.commands import get_clinic


class Command(BaseCommand):
    help = (
        "Remote-monitoring report of a clinic for a calendar month: per patient, the days with self-reports per "
        "30-day period and their tier (2-15, 16 or more), and the month's management minutes and their tier "
        "(10 or more, 20 or more). CSV on standard output, or in --output."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", required=True, help="The clinic's id or name")
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--output", help="Write the CSV to this file (UTF-8 with a byte-order mark)")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = get_clinic(options["clinic"])
        try:
            month_bounds(options["month"])
        except ValueError:
            raise CommandError(f"--month must be a month as YYYY-MM, not {options['month']!r}") from None
        rows = monitoring_report(clinic=clinic, month=options["month"])
        text = monitoring_csv(rows)
        if options["output"]:
            try:
                Path(options["output"]).write_text(text, encoding="utf-8-sig", newline="")
            except OSError as exc:
                raise CommandError(f"Cannot write {options['output']}: {exc.strerror or exc}") from None
            self.stderr.write(f"Wrote {len(rows)} row(s) for {clinic.name}, {options['month']}, to {options['output']}")
        else:
            self.stdout.write(text, ending="")
