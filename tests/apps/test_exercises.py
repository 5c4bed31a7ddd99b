"""Strong/Hevy exercise names -> the project's vocabulary (analysis.exercises)."""

from __future__ import annotations

import pytest

from analysis.exercises import EXERCISES, exercise_info
from ingest.apps.exercises import ALIASES, PROPOSED_ADDITIONS, map_exercise, split_name


def test_every_target_is_in_the_vocabulary_and_every_vocabulary_name_has_aliases() -> None:
    assert set(ALIASES) == set(EXERCISES)
    for _, (prop, lat) in PROPOSED_ADDITIONS.items():
        assert prop not in EXERCISES, f"{prop} is in the vocabulary: map it instead of proposing it"
        assert lat in ("bilateral", "unilateral")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Squat (Barbell)", "back_squat"),
        ("Deadlift (Barbell)", "deadlift"),
        ("Bulgarian Split Squat", "bulgarian_split_squat"),
        ("Lunge (Dumbbell)", "lunge"),
        ("Romanian Deadlift (Barbell)", "romanian_deadlift"),
        ("Bench Press (Barbell)", "bench_press"),
        ("Hip Thrust (Barbell)", "hip_thrust"),
        ("Step-up", "step_up"),
        ("Step Up", "step_up"),
        ("Front Squat (Barbell)", "front_squat"),
        ("Overhead Press (Barbell)", "overhead_press"),
        ("Strict Military Press (Barbell)", "overhead_press"),
        ("Bench Press - Close Grip (Barbell)", "bench_press"),
        ("Split Squat (Dumbbell)", "split_squat"),
        ("Walking Lunge (Kettlebell)", "lunge"),
        ("Reverse Lunge (Dumbbell)", "lunge"),
        ("  squat   (BARBELL) ", "back_squat"),
        ("Step-up (Bodyweight)", "step_up"),
    ],
)
def test_known_names(name: str, expected: str) -> None:
    m = map_exercise(name)
    assert m.exercise == expected and m.rule == "alias" and m.as_written == name


@pytest.mark.parametrize(
    "name",
    [
        "Squat (Smith Machine)",  # another bar path and load: not the barbell back squat
        "Squat (Dumbbell)",
        "Romanian Deadlift (Dumbbell)",
        "Bench Press (Dumbbell)",
        "Hip Thrust (Machine)",
        "Deadlift (Trap bar)",
        "Lunge (Machine)",
    ],
)
def test_barbell_lifts_with_other_equipment_stay_unmapped(name: str) -> None:
    m = map_exercise(name)
    assert m.exercise is None and m.rule == "equipment"


def test_unknown_and_proposed_names_are_kept_as_written() -> None:
    m = map_exercise("Seated Leg Curl (Machine)")
    assert (m.exercise, m.rule, m.as_written, m.equipment) == (None, "unknown", "Seated Leg Curl (Machine)", "machine")
    m = map_exercise("Single Leg Romanian Deadlift (Dumbbell)")
    assert (m.exercise, m.rule, m.proposed) == (None, "proposed", "single_leg_romanian_deadlift")
    assert map_exercise("Deadlift (Trap bar)").proposed == "trap_bar_deadlift"
    assert map_exercise("Goblet Squat").proposed == "goblet_squat"


def test_laterality_follows_from_the_mapping() -> None:
    assert exercise_info(map_exercise("Lunge (Dumbbell)").exercise).laterality == "unilateral"
    assert exercise_info(map_exercise("Squat (Barbell)").exercise).laterality == "bilateral"
    assert exercise_info(map_exercise("Squat (Barbell)").exercise).mvt_mps == 0.30


def test_split_name() -> None:
    assert split_name("Lat Pulldown - Close Grip (Cable)") == ("lat pulldown close grip", "cable")
    assert split_name("Pull Up") == ("pull up", None)
    assert split_name("Squat (DB)") == ("squat", "dumbbell")
    with pytest.raises(TypeError):
        map_exercise(None)  # type: ignore[arg-type]
