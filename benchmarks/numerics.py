"""What `numerics.mode: exact` costs in speed on this machine: training steps per second of each default model
with the numeric environment pinned (kernels capped at AVX2, `numerics.threads` threads, deterministic
algorithms) against `fast` (the machine's own kernels and torch's default thread count), side by side in one
run. Each mode runs in its own process, since the kernels are chosen once per process.
With --knobs, which of the knobs exact sets change a result: the weights' hash after three AdamW steps of a
conv + batch-norm + linear net, for each combination of ATen's ISA, oneDNN's ISA cap, MKL_CBWR and 1 or 2
threads, unpinned (`fast`), each in its own process.

    .venv/bin/python benchmarks/numerics.py [--steps 10] [--rounds 2]
    .venv/bin/python benchmarks/numerics.py --knobs
"""

import argparse
import dataclasses
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(mode: str, steps: int) -> dict:
    """Pinned for `mode`, the training steps/s of each default model on synthetic batches of its default size."""
    import numpy as np
    import torch

    from podium import devices
    from podium.params import load_params, resolve_model
    from podium.settings import Numerics

    params = load_params(ROOT / "params.yaml")
    numerics = Numerics(mode=mode, threads=params["numerics"].threads)
    devices.pin_numerics(numerics)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from detection_speed import CLASSES, train_images_per_second

    from podium.audio.train import build_model
    from podium.detection.config import build_train_config
    from podium.detection.inference import build_detector

    out = {"env": devices.numeric_environment(numerics, torch.device("cpu")), "steps_per_s": {}}
    common, features, audio = params["common"], params["audio_features"], params["train_audio"]
    for name in params["models"].audio:
        cfg = resolve_model(audio, name, "train_audio")
        model = build_model(features, name, num_classes=12, sample_rate=common.sample_rate, pretrained="", seed=0)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        clips = torch.randn(cfg.batch_size, round(common.sample_rate * common.clip_seconds))  # (B, samples)
        labels = torch.arange(cfg.batch_size) % 12
        model.train()
        for i in range(steps + 1):  # the first is a warm-up
            if i == 1:
                start = time.perf_counter()
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(clips), labels).backward()
            optimizer.step()
        out["steps_per_s"][f"audio {name} (batch {cfg.batch_size})"] = steps / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        for name in params["models"].detection:
            cfg = dataclasses.replace(resolve_model(params["train_detector"], name, "train_detector"), device="cpu")
            config = build_train_config(
                name, cfg, classes=CLASSES, online=[], train_ann="x.json", val_ann="y.json", work_dir=tmp,
                reports_dir=tmp, seed=0, use_cuda=False, distributed=False, metric=None, label=name,
            )  # fmt: skip
            torch.manual_seed(0)
            np.random.seed(0)
            images_per_s = train_images_per_second(build_detector(config.model, "cpu"), cfg, steps)
            out["steps_per_s"][f"detection {name} (batch {cfg.batch_size}, {cfg.image_size} px)"] = (
                images_per_s / cfg.batch_size
            )
    return out


KNOB_PROBE = """
import hashlib, sys
import torch
torch.set_num_threads(int(sys.argv[1]))
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.Flatten(),
                          torch.nn.Linear(16 * 30 * 30, 10))
x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 10
opt = torch.optim.AdamW(net.parameters(), 1e-3)
for _ in range(3):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
print(hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in net.parameters())).hexdigest()[:12],
      torch.backends.cpu.get_cpu_capability())
"""


def knobs() -> None:
    """The hash table: one row per (ATen ISA, oneDNN cap, MKL_CBWR, threads); 'machine' = variable unset."""
    base = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")}
    print(f"{'ATEN_CPU_CAPABILITY':20} {'ONEDNN_MAX_CPU_ISA':19} {'MKL_CBWR':9} {'threads':>7}  weights   ATen used")
    for aten, onednn, mkl, threads in itertools.product(["", "avx2"], ["", "AVX2"], ["", "AVX2"], [1, 2]):
        env = {**base, **{k: v for k, v in zip(("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR"),
                                                 (aten, onednn, mkl), strict=True) if v}}  # fmt: skip
        cmd = [sys.executable, "-c", KNOB_PROBE, str(threads)]
        digest = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.strip()
        print(f"{aten or 'machine':20} {onednn or 'machine':19} {mkl or 'machine':9} {threads:7}  {digest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="alternate the modes this many times; best kept")
    parser.add_argument("--knobs", action="store_true", help="which knobs change a result (a hash table)")
    parser.add_argument("--child", choices=["exact", "fast"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.knobs:
        knobs()
        return
    if args.child:
        print(json.dumps(_child(args.child, args.steps)))
        return
    best: dict[str, dict] = {}
    envs = {}
    for _ in range(args.rounds):
        for mode in ("fast", "exact"):
            cmd = [sys.executable, __file__, "--child", mode, "--steps", str(args.steps)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])  # (libraries print too; the result is last)
            envs[mode] = result["env"]
            for name, rate in result["steps_per_s"].items():
                best.setdefault(name, {})[mode] = max(rate, best.get(name, {}).get(mode, 0.0))
    for mode, env in envs.items():
        print(f"{mode}: ATen {env['cpu_capability']}, oneDNN cap {env['onednn_max_isa']}, MKL_CBWR "
              f"{env['mkl_cbwr']}, {env['threads']} threads, torch {env['torch']}")  # fmt: skip
    print(f"training steps/s, best of {args.rounds} rounds of {args.steps} steps (modes alternated)")
    print(f"{'model':48} {'fast':>8} {'exact':>8} {'exact/fast':>10}")
    for name, rate in best.items():
        print(f"{name:48} {rate['fast']:8.2f} {rate['exact']:8.2f} {rate['exact'] / rate['fast']:9.2f}x")


if __name__ == "__main__":
    main()
