"""Submission rows, the validator, and the diff."""

import numpy as np
import pandas as pd
import pytest

from podium.boxes import ImagePredictions
from podium.settings import AudioFormat, DetectionFormat
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


def _format(**changes) -> DetectionFormat:
    base = dict(
        metric="coco_map", iou_thr=0.4, empty_images="excluded", no_finding="", id_column="image_id",
        column="PredictionString", box="xyxy", fields=["class", "score", "box"], class_as="name", empty="",
        classes=CLASSES,
    )  # fmt: skip
    return DetectionFormat(**{**base, **changes})


EMBEDDED = _format()
# Global Wheat: `score x y w h`, no class (kaggle.com/c/global-wheat-detection/overview/evaluation)
WHEAT = _format(metric="wheat_precision", box="xywh", fields=["score", "box"], classes=["wheat"])
# VinBigData: `class_id score x_min y_min x_max y_max`, `14 1 0 0 1 1` for no finding
VINBIG = _format(metric="voc_map", class_as="id", empty="14 1 0 0 1 1", classes=[f"c{i}" for i in range(15)])
AUDIO = AudioFormat("accuracy", "fname", "label", ["yes", "no"])
SIZES = {"a": (100, 50), "b": (100, 50)}
SAMPLE = pd.DataFrame({"image_id": ["a", "b"], "PredictionString": ["", ""]})


def _preds():
    return [
        ImagePredictions("a.png", 100, 50, [[1, 2, 30, 40], [50, 5, 90, 45]], [0.4, 0.9], [0, 1]),
        ImagePredictions("b.png", 100, 50, [], [], []),
    ]


def test_rows_are_sorted_by_score_and_parse_back():
    rows = detection_rows(_preds(), CLASSES, EMBEDDED, max_boxes=10)
    assert rows.PredictionString.tolist() == ["dog 0.9000 50.0 5.0 90.0 45.0 cat 0.4000 1.0 2.0 30.0 40.0", ""]
    back = parse_detection(rows, CLASSES, SIZES, EMBEDDED)
    np.testing.assert_allclose(back[0].boxes, [[50, 5, 90, 45], [1, 2, 30, 40]])
    assert back[0].labels.tolist() == [1, 0] and len(back[1].boxes) == 0
    assert detection_rows(_preds(), CLASSES, EMBEDDED, max_boxes=1).PredictionString[0].startswith("dog 0.9000")
    validate_detection(rows, SAMPLE, CLASSES, SIZES, EMBEDDED)


def test_global_wheat_rows_are_score_and_xywh_without_a_class():
    preds = [ImagePredictions("a.jpg", 100, 50, [[1, 2, 30, 40], [50, 5, 90, 45]], [0.4, 0.9], [0, 0])]
    rows = detection_rows(preds, ["wheat"], WHEAT)
    assert rows.PredictionString.tolist() == ["0.9000 50.0 5.0 40.0 40.0 0.4000 1.0 2.0 29.0 38.0"]
    back = parse_detection(rows, ["wheat"], {"a": (100, 50)}, WHEAT)
    np.testing.assert_allclose(back[0].boxes, [[50, 5, 90, 45], [1, 2, 30, 40]])
    # the competition's own sample rows (its sample_submission.csv and Evaluation page)
    sample = pd.DataFrame({"image_id": ["ce4833752", "6ca7b2650", "1da9078c1"],
                           "PredictionString": ["1.0 0 0 50 50", "", "0.3 0 0 50 50 0.5 10 10 30 30"]})  # fmt: skip
    assert [len(p.boxes) for p in parse_detection(sample, ["wheat"], {}, WHEAT)] == [1, 0, 2]


def test_a_row_in_another_competitions_grammar_is_an_error_naming_its_line():
    """The issue's case: podium's `class score x1 y1 x2 y2` row against Global Wheat's format."""
    rows = pd.DataFrame({"image_id": ["a"], "PredictionString": ["wheat 0.8 10 20 110 220"]})
    with pytest.raises(SubmissionError, match=r"line 2 \(image_id a\).*score x_min y_min width height"):
        parse_detection(rows, ["wheat"], {}, WHEAT)
    rows = pd.DataFrame({"image_id": ["a"], "PredictionString": ["wheat 0.8 10 20 110 220 3 4 5 6"]})
    with pytest.raises(SubmissionError, match="line 2 .*score must be a number"):
        parse_detection(rows, ["wheat"], {}, WHEAT)


