"""Box fusion: a WBF cluster checked on paper, and the inputs ensemble-boxes mishandles."""

import numpy as np
import pytest

from podium.boxes import ImagePredictions, PredictionError
from podium.ensemble import fuse_image, fuse_sets, rescore, threshold


def P(boxes, scores, labels, name="a.png", w=200, h=100):
    return ImagePredictions(name, w, h, boxes, scores, labels)


WBF = {"method": "wbf", "iou_thr": 0.55, "skip_box_thr": 0.0, "conf_type": "avg"}  # params.yaml's ensemble.box_*


def test_wbf_cluster_by_hand():
    # Two models see the same object: [10,10,50,50] @0.9 and [20,10,60,50] @0.6, weights 1 and 1.
    # WBF: score-weighted box = (0.9*b1 + 0.6*b2) / 1.5 = [14, 10, 54, 50]; conf avg = 0.75 * min(2, 2)/2 = 0.75
    pair = [P([[10, 10, 50, 50]], [0.9], [0]), P([[20, 10, 60, 50]], [0.6], [0])]
    fused = fuse_image(pair, [1, 1], **{**WBF, "iou_thr": 0.5})
    np.testing.assert_allclose(fused.boxes, [[14, 10, 54, 50]], atol=1e-3)
    np.testing.assert_allclose(fused.scores, [0.75], atol=1e-6)
    assert (fused.width, fused.height, fused.labels.tolist()) == (200, 100, [0])


def test_a_box_only_one_of_two_models_sees_is_down_weighted():
    fused = fuse_image([P([[10, 10, 50, 50]], [0.8], [0]), P([], [], [])], [1, 1], **WBF)
    np.testing.assert_allclose(fused.scores, [0.4], atol=1e-6)  # 0.8 * min(2, 1) / 2


def test_zero_weight_sets_are_left_out():
    fused = fuse_image([P([[10, 10, 50, 50]], [0.8], [0]), P([[100, 10, 150, 90]], [0.9], [1])], [1, 0], **WBF)
    assert fused.labels.tolist() == [0] and fused.scores.tolist() == pytest.approx([0.8])
    with pytest.raises(ValueError, match="at least one > 0"):
        fuse_image([P([], [], [])], [0], **WBF)


def test_no_boxes_anywhere_gives_an_empty_prediction():
    fused = fuse_image([P([], [], []), P([], [], [])], [1, 1], **WBF)
    assert fused.boxes.shape == (0, 4) and fused.file_name == "a.png"


@pytest.mark.parametrize(
    "boxes, message",
    [
        ([[50, 10, 10, 50]], "x2 < x1"),
        ([[10, 10, 250, 50]], "outside its 200x100 image"),
    ],
)
def test_bad_boxes_are_rejected_not_clipped(boxes, message):
    with pytest.raises(PredictionError, match=message):
        fuse_image([P(boxes, [0.5], [0])], [1], **WBF)


@pytest.mark.parametrize("method", ["nms", "soft_nms", "nmw", "wbf"])
def test_every_method_keeps_pixels_and_classes_apart(method):
    a = P([[10, 10, 50, 50], [100, 20, 180, 90]], [0.9, 0.7], [0, 1])
    b = P([[12, 10, 52, 50], [100, 20, 180, 90]], [0.8, 0.6], [0, 1])
    fused = fuse_image([a, b], [2, 1], **{**WBF, "method": method, "iou_thr": 0.5})
    assert sorted(set(fused.labels.tolist())) == [0, 1]
    assert fused.boxes.max() <= 200 and fused.boxes[:, 0].min() >= 9


def test_sets_must_cover_the_same_images():
    a = [P([], [], [], "x.png"), P([], [], [], "y.png")]
    with pytest.raises(PredictionError, match=r"model b: no predictions for 1 image\(s\), e.g. \['y.png'\]"):
        fuse_sets([a, a[:1]], [1, 1], names=["model a", "model b"], **WBF)
    assert [p.file_name for p in fuse_sets([a, a[::-1]], [1, 1], **WBF)] == ["x.png", "y.png"]


def test_rank_calibration_and_threshold():
    preds = [P([[0, 0, 1, 1]] * 2, [0.2, 0.9], [0, 0]), P([[0, 0, 1, 1]], [0.5], [0], "b.png")]
    ranked = rescore(preds, "rank")
    assert ranked[0].scores.tolist() == pytest.approx([1 / 3, 1.0])
    assert ranked[1].scores.tolist() == pytest.approx([2 / 3])
    assert [len(p.scores) for p in threshold(preds, 0.5)] == [1, 1]


def test_tta_views_fuse_with_the_merge_asked_for_and_one_view_is_kept_as_is():
    from podium.ensemble import fuse_views

    one = [P([[10, 10, 50, 50]], [0.9], [0])]
    assert fuse_views([one], "wbf", 0.55) is one
    other = [P([[20, 10, 60, 50]], [0.6], [0])]
    np.testing.assert_allclose(fuse_views([one, other], "wbf", 0.5)[0].boxes, [[14, 10, 54, 50]], atol=1e-3)
    np.testing.assert_allclose(fuse_views([one, other], "nms", 0.5)[0].boxes, [[10, 10, 50, 50]])
