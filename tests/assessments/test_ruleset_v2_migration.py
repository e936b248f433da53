"""Migration 0003: ruleset core v2 becomes active on existing installs; v1's alerts and overrides are kept."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from assessments import rules
from assessments.loader import active_params
from assessments.models import RuleSet
from tests.factories import ClinicFactory

BEFORE = [("assessments", "0002_redflagreport_safetyscreenreview_and_more")]
AFTER = [("assessments", "0003_core_v2")]


def test_a_new_install_starts_on_v2(db: None) -> None:
    active = active_params()
    assert RuleSet.objects.get(is_active=True).version == 2
    assert active.version == rules.LATEST_VERSION == 2
    assert active.params == rules.DEFAULT_PARAMS


@pytest.mark.django_db(transaction=True)
def test_an_existing_v1_install_moves_to_v2_keeping_alerts_and_the_overrides_v2_still_has(capsys: Any) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    OldRuleSet = old_apps.get_model("assessments", "RuleSet")
    OldRuleSet.objects.all().delete()
    OldRuleSet.objects.create(
        name="core", version=1, is_active=True, params={"r03_window_days": 10, "r08_odi_fraction": 0.25}
    )
    OldRuleSet.objects.create(name="core", version=2, is_active=False, params={"r05_count": 3})

    clinic = ClinicFactory()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # and on: 0005 gives each clinic its own thresholds

    printed = capsys.readouterr().out
    built_in = RuleSet.objects.get(is_active=True, clinic__isnull=True)
    assert (built_in.name, built_in.version, built_in.params) == ("core", 2, {})
    active = RuleSet.objects.get(is_active=True, clinic=clinic)
    assert (active.name, active.version) == ("core", 2)
    assert active.params == {"r03_window_days": 10}
    assert "not carried over to v2: r08_odi_fraction=0.25" in printed
    assert RuleSet.objects.get(name="core", version=1, clinic__isnull=True).is_active is False
    assert RuleSet.objects.get(name="core-v1", version=2).params == {"r05_count": 3}
    assert "renamed to core-v1 v2" in printed
    assert active_params(clinic.pk).params.r03_window_days == 10
    assert active_params().params.r03_window_days == rules.DEFAULT_PARAMS.r03_window_days


def test_v1_overrides_v2_refuses_are_named_with_the_reason() -> None:
    from importlib import import_module

    migration = import_module("assessments.migrations.0003_core_v2")

    kept, dropped = migration.carry_over({"r03_window_days": 10, "no_such_threshold": 1, "r05_count": 99})

    assert kept == {"r03_window_days": 10}
    assert dropped[0] == "no_such_threshold=1: no such threshold in v2"
    assert dropped[1].startswith("r05_count=99: r05_count")


def test_v1_overrides_valid_only_together_are_carried_over_together() -> None:
    from importlib import import_module

    migration = import_module("assessments.migrations.0003_core_v2")
    overrides = {"r03_stiffer_count": 4, "r03_stiffer_of_last": 5, "r05_count": 5, "r05_of_last": 6}

    assert migration.carry_over(overrides) == (overrides, [])
