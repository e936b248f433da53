"""The built-in programs: one per phase, each the default of its phase, shared by every clinic.

Created by migration 0003 (and again by ``seed_demo`` when a test run has flushed the tables). The function
takes the model classes, so that the migration can pass its historical models: it uses only the fields that
existed at that migration (name, kind, post_workouts_per_week, is_default; the exercise fields).
"""

from __future__ import annotations

from typing import Any

# name, phase, post-workouts per week, exercises (name, instructions, region, sets, reps, hold in seconds)
BUILT_IN: list[tuple[str, str, int, list[tuple[str, str, str, int, int, int]]]] = [
    ("Back pain treatment", "treatment", 3, [
        ("Supine breathing with drawing-in", "Lie on your back, knees bent. Breathe out and gently draw the lower "
         "belly in without moving the spine.", "core", 3, 8, 10),
        ("Pelvic tilts", "Knees bent, rock the pelvis gently within a pain-free range.", "core", 2, 10, 0),
        ("Knee-to-chest", "One knee at a time, hold where you feel a gentle stretch.", "hips", 2, 5, 20),
        ("Walking", "An easy walk at a pace you can talk at.", "other", 1, 1, 900),
    ]),
    ("Core stabilization", "stabilization", 3, [
        ("Dead bug", "Keep the low back still while opposite arm and leg lower slowly.", "core", 3, 8, 0),
        ("Side plank from knees", "Hips in line, hold without holding your breath.", "core", 3, 1, 20),
        ("Glute bridge", "Squeeze the glutes, lift without arching the low back.", "glutes", 3, 10, 3),
        ("Bird dog", "On hands and knees, reach opposite arm and leg without rotating.", "core", 3, 8, 3),
        ("Hamstring stretch with strap", "Lying on your back, gentle stretch, no pins and needles.", "hamstrings",
         2, 3, 30),
        ("Chin nod", "Gently nod the chin without pushing the head into the floor.", "neck", 2, 10, 5),
    ]),
    ("Maintenance", "maintenance", 2, [
        ("Pilates mat class", "Your weekly class, as taught.", "core", 1, 1, 0),
        ("Hip hinge with dowel", "Keep three points of contact on the dowel.", "hips", 3, 10, 0),
    ]),
]  # fmt: skip


def ensure_built_in_programs(program_model: Any, exercise_model: Any) -> None:
    """Create the built-in programs that are missing; make each the default of its phase if none is.

    A program of the same name that exists already (made by an earlier seed) is kept with its exercises.
    """
    # From migration 0005 on, programs may belong to a clinic: the built-ins are those without one.
    shared = {"clinic": None} if any(f.name == "clinic" for f in program_model._meta.fields) else {}
    for name, kind, per_week, exercises in BUILT_IN:
        program, created = program_model.objects.get_or_create(
            name=name, **shared, defaults={"kind": kind, "post_workouts_per_week": per_week}
        )
        if program.kind == kind and not program_model.objects.filter(kind=kind, is_default=True, **shared).exists():
            program.is_default = True
            program.save(update_fields=["is_default"])
        if created:
            exercise_model.objects.bulk_create(
                exercise_model(
                    program=program, name=title, instructions=instructions, region=region, sets=sets, reps=reps,
                    hold_seconds=hold, position=position,
                )
                for position, (title, instructions, region, sets, reps, hold) in enumerate(exercises)
            )  # fmt: skip
