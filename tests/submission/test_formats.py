"""Submission rows, the validator, and the diff."""

import numpy as np
import pandas as pd
import pytest

from podium.boxes import ImagePredictions
from podium.submission import (
    SubmissionError,
    detection_rows,
    diff_audio,
    diff_detection,
    parse_detection,
    validate_audio,
    validate_detection,
)

CLASSES = ["cat", "dog"]
SIZES = {"a": (100, 50), "b": (100, 50)}
SAMPLE = pd.DataFrame({"image_id": ["a", "b"], "PredictionString": ["", ""]})


def _preds():
    return [
        ImagePredictions("a.png", 100, 50, [[1, 2, 30, 40], [50, 5, 90, 45]], [0.4, 0.9], [0, 1]),
        ImagePredictions("b.png", 100, 50, [], [], []),
    ]


def test_rows_are_sorted_by_score_and_parse_back():
    rows = detection_rows(_preds(), CLASSES, empty="", max_boxes=10)
    assert rows.PredictionString.tolist() == ["dog 0.9000 50.0 5.0 90.0 45.0 cat 0.4000 1.0 2.0 30.0 40.0", ""]
    back = parse_detection(rows, CLASSES, SIZES)
    np.testing.assert_allclose(back[0].boxes, [[50, 5, 90, 45], [1, 2, 30, 40]])
    assert back[0].labels.tolist() == [1, 0] and len(back[1].boxes) == 0
    assert detection_rows(_preds(), CLASSES, max_boxes=1).PredictionString[0].startswith("dog 0.9000")
    validate_detection(rows, SAMPLE, CLASSES, SIZES)


@pytest.mark.parametrize(
    "text, message",
    [
        ("dog 1.5 1 1 5 5", r"scores outside \[0, 1\]"),
        ("dog 0.5 1 1 500 5", "outside its 100x50 image"),
        ("dog 0.5 9 1 5 5", "x2 < x1"),
        ("dog 0.5 nan 1 5 5", "NaN"),
        ("cow 0.5 1 1 5 5", "unknown class"),
        ("dog 0.5 1 1 5", "groups of 6"),
    ],
)
def test_invalid_rows_are_named(text, message):
    rows = pd.DataFrame({"image_id": ["a", "b"], "PredictionString": [text, ""]})
    with pytest.raises(SubmissionError, match=message):
        validate_detection(rows, SAMPLE, CLASSES, SIZES)


def test_ids_must_match_the_sample_submission():
    with pytest.raises(SubmissionError, match="missing"):
        validate_detection(SAMPLE.iloc[:1], SAMPLE, CLASSES, SIZES)
    with pytest.raises(SubmissionError, match="duplicated"):
        validate_detection(pd.concat([SAMPLE, SAMPLE.iloc[:1]]), SAMPLE, CLASSES, SIZES)
    audio = pd.DataFrame({"fname": ["x.wav"], "label": ["yes"]})
    with pytest.raises(SubmissionError, match="unknown label"):
        validate_audio(audio.assign(label="maybe"), audio, ["yes", "no"])


def test_detection_diff_matches_boxes():
    a = _preds()
    b = [
        ImagePredictions(
            "a.png", 100, 50, [[2, 2, 30, 40], [50, 5, 90, 45], [0, 0, 10, 10]], [0.5, 0.8, 0.7], [0, 0, 1]
        ),
        ImagePredictions("b.png", 100, 50, [], [], []),
    ]
    d = diff_detection(a, b, iou_thr=0.5, score_thr=0.3)
    assert (d["matched"], d["only_in_a"], d["only_in_b"], d["class_changed"]) == (2, 0, 1, 1)
    assert d["agreement"] == pytest.approx(2 / 3) and d["images_with_more_boxes_in_b"] == 1


def test_audio_diff_counts_changed_labels():
    a = pd.DataFrame({"fname": ["1", "2", "3"], "label": ["yes", "no", "up"]})
    b = pd.DataFrame({"fname": ["1", "2", "3"], "label": ["yes", "go", "up"]})
    d = diff_audio(a, b)
    assert d["agreement"] == pytest.approx(2 / 3) and d["top_changes"] == [
        {"label_a": "no", "label_b": "go", "count": 1}
    ]
