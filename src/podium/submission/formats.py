"""Submission CSVs: the one place predictions become competition rows, and rows become predictions again.

Detection: `image_id,PredictionString`, the string a space-separated run of `class score x_min y_min x_max
y_max` groups (class name, score in [0, 1], pixels of the original image); an image without boxes gets the
`empty` string. Audio: `fname,label`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from podium.boxes import ImagePredictions, box_problem
from podium.errors import PodiumError


class SubmissionError(PodiumError, ValueError):
    """A submission that would be rejected; nothing is written."""


def detection_rows(
    preds: list[ImagePredictions],
    classes: list[str],
    empty: str = "",
    max_boxes: int = 100,
) -> pd.DataFrame:
    rows = []
    for p in preds:
        order = np.argsort(-p.scores, kind="stable")[:max_boxes]
        groups = [
            f"{classes[p.labels[i]]} {p.scores[i]:.4f} " + " ".join(f"{v:.1f}" for v in p.boxes[i]) for i in order
        ]
        rows.append((Path(p.file_name).stem, " ".join(groups) if groups else empty))
    return pd.DataFrame(rows, columns=["image_id", "PredictionString"])


def parse_detection(
    table: pd.DataFrame, classes: list[str], sizes: dict[str, tuple[int, int]], empty: str = ""
) -> list[ImagePredictions]:
    """Rows back to predictions (to score or compare a submission); `sizes`: image_id -> (width, height)."""
    if missing := [c for c in ("image_id", "PredictionString") if c not in table.columns]:
        raise SubmissionError(f"no column(s) {missing}: a detection submission has image_id,PredictionString")
    index = {c: i for i, c in enumerate(classes)}
    out = []
    for image_id, text in zip(table.image_id, table.PredictionString.fillna(""), strict=True):
        parts = [] if text == empty else str(text).split()
        if len(parts) % 6:
            raise SubmissionError(
                f"{image_id}: PredictionString has {len(parts)} fields, not groups of 6 "
                "(class score x_min y_min x_max y_max)"
            )
        groups = [parts[i : i + 6] for i in range(0, len(parts), 6)]
        unknown = sorted({g[0] for g in groups} - set(index))
        if unknown:
            raise SubmissionError(f"{image_id}: unknown class(es) {unknown}; classes are {classes}")
        w, h = sizes.get(str(image_id), (0, 0))
        try:
            boxes, scores = [[float(v) for v in g[2:]] for g in groups], [float(g[1]) for g in groups]
        except ValueError:
            raise SubmissionError(f"{image_id}: a score or coordinate is not a number in {str(text)[:80]!r}") from None
        out.append(ImagePredictions(f"{image_id}", w, h, boxes, scores, [index[g[0]] for g in groups]))
    return out


def validate_detection(
    table: pd.DataFrame, sample: pd.DataFrame, classes: list[str], sizes: dict[str, tuple[int, int]], empty: str = ""
) -> None:
    """Same ids as the sample submission, no duplicates, no NaN, classes known, scores in [0, 1], boxes
    ordered and inside their image. Raises SubmissionError naming the first problems."""
    _check_ids(table, sample, "image_id")
    problems = []
    for pred in parse_detection(table, classes, sizes, empty):
        if pred.width == 0:
            problems.append(f"{pred.file_name}: no image of that id among the test images")
        elif problem := box_problem(pred, len(classes), slack=0.0):
            problems.append(f"{pred.file_name}: {problem}")
    if problems:
        raise SubmissionError(f"{len(problems)} invalid row(s): " + "; ".join(problems[:5]))


def validate_audio(table: pd.DataFrame, sample: pd.DataFrame, classes: list[str]) -> None:
    _check_ids(table, sample, "fname")
    if table.label.isna().any():
        raise SubmissionError(f"{int(table.label.isna().sum())} row(s) without a label")
    if unknown := sorted(set(table.label) - set(classes)):
        raise SubmissionError(f"unknown label(s) {unknown}; labels are {classes}")


def _check_ids(table: pd.DataFrame, sample: pd.DataFrame, column: str) -> None:
    if list(table.columns) != list(sample.columns):
        raise SubmissionError(
            f"columns {list(table.columns)} differ from the sample submission's {list(sample.columns)}"
        )
    ids = table[column].astype(str)
    if dup := sorted(ids[ids.duplicated()].unique()):
        raise SubmissionError(f"{len(dup)} duplicated {column}(s), e.g. {dup[:3]}")
    want, got = set(sample[column].astype(str)), set(ids)
    if missing := sorted(want - got):
        raise SubmissionError(f"{len(missing)} {column}(s) of the sample submission are missing, e.g. {missing[:3]}")
    if extra := sorted(got - want):
        raise SubmissionError(f"{len(extra)} {column}(s) are not in the sample submission, e.g. {extra[:3]}")


def check_test_coverage(
    sets: dict[str, list[list[ImagePredictions]]], folds: list[int], images: list[Path], root: Path
) -> None:
    """Every (model, fold)'s test predictions ({model: [set per fold]}, read from `root`) cover exactly the test
    `images`, else a SubmissionError naming the predictions file and the images, before anything is fused."""
    want = {p.name for p in images}
    for model, per_fold in sets.items():
        for fold, preds in zip(folds, per_fold, strict=True):
            got = [p.file_name for p in preds]
            where = root / "detection" / model / f"fold{fold}" / "test.json"
            problem = (
                f"{len(missing)} test image(s) have no prediction, e.g. {missing[:3]}"
                if (missing := sorted(want - set(got)))
                else f"{len(extra)} prediction(s) for images not among the test images, e.g. {extra[:3]}"
                if (extra := sorted(set(got) - want))
                else f"{len(got) - len(set(got))} test image(s) predicted twice"
                if len(got) != len(set(got))
                else None
            )
            if problem:
                raise SubmissionError(f"{where}: {problem}; rerun predict_detector@{model}-{fold}")
