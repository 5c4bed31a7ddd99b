"""analysis.exercises: the contract's names, laterality and MVTs."""

import pytest

from analysis.exercises import EXERCISES, exercise_info

CONTRACT_NAMES = [
    "back_squat",
    "front_squat",
    "deadlift",
    "romanian_deadlift",
    "bench_press",
    "overhead_press",
    "hip_thrust",
    "lunge",
    "split_squat",
    "bulgarian_split_squat",
    "step_up",
]


def test_table_covers_the_contract_names():
    from records.exercises import CONTRACT_EXERCISES

    # the list the code shares, against the contract as written here
    assert sorted(EXERCISES) == sorted(CONTRACT_EXERCISES) == sorted(CONTRACT_NAMES)


def test_last_four_are_unilateral():
    uni = {n for n, e in EXERCISES.items() if e.laterality == "unilateral"}
    assert uni == {"lunge", "split_squat", "bulgarian_split_squat", "step_up"}


def test_mvts_from_the_design():
    assert exercise_info("back_squat").mvt_mps == 0.30
    assert exercise_info("bench_press").mvt_mps == 0.17
    assert exercise_info("deadlift").mvt_reliable is False
    assert exercise_info("back_squat").mvt_reliable is False  # Banyard et al. 2017, 2018
    assert exercise_info("bench_press").mvt_reliable is True
    assert exercise_info("deadlift").eccentric_first is False
    assert exercise_info("back_squat").eccentric_first is True


def test_unknown_exercise_defaults():
    info = exercise_info("cable_row")
    assert not info.known and info.laterality == "unknown" and info.mvt_mps is None and info.eccentric_first is None
    with pytest.raises(ValueError, match="non-empty"):
        exercise_info("")


def test_the_fit_mapping_names_only_contract_exercises():
    from ingest.fit.exercises import FIT_TO_CONTRACT
    from records.exercises import CONTRACT_EXERCISES

    assert set(FIT_TO_CONTRACT.values()) <= set(CONTRACT_EXERCISES)
    assert {"back_squat", "deadlift", "lunge", "split_squat"} <= set(FIT_TO_CONTRACT.values())
