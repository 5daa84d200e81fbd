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
