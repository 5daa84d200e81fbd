"""Box fusion compiled with numba: WBF, NMS, soft-NMS and NMW with ensemble-boxes 1.0.9's semantics.

Each function takes what ensemble-boxes takes (one array of boxes normalised to [0, 1], scores and labels per
prediction set, a weight per set) and returns what it returns, computed the way it computes it, step for
step: the same prefilter (score threshold, corners swapped and clipped to [0, 1], zero-area boxes dropped),
the same float32 accumulation in WBF's and NMW's weighted boxes, the same cluster matching and score
rescaling for every `conf_type`, soft-NMS's swap-and-decay loop, and the same output order (WBF and NMW: by
score; NMS and soft-NMS: by label, then as kept). tests/ensemble/test_fusion.py holds them to ensemble-boxes,
which stays the oracle, on hand-built cases and a seeded sweep.

Ties in score are the one place where "the same" needs a definition: ensemble-boxes orders boxes with
`argsort()[::-1]`, and numpy's default sort is not stable; with numpy 2's SIMD sorting its order among equal
values changes with the CPU (measured on this AVX2 machine: 12 of 200 random 4-element arrays with ties sort
differently from a stable sort, all 200 at 16 elements). podium defines it: by score, then input order (set,
then box). Outputs are identical to ensemble-boxes' whenever no two boxes of a label score exactly the same,
and otherwise may differ in the order of the tied boxes and in the clusters that order decides.

Documented quirks of the reference are kept (so a tuned ensemble means the same thing): WBF's `avg` can
score above 1 when one set puts two boxes in a cluster (ZFTurbo/Weighted-Boxes-Fusion#40; the fusion
adapter clips scores to [0, 1]); soft-NMS returns the kept boxes' *original* scores, not the decayed ones.
"""

from __future__ import annotations

import numpy as np
from numba import njit

CONF_TYPES = {"avg": 0, "max": 1, "box_and_model_avg": 2, "absent_model_aware_avg": 3}


