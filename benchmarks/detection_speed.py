"""Detection speed on this machine: training images/s (train_step on a batch) and inference images/s
(podium's batched `predict_view`) for each model, next to mmdet's own `DetInferencer` on the same
checkpoint and images, in one run. Sizes are the default params' (image_size, widths, batch size).

    .venv/bin/python benchmarks/detection_speed.py [--images 32] [--steps 5] [--models vfnet ...]

mmcv's ops run on torchvision's kernels (podium.mmcv_ext); to time a compiled mmcv build instead, point
PODIUM_MMCV_EXT at its `_ext*.so` (the header line says which ran).
"""

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from podium import compat
from podium.detection.config import build_train_config
from podium.detection.inference import build_detector, predict_view
from podium.params import load_params, resolve_model
from podium.settings import DetectorTrainConfig

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["circle", "square", "triangle", "star", "cross"]


def synthetic_batch(size: int, batch: int, boxes: int, classes: int, rng: np.random.Generator) -> dict:
    """A training batch as mmdet's data preprocessor takes it: `batch` random square images of `size` px with
    `boxes` random boxes each (also used by benchmarks/gpu_check.py)."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    samples = []
    for _ in range(batch):
        shape = (size, size)
        sample = DetDataSample(
            metainfo=dict(
                img_shape=shape, ori_shape=shape, scale_factor=(1, 1), pad_shape=shape, batch_input_shape=shape
            )
        )
        xy = rng.uniform(0, size * 0.6, (boxes, 2))
        wh = rng.uniform(size * 0.1, size * 0.35, (boxes, 2))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(np.hstack([xy, xy + wh]), dtype=torch.float32),
            labels=torch.tensor(rng.integers(0, classes, boxes)),
        )
        samples.append(sample)
    inputs = [torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def train_images_per_second(model, cfg: DetectorTrainConfig, steps: int) -> float:
    from mmengine.optim import build_optim_wrapper

    data = synthetic_batch(cfg.image_size, cfg.batch_size, 4, len(CLASSES), np.random.default_rng(0))
    optim = build_optim_wrapper(model, dict(optimizer=dict(type="AdamW", lr=1e-4)))
    model.train()
    model.train_step(data, optim)  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        model.train_step(data, optim)
    return steps * cfg.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["vfnet", "cascade_rcnn", "faster_rcnn"])
    args = parser.parse_args()
    from mmdet.apis import DetInferencer

    compat.apply()
    shared = load_params(ROOT / "params.yaml")["train_detector"]
    tmp = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    paths = []
    for i in range(args.images):
        paths.append(tmp / f"{i}.png")
        cv2.imwrite(str(paths[-1]), rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))
    rows = []
    for name in args.models:
        cfg = dataclasses.replace(resolve_model(shared, name, "train_detector"), device="cpu")
        config = build_train_config(
            name,
            cfg,
            classes=CLASSES,
            online=[],
            train_ann="x.json",
            val_ann="y.json",
            work_dir=str(tmp / "work"),
            reports_dir=str(tmp / "rep"),
            seed=0,
            use_cuda=False,
            distributed=False,
            metric=None,
            label=name,
        )
        model = build_detector(config.model, "cpu")
        checkpoint = tmp / f"{name}.pth"
        torch.save({"state_dict": model.state_dict(), "meta": {"dataset_meta": {"classes": CLASSES}}}, checkpoint)
        config_path = tmp / f"{name}.py"
        config.dump(str(config_path))
        train_ips = train_images_per_second(build_detector(config.model, "cpu"), cfg, args.steps)
        model.eval()
        predict_view(model, paths[: cfg.batch_size], "original", cfg.image_size, cfg.batch_size)  # warm-up
        start = time.perf_counter()
        ours = predict_view(model, paths, "original", cfg.image_size, cfg.batch_size)
        ours_ips = len(paths) / (time.perf_counter() - start)
        inferencer = DetInferencer(model=str(config_path), weights=str(checkpoint), device="cpu", show_progress=False)
        inferencer(str(paths[0]), return_datasamples=True, no_save_pred=True)  # warm-up
        start = time.perf_counter()
        theirs = inferencer(
            [str(p) for p in paths], batch_size=cfg.batch_size, return_datasamples=True, no_save_pred=True
        )["predictions"]
        theirs_ips = len(paths) / (time.perf_counter() - start)
        same = all(
            np.allclose(a.boxes, b.pred_instances.bboxes.numpy(), atol=1e-3) for a, b in zip(ours, theirs, strict=True)
        )
        rows.append((name, train_ips, ours_ips, theirs_ips, same))
    from podium import mmcv_ext

    print(
        f"CPU, {torch.get_num_threads()} threads, mmcv ops: {mmcv_ext.source()}; "
        f"image_size {cfg.image_size} (inputs 256 px), "
        f"batch {cfg.batch_size}, "
        f"ResNet-{cfg.backbone_depth} base {cfg.base_channels}, FPN {cfg.neck_channels}; {args.images} images"
    )
    print(
        f"{'model':13} {'train img/s':>11} {'podium infer img/s':>19} {'DetInferencer img/s':>20} {'ratio':>6} "
        f"{'same boxes':>10}"
    )
    for name, train_ips, ours_ips, theirs_ips, same in rows:
        print(
            f"{name:13} {train_ips:11.1f} {ours_ips:19.1f} {theirs_ips:20.1f} {ours_ips / theirs_ips:5.2f}x "
            f"{str(same):>10}"
        )


if __name__ == "__main__":
    main()
