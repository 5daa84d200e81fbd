"""The mmdet -> podium adapter, the predictions file round trip, and the OOF join."""

import numpy as np
import pandas as pd
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from podium.detection.oof import join_oof
from podium.detection.predictions import (
    ImagePredictions,
    PredictionError,
    from_det_data_sample,
    read_predictions,
    write_predictions,
)


def _sample(boxes, scores, labels, shape=(100, 200)):
    sample = DetDataSample(metainfo={"ori_shape": shape})
    sample.pred_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32),
                                         scores=torch.tensor(scores), labels=torch.tensor(labels))
    return sample


def test_adapter_keeps_original_pixels_and_clips_to_the_image(tmp_path):
    pred = from_det_data_sample(_sample([[10.0, 20.0, 50.0, 60.0], [190.0, 90.0, 205.5, 101.0]], [0.9, 0.3], [1, 0]),
                                "a.png")
    assert (pred.width, pred.height) == (200, 100)
    np.testing.assert_allclose(pred.boxes, [[10, 20, 50, 60], [190, 90, 200, 100]])
    write_predictions(tmp_path / "p.json", ["x", "y"], [pred], {"model": "m"})
    classes, [back], meta = read_predictions(tmp_path / "p.json")
    assert classes == ["x", "y"] and meta == {"model": "m"}
    np.testing.assert_allclose(back.boxes, pred.boxes)
    np.testing.assert_allclose(back.scores, pred.scores, atol=1e-5)
    assert back.labels.tolist() == [1, 0]


@pytest.mark.parametrize("change, message", [
    (lambda d: d["images"][0].update(scores=[float("nan")]), "NaN"),
    (lambda d: d["images"][0].update(labels=[5]), "labels outside"),
    (lambda d: d["images"][0].update(boxes=[[50, 50, 10, 60]]), "x2 < x1"),
    (lambda d: d.pop("classes"), "not a podium predictions file"),
])
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


def test_tta_image_reader_names_missing_and_corrupt_files(tmp_path):
    from podium.detection.tta import read_image

    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(PredictionError, match="bad.png: unreadable image"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(PredictionError, match="gone.png: image not found"):
        read_image(tmp_path / "gone.png")
