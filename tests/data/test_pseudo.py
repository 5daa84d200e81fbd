"""Pseudo labels: the selection rules on hand-made predictions, and a round's training data (pseudo samples
train-only, repeated, never validated)."""

import json

import numpy as np
import pandas as pd
import pytest

from podium.boxes import ImagePredictions
from podium.data import pseudo


def _image(name, scores, labels=None):
    boxes = [[10 * i, 10 * i, 10 * i + 8, 10 * i + 8] for i in range(len(scores))]
    return ImagePredictions(name, 64, 48, boxes, scores, labels or [0] * len(scores))


def test_an_image_is_kept_when_more_than_the_fraction_of_its_pseudo_boxes_are_confident():
    fused = [
        _image("a.png", [0.9, 0.8, 0.6, 0.2]),  # pseudo boxes (>= 0.5): 0.9 0.8 0.6; above 0.75: 2/3 > 0.6
        _image("b.png", [0.9, 0.6, 0.55]),  # 1/3 above 0.75: skipped
        _image("c.png", [0.3, 0.1]),  # no pseudo box: skipped (an empty prediction is no evidence)
        _image("d.png", [0.5, 0.8, 0.76]),  # 0.5 is a pseudo box (>=); 2/3 above 0.75
        _image("e.png", [0.9, 0.6, 0.7, 0.8, 0.9]),  # 3/5 = 0.6 is not *more than* 0.6: skipped
    ]
    kept = pseudo.select_images(fused, box_thr=0.5, high=0.75, min_fraction=0.6)
    assert [k.file_name for k in kept] == ["a.png", "d.png"]
    assert kept[0].scores.tolist() == pytest.approx([0.9, 0.8, 0.6])  # the 0.2 box is not a pseudo box
    assert kept[1].boxes.shape == (3, 4)


def test_clips_above_the_threshold_most_confident_first_capped_per_label():
    proba = np.array(
        [
            [0.7, 0.3],  # a: yes 0.7
            [0.1, 0.9],  # b: no 0.9
            [0.95, 0.05],  # c: yes 0.95
            [0.55, 0.45],  # d: below 0.6
            [0.8, 0.2],  # e: yes 0.8
        ]
    )
    table = pseudo.select_clips(list("abcde"), proba, ["yes", "no"], threshold=0.6, max_per_class=0)
    assert table.fname.tolist() == ["c", "b", "e", "a"]
    assert table.label.tolist() == ["yes", "no", "yes", "yes"]
    capped = pseudo.select_clips(list("abcde"), proba, ["yes", "no"], threshold=0.6, max_per_class=2)
    assert capped.fname.tolist() == ["c", "b", "e"]  # yes: c and e, the two most confident; a is dropped
    assert pseudo.select_clips(list("abcde"), proba, ["yes", "no"], threshold=0.96, max_per_class=0).empty


def _base(tmp_path):
    """A two-image, two-fold base: merged/detection (images/, train.json), folds/detection.csv; one test image."""
    import cv2

    merged = tmp_path / "merged/detection"
    (merged / "images").mkdir(parents=True)
    test = tmp_path / "test"
    test.mkdir()
    for folder, name in ((merged / "images", "t0.png"), (merged / "images", "t1.png"), (test, "x.png")):
        cv2.imwrite(str(folder / name), np.zeros((48, 64, 3), np.uint8))
    coco = {
        "images": [
            {"id": 1, "file_name": "t0.png", "width": 64, "height": 48},
            {"id": 2, "file_name": "t1.png", "width": 64, "height": 48},
        ],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25, "iscrowd": 0}],
        "categories": [{"id": 1, "name": "circle"}, {"id": 2, "name": "square"}],
    }
    (merged / "train.json").write_text(json.dumps(coco))
    folds = tmp_path / "folds/detection.csv"
    folds.parent.mkdir()
    pd.DataFrame(
        {"file_name": ["t0.png", "t1.png"], "source": "competition", "group": ["g0", "g1"], "fold": [0, 1]}
    ).to_csv(folds, index=False)
    return merged, folds, test


