"""Joining one detector's per-fold out-of-fold predictions into one set, checked for coverage."""

from __future__ import annotations

import pandas as pd

from podium.data.folds import check_coverage
from podium.detection.predictions import ImagePredictions, PredictionError


def join_oof(parts: dict[int, tuple[list[str], list[ImagePredictions]]], folds: pd.DataFrame,
             where: str) -> tuple[list[str], list[ImagePredictions]]:
    """(classes, predictions) of all folds; every image with a validation fold (folds: file_name, fold) must
    be predicted exactly once, by the model of its own fold."""
    expected = sorted(int(f) for f in folds.fold.unique() if f >= 0)
    if missing := sorted(set(expected) - set(parts)):
        raise PredictionError(f"{where}: no OOF predictions for fold(s) {missing}; train them first")
    class_lists = {tuple(classes) for classes, _ in parts.values()}
    if len(class_lists) > 1:
        raise PredictionError(f"{where}: folds were trained on different class lists {class_lists}")
    joined = [p for k in expected for p in parts[k][1]]
    want = dict(zip(folds.file_name[folds.fold >= 0], folds.fold[folds.fold >= 0], strict=True))
    check_coverage([(p.file_name, p.fold) for p in joined], want, where, PredictionError)
    return list(next(iter(class_lists))), joined
