"""FIT strength exercise names -> runstrong's contract exercise names.

FIT ``set`` messages carry ``category[]`` (FIT type ``exercise_category``) and
``category_subtype[]`` (a number whose meaning depends on the category: type
``<category>_exercise_name``). They are the watch's *guesses*: users correct them in Garmin
Connect and the correction never reaches the file, hence ``correct --set``.

Where a FIT subtype matches a contract exercise we map it (table below); everything else keeps
its FIT name and counts as training volume only. A category without a subtype (e.g. plain
``squat``) is not mapped: which squat it was is unknown.
"""

from __future__ import annotations

from typing import Any

from ingest.fit.fitparse_boundary import enum_value_name

UNKNOWN_CATEGORY = 65534

#: (FIT category, FIT subtype name) -> contract name.
FIT_TO_CONTRACT: dict[tuple[str, str], str] = {
    ("squat", "barbell_back_squat"): "back_squat",
    ("squat", "back_squats"): "back_squat",
    ("squat", "weighted_back_squats"): "back_squat",
    ("squat", "barbell_box_squat"): "back_squat",
    ("squat", "wide_stance_barbell_squat"): "back_squat",
    ("squat", "barbell_front_squat"): "front_squat",
    ("squat", "crossed_arm_barbell_front_squat"): "front_squat",
    ("squat", "dumbbell_front_squat"): "front_squat",
    ("squat", "dumbbell_split_squat"): "split_squat",
    ("squat", "barbell_step_up"): "step_up",
    ("squat", "dumbbell_step_up"): "step_up",
    ("squat", "step_up"): "step_up",
    ("squat", "weighted_step_up"): "step_up",
    ("deadlift", "barbell_deadlift"): "deadlift",
    ("deadlift", "wide_grip_barbell_deadlift"): "deadlift",
    ("deadlift", "barbell_straight_leg_deadlift"): "romanian_deadlift",
    ("deadlift", "romanian_deadlift"): "romanian_deadlift",
    ("deadlift", "dumbbell_straight_leg_deadlift"): "romanian_deadlift",
    ("lunge", "barbell_lunge"): "lunge",
    ("lunge", "dumbbell_lunge"): "lunge",
    ("lunge", "lunge"): "lunge",
    ("lunge", "weighted_lunge"): "lunge",
    ("lunge", "barbell_reverse_lunge"): "lunge",
    ("lunge", "alternating_barbell_forward_lunge"): "lunge",
    ("lunge", "barbell_split_squat"): "split_squat",
    ("lunge", "barbell_front_split_squat"): "split_squat",
    ("lunge", "barbell_bulgarian_split_squat"): "bulgarian_split_squat",
    ("lunge", "dumbbell_bulgarian_split_squat"): "bulgarian_split_squat",
    ("lunge", "back_foot_elevated_dumbbell_split_squat"): "bulgarian_split_squat",
    ("bench_press", "barbell_bench_press"): "bench_press",
    ("bench_press", "close_grip_barbell_bench_press"): "bench_press",
    ("bench_press", "wide_grip_barbell_bench_press"): "bench_press",
    ("shoulder_press", "overhead_barbell_press"): "overhead_press",
    ("shoulder_press", "barbell_shoulder_press"): "overhead_press",
    ("shoulder_press", "seated_barbell_shoulder_press"): "overhead_press",
    ("hip_raise", "barbell_hip_thrust_on_floor"): "hip_thrust",
    ("hip_raise", "barbell_hip_thrust_with_bench"): "hip_thrust",
}


def category_name(code: int | str | None) -> str | None:
    """FIT exercise_category number -> name (the number as a string when the profile has none)."""
    if code is None:
        return None
    if isinstance(code, str):
        return code
    if int(code) == UNKNOWN_CATEGORY:
        return None
    return enum_value_name("exercise_category", int(code)) or str(int(code))


def subtype_name(category: str | None, code: int | str | None) -> str | None:
    if category is None or code is None:
        return None
    if isinstance(code, str):
        return code
    return enum_value_name(f"{category}_exercise_name", int(code)) or str(int(code))


def exercise_name(category: str | None, subtype: str | None) -> str | None:
    """Contract name where one fits, else the FIT subtype name, else the FIT category name."""
    if category is None:
        return None
    if subtype is not None:
        return FIT_TO_CONTRACT.get((category, subtype), subtype)
    return category


def _as_tuple(v: object) -> tuple[Any, ...]:  # raw FIT field values (int, str or None)
    if v is None:
        return ()
    if isinstance(v, tuple | list):
        return tuple(v)
    return (v,)


def candidates(category_field: object, subtype_field: object) -> list[tuple[str, str | None, str]]:
    """All known (category, subtype, exercise name) candidates of one set, in FIT order."""
    cats = _as_tuple(category_field)
    subs = _as_tuple(subtype_field)
    out: list[tuple[str, str | None, str]] = []
    for i, c in enumerate(cats):
        cat = category_name(c)
        if cat is None:
            continue
        sub_code = subs[i] if i < len(subs) else None
        sub = subtype_name(cat, sub_code)
        name = exercise_name(cat, sub)
        if name is not None and all(name != o[2] for o in out):
            out.append((cat, sub, name))
    return out
