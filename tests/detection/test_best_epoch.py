"""The epoch a training keeps is the best by the competition's metric, not COCO's: mmengine's real Runner, loops,
checkpoint and early-stopping hooks and podium's evaluator, with a scripted detector whose validation boxes are
built so that the two metrics rank the epochs differently."""

import dataclasses
import math

import pandas as pd
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from podium.detection.config import build_train_config
from podium.detection.train import run_training, split_annotations, with_image_paths, write_fold_files
from podium.files import read_json
from podium.params import load_params, resolve_model

# Per epoch, what the scripted detector predicts on each validation image:
# 1 "exact + FP": every truth box exactly (score 0.9) and one low-score false positive: COCO mAP 1.0 (a
#   low-score FP ranked after every hit costs no AP); Global Wheat's TP / (TP + FP + FN) < 1.
# 2 "IoU 0.82": every truth box shrunk about its centre to IoU 0.82: a hit at every Global Wheat threshold
#   (0.50-0.75) and no FP: wheat 1.0; COCO misses it at IoU 0.85-0.95: mAP 0.7.
# 3 nothing: 0 by both.
PLAN = ("exact + FP", "IoU 0.82", "nothing")


@MODELS.register_module()
class ScriptedDetector(BaseModel):
    def __init__(self, truth_file: str, classes: list[str], fail_at: int = 0):
        super().__init__()
        self.fail_at = fail_at  # the epoch whose training raises (0: none)
        self.weight = torch.nn.Parameter(torch.zeros(1))
        truth = read_json(truth_file)
        label = {c["id"]: classes.index(c["name"]) for c in truth["categories"]}
        path = {img["id"]: img["file_name"] for img in truth["images"]}
        self.truth = {p: [] for p in path.values()}
        for a in truth["annotations"]:
            self.truth[path[a["image_id"]]].append((a["bbox"], label[a["category_id"]]))
        self.epoch, self.trained_since = 0, False

    def forward(self, inputs, data_samples=None, mode="tensor"):
        if mode == "loss" and self.fail_at == self.epoch + 1:
            raise RuntimeError("scripted failure")
        if mode == "loss":
            self.trained_since = True
            return {"loss": (self.weight - 1).pow(2).sum()}
        if self.trained_since:  # the first validation batch after an epoch of training
            self.epoch, self.trained_since = self.epoch + 1, False
        return [self._predict(sample) for sample in data_samples]

    def _predict(self, sample: DetDataSample) -> DetDataSample:
        boxes, scores, labels = [], [], []
        plan = PLAN[self.epoch - 1]
        shrink = math.sqrt(0.82)  # a box shrunk by s about its centre has IoU s^2 with it
        for (x, y, w, h), label in self.truth[sample.img_path]:
            if plan == "nothing":
                continue
            s = 1.0 if plan == "exact + FP" else shrink
            cx, cy = x + w / 2, y + h / 2
            boxes.append([cx - s * w / 2, cy - s * h / 2, cx + s * w / 2, cy + s * h / 2])
            scores.append(0.9)
            labels.append(label)
        if plan == "exact + FP":
            boxes.append([0.0, 0.0, 2.0, 2.0])  # smaller than any truth box: IoU < 0.5 with each
            scores.append(0.05)
            labels.append(0)
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            scores=torch.tensor(scores, dtype=torch.float32),
            labels=torch.tensor(labels, dtype=torch.int64),
        )
        return sample


def _train(tmp_path, tiny_data, metric: str, fail_at: int = 0) -> tuple[str, object]:
    params = load_params("params.yaml")
    cfg = dataclasses.replace(
        resolve_model(params["train_detector"], "vfnet", "train_detector"),
        epochs=len(PLAN), patience=5, batch_size=4, image_size=64, num_workers=0, online_augment={}, ema=False,
        freeze_backbone_epochs=0, device="cpu",
    )  # fmt: skip
    coco = read_json(tiny_data / "merged/detection/train.json")
    if metric == "wheat_precision":  # Global Wheat's metric scores one class
        coco = {**coco, "categories": [{"id": 1, "name": "wheat"}]}
        coco["annotations"] = [{**a, "category_id": 1} for a in coco["annotations"]]
    classes = [c["name"] for c in coco["categories"]]
    train, val = split_annotations(coco, pd.read_csv(tiny_data / "folds/detection.csv"), 0)
    images, work = tiny_data / "merged/detection/images", tmp_path / metric
    train_ann, val_ann = write_fold_files(with_image_paths(train, images), with_image_paths(val, images), work / "d")
    config = build_train_config(
        "vfnet", cfg, classes=classes, online=[], train_ann=str(train_ann), val_ann=str(val_ann), work_dir=str(work),
        reports_dir=str(work / "live"), seed=0, use_cuda=False, distributed=False,
        metric={"metric": metric, "iou_thr": 0.5, "empty_images": "excluded", "no_finding": ""},
        label=f"scripted {metric}",
    )  # fmt: skip
    config.model = dict(type="ScriptedDetector", truth_file=str(val_ann), classes=classes, fail_at=fail_at)
    return run_training(config, resume=False)


@pytest.mark.parametrize("metric, kept", [("wheat_precision", 2), ("coco_map", 1)])
def test_the_kept_epoch_is_the_competition_metrics_best(tmp_path, tiny_data, capsys, metric, kept):
    runner, best = _train(tmp_path, tiny_data, metric)
    assert best.name == f"best_competition_{metric}_epoch_{kept}.pth"
    console = capsys.readouterr().out
    # podium's lines: one per epoch with the score and the best so far, then the kept epoch; COCO beside it
    assert f"scripted {metric}: keeps epoch {kept} (competition/{metric} 1.0000)" in console
    assert "epoch 2/3: loss " in console and "COCO mAP 0.7000" in console
    # mmengine's environment dump and per-iteration lines stay in its log file, named on the first line
    assert "Environment" not in console and "Epoch(train)" not in console and "Epoch(val)" not in console
    assert "loading annotations" not in console and "deprecated" not in console
    log = runner.logger.log_file
    assert f"mmengine's log: {log}" in console and "Epoch(val)" in open(log).read()
    # the COCO numbers under coco/, class-wise APs under class_ap/, the competition's under competition/
    live = tmp_path / metric / "live/plots/metrics"
    assert (live / f"competition/{metric}.tsv").exists() and (live / "coco/bbox_mAP.tsv").exists()
    assert (live / "class_ap" / f"{'wheat' if metric == 'wheat_precision' else 'circle'}.tsv").exists()
    assert not list(live.glob("coco/*_precision.tsv"))


def test_a_failed_training_names_mmengines_full_log(tmp_path, tiny_data, capsys):
    with pytest.raises(RuntimeError, match="scripted failure"):
        _train(tmp_path, tiny_data, "coco_map", fail_at=2)
    err = capsys.readouterr().err
    (log,) = (tmp_path / "coco_map").glob("*/*.log")
    assert f"training stopped; mmengine's full log: {log}" in err and "Epoch(train) [1]" in log.read_text()
