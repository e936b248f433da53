"""Thresholds of ruleset `core` version 1 (frozen: the v2 thresholds are in ``assessments.rules.params``).

Every window, count and delta of RULES.md is a named parameter with the RULES.md default. A clinic
administrator may override any of them; ``Params.to_dict()`` is stored with each alert so that a later change
never rewrites history, and ``Params.from_dict()`` validates an override (a partial dict overlays the
defaults) and raises ``InvalidParams`` naming the offending key.

Windows are counted in calendar days ending today: a window of N days holds today and the N-1 days before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from ..paramspec import InvalidParams
from ..types import MORNING_STIFFNESS_DURATIONS, RULESET

RULESET_VERSION: Final = 1


# Metadata kinds: "int" (whole number), "number" (int or float), "choice" (one of a tuple of strings).
def _int(default: int, *, lo: int = 1, hi: int | None = 365) -> int:
    """An integer parameter (counts and windows default to lo=1: never zero or negative; at most a year)."""
    result: int = field(default=default, metadata={"kind": "int", "lo": lo, "hi": hi})
    return result


def _number(default: float, *, lo: float = 0, hi: float | None = 100, lo_open: bool = True) -> float:
    """A numeric parameter (deltas: strictly positive by default)."""
    result: float = field(default=default, metadata={"kind": "number", "lo": lo, "hi": hi, "lo_open": lo_open})
    return result


def _choice(default: str, choices: tuple[str, ...]) -> str:
    result: str = field(default=default, metadata={"kind": "choice", "choices": choices})
    return result


# Pairs (count, of_last): a count can never exceed the number of entries it is taken from.
_COUNT_OF_LAST = (
    ("r03_stiffer_count", "r03_stiffer_of_last"),
    ("r04_repeat_count", "r04_repeat_of_last"),
    ("r05_count", "r05_of_last"),
    ("r06_during_max_count", "r06_during_max_of_last"),
    ("r10_count", "r10_of_last"),
)


@dataclass(frozen=True, slots=True)
class ParamsV1:
    """The thresholds v1's rules and readiness check are judged with (defaults = RULES.md v1)."""

    # Phase baseline: median of the first N sessions / mean of the first N weeklies of the phase; a relative
    # (baseline) criterion needs at least `relative_min_entries` entries of its questionnaire counted from the
    # first baseline entry to the newest one.
    baseline_sessions: int = _int(3)
    baseline_weeklies: int = _int(2)
    relative_min_entries: int = _int(3)

    # R-03 stiffening_back.
    r03_stiffer_count: int = _int(2)  # (A) `stiffer` in >= 2 ...
    r03_stiffer_of_last: int = _int(3)  # ... of the last 3 sessions ...
    r03_window_days: int = _int(14)  # ... within 14 d
    r03_mean_of_last: int = _int(3)  # (B) mean back_stiffness_now of the last 3 sessions ...
    r03_mean_delta: float = _number(2)  # ... >= baseline + 2
    r03_restricted_count: int = _int(2)  # (C) `clearly_restricted` >= 2 times ...
    r03_restricted_window_days: int = _int(7)  # ... in 7 d
    r03_morning_duration_step: int = _int(1)  # (D) morning_stiffness_duration up >= 1 category ...
    r03_morning_duration_times: int = _int(2)  # ... on 2 consecutive weeklies
    r03_morning_level_delta: float = _number(2)  # (D) or morning_stiffness_level >= baseline + 2

    # R-04 unilateral_thigh_neural.
    r04_single_entry_features: int = _int(2)  # (A) >= 2 neural features in one entry (within the window)
    r04_repeat_count: int = _int(2)  # (B) same side in >= 2 ...
    r04_repeat_of_last: int = _int(3)  # ... of the last 3 sessions ...
    r04_window_days: int = _int(14)  # ... within 14 d ...
    r04_repeat_min_features: int = _int(1)  # ... each with >= 1 feature

    # R-05 neck_strain_core.
    r05_count: int = _int(2)  # (A) tension/pain in >= 2 ...
    r05_of_last: int = _int(4)  # ... of the last 4 sessions ...
    r05_window_days: int = _int(14)  # ... within 14 d
    r05_level_once: int = _int(5, hi=10)  # (B) neck_level >= 5 once (within the window)

    # R-06 pain_returning.
    r06_pain_delta: float = _number(2)  # (A) back_pain_avg_7d >= baseline + 2 ...
    r06_relative_from_baseline: float = _number(4, lo_open=False, hi=10)  # ... when baseline >= 4 ...
    r06_relative_fraction: float = _number(0.3, lo_open=False)  # ... the delta is max(2, 30% of baseline)
    r06_during_max_threshold: int = _int(6, lo=0, hi=10)  # (B) back_pain_during_max >= 6 ...
    r06_during_max_count: int = _int(2)  # ... in 2 ...
    r06_during_max_of_last: int = _int(3)  # ... of the last 3 sessions
    r06_rise_delta: float = _number(2)  # (C) back_pain_now up >= 2 over the previous session ...
    r06_rise_times: int = _int(2)  # ... twice in a row
    r06_stopped_count: int = _int(2)  # (D) `stopped_symptoms` twice ...
    r06_stopped_window_days: int = _int(14)  # ... in 14 d
    r06_global_change_max: int = _int(-2, lo=-3, hi=3)  # (E) global_change <= -2
    r06_progression_window_days: int = _int(42)  # flag "within 6 weeks of progression"

    # R-07 phase_review.
    r07_distinct_rules: int = _int(2)  # >= 2 distinct rules of R-03..R-06 ...
    r07_window_days: int = _int(14)  # ... fired within 14 d (during stabilization)

    # R-08 function_decline.
    r08_psfs_drop: float = _number(2)  # (A) PSFS mean 2 below the phase best
    r08_odi_points: float = _number(10)  # (B) ODI 10 points ...
    r08_odi_fraction: float = _number(0.3, lo_open=False)  # ... or 30% above the phase best (0 = points only)

    # R-10 inflammatory_pattern.
    r10_min_duration: str = _choice("30_60", MORNING_STIFFNESS_DURATIONS)  # duration >= 30_60 ...
    r10_count: int = _int(3)  # ... on >= 3 ...
    r10_of_last: int = _int(4)  # ... of the last 4 weeklies, easing with movement

    # R-11 engagement_drop.
    r11_no_session_days: int = _int(7)  # (A) enrolled and no post_workout for 7 d
    r11_low_exercise_days: int = _int(2, lo=0, hi=7)  # (B) exercise_days_7d <= 2 ...
    r11_low_exercise_times: int = _int(2)  # ... twice in a row
    r11_weekly_cadence_days: int = _int(7)  # (C) weeklies expected every 7 d; ...
    r11_weeklies_missed: int = _int(2)  # ... 2 missed

    # Readiness check treatment -> stabilization.
    readiness_red_flag_days: int = _int(28)  # (1) no red flag in the last 28 d
    readiness_pain_max: int = _int(3, lo=0, hi=10)  # (2) back_pain_avg_7d <= 3 ...
    readiness_pain_consecutive: int = _int(2)  # ... on 2 consecutive weeklies
    readiness_stable_days: int = _int(14)  # (3) no flare and global_change >= 0 for 14 d
    readiness_global_change_min: int = _int(0, lo=-3, hi=3)
    readiness_odi_max: float = _number(20, lo_open=False, hi=100)  # (4) ODI <= 20 ...
    readiness_psfs_min: float = _number(7, lo_open=False, hi=10)  # ... or PSFS mean >= 7
    readiness_neural_days: int = _int(14)  # (6) no R-04 features in the last 14 d

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(f.name, getattr(self, f.name), f.metadata)
        for count_key, of_last_key in _COUNT_OF_LAST:
            if getattr(self, count_key) > getattr(self, of_last_key):
                raise InvalidParams(count_key, f"must not exceed {of_last_key}")

    @property
    def ruleset(self) -> str:
        return RULESET

    @property
    def ruleset_version(self) -> int:
        return RULESET_VERSION

    def to_dict(self) -> dict[str, int | float | str]:
        """All parameters, JSON-serialisable, to store with an alert."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParamsV1:
        """Overlay ``data`` on the defaults; raise ``InvalidParams`` naming the first bad key."""
        if not isinstance(data, Mapping):
            raise InvalidParams("(params)", "must be a mapping of parameter names to values")
        known = _FIELD_NAMES
        for key in data:
            if not isinstance(key, str) or key not in known:
                raise InvalidParams(str(key), "unknown parameter")
        # Check every given key before construction so the error names it (the constructor re-checks all).
        for f in fields(cls):
            if f.name in data:
                _check(f.name, data[f.name], f.metadata)
        return cls(**dict(data))


def _check(key: str, value: object, meta: Mapping[str, Any]) -> None:
    kind = meta["kind"]
    if kind == "choice":
        if not isinstance(value, str) or value not in meta["choices"]:
            raise InvalidParams(key, f"must be one of {', '.join(meta['choices'])}")
        return
    if isinstance(value, bool):
        raise InvalidParams(key, "must be a number, not a boolean")
    if kind == "int":
        if not isinstance(value, int):
            raise InvalidParams(key, "must be an integer")
    elif not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParams(key, "must be a finite number")
    number: float = value
    lo, hi = meta["lo"], meta["hi"]
    if meta.get("lo_open", False):
        if number <= lo:
            raise InvalidParams(key, f"must be greater than {lo}")
    elif number < lo:
        raise InvalidParams(key, f"must be at least {lo}")
    if hi is not None and number > hi:
        raise InvalidParams(key, f"must be at most {hi}")


_FIELD_NAMES = frozenset(f.name for f in fields(ParamsV1))

Params = ParamsV1
DEFAULT_PARAMS = ParamsV1()
