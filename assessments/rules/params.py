"""Thresholds of ruleset `core` version 2.

Every window, count and delta of RULES.md v2 is a named, bounded parameter with its RULES.md default, a
``unit`` and a one-sentence ``help`` in its field metadata (``Params.describe()`` lists them for the admin);
every rule but R-01 and R-02 has an on/off switch ``rNN_enabled``. A clinic administrator may override any of
them; ``Params.to_dict()`` is stored with each alert so that a later change never rewrites history, and
``Params.from_dict()`` validates an override (a partial dict overlays the defaults) and raises
``InvalidParams`` naming the offending key.

R-01 and R-02 have no switch and no parameter that can lower them below high: their only parameters are the
windows of their v2 refinements (R-01's 90-day "assessed stable" record, R-02's 7-day fall window and +2 rise).

Names kept from v1 (a migration carries a clinic's v1 overrides over) keep their v1 meaning, with two
documented narrowings: ``r05_level_once`` is now the level for neck `pain` once (tension has its own,
``r05_tension_level_once``), and ``r03_morning_duration_step`` / ``r03_morning_duration_times`` now count
categories above the baseline category on each of the last N weeklies (v2 wording of R-03 D). Removed from v1:
``relative_min_entries`` (v2: a baseline exists or it does not), ``r06_relative_from_baseline`` and
``r06_relative_fraction`` (v2: no 30% arm), ``r08_odi_fraction`` (v2: no 30% ODI arm).

Windows are counted in calendar days ending on the judged day: a window of N days holds that day and the N-1
days before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

from .paramspec import InvalidParams, bool_param, check, check_overrides, choice_param, int_param, number_param
from .types import MORNING_STIFFNESS_DURATIONS, RULESET, RULESET_VERSION

__all__ = ["DEFAULT_PARAMS", "SWITCHES", "InvalidParams", "Params"]

_D, _S, _W, _P = "days", "sessions", "weeklies", "points"

# Pairs (count, of_last): a count can never exceed the number of entries it is taken from.
_COUNT_OF_LAST: Final = (
    ("r03_stiffer_count", "r03_stiffer_of_last"),
    ("r03_blocks_compared", "r03_max_blocks"),
    ("r04_repeat_count", "r04_repeat_of_last"),
    ("r05_count", "r05_of_last"),
    ("r06_during_max_count", "r06_during_max_of_last"),
    ("r10_count", "r10_of_last"),
    ("r12_stretch_count", "r12_stretch_of_last"),
)

# The rules a clinic may switch off (R-01 and R-02 cannot be): rule id -> parameter name.
SWITCHES: Final[Mapping[str, str]] = {
    rule_id: f"r{rule_id[2:]}_enabled"
    for rule_id in ("R-03", "R-04", "R-05", "R-06", "R-07", "R-08", "R-10", "R-11", "R-12")
}


def _on(rule: str) -> bool:
    return bool_param(True, help=f"Whether {rule} is judged at all (off: it never fires).")


@dataclass(frozen=True, slots=True)
class Params:
    """The thresholds the v2 rules and readiness check are judged with (defaults = RULES.md v2)."""

    # Baselines and conventions.
    baseline_sessions: int = int_param(
        3, unit=_S, help="Sessions whose median is a baseline (phase or pre-transition)."
    )
    baseline_weeklies: int = int_param(2, unit=_W, help="Weeklies whose mean is a baseline (phase or pre-transition).")
    pre_transition_days: int = int_param(
        42, unit=_D, help="Days after entering stabilization during which the pre-transition baseline also applies."
    )
    late_report_days: int = int_param(
        7, unit=_D, help="An alert whose entries all occurred more than this many days ago says 'reported late'."
    )

    # R-01 red_flag_ces, R-02 red_flag_systemic (no switch; never below high).
    r01_stable_days: int = int_param(
        90, unit=_D, help="An unchanged item recorded 'assessed and stable' within this many days raises R-01 at high."
    )
    r02_fall_window_days: int = int_param(
        7, unit=_D, help="Days either side of a fall report in which worse pain, leg or safety signs make it urgent."
    )
    r02_fall_pain_rise: float = number_param(
        2, hi=10, unit=_P, help="Rise in back pain over its last value before the fall report that makes it urgent."
    )

    # R-03 stiffening_back.
    r03_enabled: bool = _on("R-03")
    r03_stiffer_count: int = int_param(2, unit=_S, help="(A) Sessions answered `stiffer` needed ...")
    r03_stiffer_of_last: int = int_param(3, unit=_S, help="(A) ... among this many latest sessions ...")
    r03_window_days: int = int_param(14, unit=_D, help="(A) ... within this many days.")
    r03_mean_of_last: int = int_param(3, unit=_S, help="(B) Latest sessions whose mean back stiffness is judged.")
    r03_mean_delta: float = number_param(2, hi=10, unit=_P, help="(B) Mean stiffness at least baseline + this.")
    r03_restricted_count: int = int_param(2, unit=_S, help="(C) `clearly_restricted` spine checks needed ...")
    r03_restricted_window_days: int = int_param(7, unit=_D, help="(C) ... within this many days.")
    r03_morning_duration_step: int = int_param(
        1, hi=5, unit="categories", help="(D) Morning stiffness duration categories above the baseline category ..."
    )
    r03_morning_duration_times: int = int_param(2, unit=_W, help="(D) ... on each of this many latest weeklies ...")
    r03_morning_duration_latest_min: str = choice_param(
        "15_30", MORNING_STIFFNESS_DURATIONS, unit="category", help="(D) ... with the latest at least this long."
    )
    r03_morning_level_delta: float = number_param(
        2, hi=10, unit=_P, help="(D) Or the latest morning stiffness level at least baseline + this."
    )
    r03_block_days: int = int_param(7, unit=_D, help="(E) Length of the blocks sessions are grouped into.")
    r03_max_blocks: int = int_param(6, hi=52, unit="blocks", help="(E) Blocks looked back at most.")
    r03_blocks_compared: int = int_param(
        3, lo=2, hi=52, unit="blocks", help="(E) Latest non-empty blocks whose mean stiffness must rise strictly."
    )
    r03_creep_delta: float = number_param(1.5, hi=10, unit=_P, help="(E) Last block's mean at least baseline + this.")

    # R-04 unilateral_thigh_neural.
    r04_enabled: bool = _on("R-04")
    r04_single_entry_features: int = int_param(2, hi=4, unit="features", help="(A) Neural features in one entry.")
    r04_repeat_count: int = int_param(2, unit=_S, help="(B) Sessions of the same side with a feature needed ...")
    r04_repeat_of_last: int = int_param(3, unit=_S, help="(B) ... among this many latest sessions.")
    r04_window_days: int = int_param(14, unit=_D, help="(A, B, D) Window of the side's sessions judged.")
    r04_repeat_min_features: int = int_param(1, hi=4, unit="features", help="(B) Features each of those must have.")
    r04_consecutive: int = int_param(
        3, unit=_S, help="(C) Latest consecutive sessions of one side, none eased by stretching."
    )
    r04_recurrence_days: int = int_param(
        28, unit=_D, help="(D) Pins and needles is high when a neural feature recurs on that side within this."
    )
    r04_level_feature_min_back_pain: int = int_param(
        2, lo=0, hi=10, unit=_P, help="Leg above back pain is a neural feature only from this back pain on."
    )
    r04_alternating_days: int = int_param(
        14, unit=_D, help="Both sides qualifying within this many days says 'alternating sides'."
    )

    # R-05 neck_strain_core.
    r05_enabled: bool = _on("R-05")
    r05_count: int = int_param(2, unit=_S, help="(A) Sessions with neck tension or pain needed ...")
    r05_of_last: int = int_param(4, unit=_S, help="(A) ... among this many latest sessions ...")
    r05_window_days: int = int_param(28, unit=_D, help="(A, B, C) ... within this many days.")
    r05_level_once: int = int_param(5, hi=10, unit=_P, help="(B) Neck `pain` at this level or more once.")
    r05_tension_level_once: int = int_param(7, hi=10, unit=_P, help="(B) Neck `tension` at this level or more once.")

    # R-06 pain_returning.
    r06_enabled: bool = _on("R-06")
    r06_pain_delta: float = number_param(2, hi=10, unit=_P, help="(A) Weekly back pain at least baseline + this.")
    r06_during_max_threshold: int = int_param(6, lo=0, hi=10, unit=_P, help="(B) Worst pain during the workout ...")
    r06_during_max_count: int = int_param(2, unit=_S, help="(B) ... in this many ...")
    r06_during_max_of_last: int = int_param(3, unit=_S, help="(B) ... of this many latest sessions ...")
    r06_during_max_window_days: int = int_param(14, unit=_D, help="(B) ... within this many days.")
    r06_rise_delta: float = number_param(2, hi=10, unit=_P, help="(C) Back pain after a workout up this much ...")
    r06_rise_times: int = int_param(2, unit="times", help="(C) ... over the previous session, this many in a row.")
    r06_stopped_count: int = int_param(2, unit=_S, help="(D) Sessions stopped for symptoms needed ...")
    r06_stopped_window_days: int = int_param(14, unit=_D, help="(D) ... within this many days.")
    r06_global_change_max: int = int_param(
        -2, lo=-3, hi=3, unit="points", help="(E) Latest global change at or below this."
    )
    r06_progression_window_days: int = int_param(
        42, unit=_D, help="Flag 'within 6 weeks of progression' when the last progression is this recent."
    )

    # R-07 phase_review.
    r07_enabled: bool = _on("R-07")
    r07_distinct_rules: int = int_param(2, unit="rules", help="Distinct rules of R-03..R-06 and R-12 needed ...")
    r07_window_days: int = int_param(14, unit=_D, help="... opened or given new evidence within this many days.")

    # R-08 function_decline.
    r08_enabled: bool = _on("R-08")
    r08_psfs_drop: float = number_param(2, hi=10, unit=_P, help="(A) PSFS score this far below the phase best ...")
    r08_psfs_consecutive: int = int_param(2, unit=_W, help="(A) ... on this many consecutive weeklies.")
    r08_psfs_best_of: int = int_param(
        2, unit=_W, help="(A) The PSFS phase best is the best mean of this many consecutive weeklies."
    )
    r08_odi_points: float = number_param(10, unit=_P, help="(B) Clinician ODI this many points above the phase best.")
    r08_peg_rise: float = number_param(2, hi=10, unit=_P, help="(C) PEG score this far above the phase best ...")
    r08_peg_consecutive: int = int_param(2, unit=_W, help="(C) ... on this many consecutive weeklies.")

    # R-10 inflammatory_pattern.
    r10_enabled: bool = _on("R-10")
    r10_min_duration: str = choice_param(
        "30_60", MORNING_STIFFNESS_DURATIONS, unit="category", help="Morning stiffness at least this long ..."
    )
    r10_count: int = int_param(3, unit=_W, help="... easing with movement, on this many ...")
    r10_of_last: int = int_param(4, unit=_W, help="... of this many latest weeklies.")

    # R-11 engagement_drop.
    r11_enabled: bool = _on("R-11")
    r11_no_session_days: int = int_param(7, unit=_D, help="(A) Enrolled and no post-workout entry for this long.")
    r11_low_exercise_days: int = int_param(2, lo=0, hi=7, unit=_D, help="(B) Exercise days at or below this ...")
    r11_low_exercise_times: int = int_param(2, unit=_W, help="(B) ... on this many weeklies in a row.")
    r11_weekly_cadence_days: int = int_param(7, unit=_D, help="(C) Weeklies are expected this often ...")
    r11_weeklies_missed: int = int_param(2, unit=_W, help="(C) ... and this many missed raises R-11.")
    r11_burst_quiet_minutes: int = int_param(
        10, hi=1440, unit="minutes", help="R-11 waits this long after a patient's last submission of a burst."
    )
    r11_high_lookback_days: int = int_param(
        14, unit=_D, help="High when an R-01/R-04/R-06/R-12 alert was raised within this many days of the last entry."
    )

    # R-12 bilateral_leg_symptoms.
    r12_enabled: bool = _on("R-12")
    r12_window_days: int = int_param(14, unit=_D, help="(both) Window of the `both` sessions judged.")
    r12_stretch_count: int = int_param(2, unit=_S, help="(both) Sessions with stretch not easing needed ...")
    r12_stretch_of_last: int = int_param(3, unit=_S, help="(both) ... among this many latest sessions.")
    r12_rise_delta: float = number_param(2, hi=10, unit=_P, help="(both) Leg level rising this much ...")
    r12_rise_sessions: int = int_param(3, lo=2, unit=_S, help="(both) ... over this many consecutive sessions ...")
    r12_rise_level: int = int_param(
        4, lo=0, hi=10, unit=_P, help="(both) ... with the latest at least this, or not eased."
    )
    r12_alternating_reports: int = int_param(3, unit=_S, help="(alternating) One-sided reports with a feature ...")
    r12_alternating_days: int = int_param(21, unit=_D, help="(alternating) ... within this many days, both sides.")
    r12_leg_pain_once: int = int_param(
        5, lo=0, hi=10, unit=_P, help="(weekly leg pain) Weekly leg pain this high once."
    )
    r12_leg_pain_delta: float = number_param(
        2, hi=10, unit=_P, help="(weekly leg pain) Or at least baseline + this ..."
    )
    r12_leg_pain_min: int = int_param(3, lo=0, hi=10, unit=_P, help="(weekly leg pain) ... and at least this ...")
    r12_leg_pain_consecutive: int = int_param(
        2, unit=_W, help="(weekly leg pain) ... on this many consecutive weeklies."
    )

    # Readiness check treatment -> stabilization.
    readiness_red_flag_days: int = int_param(28, unit=_D, help="(1) No red flag within this many days.")
    readiness_pain_max: int = int_param(3, lo=0, hi=10, unit=_P, help="(2) Weekly back pain at most this ...")
    readiness_leg_pain_max: int = int_param(
        2, lo=0, hi=10, unit=_P, help="(2) ... and weekly leg pain at most this ..."
    )
    readiness_pain_consecutive: int = int_param(2, unit=_W, help="(2) ... on this many consecutive weeklies.")
    readiness_stable_days: int = int_param(14, unit=_D, help="(3) No flare and no worsening for this many days.")
    readiness_global_change_min: int = int_param(0, lo=-3, hi=3, unit=_P, help="(3) Global change at least this.")
    readiness_odi_max: float = number_param(
        20, lo_open=False, hi=100, unit=_P, help="(4) Clinician ODI at most this ..."
    )
    readiness_psfs_min: float = number_param(
        7, lo_open=False, hi=10, unit=_P, help="(4) ... or PSFS mean at least this."
    )
    readiness_neural_days: int = int_param(14, unit=_D, help="(6) No R-04 or R-12 features within this many days.")

    def __post_init__(self) -> None:
        for f in fields(self):
            check(f.name, getattr(self, f.name), f.metadata)
        for count_key, of_last_key in _COUNT_OF_LAST:
            if getattr(self, count_key) > getattr(self, of_last_key):
                raise InvalidParams(count_key, f"must not exceed {of_last_key}")

    @property
    def ruleset(self) -> str:
        return RULESET

    @property
    def ruleset_version(self) -> int:
        return RULESET_VERSION

    def enabled(self, rule_id: str) -> bool:
        """Whether ``rule_id`` is switched on (R-01 and R-02 always are)."""
        switch = SWITCHES.get(rule_id)
        return True if switch is None else bool(getattr(self, switch))

    def to_dict(self) -> dict[str, int | float | str | bool]:
        """All parameters, JSON-serialisable, to store with an alert."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Params:
        """Overlay ``data`` on the defaults; raise ``InvalidParams`` naming the first bad key."""
        return cls(**check_overrides(cls, data))

    @classmethod
    def describe(cls) -> dict[str, dict[str, Any]]:
        """Every parameter's default, kind, bounds, unit and help, for the admin (JSON-serialisable)."""
        out: dict[str, dict[str, Any]] = {}
        for f in fields(cls):
            meta = {k: (list(v) if isinstance(v, tuple) else v) for k, v in f.metadata.items()}
            out[f.name] = {"default": f.default, **meta}
        return out


DEFAULT_PARAMS: Final = Params()
