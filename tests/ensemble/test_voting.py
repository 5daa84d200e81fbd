import numpy as np
import pytest

from podium.ensemble import geometric_mean, hard_vote, soft_vote, vote

A = np.array([[0.6, 0.4], [0.1, 0.9]])
B = np.array([[0.2, 0.8], [0.5, 0.5]])
C = np.array([[0.3, 0.7], [0.9, 0.1]])


def test_soft_vote_is_the_weighted_mean():
    np.testing.assert_allclose(soft_vote([A, B], [3, 1]), 0.75 * A + 0.25 * B)


def test_geometric_mean_by_hand():
    # row 0: sqrt(.6*.2)=.3464, sqrt(.4*.8)=.5657 -> normalised .3798/.6202
    np.testing.assert_allclose(geometric_mean([A, B], [1, 1])[0], [0.3798, 0.6202], atol=1e-4)


def test_weighted_hard_vote_counts_each_models_top_class_with_its_weight():
    # row 0 votes: A->0 (w 0.5), B->1 (w 0.25), C->1 (w 0.25): tie 0.5 vs 0.5 -> higher mean prob (class 1)
    scores = hard_vote([A, B, C], [2, 1, 1])
    assert scores.argmax(1).tolist() == [1, 1]
    assert hard_vote([A, B, C], [3, 1, 1]).argmax(1).tolist() == [0, 1]


def test_bad_inputs():
    with pytest.raises(ValueError, match="valid methods"):
        vote("median", [A], [1])
    with pytest.raises(ValueError, match="differ in shape"):
        soft_vote([A, A[:1]], [1, 1])
    with pytest.raises(ValueError, match="NaN"):
        soft_vote([A, np.full_like(A, np.nan)], [1, 1])


def test_vote_tuning_breaks_accuracy_ties_by_log_loss_and_can_drop_a_model():
    from podium.ensemble.tune import VoteSettings, tune_votes

    # "good" is right on all 20 samples, "noise" only when it agrees; with equal weights soft voting is
    # right too (same accuracy), but the log loss prefers weighting "noise" down.
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 3, 20)
    good = np.full((20, 3), 0.1)
    good[np.arange(20), targets] = 0.8
    noise = rng.dirichlet(np.ones(3), 20)
    noise[np.arange(20), targets] *= 0.5
    noise /= noise.sum(1, keepdims=True)
    settings, accuracy, single, _ = tune_votes(
        {"good": good, "noise": noise}, targets, VoteSettings({}, "soft"), trials=40, seed=0
    )
    assert single["good"] == 1.0
    assert accuracy == 1.0
    assert settings.weights["noise"] < 0.5 * settings.weights["good"]


def test_the_held_out_score_shows_what_tuning_on_all_the_oof_hides():
    """Model a is right on fold 0 and wrong on fold 1, model b the other way round: together they get every clip
    (tuned on all: 1.0), but settings tuned on one fold (where one model alone is best) fail on the other."""
    from podium.ensemble.tune import VoteSettings, held_out_votes, tune_votes

    targets = np.array([0, 1] * 10)
    folds = np.repeat([0, 1], 10)
    right = np.eye(2)[targets] * 0.8 + 0.1  # 0.9 on the truth
    wrong = np.eye(2)[1 - targets] * 0.2 + 0.4  # 0.6 on the other class
    oof = {"a": np.where(folds[:, None] == 0, right, wrong), "b": np.where(folds[:, None] == 1, right, wrong)}
    start = VoteSettings({"a": 1.0, "b": 1.0}, "soft")
    _, tuned, single, equal = tune_votes(oof, targets, start, trials=20, seed=0)
    assert single == {"a": 0.5, "b": 0.5} and equal == 1.0 and tuned == 1.0
    held_out = held_out_votes(oof, targets, folds, start, trials=20, seed=0)
    assert held_out < 0.5 < tuned
