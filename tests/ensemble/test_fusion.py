"""podium's compiled box fusion (podium.ensemble.fusion) against ensemble-boxes 1.0.9, the oracle: hand-built
cases, the documented quirks, the defined order of equal scores, and a seeded sweep of a thousand images."""

import warnings

import ensemble_boxes as eb
import numpy as np
import pytest

from podium.ensemble import fusion

CONF_TYPES = list(fusion.CONF_TYPES)


def reference(name: str, boxes, scores, labels, /, **kw):
    """ensemble-boxes on copies (its NMS family writes into the score lists), warnings silenced."""
    boxes = [np.array(b, np.float64).reshape(-1, 4) for b in boxes]
    scores, labels = [np.array(s, np.float64) for s in scores], [np.array(lab) for lab in labels]
    fn = {"wbf": eb.weighted_boxes_fusion, "nms": eb.nms, "soft_nms": eb.soft_nms, "nmw": eb.non_maximum_weighted}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn[name](boxes, scores, labels, **kw)


def ours(name: str, boxes, scores, labels, /, **kw):
    fn = {
        "wbf": fusion.weighted_boxes_fusion,
        "nms": fusion.nms,
        "soft_nms": fusion.soft_nms,
        "nmw": fusion.non_maximum_weighted,
    }
    return fn[name](boxes, scores, labels, **kw)


