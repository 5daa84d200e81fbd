"""Resume equals an uninterrupted run: training interrupted after epoch 1 (with online augmentation on) and
resumed gives the same weights and validation predictions as a run never interrupted, byte for byte, and its
DVCLive curves keep every epoch. Each run is its own process, as a killed and rerun stage is."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
# an interrupted training run, then its resumption and an uninterrupted twin: about a minute on 2 cores
pytestmark = pytest.mark.slow

RUN = r"""
import json, sys
from pathlib import Path
import pandas as pd
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from podium.detection.config import build_train_config
from podium.detection.hooks import online_augment
from podium.detection.train import prepare_work_dir, run_training, split_annotations, with_image_paths, write_fold_files
from podium.files import read_json
from podium.params import load_params, resolve_model

args = json.loads(sys.argv[1])
work, data = Path(args["work"]), Path(args["data"])

@HOOKS.register_module()
class StopAfterEpoch(Hook):
    priority = "LOWEST"  # after the checkpoint hook has saved the epoch

    def after_val_epoch(self, runner, metrics=None):
        if runner.epoch == args["stop_after"]:
            raise KeyboardInterrupt("interrupted on purpose")

cfg = resolve_model(load_params(args["params"])["train_detector"], "vfnet", "train_detector")
coco = read_json(data / "merged/detection/train.json")
train, val = split_annotations(coco, pd.read_csv(data / "folds/detection.csv"), 0)
images = data / "merged/detection/images"
config = build_train_config(
    "vfnet", cfg, classes=[c["name"] for c in coco["categories"]],
    online=online_augment(cfg.online_augment, cfg.online_min_visibility, seed=7),
    train_ann=str(work / "data/train.json"), val_ann=str(work / "data/val.json"), work_dir=str(work),
    reports_dir=str(work / "live"), seed=7, use_cuda=False, distributed=False,
    metric={"metric": "coco_map", "iou_thr": 0.5, "empty_images": "excluded", "no_finding": ""},
    label="vfnet fold 0")
if args["stop_after"] is not None:
    config.custom_hooks = [*config.custom_hooks, dict(type="StopAfterEpoch")]
if not args["resume"]:
    prepare_work_dir(work, config)
    write_fold_files(with_image_paths(train, images), with_image_paths(val, images), work / "data")
try:
    _, best = run_training(config, args["resume"])
except KeyboardInterrupt:
    sys.exit(3)
print("BEST", best)
"""


def _run(tmp_path, tiny_data, params, work, stop_after=None, resume=False):
    args = {
        "work": str(work),
        "data": str(tiny_data),
        "params": str(params),
        "stop_after": stop_after,
        "resume": resume,
    }
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(args)], capture_output=True, text=True, env=env, cwd=tmp_path
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_data, write_params):
    root = tmp_path_factory.mktemp("resume")
    params = write_params(
        root,
        train_detector={
            "epochs": 2,
            "patience": 5,
            "online_augment": {"rain": {"p": 0.5, "strength": 0.5}, "hflip": {"p": 0.5, "strength": 0.0}},
        },
    )
    whole = _run(root, tiny_data, params, root / "whole")
    assert whole.returncode == 0, whole.stderr[-3000:]
    cut = _run(root, tiny_data, params, root / "cut", stop_after=1)
    assert cut.returncode == 3, cut.stderr[-3000:]
    resumed = _run(root, tiny_data, params, root / "cut", resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed epoch: 1" in resumed.stdout + resumed.stderr
    return root


def _weights(folder: Path) -> dict:
    state = torch.load(folder / "epoch_2.pth", map_location="cpu", weights_only=False)["state_dict"]
    return {k: v for k, v in state.items()}


def test_a_resumed_run_has_the_weights_of_an_uninterrupted_one(runs):
    whole, resumed = _weights(runs / "whole"), _weights(runs / "cut")
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole), [
        k for k in whole if not torch.equal(whole[k], resumed[k])
    ][:5]


def test_a_resumed_runs_curves_keep_every_epoch(runs):
    for name in ("whole", "cut"):
        rows = (runs / name / "live/plots/metrics/coco/bbox_mAP.tsv").read_text().strip().splitlines()
        assert len(rows) == 3, (name, rows)  # header + epochs 1 and 2
