"""train_audio, predict_audio and evaluate_audio on the tiny embedded competition: 1 epoch, the real stage scripts."""

import json
import shutil

import pandas as pd
import pytest
import torch

from podium.audio.train import load_checkpoint
from podium.probabilities import read_table


def _train(run_stage, params, data, out, model="small_cnn", fold=0, check=True, env=None):
    return run_stage(
        "train_audio",
        "--params",
        params,
        "--model",
        model,
        "--fold",
        fold,
        "--fold_table",
        data / "folds/audio.csv",
        "--clips",
        data / "merged/audio/clips",
        "--augmented",
        data / "augmented/audio",
        "--out",
        out / f"models/{model}/fold{fold}",
        "--reports",
        out / f"reports/{model}/fold{fold}",
        check=check,
        env=env,
    )


def _predict(run_stage, params, data, out, model="small_cnn", fold=0, model_fold=None, check=True, env=None):
    model_fold = fold if model_fold is None else model_fold
    return run_stage(
        "predict_audio",
        "--params",
        params,
        "--model",
        model,
        "--fold",
        fold,
        "--model_dir",
        out / f"models/{model}/fold{model_fold}",
        "--fold_table",
        data / "folds/audio.csv",
        "--clips",
        data / "merged/audio/clips",
        "--test",
        data / "raw/audio/test/clips",
        "--out",
        out / f"predictions/audio/{model}/fold{fold}",
        check=check,
        env=env,
    )


def _evaluate(run_stage, data, out, check=True):
    return run_stage(
        "evaluate_audio",
        "--fold_table",
        data / "folds/audio.csv",
        "--predictions",
        out / "predictions",
        "--model",
        "small_cnn",
        "--oof",
        out / "oof/small_cnn.csv",
        "--metrics",
        out / "reports/small_cnn/cv.json",
        check=check,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_data, write_params, run_stage):
    """small_cnn trained 1 epoch on both folds of the tiny data: (output root, params)."""
    root = tmp_path_factory.mktemp("small_cnn")
    params = write_params(root)
    for fold in (0, 1):
        _train(run_stage, params, tiny_data, root, fold=fold)
    return root, params


def test_train_writes_weights_validation_and_reports(trained, tiny_data):
    root, _ = trained
    fold0 = root / "models/small_cnn/fold0"
    assert sorted(p.name for p in fold0.iterdir()) == ["model.pt", "numerics.json", "params.yaml", "validation.csv"]
    validation = read_table(fold0 / "validation.csv", "small_cnn", 0, "train_audio")
    folds = pd.read_csv(tiny_data / "folds/audio.csv")
    assert sorted(validation.fname) == sorted(folds.fname[folds.fold == 0])
    assert validation.filter(like="p_").sum(axis=1).round(4).eq(1).all()
    metrics = json.loads((root / "reports/small_cnn/fold0/metrics.json").read_text())
    assert {"accuracy", "macro_f1", "recall", "best_epoch"} <= set(metrics)
    assert (root / "reports/small_cnn/fold0/plots/sklearn/confusion_matrix.json").exists()
    assert (root / "reports/small_cnn/fold0/plots/metrics/val/accuracy.tsv").exists()
    model, meta = load_checkpoint(fold0 / "model.pt", torch.device("cpu"), "small_cnn", 0)
    assert meta["classes"] == sorted(folds.label.unique()) and meta["fold"] == 0
    with torch.no_grad():
        assert model(torch.zeros(2, meta["clip_samples"])).shape == (2, 10)


def test_predict_without_tta_equals_the_training_stages_validation(
    trained, tiny_data, params_factory, run_stage, tmp_path
):
    """One inference path: predict_audio's OOF with TTA off is the training stage's validation, number for number."""
    root, _ = trained
    params = params_factory(predict_audio={"tta_shifts": [0.0], "tta_polarity": False, "batch_size": 4})
    _predict(run_stage, params, tiny_data, root)
    oof = read_table(root / "predictions/audio/small_cnn/fold0/oof.csv", "small_cnn", 0, "predict_audio")
    validation = read_table(root / "models/small_cnn/fold0/validation.csv", "small_cnn", 0, "train_audio")
    pd.testing.assert_frame_equal(oof, validation)


