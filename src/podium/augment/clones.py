"""Offline augmentation: "duplicate the data, then augment the clone".

Each training sample gets `clones` augmented copies. A copy carries its parent's name, group and fold, so a
fold's training set takes only clones whose parent it trains on (`podium.detection.train.add_clones`,
`podium.audio.train.fold_datasets`) and validation scores originals only.

Determinism: every clone draws its policy (weak or strong) and its randomness from a seed made of
(seed, parent name, clone index, attempt), never from the order samples are processed in, so any worker count
writes byte-identical files. Failure rules (a failed draw is retried up to `retries` times with the next
attempt's seed, then the clone is skipped and reported):
- image: the parent has boxes and the clone has none left (all dropped by `min_visibility`/`min_box_size`);
- audio: the clone is silent (RMS below `min_rms_db` dBFS) or has non-finite samples. A clone whose peak
  exceeds full scale is scaled down to a 0.999 peak (counted as `rescaled`), never clipped.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from podium.augment import policy
from podium.clips import read_clip, scale_to_full_scale, write_clip
from podium.errors import PodiumError
from podium.progress import bar
from podium.settings import AugmentConfig, AugmentOp


class AugmentError(PodiumError, ValueError):
    """An input the augment stage cannot clone; the message names the file and the fix."""


def clone_name(parent: str, clone: int) -> str:
    """`scene1.png`, 0 -> `scene1__aug0.png`: the clone keeps its parent's suffix (format)."""
    stem, dot, suffix = parent.rpartition(".")
    return f"{stem}__aug{clone}.{suffix}" if dot else f"{parent}__aug{clone}"


def clone_seed(seed: int, parent: str, clone: int, attempt: int) -> int:
    """A 32-bit seed for one draw of one clone; independent of processing order."""
    return int(np.random.SeedSequence([seed, zlib.crc32(parent.encode()), clone, attempt]).generate_state(1)[0])


def pick_policy(seed: int, parent: str, clone: int, strong_fraction: float) -> str:
    """'strong' for about `strong_fraction` of clones, else 'weak'; fixed per (seed, parent, clone)."""
    draw = np.random.default_rng([seed, zlib.crc32(parent.encode()), clone, 0xFFFF_FFFF]).random()
    return "strong" if draw < strong_fraction else "weak"


def policy_ops(ops: dict[str, AugmentOp], which: str) -> dict[str, tuple[float, float]]:
    """{name: (p, strength)} of the weak or strong policy."""
    return {name: (op.p, op.weak if which == "weak" else op.strong) for name, op in ops.items()}


class _Cloner:
    """What both cloners share: the weak and strong pipelines, built once in the parent so a bad op name or
    strength stops the stage before any work (naming the params key), and left out when pickled to worker
    processes (an echo op is a closure): each worker rebuilds them on first use."""

    def _init_policies(self, where: str) -> None:
        self._composes: dict[str, object] = {}
        try:
            for which in ("weak", "strong"):
                self.compose(which)
        except ValueError as e:
            raise AugmentError(f"{where}: {e}; fix params.yaml") from e

    def compose(self, which: str):
        if which not in self._composes:
            self._composes[which] = self._build(policy_ops(self.ops, which))
        return self._composes[which]

    def _build(self, ops: dict[str, tuple[float, float]]):
        raise NotImplementedError

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_composes": {}}


@dataclass
class CloneResult:
    """What one parent produced: the clone records written and the clones that failed."""

    clones: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    rescaled: int = 0


class ImageCloner(_Cloner):
    """Clones one image (a picklable callable for worker processes). A job is the parent's COCO image record
    plus `boxes` (COCO `x, y, w, h` pixels) and `category_ids`; each clone record has the same keys plus
    `parent` and `policy`, with its own size and boxes."""

    def __init__(self, cfg: AugmentConfig, *, seed: int, images: Path, out: Path):
        """`cfg.detection_clones` clones of each image under `images`, written to `out`, drawn with
        `cfg.image_ops`."""
        self.ops, self.clones, self.strong_fraction = cfg.image_ops, cfg.detection_clones, cfg.strong_fraction
        self.min_visibility, self.min_box_size, self.retries = cfg.min_visibility, cfg.min_box_size, cfg.retries
        self.seed, self.images, self.out = seed, Path(images), Path(out)
        self._init_policies("augment.image_ops")

    def _build(self, ops: dict[str, tuple[float, float]]):
        return policy.image_compose(ops, self.min_visibility, self.min_box_size)

    def __call__(self, job: dict) -> CloneResult:
        path = self.images / job["file_name"]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise AugmentError(f"{path}: unreadable image; rerun merge_external (it drops unreadable files)")
        image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        boxes = np.asarray(job["boxes"], dtype=np.float32).reshape(-1, 4)
        result = CloneResult()
        for k in range(self.clones):
            which = pick_policy(self.seed, job["file_name"], k, self.strong_fraction)
            compose = self.compose(which)
            for attempt in range(self.retries + 1):
                compose.set_random_seed(clone_seed(self.seed, job["file_name"], k, attempt))
                out = compose(image=image, bboxes=boxes, labels=list(job["category_ids"]))
                if job["boxes"] and len(out["bboxes"]) == 0:
                    continue
                name = clone_name(job["file_name"], k)
                params = [cv2.IMWRITE_JPEG_QUALITY, 95] if name.lower().endswith((".jpg", ".jpeg")) else []
                if not cv2.imwrite(str(self.out / name), cv2.cvtColor(out["image"], cv2.COLOR_RGB2BGR), params):
                    raise AugmentError(f"{self.out / name}: cannot write the clone (disk full or bad suffix?)")
                height, width = out["image"].shape[:2]
                result.clones.append(
                    {
                        **{key: v for key, v in job.items() if key not in ("boxes", "category_ids")},
                        "file_name": name,
                        "width": width,
                        "height": height,
                        "parent": job["file_name"],
                        "policy": which,
                        "boxes": [[round(float(v), 2) for v in box] for box in out["bboxes"]],
                        "category_ids": [int(c) for c in out["labels"]],
                    }
                )
                break
            else:
                result.failures.append(
                    {
                        "parent": job["file_name"],
                        "clone": k,
                        "policy": which,
                        "reason": f"all boxes lost in {self.retries + 1} draws",
                    }
                )
        return result


