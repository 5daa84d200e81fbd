"""Classification scores: accuracy, macro-F1, per-class recall (DVCLive draws the confusion matrix)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score, recall_score


def classification_scores(y_true: list[str], y_pred: list[str], classes: list[str]) -> dict:
    """{"accuracy", "macro_f1", "recall": {class: recall}} for string labels."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} labels but {len(y_pred)} predictions")
    if not y_true:
        raise ValueError("no samples to score")
    recall = recall_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
    return {
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
        "macro_f1": float(f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)),
        "recall": {c: float(r) for c, r in zip(classes, recall, strict=True)},
    }