def _stack(boxes_list, scores_list, labels_list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every set's boxes, scores, labels and set index, concatenated in input order (float64 / int64)."""
    boxes = [np.asarray(b, np.float64).reshape(-1, 4) for b in boxes_list]
    scores = [np.asarray(s, np.float64).reshape(-1) for s in scores_list]
    labels = [np.asarray(lab).reshape(-1) for lab in labels_list]
    for t, (b, s, lab) in enumerate(zip(boxes, scores, labels, strict=True)):
        if not len(b) == len(s) == len(lab):
            raise ValueError(f"set {t}: {len(b)} boxes, {len(s)} scores and {len(lab)} labels differ in length")
    sets = np.concatenate([np.full(len(s), t, np.int64) for t, s in enumerate(scores)] or [np.zeros(0, np.int64)])
    cat = np.concatenate
    return (
        cat(boxes) if boxes else np.zeros((0, 4)),
        cat(scores) if scores else np.zeros(0),
        cat(labels).astype(np.int64) if labels else np.zeros(0, np.int64),
        sets,
    )


def _weights(weights, n_sets: int) -> np.ndarray:
    if weights is None:
        return np.ones(n_sets)
    weights = np.asarray(weights, np.float64)
    if len(weights) != n_sets:
        raise ValueError(f"{len(weights)} weights for {n_sets} prediction sets")
    return weights


@njit(cache=True, error_model="numpy")
def _prefilter(boxes, scores, labels, sets, weights, thr):
    """ensemble-boxes' prefilter_boxes: rows (label, score * weight, weight, set, x1, y1, x2, y2) of the boxes
    scoring at least `thr`, corners swapped then clipped to [0, 1], zero-area boxes dropped; in input order."""
    n = len(scores)
    rows = np.empty((n, 8))
    k = 0
    for j in range(n):
        if scores[j] < thr:
            continue
        x1, y1, x2, y2 = boxes[j, 0], boxes[j, 1], boxes[j, 2], boxes[j, 3]
        if x2 < x1:
            x1, x2 = x2, x1
        if y2 < y1:
            y1, y2 = y2, y1
        x1 = min(max(x1, 0.0), 1.0)
        x2 = min(max(x2, 0.0), 1.0)
        y1 = min(max(y1, 0.0), 1.0)
        y2 = min(max(y2, 0.0), 1.0)
        if (x2 - x1) * (y2 - y1) == 0.0:
            continue
        t = sets[j]
        rows[k, 0] = labels[j]
        rows[k, 1] = scores[j] * weights[t]
        rows[k, 2] = weights[t]
        rows[k, 3] = t
        rows[k, 4], rows[k, 5], rows[k, 6], rows[k, 7] = x1, y1, x2, y2
        k += 1
    return rows[:k]


@njit(cache=True, error_model="numpy")
def _by_score(values):
    """Indices of `values` from the highest to the lowest; equal values in input order (a stable sort: a
    quicksort, then each run of equal values put back in index order)."""
    order = np.argsort(-values)
    n = len(order)
    start = 0
    while start < n:
        end = start + 1
        while end < n and values[order[end]] == values[order[start]]:
            end += 1
        if end - start > 1:
            order[start:end] = np.sort(order[start:end])
        start = end
    return order


@njit(cache=True, error_model="numpy")
def _label_groups(labels):
    """Distinct labels in order of first appearance, as ensemble-boxes' dict of labels iterates them."""
    seen = np.empty(len(labels), np.float64)
    k = 0
    for v in labels:
        new = True
        for i in range(k):
            if seen[i] == v:
                new = False
                break
        if new:
            seen[k] = v
            k += 1
    return seen[:k]


@njit(cache=True, error_model="numpy")
def _wbf_label(rows, weights, iou_thr, conf_type, allows_overflow):
    """WBF of one label's prefiltered rows (sorted by score): its clusters' rows, ensemble-boxes' layout."""
    n = len(rows)
    n_sets = len(weights)
    reps = np.empty((n, 8))
    acc = np.zeros((n, 4), np.float32)  # get_weighted_box's float32 running sum of score * coordinate
    conf = np.zeros(n)
    conf_max = np.zeros(n)
    wsum = np.zeros(n)
    count = np.zeros(n, np.int64)
    present = np.zeros((n, n_sets), np.bool_)
    rep_area = np.empty(n)
    k = 0
    for j in range(n):
        row = rows[j]
        x1, y1, x2, y2 = row[4], row[5], row[6], row[7]
        area = (x2 - x1) * (y2 - y1)
        top, best = -1.0, -1
        for c in range(k):  # bb_iou_array's arithmetic, in its order
            w = min(reps[c, 6], x2) - max(reps[c, 4], x1)
            h = min(reps[c, 7], y2) - max(reps[c, 5], y1)
            if w <= 0.0 or h <= 0.0:  # IoU 0 (the shortcut most pairs take)
                if top < 0.0:
                    top, best = 0.0, c
                continue
            inter = w * h
            iou = inter / (rep_area[c] + area - inter)
            if iou > top:  # numpy's argmax: the first of equal maxima
                top, best = iou, c
        if top <= iou_thr:
            best = -1
        c = best if best >= 0 else k
        if best < 0:
            reps[c] = row
            rep_area[c] = area
            k += 1
        for d in range(4):
            acc[c, d] = np.float32(np.float64(acc[c, d]) + row[1] * row[4 + d])
        conf[c] += row[1]
        conf_max[c] = max(conf_max[c], row[1]) if count[c] > 0 else row[1]
        wsum[c] += row[2]
        count[c] += 1
        present[c, int(row[3])] = True
        if count[c] > 1:  # get_weighted_box: a float32 box, stored back into the float64 table
            reps[c, 0] = np.float32(row[0])
            reps[c, 1] = np.float32(conf[c] / count[c]) if conf_type != 1 else np.float32(conf_max[c])
            reps[c, 2] = np.float32(wsum[c])
            reps[c, 3] = -1.0
            for d in range(4):
                reps[c, 4 + d] = np.float32(np.float64(acc[c, d]) / conf[c])
            rep_area[c] = (reps[c, 6] - reps[c, 4]) * (reps[c, 7] - reps[c, 5])
    total, heaviest = weights.sum(), weights.max()
    for c in range(k):
        if conf_type == 2:  # box_and_model_avg
            reps[c, 1] = reps[c, 1] * count[c] / reps[c, 2]
            reps[c, 1] = reps[c, 1] * weights[present[c]].sum() / total
        elif conf_type == 3:  # absent_model_aware_avg
            reps[c, 1] = reps[c, 1] * count[c] / (reps[c, 2] + weights[~present[c]].sum())
        elif conf_type == 1:  # max
            reps[c, 1] = reps[c, 1] / heaviest
        elif not allows_overflow:
            reps[c, 1] = reps[c, 1] * min(n_sets, count[c]) / total
        else:
            reps[c, 1] = reps[c, 1] * count[c] / total
    return reps[:k]


@njit(cache=True, error_model="numpy")
def _wbf(boxes, scores, labels, sets, weights, iou_thr, skip_box_thr, conf_type, allows_overflow):
    rows = _prefilter(boxes, scores, labels, sets, weights, skip_box_thr)
    out = np.empty((len(rows), 8))
    k = 0
    for label in _label_groups(rows[:, 0]):
        mine = rows[rows[:, 0] == label]
        fused = _wbf_label(mine[_by_score(mine[:, 1])], weights, iou_thr, conf_type, allows_overflow)
        out[k : k + len(fused)] = fused
        k += len(fused)
    out = out[:k]
    return out[_by_score(out[:, 1])]


def weighted_boxes_fusion(
    boxes_list, scores_list, labels_list, weights=None, iou_thr=0.55, skip_box_thr=0.0, conf_type="avg",
    allows_overflow=False,
):  # fmt: skip
    """ensemble_boxes.weighted_boxes_fusion, compiled: (boxes (N, 4), scores (N,), labels (N,))."""
    if conf_type not in CONF_TYPES:
        raise ValueError(f"unknown conf_type {conf_type!r}; valid: {list(CONF_TYPES)}")
    boxes, scores, labels, sets = _stack(boxes_list, scores_list, labels_list)
    out = _wbf(
        boxes, scores, labels, sets, _weights(weights, len(boxes_list)), float(iou_thr), float(skip_box_thr),
        CONF_TYPES[conf_type], bool(allows_overflow),
    )  # fmt: skip
    return out[:, 4:], out[:, 1], out[:, 0]


@njit(cache=True, error_model="numpy")
def _prepare(boxes):
    """ensemble-boxes' prepare_boxes (NMS family): coordinates clipped to [0, 1], then corners ordered; the
    mask of boxes with a non-zero area."""
    out = np.empty_like(boxes)
    nonzero = np.empty(len(boxes), np.bool_)
    for j in range(len(boxes)):
        a = min(max(boxes[j, 0], 0.0), 1.0)
        b = min(max(boxes[j, 1], 0.0), 1.0)
        c = min(max(boxes[j, 2], 0.0), 1.0)
        d = min(max(boxes[j, 3], 0.0), 1.0)
        out[j, 0], out[j, 1], out[j, 2], out[j, 3] = min(a, c), min(b, d), max(a, c), max(b, d)
        nonzero[j] = (out[j, 2] - out[j, 0]) * (out[j, 3] - out[j, 1]) != 0
    return out, nonzero


@njit(cache=True, error_model="numpy")
def _nms_keep(boxes, scores, iou_thr):
    """Greedy NMS (ensemble-boxes' nms_float_fast): kept indices, best first.

    Boxes are bucketed by x1 (a counting sort into n bins over [0, 1]; coordinates are clipped there), laid out
    bucket by bucket, and each kept box tests only the buckets from the first whose boxes can reach its x1 to
    the one holding its x2: no box outside them overlaps it, so the decisions are the reference's with far
    fewer pair tests (a negative threshold, where IoU 0 suppresses too, tests every box). The pair test is
    branch-free: its branches on random data cost more than the arithmetic they would skip."""
    n = len(scores)
    order = _by_score(scores)
    nb = max(n, 1)
    bins = np.empty(n, np.int64)
    start = np.zeros(nb + 1, np.int64)
    for j in range(n):
        bins[j] = min(int(boxes[j, 0] * nb), nb - 1)
        start[bins[j] + 1] += 1
    for b in range(nb):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    x1, y1, x2, y2, area = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    pos = np.empty(n, np.int64)  # box index -> its place in the bucketed layout
    for j in range(n):
        p = fill[bins[j]]
        fill[bins[j]] += 1
        pos[j] = p
        x1[p], y1[p], x2[p], y2[p] = boxes[j, 0], boxes[j, 1], boxes[j, 2], boxes[j, 3]
        area[p] = (x2[p] - x1[p]) * (y2[p] - y1[p])
    reach = np.empty(nb)  # the largest x2 among the boxes of buckets 0..b
    top = -np.inf
    for b in range(nb):
        for p in range(start[b], start[b + 1]):
            top = max(top, x2[p])
        reach[b] = top
    rank = np.empty(n, np.int64)  # place in score order, by layout place
    for a in range(n):
        rank[pos[order[a]]] = a
    alive = np.ones(n, np.bool_)
    keep = np.empty(n, np.int64)
    k = 0
    for a in range(n):
        i = order[a]
        q = pos[i]
        if not alive[q]:
            continue
        keep[k] = i
        k += 1
        ix1, iy1, ix2, iy2, iarea = x1[q], y1[q], x2[q], y2[q], area[q]
        if iou_thr < 0.0:
            lo, hi = 0, n
        else:
            lo = start[np.searchsorted(reach, ix1, side="right")]
            hi = start[min(int(ix2 * nb), nb - 1) + 1]
        for p in range(lo, hi):
            w = max(min(ix2, x2[p]) - max(ix1, x1[p]), 0.0)
            h = max(min(iy2, y2[p]) - max(iy1, y1[p]), 0.0)
            inter = w * h
            gone = (inter / (iarea + area[p] - inter) > iou_thr) & (rank[p] > a)
            alive[p] = alive[p] & ~gone  # numba: ~ of a bool is `not`
    return keep[:k]


@njit(cache=True, error_model="numpy")
def _soft_nms_keep(boxes, scores, iou_thr, sigma, thresh, method):
    """ensemble-boxes' cpu_soft_nms_float: move the best remaining box to the front, decay the rest (1 linear,
    2 gaussian); kept indices (decayed score above `thresh`) in their final positions' order."""
    n = len(scores)
    x1, y1 = boxes[:, 0].copy(), boxes[:, 1].copy()
    x2, y2 = boxes[:, 2].copy(), boxes[:, 3].copy()
    sc = scores.copy()
    index = np.arange(n)
    areas = (x2 - x1) * (y2 - y1)
    for i in range(n):
        if i != n - 1:
            pos = i + 1
            for j in range(i + 2, n):  # np.argmax: the first of equal maxima
                if sc[j] > sc[pos]:
                    pos = j
            if sc[i] < sc[pos]:
                x1[i], x1[pos] = x1[pos], x1[i]
                y1[i], y1[pos] = y1[pos], y1[i]
                x2[i], x2[pos] = x2[pos], x2[i]
                y2[i], y2[pos] = y2[pos], y2[i]
                sc[i], sc[pos] = sc[pos], sc[i]
                areas[i], areas[pos] = areas[pos], areas[i]
                index[i], index[pos] = index[pos], index[i]
        ix1, iy1, ix2, iy2, iarea = x1[i], y1[i], x2[i], y2[i], areas[i]
        for j in range(i + 1, n):
            w = min(ix2, x2[j]) - max(ix1, x1[j])
            h = min(iy2, y2[j]) - max(iy1, y1[j])
            if w <= 0.0 or h <= 0.0:  # no overlap: every method leaves the score as it is
                continue
            inter = w * h
            ovr = inter / (iarea + areas[j] - inter)
            if method == 1:
                if ovr > iou_thr:
                    sc[j] = (1.0 - ovr) * sc[j]
            elif method == 2:
                sc[j] = np.exp(-(ovr * ovr) / sigma) * sc[j]
            elif ovr > iou_thr:
                sc[j] = 0.0
    return index[sc > thresh]


@njit(cache=True, error_model="numpy")
def _nms_family(boxes, scores, labels, method, iou_thr, sigma, thresh):
    boxes, nonzero = _prepare(boxes)
    boxes, scores, labels = boxes[nonzero], scores[nonzero], labels[nonzero]
    # grouped by label (ascending, as np.unique iterates), each group in input order
    n = len(labels)
    order = np.empty(n, np.int64)
    k = 0
    for label in np.sort(_label_groups(labels)):
        for j in range(n):
            if labels[j] == label:
                order[k] = j
                k += 1
    boxes, scores, labels = boxes[order], scores[order], labels[order]
    out = np.empty(n, np.int64)
    k = 0
    start = 0
    while start < n:
        end = start + 1
        while end < n and labels[end] == labels[start]:
            end += 1
        if method == 3:
            keep = _nms_keep(boxes[start:end].copy(), scores[start:end].copy(), iou_thr)
        else:
            keep = _soft_nms_keep(boxes[start:end].copy(), scores[start:end].copy(), iou_thr, sigma, thresh, method)
        for i in keep:
            out[k] = start + i
            k += 1
        start = end
    kept = out[:k]
    # soft-NMS too: the original scores of the kept boxes (ensemble-boxes does so)
    return boxes[kept], scores[kept], labels[kept]


def _nms_method(boxes_list, scores_list, labels_list, method, iou_thr, sigma, thresh, weights):
    boxes, scores, labels, sets = _stack(boxes_list, scores_list, labels_list)
    if weights is not None:  # ensemble-boxes: each set's scores * its weight / the weights' sum
        w = _weights(weights, len(boxes_list))
        scores = scores * w[sets] / w.sum()
    return _nms_family(boxes, scores, labels.astype(np.float64), method, float(iou_thr), float(sigma), float(thresh))


def nms(boxes, scores, labels, iou_thr=0.5, weights=None):
    """ensemble_boxes.nms, compiled."""
    return _nms_method(boxes, scores, labels, 3, iou_thr, 0.5, 0.001, weights)


def soft_nms(boxes, scores, labels, method=2, iou_thr=0.5, sigma=0.5, thresh=0.001, weights=None):
    """ensemble_boxes.soft_nms, compiled (method 1 linear, 2 gaussian)."""
    return _nms_method(boxes, scores, labels, method, iou_thr, sigma, thresh, weights)


@njit(cache=True, error_model="numpy")
def _nmw(boxes, scores, labels, sets, weights, iou_thr, skip_box_thr):
    rows = _prefilter(boxes, scores, labels, sets, weights, skip_box_thr)
    out = np.empty((len(rows), 6))
    k = 0
    for label in _label_groups(rows[:, 0]):
        mine = rows[rows[:, 0] == label]
        mine = mine[_by_score(mine[:, 1])]
        n = len(mine)
        main = np.empty(n, np.int64)  # each cluster's first (best) row, never updated
        member_of = np.empty(n, np.int64)
        clusters = 0
        for j in range(n):
            best, best_iou = -1, iou_thr
            for c in range(clusters):
                m = mine[main[c]]
                iou = _nmw_iou(m[4:], mine[j, 4:])
                if iou > best_iou:
                    best, best_iou = c, iou
            if best < 0:
                main[clusters] = j
                best = clusters
                clusters += 1
            member_of[j] = best
        for c in range(clusters):
            head = mine[main[c]]
            acc = np.zeros(4, np.float32)
            conf = 0.0
            for j in range(n):
                if member_of[j] == c:
                    weight = mine[j, 1] * _nmw_iou(mine[j, 4:], head[4:])
                    for d in range(4):
                        acc[d] = np.float32(np.float64(acc[d]) + weight * mine[j, 4 + d])
                    conf += weight
            out[k, 0] = np.float32(head[0])
            out[k, 1] = np.float32(head[1])
            for d in range(4):
                out[k, 2 + d] = np.float32(np.float64(acc[d]) / conf)
            k += 1
    out = out[:k]
    return out[_by_score(out[:, 1])]


@njit(cache=True, error_model="numpy")
def _nmw_iou(a, b):
    """ensemble-boxes' NMW bb_intersection_over_union (0 for no overlap)."""
    xa, ya = max(a[0], b[0]), max(a[1], b[1])
    xb, yb = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, xb - xa) * max(0.0, yb - ya)
    if inter == 0:
        return 0.0
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def non_maximum_weighted(boxes_list, scores_list, labels_list, weights=None, iou_thr=0.55, skip_box_thr=0.0):
    """ensemble_boxes.non_maximum_weighted, compiled."""
    boxes, scores, labels, sets = _stack(boxes_list, scores_list, labels_list)
    w = _weights(weights, len(boxes_list))
    out = _nmw(boxes, scores, labels, sets, w / w.max(), float(iou_thr), float(skip_box_thr))
    return out[:, 2:], out[:, 1], out[:, 0]
