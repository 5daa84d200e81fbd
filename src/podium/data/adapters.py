"""Adapters: a competition's own files, as `kaggle competitions download` writes them (zip, unpacked), into
podium's canonical layout (podium.data.layout). `download.layout` names one; `podium` means the files are in
podium's layout already.

- `global-wheat-detection`: `train.csv` (image_id,width,height,bbox,source; `bbox` the string "[x, y, w, h]",
  one row per box; a train image without rows has no wheat), `train/*.jpg`, `test/*.jpg`,
  `sample_submission.csv` (the competition's Data page). One class, `wheat`; each image keeps its `source`
  (the site and session it was photographed in) as `domain`, which split_folds stratifies by.

A row the adapter cannot read (an unparseable box) is kept as a box of NaNs, so merge_external reports that
image as a bad sample, as it does for any other source; a missing file or column is a LayoutError naming it.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from podium.data.external import parse_bbox
from podium.data.layout import IMAGE_SUFFIXES, LayoutError
from podium.files import write_json

NAN_BOX = [float("nan")] * 4


def _need(root: Path, names: list[str], competition: str) -> None:
    if missing := [n for n in names if not (root / n).exists()]:
        raise LayoutError(
            f"{root}: missing {missing}; {competition}'s download has {names} (download.layout: {competition}); "
            "set download.layout: podium for data already in podium's layout"
        )


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def global_wheat(root: Path, out: Path, tasks: tuple[str, ...]) -> list[str]:
    """Global Wheat Detection's files under `root` into `out`/detection (podium's layout)."""
    if tasks != ("detection",):
        raise LayoutError(f"global-wheat-detection has one task, detection; params competition.tasks has {tasks}")
    _need(root, ["train.csv", "train", "test", "sample_submission.csv"], "global-wheat-detection")
    det = out / "detection"
    boxes: dict[str, list] = {}
    sizes: dict[str, tuple[int, int]] = {}
    domains: dict[str, str] = {}
    with open(root / "train.csv", newline="") as f:
        reader = csv.DictReader(f)
        if missing := sorted({"image_id", "width", "height", "bbox", "source"} - set(reader.fieldnames or [])):
            raise LayoutError(f"{root / 'train.csv'}: no column(s) {missing}; Global Wheat's train.csv has "
                              "image_id,width,height,bbox,source")  # fmt: skip
        for row in reader:
            image_id = row["image_id"]
            boxes.setdefault(image_id, []).append(parse_bbox(row["bbox"]) or NAN_BOX)
            domains[image_id] = row["source"]
            try:
                sizes[image_id] = (int(float(row["width"])), int(float(row["height"])))
            except ValueError:
                pass  # read from the image header below
    images, annotations = [], []
    (det / "train/images").mkdir(parents=True)
    for path in _images(root / "train"):
        image_id = path.stem
        if image_id not in sizes:
            with Image.open(path) as im:
                sizes[image_id] = im.size
        shutil.copy2(path, det / "train/images" / path.name)
        record = {"id": len(images) + 1, "file_name": path.name, "width": sizes[image_id][0],
                  "height": sizes[image_id][1]}  # fmt: skip
        if image_id in domains:
            record["domain"] = domains[image_id]
        images.append(record)
        for box in boxes.pop(image_id, []):
            annotations.append({"image_id": record["id"], "category_id": 1, "bbox": box})
    if boxes:
        raise LayoutError(
            f"{root / 'train.csv'}: boxes for {len(boxes)} image(s) that train/ does not have, e.g. "
            f"{sorted(boxes)[:3]}"
        )
    write_json(
        det / "train/annotations.json",
        {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "wheat"}]},
    )
    (det / "test/images").mkdir(parents=True)
    for path in _images(root / "test"):
        shutil.copy2(path, det / "test/images" / path.name)
    shutil.copy2(root / "sample_submission.csv", det / "sample_submission.csv")
    return ["detection"]


ADAPTERS: dict[str, Callable[[Path, Path, tuple[str, ...]], list[str]]] = {
    "global-wheat-detection": global_wheat,
}
