"""train_detector and evaluate_detector on the tiny embedded competition: the real stage, 1 epoch."""

import json

import pandas as pd
import pytest

from podium.detection.predictions import read_predictions


def _train(run_stage, params, data, out, model="vfnet", fold=0, check=True):
    return run_stage("train_detector", "--params", params, "--model", model, "--fold", fold,
                     "--folds", data / "folds/detection.csv", "--merged", data / "merged/detection",
                     "--work", out / f"work/{model}/fold{fold}", "--out", out / f"models/{model}/fold{fold}",
                     "--reports", out / f"reports/{model}/fold{fold}", check=check)


@pytest.mark.parametrize("model", ["vfnet", "cascade_rcnn", "faster_rcnn"])
def test_one_epoch_of_each_model_family(tmp_path, tiny_data, params_factory, run_stage, model):
    _train(run_stage, params_factory(), tiny_data, tmp_path, model=model)
    out = tmp_path / f"models/{model}/fold0"
    assert sorted(p.name for p in out.iterdir()) == ["config.py", "model.pth", "oof.json", "params.yaml"]
    classes, oof, meta = read_predictions(out / "oof.json")
    folds = pd.read_csv(tiny_data / "folds/detection.csv")
    assert sorted(p.file_name for p in oof) == sorted(folds.file_name[folds.fold == 0])
    assert all(p.fold == 0 and (p.width, p.height) == (64, 64) for p in oof)
    assert classes == ["circle", "square", "triangle", "star", "cross"]
    metrics = json.loads((tmp_path / f"reports/{model}/fold0/metrics.json").read_text())
    assert 0 <= metrics["mAP"] <= 1 and set(metrics["per_class"]) == set(classes)
    assert (tmp_path / f"reports/{model}/fold0/live/plots/metrics/loss.tsv").exists()


def test_rerun_resumes_and_evaluate_joins_the_folds(tmp_path, tiny_data, params_factory, run_stage):
    params = params_factory()
    _train(run_stage, params, tiny_data, tmp_path, fold=0)
    again = _train(run_stage, params, tiny_data, tmp_path, fold=0)  # the work folder holds this config's run
    assert "resumed epoch: 1" in again.stdout + again.stderr  # mmengine reloaded its own checkpoint
    _train(run_stage, params, tiny_data, tmp_path, fold=1)
    run_stage("evaluate_detector", "--folds", tiny_data / "folds/detection.csv", "--merged",
              tiny_data / "merged/detection", "--models", tmp_path / "models/vfnet", "--oof", tmp_path / "oof.json",
              "--metrics", tmp_path / "cv.json")
    cv = json.loads((tmp_path / "cv.json").read_text())
    assert set(cv["fold_mAP"]) == {"0", "1"}
    assert len(read_predictions(tmp_path / "oof.json")[1]) == 12


def test_changed_config_starts_afresh(tmp_path, tiny_data, params_factory, run_stage):
    _train(run_stage, params_factory(), tiny_data, tmp_path)
    result = _train(run_stage, params_factory(train_detector={"lr": 0.001}), tiny_data, tmp_path)
    assert "resumed epoch" not in result.stdout + result.stderr


def test_checkpoint_of_another_model_is_refused(tmp_path, tiny_data, params_factory, run_stage):
    _train(run_stage, params_factory(), tiny_data, tmp_path, model="vfnet")
    checkpoint = tmp_path / "models/vfnet/fold0/model.pth"
    params = params_factory(train_detector={"load_from": str(checkpoint)})
    result = _train(run_stage, params, tiny_data, tmp_path / "b", model="cascade_rcnn", check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "model.pth: it has weights for ['bbox_head']" in result.stderr
    assert "trained for another model" in result.stderr
    assert not (tmp_path / "b/models").exists()


def test_untrained_baseline_with_zero_epochs(tmp_path, tiny_data, params_factory, run_stage):
    _train(run_stage, params_factory(train_detector={"epochs": 0}), tiny_data, tmp_path)
    metrics = json.loads((tmp_path / "reports/vfnet/fold0/metrics.json").read_text())
    assert metrics["epochs_trained"] == 0


def test_two_process_ddp_on_cpu(tmp_path, tiny_data, params_factory, run_stage):
    result = _train(run_stage, params_factory(train_detector={"gpus": 2, "batch_size": 3}), tiny_data, tmp_path)
    assert "launching 2 processes" in result.stdout
    _, oof, _ = read_predictions(tmp_path / "models/vfnet/fold0/oof.json")
    assert len(oof) == 6
