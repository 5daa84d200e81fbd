"""tune_ensemble and submit on hand-made prediction files for the tiny competition: perfect detections and
one-hot probabilities must score a perfect local leaderboard; a broken set must stop with its file named."""

import json
import re
import shutil

import pandas as pd
import pytest

from podium.boxes import ImagePredictions, write_predictions
from podium.files import write_json
from podium.probabilities import write_table

NUMERICS = {"mode": "exact", "threads": 2, "device": "cpu"}  # a predict stage's numerics.json, shortened


def _truth_predictions(coco, noise=0.0):
    by_image = {img["id"]: [] for img in coco["images"]}
    for a in coco["annotations"]:
        by_image[a["image_id"]].append(a)
    out = []
    for img in coco["images"]:
        anns = by_image[img["id"]]
        boxes = [
            [a["bbox"][0] + noise, a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]] for a in anns
        ]
        out.append(
            ImagePredictions(
                img["file_name"],
                img["width"],
                img["height"],
                boxes,
                [0.9] * len(anns),
                [a["category_id"] - 1 for a in anns],
            )
        )
    return out


@pytest.fixture
def predictions(tmp_path, tiny_data):
    root = tmp_path / "predictions"
    coco = json.loads((tiny_data / "merged/detection/train.json").read_text())
    test = json.loads((tiny_data / "raw/detection/test_labels.json").read_text())
    classes = [c["name"] for c in coco["categories"]]
    folds = pd.read_csv(tiny_data / "folds/detection.csv")
    for model, noise in (("vfnet", 0.0), ("faster_rcnn", 1.0)):
        for fold in (0, 1):
            names = set(folds.file_name[folds.fold == fold])
            oof = [p for p in _truth_predictions(coco, noise) if p.file_name in names]
            for p in oof:
                p.fold = fold
            out = root / f"detection/{model}/fold{fold}"
            write_predictions(out / "oof.json", classes, oof, {"model": model, "fold": fold})
            write_predictions(
                out / "test.json", classes, _truth_predictions(test, noise), {"model": model, "fold": fold}
            )
    audio = pd.read_csv(tiny_data / "folds/audio.csv")
    test_audio = pd.read_csv(tiny_data / "raw/audio/test_labels.csv")
    words = sorted(audio.label.unique())
    for fold in (0, 1):
        out = root / f"audio/small_cnn/fold{fold}"
        out.mkdir(parents=True)
        val = audio[audio.fold == fold]
        for name, table in (("oof", val.assign(fold=fold)), ("test", test_audio.assign(fold=-1))):
            probs = pd.DataFrame({f"p_{w}": (table.label == w).astype(float) for w in words})
            write_table(
                out / f"{name}.csv",
                pd.concat(
                    [table[["fname", "label", "fold"]].reset_index(drop=True), probs.reset_index(drop=True)], axis=1
                ),
                "small_cnn",
                fold,
            )
    for folder in root.glob("*/*/fold*"):  # as the predict stages record it
        write_json(folder / "numerics.json", NUMERICS)
    return root


def _tune(run_stage, params, predictions, data, settings, report):
    return run_stage(
        "tune_ensemble",
        "--params",
        params,
        "--predictions",
        predictions,
        "--folds",
        data / "folds",
        "--merged",
        data / "merged",
        "--out",
        settings,
        "--metrics",
        report,
    )


def _submit(run_stage, params, predictions, data, settings, report, out, check=True):
    return run_stage(
        "submit",
        "--params",
        params,
        "--predictions",
        predictions,
        "--ensemble",
        settings,
        "--oof_report",
        report,
        "--raw",
        data / "raw",
        "--out",
        out,
        "--metrics",
        out.parent / "lb.json",
        check=check,
    )


def _params(params_factory):
    return params_factory(
        models={"detection": ["vfnet", "faster_rcnn"], "audio": ["small_cnn"]},
        ensemble={"tune_trials": 3, "workers": 1},
    )


