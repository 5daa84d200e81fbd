"""train_detector, predict_detector and evaluate_detector on the tiny embedded competition: the real stage,
1 epoch."""

import json
import shutil

import pandas as pd
import pytest
import yaml

from podium.boxes import read_predictions


def _train(run_stage, params, data, out, model="vfnet", fold=0, check=True, env=None):
    return run_stage(
        "train_detector",
        "--params",
        params,
        "--model",
        model,
        "--fold",
        fold,
        "--fold_table",
        data / "folds/detection.csv",
        "--merged",
        data / "merged/detection",
        "--augmented",
        data / "augmented/detection",
        "--work",
        out / f"work/{model}/fold{fold}",
        "--out",
        out / f"models/{model}/fold{fold}",
        "--reports",
        out / f"reports/{model}/fold{fold}",
        check=check,
        env=env,
    )


def _predict(run_stage, params, data, root, out, model="vfnet", fold=0, model_fold=None, check=True, env=None):
    model_fold = fold if model_fold is None else model_fold
    return run_stage(
        "predict_detector",
        "--params",
        params,
        "--model",
        model,
        "--fold",
        fold,
        "--model_dir",
        root / f"models/{model}/fold{model_fold}",
        "--fold_table",
        data / "folds/detection.csv",
        "--merged",
        data / "merged/detection",
        "--test",
        data / "raw/detection/test/images",
        "--out",
        out,
        check=check,
        env=env,
    )


def _evaluate(run_stage, params, data, root, oof, metrics, check=True):
    return run_stage(
        "evaluate_detector",
        "--params",
        params,
        "--fold_table",
        data / "folds/detection.csv",
        "--merged",
        data / "merged/detection",
        "--predictions",
        root / "predictions",
        "--model",
        "vfnet",
        "--oof",
        root / oof,
        "--metrics",
        root / metrics,
        check=check,
    )


@pytest.fixture(scope="module")
def vfnet_run(tmp_path_factory, tiny_data, run_stage, write_params):
    """VFNet trained 1 epoch on fold 0 of the tiny data: (output root, params, the stage's console)."""
    root = tmp_path_factory.mktemp("vfnet")
    params = write_params(root)
    result = _train(run_stage, params, tiny_data, root)
    return root, params, result.stdout + result.stderr


def _check_outputs(root, model, tiny_data):
    out = root / f"models/{model}/fold0"
    assert sorted(p.name for p in out.iterdir()) == [
        "config.py",
        "model.pth",
        "numerics.json",
        "params.yaml",
        "validation.json",
    ]
    classes, validation, meta = read_predictions(out / "validation.json")
    folds = pd.read_csv(tiny_data / "folds/detection.csv")
    assert sorted(p.file_name for p in validation) == sorted(folds.file_name[folds.fold == 0])
    assert all(p.fold == 0 and (p.width, p.height) == (64, 64) for p in validation)
    assert classes == ["circle", "square", "triangle", "star", "cross"] and meta == {"model": model, "fold": 0}
    metrics = json.loads((root / f"reports/{model}/fold0/metrics.json").read_text())
    assert 0 <= metrics["mAP"] <= 1 and set(metrics["per_class"]) == set(classes)
    assert (root / f"reports/{model}/fold0/live/plots/metrics/loss.tsv").exists()
    assert not (root / f"reports/{model}/fold0/live/plots/metrics/time.tsv").exists()  # no timings: same bytes


def test_vfnet_one_epoch(vfnet_run, tiny_data):
    _check_outputs(vfnet_run[0], "vfnet", tiny_data)
    metrics = json.loads((vfnet_run[0] / "reports/vfnet/fold0/metrics.json").read_text())
    assert metrics["metric"] == "coco_map" and 0 <= metrics["score"] <= 1 and metrics["best_epoch"] == 1


