"""Adapters from a competition's own download into podium's layout, on fabricated miniatures in each
competition's documented format (tests/miniatures.py)."""

import csv
import json
import zipfile

import pytest

from podium.data.adapters import global_wheat
from podium.data.download import extract_archive, find_data_root
from podium.data.layout import LayoutError, check_layout


def test_global_wheat_becomes_podiums_layout(tmp_path, miniatures):
    archive = miniatures.global_wheat(tmp_path / "gwd")
    assert sorted(zipfile.ZipFile(archive).namelist())[:1] == ["sample_submission.csv"]
    extract_archive(archive, tmp_path / "unpacked")
    out = tmp_path / "raw"
    assert global_wheat(find_data_root(tmp_path / "unpacked"), out, ("detection",)) == ["detection"]
    assert check_layout(out) == ["detection"]
    coco = json.loads((out / "detection/train/annotations.json").read_text())
    with open(tmp_path / "gwd/files/train.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(coco["annotations"]) == len(rows) and coco["categories"] == [{"id": 1, "name": "wheat"}]
    assert len(coco["images"]) == 12  # every train image, also those without a row (no wheat)
    by_name = {img["file_name"]: img for img in coco["images"]}
    first = rows[0]
    image = by_name[first["image_id"] + ".jpg"]
    assert image["domain"] == first["source"] and (image["width"], image["height"]) == (128, 128)
    boxes = [a["bbox"] for a in coco["annotations"] if a["image_id"] == image["id"]]
    assert json.loads(first["bbox"]) in boxes
    assert sum("domain" not in img for img in coco["images"]) == 2  # the two images without wheat
    assert len(list((out / "detection/test/images").iterdir())) == 4
    assert (out / "detection/sample_submission.csv").read_text().startswith("image_id,PredictionString\n")


def test_a_broken_box_becomes_a_bad_sample_and_a_missing_file_is_named(tmp_path, miniatures):
    miniatures.global_wheat(tmp_path / "gwd")
    files = tmp_path / "gwd/files"
    text = (files / "train.csv").read_text().splitlines()
    text[1] = text[1].split(",")[0] + ',128,128,"[1.0, 2.0, oops]",usask_1'
    (files / "train.csv").write_text("\n".join(text) + "\n")
    global_wheat(files, tmp_path / "raw", ("detection",))
    coco = json.loads((tmp_path / "raw/detection/train/annotations.json").read_text())
    assert sum(any(v != v for v in a["bbox"]) for a in coco["annotations"]) == 1  # NaN: merge reports it
    (files / "train.csv").unlink()
    with pytest.raises(LayoutError, match=r"missing \['train.csv'\]; global-wheat-detection's download has"):
        global_wheat(files, tmp_path / "raw2", ("detection",))


def test_merge_reports_the_broken_box_and_folds_stratify_by_domain(tmp_path, miniatures):
    from PIL import Image

    from podium.data.external import DetectionSample, check_detection_sample
    from podium.data.folds import detection_strata

    path = tmp_path / "a.jpg"
    Image.new("RGB", (64, 64)).save(path)
    sample = DetectionSample(path, [[1.0, 2.0, float("nan"), 3.0]], ["wheat"], "competition", "a", (64, 64))
    assert check_detection_sample(sample)[0].startswith("a box that is not four numbers")
    strata = detection_strata([["wheat"] * 3, [], ["wheat"]], ["usask_1", "ethz_1", None])
    assert strata == ["usask_1|3-5", "ethz_1|0", "wheat|1-2"]


def test_the_speech_challenge_becomes_podiums_layout_with_its_12_labels(tmp_path, miniatures):
    import pandas as pd

    from podium.data.adapters import speech_challenge

    archive = miniatures.speech_challenge(tmp_path / "speech")
    # the competition's own file list (its Data page): the sample submission comes as a 7z
    assert sorted(zipfile.ZipFile(archive).namelist()) == [
        "link_to_gcp_credits_form.txt",
        "sample_submission.7z",
        "test.7z",
        "train.7z",
    ]
    extract_archive(archive, tmp_path / "unpacked")
    out = tmp_path / "raw"
    options = dict(unknown_fraction=0.5, silence_fraction=0.1, seed=0, sample_rate=16000, clip_seconds=1.0)
    assert speech_challenge(find_data_root(tmp_path / "unpacked"), out, ("audio",), **options) == ["audio"]
    assert check_layout(out) == ["audio"]
    labels = pd.read_csv(out / "audio/train/labels.csv")
    assert set(labels.label) - {"unknown", "silence"} == {"yes", "no", "up", "down", "left", "right", "on", "off",
                                                          "stop", "go"}  # fmt: skip
    # silence is 10% of the training set it joins (30 command clips + the unknown ones kept, rounded)
    words = (labels.label != "silence").sum()
    assert (labels.label == "silence").sum() == round(words * 0.1 / 0.9) and 0 < (labels.label == "unknown").sum() < 6
    assert labels.speaker.nunique() == 3 + 1  # three speakers and the noise file's cuts
    assert set(labels.official_split) == {"train", "validation", "testing"}
    assert (out / "audio/noise/white_noise.wav").exists()
    assert len(list((out / "audio/test/clips").iterdir())) == 6
    assert not (out / ".speech").exists()
    again = tmp_path / "raw2"
    speech_challenge(find_data_root(tmp_path / "unpacked"), again, ("audio",), **options)
    assert pd.read_csv(again / "audio/train/labels.csv").equals(labels)  # the unknown sample is fixed
    sample = pd.read_csv(out / "audio/sample_submission.csv")
    assert list(sample.columns) == ["fname", "label"] and len(sample) == 6


def test_a_speech_download_without_its_sample_names_the_files_the_competition_ships(tmp_path, miniatures):
    from podium.data.adapters import LayoutError, speech_challenge

    extract_archive(miniatures.speech_challenge(tmp_path / "speech"), tmp_path / "unpacked")
    root = find_data_root(tmp_path / "unpacked")
    (root / "sample_submission.7z").unlink()
    options = dict(unknown_fraction=0.5, silence_fraction=0.1, seed=0, sample_rate=16000, clip_seconds=1.0)
    with pytest.raises(LayoutError) as e:
        speech_challenge(root, tmp_path / "raw", ("audio",), **options)
    message = str(e.value)
    assert "no sample_submission.7z" in message and "download.layout: podium" not in message
    assert "link_to_gcp_credits_form.txt, sample_submission.7z, test.7z, train.7z" in message


def test_vinbigdata_dicoms_become_pngs_with_fused_boxes_and_their_sizes_kept(tmp_path, miniatures):
    import numpy as np
    from PIL import Image

    from podium.data.adapters import VINBIG_CLASSES, read_dicom, vinbigdata

    archive = miniatures.vinbigdata(tmp_path / "vin")
    files = tmp_path / "vin/files"
    out = tmp_path / "raw"
    kw = dict(image_size=80, fuse_radiologists=True, fuse_iou_thr=0.5)
    assert vinbigdata(files, out, ("detection",), **kw) == ["detection"]
    assert check_layout(out) == ["detection"]
    coco = json.loads((out / "detection/train/annotations.json").read_text())
    assert [c["name"] for c in coco["categories"]] == list(VINBIG_CLASSES)  # index = class_id
    assert all((img["width"], img["height"]) == (80, 64) for img in coco["images"])  # 128x160 -> longer side 80
    with open(files / "train.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["class_id"] != "14"]
    assert len(coco["annotations"]) == len(rows) // 3  # three readers' boxes fused into one per finding
    first = rows[0]
    image = next(img for img in coco["images"] if img["file_name"] == first["image_id"] + ".png")
    near = [a["bbox"] for a in coco["annotations"] if a["image_id"] == image["id"]]
    x = float(first["x_min"]) * 0.5  # 160 px wide -> 80
    assert min(abs(b[0] - x) for b in near) < 2
    sizes = (out / "detection/test/original_sizes.csv").read_text().splitlines()
    assert sizes[0] == "image_id,width,height" and all(s.endswith(",160,128") for s in sizes[1:])
    # MONOCHROME1 is inverted: the lesion is bright in every PNG
    dicom = sorted((files / "train").iterdir())[0]
    assert read_dicom(dicom).dtype == np.uint8
    unfused = vinbigdata(files, tmp_path / "raw2", ("detection",), **{**kw, "fuse_radiologists": False})
    assert unfused and len(
        json.loads((tmp_path / "raw2/detection/train/annotations.json").read_text())["annotations"]
    ) == len(rows)
    assert Image.open(out / "detection/train/images" / image["file_name"]).size == (80, 64)
    assert archive.exists()


def test_an_unreadable_dicom_is_named_with_the_fix(tmp_path):
    from podium.data.adapters import read_dicom

    (tmp_path / "x.dicom").write_bytes(b"not a dicom")
    with pytest.raises(LayoutError, match=r"x.dicom: not a readable DICOM image .*pylibjpeg"):
        read_dicom(tmp_path / "x.dicom")


def test_the_generic_layout_reads_yolo_boxes_and_audio_folders(tmp_path):
    """download.layout: generic with YOLO txt labels (class = index in the declared classes) and audio in a
    folder per label; an undeclared label's folder still arrives, for merge_external to report."""
    import numpy as np
    import soundfile as sf
    from PIL import Image

    from podium.data.adapters import generic
    from podium.params import load_params

    root = tmp_path / "files"
    for folder in ("img", "labels", "test_img", "train/yes", "train/maybe", "test"):
        (root / folder).mkdir(parents=True)
    Image.new("RGB", (100, 50)).save(root / "img/a.png")
    Image.new("RGB", (100, 50)).save(root / "test_img/t.png")
    (root / "labels/a.txt").write_text("1 0.5 0.5 0.2 0.4\n")
    for path in (root / "train/yes/s1_nohash_0.wav", root / "train/maybe/s2_nohash_0.wav", root / "test/c.wav"):
        sf.write(path, np.zeros(1600, np.float32), 16000)
    (root / "sub_det.csv").write_text("image_id,PredictionString\nt,\n")
    (root / "sub_audio.csv").write_text("fname,label\nc.wav,yes\n")
    layout = load_params("params.yaml")["download"].generic
    layout = type(layout)(
        detection=type(layout.detection)(
            "yolo", "labels", "img", "test_img", "sub_det.csv", "", "", "", ["bbox"], "xywh"
        ),
        audio=type(layout.audio)("folders", "train", "", "test", "sub_audio.csv"),
    )
    out = tmp_path / "raw"
    assert generic(root, out, ("detection", "audio"), generic=layout, classes=["a", "b"], labels=["yes"]) == [
        "detection",
        "audio",
    ]
    assert check_layout(out) == ["detection", "audio"]
    coco = json.loads((out / "detection/train/annotations.json").read_text())
    assert coco["annotations"][0]["category_id"] == 2 and coco["annotations"][0]["bbox"] == pytest.approx(
        [40, 15, 20, 20]
    )
    labels = (out / "audio/train/labels.csv").read_text()
    assert ",yes,s1" in labels and ",maybe,s2" in labels  # `maybe`: merge_external reports it as undeclared