def test_vinbigdata_rows_carry_class_ids_and_its_no_finding_row():
    classes = [f"c{i}" for i in range(15)]
    preds = [
        ImagePredictions("x.dicom", 100, 100, [[1, 2, 30, 40]], [0.5], [3]),
        ImagePredictions("y.dicom", 100, 100, [], [], []),
    ]
    rows = detection_rows(preds, classes, VINBIG)
    assert rows.PredictionString.tolist() == ["3 0.5000 1.0 2.0 30.0 40.0", "14 1 0 0 1 1"]
    sample = pd.DataFrame({"image_id": ["x", "y"], "PredictionString": ["14 1 0 0 1 1"] * 2})
    validate_detection(rows, sample, classes, {"x": (100, 100), "y": (100, 100)}, VINBIG)
    with pytest.raises(SubmissionError, match="without boxes is '14 1 0 0 1 1'"):
        parse_detection(rows.assign(PredictionString=["", ""]), classes, {}, VINBIG)
    with pytest.raises(SubmissionError, match="unknown class '15'"):
        parse_detection(rows.assign(PredictionString=["15 0.5 1 2 3 4", ""]).iloc[:1], classes, {}, VINBIG)


def test_rows_out_of_the_sample_order_are_refused():
    rows = detection_rows(_preds(), CLASSES, EMBEDDED)
    with pytest.raises(SubmissionError, match="order"):
        validate_detection(rows.iloc[::-1], SAMPLE, CLASSES, SIZES, EMBEDDED)


@pytest.mark.parametrize(
    "text, message",
    [
        ("dog 1.5 1 1 5 5", r"scores outside \[0, 1\]"),
        ("dog 0.5 1 1 500 5", "outside its 100x50 image"),
        ("dog 0.5 9 1 5 5", "x2 < x1"),
        ("dog 0.5 nan 1 5 5", "NaN"),
        ("cow 0.5 1 1 5 5", "unknown class"),
        ("dog 0.5 1 1 5", "not a multiple of 6"),
    ],
)
def test_invalid_rows_are_named(text, message):
    rows = pd.DataFrame({"image_id": ["a", "b"], "PredictionString": [text, ""]})
    with pytest.raises(SubmissionError, match=message):
        validate_detection(rows, SAMPLE, CLASSES, SIZES, EMBEDDED)


def test_ids_must_match_the_sample_submission():
    with pytest.raises(SubmissionError, match="missing"):
        validate_detection(SAMPLE.iloc[:1], SAMPLE, CLASSES, SIZES, EMBEDDED)
    with pytest.raises(SubmissionError, match="duplicated"):
        validate_detection(pd.concat([SAMPLE, SAMPLE.iloc[:1]]), SAMPLE, CLASSES, SIZES, EMBEDDED)
    audio = pd.DataFrame({"fname": ["x.wav"], "label": ["yes"]})
    with pytest.raises(SubmissionError, match="unknown label"):
        validate_audio(audio.assign(label="maybe"), audio, ["yes", "no"], AUDIO)


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


def test_boxes_on_resized_test_images_go_back_to_the_original_pixels(tmp_path):
    from podium.submission.formats import read_original_sizes, to_original_sizes

    (tmp_path / "sizes.csv").write_text("image_id,width,height\n007,400,200\n")
    originals = read_original_sizes(tmp_path / "sizes.csv")
    assert originals == {"007": (400, 200)}  # ids stay strings
    back = to_original_sizes([ImagePredictions("007.png", 100, 50, [[10, 5, 20, 25]], [0.5], [1])], originals)
    np.testing.assert_allclose(back[0].boxes, [[40, 20, 80, 100]])
    assert (back[0].width, back[0].height) == (400, 200)
    assert read_original_sizes(tmp_path / "none.csv") is None


def test_a_no_finding_class_puts_its_group_on_every_image_beside_the_best_boxes():
    """VinBigData: `14 <p> 0 0 1 1` on every image, p = 1 - the highest finding score, whatever max_boxes cuts."""
    from podium.submission.formats import submission_boxes

    fmt = _format(**{**VINBIG.__dict__, "no_finding": "c14"})
    classes = fmt.classes
    boxes = [[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 2, 2]]
    preds = [
        ImagePredictions("a.png", 64, 64, boxes, [0.3, 0.9, 0.5], [2, 3, 14]),  # a class-14 box: replaced
        ImagePredictions("b.png", 64, 64, [], [], []),
    ]
    kept = submission_boxes(preds, classes, fmt, max_boxes=2)
    rows = detection_rows(kept, classes, fmt, max_boxes=3)
    assert rows.PredictionString.tolist() == [
        "3 0.9000 5.0 5.0 20.0 20.0 2 0.3000 0.0 0.0 10.0 10.0 14 0.1000 0.0 0.0 1.0 1.0",
        "14 1.0000 0.0 0.0 1.0 1.0",
    ]
