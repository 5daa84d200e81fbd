"""train_detector and evaluate_detector on the tiny embedded competition: the real stage, 1 epoch."""

import json

import pandas as pd
import pytest

from podium.detection.predictions import read_predictions


def _train(run_stage, params, data, out, model="vfnet", fold=0, check=True):
    return run_stage("train_detector", "--params", params, "--model", model, "--fold", fold,
                     "--folds", data / "folds/detection.csv", "--merged", data / "merged/detection",
                     "--augmented", data / "augmented/detection", "--work", out / f"work/{model}/fold{fold}",
                     "--out", out / f"models/{model}/fold{fold}",
                     "--reports", out / f"reports/{model}/fold{fold}", check=check)


@pytest.fixture(scope="module")
def vfnet_run(tmp_path_factory, tiny_data, run_stage, write_params):
    """VFNet trained 1 epoch on fold 0 of the tiny data: (output root, params)."""
    root = tmp_path_factory.mktemp("vfnet")
    params = write_params(root)
    _train(run_stage, params, tiny_data, root)
    return root, params


def _check_outputs(root, model, tiny_data):
    out = root / f"models/{model}/fold0"
    assert sorted(p.name for p in out.iterdir()) == ["config.py", "model.pth", "oof.json", "params.yaml"]
    classes, oof, _ = read_predictions(out / "oof.json")
    folds = pd.read_csv(tiny_data / "folds/detection.csv")
    assert sorted(p.file_name for p in oof) == sorted(folds.file_name[folds.fold == 0])
    assert all(p.fold == 0 and (p.width, p.height) == (64, 64) for p in oof)
    assert classes == ["circle", "square", "triangle", "star", "cross"]
    metrics = json.loads((root / f"reports/{model}/fold0/metrics.json").read_text())
    assert 0 <= metrics["mAP"] <= 1 and set(metrics["per_class"]) == set(classes)
    assert (root / f"reports/{model}/fold0/live/plots/metrics/loss.tsv").exists()


def test_vfnet_one_epoch(vfnet_run, tiny_data):
    _check_outputs(vfnet_run[0], "vfnet", tiny_data)


@pytest.mark.parametrize("model", ["cascade_rcnn", "faster_rcnn"])
def test_one_epoch_of_the_two_stage_families(tmp_path, tiny_data, params_factory, run_stage, model):
    _train(run_stage, params_factory(), tiny_data, tmp_path, model=model)
    _check_outputs(tmp_path, model, tiny_data)


def test_rerun_resumes_and_evaluate_joins_the_folds(vfnet_run, tiny_data, run_stage):
    root, params = vfnet_run
    again = _train(run_stage, params, tiny_data, root, fold=0)  # the work folder holds this config's run
    assert "resumed epoch: 1" in again.stdout + again.stderr  # mmengine reloaded its own checkpoint
    _train(run_stage, params, tiny_data, root, fold=1)
    run_stage("evaluate_detector", "--folds", tiny_data / "folds/detection.csv", "--merged",
              tiny_data / "merged/detection", "--models", root / "models/vfnet", "--oof", root / "oof.json",
              "--metrics", root / "cv.json")
    cv = json.loads((root / "cv.json").read_text())
    assert set(cv["fold_mAP"]) == {"0", "1"}
    assert len(read_predictions(root / "oof.json")[1]) == 12


def test_checkpoint_of_another_model_is_refused(tmp_path, vfnet_run, tiny_data, params_factory, run_stage):
    checkpoint = vfnet_run[0] / "models/vfnet/fold0/model.pth"
    params = params_factory(train_detector={"load_from": str(checkpoint)})
    result = _train(run_stage, params, tiny_data, tmp_path, model="cascade_rcnn", check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "model.pth: it has weights for ['bbox_head']" in result.stderr
    assert "trained for another model" in result.stderr and not (tmp_path / "models").exists()


def test_untrained_baseline_with_zero_epochs(tmp_path, tiny_data, params_factory, run_stage):
    _train(run_stage, params_factory(train_detector={"epochs": 0}), tiny_data, tmp_path)
    metrics = json.loads((tmp_path / "reports/vfnet/fold0/metrics.json").read_text())
    assert metrics["epochs_trained"] == 0


def test_two_process_ddp_on_cpu(tmp_path, tiny_data, params_factory, run_stage):
    result = _train(run_stage, params_factory(train_detector={"gpus": 2, "batch_size": 3}), tiny_data, tmp_path)
    assert "launching 2 processes" in result.stdout
    _, oof, _ = read_predictions(tmp_path / "models/vfnet/fold0/oof.json")
    assert len(oof) == 6


def test_predict_with_tta_writes_oof_and_test(vfnet_run, tiny_data, params_factory, run_stage, tmp_path):
    root, _ = vfnet_run
    params = params_factory(predict_detector={"tta_views": ["original", "hflip", "vflip"], "batch_size": 4,
                                              "tta_merge": "wbf", "per_model": {"vfnet": {"tta_merge": "nms"}}})
    run_stage("predict_detector", "--params", params, "--model", "vfnet", "--fold", 0, "--models",
              root / "models/vfnet/fold0", "--folds", tiny_data / "folds/detection.csv", "--merged",
              tiny_data / "merged/detection", "--test", tiny_data / "raw/detection/test/images",
              "--out", tmp_path / "p")
    _, oof, meta = read_predictions(tmp_path / "p/oof.json")
    _, test, _ = read_predictions(tmp_path / "p/test.json")
    assert meta["tta"] == ["original", "hflip", "vflip"] and len(oof) == 6 and len(test) == 4
    assert meta["merge"] == "nms"  # predict_detector.per_model.vfnet
    assert all(p.fold == -1 for p in test) and all(p.fold == 0 for p in oof)
    wrong = run_stage("predict_detector", "--params", params, "--model", "vfnet", "--fold", 1, "--models",
                      root / "models/vfnet/fold0", "--folds", tiny_data / "folds/detection.csv", "--merged",
                      tiny_data / "merged/detection", "--test", tiny_data / "raw/detection/test/images", "--out",
                      tmp_path / "q", check=False)
    assert wrong.returncode == 2 and "holds model vfnet fold 0, not vfnet fold 1" in wrong.stderr
