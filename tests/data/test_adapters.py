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
