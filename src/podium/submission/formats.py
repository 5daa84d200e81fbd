"""Submission CSVs: the one place predictions become competition rows, and rows become predictions again.

Detection rows follow the competition's `DetectionFormat` (params `competition.detection`): `id_column,column`,
the prediction a space-separated run of groups, each its `fields` in order (`class` as a name or an index,
`score` in [0, 1], `box` as x_min y_min x_max y_max or x_min y_min width height in pixels of the original
image), or the `empty` string for an image without boxes. Global Wheat: `score x y w h`, no class; VinBigData:
`class_id score x_min y_min x_max y_max`, `14 1 0 0 1 1` for nothing found; podium's embedded competition:
`class score x_min y_min x_max y_max`. Audio: `id_column,column` (`fname,label`). Parsing is strict: a row in
another grammar is an error naming the row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from podium.boxes import ImagePredictions, box_problem
from podium.errors import PodiumError
from podium.metrics.competition import with_no_finding
from podium.settings import AudioFormat, DetectionFormat


class SubmissionError(PodiumError, ValueError):
    """A submission that would be rejected; nothing is written."""


def submission_boxes(
    preds: list[ImagePredictions], classes: list[str], fmt: DetectionFormat, max_boxes: int
) -> list[ImagePredictions]:
    """What a submission carries per image: its `max_boxes` best boxes and, when the competition has an
    image-level no-finding class (`fmt.no_finding`), that class's group on every image (p = 1 - the highest
    finding score: podium.metrics.competition.with_no_finding). Write them with `max_boxes + 1` rows' room."""
    label = classes.index(fmt.no_finding) if fmt.no_finding else -1
    kept = []
    for p in preds:
        findings = p.keep(p.labels != label)  # a predicted box of the no-finding class gives way to its group
        mask = np.zeros(len(findings.scores), bool)
        mask[np.argsort(-findings.scores, kind="stable")[:max_boxes]] = True
        kept.append(findings.keep(mask))
    return with_no_finding(kept, label) if fmt.no_finding else kept


def group_grammar(fmt: DetectionFormat) -> str:
    """One group as a person reads it, e.g. `score x_min y_min width height`."""
    box = "x_min y_min x_max y_max" if fmt.box == "xyxy" else "x_min y_min width height"
    words = {"class": "class_id" if fmt.class_as == "id" else "class", "score": "score", "box": box}
    return " ".join(words[f] for f in fmt.fields)


def detection_rows(
    preds: list[ImagePredictions], classes: list[str], fmt: DetectionFormat, max_boxes: int = 100
) -> pd.DataFrame:
    rows = []
    for p in preds:
        order = np.argsort(-p.scores, kind="stable")[:max_boxes]
        groups = []
        for i in order:
            x1, y1, x2, y2 = p.boxes[i].tolist()
            box = (x1, y1, x2, y2) if fmt.box == "xyxy" else (x1, y1, x2 - x1, y2 - y1)
            token = {
                "class": classes[p.labels[i]] if fmt.class_as == "name" else str(int(p.labels[i])),
                "score": f"{p.scores[i]:.4f}",
                "box": " ".join(f"{v:.1f}" for v in box),
            }
            groups.append(" ".join(token[f] for f in fmt.fields))
        rows.append((Path(p.file_name).stem, " ".join(groups) if groups else fmt.empty))
    return pd.DataFrame(rows, columns=[fmt.id_column, fmt.column])


