"""Fold annotation files, class checks and the resume rule, without training."""

import pandas as pd
import pytest
from mmengine.config import Config

from podium.detection import train as det_train
from podium.detection.train import (
    DetectionTrainingError,
    check_classes,
    mark_finished,
    prepare_work_dir,
    split_annotations,
)

COCO = {
    "images": [{"id": i, "file_name": f"{i}.png"} for i in range(1, 5)],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1}, {"id": 2, "image_id": 3, "category_id": 2}],
    "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
}
FOLDS = pd.DataFrame({"file_name": ["1.png", "2.png", "3.png", "4.png"], "fold": [0, 1, 1, -1]})


def test_validation_is_the_fold_and_training_everything_else():
    train, val = split_annotations(COCO, FOLDS, 1)
    assert [i["file_name"] for i in val["images"]] == ["2.png", "3.png"]
    assert [i["file_name"] for i in train["images"]] == ["1.png", "4.png"]  # train-only image 4 included
    assert [a["image_id"] for a in val["annotations"]] == [3] and [a["image_id"] for a in train["annotations"]] == [1]


def test_empty_fold_and_unassigned_images_are_errors():
    with pytest.raises(DetectionTrainingError, match="fold 5 has no validation images"):
        split_annotations(COCO, FOLDS, 5)
    with pytest.raises(DetectionTrainingError, match="have no fold"):
        split_annotations(COCO, FOLDS.iloc[:3], 0)


def test_class_list_must_match_the_data():
    with pytest.raises(DetectionTrainingError, match="differ from the class list"):
        check_classes(COCO, ["a", "b", "c"], "train.json")


def test_work_folder_resumes_only_the_same_config(tmp_path):
    a, b = Config(dict(model=dict(lr=1))), Config(dict(model=dict(lr=2)))
    assert prepare_work_dir(tmp_path / "w", a) is False
    (tmp_path / "w/last_checkpoint").write_text("epoch_1.pth")
    (tmp_path / "w/epoch_1.pth").write_text("x")
    assert prepare_work_dir(tmp_path / "w", a) is True and (tmp_path / "w/epoch_1.pth").exists()
    assert prepare_work_dir(tmp_path / "w", b) is False and not (tmp_path / "w/epoch_1.pth").exists()


def _interrupted(work, config):
    prepare_work_dir(work, config)
    (work / "last_checkpoint").write_text("epoch_1.pth")


def test_a_finished_run_never_resumes(tmp_path):
    """DVC reruns a training stage because something changed: the last run's checkpoints are not its answer."""
    config, work = Config(dict(model=dict(lr=1))), tmp_path / "w"
    _interrupted(work, config)
    mark_finished(work)
    assert prepare_work_dir(work, config) is False


def test_an_interrupted_run_resumes_only_under_the_same_code(tmp_path, monkeypatch):
    config, work = Config(dict(model=dict(lr=1))), tmp_path / "w"
    _interrupted(work, config)
    monkeypatch.setattr(det_train, "code_digest", lambda: "an edited podium")
    assert prepare_work_dir(work, config) is False