def test_tune_then_submit_scores_perfect_predictions_perfectly(
    tmp_path, tiny_data, predictions, params_factory, run_stage
):
    params = _params(params_factory)
    _tune(run_stage, params, predictions, tiny_data, tmp_path / "ensemble.json", tmp_path / "oof.json")
    report = json.loads((tmp_path / "oof.json").read_text())
    assert report["detection"]["single"]["vfnet"] == pytest.approx(1.0)
    assert report["audio"]["tuned"] == pytest.approx(1.0)
    _submit(
        run_stage,
        params,
        predictions,
        tiny_data,
        tmp_path / "ensemble.json",
        tmp_path / "oof.json",
        tmp_path / "submissions",
    )
    board = json.loads((tmp_path / "lb.json").read_text())
    assert board["detection"]["single"]["vfnet-0"] == pytest.approx(1.0, abs=1e-3)
    assert board["detection"]["submission"] > 0.9 and board["audio"]["submission"] == 1.0
    sub = pd.read_csv(tmp_path / "submissions/detection.csv", keep_default_na=False)
    sample = pd.read_csv(tiny_data / "raw/detection/sample_submission.csv", keep_default_na=False)
    assert sub.image_id.tolist() == sample.image_id.tolist()
    manifest = json.loads((tmp_path / "submissions/audio.manifest.json").read_text())
    assert manifest["models"] == ["small_cnn"] and manifest["folds"] == [0, 1] and len(manifest["params_sha256"]) == 64
    assert manifest["numerics"] == [NUMERICS]  # the environments its predictions were made in, once each


def _drop_a_test_image(predictions):
    path = predictions / "detection/vfnet/fold0/test.json"
    data = json.loads(path.read_text())
    data["images"] = data["images"][1:]
    path.write_text(json.dumps(data))


def _break_audio_row(predictions, drop: bool):
    path = predictions / "audio/small_cnn/fold1/test.csv"
    header, *rows = path.read_text().splitlines(keepends=True)
    path.write_text(header + "".join(rows[:-1] if drop else rows + rows[-1:]))


@pytest.mark.parametrize(
    "breakage, message",
    [
        (
            lambda p: shutil.copy(p / "detection/vfnet/fold0/test.json", p / "detection/vfnet/fold1/test.json"),
            "fold1/test.json: made by vfnet fold 0, not vfnet fold 1",
        ),
        (
            lambda p: shutil.copy(p / "audio/small_cnn/fold0/test.csv", p / "audio/small_cnn/fold1/test.csv"),
            "fold1/test.csv: made by model=small_cnn fold=0, not model=small_cnn fold=1",
        ),
        (lambda p: _drop_a_test_image(p), r"vfnet/fold0/test.json: 1 test image\(s\) have no prediction"),
        (lambda p: _break_audio_row(p, drop=True), r"fold1/test.csv: no row for 1 clip\(s\)"),
        (lambda p: _break_audio_row(p, drop=False), r"fold1/test.csv: .*1 clip\(s\) appear twice"),
    ],
)
def test_a_broken_prediction_file_stops_submit_naming_it(
    tmp_path, tiny_data, predictions, params_factory, run_stage, breakage, message
):
    params = _params(params_factory)
    _tune(run_stage, params, predictions, tiny_data, tmp_path / "e.json", tmp_path / "o.json")
    breakage(predictions)
    result = _submit(
        run_stage,
        params,
        predictions,
        tiny_data,
        tmp_path / "e.json",
        tmp_path / "o.json",
        tmp_path / "sub",
        check=False,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert re.search(message, result.stderr), result.stderr[-2000:]
    assert not (tmp_path / "sub").exists() and not (tmp_path / "lb.json").exists()


def test_cli_validates_and_diffs_submissions(tmp_path, tiny_data, predictions, params_factory, run_stage, capsys):
    from podium.cli import main

    params = _params(params_factory)
    _tune(run_stage, params, predictions, tiny_data, tmp_path / "e.json", tmp_path / "o.json")
    _submit(run_stage, params, predictions, tiny_data, tmp_path / "e.json", tmp_path / "o.json", tmp_path / "sub")
    main(["validate", str(tmp_path / "sub/detection.csv"), "--raw", str(tiny_data / "raw")])
    assert "valid detection submission, 4 rows" in capsys.readouterr().out
    main(["diff", str(tmp_path / "sub/audio.csv"), str(tmp_path / "sub/audio.csv"), "--raw", str(tiny_data / "raw")])
    assert json.loads(capsys.readouterr().out)["agreement"] == 1.0
    broken = pd.read_csv(tmp_path / "sub/audio.csv").iloc[1:]
    broken.to_csv(tmp_path / "broken.csv", index=False)
    with pytest.raises(SystemExit):
        main(["validate", str(tmp_path / "broken.csv"), "--raw", str(tiny_data / "raw")])
    assert "missing" in capsys.readouterr().err