def parse_detection(
    table: pd.DataFrame, classes: list[str], sizes: dict[str, tuple[int, int]], fmt: DetectionFormat
) -> list[ImagePredictions]:
    """Rows back to predictions (to score or compare a submission); `sizes`: id -> (width, height) (0, 0 when
    unknown). A row that is not `fmt`'s grammar is a SubmissionError naming its line and id."""
    if missing := [c for c in (fmt.id_column, fmt.column) if c not in table.columns]:
        raise SubmissionError(f"no column(s) {missing}: a submission has {fmt.id_column},{fmt.column}")
    index = (
        {c: i for i, c in enumerate(classes)} if fmt.class_as == "name" else {str(i): i for i in range(len(classes))}
    )
    width = len(fmt.fields) + 3  # the box is four numbers
    out = []
    values = table[fmt.column].fillna("").astype(str)
    for line, (image_id, text) in enumerate(zip(table[fmt.id_column].astype(str), values, strict=True), start=2):
        where = f"line {line} ({fmt.id_column} {image_id})"
        parts = [] if text == fmt.empty else text.split()
        if not parts and text != fmt.empty:
            raise SubmissionError(f"{where}: an image without boxes is {fmt.empty!r} in this competition, not {text!r}")
        if len(parts) % width:
            raise SubmissionError(
                f"{where}: {text[:80]!r} is not groups of `{group_grammar(fmt)}` ({len(parts)} fields, not a "
                f"multiple of {width}), nor the empty prediction {fmt.empty!r}"
            )
        boxes, scores, labels = [], [], []
        for g in range(0, len(parts), width):
            group, k = parts[g : g + width], 0
            for field in fmt.fields:
                if field == "class":
                    if group[k] not in index:
                        known = list(index) if len(index) <= 20 else f"{len(index)} classes"
                        raise SubmissionError(f"{where}: unknown class {group[k]!r} in group {g // width + 1}; {known}")
                    labels.append(index[group[k]])
                    k += 1
                    continue
                n = 1 if field == "score" else 4
                try:
                    numbers = [float(v) for v in group[k : k + n]]
                except ValueError:
                    raise SubmissionError(
                        f"{where}: group {g // width + 1} {' '.join(group)!r} is not `{group_grammar(fmt)}`: "
                        f"{field} must be {'a number' if n == 1 else 'four numbers'}"
                    ) from None
                if field == "score":
                    scores.append(numbers[0])
                else:
                    x, y, a, b = numbers
                    boxes.append((x, y, a, b) if fmt.box == "xyxy" else (x, y, x + a, y + b))
                k += n
        if "class" not in fmt.fields:
            labels = [0] * len(scores)
        w, h = sizes.get(image_id, (0, 0))
        out.append(ImagePredictions(image_id, w, h, boxes, scores, labels))
    return out


def validate_detection(
    table: pd.DataFrame,
    sample: pd.DataFrame,
    classes: list[str],
    sizes: dict[str, tuple[int, int]],
    fmt: DetectionFormat,
) -> None:
    """The sample submission's ids in its order, no duplicates, every row in `fmt`'s grammar, classes known,
    scores in [0, 1], boxes ordered and inside their image. Raises SubmissionError naming the first problems."""
    _check_ids(table, sample, fmt.id_column)
    problems = []
    for line, pred in enumerate(parse_detection(table, classes, sizes, fmt), start=2):
        if pred.width == 0:
            problems.append(f"line {line}: no image {pred.file_name!r} among the test images")
        elif problem := box_problem(pred, len(classes), slack=0.0):
            problems.append(f"line {line} ({pred.file_name}): {problem}")
    if problems:
        raise SubmissionError(f"{len(problems)} invalid row(s): " + "; ".join(problems[:5]))


def check_sample_grammar(sample: pd.DataFrame, classes: list[str], fmt: DetectionFormat, path: Path) -> None:
    """The competition's own sample submission parses with `fmt`: the declared format is the competition's."""
    try:
        parse_detection(sample, classes, {}, fmt)
    except SubmissionError as e:
        raise SubmissionError(
            f"{path}: the sample submission does not follow params competition.detection ({e}); set that "
            "section to the competition's format (`podium profile <name> --apply` writes a known one)"
        ) from None


def validate_audio(table: pd.DataFrame, sample: pd.DataFrame, classes: list[str], fmt: AudioFormat) -> None:
    _check_ids(table, sample, fmt.id_column)
    labels = table[fmt.column]
    if labels.isna().any():
        raise SubmissionError(f"{int(labels.isna().sum())} row(s) without a {fmt.column}")
    if unknown := sorted(set(labels) - set(classes)):
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
    if (ids.to_numpy() != sample[column].astype(str).to_numpy()).any():
        raise SubmissionError(f"rows are not in the sample submission's order of {column}")


def read_original_sizes(path: Path) -> dict[str, tuple[int, int]] | None:
    """`detection/test/original_sizes.csv` (image_id,width,height), written by an adapter that resized the test
    images (VinBigData's radiographs); None when absent: the test images are the originals."""
    if not path.exists():
        return None
    table = pd.read_csv(path, dtype={"image_id": str})
    return {i: (int(w), int(h)) for i, w, h in zip(table.image_id, table.width, table.height, strict=True)}


def to_original_sizes(preds: list[ImagePredictions], originals: dict[str, tuple[int, int]]) -> list[ImagePredictions]:
    """Predictions made on resized test images, mapped back to each image's original pixels."""
    out = []
    for p in preds:
        stem = Path(p.file_name).stem
        if stem not in originals:
            raise SubmissionError(f"{p.file_name}: no original size in detection/test/original_sizes.csv")
        w, h = originals[stem]
        scale = np.array([w / p.width, h / p.height, w / p.width, h / p.height], np.float32)
        out.append(ImagePredictions(p.file_name, w, h, p.boxes * scale, p.scores, p.labels, p.fold))
    return out


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
