"""Joining one detector's per-fold out-of-fold predictions into one set, checked for coverage."""

from __future__ import annotations

import pandas as pd

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
    names = pd.Series([p.file_name for p in joined])
    if dup := sorted(names[names.duplicated()].unique()):
        raise PredictionError(f"{where}: {len(dup)} image(s) predicted more than once, e.g. {dup[:5]}")
    want = dict(zip(folds.file_name[folds.fold >= 0], folds.fold[folds.fold >= 0], strict=True))
    got = {p.file_name: p.fold for p in joined}
    if missing := sorted(set(want) - set(got)):
        raise PredictionError(f"{where}: {len(missing)} training image(s) have no OOF prediction, e.g. {missing[:5]}")
    if extra := sorted(set(got) - set(want)):
        raise PredictionError(f"{where}: {len(extra)} OOF image(s) are not validation images, e.g. {extra[:5]}")
    if wrong := sorted(f for f in want if want[f] != got[f]):
        raise PredictionError(f"{where}: {len(wrong)} image(s) predicted by the wrong fold, e.g. {wrong[:5]}; "
                              "the folds changed since training: rerun the training stages")
    return list(next(iter(class_lists))), joined
