"""Reading the prediction stages' outputs: per model, its folds' OOF (joined, coverage-checked) and its
folds' test sets. Layout: <predictions>/{detection,audio}/<model>/fold<k>/{oof,test}.{json,csv}."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from podium.audio import oof as audio_oof
from podium.detection.oof import join_oof
from podium.detection.predictions import ImagePredictions, PredictionError, read_predictions


def detection_sets(root: Path, models: list[str], folds: list[int], name: str,
                   ) -> tuple[list[str], dict[str, list[list[ImagePredictions]]]]:
    """(classes, {model: [fold 0 set, fold 1 set, ...]}) of `name` (oof or test) predictions."""
    classes, sets = None, {}
    for model in models:
        sets[model] = []
        for fold in folds:
            path = root / "detection" / model / f"fold{fold}" / f"{name}.json"
            if not path.exists():
                raise PredictionError(f"{path}: missing; run predict_detector@{model}-{fold}")
            cls, preds, meta = read_predictions(path)
            if (meta.get("model"), meta.get("fold")) != (model, fold):
                raise PredictionError(f"{path}: made by {meta.get('model')} fold {meta.get('fold')}, "
                                      f"not {model} fold {fold}; rerun predict_detector@{model}-{fold}")
            if classes is not None and cls != classes:
                raise PredictionError(f"{path}: classes {cls} differ from the other models' {classes}")
            classes = cls
            sets[model].append(preds)
    return classes, sets


def detection_oof(root: Path, models: list[str], folds_table: pd.DataFrame,
                  ) -> tuple[list[str], dict[str, list[ImagePredictions]]]:
    """(classes, {model: its folds' OOF predictions joined, each training image exactly once})."""
    folds = sorted(int(f) for f in folds_table.fold.unique() if f >= 0)
    classes, sets = detection_sets(root, models, folds, "oof")
    joined = {}
    for model, per_fold in sets.items():
        _, joined[model] = join_oof({k: (classes, s) for k, s in zip(folds, per_fold, strict=True)}, folds_table,
                                    where=str(root / "detection" / model))
    return classes, joined


def audio_sets(root: Path, models: list[str], folds: list[int], name: str) -> dict[str, list[pd.DataFrame]]:
    out = {}
    for model in models:
        out[model] = []
        for fold in folds:
            path = root / "audio" / model / f"fold{fold}" / f"{name}.csv"
            if not path.exists():
                raise audio_oof.OOFError(f"{path}: missing; run predict_audio@{model}-{fold}")
            out[model].append(pd.read_csv(path, keep_default_na=False))
    return out


def audio_oof_probas(root: Path, models: list[str], folds_table: pd.DataFrame,
                     ) -> tuple[list[str], pd.DataFrame, dict[str, np.ndarray]]:
    """(classes, the joined rows of the first model (fname, label, fold), {model: (N, C) probabilities in that
    row order})."""
    folds = sorted(int(f) for f in folds_table.fold.unique() if f >= 0)
    sets = audio_sets(root, models, folds, "oof")
    rows, probas, classes = None, {}, None
    for model, parts in sets.items():
        joined = audio_oof.join_oof(dict(zip(folds, parts, strict=True)), folds_table, str(root / "audio" / model))
        cls = audio_oof.classes_of(joined)
        if classes is not None and cls != classes:
            raise audio_oof.OOFError(f"{model}: classes {cls} differ from the other models' {classes}")
        classes = cls
        joined = joined.set_index("fname")
        order = joined.index if rows is None else rows.fname
        if rows is None:
            rows = joined.reset_index()[["fname", "label", "fold"]]
        probas[model] = joined.loc[list(order), [audio_oof.PROB_PREFIX + c for c in cls]].to_numpy()
    return classes, rows, probas
