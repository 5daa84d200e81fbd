"""Fold split: no group straddles folds, every competition sample validates exactly once."""

import numpy as np
import pytest

from podium.data.folds import TRAIN_ONLY, assign_folds, detection_strata


def test_groups_never_straddle_folds_and_each_sample_validates_once():
    rng = np.random.default_rng(0)
    groups = [f"g{rng.integers(30)}" for _ in range(200)]
    strata = [f"c{rng.integers(4)}" for _ in range(200)]
    folds = assign_folds(strata, groups, [False] * 200, 5, seed=1)
    assert sorted(set(folds.tolist())) == [0, 1, 2, 3, 4]
    for g in set(groups):
        assert len({folds[i] for i, gg in enumerate(groups) if gg == g}) == 1, f"group {g} leaks"
    # each sample's fold is one value: it is in exactly one validation fold, and in training for the others
    assert (folds >= 0).all()


def test_external_samples_can_be_train_only():
    groups = [f"g{i}" for i in range(12)]
    train_only = [i >= 8 for i in range(12)]
    folds = assign_folds(["a", "b"] * 6, groups, train_only, 2, seed=0)
    assert (folds[8:] == TRAIN_ONLY).all() and set(folds[:8].tolist()) == {0, 1}


def test_stratification_balances_a_rare_class():
    strata = ["common"] * 90 + ["rare"] * 9
    folds = assign_folds(strata, [str(i) for i in range(99)], [False] * 99, 3, seed=0)
    assert [int(((folds == f) & (np.array(strata) == "rare")).sum()) for f in range(3)] == [3, 3, 3]


def test_too_few_groups_is_a_clear_error():
    with pytest.raises(ValueError, match="only 2 distinct groups for 3 folds"):
        assign_folds(["a"] * 4, ["x", "x", "y", "y"], [False] * 4, 3, seed=0)


def test_detection_strata_combine_top_class_and_box_count():
    assert detection_strata([[], ["a"], ["a", "b", "b"], ["c"] * 7]) == ["none|0", "a|1-2", "b|3-5", "c|6+"]