def assert_same(a, b, ordered: bool = True):
    a = [np.asarray(x, np.float64) for x in a]
    b = [np.asarray(x, np.float64) for x in b]
    if not ordered:  # one canonical order: score, label, corners
        a, b = ([x[np.lexsort((*r[0].T[::-1], r[2], -r[1]))] for x in r] for r in (a, b))
    assert a[0].shape == b[0].shape, f"{len(a[0])} boxes vs {len(b[0])}"
    np.testing.assert_allclose(b[0], a[0], atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(b[1], a[1], atol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(b[2], a[2])


TWO_MODELS = (
    [[[0.10, 0.10, 0.30, 0.30], [0.50, 0.50, 0.70, 0.80], [0.12, 0.11, 0.31, 0.29]], [[0.11, 0.09, 0.29, 0.31]]],
    [[0.9, 0.6, 0.5], [0.8]],
    [[0, 1, 0], [0]],
)


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("allows_overflow", [False, True])
def test_wbf_two_models(conf_type, allows_overflow):
    kw = dict(weights=[2, 1], iou_thr=0.55, skip_box_thr=0.0, conf_type=conf_type, allows_overflow=allows_overflow)
    assert_same(reference("wbf", *TWO_MODELS, **kw), ours("wbf", *TWO_MODELS, **kw))


def test_wbf_avg_can_exceed_one_as_the_reference_does():
    """ZFTurbo/Weighted-Boxes-Fusion#40: one set with three boxes in a cluster of two sets, allows_overflow:
    0.9 * 3 / 2 = 1.35."""
    boxes = [[[0.1, 0.1, 0.5, 0.5], [0.1, 0.1, 0.5, 0.51], [0.1, 0.1, 0.51, 0.5]], [[0.6, 0.6, 0.9, 0.9]]]
    scores, labels = [[0.9, 0.9, 0.9], [0.5]], [[0, 0, 0], [0]]
    kw = dict(weights=[1, 1], conf_type="avg", allows_overflow=True)
    result = ours("wbf", boxes, scores, labels, **kw)
    assert result[1].max() > 1
    assert_same(reference("wbf", boxes, scores, labels, **kw), result)


@pytest.mark.parametrize("method", ["wbf", "nmw", "nms", "soft_nms"])
def test_one_set_empty_a_single_box_and_border_boxes(method):
    boxes = [[], [[0.0, 0.0, 1.0, 1.0], [-0.2, 0.5, 0.4, 1.3], [0.7, 0.2, 0.6, 0.1]]]  # border, outside, reversed
    scores, labels = [[], [0.7, 0.4, 0.3]], [[], [2, 2, 5]]
    assert_same(
        reference(method, boxes, scores, labels, weights=[1, 3]), ours(method, boxes, scores, labels, weights=[1, 3])
    )
    single = ([[[0.2, 0.2, 0.4, 0.4]]], [[0.5]], [[1]])
    assert_same(reference(method, *single, weights=[1]), ours(method, *single, weights=[1]))


@pytest.mark.parametrize("method", ["wbf", "nmw"])
def test_all_empty_gives_empty_arrays(method):
    boxes, scores, labels = ours(method, [[], []], [[], []], [[], []], weights=[1, 1])
    assert boxes.shape == (0, 4) and scores.shape == (0,) and labels.shape == (0,)
    assert_same(reference(method, [[], []], [[], []], [[], []], weights=[1, 1]), (boxes, scores, labels))


def test_nms_of_nothing_is_nothing_where_the_reference_fails():
    boxes, scores, labels = fusion.nms([[], []], [[], []], [[], []], weights=[1, 1])
    assert boxes.shape == (0, 4) and len(scores) == len(labels) == 0


def test_a_zero_weight_set_behaves_as_in_the_reference():
    kw = dict(weights=[1, 0], iou_thr=0.5)
    assert_same(reference("wbf", *TWO_MODELS, **kw), ours("wbf", *TWO_MODELS, **kw))
    assert_same(reference("nms", *TWO_MODELS, **kw), ours("nms", *TWO_MODELS, **kw))


def test_soft_nms_keeps_the_original_scores_as_the_reference_does():
    boxes = [[[0.1, 0.1, 0.5, 0.5], [0.12, 0.1, 0.5, 0.52], [0.6, 0.6, 0.8, 0.8]]]
    scores, labels = [[0.9, 0.8, 0.3]], [[0, 0, 0]]
    for method in (1, 2):
        result = ours("soft_nms", boxes, scores, labels, method=method, iou_thr=0.3, thresh=0.01)
        assert sorted(result[1].tolist()) == [0.3, 0.8, 0.9]
        assert_same(reference("soft_nms", boxes, scores, labels, method=method, iou_thr=0.3, thresh=0.01), result)


def test_equal_scores_come_in_input_order():
    """podium's defined order: by score, then set, then box (ensemble-boxes': numpy's unstable argsort)."""
    boxes = [[[0.0, 0.0, 0.1, 0.1], [0.2, 0.2, 0.3, 0.3]], [[0.4, 0.4, 0.5, 0.5], [0.6, 0.6, 0.7, 0.7]]]
    scores, labels = [[0.5, 0.7], [0.5, 0.5]], [[0, 0], [0, 0]]
    fused, fused_scores, _ = ours("wbf", boxes, scores, labels, weights=[1, 1])
    np.testing.assert_allclose(fused[:, 0], [0.2, 0.0, 0.4, 0.6])
    np.testing.assert_allclose(fused_scores, [0.35, 0.25, 0.25, 0.25])
    kept, _, _ = ours("nms", boxes, scores, labels, weights=[1, 1])
    np.testing.assert_allclose(kept[:, 0], [0.2, 0.0, 0.4, 0.6])


def random_image(rng: np.random.Generator):
    """One image's prediction sets: clusters of overlapping boxes around a few objects, noise boxes, some sets
    empty, many classes or one, boxes on and past the border, continuous scores (no two equal)."""
    n_sets = int(rng.integers(1, 6))
    n_labels = int(rng.choice([1, 3, 20]))
    centres = rng.uniform(-0.05, 1.05, (int(rng.integers(1, 6)), 2))
    boxes, scores, labels = [], [], []
    for _ in range(n_sets):
        n = 0 if rng.random() < 0.15 else int(rng.integers(1, 16))
        centre = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 0.02, (n, 2))
        size = rng.uniform(0.02, 0.3, (n, 2))
        b = np.hstack([centre - size / 2, centre + size / 2])
        if rng.random() < 0.2:
            b = b.clip(0, 1)  # boxes touching the border
        boxes.append(b)
        scores.append(rng.uniform(0, 1, n))
        labels.append(rng.integers(0, n_labels, n))
    weights = rng.choice([0.5, 1.0, 2.0, 3.0], n_sets)
    return boxes, scores, labels, weights


def test_a_seeded_sweep_of_a_thousand_images_matches_the_reference():
    rng = np.random.default_rng(2026)
    checked = 0
    for _ in range(1000):
        boxes, scores, labels, weights = random_image(rng)
        iou_thr = float(rng.choice([0.3, 0.5, 0.7]))
        skip = float(rng.choice([0.0, 0.2]))
        wbf = dict(conf_type=str(rng.choice(CONF_TYPES)), allows_overflow=bool(rng.random() < 0.5))
        cases = [("wbf", dict(skip_box_thr=skip, **wbf)), ("nmw", dict(skip_box_thr=skip))]
        if sum(len(s) for s in scores):  # ensemble-boxes' NMS family fails on all-empty input
            cases += [("nms", {}), ("soft_nms", dict(method=int(rng.choice([1, 2])), thresh=skip))]
        for method, kw in cases:
            kw = dict(weights=weights, iou_thr=iou_thr, **kw)
            try:
                expected = reference(method, boxes, scores, labels, **kw)
            except ValueError:  # its NMS family fails when no box has an area left after clipping: we give none
                expected = (np.zeros((0, 4)), np.zeros(0), np.zeros(0))
            assert_same(expected, ours(method, boxes, scores, labels, **kw))
            checked += 1
    assert checked > 3500


def test_tied_scores_of_duplicated_boxes_fuse_the_same_as_the_reference():
    """Ties where the reference's unstable order cannot change clusters: the same box and score predicted by
    several sets (TTA views often do). Compared in a canonical order."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        boxes, scores, labels, weights = random_image(rng)
        if not len(boxes[0]):
            continue
        boxes = [np.vstack([b, boxes[0]]) for b in boxes]
        scores = [np.concatenate([s, scores[0]]) for s in scores]
        labels = [np.concatenate([lab, labels[0]]) for lab in labels]
        for method in ("wbf", "nmw", "nms"):
            kw = dict(weights=weights, iou_thr=0.55)
            assert_same(
                reference(method, boxes, scores, labels, **kw), ours(method, boxes, scores, labels, **kw), False
            )


@pytest.mark.parametrize("iou_thr", [-0.1, 0.0, 0.05, 0.95])
def test_nms_buckets_miss_no_overlap_at_any_threshold(iou_thr):
    """podium's NMS tests only the x1 buckets a kept box can reach: boxes of every width (slivers, one spanning
    the image, ones past the border) and thresholds where IoU 0 suppresses (negative) or almost nothing does."""
    rng = np.random.default_rng(11)
    for _ in range(40):
        n = int(rng.integers(1, 300))
        x1y1 = rng.uniform(-0.1, 1.0, (n, 2))
        wh = rng.choice([0.001, 0.02, 0.2, 1.2], (n, 2)) * rng.uniform(0.5, 1.0, (n, 2))
        boxes = np.hstack([x1y1, x1y1 + wh])
        scores, labels = rng.uniform(0, 1, n), rng.integers(0, 2, n)
        split = int(rng.integers(0, n + 1))
        sets = ([boxes[:split], boxes[split:]], [scores[:split], scores[split:]], [labels[:split], labels[split:]])
        kw = dict(weights=[1.0, 2.0], iou_thr=iou_thr)
        assert_same(reference("nms", *sets, **kw), ours("nms", *sets, **kw))
