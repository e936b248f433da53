"""docs/rules.md is generated from the rule catalog and the thresholds' definitions, and kept up to date."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.core.management import call_command

from assessments import rules
from assessments.management.commands.rules_doc import DEFAULT_PATH, render


def test_docs_rules_md_is_what_the_catalog_generates() -> None:
    assert DEFAULT_PATH.read_text() == render(), "docs/rules.md is out of date: run `manage.py rules_doc`"


def test_the_reference_lists_every_rule_criterion_and_threshold() -> None:
    text = render()
    for rule_id, info in rules.RULES.items():
        assert f"### {rule_id} `{info.slug}`: {info.title}" in text
        for code, criterion in info.criteria.items():
            assert f"- ({code}) {criterion}" in text
    for name in rules.DEFAULT_PARAMS.to_dict():
        assert f"| `{name}` |" in text


def test_the_command_writes_the_file_or_prints_it(tmp_path: Path) -> None:
    out = StringIO()
    call_command("rules_doc", "--output", "-", stdout=out)
    assert out.getvalue() == render()

    target = tmp_path / "rules.md"
    call_command("rules_doc", "--output", str(target), stdout=StringIO())
    assert target.read_text() == render()
