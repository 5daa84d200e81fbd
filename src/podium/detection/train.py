"""Training one detector on one fold with mmengine's Runner: the fold's data (originals plus the clones it may
train on), a resumable work folder, keep-best training, and the fold's validation predictions through the
one inference path (`podium.detection.inference`).

Fold annotation files are COCO subsets of the merged training data; validation scores originals only.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from mmengine.config import Config

from podium import compat
from podium.boxes import ImagePredictions
from podium.coverage import check_clone_folds, training_clones
from podium.detection import config as det_config
from podium.detection import inference
from podium.detection.hooks import online_augment, quiet_console
from podium.errors import PodiumError
from podium.files import write_json
from podium.metrics.competition import box_metric
from podium.metrics.detection import coco_map, restrict
from podium.settings import DetectorTrainConfig


class DetectionTrainingError(PodiumError, ValueError):
    """Bad input to detector training; the message names the file and the fix."""


def split_annotations(coco: dict, folds: pd.DataFrame, fold: int) -> tuple[dict, dict]:
    """(train COCO, validation COCO) for `fold`: validation is the fold's images, training all others
    (train-only external images, fold -1, included). `folds` has columns file_name, fold."""
    fold_of = dict(zip(folds.file_name, folds.fold, strict=True))
    if missing := [img["file_name"] for img in coco["images"] if img["file_name"] not in fold_of]:
        raise DetectionTrainingError(f"{len(missing)} image(s) have no fold, e.g. {missing[:3]}; rerun split_folds")

    def subset(keep) -> dict:
        images = [img for img in coco["images"] if keep(fold_of[img["file_name"]])]
        ids = {img["id"] for img in images}
        return {**coco, "images": images, "annotations": [a for a in coco["annotations"] if a["image_id"] in ids]}

    train, val = subset(lambda f: f != fold), subset(lambda f: f == fold)
    if not val["images"]:
        raise DetectionTrainingError(f"fold {fold} has no validation images; check split_folds.folds")
    if not train["images"]:
        raise DetectionTrainingError(f"fold {fold} leaves no training images; use more data or more folds")
    return train, val


def add_clones(train: dict, clones: dict, fold: int) -> dict:
    """`train` (a fold's training COCO) plus the augment stage's clones (COCO whose images carry `parent` and
    `fold`) that this fold may train on: clones of the fold's validation images are left out, so validation
    never sees a copy of an image trained on. Clone image and annotation ids are renumbered after train's."""
    if [c["name"] for c in clones["categories"]] != [c["name"] for c in train["categories"]]:
        raise DetectionTrainingError(
            "the augmented clones' categories differ from the training data's; rerun the augment stage"
        )
    keep = training_clones(clones["images"], fold)
    image_offset = max((img["id"] for img in train["images"]), default=0)
    ann_offset = max((a["id"] for a in train["annotations"]), default=0)
    kept = {img["id"] for img in keep}
    images = [{**img, "id": img["id"] + image_offset} for img in keep]
    annotations = [
        {**a, "id": a["id"] + ann_offset, "image_id": a["image_id"] + image_offset}
        for a in clones["annotations"]
        if a["image_id"] in kept
    ]
    return {**train, "images": train["images"] + images, "annotations": train["annotations"] + annotations}


def with_image_paths(coco: dict, originals: Path, clones: Path | None = None) -> dict:
    """`coco` with each `file_name` made a path: clones (images with a `parent`) under `clones`, the rest
    under `originals`; mmdet then reads both folders through one dataset (`data_prefix` empty)."""
    return {
        **coco,
        "images": [
            {**img, "file_name": str((clones if "parent" in img else originals) / img["file_name"])}
            for img in coco["images"]
        ],
    }


def downscale_warning(coco: dict, image_size: int, limit: float = 4.0) -> str | None:
    """A warning when training shrinks the images' median longer side more than `limit` times (small objects
    then shrink to a few pixels; a preset's data trained at the embedded default's size learns next to
    nothing), else None."""
    sides = sorted(max(img.get("width", 0), img.get("height", 0)) for img in coco["images"])
    median = sides[len(sides) // 2] if sides else 0
    if median > limit * image_size:
        return (
            f"training at {image_size} px shrinks these {median} px images {median / image_size:.0f} times: small "
            "objects become a few pixels; set train_detector.image_size nearer the images' size (the presets do)"
        )
    return None


def check_classes(coco: dict, classes: list[str], where: str) -> None:
    names = [c["name"] for c in coco["categories"]]
    if names != classes:
        raise DetectionTrainingError(
            f"{where}: categories {names} differ from the class list {classes}; rerun merge_external"
        )
    ids = {c["id"] for c in coco["categories"]}
    if bad := sorted({a["category_id"] for a in coco["annotations"]} - ids):
        raise DetectionTrainingError(f"{where}: annotations use category ids {bad} that are not in categories")


def code_digest() -> str:
    """A digest of podium's own source (every module, the mmcv ops included): an interrupted run resumes only
    under the code that started it."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def fingerprint(config: Config) -> str:
    """A digest of everything that shapes training (the config and podium's code), to tell whether a work
    folder may be resumed."""
    cfg = copy.deepcopy(config.to_dict())
    for key in ("work_dir", "resume", "launcher", "visualizer"):
        cfg.pop(key, None)
    text = repr(sorted(cfg.items(), key=lambda kv: kv[0])) + code_digest()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def data_digest(*objects) -> str:
    """A digest of JSON-able data (the fold's annotations), stored in the config so `fingerprint` sees it."""
    return hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest()[:16]


def prepare_work_dir(work_dir: Path, config: Config) -> bool:
    """Empty `work_dir` unless it holds an interrupted run of this very config and code; True if that run
    resumes. A finished run (`mark_finished`) never resumes: DVC reruns a stage because something changed."""
    stamp = work_dir / "fingerprint"
    resumable = stamp.exists() and stamp.read_text() == fingerprint(config) and (work_dir / "last_checkpoint").exists()
    if not resumable:
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
        stamp.write_text(fingerprint(config))
    return resumable


def mark_finished(work_dir: Path) -> None:
    """The run in `work_dir` is complete: a rerun of the stage starts afresh instead of resuming it (its
    checkpoints stay for inspection until then)."""
    (work_dir / "fingerprint").unlink(missing_ok=True)


def check_checkpoint_fits(model: torch.nn.Module, checkpoint: str) -> None:
    """Refuse a `load_from` checkpoint made for another architecture: one with weights for parts this model
    lacks (e.g. VFNet's `bbox_head` given to Cascade R-CNN, whose heads are `roi_head`), or whose weights
    mostly do not fit by name and shape (another backbone depth or width). A checkpoint of the same model
    with another class count is fine: only its classifier layers are skipped."""
    from mmengine.runner.checkpoint import _load_checkpoint

    compat.apply()
    try:
        state = _load_checkpoint(checkpoint, map_location="cpu")
    except Exception as e:
        raise DetectionTrainingError(f"{checkpoint}: cannot load ({e}); fix train_detector.load_from") from e
    state = state.get("state_dict", state)
    ours = model.state_dict()
    foreign = sorted({k.split(".")[0] for k in state} - {k.split(".")[0] for k in ours})
    fitting = sum(1 for k, v in state.items() if k in ours and tuple(v.shape) == tuple(ours[k].shape))
    if foreign or fitting < 0.5 * len(ours):
        why = (
            f"it has weights for {foreign}, which this model lacks"
            if foreign
            else f"only {fitting} of the model's {len(ours)} weights match by name and shape"
        )
        raise DetectionTrainingError(
            f"{checkpoint}: {why}: it was trained for another model (or another "
            "backbone_depth/neck_channels); give load_from a checkpoint of this model"
        )


def run_training(config: Config, resume: bool) -> tuple[object, Path | None]:
    """(runner, best checkpoint) after training; with epochs == 0 in params the caller skips this."""
    from mmengine.runner import (
        Runner,  # (podium.detection.hooks, imported above, registers podium's hook and transform)
    )

    compat.apply()
    compat.trust(config.work_dir)  # mmengine's own resumable checkpoints, written by this training
    if config.load_from and config.get("load_from_full_pickle"):
        compat.trust(config.load_from)  # the user's explicit opt-in (train_detector.load_from_full_pickle)
    config = copy.deepcopy(config)
    config.resume = resume
    for backend in config.visualizer.vis_backends:  # a resumed run appends to the curves of the epochs before
        backend.setdefault("init_kwargs", {})["resume"] = resume
    # the environment dump and the config (the log file has them), pycocotools' index messages: not the console.
    # The loops, their datasets and the evaluator are built now (Runner's properties build them lazily).
    with contextlib.redirect_stdout(io.StringIO()):
        runner = Runner.from_cfg(config)
        runner.train_loop, runner.val_loop  # noqa: B018
    quiet_console(runner.logger)
    if config.load_from and not resume:
        check_checkpoint_fits(runner.model, config.load_from)
    try:
        runner.train()
    except BaseException:
        print(f"training stopped; mmengine's full log: {runner.logger.log_file}", file=sys.stderr, flush=True)
        raise
    best = sorted(Path(config.work_dir).glob("best_*.pth"))
    return runner, (best[-1] if best else None)


def write_fold_files(train: dict, val: dict, folder: Path) -> tuple[Path, Path]:
    """Write a fold's train.json / val.json (COCO, from `split_annotations`) into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "train.json", train)
    write_json(folder / "val.json", val)
    return folder / "train.json", folder / "val.json"


@dataclass
class FoldResult:
    model: torch.nn.Module  # best weights (or the untrained model with epochs 0), eval mode
    config: Config  # the resolved mmengine config it was trained with
    classes: list[str]
    validation: list[ImagePredictions]  # the fold's validation images, through the one inference path
    scores: dict  # the competition's metric and score, COCO mAP of `validation`, epochs_trained, best_epoch


def train_fold(
    model_name: str,
    cfg: DetectorTrainConfig,
    *,
    seed: int,
    fold: int,
    coco: dict,
    folds: pd.DataFrame,
    clones: dict,
    images: Path,
    clone_images: Path,
    work: Path,
    reports: Path,
    metric: dict,
    where: tuple[str, str],
    progress: Callable[[int], Any] | None = None,
) -> FoldResult | None:
    """Train `model_name` on `fold` (the merged COCO `coco`, the folds table, the augment stage's `clones`;
    images under `images` and `clone_images`) in the resumable work folder `work`, DVCLive logs in
    `reports`/live (kept in `work` while training, so that a resumed run keeps its earlier epochs), keeping
    the epoch that scores best by the competition's `metric` ({metric, iou_thr, empty_images}: box_metric's);
    then predict the fold's validation images with those weights. Under torchrun every rank trains; only rank 0
    predicts and gets a result (the others get None). `where` names the COCO file and the clones' file in
    errors; `progress(total)` returns a progress bar (update(n), close()) for the validation images."""
    import torch.distributed as dist

    classes = [c["name"] for c in coco["categories"]]
    check_classes(coco, classes, where[0])
    train, val = split_annotations(coco, folds, fold)
    check_clone_folds(clones["images"], dict(zip(folds.file_name, folds.fold, strict=True)), "file_name", where[1])
    train = with_image_paths(add_clones(train, clones, fold), images, clone_images)
    distributed = dist.is_initialized()
    rank = dist.get_rank() if distributed else 0
    use_cuda = torch.cuda.is_available()
    config = det_config.build_train_config(
        model_name,
        cfg,
        classes=classes,
        online=online_augment(cfg.online_augment, cfg.online_min_visibility, seed),
        train_ann=str(work / "data/train.json"),
        val_ann=str(work / "data/val.json"),
        work_dir=str(work),
        reports_dir=str(work / "live"),  # in the work folder: a resumed run keeps the curves of earlier epochs
        seed=seed,
        use_cuda=use_cuda,
        distributed=distributed,
        metric=metric,
        label=f"{model_name} fold {fold}",
    )
    config.data_digest = data_digest(train, val)  # same config, other folds: no resume
    if rank == 0:
        prepare_work_dir(work, config)  # empties it unless it holds this very run, interrupted
        write_fold_files(train, with_image_paths(val, images), work / "data")
    if distributed:
        dist.barrier()
    checkpoint = run_training(config, (work / "last_checkpoint").exists())[1] if cfg.epochs > 0 else None
    if rank != 0:
        return None
    if (work / "live").is_dir():  # the curves, every epoch of every run that led here, into the stage's reports
        shutil.copytree(work / "live", reports / "live", dirs_exist_ok=True)
    # epochs: 0 (the untrained baseline) has no curves; the folder dvc.yaml declares as plots still exists
    (reports / "live/plots/metrics").mkdir(parents=True, exist_ok=True)
    model = inference.build_detector(config.model, "cuda" if use_cuda else "cpu", checkpoint=checkpoint)
    paths = [images / img["file_name"] for img in val["images"]]
    bar = progress(len(paths)) if progress else None
    (validation,) = inference.predict_views(
        model,
        paths,
        views=["original"],
        scales=[1.0],
        image_size=cfg.image_size,
        batch_size=cfg.batch_size,
        progress=bar.update if bar else None,
    )
    if bar:
        bar.close()
    for pred in validation:
        pred.fold = fold
    truth = restrict(val, [p.file_name for p in validation])
    best_epoch = re.search(r"_epoch_(\d+)\.pth$", checkpoint.name) if checkpoint else None
    scores = {
        "metric": metric["metric"],
        "score": box_metric(
            metric["metric"],
            truth,
            classes,
            iou_thr=metric["iou_thr"],
            empty_images=metric["empty_images"],
            no_finding=metric["no_finding"],
        )(validation),  # fmt: skip
        **coco_map(truth, validation, classes),
        "epochs_trained": cfg.epochs if checkpoint else 0,
        "best_epoch": int(best_epoch.group(1)) if best_epoch else 0,
    }
    mark_finished(work)
    return FoldResult(model, config, classes, validation, scores)
