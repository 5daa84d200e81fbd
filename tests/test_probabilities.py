import numpy as np
import pandas as pd
import pytest

from podium.probabilities import PredictionError, join_oof, proba_table, read_table, write_table

CLASSES = ["no", "yes"]
FOLDS = pd.DataFrame({"fname": ["a", "b", "c", "d", "x"], "fold": [0, 0, 1, 1, -1]})


def part(names, fold):
    return proba_table(names, ["yes"] * len(names), fold, np.full((len(names), 2), 0.5), CLASSES)


def test_join_covers_each_validation_clip_once():
    joined = join_oof({0: part(["a", "b"], 0), 1: part(["c", "d"], 1)}, FOLDS, "m")
    assert sorted(joined.fname) == ["a", "b", "c", "d"]  # the train-only clip x is never validated


@pytest.mark.parametrize(
    "parts, message",
    [
        ({0: part(["a", "b"], 0)}, r"no OOF predictions for fold\(s\) \[1\]"),
        ({0: part(["a", "b"], 0), 1: part(["c"], 1)}, "have no OOF prediction"),
        ({0: part(["a", "b", "c"], 0), 1: part(["c", "d"], 1)}, "predicted more than once"),
        ({0: part(["a", "b"], 0), 1: part(["c", "d", "x"], 1)}, "not validation samples"),
        ({0: part(["a", "c"], 0), 1: part(["b", "d"], 1)}, "wrong fold"),
    ],
)
def test_join_rejects_gaps_doubles_and_strays(parts, message):
    with pytest.raises(PredictionError, match=message):
        join_oof(parts, FOLDS, "m")


def test_a_table_copied_to_another_folds_place_is_refused(tmp_path):
    write_table(tmp_path / "test.csv", part(["a", "b"], -1), "small_cnn", 1)
    assert read_table(tmp_path / "test.csv", "small_cnn", 1, "predict_audio").fname.tolist() == ["a", "b"]
    with pytest.raises(
        PredictionError,
        match=r"test.csv: made by model=small_cnn fold=1, not model=small_cnn "
        r"fold=0; rerun predict_audio@small_cnn-0",
    ):
        read_table(tmp_path / "test.csv", "small_cnn", 0, "predict_audio")