def test_the_training_console_is_podiums_progress_not_mmengines_log(vfnet_run):
    console = vfnet_run[2]
    lines = [line for line in console.splitlines() if line.strip()]
    assert "vfnet fold 0: training 1 epochs of 3 iterations; best epoch by competition/coco_map" in console
    assert "vfnet fold 0: epoch 1/1: loss " in console and "vfnet fold 0: keeps epoch 1 (" in console
    assert "mmengine's log: " in console
    for noise in ("Environment", "Epoch(train)", "Epoch(val)", "loading annotations", "Config:", "deprecated"):
        assert noise not in console, noise
    assert max(len(line) for line in lines) < 400  # no one-line dumps (mmengine's environment is ~3 KB)


@pytest.mark.slow  # one more training and two predictions (about a minute on 2 cores); the audio stages test the same
def test_exact_numerics_give_the_same_bytes_under_another_machines_settings(
    vfnet_run, tiny_data, run_stage, other_machine, tmp_path
):
    root, params, _ = vfnet_run
    _train(run_stage, params, tiny_data, tmp_path, env=other_machine)
    for name in ("model.pth", "validation.json", "numerics.json"):
        a, b = root / "models/vfnet/fold0" / name, tmp_path / "models/vfnet/fold0" / name
        assert a.read_bytes() == b.read_bytes(), name
    _predict(run_stage, params, tiny_data, root, tmp_path / "a")
    _predict(run_stage, params, tiny_data, tmp_path, tmp_path / "b", env=other_machine)
    for name in ("oof.json", "test.json", "numerics.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    recorded = json.loads((tmp_path / "b/numerics.json").read_text())
    assert (recorded["mode"], recorded["cpu_capability"], recorded["onednn_max_isa"], recorded["threads"]) == (
        "exact",
        "AVX2",
        "AVX2",
        2,
    )


@pytest.mark.slow
@pytest.mark.parametrize("model", ["cascade_rcnn", "faster_rcnn"])
def test_one_epoch_of_the_two_stage_families(tmp_path, tiny_data, params_factory, run_stage, model):
    _train(run_stage, params_factory(), tiny_data, tmp_path, model=model)
    _check_outputs(tmp_path, model, tiny_data)


def test_predict_without_tta_equals_the_training_stages_validation(
    vfnet_run, tiny_data, params_factory, run_stage, tmp_path
):
    """One inference path: predict_detector's OOF with TTA off is the training stage's validation, box for box."""
    root, _, _ = vfnet_run
    params = params_factory(predict_detector={"tta_views": ["original"], "tta_scales": [1.0], "batch_size": 4})
    _predict(run_stage, params, tiny_data, root, tmp_path / "p")
    _, oof, _ = read_predictions(tmp_path / "p/oof.json")
    _, validation, _ = read_predictions(root / "models/vfnet/fold0/validation.json")
    assert [p.file_name for p in oof] == [p.file_name for p in validation]
    for a, b in zip(oof, validation, strict=True):
        assert (a.boxes == b.boxes).all() and (a.scores == b.scores).all() and (a.labels == b.labels).all()
    assert sum(len(p.scores) for p in oof) > 0


@pytest.mark.slow  # two more trainings (about a minute on 2 cores); tests/detection/test_train.py covers the rule
def test_a_finished_run_retrains_and_evaluate_joins_the_predicted_folds(
    vfnet_run, tiny_data, run_stage, params_factory
):
    root, params, _ = vfnet_run
    again = _train(run_stage, params, tiny_data, root, fold=0)  # the work folder holds this config's finished run
    assert "resumed epoch" not in again.stdout + again.stderr  # DVC reruns for a reason: never the old weights
    # (an interrupted run resumes: tests/detection/test_resume.py)
    _train(run_stage, params_factory(train_detector={"epochs": 0}), tiny_data, root, fold=1)  # untrained: quick
    for fold in (0, 1):
        _predict(run_stage, params, tiny_data, root, root / f"predictions/detection/vfnet/fold{fold}", fold=fold)
    _evaluate(run_stage, params, tiny_data, root, "oof.json", "cv.json")
    cv = json.loads((root / "cv.json").read_text())
    assert set(cv["fold_mAP"]) == {"0", "1"} and set(cv["fold_score"]) == {"0", "1"}
    assert cv["metric"] == "coco_map" and cv["score"] == pytest.approx(cv["mAP"], abs=1e-6)
    assert len(read_predictions(root / "oof.json")[1]) == 12
    fmt = yaml.safe_load(params.read_text())["competition"]["detection"]
    voc = params_factory(competition={"detection": {**fmt, "metric": "voc_map", "iou_thr": 0.5}})
    _evaluate(run_stage, voc, tiny_data, root, "oof_voc.json", "cv_voc.json")
    cv_voc = json.loads((root / "cv_voc.json").read_text())
    assert cv_voc["metric"] == "voc_map" and cv_voc["mAP"] == cv["mAP"]  # CV by the competition's metric
    shutil.rmtree(root / "predictions/detection/vfnet/fold1")
    missing = _evaluate(run_stage, params, tiny_data, root, "oof2.json", "cv2.json", check=False)
    assert missing.returncode == 2 and "fold1/oof.json: missing; run predict_detector@vfnet-1" in missing.stderr


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


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path, tiny_data, params_factory, run_stage):
    result = _train(run_stage, params_factory(train_detector={"gpus": 2, "batch_size": 3}), tiny_data, tmp_path)
    assert "launching 2 processes" in result.stdout
    _, validation, _ = read_predictions(tmp_path / "models/vfnet/fold0/validation.json")
    assert len(validation) == 6


