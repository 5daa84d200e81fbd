"""The neutral box predictions: file round trip, the one box check, the OOF join."""

import numpy as np
import pandas as pd
import pytest

from podium.boxes import (
    ImagePredictions,
    PredictionError,
    box_problem,
    join_oof,
    read_fold_predictions,
    read_predictions,
    write_predictions,
)


def test_file_round_trip_keeps_boxes_scores_labels_and_meta(tmp_path):
    pred = ImagePredictions("a.png", 200, 100, [[10, 20, 50, 60], [190, 90, 200, 100]], [0.9, 0.3], [1, 0], fold=2)
    write_predictions(tmp_path / "p.json", ["x", "y"], [pred], {"model": "m", "fold": 2})
    classes, [back], meta = read_predictions(tmp_path / "p.json")
    assert classes == ["x", "y"] and meta == {"model": "m", "fold": 2} and back.fold == 2
    np.testing.assert_allclose(back.boxes, pred.boxes)
    np.testing.assert_allclose(back.scores, pred.scores, atol=1e-5)
    assert back.labels.tolist() == [1, 0]
    assert read_fold_predictions(tmp_path / "p.json", "m", 2, "predict_detector")[0] == ["x", "y"]
    with pytest.raises(PredictionError, match=r"p.json: made by m fold 2, not m fold 1; rerun predict_detector@m-1"):
        read_fold_predictions(tmp_path / "p.json", "m", 1, "predict_detector")


@pytest.mark.parametrize(
    "boxes, scores, labels, slack, problem",
    [
        ([[1, 1, 5, 5]], [0.5], [0], 1.0, None),
        ([[-0.5, 1, 10.5, 5]], [0.5], [0], 1.0, None),  # within the slack
        ([[-0.5, 1, 10.5, 5]], [0.5], [0], 0.0, "outside its 10x10 image"),  # a submission row: none
        ([[1, 1, 5, 5]], [1.5], [0], 1.0, "scores outside"),
        ([[1, 1, 5, float("inf")]], [0.5], [0], 1.0, "NaN or infinite"),
        ([[1, 1, 5, 5]], [0.5], [2], 1.0, "labels outside 0..1"),
        ([[5, 1, 1, 5]], [0.5], [0], 1.0, "x2 < x1"),
    ],
)
def test_the_one_box_check(boxes, scores, labels, slack, problem):
    found = box_problem(ImagePredictions("a.png", 10, 10, boxes, scores, labels), 2, slack)
    assert found == problem if problem is None else problem in found


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["images"][0].update(scores=[float("nan")]), "NaN"),
        (lambda d: d["images"][0].update(labels=[5]), "labels outside"),
        (lambda d: d["images"][0].update(boxes=[[50, 50, 10, 60]]), "x2 < x1"),
        (lambda d: d.pop("classes"), "not a podium predictions file"),
    ],
)
def test_bad_prediction_files_are_rejected(tmp_path, change, message):
    import json

    write_predictions(tmp_path / "p.json", ["x"], [ImagePredictions("a.png", 10, 10, [[1, 1, 5, 5]], [0.5], [0])], {})
    data = json.loads((tmp_path / "p.json").read_text())
    change(data)
    (tmp_path / "p.json").write_text(json.dumps(data))
    with pytest.raises(PredictionError, match=message):
        read_predictions(tmp_path / "p.json")


def _fold(names, fold):
    return ["c"], [ImagePredictions(n, 10, 10, [], [], [], fold) for n in names]


def test_join_requires_each_validation_image_once():
    folds = pd.DataFrame({"file_name": ["a", "b", "c", "x"], "fold": [0, 1, 1, -1]})
    _, joined = join_oof({0: _fold(["a"], 0), 1: _fold(["b", "c"], 1)}, folds, "m")
    assert sorted(p.file_name for p in joined) == ["a", "b", "c"]
    with pytest.raises(PredictionError, match="have no OOF prediction"):
        join_oof({0: _fold(["a"], 0), 1: _fold(["b"], 1)}, folds, "m")
    with pytest.raises(PredictionError, match="more than once"):
        join_oof({0: _fold(["a", "b"], 0), 1: _fold(["b", "c"], 1)}, folds, "m")
    with pytest.raises(PredictionError, match=r"fold\(s\) \[1\]"):
        join_oof({0: _fold(["a"], 0)}, folds, "m")
