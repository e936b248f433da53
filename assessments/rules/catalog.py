"""The rule catalog of ruleset `core` v2 as data: one place for every rule's words.

Per rule id: slug, title, default severity, criterion codes with their text, rationale and suggested action
(RULES.md's "the therapist is told" column, in decision-support wording: "consider", never "the patient has"),
and for R-12 the title and action of each qualifier. The engine reads its texts from here; emails and screens
may read them through ``RULES`` / ``CRITERIA`` or ``RULESETS[2].catalog``.

Criterion codes are unique within a rule, so R-12's three qualifiers share one code space:
`both` A-C, `alternating` D, `weekly_leg_pain` E-F.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from .types import SEVERITY_HIGH, SEVERITY_ROUTINE, SEVERITY_URGENT

_NONE: Mapping[str, str] = MappingProxyType({})

R01_PATIENT_ADVICE: Final = (
    "Stop exercising. These symptoms need same-day emergency assessment: please seek emergency care today."
)
# v2: every reported item unchanged and recorded by the therapist as assessed and stable within 90 days.
R01_STABLE_PATIENT_ADVICE: Final = (
    "Your therapist has assessed these symptoms as stable. Please contact the clinic today if they change or get worse."
)
R02_PATIENT_ADVICE: Final = "Please contact your doctor today about these symptoms."

# Text flags a finding may carry (``values["flags"]`` and the front of its rationale).
FLAG_REPORTED_LATE: Final = "reported late"
FLAG_PROGRESSION: Final = "within 6 weeks of progression"
FLAG_ALTERNATING: Final = "alternating sides"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """Static description of a rule. ``rationale`` + " " + ``action`` is the one-line therapist text."""

    rule_id: str
    slug: str
    title: str
    severity: str
    rationale: str
    action: str
    criteria: Mapping[str, str]
    qualifier_titles: Mapping[str, str] = field(default_factory=lambda: _NONE)
    qualifier_actions: Mapping[str, str] = field(default_factory=lambda: _NONE)

    def text(self, qualifier: str = "") -> str:
        """The rationale and the suggested action (the qualifier's own action when it has one)."""
        return f"{self.rationale} {self.qualifier_actions.get(qualifier, self.action)}"

    def title_for(self, qualifier: str = "") -> str:
        return self.qualifier_titles.get(qualifier, self.title)


_CATALOG: Final = (
    RuleInfo(
        "R-01",
        "red_flag_ces",
        "Red flag: safety-screen symptoms",
        SEVERITY_URGENT,
        "Safety-screen symptoms were reported (new, worse or unchanged, as listed). The patient was told to stop "
        "exercising and seek same-day emergency assessment, or, for items unchanged and recently assessed as "
        "stable, to contact the clinic today if they change.",
        "Consider contacting the patient today.",
        {
            "A": "a safety-screen item reported, new or worse, or unchanged without a stable record in 90 d (urgent)",
            "B": "every item unchanged and recorded by the therapist as assessed and stable in the last 90 d (high)",
        },
    ),
    RuleInfo(
        "R-02",
        "red_flag_systemic",
        "Red flag: systemic symptoms",
        SEVERITY_URGENT,
        "Systemic red-flag answers were reported. The patient was told to contact their doctor today.",
        "Consider contacting the patient today.",
        {
            "A": "a systemic flag other than a fall or injury (urgent)",
            "B": "a fall or injury (high on its own)",
            "C": "a fall with back pain up >= 2, new leg symptoms or a safety-screen item within 7 d of the "
            "report, or a recorded fracture risk (urgent)",
        },
    ),
    RuleInfo(
        "R-03",
        "stiffening_back",
        "Back stiffening after workouts",
        SEVERITY_HIGH,
        "Stiffness rising after core work tends to precede pain.",
        "Consider a load and technique review before pain returns.",
        {
            "A": "`stiffer` in >= 2 of the last 3 sessions within 14 d",
            "B": "mean back stiffness of the last 3 sessions >= baseline + 2",
            "C": "`clearly_restricted` spine check >= 2 times in 7 d",
            "D": "the last 2 weeklies each >= 1 morning-stiffness duration category above the baseline category "
            "with the latest 15-30 min or longer, or morning stiffness level >= baseline + 2",
            "E": "slow creep: mean stiffness of the last 3 non-empty 7-day blocks rising block on block, the last "
            ">= baseline + 1.5",
        },
    ),
    RuleInfo(
        "R-04",
        "unilateral_thigh_neural",
        "One-sided leg symptoms with neural features",
        SEVERITY_HIGH,
        "One-sided leg symptoms with neural features are not typical of exercise soreness.",
        "Consider neurodynamic testing before progressing.",
        {
            "A": ">= 2 neural features in one entry",
            "B": "same side in >= 2 of the last 3 sessions within 14 d, each with >= 1 neural feature",
            "C": "same side in >= 3 consecutive sessions, none eased by stretching",
            "D": "numbness once; pins and needles once (routine), high when a neural feature recurs on that side "
            "within 28 d",
        },
    ),
    RuleInfo(
        "R-05",
        "neck_strain_core",
        "Neck strain during core work",
        SEVERITY_ROUTINE,
        "Neck tension or pain during core work suggests neck substitution: the deep core may not be activating.",
        "Consider reviewing technique.",
        {
            "A": "neck tension or pain in >= 2 of the last 4 sessions within 28 d",
            "B": "neck pain at level >= 5, or tension at level >= 7, once",
            "C": "neck pain into the arm once, at any level (high)",
        },
    ),
    RuleInfo(
        "R-06",
        "pain_returning",
        "Back pain returning",
        SEVERITY_HIGH,
        "Back pain appears to be returning.",
        "Consider regressing load.",
        {
            "A": "weekly back pain >= min(baseline + 2, 10) and above the baseline",
            "B": "worst pain during the workout >= 6 in 2 of the last 3 sessions within 14 d",
            "C": "back pain after the workout up >= 2 over the previous session, twice in a row",
            "D": "a flare, or `stopped_symptoms` twice in 14 d",
            "E": "global change <= -2",
        },
    ),
    RuleInfo(
        "R-07",
        "phase_review",
        "Several warning signs during stabilization",
        SEVERITY_HIGH,
        "Several warning rules were raised or given new evidence within a short time during the stabilization phase.",
        "Consider returning to the treatment phase.",
        {"A": ">= 2 distinct rules of R-03..R-06 or R-12 opened or given new evidence within 14 d"},
    ),
    RuleInfo(
        "R-08",
        "function_decline",
        "Function declining",
        SEVERITY_ROUTINE,
        "Function scores are worse than the best of this phase.",
        "Consider reviewing the program and the scores with the patient.",
        {
            "A": "PSFS score 2 below the phase best (best mean of 2 consecutive weeklies) on 2 consecutive weeklies",
            "B": "clinician ODI >= 10 points above the phase best",
            "C": "PEG score >= 2 above the phase best on 2 consecutive weeklies",
        },
    ),
    RuleInfo(
        "R-10",
        "inflammatory_pattern",
        "Morning stiffness pattern easing with movement",
        SEVERITY_ROUTINE,
        "Long morning stiffness that eases with movement was reported on most recent weeklies.",
        "Consider an inflammatory back pain screen or referral.",
        {"A": "morning stiffness >= 30-60 min on >= 3 of the last 4 weeklies, each easing with movement"},
    ),
    RuleInfo(
        "R-11",
        "engagement_drop",
        "Engagement drop",
        SEVERITY_ROUTINE,
        "Self-assessments or exercise days have dropped.",
        "Consider contacting the patient.",
        {
            "A": "no post-workout entry for 7 d",
            "B": "exercise days <= 2 on 2 weeklies in a row",
            "C": "2 weeklies missed",
        },
    ),
    RuleInfo(
        "R-12",
        "bilateral_leg_symptoms",
        "Leg symptoms in both legs or on alternating sides",
        SEVERITY_HIGH,
        "Symmetric soreness that does not ease or keeps rising, and nerve signs in both legs or on alternating "
        "sides, are not exercise soreness.",
        "Consider a central disc or stenosis.",
        {
            "A": "`both` legs with symptoms below the knee or a nerve quality, once",
            "B": "`both` legs with stretch not easing in >= 2 of the last 3 sessions within 14 d",
            "C": "`both` legs with the level rising >= 2 over 3 consecutive sessions, the latest >= 4 or not eased",
            "D": "left and right each with >= 1 neural feature, >= 3 such reports in 21 d",
            "E": "weekly leg pain >= 5 once",
            "F": "weekly leg pain >= baseline + 2 and >= 3 on each of 2 consecutive weeklies",
        },
        qualifier_titles={
            "both": "Leg symptoms in both legs",
            "alternating": "Leg nerve signs on alternating sides",
            "weekly_leg_pain": "Leg pain rising",
        },
        qualifier_actions={
            "alternating": "Consider a central disc or stenosis: consider phoning the patient today and asking the "
            "safety screen item by item.",
            "weekly_leg_pain": "Consider asking which side and whether it spreads below the knee, and doing a "
            "neurological screen.",
        },
    ),
)

RULES: Final[Mapping[str, RuleInfo]] = MappingProxyType({info.rule_id: info for info in _CATALOG})
CRITERIA: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType({info.rule_id: info.criteria for info in _CATALOG})
RULE_ORDER: Final = tuple(RULES)

# R-12 `both` with nerve signs (criterion A) gets the same call-today action as `alternating`.
R12_NERVE_SIGNS_ACTION: Final = RULES["R-12"].qualifier_actions["alternating"]
# R-04 when both sides qualified within 14 d.
R04_ALTERNATING_ACTION: Final = (
    "Alternating sides: consider re-asking the safety screen item by item, and neurodynamic testing before progressing."
)
