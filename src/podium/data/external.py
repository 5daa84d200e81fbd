"""merge_external: the competition's training data plus extra labelled datasets, with provenance.

Every merged sample records `source` (the competition is "competition"), `group` (samples that must stay in
one fold: a scene, a speaker) and `orig_file`. Bad samples are collected as `BadSample`s with a reason; the
caller decides to drop them or fail. A bad box makes its whole image bad: dropping only the box would leave
a visible object unlabelled, which trains the detector to call it background.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from podium.clips import AudioError, load_clip, scale_to_full_scale, write_clip
from podium.data.bbox import parse_bbox
from podium.data.layout import AUDIO_SUFFIXES, COMPETITION, IMAGE_SUFFIXES
from podium.errors import PodiumError
from podium.files import link_or_copy, read_json, sha256_file


@dataclass(frozen=True)
class BadSample:
    source: str
    file: str
    reason: str


@dataclass
class DetectionSample:
    path: Path  # image file on disk
    boxes: list[list[float]]  # COCO [x, y, w, h] pixels
    labels: list[str]  # the competition's class names
    source: str
    group: str
    size: tuple[int, int] | None = None  # (width, height) claimed by the annotation, if any
    domain: str | None = None  # where the image comes from (Global Wheat's `source`): folds stratify by it


@dataclass
class MergeReport:
    kept: dict[str, int] = field(default_factory=dict)  # per source
    bad: list[BadSample] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    rescaled: list[dict] = field(default_factory=list)  # clips over full scale, scaled to a 0.999 peak
    notes: list[dict] = field(default_factory=list)  # kept, but worth a look (e.g. no speaker in a file name)

    def as_dict(self) -> dict:
        out = {"kept": self.kept, "bad": [vars(b) for b in self.bad], "duplicates": self.duplicates}
        return {**out, **{k: v for k, v in (("rescaled", self.rescaled), ("notes", self.notes)) if v}}


# ---- detection readers: each yields DetectionSample (labels already mapped) or BadSample -----------------


def read_coco(
    annotations: Path,
    images: Path,
    source: str,
    classes: dict[str, str] | None,
) -> Iterable[DetectionSample | BadSample]:
    coco = read_json(annotations)
    names = {c["id"]: c["name"] for c in coco.get("categories", [])}
    by_image: dict[int, list[dict]] = {}
    for ann in coco.get("annotations", []):
        by_image.setdefault(ann["image_id"], []).append(ann)
    for img in coco.get("images", []):
        boxes, labels, unknown = [], [], []
        for ann in by_image.get(img["id"], []):
            name = names.get(ann["category_id"], f"category_id {ann['category_id']}")
            mapped = name if classes is None else classes.get(name)
            if mapped is None:
                unknown.append(name)
            boxes.append([float(v) for v in ann["bbox"]])
            labels.append(mapped)
        if unknown:
            yield BadSample(
                source,
                img["file_name"],
                f"unknown class(es) {sorted(set(unknown))}; map them "
                f"in merge_external.detection_sources[{source}].classes",
            )
            continue
        yield DetectionSample(
            images / img["file_name"],
            boxes,
            labels,
            source,
            str(img.get("group", img["file_name"])),
            (img["width"], img["height"]),
            img.get("domain"),
        )


def read_box_csv(
    csv_path: Path,
    images: Path,
    source: str,
    classes: dict[str, str],
) -> Iterable[DetectionSample | BadSample]:
    """Global Wheat style: `image_id,width,height,bbox[,class][,source]` with bbox "[x, y, w, h]" pixels.
    Without a class column every box takes the class mapped from "*". Images in the folder without rows
    are images without objects."""
    rows: dict[str, list[dict]] = {}
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["image_id"], []).append(row)
    files = {p.stem: p for p in sorted(images.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    for image_id in sorted(set(rows) | set(files)):
        if image_id not in files:
            yield BadSample(source, image_id, f"listed in {csv_path.name} but no image in {images}")
            continue
        boxes, labels, unknown = [], [], []
        for row in rows.get(image_id, []):
            name = row.get("class", row.get("label", "*"))
            mapped = classes.get(name)
            if mapped is None:
                unknown.append(name)
            box = parse_bbox(row.get("bbox"))
            if box is None:
                unknown.append(f'unparsable bbox {row.get("bbox")!r} (want "[x, y, w, h]")')
            else:
                boxes.append(box)
            labels.append(mapped)
        if unknown:
            yield BadSample(source, files[image_id].name, f"unknown class or bad bbox {sorted(set(unknown))}")
            continue
        size = None
        if rows.get(image_id) and rows[image_id][0].get("width"):
            size = (int(float(rows[image_id][0]["width"])), int(float(rows[image_id][0]["height"])))
        group = rows[image_id][0].get("source") if rows.get(image_id) else None
        yield DetectionSample(files[image_id], boxes, labels, source, group or image_id, size)


def read_yolo(
    labels_dir: Path,
    images: Path,
    source: str,
    classes: dict[str, str],
) -> Iterable[DetectionSample | BadSample]:
    """YOLO txt: one `<labels>/<stem>.txt` per image, lines `class cx cy w h` normalised to [0, 1];
    `classes` maps the class index (as a string) to a class name. No txt means no objects."""
    for image in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        txt = labels_dir / f"{image.stem}.txt"
        lines = txt.read_text().split("\n") if txt.exists() else []
        rows = [line.split() for line in lines if line.strip()]
        try:  # the size from the header only: merge_detection decodes the whole image once, later
            with Image.open(image) as opened:
                w, h = opened.size
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            yield BadSample(source, image.name, f"unreadable or truncated image ({e})")
            continue
        boxes, labels, problems = [], [], []
        for row in rows:
            if len(row) != 5:
                problems.append(f"line {' '.join(row)!r} is not `class cx cy w h`")
                continue
            mapped = classes.get(row[0])
            if mapped is None:
                problems.append(f"unknown class {row[0]}")
            cx, cy, bw, bh = (float(v) for v in row[1:])
            boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h])
            labels.append(mapped)
        if problems:
            yield BadSample(source, image.name, "; ".join(sorted(set(problems))))
            continue
        yield DetectionSample(image, boxes, labels, source, image.stem, (w, h))


DETECTION_READERS: dict[str, Callable[..., Iterable[DetectionSample | BadSample]]] = {
    "coco": read_coco,
    "csv": read_box_csv,
    "yolo": read_yolo,
}


def image_problem(path: Path) -> tuple[str | None, tuple[int, int] | None]:
    """(what is wrong with the image file or None, its (width, height)). The whole image is decoded by Pillow,
    which reports truncated files of every format it reads (a cut JPEG decodes with grey rows in OpenCV and
    only a libjpeg warning on stderr)."""
    if not path.exists():
        return "missing file", None
    try:
        with Image.open(path) as image:
            image.load()
            return None, image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        return f"unreadable or truncated image ({e})", None


def check_detection_sample(sample: DetectionSample) -> tuple[str | None, tuple[int, int] | None]:
    """(reason it is bad or None, actual (width, height))."""
    problem, size = image_problem(sample.path)
    if problem:
        return problem, None
    w, h = size
    if sample.size is not None and tuple(sample.size) != (w, h):
        return f"annotation says {sample.size[0]}x{sample.size[1]} but the image is {w}x{h}", (w, h)
    for x, y, bw, bh in sample.boxes:
        if not all(math.isfinite(v) for v in (x, y, bw, bh)):
            return f"a box that is not four numbers [{x}, {y}, {bw}, {bh}]", (w, h)
        if bw < 0 or bh < 0:
            return f"negative box width or height [{x}, {y}, {bw}, {bh}]", (w, h)
        if bw == 0 or bh == 0:
            return f"zero-area box [{x}, {y}, {bw}, {bh}]", (w, h)
        if x < -1 or y < -1 or x + bw > w + 1 or y + bh > h + 1:  # 1 px slack for rounding
            return f"box [{x}, {y}, {bw}, {bh}] outside the {w}x{h} image", (w, h)
    return None, (w, h)


def merge_detection(
    competition: Iterable[DetectionSample | BadSample],
    externals: Iterable[DetectionSample | BadSample],
    class_names: list[str],
    out: Path,
    progress: Callable[[Iterable], Iterable] = iter,
) -> tuple[dict, MergeReport]:
    """Link every good, unique image into `out/images` and return (COCO dict, report). Competition images
    keep their file names; external ones are prefixed `<source>__`. Duplicates: first one wins."""
    report = MergeReport()
    (out / "images").mkdir(parents=True, exist_ok=True)
    cat_id = {name: i + 1 for i, name in enumerate(class_names)}
    images, annotations, seen = [], [], {}
    for sample in progress(_chain(competition, externals)):
        if isinstance(sample, BadSample):
            report.bad.append(sample)
            continue
        reason, size = check_detection_sample(sample)
        if reason:
            report.bad.append(BadSample(sample.source, sample.path.name, reason))
            continue
        digest = sha256_file(sample.path)
        if digest in seen:
            report.duplicates.append({"source": sample.source, "file": sample.path.name, "same_as": seen[digest]})
            continue
        name = sample.path.name if sample.source == COMPETITION else f"{sample.source}__{sample.path.name}"
        seen[digest] = name
        link_or_copy(sample.path, out / "images" / name)
        image_id = len(images) + 1
        images.append(
            {
                "id": image_id,
                "file_name": name,
                "width": size[0],
                "height": size[1],
                "source": sample.source,
                "group": f"{sample.source}:{sample.group}",
                "orig_file": str(sample.path),
                **({"domain": sample.domain} if sample.domain is not None else {}),
            }
        )
        for box, label in zip(sample.boxes, sample.labels, strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": cat_id[label],
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
            )
        report.kept[sample.source] = report.kept.get(sample.source, 0) + 1
    categories = [{"id": i, "name": n} for n, i in cat_id.items()]
    return {"images": images, "annotations": annotations, "categories": categories}, report


def _chain(*iterables: Iterable) -> Iterable:
    for it in iterables:
        yield from it


# ---- audio ----------------------------------------------------------------------------------------------


@dataclass
class AudioSample:
    path: Path
    label: str
    source: str
    group: str  # speaker, when known
    note: str = ""  # something the merge report should mention


def read_audio_csv(
    csv_path: Path, source: str, labels: dict[str, str] | None, path_column: str = "path", base: Path | None = None
) -> Iterable[AudioSample]:
    """`path,label[,speaker]` rows, paths relative to `base` (default: the CSV's folder). With `labels`,
    rows whose label is not mapped are skipped (e.g. Speech Commands' extra words)."""
    base = csv_path.parent if base is None else base
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            label = row["label"] if labels is None else labels.get(row["label"])
            if label is None:
                continue
            yield AudioSample(base / row[path_column], label, source, row.get("speaker") or Path(row[path_column]).stem)


def read_audio_folders(root: Path, source: str, labels: dict[str, str]) -> Iterable[AudioSample]:
    """Google Speech Commands layout: `<root>/<word>/<speaker>_nohash_<n>.wav`."""
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        label = labels.get(folder.name)
        if label is None:
            continue
        for clip in sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES):
            if "_nohash_" in clip.stem:
                yield AudioSample(clip, label, source, clip.stem.split("_nohash_")[0])
            else:  # its own group: folds cannot keep this speaker's other clips together
                yield AudioSample(
                    clip,
                    label,
                    source,
                    clip.stem,
                    "no `<speaker>_nohash_<n>` in the name: its speaker is unknown, so it is grouped alone",
                )


def merge_audio(
    samples: Iterable[AudioSample | BadSample],
    sample_rate: int,
    out: Path,
    progress: Callable[[Iterable], Iterable] = iter,
) -> tuple[list[dict], MergeReport]:
    """Write every good, unique clip to `out/clips` as mono PCM at `sample_rate`; return (rows, report).
    Duplicates are found on the decoded, resampled audio, so the same clip in another container counts."""
    report = MergeReport()
    (out / "clips").mkdir(parents=True, exist_ok=True)
    rows, seen = [], {}
    for sample in progress(samples):
        if isinstance(sample, BadSample):  # e.g. a label the competition does not declare
            report.bad.append(sample)
            continue
        try:
            audio, peak = load_clip(sample.path, sample_rate)
        except (AudioError, FileNotFoundError) as e:
            report.bad.append(BadSample(sample.source, sample.path.name, str(e).split(": ", 1)[-1]))
            continue
        if peak > 1.0:  # a float file over full scale: scaled, never clipped, and reported
            audio = scale_to_full_scale(audio)
            report.rescaled.append({"source": sample.source, "file": str(sample.path), "peak": round(peak, 4)})
        if sample.note:
            report.notes.append({"source": sample.source, "file": str(sample.path), "note": sample.note})
        pcm = np.round(audio * 32767).astype(np.int16)
        digest = hashlib.sha256(pcm.tobytes()).hexdigest()
        name = (
            sample.path.name
            if sample.source == COMPETITION
            else f"{sample.source}__{sample.path.parent.name}__{sample.path.stem}.wav"
        )
        if digest in seen:
            report.duplicates.append({"source": sample.source, "file": str(sample.path), "same_as": seen[digest]})
            continue
        seen[digest] = name
        write_clip(out / "clips" / name, audio, sample_rate)
        rows.append(
            {
                "fname": name,
                "label": sample.label,
                "source": sample.source,
                "group": f"{sample.source}:{sample.group}",
                "orig_file": str(sample.path),
            }
        )
        report.kept[sample.source] = report.kept.get(sample.source, 0) + 1
    return rows, report


def declared_only(samples: Iterable, known: list[str], key: str) -> Iterable:
    """`samples` (DetectionSample, AudioSample or BadSample), each whose labels are not all in the competition's
    declared list (params `key`) a BadSample naming them: labels are declared, never discovered."""
    allowed = set(known)
    for sample in samples:
        if isinstance(sample, BadSample):
            yield sample
            continue
        labels = sample.labels if isinstance(sample, DetectionSample) else [sample.label]
        if unknown := sorted(set(labels) - allowed):
            yield BadSample(
                sample.source,
                sample.path.name,
                f"label(s) {unknown} not in {key} {list(known)}: map them to a declared one (merge_external's "
                "source maps) or declare them",
            )
        else:
            yield sample


class MergeError(PodiumError, ValueError):
    """Bad samples were found and params say to fail on them."""