def test_predict_with_tta_then_evaluate_joins_the_folds(trained, tiny_data, run_stage):
    root, params = trained
    for fold in (0, 1):
        _predict(run_stage, params, tiny_data, root, fold=fold)
    test = read_table(root / "predictions/audio/small_cnn/fold0/test.csv", "small_cnn", 0, "predict_audio")
    assert len(test) == 10 and (test.fold == -1).all()
    _evaluate(run_stage, tiny_data, root)
    folds = pd.read_csv(tiny_data / "folds/audio.csv")
    assert len(pd.read_csv(root / "oof/small_cnn.csv")) == len(folds)
    cv = json.loads((root / "reports/small_cnn/cv.json").read_text())
    assert set(cv["fold_accuracy"]) == {"0", "1"}


def test_predict_refuses_another_folds_model(trained, tiny_data, run_stage):
    root, params = trained
    wrong = _predict(run_stage, params, tiny_data, root, fold=1, model_fold=0, check=False)
    assert wrong.returncode == 2 and "holds small_cnn fold 0, not small_cnn fold 1" in wrong.stderr


def test_exact_numerics_give_the_same_bytes_under_another_machines_settings(
    tmp_path, trained, tiny_data, run_stage, other_machine
):
    """numerics.mode exact: a fold trained and predicted with other ISA caps and another thread count in the
    environment (as another machine would have) is byte-identical, and records the pinned environment."""
    root, params = trained
    _train(run_stage, params, tiny_data, tmp_path, env=other_machine)
    for name in ("model.pt", "validation.csv", "numerics.json"):
        a, b = root / "models/small_cnn/fold0" / name, tmp_path / "models/small_cnn/fold0" / name
        assert a.read_bytes() == b.read_bytes(), name
    recorded = json.loads((tmp_path / "models/small_cnn/fold0/numerics.json").read_text())
    assert recorded | {"torch": None, "onednn": None, "mkl": None} == {
        "mode": "exact",
        "arch": "x86_64",
        "cpu_capability": "AVX2",
        "onednn_max_isa": "AVX2",
        "mkl_cbwr": "AVX2",
        "threads": 2,
        "torch": None,
        "onednn": None,
        "mkl": None,
        "device": "cpu",
    }
    for out, env in ((root, None), (tmp_path, other_machine)):
        _predict(run_stage, params, tiny_data, out, env=env)
    for name in ("oof.csv", "test.csv", "numerics.json"):
        a, b = (out / "predictions/audio/small_cnn/fold0" / name for out in (root, tmp_path))
        assert a.read_bytes() == b.read_bytes(), name


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path, tiny_data, params_factory, run_stage):
    params = params_factory(train_audio={"gpus": 2, "batch_size": 2})
    result = _train(run_stage, params, tiny_data, tmp_path)
    assert "launching 2 processes" in result.stdout
    # the torchrun workers computed in the pinned environment too
    recorded = json.loads((tmp_path / "models/small_cnn/fold0/numerics.json").read_text())
    assert (recorded["mode"], recorded["cpu_capability"], recorded["threads"]) == ("exact", "AVX2", 2)
    validation = read_table(tmp_path / "models/small_cnn/fold0/validation.csv", "small_cnn", 0, "train_audio")
    folds = pd.read_csv(tiny_data / "folds/audio.csv")
    assert sorted(validation.fname) == sorted(folds.fname[folds.fold == 0])


def test_evaluate_fails_when_a_fold_is_missing(tmp_path, trained, tiny_data, run_stage):
    root, params = trained
    _predict(run_stage, params, tiny_data, root, fold=0)
    shutil.copytree(root / "predictions/audio/small_cnn/fold0", tmp_path / "predictions/audio/small_cnn/fold0")
    result = _evaluate(run_stage, tiny_data, tmp_path, check=False)
    assert result.returncode == 2 and "fold1/oof.csv: missing; run predict_audio@small_cnn-1" in result.stderr
    assert not (tmp_path / "oof/small_cnn.csv").exists()
