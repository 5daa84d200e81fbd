"""augment on the tiny embedded competition: clones in the canonical format, fold-safe, byte-identical reruns."""

import json

import pandas as pd
import pytest

from podium.audio.train import fold_datasets
from podium.coverage import FoldError, check_clone_folds
from podium.detection.train import add_clones, split_annotations


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_outputs_are_plain_data_with_parents_and_previews(tiny_data):
    aug = tiny_data / "augmented"
    coco = json.loads((aug / "detection/train.json").read_text())
    merged = json.loads((tiny_data / "merged/detection/train.json").read_text())
    report = json.loads((aug / "report.json").read_text())
    assert (
        len(coco["images"])
        == report["detection"]["clones"]
        == len(merged["images"]) - len(report["detection"]["failures"])
    )
    assert all((aug / "detection/images" / img["file_name"]).exists() for img in coco["images"])
    assert coco["categories"] == merged["categories"]
    clips = pd.read_csv(aug / "audio/train.csv")
    assert list(clips.columns) == ["fname", "label", "source", "group", "fold", "parent", "policy"]
    assert all((aug / "audio/clips" / f).exists() for f in clips.fname)
    for name in ("previews/detection.png", "previews/audio.png", "metrics.json"):
        assert (tiny_data / "reports/augment" / name).stat().st_size > 0


def test_a_clone_of_a_validation_sample_never_trains_that_fold(tiny_data):
    folds = pd.read_csv(tiny_data / "folds/detection.csv")
    coco = json.loads((tiny_data / "merged/detection/train.json").read_text())
    clones = json.loads((tiny_data / "augmented/detection/train.json").read_text())
    for fold in (0, 1):
        train, val = split_annotations(coco, folds, fold)
        trained = add_clones(train, clones, fold)
        validated = {img["file_name"] for img in val["images"]}
        parents = [img["parent"] for img in trained["images"] if "parent" in img]
        assert parents and not set(parents) & validated  # clones are used, none of a validation image
        assert len({img["id"] for img in trained["images"]}) == len(trained["images"])
        assert all("parent" not in img for img in val["images"])  # validation scores originals only
    table = pd.read_csv(tiny_data / "folds/audio.csv")
    clips = pd.read_csv(tiny_data / "augmented/audio/train.csv")
    for fold in (0, 1):
        train_set, val_set = fold_datasets(
            table,
            fold,
            clips=tiny_data / "merged/audio/clips",
            classes=sorted(table.label.unique()),
            sample_rate=16000,
            length=16000,
            clones=clips,
            clone_clips=tiny_data / "augmented/audio/clips",
        )
        val_names = {p.name for p in val_set.paths}
        used = {p.name for p in train_set.paths if "augmented" in str(p)}
        assert used and not {clips.set_index("fname").parent[f] for f in used} & val_names
        assert not any("augmented" in str(p) for p in val_set.paths)


def test_stale_clones_are_refused(tiny_data):
    clips = pd.read_csv(tiny_data / "augmented/audio/train.csv").to_dict("records")
    table = pd.read_csv(tiny_data / "folds/audio.csv")
    fold_of = {f: 1 - k for f, k in zip(table.fname, table.fold, strict=True)}  # folds re-split since
    with pytest.raises(FoldError, match="rerun the augment stage"):
        check_clone_folds(clips, fold_of, "fname", "augmented/audio/train.csv")


def test_rerun_with_more_workers_is_byte_identical(tiny_data, tmp_path, write_params, run_stage):
    params = write_params(tmp_path, augment={"detection_clones": 1, "audio_clones": 1, "workers": 2, "preview": 2})
    run_stage(
        "augment",
        "--params",
        params,
        "--folds",
        tiny_data / "folds",
        "--merged",
        tiny_data / "merged",
        "--noise",
        tiny_data / "raw/audio/noise",
        "--out",
        tmp_path / "augmented",
        "--reports",
        tmp_path / "rep",
    )
    first, again = _files(tiny_data / "augmented"), _files(tmp_path / "augmented")
    assert first.keys() == again.keys()
    assert all(first[k] == again[k] for k in first if k.name != "report.json")
    strip = lambda b: {**json.loads(b), "params": None}  # noqa: E731 (the worker count differs, nothing else)
    assert strip(first[next(k for k in first if k.name == "report.json")]) == strip(
        again[next(k for k in again if k.name == "report.json")]
    )
