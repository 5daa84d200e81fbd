"""Class probabilities as podium stores and passes them around (the audio side's prediction type, neutral:
below audio, ensemble and submission), and the OOF join.

A probability table has columns `fname, label, fold, p_<class>...` (probabilities in the class order of the
checkpoint; `label` is the truth for OOF rows, empty for test rows; `fold` -1 for test rows). One table per
(model, fold) and set (oof, test); a model's folds' OOF tables join into one that must cover every validated
clip exactly once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from podium.coverage import check_coverage, validation_folds
from podium.errors import PredictionError
from podium.files import fold_dir

PROB_PREFIX = "p_"


def proba_table(fnames: list[str], labels: list[str], fold: int, proba: np.ndarray, classes: list[str]) -> pd.DataFrame:
    if proba.shape != (len(fnames), len(classes)):
        raise ValueError(f"probabilities of shape {proba.shape} for {len(fnames)} clips and {len(classes)} classes")
    table = pd.DataFrame({"fname": fnames, "label": labels, "fold": fold})
    return pd.concat([table, pd.DataFrame(proba, columns=[PROB_PREFIX + c for c in classes])], axis=1)


def classes_of(table: pd.DataFrame) -> list[str]:
    return [c[len(PROB_PREFIX) :] for c in table.columns if c.startswith(PROB_PREFIX)]


def probabilities(table: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """(N, C) probabilities of `table`'s rows in `classes` order."""
    return table[[PROB_PREFIX + c for c in classes]].to_numpy()


def write_table(path: str | Path, table: pd.DataFrame, model: str, fold: int) -> None:
    """A probability table with the (model, fold) that made it in a one-line header comment, so a file copied
    to another fold's place is refused on reading."""
    with open(path, "w", newline="") as f:
        f.write(f"# model={model} fold={fold}\n")
        table.to_csv(f, index=False)


def read_table(path: Path, model: str, fold: int, stage: str) -> pd.DataFrame:
    """The table `write_table` wrote for `model`'s fold `fold`; `stage` names the dvc.yaml stage remaking it."""
    if not path.exists():
        raise PredictionError(f"{path}: missing; run {stage}@{model}-{fold}")
    with open(path) as f:
        header = f.readline().strip()
        if header != f"# model={model} fold={fold}":
            made_by = header.removeprefix("# ") if header.startswith("# model=") else "an unknown (model, fold)"
            raise PredictionError(
                f"{path}: made by {made_by}, not model={model} fold={fold}; rerun {stage}@{model}-{fold}"
            )
        return pd.read_csv(f, keep_default_na=False)


def join_oof(parts: dict[int, pd.DataFrame], folds: pd.DataFrame, where: str) -> pd.DataFrame:
    """Concatenate per-fold OOF tables; check they cover exactly the validation clips of `folds`
    (columns fname, fold; fold -1 = never validated). `where` names the model in error messages."""
    expected_folds = validation_folds(folds)
    if missing := sorted(set(expected_folds) - set(parts)):
        raise PredictionError(f"{where}: no OOF predictions for fold(s) {missing}; train them first")
    class_lists = {k: classes_of(t) for k, t in parts.items()}
    if len({tuple(c) for c in class_lists.values()}) > 1:
        raise PredictionError(f"{where}: folds were trained on different class lists {class_lists}; retrain them")
    joined = pd.concat([parts[k] for k in expected_folds], ignore_index=True)
    expected = dict(zip(folds.fname[folds.fold >= 0], folds.fold[folds.fold >= 0], strict=True))
    check_coverage(list(zip(joined.fname, joined.fold, strict=True)), expected, where, PredictionError)
    return joined


Tables = dict[str, list[tuple[str, pd.DataFrame]]]  # model -> [(file it was read from, probability table), ...]


def read_model_sets(root: Path, models: list[str], folds: list[int], name: str) -> Tables:
    """{model: [(path, fold 0 table), (path, fold 1 table), ...]} of predict_audio's `name` (oof or test) tables
    under `root` (predictions/): audio/<model>/fold<k>/<name>.csv."""
    out: Tables = {}
    for model in models:
        paths = [fold_dir(root / "audio" / model, fold) / f"{name}.csv" for fold in folds]
        out[model] = [
            (str(path), read_table(path, model, fold, "predict_audio")) for path, fold in zip(paths, folds, strict=True)
        ]
    return out


def read_model_oof(root: Path, model: str, folds_table: pd.DataFrame) -> pd.DataFrame:
    """One model's folds' OOF tables joined, each validated clip exactly once."""
    folds = validation_folds(folds_table)
    parts = [table for _, table in read_model_sets(root, [model], folds, "oof")[model]]
    return join_oof(dict(zip(folds, parts, strict=True)), folds_table, str(root / "audio" / model))


def align(tables: Tables) -> tuple[list[str], pd.DataFrame, dict[str, list[np.ndarray]]]:
    """(classes, the rows of the first table (fname, label, fold), {model: [(N, C) probabilities in that row
    order, one per table]}). Every table must hold the same clips once each and the same classes; an error
    names the file that does not."""
    first = next(iter(tables.values()))[0][1]
    classes, rows = classes_of(first), first[["fname", "label", "fold"]].reset_index(drop=True)
    probas = {}
    for model, parts in tables.items():
        probas[model] = []
        for name, table in parts:
            if classes_of(table) != classes:
                raise PredictionError(f"{name}: classes {classes_of(table)} differ from {classes}")
            if dup := sorted(table.fname[table.fname.duplicated()].unique()):
                raise PredictionError(f"{name}: {len(dup)} clip(s) appear twice, e.g. {dup[:3]}; rerun its stage")
            if missing := sorted(set(rows.fname) - set(table.fname)):
                raise PredictionError(f"{name}: no row for {len(missing)} clip(s), e.g. {missing[:3]}; rerun its stage")
            if extra := sorted(set(table.fname) - set(rows.fname)):
                raise PredictionError(f"{name}: rows for {len(extra)} unexpected clip(s), e.g. {extra[:3]}")
            probas[model].append(probabilities(table.set_index("fname").loc[rows.fname], classes))
    return classes, rows, probas


def read_oof_aligned(
    root: Path,
    models: list[str],
    folds_table: pd.DataFrame,
) -> tuple[list[str], pd.DataFrame, dict[str, np.ndarray]]:
    """(classes, the joined rows of the first model (fname, label, fold), {model: (N, C) probabilities in that
    row order})."""
    joined = {model: [(str(root / "audio" / model), read_model_oof(root, model, folds_table))] for model in models}
    classes, rows, probas = align(joined)
    return classes, rows, {m: p[0] for m, p in probas.items()}
