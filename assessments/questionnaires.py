"""The questionnaires of RULES.md as data: field names, choices, ranges and the red-flag advice.

Pure Python, shared by the model, the API validation, the seed data and the rules loader.
"""

from __future__ import annotations

QUESTIONNAIRE_VERSION = 1

POST_WORKOUT = "post_workout"
WEEKLY = "weekly"
KINDS = (POST_WORKOUT, WEEKLY)

SESSION_COMPLETED = ("full", "partial", "stopped_symptoms")
STIFFNESS_CHANGE = ("looser", "same", "stiffer")
SPINE_CHECK = ("free", "slightly_restricted", "clearly_restricted", "not_done")
NECK_SYMPTOMS = ("none", "tension", "pain", "pain_into_arm")
THIGH_SYMPTOMS = ("none", "both", "left", "right")
THIGH_STRETCH_RESPONSE = ("eases", "no_change", "worse", "not_tried")
NERVE_QUALITIES = ("pins_needles", "numbness", "burning", "shooting")
SAFETY_SCREEN = (
    "saddle_numbness",
    "bladder_change",
    "bowel_change",
    "both_legs_numb_or_weak",
    "foot_drop_or_leg_weakness",
)
MORNING_STIFFNESS_DURATION = ("none", "lt15", "15_30", "30_60", "60_120", "gt120")
# Durations from which `stiffness_eases_with_movement` must be answered.
LONG_MORNING_STIFFNESS = ("30_60", "60_120", "gt120")
SYSTEMIC_FLAGS = (
    "fever_or_unwell",
    "weight_loss_unexplained",
    "night_pain_unrelenting",
    "fall_or_injury",
    "new_cancer_diagnosis",
)
NOTE_MAX_LENGTH = 500

# Integer fields: name -> (min, max)
POST_WORKOUT_SCALES = {
    "back_pain_now": (0, 10),
    "back_pain_during_max": (0, 10),
    "back_stiffness_now": (0, 10),
    "neck_level": (0, 10),
    "thigh_level": (0, 10),
}
WEEKLY_SCALES = {
    "back_pain_avg_7d": (0, 10),
    "leg_pain_avg_7d": (0, 10),
    "peg_pain": (0, 10),
    "peg_enjoyment": (0, 10),
    "peg_activity": (0, 10),
    "morning_stiffness_level": (0, 10),
    "global_change": (-3, 3),
    "exercise_days_7d": (0, 7),
    "psfs_1": (0, 10),
    "psfs_2": (0, 10),
    "psfs_3": (0, 10),
}

POST_WORKOUT_FIELDS = (
    "session_completed",
    "back_pain_now",
    "back_pain_during_max",
    "back_stiffness_now",
    "stiffness_change",
    "spine_check",
    "neck_symptoms",
    "neck_level",
    "thigh_symptoms",
    "thigh_level",
    "thigh_stretch_response",
    "thigh_below_knee",
    "thigh_nerve_qualities",
    "safety_screen",
    "note",
)
WEEKLY_FIELDS = (
    "back_pain_avg_7d",
    "leg_pain_avg_7d",
    "peg_pain",
    "peg_enjoyment",
    "peg_activity",
    "morning_stiffness_level",
    "morning_stiffness_duration",
    "stiffness_eases_with_movement",
    "global_change",
    "flare_7d",
    "exercise_days_7d",
    "psfs_1",
    "psfs_2",
    "psfs_3",
    "systemic_flags",
)
LIST_FIELDS = ("thigh_nerve_qualities", "safety_screen", "systemic_flags")
