"""Fabricated miniatures of real competitions' downloads, in each competition's documented file format, small.

Global Wheat Detection (kaggle.com/c/global-wheat-detection/data): `train.csv` with columns
`image_id,width,height,bbox,source`, one row per box, `bbox` a Python-style list `[xmin, ymin, width, height]`
written like `"[834.0, 222.0, 56.0, 36.0]"`; `source` the site (usask_1, arvalis_1, ...); train images without
rows have no wheat; `train/<image_id>.jpg`, `test/<image_id>.jpg`; `sample_submission.csv`
(`image_id,PredictionString`, rows like `ce4833752,1.0 0 0 50 50`). The real images are 1024 px: these are
`size` px, with the sizes written in train.csv as the real file writes them.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

WHEAT_SOURCES = ["usask_1", "arvalis_1", "arvalis_2", "ethz_1", "rres_1", "inrae_1"]


def _wheat_image(rng: np.random.Generator, size: int, n: int) -> tuple[Image.Image, list[list[float]]]:
    """A field-like background with `n` wheat-head-like ellipses; their [x, y, w, h] boxes."""
    base = rng.normal(90, 12, (size, size, 3)).clip(0, 255).astype(np.uint8)
    base[..., 1] = np.clip(base[..., 1] + 30, 0, 255)
    image = Image.fromarray(base)
    draw = ImageDraw.Draw(image)
    boxes = []
    for _ in range(n):
        w, h = (float(v) for v in rng.integers(size // 10, size // 4, 2))
        x, y = float(rng.integers(0, size - int(w))), float(rng.integers(0, size - int(h)))
        draw.ellipse([x, y, x + w, y + h], fill=(200, 180, 90), outline=(150, 120, 60))
        boxes.append([x, y, w, h])
    return image, boxes


def _image_id(rng: np.random.Generator) -> str:
    return "".join(rng.choice(list("0123456789abcdef"), 9))


def global_wheat(root: Path, *, train: int = 12, test: int = 4, size: int = 128, seed: int = 0) -> Path:
    """The competition's files unpacked under `root`, and zipped as `root`/global-wheat-detection.zip (what
    `kaggle competitions download -c global-wheat-detection` writes); the zip's path."""
    rng = np.random.default_rng(seed)
    files = root / "files"
    (files / "train").mkdir(parents=True)
    (files / "test").mkdir()
    rows = []
    for i in range(train):
        image_id = _image_id(rng)
        n = 0 if i % 6 == 5 else int(rng.integers(1, 5))  # some images without wheat: no rows
        image, boxes = _wheat_image(rng, size, n)
        image.save(files / "train" / f"{image_id}.jpg", quality=92)
        source = WHEAT_SOURCES[i % len(WHEAT_SOURCES)]
        rows += [[image_id, size, size, f"[{b[0]}, {b[1]}, {b[2]}, {b[3]}]", source] for b in boxes]
    with open(files / "train.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image_id", "width", "height", "bbox", "source"])
        writer.writerows(rows)
    ids = []
    for _ in range(test):
        image_id = _image_id(rng)
        image, _ = _wheat_image(rng, size, int(rng.integers(1, 5)))
        image.save(files / "test" / f"{image_id}.jpg", quality=92)
        ids.append(image_id)
    with open(files / "sample_submission.csv", "w", newline="") as f:
        f.write("image_id,PredictionString\n" + "".join(f"{i},1.0 0 0 50 50\n" for i in ids))
    archive = root / "global-wheat-detection.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(files.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(files).as_posix())
    return archive
