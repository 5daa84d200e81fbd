"""pseudo_label on the tiny competition with hand-made test predictions: what it takes, the round's training
data it writes, and the leak rule: the test labels never enter (shuffling them changes nothing)."""

import json
import random
import shutil

import pandas as pd
import pytest

from podium.boxes import ImagePredictions, write_predictions
from podium.probabilities import write_table


def _predictions(root, data):
    """One detector and one audio model, two folds, on the test set: the true boxes, scored 0.9 on even images
    and 0.4 on odd ones (so the rule keeps only the even ones); probabilities 0.9 on a label for even clips, flat
    for odd ones. (A stand-in for a trained model: built from the truth here, read by the stage as predictions.)"""
    test = json.loads((data / "raw/detection/test_labels.json").read_text())
    classes = [c["name"] for c in test["categories"]]
    anns = {img["id"]: [a for a in test["annotations"] if a["image_id"] == img["id"]] for img in test["images"]}
    preds = []
    for i, img in enumerate(sorted(test["images"], key=lambda im: im["file_name"])):
        boxes = [
            [a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
            for a in anns[img["id"]]
        ]
        score = 0.9 if i % 2 == 0 else 0.4
        labels = [a["category_id"] - 1 for a in anns[img["id"]]]
        preds.append(
            ImagePredictions(img["file_name"], img["width"], img["height"], boxes, [score] * len(boxes), labels)
        )
    clips = pd.read_csv(data / "raw/audio/test_labels.csv").sort_values("fname").reset_index(drop=True)
    words = sorted(pd.read_csv(data / "folds/audio.csv").label.unique())
    probs = pd.DataFrame(
        [
            {
                f"p_{w}": (0.9 if w == words[i % len(words)] else 0.1 / (len(words) - 1))
                if i % 2 == 0
                else 1 / len(words)
                for w in words
            }
            for i in range(len(clips))
        ]
    )
    for fold in (0, 1):
        write_predictions(
            root / f"detection/vfnet/fold{fold}/test.json", classes, preds, {"model": "vfnet", "fold": fold}
        )
        table = pd.concat([clips[["fname"]].assign(label="", fold=-1), probs], axis=1)
        (root / f"audio/small_cnn/fold{fold}").mkdir(parents=True)
        write_table(root / f"audio/small_cnn/fold{fold}/test.csv", table, "small_cnn", fold)
    return preds


def _run(run_stage, params, predictions, settings, data, raw, out, reports):
    return run_stage(
        "pseudo_label",
        "--params", params,
        "--predictions", predictions,
        "--ensemble", settings,
        "--merged", data / "merged",
        "--folds", data / "folds",
        "--test_images", raw / "detection/test/images",
        "--test_clips", raw / "audio/test/clips",
        "--out", out,
        "--reports", reports,
    )  # fmt: skip


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def settings(tmp_path):
    path = tmp_path / "settings.json"
    detection = {"weights": {"vfnet": 1.0}, "method": "wbf", "iou_thr": 0.55, "skip_box_thr": 0.0}
    detection |= {"conf_type": "avg", "score_thr": 0.0, "calibration": "none"}
    path.write_text(json.dumps({"detection": detection, "audio": {"weights": {"small_cnn": 1.0}, "method": "soft"}}))
    return path


def test_pseudo_label_writes_a_rounds_data_from_predictions_only(
    tmp_path, tiny_data, params_factory, run_stage, settings
):
    params = params_factory(pseudo_label={"box_repeats": 2, "clip_repeats": 3, "preview": 2})
    preds = _predictions(tmp_path / "predictions", tiny_data)
    out, reports = tmp_path / "round/data", tmp_path / "round/reports"
    _run(run_stage, params, tmp_path / "predictions", settings, tiny_data, tiny_data / "raw", out, reports)

    confident = [p.file_name for i, p in enumerate(preds) if i % 2 == 0 and len(p.scores)]
    table = pd.read_csv(out / "folds/detection.csv")
    assert table[table.fold == -1].file_name.tolist() == [f"pseudo/{n}" for n in confident]
    coco = json.loads((out / "merged/detection/train.json").read_text())
    base = json.loads((tiny_data / "merged/detection/train.json").read_text())
    assert len(coco["images"]) == len(base["images"]) + 2 * len(confident)
    assert all((out / "merged/detection/images/pseudo" / n).is_file() for n in confident)
    audio = pd.read_csv(out / "folds/audio.csv")
    pseudo_rows = audio[audio.fold == -1]
    clips = sorted(pd.read_csv(tiny_data / "raw/audio/test_labels.csv").fname)
    assert len(pseudo_rows) == 3 * len(clips[::2]) and set(pseudo_rows.fname) == {f"pseudo/{c}" for c in clips[::2]}
    report = json.loads((reports / "metrics.json").read_text())
    assert report["detection"]["samples"] == len(confident) and report["detection"]["of"] == len(preds)
    assert report["audio"]["samples"] == len(clips[::2]) and sum(report["audio"]["per_class"].values()) == len(
        clips[::2]
    )
    assert (reports / "previews/detection.png").is_file() and (reports / "previews/audio.png").is_file()

    # the leak rule: the same predictions with every test label shuffled give the same bytes
    raw = tmp_path / "raw"
    shutil.copytree(tiny_data / "raw", raw)
    labels = json.loads((raw / "detection/test_labels.json").read_text())
    random.Random(0).shuffle(labels["annotations"])
    for i, a in enumerate(labels["annotations"]):
        a["image_id"] = labels["images"][i % len(labels["images"])]["id"]
    (raw / "detection/test_labels.json").write_text(json.dumps(labels))
    audio_labels = pd.read_csv(raw / "audio/test_labels.csv")
    audio_labels["label"] = audio_labels.label.sample(frac=1, random_state=0).to_numpy()[::-1]
    audio_labels.to_csv(raw / "audio/test_labels.csv", index=False)
    again = tmp_path / "again"
    _run(run_stage, params, tmp_path / "predictions", settings, tiny_data, raw, again / "data", again / "reports")
    assert _files(again / "data") == _files(out)
    assert (again / "reports/metrics.json").read_bytes() == (reports / "metrics.json").read_bytes()


def test_no_pseudo_label_dependency_holds_the_test_labels(pipeline_stages):
    deps = pipeline_stages["pseudo_label"]["do"]["deps"]
    for labels in ("data/raw/detection/test_labels.json", "data/raw/audio/test_labels.csv"):
        assert not [d for d in deps if labels == d or labels.startswith(d.rstrip("/") + "/")], labels
