"""v2 Params: RULES.md v2 defaults, unit and help on every parameter, switches, validation naming the bad key."""

import json
from dataclasses import fields

import pytest

from assessments.rules import DEFAULT_PARAMS, SWITCHES, InvalidParams, Params, evaluate
from assessments.rules.v1 import ParamsV1

from .builders import criteria, ctx, pw


def test_v2_defaults_are_those_of_rules_md():
    p = Params()

    assert (p.baseline_sessions, p.baseline_weeklies, p.pre_transition_days, p.late_report_days) == (3, 2, 42, 7)
    assert (p.r01_stable_days, p.r02_fall_window_days, p.r02_fall_pain_rise) == (90, 7, 2)
    assert (p.r03_stiffer_count, p.r03_stiffer_of_last, p.r03_window_days, p.r03_mean_delta) == (2, 3, 14, 2)
    assert (p.r03_morning_duration_step, p.r03_morning_duration_times, p.r03_morning_duration_latest_min) == (
        1,
        2,
        "15_30",
    )
    assert (p.r03_block_days, p.r03_max_blocks, p.r03_blocks_compared, p.r03_creep_delta) == (7, 6, 3, 1.5)
    assert (p.r04_consecutive, p.r04_recurrence_days, p.r04_level_feature_min_back_pain) == (3, 28, 2)
    assert (p.r04_alternating_days, p.r04_window_days) == (14, 14)
    assert (p.r05_window_days, p.r05_level_once, p.r05_tension_level_once, p.r05_count, p.r05_of_last) == (
        28,
        5,
        7,
        2,
        4,
    )
    assert (p.r06_pain_delta, p.r06_during_max_threshold, p.r06_during_max_window_days) == (2, 6, 14)
    assert (p.r07_distinct_rules, p.r07_window_days) == (2, 14)
    assert (p.r08_psfs_drop, p.r08_psfs_consecutive, p.r08_psfs_best_of, p.r08_odi_points) == (2, 2, 2, 10)
    assert (p.r08_peg_rise, p.r08_peg_consecutive) == (2, 2)
    assert (p.r11_burst_quiet_minutes, p.r11_high_lookback_days) == (10, 14)
    assert (p.r12_window_days, p.r12_stretch_count, p.r12_stretch_of_last) == (14, 2, 3)
    assert (p.r12_rise_delta, p.r12_rise_sessions, p.r12_rise_level) == (2, 3, 4)
    assert (p.r12_alternating_reports, p.r12_alternating_days) == (3, 21)
    assert (p.r12_leg_pain_once, p.r12_leg_pain_delta, p.r12_leg_pain_min, p.r12_leg_pain_consecutive) == (5, 2, 3, 2)
    assert (p.readiness_pain_max, p.readiness_leg_pain_max, p.readiness_neural_days) == (3, 2, 14)
    assert (p.ruleset, p.ruleset_version) == ("core", 2)
    assert p == DEFAULT_PARAMS


def test_every_parameter_has_a_unit_and_a_one_sentence_help():
    for f in fields(Params):
        assert f.metadata["unit"], f.name
        assert f.metadata["help"].strip(), f.name
        assert len(f.metadata["help"]) < 120, f.name


def test_describe_is_json_serialisable_for_the_admin():
    described = Params.describe()

    assert json.loads(json.dumps(described)) == described
    assert described["r03_block_days"] == {
        "default": 7,
        "kind": "int",
        "lo": 1,
        "hi": 365,
        "unit": "days",
        "help": described["r03_block_days"]["help"],
    }
    assert described["r12_enabled"]["kind"] == "bool"


def test_rules_r03_to_r12_have_a_switch_and_the_red_flags_have_none():
    assert set(SWITCHES) == {"R-03", "R-04", "R-05", "R-06", "R-07", "R-08", "R-10", "R-11", "R-12"}
    names = {f.name for f in fields(Params)}
    assert {"r01_enabled", "r02_enabled"} & names == set()
    assert all(getattr(DEFAULT_PARAMS, name) is True for name in SWITCHES.values())
    assert DEFAULT_PARAMS.enabled("R-01")
    assert DEFAULT_PARAMS.enabled("R-02")


def test_a_switched_off_rule_never_fires():
    context = ctx(pw(2, stiffness_change="stiffer"), pw(0, stiffness_change="stiffer"))

    assert criteria(context, "R-03") == ("A",)
    assert criteria(context, "R-03", Params(r03_enabled=False)) == ()


def test_nothing_switches_off_or_lowers_the_red_flags():
    everything_off = Params.from_dict({name: False for name in SWITCHES.values()})
    context = ctx(pw(0, safety_screen=("bladder_change",)))

    [found] = evaluate(context, everything_off)

    assert (found.rule_id, found.severity) == ("R-01", "urgent")


def test_v1_names_that_keep_their_meaning_keep_their_name():
    v1_names = {f.name for f in fields(ParamsV1)}
    v2_names = {f.name for f in fields(Params)}

    assert v1_names - v2_names == {
        "relative_min_entries",
        "r06_relative_from_baseline",
        "r06_relative_fraction",
        "r08_odi_fraction",
    }


def test_to_dict_is_json_serialisable_and_round_trips():
    data = Params(r03_window_days=21, r12_enabled=False).to_dict()

    assert json.loads(json.dumps(data)) == data
    assert Params.from_dict(data) == Params(r03_window_days=21, r12_enabled=False)


def test_partial_dict_overlays_the_defaults():
    p = Params.from_dict({"r05_level_once": 6, "r03_creep_delta": 1})

    assert (p.r05_level_once, p.r03_creep_delta, p.r05_count) == (6, 1, 2)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"r03_window_dayz": 14}, "r03_window_dayz"),
        ({"r03_window_days": "14"}, "r03_window_days"),
        ({"r03_window_days": 14.0}, "r03_window_days"),
        ({"r03_window_days": True}, "r03_window_days"),
        ({"r03_window_days": 0}, "r03_window_days"),
        ({"r03_window_days": 1_000_000}, "r03_window_days"),
        ({"r03_creep_delta": 0}, "r03_creep_delta"),
        ({"r06_pain_delta": float("nan")}, "r06_pain_delta"),
        ({"r05_tension_level_once": 11}, "r05_tension_level_once"),
        ({"r03_morning_duration_latest_min": "45_min"}, "r03_morning_duration_latest_min"),
        ({"r12_enabled": 1}, "r12_enabled"),
        ({"r12_enabled": "false"}, "r12_enabled"),
        ({"r03_blocks_compared": 1}, "r03_blocks_compared"),
        ({"r03_blocks_compared": 5, "r03_max_blocks": 4}, "r03_blocks_compared"),
        ({"r12_stretch_count": 4}, "r12_stretch_count"),
        ({"r01_stable_days": 0}, "r01_stable_days"),
        ({"r02_fall_pain_rise": 11}, "r02_fall_pain_rise"),
        ({"r01_enabled": False}, "r01_enabled"),
    ],
)
def test_invalid_values_raise_naming_the_key(data, key):
    with pytest.raises(InvalidParams) as raised:
        Params.from_dict(data)

    assert raised.value.key == key
    assert str(raised.value).startswith(f"{key}: ")


def test_non_mapping_is_rejected():
    with pytest.raises(InvalidParams):
        Params.from_dict([("r03_window_days", 14)])  # type: ignore[arg-type]


def test_direct_construction_is_validated_too():
    with pytest.raises(InvalidParams, match="r04_window_days"):
        Params(r04_window_days=0)
