"""lr_find_audio and lr_find_detector on the tiny competition: the real models, optimizers and data pipelines
for a few steps; their reports hold a suggestion inside the ramp."""

import json

import pytest


def _check(out, steps, start, end):
    result = json.loads((out / "lr_find.json").read_text())
    assert 3 <= result["steps"] == len(result["history"]) <= steps
    assert start <= result["min_loss_lr"] <= end
    assert result["suggested_lr"] == pytest.approx(result["min_loss_lr"] / 10)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"suggested_lr", "min_loss_lr", "steepest_lr", "steps", "current_lr"}
    assert (out / "lr_find.png").is_file()


def test_lr_find_audio(tmp_path, tiny_data, params_factory, run_stage):
    params = params_factory(lr_find={"steps": 8, "start_lr": 1e-4, "end_lr": 1.0})
    out = tmp_path / "lr_find/audio/small_cnn"
    run_stage(
        "lr_find_audio",
        "--params", params,
        "--model", "small_cnn",
        "--fold_table", tiny_data / "folds/audio.csv",
        "--clips", tiny_data / "merged/audio/clips",
        "--augmented", tiny_data / "augmented/audio",
        "--out", out,
    )  # fmt: skip
    _check(out, 8, 1e-4, 1.0)


def test_lr_find_detector(tmp_path, tiny_data, params_factory, run_stage):
    params = params_factory(lr_find={"steps": 6, "start_lr": 1e-5, "end_lr": 0.1})
    out = tmp_path / "lr_find/detection/vfnet"
    run_stage(
        "lr_find_detector",
        "--params", params,
        "--model", "vfnet",
        "--fold_table", tiny_data / "folds/detection.csv",
        "--merged", tiny_data / "merged/detection",
        "--augmented", tiny_data / "augmented/detection",
        "--work", tmp_path / "work",
        "--out", out,
    )  # fmt: skip
    _check(out, 6, 1e-5, 0.1)
    assert not (out / "best_coco").exists() and not list((tmp_path / "work").glob("*.pth"))  # no checkpoints