def test_predict_with_tta_writes_oof_and_test(vfnet_run, tiny_data, params_factory, run_stage, tmp_path):
    root, _, _ = vfnet_run
    params = params_factory(
        predict_detector={
            "tta_views": ["original", "hflip", "vflip"],
            "batch_size": 4,
            "tta_merge": "wbf",
            "per_model": {"vfnet": {"tta_merge": "nms"}},
        }
    )
    _predict(run_stage, params, tiny_data, root, tmp_path / "p")
    _, oof, meta = read_predictions(tmp_path / "p/oof.json")
    _, test, _ = read_predictions(tmp_path / "p/test.json")
    assert meta["tta"] == ["original", "hflip", "vflip"] and len(oof) == 6 and len(test) == 4
    assert meta["merge"] == "nms"  # predict_detector.per_model.vfnet
    assert all(p.fold == -1 for p in test) and all(p.fold == 0 for p in oof)
    wrong = _predict(run_stage, params, tiny_data, root, tmp_path / "q", fold=1, model_fold=0, check=False)
    assert wrong.returncode == 2 and "holds model vfnet fold 0, not vfnet fold 1" in wrong.stderr


def test_a_poisoned_config_py_is_never_executed(vfnet_run, tiny_data, params_factory, run_stage, tmp_path):
    """A model folder is data: predict_detector rebuilds the model from params.yaml, never runs config.py."""
    root, params, _ = vfnet_run
    folder = tmp_path / "models/vfnet/fold0"
    shutil.copytree(root / "models/vfnet/fold0", folder)
    marker = tmp_path / "pwned"
    (folder / "config.py").write_text(f"_x = __import__('pathlib').Path({str(marker)!r}).write_text('ran')\n")
    _predict(run_stage, params, tiny_data, tmp_path, tmp_path / "p")
    assert not marker.exists() and (tmp_path / "p/oof.json").exists()


@pytest.mark.parametrize("where", ["local", "url"])
def test_a_malicious_load_from_runs_nothing(
    tmp_path, tiny_data, params_factory, run_stage, served, malicious_checkpoint, where, monkeypatch
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # the stage downloads URLs into torch's cache
    marker = tmp_path / "pwned"
    path = malicious_checkpoint(tmp_path / "evil.pth", marker)
    source = str(path) if where == "local" else f"{served}/evil.pth"
    result = _train(
        run_stage, params_factory(train_detector={"load_from": source}), tiny_data, tmp_path / "o", check=False
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "holds more than weights" in result.stderr and not marker.exists()
    assert not (tmp_path / "o/models").exists()
