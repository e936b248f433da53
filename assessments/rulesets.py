"""Use cases of the rulesets: a clinic's copy of a version, its dry run against the active ruleset, activation.

The admin (``assessments/admin_rulesets.py``) calls these; nothing here knows about requests.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from assessments import rules
from assessments.loader import ClinicRulesets, judged_with
from assessments.models import RuleSet
from assessments.replay import replay_patients
from patients.models import Patient

DRY_RUN_DAYS = 90


@dataclass(frozen=True)
class RuleChange:
    rule_id: str
    title: str
    added: int
    removed: int


def dry_run(ruleset: RuleSet, *, days: int = DRY_RUN_DAYS) -> tuple[RuleSet | None, list[RuleChange], int]:
    """The alerts the clinic's active patients would have had over the last ``days`` days under ``ruleset``,
    against its active ruleset: per rule, how many added and removed. Nothing is written."""
    assert ruleset.clinic_id is not None
    active = ClinicRulesets().of(ruleset.clinic_id)
    current = RuleSet.objects.filter(pk=active.ruleset_id).first() if active.ruleset_id else None
    ids = list(Patient.objects.active().filter(clinic_id=ruleset.clinic_id).values_list("pk", flat=True))
    clinic = ruleset.clinic
    assert clinic is not None
    since = timezone.localdate(timezone=clinic.tz) - timedelta(days=days)
    before = {r.patient_id: r.alerts for r in replay_patients(ids, since=since, active=active)}
    after = {r.patient_id: r.alerts for r in replay_patients(ids, since=since, active=judged_with(ruleset))}
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    for patient_id in ids:
        old, new = before.get(patient_id, set()), after.get(patient_id, set())
        added.update(key[0] for key in new - old)
        removed.update(key[0] for key in old - new)
    catalog = {**rules.RULESETS[active.version].catalog, **rules.RULESETS[ruleset.version].catalog}
    changes = [
        RuleChange(rule_id, catalog[rule_id].title if rule_id in catalog else rule_id, added[rule_id], removed[rule_id])
        for rule_id in sorted(set(added) | set(removed))
    ]
    return current, changes, len(ids)


def ruleset_activate(*, ruleset: RuleSet) -> RuleSet:
    """Make the clinic's copy its active ruleset (the one active before is deactivated); audited."""
    if ruleset.clinic_id is None:
        raise ValidationError("A built-in version is not activated per clinic: copy it for your clinic first.")
    with transaction.atomic():
        for previous in RuleSet.objects.select_for_update().filter(
            clinic_id=ruleset.clinic_id, name=ruleset.name, is_active=True
        ):
            previous.is_active = False
            previous.save(update_fields=["is_active"])  # .save(), not .update(): the audit log records it
        ruleset.is_active = True
        ruleset.save(update_fields=["is_active"])
    return ruleset


def ruleset_copy(*, ruleset: RuleSet, clinic_id: int) -> RuleSet:
    """The clinic's own, inactive copy of a version and its thresholds, to edit and then activate."""
    return RuleSet.objects.create(
        clinic_id=clinic_id,
        name=ruleset.name,
        version=ruleset.version,
        params=dict(ruleset.params or {}),
        is_active=False,
        notes=f"Copied from {ruleset}.",
    )
