"""Params: RULES.md defaults, JSON round trip, validation naming the bad key."""

import json

import pytest

from assessments.rules.paramspec import InvalidParams
from assessments.rules.v1 import DEFAULT_PARAMS, Params

from .builders import criteria, ctx, pw


def test_defaults_are_those_of_rules_md():
    p = Params()

    assert (p.r03_stiffer_count, p.r03_stiffer_of_last, p.r03_window_days, p.r03_mean_delta) == (2, 3, 14, 2)
    assert (p.r03_restricted_count, p.r03_restricted_window_days) == (2, 7)
    assert (p.r04_single_entry_features, p.r04_repeat_count, p.r04_repeat_of_last, p.r04_window_days) == (2, 2, 3, 14)
    assert (p.r05_count, p.r05_of_last, p.r05_window_days, p.r05_level_once) == (2, 4, 14, 5)
    assert (p.r06_pain_delta, p.r06_relative_from_baseline, p.r06_relative_fraction) == (2, 4, 0.3)
    assert (p.r06_during_max_threshold, p.r06_global_change_max, p.r06_progression_window_days) == (6, -2, 42)
    assert (p.r07_distinct_rules, p.r07_window_days) == (2, 14)
    assert (p.r08_psfs_drop, p.r08_odi_points, p.r08_odi_fraction) == (2, 10, 0.3)
    assert (p.r10_min_duration, p.r10_count, p.r10_of_last) == ("30_60", 3, 4)
    assert (p.r11_no_session_days, p.r11_low_exercise_days, p.r11_weekly_cadence_days, p.r11_weeklies_missed) == (
        7,
        2,
        7,
        2,
    )
    assert (p.ruleset, p.ruleset_version) == ("core", 1)
    assert p == DEFAULT_PARAMS


def test_to_dict_is_json_serialisable_and_round_trips():
    data = Params(r03_window_days=21).to_dict()

    assert json.loads(json.dumps(data)) == data
    assert Params.from_dict(data) == Params(r03_window_days=21)


def test_partial_dict_overlays_the_defaults():
    p = Params.from_dict({"r05_level_once": 6, "r06_relative_fraction": 0.25})

    assert (p.r05_level_once, p.r06_relative_fraction, p.r05_count) == (6, 0.25, 2)


def test_empty_dict_gives_the_defaults():
    assert Params.from_dict({}) == DEFAULT_PARAMS


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"r03_window_dayz": 14}, "r03_window_dayz"),
        ({"r03_window_days": "14"}, "r03_window_days"),
        ({"r03_window_days": 14.0}, "r03_window_days"),
        ({"r03_window_days": True}, "r03_window_days"),
        ({"r03_window_days": None}, "r03_window_days"),
        ({"r03_window_days": 0}, "r03_window_days"),
        ({"r07_window_days": -1}, "r07_window_days"),
        ({"r03_mean_delta": 0}, "r03_mean_delta"),
        ({"r03_mean_delta": -2}, "r03_mean_delta"),
        ({"r06_pain_delta": float("nan")}, "r06_pain_delta"),
        ({"r08_odi_points": float("inf")}, "r08_odi_points"),
        ({"r06_relative_fraction": -0.1}, "r06_relative_fraction"),
        ({"r05_level_once": 11}, "r05_level_once"),
        ({"r06_global_change_max": -4}, "r06_global_change_max"),
        ({"r10_min_duration": "45_min"}, "r10_min_duration"),
        ({"r10_min_duration": 3}, "r10_min_duration"),
        ({"r03_stiffer_count": 4}, "r03_stiffer_count"),
        ({"r05_count": 3, "r05_of_last": 2}, "r05_count"),
    ],
)
def test_invalid_values_raise_naming_the_key(data, key):
    with pytest.raises(InvalidParams) as excinfo:
        Params.from_dict(data)

    assert excinfo.value.key == key
    assert str(excinfo.value).startswith(f"{key}: ")


def test_invalid_params_is_a_value_error():
    assert issubclass(InvalidParams, ValueError)


def test_non_mapping_is_rejected():
    with pytest.raises(InvalidParams):
        Params.from_dict([("r03_window_days", 14)])  # type: ignore[arg-type]


def test_direct_construction_is_validated_too():
    with pytest.raises(InvalidParams, match="r04_window_days"):
        Params(r04_window_days=0)


def test_float_accepted_for_numeric_deltas():
    assert Params.from_dict({"r03_mean_delta": 1.5}).r03_mean_delta == 1.5


def test_params_change_the_judgement():
    context = ctx(pw(16, stiffness_change="stiffer"), pw(3), pw(0, stiffness_change="stiffer"))

    assert criteria(context, "R-03") == ()
    assert criteria(context, "R-03", Params.from_dict({"r03_window_days": 17})) == ("A",)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"r03_window_days": 1_000_000}, "r03_window_days"),
        ({"readiness_red_flag_days": 366}, "readiness_red_flag_days"),
        ({"r06_pain_delta": 1e9}, "r06_pain_delta"),
    ],
)
def test_windows_and_deltas_are_bounded_so_a_typo_cannot_break_every_scan(data, key):
    with pytest.raises(InvalidParams) as raised:
        Params.from_dict(data)
    assert raised.value.key == key
