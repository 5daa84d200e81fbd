"""podium's canonical data layout: what every source is turned into, and what later stages read.

    <raw>/detection/train/images/*.{png,jpg}     training images
    <raw>/detection/train/annotations.json       COCO; boxes [x, y, w, h] in pixels; images may carry "group"
    <raw>/detection/test/images/*                test images (no labels)
    <raw>/detection/sample_submission.csv        image_id,PredictionString
    <raw>/detection/test_labels.json             optional, COCO: the local "private leaderboard"
    <raw>/audio/train/clips/*.wav                training clips
    <raw>/audio/train/labels.csv                 fname,label[,speaker]
    <raw>/audio/test/clips/*.wav                 test clips
    <raw>/audio/sample_submission.csv            fname,label
    <raw>/audio/test_labels.csv                  optional: fname,label, the local leaderboard
    <raw>/audio/noise/*.wav                      optional background-noise clips for augmentation

A real competition's files are arranged into this layout once (by hand or a small script) and published
as a folder, archive, URL or Kaggle dataset; every stage after `download` reads only this layout.
"""

from __future__ import annotations

from pathlib import Path

from podium.errors import PodiumError

REQUIRED = {
    "detection": ["train/images", "train/annotations.json", "test/images", "sample_submission.csv"],
    "audio": ["train/clips", "train/labels.csv", "test/clips", "sample_submission.csv"],
}
OPTIONAL = {
    "detection": ["test_labels.json"],
    "audio": ["test_labels.csv", "noise"],
}
COMPETITION = "competition"  # the `source` of the competition's own samples (external ones carry their name)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}


class LayoutError(PodiumError, ValueError):
    """A data folder does not follow podium's canonical layout."""


def check_layout(root: str | Path) -> list[str]:
    """The tasks (detection, audio) present under `root`; raise LayoutError naming what is missing."""
    root = Path(root)
    tasks = [task for task in REQUIRED if (root / task).is_dir()]
    if not tasks:
        raise LayoutError(
            f"{root}: neither detection/ nor audio/ found; arrange the data as described "
            "in podium.data.layout (README: 'Data layout')"
        )
    for task in tasks:
        missing = [p for p in REQUIRED[task] if not (root / task / p).exists()]
        if missing:
            raise LayoutError(f"{root / task}: missing {missing}; see podium.data.layout for the expected files")
    return tasks


def list_files(folder: str | Path, suffixes: set[str]) -> list[Path]:
    """The files in `folder` with one of `suffixes`, sorted by name; an error if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LayoutError(f"{folder}: folder not found")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)
    if not files:
        raise LayoutError(f"{folder}: no files with suffix {sorted(suffixes)}")
    return files