def test_a_rounds_detection_data_trains_every_fold_on_the_pseudo_image_and_validates_none(tmp_path):
    from podium.detection.train import split_annotations

    merged, folds, test = _base(tmp_path)
    kept = [_image("x.png", [0.9, 0.8], [1, 0])]
    out = tmp_path / "round"
    pseudo.write_detection_round(
        kept,
        ["circle", "square"],
        repeats=3,
        merged=merged,
        folds=folds,
        test_images=test,
        out_merged=out / "merged",
        out_folds=out / "folds.csv",
    )
    coco = json.loads((out / "merged/train.json").read_text())
    entries = [img for img in coco["images"] if img["file_name"] == "pseudo/x.png"]
    assert len(entries) == 3 and len({img["id"] for img in coco["images"]}) == 5
    boxes = [a for a in coco["annotations"] if a["image_id"] == entries[0]["id"]]
    assert [(a["category_id"], a["bbox"]) for a in boxes] == [(2, [0.0, 0.0, 8.0, 8.0]), (1, [10.0, 10.0, 8.0, 8.0])]
    assert (out / "merged/images/pseudo/x.png").is_file() and (out / "merged/images/t1.png").is_file()
    table = pd.read_csv(out / "folds.csv")
    assert table.iloc[-1].to_dict() == {
        "file_name": "pseudo/x.png",
        "source": "pseudo",
        "group": "pseudo:x.png",
        "fold": -1,
    }
    for fold in (0, 1):
        train, val = split_annotations(coco, table, fold)
        assert [i["file_name"] for i in val["images"]] == [f"t{fold}.png"]
        assert sum(i["file_name"] == "pseudo/x.png" for i in train["images"]) == 3


def test_pseudo_boxes_of_other_classes_than_the_training_data_are_refused(tmp_path):
    merged, folds, test = _base(tmp_path)
    with pytest.raises(pseudo.PseudoLabelError, match=r"classes \['circle', 'star'\] differ from .*train.json"):
        pseudo.write_detection_round(
            [_image("x.png", [0.9])],
            ["circle", "star"],
            repeats=1,
            merged=merged,
            folds=folds,
            test_images=test,
            out_merged=tmp_path / "round/merged",
            out_folds=tmp_path / "round/folds.csv",
        )


def test_a_rounds_audio_data_repeats_the_pseudo_clips_train_only(tmp_path):
    from podium.audio.train import fold_datasets

    clips, test = tmp_path / "clips", tmp_path / "test"
    clips.mkdir()
    test.mkdir()
    for folder, name in ((clips, "a.wav"), (clips, "b.wav"), (test, "x.wav")):
        (folder / name).write_bytes(b"RIFF")  # copied, not read
    folds = tmp_path / "audio.csv"
    pd.DataFrame(
        {"fname": ["a.wav", "b.wav"], "label": ["yes", "no"], "source": "c", "group": ["g", "h"], "fold": [0, 1]}
    ).to_csv(folds, index=False)
    kept = pd.DataFrame({"fname": ["x.wav"], "label": ["no"], "probability": [0.9]})
    out = tmp_path / "round"
    pseudo.write_audio_round(
        kept, repeats=2, clips=clips, folds=folds, test_clips=test, out_clips=out / "clips", out_folds=out / "audio.csv"
    )
    table = pd.read_csv(out / "audio.csv")
    assert table.fname.tolist() == ["a.wav", "b.wav", "pseudo/x.wav", "pseudo/x.wav"]
    assert table.fold.tolist() == [0, 1, -1, -1] and table.label.tolist()[-1] == "no"
    assert (out / "clips/pseudo/x.wav").is_file()
    empty = pd.DataFrame(columns=["fname", "label", "parent", "fold"])
    for fold in (0, 1):
        train, val = fold_datasets(
            table,
            fold,
            clips=out / "clips",
            classes=["no", "yes"],
            sample_rate=16000,
            length=16000,
            clones=empty,
            clone_clips=out,
        )
        assert [p.name for p in val.paths] == [["a.wav", "b.wav"][fold]]
        assert sum(p.parent.name == "pseudo" for p in train.paths) == 2
