"""GPU check: on a CUDA machine, what the GPU profile (profiles/gpu.yaml over params.yaml) costs, model by
model: a few training steps with the optimiser wrapper training builds (AMP when the profile says so), a
TTA prediction with podium's inference path, images/s or clips/s, and peak GPU memory. Weights are random
(no download): speed and memory do not depend on them.

    make gpu-check                      # = .venv/bin/python benchmarks/gpu_check.py
    .venv/bin/python benchmarks/gpu_check.py --steps 10 --images 64 --profile gpu

Without CUDA it says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from detection_speed import synthetic_batch  # benchmarks/, this script's folder

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["c0", "c1", "c2", "c3", "c4"]


def profile_params(name: str) -> dict:
    from podium import profiles
    from podium.params import load_params

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params.yaml"
        path.write_text(profiles.applied(ROOT / "params.yaml", profiles.profile_path(name)))
        return load_params(path)


DEVICE = "cuda"  # `--device cpu` runs the same path on the CPU (how tests/test_gpu_check.py checks it)


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def reset_peak() -> None:
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()


def peak_gib() -> str:
    return f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB" if DEVICE == "cuda" else "-"


def per_call(fn, repeat: int) -> float:
    """Seconds per call of `fn` over `repeat` calls, after one warm-up call (cuDNN autotune, allocator)."""
    fn()
    sync()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync()
    return (time.perf_counter() - start) / repeat


def check_detector(name: str, params: dict, steps: int, images: int, tmp: Path) -> dict:
    from mmengine.optim import build_optim_wrapper

    from podium import compat
    from podium.detection.config import build_train_config
    from podium.detection.inference import build_detector, predict_views
    from podium.params import resolve_model

    compat.apply()
    cfg = dataclasses.replace(resolve_model(params["train_detector"], name, "train_detector"), load_from="")
    predict = resolve_model(params["predict_detector"], name, "predict_detector")
    config = build_train_config(
        name, cfg, classes=CLASSES, online=[], train_ann="x.json", val_ann="y.json", work_dir=str(tmp / "work"),
        reports_dir=str(tmp / "live"), seed=0, use_cuda=DEVICE == "cuda", distributed=False, metric=None, label=name,
    )  # fmt: skip
    reset_peak()
    model = build_detector(config.model, DEVICE)
    model.train()
    optim = build_optim_wrapper(model, config.optim_wrapper)
    batch = synthetic_batch(cfg.image_size, cfg.batch_size, 20, len(CLASSES), np.random.default_rng(0))
    train_ips = cfg.batch_size / per_call(lambda: model.train_step(batch, optim), steps)
    train_peak = peak_gib()

    rng = np.random.default_rng(1)
    paths = []
    for i in range(images):
        paths.append(tmp / f"{name}_{i}.jpg")
        cv2.imwrite(str(paths[-1]), rng.integers(0, 255, (cfg.image_size, cfg.image_size, 3), dtype=np.uint8))
    model.eval()
    reset_peak()
    views = dict(views=predict.tta_views, scales=predict.tta_scales, image_size=cfg.image_size)
    predict_s = per_call(lambda: predict_views(model, paths, **views, batch_size=predict.batch_size), 1)
    n_views = len(predict.tta_views) * len(predict.tta_scales)
    return dict(
        model=name,
        setup=f"{cfg.image_size}px batch {cfg.batch_size} R{cfg.backbone_depth} FPN{cfg.neck_channels} amp={cfg.amp}",
        train=f"{train_ips:.1f} img/s",
        train_peak=train_peak,
        predict=f"{images / predict_s:.1f} img/s ({n_views} views)",
        predict_peak=peak_gib(),
    )


def check_audio(name: str, params: dict, steps: int, clips: int) -> dict:
    from podium.audio.predict import predict_proba, tta_views
    from podium.audio.train import OPTIMIZERS, build_model
    from podium.params import resolve_model

    common = params["common"]
    cfg = resolve_model(params["train_audio"], name, "train_audio")
    predict = params["predict_audio"]
    device = torch.device(DEVICE)
    reset_peak()
    model = build_model(
        params["audio_features"], name, num_classes=12, sample_rate=common.sample_rate, pretrained="", seed=0
    ).to(device)
    optimizer = OPTIMIZERS[cfg.optimizer](model.parameters(), cfg)
    length = round(common.sample_rate * common.clip_seconds)
    waves = torch.randn(cfg.batch_size, length, device=device) * 0.1
    targets = torch.randint(0, 12, (cfg.batch_size,), device=device)

    def step():
        with torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=DEVICE == "cuda"):  # as podium.audio.train
            loss = torch.nn.functional.cross_entropy(model(waves).float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    train_cps = cfg.batch_size / per_call(step, steps)
    train_peak = peak_gib()

    data = torch.utils.data.TensorDataset(torch.randn(clips, length) * 0.1, torch.zeros(clips, dtype=torch.long))
    loader = torch.utils.data.DataLoader(data, batch_size=predict.batch_size)
    views = tta_views(predict.tta_shifts, predict.tta_polarity, common.sample_rate)
    reset_peak()
    predict_s = per_call(lambda: predict_proba(model, loader, device, views), 1)
    return dict(
        model=name,
        setup=f"{params['audio_features'].kind} batch {cfg.batch_size} bf16 autocast",
        train=f"{train_cps:.0f} clips/s",
        train_peak=train_peak,
        predict=f"{clips / predict_s:.0f} clips/s ({len(views)} views)",
        predict_peak=peak_gib(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="gpu", help="a profile name (profiles/NAME.yaml) or path")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per model")
    parser.add_argument("--images", type=int, default=64, help="images predicted per detector")
    parser.add_argument("--clips", type=int, default=4096, help="clips predicted per audio model")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print(
            "gpu_check needs a CUDA GPU and found none (torch.cuda.is_available() is False): run it on the GPU "
            "server, in this repository's .venv (`make gpu-check`)",
            file=sys.stderr,
        )
        sys.exit(2)
    from podium import mmcv_ext

    params = profile_params(args.profile)
    print(
        f"{torch.cuda.get_device_name() if DEVICE == 'cuda' else 'CPU'}, torch {torch.__version__}, "
        f"mmcv ops: {mmcv_ext.source()}; "
        f"profile {args.profile}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in params["models"].detection:
            rows.append(check_detector(name, params, args.steps, args.images, Path(tmp)))
            if DEVICE == "cuda":
                torch.cuda.empty_cache()
    for name in params["models"].audio:
        rows.append(check_audio(name, params, args.steps, args.clips))
        if DEVICE == "cuda":
            torch.cuda.empty_cache()
    columns = ["model", "setup", "train", "train_peak", "predict", "predict_peak"]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(row[c].ljust(widths[c]) for c in columns))


if __name__ == "__main__":
    main()
