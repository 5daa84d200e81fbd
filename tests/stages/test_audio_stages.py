"""train_audio and evaluate_audio on the tiny embedded competition: 1 epoch, the real stage scripts."""

import json

import pandas as pd
import torch

from podium.audio.train import load_checkpoint


def _train(run_stage, params, data, out, model="small_cnn", fold=0, check=True):
    return run_stage("train_audio", "--params", params, "--model", model, "--fold", fold,
                     "--folds", data / "folds/audio.csv", "--clips", data / "merged/audio/clips",
                     "--augmented", data / "augmented/audio", "--out", out / f"models/{model}/fold{fold}",
                     "--reports", out / f"reports/{model}/fold{fold}",
                     check=check)


def test_train_two_folds_then_join_them(tmp_path, tiny_data, params_factory, run_stage):
    params = params_factory()
    for fold in (0, 1):
        _train(run_stage, params, tiny_data, tmp_path, fold=fold)
    fold0 = tmp_path / "models/small_cnn/fold0"
    assert sorted(p.name for p in fold0.iterdir()) == ["model.pt", "oof.csv", "params.yaml"]
    oof = pd.read_csv(fold0 / "oof.csv")
    folds = pd.read_csv(tiny_data / "folds/audio.csv")
    assert sorted(oof.fname) == sorted(folds.fname[folds.fold == 0])
    assert oof.filter(like="p_").sum(axis=1).round(4).eq(1).all()
    metrics = json.loads((tmp_path / "reports/small_cnn/fold0/metrics.json").read_text())
    assert {"accuracy", "macro_f1", "recall", "best_epoch"} <= set(metrics)
    assert (tmp_path / "reports/small_cnn/fold0/plots/sklearn/confusion_matrix.json").exists()
    assert (tmp_path / "reports/small_cnn/fold0/plots/metrics/val/accuracy.tsv").exists()
    model, meta = load_checkpoint(fold0 / "model.pt")
    assert meta["classes"] == sorted(folds.label.unique()) and meta["fold"] == 0
    with torch.no_grad():
        assert model(torch.zeros(2, meta["clip_samples"])).shape == (2, 10)

    run_stage("predict_audio", "--params", params, "--model", "small_cnn", "--fold", 0, "--models", fold0,
              "--folds", tiny_data / "folds/audio.csv", "--clips", tiny_data / "merged/audio/clips",
              "--test", tiny_data / "raw/audio/test/clips", "--out", tmp_path / "predictions")
    test = pd.read_csv(tmp_path / "predictions/test.csv")
    assert len(test) == 10 and (test.fold == -1).all()
    assert pd.read_csv(tmp_path / "predictions/oof.csv").fname.tolist() == oof.fname.tolist()

    run_stage("evaluate_audio", "--folds", tiny_data / "folds/audio.csv", "--models", tmp_path / "models/small_cnn",
              "--oof", tmp_path / "oof/small_cnn.csv", "--metrics", tmp_path / "reports/small_cnn/cv.json")
    assert len(pd.read_csv(tmp_path / "oof/small_cnn.csv")) == len(folds)
    cv = json.loads((tmp_path / "reports/small_cnn/cv.json").read_text())
    assert set(cv["fold_accuracy"]) == {"0", "1"}


def test_training_is_deterministic_on_cpu(tmp_path, tiny_data, params_factory, run_stage):
    params = params_factory()
    _train(run_stage, params, tiny_data, tmp_path / "a")
    _train(run_stage, params, tiny_data, tmp_path / "b")
    a = pd.read_csv(tmp_path / "a/models/small_cnn/fold0/oof.csv")
    b = pd.read_csv(tmp_path / "b/models/small_cnn/fold0/oof.csv")
    pd.testing.assert_frame_equal(a, b)


def test_two_process_ddp_on_cpu(tmp_path, tiny_data, params_factory, run_stage):
    params = params_factory(train_audio={"gpus": 2, "batch_size": 2})
    result = _train(run_stage, params, tiny_data, tmp_path)
    assert "launching 2 processes" in result.stdout
    oof = pd.read_csv(tmp_path / "models/small_cnn/fold0/oof.csv")
    folds = pd.read_csv(tiny_data / "folds/audio.csv")
    assert sorted(oof.fname) == sorted(folds.fname[folds.fold == 0])


def test_evaluate_fails_when_a_fold_is_missing(tmp_path, tiny_data, params_factory, run_stage):
    _train(run_stage, params_factory(), tiny_data, tmp_path, fold=0)
    result = run_stage("evaluate_audio", "--folds", tiny_data / "folds/audio.csv",
                       "--models", tmp_path / "models/small_cnn", "--oof", tmp_path / "oof.csv",
                       "--metrics", tmp_path / "cv.json", check=False)
    assert result.returncode == 2 and r"no OOF predictions for fold(s) [1]" in result.stderr
    assert not (tmp_path / "oof.csv").exists()
