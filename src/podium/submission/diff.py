"""What changed between two submissions: boxes per image, matched-IoU agreement, class and score shifts
(detection); label agreement (audio)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from podium.boxes import ImagePredictions


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of x1,y1,x2,y2 boxes."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def diff_detection(
    a: list[ImagePredictions], b: list[ImagePredictions], iou_thr: float = 0.5, score_thr: float = 0.3
) -> dict:
    """Boxes scoring >= `score_thr` in both submissions are matched greedily (highest IoU first, >= `iou_thr`)."""
    b_by = {p.file_name: p for p in b}
    matched = only_a = only_b = class_changed = 0
    ious, score_shift, per_image = [], [], []
    for pa in a:
        pb = b_by.get(pa.file_name)
        keep_a = pa.scores >= score_thr
        boxes_a, labels_a, scores_a = pa.boxes[keep_a], pa.labels[keep_a], pa.scores[keep_a]
        if pb is None:
            only_a += len(boxes_a)
            continue
        keep_b = pb.scores >= score_thr
        boxes_b, labels_b, scores_b = pb.boxes[keep_b], pb.labels[keep_b], pb.scores[keep_b]
        per_image.append(len(boxes_b) - len(boxes_a))
        iou = iou_matrix(boxes_a, boxes_b)
        used_a, used_b = set(), set()
        for i, j in sorted(np.argwhere(iou >= iou_thr).tolist(), key=lambda ij: -iou[ij[0], ij[1]]):
            if i in used_a or j in used_b:
                continue
            used_a.add(i)
            used_b.add(j)
            ious.append(iou[i, j])
            score_shift.append(scores_b[j] - scores_a[i])
            class_changed += int(labels_a[i] != labels_b[j])
        matched += len(used_a)
        only_a += len(boxes_a) - len(used_a)
        only_b += len(boxes_b) - len(used_b)
    total = matched + only_a + only_b
    return {
        "images": len(a),
        "boxes_a": matched + only_a,
        "boxes_b": matched + only_b,
        "matched": matched,
        "only_in_a": only_a,
        "only_in_b": only_b,
        "agreement": matched / total if total else 1.0,
        "mean_matched_iou": float(np.mean(ious)) if ious else None,
        "class_changed": class_changed,
        "mean_score_shift": float(np.mean(score_shift)) if score_shift else None,
        "mean_box_count_change": float(np.mean(per_image)) if per_image else 0.0,
        "images_with_more_boxes_in_b": int(sum(d > 0 for d in per_image)),
        "images_with_fewer_boxes_in_b": int(sum(d < 0 for d in per_image)),
    }


def diff_audio(a: pd.DataFrame, b: pd.DataFrame, id_column: str = "fname", column: str = "label") -> dict:
    merged = a.merge(b, on=id_column, suffixes=("_a", "_b"))
    label_a, label_b = f"{column}_a", f"{column}_b"
    changed = merged[merged[label_a] != merged[label_b]]
    return {
        "clips": len(merged),
        "agreement": float((merged[label_a] == merged[label_b]).mean()) if len(merged) else 1.0,
        "changed": len(changed),
        "top_changes": changed.groupby([label_a, label_b])
        .size()
        .sort_values(ascending=False)
        .head(10)
        .rename("count")
        .reset_index()
        .rename(columns={label_a: "label_a", label_b: "label_b"})
        .to_dict("records"),
    }
