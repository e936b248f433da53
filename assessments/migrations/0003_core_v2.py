"""Ruleset core v2 becomes the active built-in version; weekly entries get their PEG and PSFS scores.

Alerts raised under v1 keep their version and thresholds (nothing here touches them). The overrides of the
active v1 thresholds carry over when v2 still has a parameter of that name and accepts the value; the others
are printed, so the operator sees which thresholds need a new look.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import migrations

NOTES = "Built-in ruleset core v2 (RULES.md, December 2026). Created by migration 0003."


def _mean(*items: int | None) -> Decimal | None:
    if any(i is None for i in items):
        return None
    return (Decimal(sum(items)) / 3).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)  # type: ignore[arg-type]


def scores_forwards(apps: Any, schema_editor: Any) -> None:
    Entry = apps.get_model("assessments", "Entry")
    for entry in Entry.objects.filter(kind="weekly", peg_score__isnull=True).iterator(chunk_size=500):
        entry.peg_score = _mean(entry.peg_pain, entry.peg_enjoyment, entry.peg_activity)
        entry.psfs_score = _mean(entry.psfs_1, entry.psfs_2, entry.psfs_3)
        entry.save(update_fields=["peg_score", "psfs_score"])


def carry_over(overrides: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The v1 overrides that v2 accepts, and a line for each one it does not."""
    from dataclasses import fields

    from assessments.rules.versions import RULESETS

    params_class = RULESETS[2].params_class
    names = {f.name for f in fields(params_class)}
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    known = {k: v for k, v in overrides.items() if k in names}
    try:  # together first: pairs such as (count, of_last) are only valid together
        params_class.from_dict(known)
        return known, [f"{k}={v!r}: no such threshold in v2" for k, v in sorted(overrides.items()) if k not in names]
    except ValueError:
        pass
    for key, value in sorted(overrides.items()):
        if key not in names:
            dropped.append(f"{key}={value!r}: no such threshold in v2")
            continue
        try:
            params_class.from_dict({**kept, key: value})
        except ValueError as exc:
            dropped.append(f"{key}={value!r}: {exc}")
            continue
        kept[key] = value
    return kept, dropped


def ruleset_forwards(apps: Any, schema_editor: Any) -> None:
    RuleSet = apps.get_model("assessments", "RuleSet")
    if RuleSet.objects.filter(name="core", version=2, notes=NOTES).exists():
        return
    active = RuleSet.objects.filter(name="core", is_active=True).first()
    overrides = dict(active.params) if active is not None and isinstance(active.params, dict) else {}
    kept, dropped = carry_over(overrides)
    # Versions used to be numbered freely by administrators: any such row keeps its thresholds under v1's name.
    for row in RuleSet.objects.filter(name="core", version__gte=2):
        row.name = "core-v1"
        row.is_active = False
        row.save(update_fields=["name", "is_active"])
        print(f"  ruleset core v{row.version} (v1 thresholds) renamed to core-v1 v{row.version}")
    RuleSet.objects.filter(name="core", is_active=True).update(is_active=False)
    RuleSet.objects.create(name="core", version=2, params=kept, is_active=True, notes=NOTES)
    if overrides:
        print(f"  ruleset core v2 is active; {len(kept)} v1 threshold override(s) carried over")
    for line in dropped:
        print(f"  not carried over to v2: {line}")


class Migration(migrations.Migration):
    dependencies = [("assessments", "0002_redflagreport_safetyscreenreview_and_more")]

    operations = [
        migrations.RunPython(scores_forwards, migrations.RunPython.noop),
        migrations.RunPython(ruleset_forwards, migrations.RunPython.noop),
    ]
