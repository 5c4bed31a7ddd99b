"""Strong / Hevy exercise names -> the project's exercise vocabulary (pure).

Both apps name exercises ``Name (Equipment)``: "Squat (Barbell)", "Lunge (Dumbbell)",
"Bulgarian Split Squat". A name maps to a project name (``analysis.exercises``, the CLI
contract's snake_case names) when its core name is one of that exercise's aliases *and*
its equipment is allowed for it:

* the barbell lifts (back squat, front squat, deadlift, Romanian deadlift, bench press,
  overhead press, hip thrust) map only with "(Barbell)" or no equipment: a dumbbell, Smith
  machine, trap-bar or machine version has another load and another velocity at 1RM, so
  "Squat (Smith Machine)" or "Romanian Deadlift (Dumbbell)" stay unmapped;
* the unilateral lifts (lunge, split squat, Bulgarian split squat, step-up) map with any
  free-weight or body-weight equipment: their use here is laterality and volume. The apps
  log a dumbbell set's weight as the app's user entered it (usually one dumbbell).

Unknown names are kept as written with ``exercise = None`` (listed for ``correct
--exercise``). This module imports nothing of the analysis layer (ingest must not); the
tests check every target name against ``analysis.exercises.EXERCISES``.

Names the vocabulary lacks that runners who lift log often (``PROPOSED_ADDITIONS``) are
reported, not mapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ALIASES", "PROPOSED_ADDITIONS", "ExerciseMatch", "map_exercise", "split_name"]

_ANY_FREE = frozenset(
    {
        None,
        "barbell",
        "dumbbell",
        "kettlebell",
        "bodyweight",
        "weighted",
        "smith machine",
        "band",
        "plate",
        "landmine",
        "trap bar",
    }
)
_BARBELL = frozenset({None, "barbell"})

#: project name -> (allowed equipment, core-name aliases; lower case, hyphens as spaces).
ALIASES: dict[str, tuple[frozenset[str | None], tuple[str, ...]]] = {
    "back_squat": (
        _BARBELL,
        (
            "squat",
            "back squat",
            "barbell squat",
            "barbell back squat",
            "high bar squat",
            "low bar squat",
            "back squats",
            "squats",
        ),
    ),
    "front_squat": (_BARBELL, ("front squat", "barbell front squat", "front squats")),
    "deadlift": (_BARBELL, ("deadlift", "conventional deadlift", "barbell deadlift", "deadlifts")),
    "romanian_deadlift": (
        _BARBELL,
        (
            "romanian deadlift",
            "barbell romanian deadlift",
            "rdl",
            "straight leg deadlift",
            "stiff leg deadlift",
            "romanian deadlifts",
        ),
    ),
    "bench_press": (
        _BARBELL,
        (
            "bench press",
            "barbell bench press",
            "bench press close grip",
            "bench press wide grip",
            "close grip bench press",
            "wide grip bench press",
        ),
    ),
    "overhead_press": (
        _BARBELL,
        (
            "overhead press",
            "barbell overhead press",
            "standing overhead press",
            "seated overhead press",
            "military press",
            "strict military press",
        ),
    ),
    "hip_thrust": (_BARBELL, ("hip thrust", "barbell hip thrust", "hip thrusts")),
    "lunge": (
        _ANY_FREE,
        (
            "lunge",
            "lunges",
            "walking lunge",
            "walking lunges",
            "reverse lunge",
            "reverse lunges",
            "forward lunge",
            "forward lunges",
            "dumbbell lunge",
            "barbell lunge",
        ),
    ),
    "split_squat": (_ANY_FREE, ("split squat", "split squats", "dumbbell split squat", "barbell split squat")),
    "bulgarian_split_squat": (
        _ANY_FREE,
        (
            "bulgarian split squat",
            "bulgarian split squats",
            "rear foot elevated split squat",
            "rfess",
            "dumbbell bulgarian split squat",
            "barbell bulgarian split squat",
        ),
    ),
    "step_up": (
        _ANY_FREE,
        (
            "step up",
            "step ups",
            "stepup",
            "stepups",
            "box step up",
            "weighted step up",
            "dumbbell step up",
            "barbell step up",
        ),
    ),
}

#: Core names (lower case) that are not in the vocabulary but would be worth adding, with the
#: snake_case name and laterality we would give them. Reported by :func:`map_exercise` as
#: ``proposed``; never mapped.
PROPOSED_ADDITIONS: dict[str, tuple[str, str]] = {
    "single leg romanian deadlift": ("single_leg_romanian_deadlift", "unilateral"),
    "single leg deadlift": ("single_leg_romanian_deadlift", "unilateral"),
    "goblet squat": ("goblet_squat", "bilateral"),
    "box squat": ("box_squat", "bilateral"),
    "pause squat": ("pause_squat", "bilateral"),
    "sumo deadlift": ("sumo_deadlift", "bilateral"),
    "trap bar deadlift": ("trap_bar_deadlift", "bilateral"),
    "deadlift trap bar": ("trap_bar_deadlift", "bilateral"),
    "glute bridge": ("glute_bridge", "bilateral"),
    "single leg glute bridge": ("single_leg_glute_bridge", "unilateral"),
    "leg press": ("leg_press", "bilateral"),
    "single leg press": ("single_leg_press", "unilateral"),
    "calf raise": ("calf_raise", "bilateral"),
    "standing calf raise": ("calf_raise", "bilateral"),
    "single leg calf raise": ("single_leg_calf_raise", "unilateral"),
    "nordic hamstring curl": ("nordic_hamstring_curl", "bilateral"),
    "power clean": ("power_clean", "bilateral"),
    "pistol squat": ("pistol_squat", "unilateral"),
    "lateral lunge": ("lateral_lunge", "unilateral"),
    "curtsy lunge": ("curtsy_lunge", "unilateral"),
}

_LOOKUP: dict[str, str] = {a: name for name, (_, aliases) in ALIASES.items() for a in aliases}
_PAREN = re.compile(r"^(?P<core>.*?)\s*\((?P<eq>[^()]*)\)\s*$")
_EQUIPMENT_ALIASES = {
    "bodyweight": "bodyweight",
    "body weight": "bodyweight",
    "bw": "bodyweight",
    "db": "dumbbell",
    "dumbbells": "dumbbell",
    "bb": "barbell",
    "kb": "kettlebell",
    "kettlebells": "kettlebell",
    "smith": "smith machine",
    "hex bar": "trap bar",
    "trapbar": "trap bar",
    "band": "band",
    "bands": "band",
    "resistance band": "band",
}


def _core(text: str) -> str:
    t = text.lower().replace("\u2013", "-").replace("\u2014", "-")
    t = re.sub(r"[-_/]", " ", t)
    t = re.sub(r"[^\w\s]", "", t)
    return re.sub(r"\s+", " ", t).strip()


def split_name(name: str) -> tuple[str, str | None]:
    """``"Lunge (Dumbbell)"`` -> ``("lunge", "dumbbell")``: normalised core and equipment."""
    m = _PAREN.match(name.strip())
    if m and m["core"].strip():
        eq = _core(m["eq"]) or None
        eq = _EQUIPMENT_ALIASES.get(eq, eq) if eq else None
        return _core(m["core"]), eq
    return _core(name), None


@dataclass(frozen=True)
class ExerciseMatch:
    """Result of mapping one app name.

    Attributes
    ----------
    as_written : str
    exercise : str or None
        Project name, None when not mapped.
    equipment : str or None
    rule : str
        ``alias`` (mapped), ``equipment`` (core name known but equipment not allowed),
        ``proposed`` (not in the vocabulary; see ``proposed``) or ``unknown``.
    proposed : str or None
        The name we would add to the vocabulary for this exercise.
    """

    as_written: str
    exercise: str | None
    equipment: str | None
    rule: str
    proposed: str | None = None


def map_exercise(name: str) -> ExerciseMatch:
    """Map an app's exercise name (see the module docstring for the rule)."""
    if not isinstance(name, str):
        raise TypeError("exercise name must be a string")
    core, eq = split_name(name)
    target = _LOOKUP.get(core)
    if target is not None:
        allowed = ALIASES[target][0]
        if eq in allowed:
            return ExerciseMatch(name, target, eq, "alias")
        prop = PROPOSED_ADDITIONS.get(f"{eq} {core}") or PROPOSED_ADDITIONS.get(f"{core} {eq}")
        return ExerciseMatch(name, None, eq, "equipment", prop[0] if prop else None)
    prop = PROPOSED_ADDITIONS.get(core)
    if prop is None and eq is not None:
        prop = PROPOSED_ADDITIONS.get(f"{core} {eq}")
    if prop is not None:
        return ExerciseMatch(name, None, eq, "proposed", prop[0])
    return ExerciseMatch(name, None, eq, "unknown")
