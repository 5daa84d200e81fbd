"""Detector inference, the one path for every prediction podium makes: a fold's validation predictions in
training, and OOF and test predictions (with test-time augmentation) in predict_detector.

Views: "original", "hflip", "vflip", each at every scale in `scales` (multipliers of the training image size).
Each view's boxes are mapped back to original-image pixels here; fusing the views is the ensemble's job
(`podium.ensemble.fuse_views`), so editing the fusion never retrains a detector. Every input is resized to fit
and padded to the same square, so a prediction does not depend on which images share its batch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mmcv
import numpy as np
import torch
import yaml

from podium import compat
from podium.boxes import ImagePredictions, PredictionError
from podium.detection import config as det_config
from podium.params import check_section
from podium.settings import DetectorTrainConfig


def _flip_boxes(boxes: np.ndarray, size: int, columns: list[int]) -> np.ndarray:
    out = boxes.copy()
    out[:, columns] = size - boxes[:, columns[::-1]]
    return out


# view -> (image (H, W, 3) -> viewed image, (boxes, width, height) on the viewed image -> boxes on the original)
VIEWS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray, int, int], np.ndarray]]] = {
    "original": (lambda image: image, lambda boxes, w, h: boxes),
    "hflip": (lambda image: np.ascontiguousarray(image[:, ::-1]), lambda boxes, w, h: _flip_boxes(boxes, w, [0, 2])),
    "vflip": (lambda image: np.ascontiguousarray(image[::-1]), lambda boxes, w, h: _flip_boxes(boxes, h, [1, 3])),
}


def unflip(pred: ImagePredictions, view: str) -> ImagePredictions:
    """Boxes predicted on a viewed (flipped) image -> boxes on the original image."""
    if view not in VIEWS:
        raise ValueError(f"unknown TTA view {view!r}; valid views are {list(VIEWS)}")
    boxes = VIEWS[view][1](pred.boxes, pred.width, pred.height)
    return ImagePredictions(pred.file_name, pred.width, pred.height, boxes, pred.scores, pred.labels, pred.fold)


def from_det_data_sample(sample, file_name: str) -> ImagePredictions:
    """mmdet 3.x `DetDataSample` (predicted with rescale=True) -> ImagePredictions, boxes clipped to the
    image (mmdet can return boxes a fraction of a pixel outside it). The one adapter from mmdet's output."""
    height, width = sample.ori_shape
    inst = sample.pred_instances
    boxes = inst.bboxes.detach().cpu().float().numpy().reshape(-1, 4)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    return ImagePredictions(
        file_name,
        int(width),
        int(height),
        boxes,
        inst.scores.detach().cpu().numpy(),
        inst.labels.detach().cpu().numpy(),
    )


def read_image(path: Path) -> np.ndarray:
    if not Path(path).is_file():
        raise PredictionError(f"{path}: image not found")
    image = mmcv.imread(str(path))  # BGR, as mmdet's LoadImageFromFile
    if image is None:
        raise PredictionError(f"{path}: unreadable image; re-export it or remove it")
    return image


@torch.no_grad()
def predict_view(
    model: torch.nn.Module,
    paths: list[Path],
    view: str,
    size: int,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> list[ImagePredictions]:
    """One view of every image at input size `size` px, boxes mapped back to original-image pixels."""
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate

    pipeline = Compose(det_config.test_pipeline(size, from_array=True))
    transform = VIEWS[view][0]
    out = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        batch = [
            pipeline(dict(img=transform(read_image(path)), img_id=start + i, img_path=str(path)))
            for i, path in enumerate(chunk)
        ]
        samples = model.test_step(pseudo_collate(batch))
        out.extend(unflip(from_det_data_sample(s, Path(p).name), view) for s, p in zip(samples, chunk, strict=True))
        if progress:
            progress(len(chunk))
    return out


def predict_views(
    model: torch.nn.Module,
    paths: list[Path],
    *,
    views: list[str],
    scales: list[float],
    image_size: int,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> list[list[ImagePredictions]]:
    """One prediction set per (view, scale), in that order; `image_size` is the training input size (px)."""
    if unknown := sorted(set(views) - set(VIEWS)):
        raise ValueError(f"unknown TTA view(s) {unknown}; valid views are {list(VIEWS)}")
    return [
        predict_view(model, paths, view, round(image_size * scale), batch_size, progress)
        for view in views
        for scale in scales
    ]


def build_detector(
    model_cfg, device: str | torch.device, checkpoint: str | Path | None = None, state_dict: dict | None = None
) -> torch.nn.Module:
    """The mmdet model `model_cfg` (a model config dict) in eval mode, with the weights of `state_dict`, or of
    `checkpoint` (an mmengine checkpoint this very run wrote, read by mmengine's loader), or as initialised."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.runner.checkpoint import load_checkpoint

    register_all_modules()
    compat.apply()
    model = MODELS.build(model_cfg)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    elif checkpoint is not None:
        load_checkpoint(model, str(checkpoint), map_location="cpu", revise_keys=[(r"^module\.", "")])
    else:
        model.init_weights()
    return model.to(device).eval()


def read_checkpoint(path: Path) -> dict:
    """podium's detector checkpoint ({"state_dict", "meta": {classes, model, fold}}), loaded weights-only: a
    file that travelled through a DVC remote can hold tensors and plain data, never code."""
    if not Path(path).is_file():
        raise PredictionError(f"{path}: checkpoint not found; run its train_detector stage")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise PredictionError(f"{path}: not a podium detector checkpoint ({e}); retrain it") from e
    if "state_dict" not in checkpoint or "classes" not in checkpoint.get("meta", {}):
        raise PredictionError(f"{path}: not a podium detector checkpoint (no state_dict or meta.classes); retrain it")
    return checkpoint


def load_detector(
    model_dir: Path,
    model: str,
    fold: int,
    device: str,
) -> tuple[torch.nn.Module, list[str], DetectorTrainConfig]:
    """(model in eval mode, classes, the resolved training params) of a train_detector output folder, which must
    hold `model`'s fold `fold`. The architecture is rebuilt from `params.yaml` (parsed, never executed; the
    folder's config.py is for mmdet's own tools only), the weights come from `model.pth` (weights-only)."""
    checkpoint = model_dir / "model.pth"
    saved = read_checkpoint(checkpoint)
    meta = saved["meta"]
    if (meta.get("model"), meta.get("fold")) != (model, fold):
        raise PredictionError(
            f"{checkpoint}: holds model {meta.get('model')} fold {meta.get('fold')}, not {model} "
            f"fold {fold}; rerun train_detector@{model}-{fold}"
        )
    try:
        resolved = yaml.safe_load((model_dir / "params.yaml").read_text())["train_detector"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise PredictionError(
            f"{model_dir / 'params.yaml'}: unreadable ({e!r}); rerun train_detector@{model}-{fold}"
        ) from e
    cfg = check_section(DetectorTrainConfig, resolved, str(model_dir / "params.yaml"))
    model_cfg = det_config.build_model(model, cfg, meta["classes"])
    return build_detector(model_cfg, device, state_dict=saved["state_dict"]), meta["classes"], cfg
