"""Replay a ruleset over stored history without writing anything, to tune thresholds before enabling them."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from assessments import rules
from assessments.loader import active_params
from assessments.replay import replay_patients
from clinic.commands import get_clinic, parse_date
from patients.models import Patient

BATCH = 200


class Command(BaseCommand):
    help = (
        "Run the rules day by day over stored entries since a date and report the alerts they would raise, "
        "per rule and per patient. Writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="First day to evaluate, YYYY-MM-DD")
        parser.add_argument("--clinic", help="Only this clinic's patients")
        parser.add_argument("--params", help="JSON file of threshold overrides (default: the active ruleset)")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        since = parse_date(options["since"], "--since")
        assert since is not None
        if since > timezone.localdate():
            raise CommandError("--since cannot be in the future")
        version, params = active_params()
        label = f"active ruleset v{version}"
        if options["params"]:
            params = self._params(options["params"])
            label = f"thresholds from {options['params']}"
        patients = Patient.objects.active().order_by("pk")
        if options["clinic"]:
            patients = patients.filter(clinic=get_clinic(options["clinic"]))
        ids = list(patients.values_list("pk", flat=True))
        per_rule: Counter[str] = Counter()
        per_patient: dict[str, Counter[str]] = defaultdict(Counter)
        bar = tqdm(total=len(ids), unit="patient", disable=options["no_progress"], file=self.stderr._out)
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            for ref, keys in replay_patients(batch, since=since, params=params).items():
                for rule_id, _qualifier in keys:
                    per_rule[rule_id] += 1
                    per_patient[ref][rule_id] += 1
            bar.update(len(batch))
        bar.close()
        self._report(since, label, len(ids), per_rule, per_patient)

    def _params(self, path: str) -> rules.Params:
        try:
            data = json.loads(Path(path).read_text())
        except OSError as exc:
            raise CommandError(f"--params: cannot read {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params: {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, dict):
            raise CommandError("--params: the file must hold a JSON object of threshold overrides")
        try:
            return rules.Params.from_dict(data)
        except rules.InvalidParams as exc:
            raise CommandError(f"--params: {exc}") from None

    def _report(
        self, since: date, label: str, patients: int, per_rule: Counter[str], per_patient: dict[str, Counter[str]]
    ) -> None:
        out = self.stdout
        out.write(f"Replay since {since} over {patients} patient(s) with the {label}; nothing was written.")
        out.write(f"Alerts that would be raised: {sum(per_rule.values())}")
        out.write("")
        out.write("Per rule:")
        for rule_id in sorted(rules.RULES):
            info = rules.RULES[rule_id]
            out.write(f"  {rule_id} {info.slug:<26} {per_rule.get(rule_id, 0):>6}")
        out.write("")
        out.write("Per patient (caseload reference):")
        if not per_patient:
            out.write("  none")
        for ref in sorted(per_patient):
            counts = ", ".join(f"{rule} x{n}" for rule, n in sorted(per_patient[ref].items()))
            out.write(f"  {ref}: {counts}")
