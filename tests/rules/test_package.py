"""The package as a whole: standard library only, short functions, the public names, the version registry."""

import ast
import sys
from pathlib import Path

import pytest

from assessments import rules
from assessments.rules import v1

from .builders import ctx, pw, wk

PACKAGE = Path(__file__).resolve().parents[2] / "assessments" / "rules"
MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_package_and_its_subpackages_import_only_the_standard_library():
    assert PACKAGE / "v1" / "engine.py" in MODULES
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in sys.stdlib_module_names | {"__future__"}, (path.name, name)


def test_every_function_is_under_sixty_lines():
    long = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length >= 60:
                    long.append((str(path.relative_to(PACKAGE)), node.name, length))
    assert long == []


def test_the_public_names_point_at_v2():
    assert (rules.RULESET, rules.RULESET_VERSION, rules.LATEST_VERSION) == ("core", 2, 2)
    assert rules.Params is rules.RULESETS[2].params_class
    assert rules.RULESETS[2].default_params == rules.DEFAULT_PARAMS
    assert rules.evaluate is rules.RULESETS[2].evaluate
    assert rules.RULES is rules.RULESETS[2].catalog
    assert sorted(rules.RULES) == [f"R-{n:02d}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12)]
    for rule_id, info in rules.RULES.items():
        assert (info.rule_id, rules.CRITERIA[rule_id]) == (rule_id, info.criteria)
        assert info.slug
        assert info.title
        assert info.severity in ("urgent", "high", "routine")
        assert info.action.startswith("Consider")
        assert "the patient has" not in (info.rationale + info.action).lower()
    for name in rules.__all__:
        assert hasattr(rules, name), name


def test_r12_qualifier_titles_come_from_the_catalog():
    info = rules.RULES["R-12"]

    assert info.slug == "bilateral_leg_symptoms"
    assert info.title_for("weekly_leg_pain") == "Leg pain rising"
    assert set(info.qualifier_titles) == {"both", "alternating", "weekly_leg_pain"}


def test_v1_keeps_its_own_catalog_engine_and_params():
    one = rules.RULESETS[1]

    assert one.version == 1
    assert one.params_class is v1.ParamsV1
    assert v1.RULES["R-06"].title == one.catalog["R-06"].title
    assert one.catalog["R-06"].action == "Consider regressing load."
    assert one.catalog["R-03"].criteria is v1.CRITERIA["R-03"]
    assert "R-12" not in one.catalog
    assert one.default_params.ruleset_version == 1
    assert "r08_odi_fraction" in one.default_params.to_dict()


def test_both_versions_evaluate_the_same_context_for_a_comparison():
    context = ctx(pw(4, stiffness_change="stiffer"), pw(2), pw(0, stiffness_change="stiffer"), wk(1))

    old = rules.RULESETS[1].evaluate(context, rules.RULESETS[1].default_params, only={"R-03"})
    new = rules.RULESETS[2].evaluate(context, rules.RULESETS[2].default_params, only={"R-03"})

    assert [(f.rule_id, f.ruleset_version) for f in old] == [("R-03", 1)]
    assert [(f.rule_id, f.ruleset_version) for f in new] == [("R-03", 2)]
    assert [f.rule_id for f in rules.RULESETS[1].evaluate_red_flags(context)] == []


def test_params_for_overlays_a_version_s_overrides():
    assert rules.params_for(2, {"r05_window_days": 21}).r05_window_days == 21
    assert rules.params_for(1, {"r08_odi_fraction": 0}).r08_odi_fraction == 0
    assert rules.params_for(2, None) == rules.DEFAULT_PARAMS


@pytest.mark.parametrize(
    ("version", "data", "key"),
    [
        (2, {"r08_odi_fraction": 0.3}, "r08_odi_fraction"),
        (2, {"r06_relative_fraction": 0.3}, "r06_relative_fraction"),
        (1, {"r12_enabled": False}, "r12_enabled"),
        (3, {}, "(version)"),
    ],
)
def test_params_for_refuses_what_a_version_does_not_know(version, data, key):
    with pytest.raises(rules.InvalidParams) as raised:
        rules.params_for(version, data)

    assert raised.value.key == key


def test_v1_params_errors_are_the_shared_invalid_params():
    with pytest.raises(rules.InvalidParams):
        v1.ParamsV1.from_dict({"r03_window_days": 0})
