"""Replay a ruleset over stored history without writing anything, to tune thresholds or compare versions."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from assessments import rules
from assessments.loader import ActiveRuleset, active_params
from assessments.replay import Replayed, replay_patients
from clinic.commands import parse_date
from patients.commands import get_clinic
from patients.models import Clinic, Patient

BATCH = 200
_VERSION = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*):(?P<version>\d{1,3})$")


class Command(BaseCommand):
    help = (
        "Run the rules over stored entries since a date and report the alerts they would raise, per rule and "
        "per patient; with --compare, replay two ruleset versions and report per rule and per clinic the alerts "
        "added, removed and the same. Writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="First day to evaluate, YYYY-MM-DD")
        parser.add_argument("--clinic", help="Only this clinic's patients")
        parser.add_argument("--params", help="JSON file of threshold overrides (default: the active ruleset)")
        parser.add_argument(
            "--compare",
            nargs=2,
            metavar=("OLD", "NEW"),
            help="Two built-in versions to compare, e.g. core:1 core:2 (each with its defaults, or the stored "
            "overrides of that version)",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        since = parse_date(options["since"], "--since")
        assert since is not None
        if since > timezone.localdate():
            raise CommandError("--since cannot be in the future")
        if options["compare"] and options["params"]:
            raise CommandError("--params and --compare cannot be used together")
        patients = Patient.objects.active().order_by("pk")
        clinic = get_clinic(options["clinic"]) if options["clinic"] else None
        if clinic is not None:
            patients = patients.filter(clinic=clinic)
        ids = list(patients.values_list("pk", flat=True))
        if options["compare"]:
            old, new = (self._version(spec) for spec in options["compare"])
            results = self._replay(ids, since, [old, new], options["no_progress"])
            self._report_compare(since, len(ids), old, new, results[0], results[1])
            return
        active = active_params(clinic.pk if clinic is not None else None)  # the clinic's, or the built-in one
        label = f"active ruleset v{active.version}"
        if options["params"]:
            active = ActiveRuleset(active.version, active.engine, self._params(options["params"], active.version))
            label = f"ruleset v{active.version} with the thresholds from {options['params']}"
        (replayed,) = self._replay(ids, since, [active], options["no_progress"])
        self._report(since, label, len(ids), replayed, active.engine.catalog)

    def _version(self, spec: str) -> ActiveRuleset:
        match = _VERSION.match(spec)
        if match is None:
            raise CommandError(f"--compare: {spec!r} is not NAME:VERSION, e.g. core:2")
        name, version = match["name"], int(match["version"])
        if name != rules.RULESET or version not in rules.RULESETS:
            known = ", ".join(f"{rules.RULESET}:{v}" for v in sorted(rules.RULESETS))
            raise CommandError(f"--compare: no built-in ruleset {spec}; known: {known}")
        from assessments.models import RuleSet

        stored = (
            RuleSet.objects.filter(name=name, version=version, clinic__isnull=True)
            .values_list("params", flat=True)
            .first()
        )
        try:
            params = rules.params_for(version, stored or {})
        except rules.InvalidParams as exc:
            raise CommandError(f"--compare: the stored thresholds of {spec} are not valid: {exc}") from None
        return ActiveRuleset(version, rules.RULESETS[version], params)

    def _replay(self, ids: list[int], since: date, versions: list[ActiveRuleset], quiet: bool) -> list[list[Replayed]]:
        results: list[list[Replayed]] = [[] for _ in versions]
        bar = tqdm(total=len(ids) * len(versions), unit="patient", disable=quiet, file=self.stderr._out)
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            for i, active in enumerate(versions):
                results[i] += replay_patients(batch, since=since, active=active)
                bar.update(len(batch))
        bar.close()
        return results

    def _params(self, path: str, version: int) -> Any:
        try:
            data = json.loads(Path(path).read_text())
        except OSError as exc:
            raise CommandError(f"--params: cannot read {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params: {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, dict):
            raise CommandError("--params: the file must hold a JSON object of threshold overrides")
        try:
            return rules.params_for(version, data)
        except rules.InvalidParams as exc:
            raise CommandError(f"--params: {exc}") from None

    def _report(self, since: date, label: str, patients: int, results: list[Replayed], catalog: Any) -> None:
        out = self.stdout
        per_rule: Counter[str] = Counter()
        per_patient: dict[str, Counter[str]] = defaultdict(Counter)
        for result in results:
            for rule_id, _qualifier, _n in result.alerts:
                per_rule[rule_id] += 1
                per_patient[result.caseload_ref][rule_id] += 1
        out.write(f"Replay since {since} over {patients} patient(s) with the {label}; nothing was written.")
        out.write(f"Alerts that would be raised: {sum(per_rule.values())}")
        out.write("")
        out.write("Per rule:")
        for rule_id in sorted(catalog):
            out.write(f"  {rule_id} {catalog[rule_id].slug:<26} {per_rule.get(rule_id, 0):>6}")
        out.write("")
        out.write("Per patient (caseload reference):")
        if not per_patient:
            out.write("  none")
        for ref in sorted(per_patient):
            counts = ", ".join(f"{rule} x{n}" for rule, n in sorted(per_patient[ref].items()))
            out.write(f"  {ref}: {counts}")

    def _report_compare(
        self,
        since: date,
        patients: int,
        old: ActiveRuleset,
        new: ActiveRuleset,
        old_results: list[Replayed],
        new_results: list[Replayed],
    ) -> None:
        out = self.stdout
        a, b = f"core:{old.version}", f"core:{new.version}"
        out.write(f"Replay since {since} over {patients} patient(s): {a} against {b}; nothing was written.")
        old_keys, new_keys = _keyed(old_results), _keyed(new_results)
        clinics = dict(Clinic.objects.filter(pk__in={r.clinic_id for r in old_results}).values_list("pk", "name"))
        out.write(f"Alerts: {len(old_keys)} under {a}, {len(new_keys)} under {b}")
        added, removed, same = len(new_keys - old_keys), len(old_keys - new_keys), len(old_keys & new_keys)
        out.write(f"  added {added}, removed {removed}, the same {same}")
        catalog = {**old.engine.catalog, **new.engine.catalog}
        for clinic_id in sorted(clinics, key=lambda pk: clinics[pk]):
            out.write("")
            out.write(f"Clinic {clinics[clinic_id]}:")
            out.write(f"  {'rule':<34} {a:>7} {b:>7} {'added':>7} {'removed':>7} {'same':>7}")
            mine_old = {k for k in old_keys if k[0] == clinic_id}
            mine_new = {k for k in new_keys if k[0] == clinic_id}
            for rule_id in sorted(catalog):
                o = {k for k in mine_old if k[2] == rule_id}
                n = {k for k in mine_new if k[2] == rule_id}
                label = f"{rule_id} {catalog[rule_id].slug}"
                out.write(f"  {label:<34} {len(o):>7} {len(n):>7} {len(n - o):>7} {len(o - n):>7} {len(o & n):>7}")


def _keyed(results: Iterable[Replayed]) -> set[tuple[int, int, str, str, int]]:
    """Every alert as (clinic, patient, rule, qualifier, occurrence): the identity compared across versions."""
    return {(r.clinic_id, r.patient_id, *key) for r in results for key in r.alerts}