class AudioCloner(_Cloner):
    """Clones one clip (a picklable callable). A job is the parent's row (fname, label, source, group, fold);
    each clone row has the same keys plus `parent` and `policy`. Clips: mono float32 at `sample_rate`."""

    def __init__(self, cfg: AugmentConfig, *, seed: int, sample_rate: int, noise: Path | None, clips: Path, out: Path):
        """`cfg.audio_clones` clones of each clip under `clips`, written to `out`, drawn with `cfg.audio_ops`
        (`noise`: the background-noise clips' folder, None when there are none)."""
        self.ops, self.clones, self.strong_fraction = cfg.audio_ops, cfg.audio_clones, cfg.strong_fraction
        self.min_rms_db, self.retries, self.seed, self.sample_rate = cfg.min_rms_db, cfg.retries, seed, sample_rate
        self.noise, self.clips, self.out = noise, Path(clips), Path(out)
        self._init_policies("augment.audio_ops")

    def _build(self, ops: dict[str, tuple[float, float]]):
        return policy.audio_compose(ops, self.noise)

    def __call__(self, job: dict) -> CloneResult:
        audio = read_clip(self.clips / job["fname"], self.sample_rate)
        result = CloneResult()
        for k in range(self.clones):
            which = pick_policy(self.seed, job["fname"], k, self.strong_fraction)
            compose = self.compose(which)
            for attempt in range(self.retries + 1):
                s = clone_seed(self.seed, job["fname"], k, attempt)
                np.random.seed(s)  # audiomentations draws from numpy's and Python's global generators
                random.seed(s)
                out = compose(samples=audio.copy(), sample_rate=self.sample_rate).astype(np.float32)
                if not np.isfinite(out).all():
                    reason = "non-finite samples"
                    continue
                rms_db = 20 * np.log10(np.sqrt(np.mean(out.astype(np.float64) ** 2)) + 1e-12)
                if rms_db < self.min_rms_db:
                    reason = f"silent ({rms_db:.0f} dBFS < {self.min_rms_db:.0f})"
                    continue
                if float(np.abs(out).max()) > 1.0:
                    out = scale_to_full_scale(out)
                    result.rescaled += 1
                name = clone_name(job["fname"], k)
                write_clip(self.out / name, out, self.sample_rate)
                result.clones.append({**job, "fname": name, "parent": job["fname"], "policy": which})
                break
            else:
                result.failures.append(
                    {
                        "parent": job["fname"],
                        "clone": k,
                        "policy": which,
                        "reason": f"{reason} in {self.retries + 1} draws",
                    }
                )
        return result


def _worker_init() -> None:
    cv2.setNumThreads(1)  # one process per core already


def run_cloner(cloner: Callable[[dict], CloneResult], jobs: list[dict], workers: int, desc: str) -> CloneResult:
    """Run `cloner` on every job, in `workers` processes (0: all cores), with a progress bar; results are
    merged in job order whatever the worker count."""
    workers = workers or os.cpu_count() or 1
    merged = CloneResult()

    def collect(results: Iterable[CloneResult]) -> None:
        for r in bar(results, total=len(jobs), desc=desc, unit="sample"):
            merged.clones += r.clones
            merged.failures += r.failures
            merged.rescaled += r.rescaled

    if workers == 1 or len(jobs) < 2:
        collect(map(cloner, jobs))
    else:
        with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init) as pool:
            collect(pool.imap(cloner, jobs, chunksize=max(1, len(jobs) // (workers * 8))))
    return merged


def detection_jobs(coco: dict, fold_of: dict[str, int]) -> list[dict]:
    """One job per training image: its COCO record, fold, boxes and category ids, in file-name order."""
    boxes: dict[int, list] = {img["id"]: [] for img in coco["images"]}
    for ann in coco["annotations"]:
        boxes[ann["image_id"]].append(ann)
    jobs = []
    for img in sorted(coco["images"], key=lambda i: i["file_name"]):
        if img["file_name"] not in fold_of:
            raise AugmentError(f"{img['file_name']} has no fold in the folds table; rerun split_folds")
        anns = boxes[img["id"]]
        jobs.append(
            {
                **{k: v for k, v in img.items() if k != "id"},
                "fold": int(fold_of[img["file_name"]]),
                "boxes": [a["bbox"] for a in anns],
                "category_ids": [a["category_id"] for a in anns],
            }
        )
    return jobs


def clones_to_coco(clones: list[dict], categories: list[dict]) -> dict:
    """The clone records as a COCO file (image ids from 1, in record order), for the training stages."""
    images, annotations = [], []
    for i, rec in enumerate(clones, start=1):
        images.append({"id": i, **{k: v for k, v in rec.items() if k not in ("boxes", "category_ids")}})
        for box, cat in zip(rec["boxes"], rec["category_ids"], strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": cat,
                    "bbox": box,
                    "area": round(box[2] * box[3], 2),
                    "iscrowd": 0,
                }
            )
    return {"images": images, "annotations": annotations, "categories": categories}
