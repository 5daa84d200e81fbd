"""K-fold assignment that never leaks a group across folds.

Folds come from scikit-learn's StratifiedGroupKFold: samples sharing a group (near-duplicate frames of one
scene, clips of one speaker) land in the same fold, and each fold gets a similar label mix. External samples
may be kept out of validation (fold -1): always trained on, so CV stays comparable to the competition's own
data. Augmented clones carry their parent's fold: a fold trains only on clones of the samples it trains on.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

TRAIN_ONLY = -1


def count_bucket(n: int) -> str:
    return "0" if n == 0 else "1-2" if n <= 2 else "3-5" if n <= 5 else "6+"


def detection_strata(labels_per_image: list[list[str]], domains: list[str | None] | None = None) -> list[str]:
    """Stratum per image: its domain where it has one (Global Wheat's `source`: each fold gets every site),
    else its most frequent class; and its box-count bucket. Strata with too few images to spread over folds
    are pooled into "rare" by `assign_folds`."""
    out = []
    for k, labels in enumerate(labels_per_image):
        top = Counter(labels).most_common(1)[0][0] if labels else "none"
        first = domains[k] if domains is not None and domains[k] is not None else top
        out.append(f"{first}|{count_bucket(len(labels))}")
    return out


def assign_folds(strata: list[str], groups: list[str], train_only: list[bool], n_folds: int, seed: int) -> np.ndarray:
    """Fold index per sample (0..n_folds-1, or TRAIN_ONLY where `train_only`)."""
    if n_folds < 2:
        raise ValueError(f"need at least 2 folds, got {n_folds}")
    folds = np.full(len(strata), TRAIN_ONLY, dtype=int)
    idx = np.array([i for i, t in enumerate(train_only) if not t], dtype=int)
    n_groups = len({groups[i] for i in idx})
    if n_groups < n_folds:
        raise ValueError(
            f"only {n_groups} distinct groups for {n_folds} folds: use fewer split_folds.folds or add data"
        )
    counts = Counter(strata[i] for i in idx)
    y = [strata[i] if counts[strata[i]] >= n_folds else "rare" for i in idx]
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for fold, (_, val) in enumerate(splitter.split(np.zeros(len(idx)), y, [groups[i] for i in idx])):
        folds[idx[val]] = fold
    return folds


def class_shares(labels: list[str]) -> dict[str, float]:
    """Each label's share of `labels` (a detection set's box classes, an audio set's clip labels), largest
    first."""
    counts = Counter(labels)
    return {label: n / len(labels) for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def fold_summary(folds: np.ndarray, labels: list[str]) -> dict:
    """{fold: {"samples": n, label: count}} for the report."""
    out = {}
    for fold in sorted(set(folds.tolist())):
        members = [labels[i] for i in np.nonzero(folds == fold)[0]]
        out[str(fold)] = {"samples": len(members), **dict(sorted(Counter(members).items()))}
    return out
