"""Out-of-fold probabilities: one table per (model, fold), joined into one per model.

An OOF table has columns `fname, label, fold, p_<class>...` (probabilities in the class order of the
checkpoint). The join fails unless every competition clip with a validation fold appears exactly once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from podium.data.folds import check_coverage
from podium.errors import PodiumError

PROB_PREFIX = "p_"


class OOFError(PodiumError, ValueError):
    """Out-of-fold predictions that do not cover the training data exactly once."""


def oof_table(fnames: list[str], labels: list[str], fold: int, proba: np.ndarray, classes: list[str]) -> pd.DataFrame:
    if proba.shape != (len(fnames), len(classes)):
        raise ValueError(f"probabilities of shape {proba.shape} for {len(fnames)} clips and {len(classes)} classes")
    table = pd.DataFrame({"fname": fnames, "label": labels, "fold": fold})
    return pd.concat([table, pd.DataFrame(proba, columns=[PROB_PREFIX + c for c in classes])], axis=1)


def classes_of(table: pd.DataFrame) -> list[str]:
    return [c[len(PROB_PREFIX):] for c in table.columns if c.startswith(PROB_PREFIX)]


def join_oof(parts: dict[int, pd.DataFrame], folds: pd.DataFrame, where: str) -> pd.DataFrame:
    """Concatenate per-fold OOF tables; check they cover exactly the validation clips of `folds`
    (columns fname, fold; fold -1 = never validated). `where` names the model in error messages."""
    expected_folds = sorted(int(f) for f in folds.fold.unique() if f >= 0)
    if missing := sorted(set(expected_folds) - set(parts)):
        raise OOFError(f"{where}: no OOF predictions for fold(s) {missing}; train them first")
    class_lists = {k: classes_of(t) for k, t in parts.items()}
    if len({tuple(c) for c in class_lists.values()}) > 1:
        raise OOFError(f"{where}: folds were trained on different class lists {class_lists}; retrain them")
    joined = pd.concat([parts[k] for k in expected_folds], ignore_index=True)
    expected = dict(zip(folds.fname[folds.fold >= 0], folds.fold[folds.fold >= 0], strict=True))
    check_coverage(list(zip(joined.fname, joined.fold, strict=True)), expected, where, OOFError)
    return joined
