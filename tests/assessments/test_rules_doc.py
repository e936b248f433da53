"""docs/rules.md is generated from the rule catalog, the thresholds and the questionnaires, and kept up to date."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from assessments import questionnaires as q
from assessments import rules
from assessments.management.commands.rules_doc import DEFAULT_PATH, render, render_question


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


def _section(text: str, kind: str) -> str:
    """The part of the reference about one questionnaire: from its heading to the next questionnaire's."""
    start = text.index(f"(`{kind}`)\n")
    following = [text.index(f"(`{k}`)\n") for k in q.KINDS if text.index(f"(`{k}`)\n") > start]
    return text[start : min(following, default=len(text))]


@pytest.mark.parametrize("kind", q.KINDS)
def test_the_reference_lists_every_question_with_every_part_of_its_definition(kind: str) -> None:
    section = _section(render(), kind)
    for f in q.fields_of(kind):
        question = "\n".join(render_question(f))
        assert question in section, f"{kind}.{f.name} is missing"
        assert f"#### `{f.name}`: {f.label}\n" in question
        assert f"> {f.wording}\n" in question
        for choice in f.choices:
            assert f"  - `{choice.code}`: {choice.label}\n" in question
        if f.type == q.INT:
            assert f"- Range: {f.min_value} to {f.max_value}." in question
        if f.type == q.TEXT:
            assert f"at most {f.max_length} characters" in question
        if f.applies_when is not None:
            assert f"- Applies when {f.applies_when.text} (`{f.applies_when.field}`: " in question
            assert all(f"`{value}`" in question for value in f.applies_when.values)
            assert "required then, absent or null otherwise" in question
        elif f.required:
            assert "- Applies always. Required." in question
        else:
            assert "- Applies always. Optional" in question
        if f.subset_of is not None:
            assert f"must also be listed in `{f.subset_of}`" in question


def test_the_types_read_as_words() -> None:
    words = {f.type: "\n".join(render_question(f)) for kind in q.KINDS for f in q.fields_of(kind)}
    assert "- Type: whole number." in words[q.INT]
    assert "- Type: one of the choices." in words[q.CHOICE]
    assert "- Type: yes or no" in words[q.BOOL]
    assert "- Type: list of choices" in words[q.LIST]
    assert "- Type: free text." in words[q.TEXT]


def test_the_red_flag_items_carry_the_urgent_advice_the_patient_gets() -> None:
    text = render()
    post_workout, weekly = _section(text, q.POST_WORKOUT), _section(text, q.WEEKLY)
    screen = ", ".join(f"`{code}`" for code in q.SAFETY_SCREEN)
    systemic = ", ".join(f"`{code}`" for code in q.SYSTEMIC_FLAGS)
    r01 = f"- `safety_screen` (R-01, urgent): {screen}. Advice: {rules.R01_PATIENT_ADVICE}"
    r02 = f"- `systemic_flags` (R-02, urgent): {systemic}. Advice: {rules.R02_PATIENT_ADVICE}"
    assert r01 in post_workout
    assert r02 not in post_workout  # the post-workout report does not ask about systemic flags
    assert r01 in weekly
    assert r02 in weekly
    assert rules.R01_STABLE_PATIENT_ADVICE in text
    # the advice is what the submit response really says
    advice = rules.red_flag_advice(["saddle_numbness"], ["fever_or_unwell"])
    assert [(a.rule_id, a.level, a.message) for a in advice] == [
        ("R-01", "urgent", rules.R01_PATIENT_ADVICE),
        ("R-02", "urgent", rules.R02_PATIENT_ADVICE),
    ]


def test_the_derived_scores_are_listed() -> None:
    weekly = _section(render(), q.WEEKLY)
    for score in q.scores_of(q.WEEKLY):
        assert f"Derived score `{score.key}` ({score.label}): the mean of " in weekly
        assert all(f"`{item}`" in weekly for item in score.items)


def test_the_command_writes_the_file_or_prints_it(tmp_path: Path) -> None:
    out = StringIO()
    call_command("rules_doc", "--output", "-", stdout=out)
    assert out.getvalue() == render()

    target = tmp_path / "rules.md"
    call_command("rules_doc", "--output", str(target), stdout=StringIO())
    assert target.read_text() == render()
