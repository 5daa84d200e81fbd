"""Offline augmentation speed: images/s and clips/s per operation (in memory, strong strength), then the whole
policy of params.yaml as the augment stage runs it (read, augment, check, write) with 1 and --workers
processes, beside a plain loop a user would write instead (the same albumentations/audiomentations Compose,
unseeded, no checks), in one run.

    .venv/bin/python benchmarks/augment_speed.py [--images 200] [--clips 400] [--size 256] [--workers 2]
"""

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from podium.augment.clones import AudioCloner, ImageCloner, policy_ops, run_cloner
from podium.augment.policy import AUDIO_OP_NAMES, IMAGE_OPS, audio_compose, image_compose
from podium.clips import read_clip, write_clip
from podium.params import load_params

RATE = 16000
LABELS = [1, 2, 3, 4]


def rate(fn, count: int, repeat: int = 1) -> float:
    """Items per second of `fn()` processing `count` items, best of `repeat`."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return count / best


def make_data(root: Path, images: int, clips: int, size: int) -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng(0)
    (root / "images").mkdir()
    (root / "clips").mkdir()
    (root / "noise").mkdir()
    image_jobs, clip_jobs = [], []
    for i in range(images):
        name = f"im{i:04d}.png"
        cv2.imwrite(str(root / "images" / name), rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
        boxes = [[float(x), float(y), 40.0, 30.0] for x, y in rng.uniform(0, size - 50, (4, 2))]
        image_jobs.append(
            {
                "file_name": name,
                "width": size,
                "height": size,
                "group": name,
                "fold": i % 3,
                "boxes": boxes,
                "category_ids": [1, 2, 3, 4],
            }
        )
    t = np.arange(RATE) / RATE
    for i in range(clips):
        name = f"c{i:04d}.wav"
        tone = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 800) * t)
        write_clip(root / "clips" / name, tone.astype(np.float32), RATE)
        clip_jobs.append({"fname": name, "label": "yes", "source": "competition", "group": name, "fold": i % 3})
    for i in range(3):
        write_clip(root / "noise" / f"n{i}.wav", (0.1 * rng.standard_normal(5 * RATE)).astype(np.float32), RATE)
    return image_jobs, clip_jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    cfg = load_params(Path(__file__).resolve().parents[1] / "params.yaml")["augment"]
    print(f"# {os.cpu_count()} cores; params.yaml policy; images {args.size}x{args.size} px, clips 1 s at {RATE} Hz")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image_jobs, clip_jobs = make_data(root, args.images, args.clips, args.size)
        image = cv2.imread(str(root / "images" / image_jobs[0]["file_name"]))
        boxes = np.asarray(image_jobs[0]["boxes"], dtype=np.float32)
        print("\nper image op (strength 1, p 1, in memory)      images/s")
        for name in IMAGE_OPS:
            compose = image_compose({name: (1.0, 1.0)}, 0.3, 2)
            speed = rate(lambda c=compose: [c(image=image, bboxes=boxes, labels=LABELS) for _ in range(100)], 100, 3)
            print(f"  {name:<44} {speed:8.0f}")
        clip = read_clip(root / "clips" / clip_jobs[0]["fname"], RATE)
        print("\nper audio op (strength 1, p 1, in memory)       clips/s")
        for name in AUDIO_OP_NAMES:
            compose = audio_compose({name: (1.0, 1.0)}, root / "noise")
            speed = rate(lambda c=compose: [c(samples=clip, sample_rate=RATE) for _ in range(50)], 50, 3)
            print(f"  {name:<44} {speed:8.0f}")

        print(f"\nwhole policy, files in and out ({args.images} images, {args.clips} clips, 1 clone each)")
        plain_img = image_compose(policy_ops(cfg.image_ops, "weak"), cfg.min_visibility, cfg.min_box_size)

        def plain_images():  # what a user would write: read, transform, write, one process
            (root / "plain").mkdir(exist_ok=True)
            for job in image_jobs:
                img = cv2.cvtColor(cv2.imread(str(root / "images" / job["file_name"])), cv2.COLOR_BGR2RGB)
                out = plain_img(image=img, bboxes=job["boxes"], labels=job["category_ids"])
                cv2.imwrite(str(root / "plain" / job["file_name"]), cv2.cvtColor(out["image"], cv2.COLOR_RGB2BGR))

        plain_audio = audio_compose(policy_ops(cfg.audio_ops, "weak"), root / "noise")

        def plain_clips():
            (root / "plain").mkdir(exist_ok=True)
            for job in clip_jobs:
                out = plain_audio(samples=read_clip(root / "clips" / job["fname"], RATE), sample_rate=RATE)
                write_clip(root / "plain" / job["fname"], np.clip(out, -1, 1), RATE)

        def podium(kind: str, workers: int):
            out = root / f"{kind}{workers}"
            out.mkdir(exist_ok=True)
            if kind == "images":
                one = dataclasses.replace(cfg, detection_clones=1)
                cloner = ImageCloner(one, seed=0, images=root / "images", out=out)
                return lambda: run_cloner(cloner, image_jobs, workers, "images")
            one = dataclasses.replace(cfg, audio_clones=1)
            cloner = AudioCloner(one, seed=0, sample_rate=RATE, noise=root / "noise", clips=root / "clips", out=out)
            return lambda: run_cloner(cloner, clip_jobs, workers, "clips")

        base_i, base_c = rate(plain_images, args.images), rate(plain_clips, args.clips)
        rows = [("plain loop, 1 process (baseline)", base_i, base_c)]
        for workers in sorted({1, args.workers}):
            rows.append(
                (
                    f"podium augment, {workers} worker(s)",
                    rate(podium("images", workers), args.images),
                    rate(podium("clips", workers), args.clips),
                )
            )
        print(f"  {'':<40} {'images/s':>9} {'ratio':>6} {'clips/s':>9} {'ratio':>6}")
        for name, i, c in rows:
            print(f"  {name:<40} {i:9.0f} {i / base_i:6.2f} {c:9.0f} {c / base_c:6.2f}")


if __name__ == "__main__":
    main()
