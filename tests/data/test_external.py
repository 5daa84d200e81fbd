"""merge_external: readers for each format, bad samples, duplicates, provenance; audio conversion."""

import json

import cv2
import numpy as np
import pytest
import soundfile as sf

from podium.data.external import (
    COMPETITION,
    DETECTION_READERS,
    BadSample,
    DetectionSample,
    check_detection_sample,
    merge_audio,
    merge_detection,
    read_audio_csv,
    read_audio_folders,
    read_coco,
)

CLASSES = ["circle", "square"]


def _image(path, seed, w=40, h=30):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8))


@pytest.fixture
def competition(tmp_path):
    root = tmp_path / "comp"
    for i in range(3):
        _image(root / f"images/c{i}.png", i)
    coco = {
        "images": [{"id": i + 1, "file_name": f"c{i}.png", "width": 40, "height": 30, "group": "g"} for i in range(3)],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 5]},
            {"id": 2, "image_id": 2, "category_id": 2, "bbox": [0, 0, 40, 30]},
        ],
        "categories": [{"id": 1, "name": "circle"}, {"id": 2, "name": "square"}],
    }
    (root / "ann.json").write_text(json.dumps(coco))
    return root


def test_coco_csv_and_yolo_sources_merge_with_provenance(competition, tmp_path):
    ext = tmp_path / "ext"
    _image(ext / "wheat/img/w1.jpg", 10)
    _image(ext / "wheat/img/w2.jpg", 11)  # in the folder without rows: an image with no objects
    (ext / "wheat/train.csv").write_text('image_id,width,height,bbox,source\nw1,40,30,"[5.0, 6.0, 10.0, 8.0]",usask\n')
    _image(ext / "yolo/img/y1.png", 12, w=100, h=50)
    (ext / "yolo/labels").mkdir()
    (ext / "yolo/labels/y1.txt").write_text("1 0.5 0.5 0.2 0.4\n")
    sources = [
        DETECTION_READERS["csv"](ext / "wheat/train.csv", ext / "wheat/img", "gwd", {"*": "circle"}),
        DETECTION_READERS["yolo"](ext / "yolo/labels", ext / "yolo/img", "yl", {"1": "square"}),
    ]
    coco, report = merge_detection(
        read_coco(competition / "ann.json", competition / "images", COMPETITION, None),
        (s for src in sources for s in src),
        CLASSES,
        tmp_path / "out",
    )
    names = [img["file_name"] for img in coco["images"]]
    assert names == ["c0.png", "c1.png", "c2.png", "gwd__w1.jpg", "gwd__w2.jpg", "yl__y1.png"]
    assert report.kept == {COMPETITION: 3, "gwd": 2, "yl": 1} and report.bad == []
    by_file = {img["file_name"]: img for img in coco["images"]}
    assert by_file["gwd__w1.jpg"]["group"] == "gwd:usask" and by_file["gwd__w1.jpg"]["source"] == "gwd"
    yolo_ann = [a for a in coco["annotations"] if a["image_id"] == by_file["yl__y1.png"]["id"]]
    # cx=50, cy=25, w=20, h=20 px  ->  x=40, y=15
    assert yolo_ann[0]["bbox"] == pytest.approx([40, 15, 20, 20]) and yolo_ann[0]["category_id"] == 2
    assert all((tmp_path / "out/images" / n).exists() for n in names)


def test_bad_samples_are_reported_with_file_and_reason(competition, tmp_path):
    coco = json.loads((competition / "ann.json").read_text())
    coco["annotations"] += [{"id": 3, "image_id": 3, "category_id": 1, "bbox": [30, 0, 20, 5]}]  # past x=40
    coco["images"].append({"id": 4, "file_name": "gone.png", "width": 40, "height": 30})
    coco["images"].append({"id": 5, "file_name": "corrupt.png", "width": 40, "height": 30})
    coco["images"].append({"id": 6, "file_name": "flat.png", "width": 40, "height": 30})
    coco["annotations"] += [{"id": 4, "image_id": 6, "category_id": 1, "bbox": [3, 3, 0, 5]}]
    coco["categories"].append({"id": 9, "name": "hexagon"})
    coco["images"].append({"id": 7, "file_name": "hex.png", "width": 40, "height": 30})
    coco["annotations"] += [{"id": 5, "image_id": 7, "category_id": 9, "bbox": [3, 3, 4, 5]}]
    (competition / "images/corrupt.png").write_bytes(b"\x89PNG garbage")
    _image(competition / "images/flat.png", 20)
    _image(competition / "images/hex.png", 21)
    (competition / "ann.json").write_text(json.dumps(coco))
    _, report = merge_detection(
        read_coco(competition / "ann.json", competition / "images", "comp", {"circle": "circle", "square": "square"}),
        [],
        CLASSES,
        tmp_path / "o",
    )
    reasons = {b.file: b.reason for b in report.bad}
    assert set(reasons) == {"c2.png", "gone.png", "corrupt.png", "flat.png", "hex.png"}
    assert "outside the 40x30 image" in reasons["c2.png"]
    assert reasons["gone.png"] == "missing file" and reasons["corrupt.png"].startswith("unreadable or truncated")
    assert "zero-area" in reasons["flat.png"] and "hexagon" in reasons["hex.png"]
    assert report.kept == {"comp": 2}


def test_exact_duplicate_images_are_removed(competition, tmp_path):
    ext = tmp_path / "ext"
    ext.mkdir()
    (ext / "copy.png").write_bytes((competition / "images/c1.png").read_bytes())
    coco, report = merge_detection(
        read_coco(competition / "ann.json", competition / "images", COMPETITION, None),
        DETECTION_READERS["yolo"](ext / "labels", ext, "x", {}),
        CLASSES,
        tmp_path / "out",
    )
    assert len(coco["images"]) == 3
    assert report.duplicates == [{"source": "x", "file": "copy.png", "same_as": "c1.png"}]


def test_audio_sources_are_resampled_to_mono_with_labels_mapped(tmp_path):
    comp = tmp_path / "comp"
    (comp / "clips").mkdir(parents=True)
    sf.write(comp / "clips/a.wav", np.full(16000, 0.1, np.float32), 16000)
    (comp / "labels.csv").write_text("fname,label,speaker\na.wav,yes,s1\n")
    sc = tmp_path / "speech_commands"
    (sc / "yes").mkdir(parents=True)
    (sc / "house").mkdir()
    t = np.arange(8000) / 8000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], 1).astype(np.float32) * 0.5
    sf.write(sc / "yes/abc123_nohash_0.wav", stereo, 8000)  # 8 kHz stereo, 1 s
    sf.write(sc / "house/abc123_nohash_0.wav", stereo, 8000)  # a word the competition lacks: skipped
    sf.write(sc / "yes/abc123_nohash_1.wav", np.full(16000, 0.1, np.float32), 16000)  # same audio as a.wav
    (sc / "yes/empty_nohash_0.wav").write_bytes(b"")
    samples = [
        read_audio_csv(comp / "labels.csv", COMPETITION, None, "fname", comp / "clips"),
        read_audio_folders(sc, "gsc", {"yes": "yes"}),
    ]
    rows, report = merge_audio((s for it in samples for s in it), 16000, tmp_path / "out")
    assert [(r["fname"], r["label"], r["group"]) for r in rows] == [
        ("a.wav", "yes", "competition:s1"),
        ("gsc__yes__abc123_nohash_0.wav", "yes", "gsc:abc123"),
    ]
    audio, rate = sf.read(tmp_path / "out/clips/gsc__yes__abc123_nohash_0.wav")
    assert rate == 16000 and audio.ndim == 1 and len(audio) == 16000
    assert np.abs(audio).max() == pytest.approx(0.25, abs=0.01)  # mono = mean of channels
    assert [b.file for b in report.bad] == ["empty_nohash_0.wav"]
    assert report.duplicates[0]["same_as"] == "a.wav"


def test_a_truncated_jpeg_is_a_bad_sample_not_grey_rows(competition, tmp_path):
    """Before: OpenCV decoded the cut file with flat grey rows and only printed a libjpeg warning."""
    cv2.imwrite(str(competition / "images/c0.jpg"), np.random.default_rng(0).integers(0, 255, (30, 40, 3), np.uint8))
    data = (competition / "images/c0.jpg").read_bytes()
    (competition / "images/c0.jpg").write_bytes(data[: len(data) // 2])
    coco = json.loads((competition / "ann.json").read_text())
    coco["images"][0]["file_name"] = "c0.jpg"
    (competition / "ann.json").write_text(json.dumps(coco))
    _, report = merge_detection(
        read_coco(competition / "ann.json", competition / "images", "comp", None), [], CLASSES, tmp_path / "o"
    )
    assert [(b.file, b.reason.split(" (")[0]) for b in report.bad] == [("c0.jpg", "unreadable or truncated image")]
    assert "truncated" in report.bad[0].reason


@pytest.mark.parametrize("bbox", ["[1, 2, 3]", "7", "[1, 2, 'x', 4]", "[1, 2, nan, 4]", "{}", "", "__import__('os')"])
def test_a_bad_csv_bbox_is_a_bad_sample_dropped_or_failed_by_params(tmp_path, bbox):
    ext = tmp_path / "ext"
    _image(ext / "img/w1.jpg", 1)
    _image(ext / "img/w2.jpg", 2)
    (ext / "train.csv").write_text(f'image_id,bbox\nw1,"{bbox}"\nw2,"[1, 2, 3, 4]"\n')
    samples = list(DETECTION_READERS["csv"](ext / "train.csv", ext / "img", "gwd", {"*": "circle"}))
    bad = [s for s in samples if isinstance(s, BadSample)]
    assert [b.file for b in bad] == ["w1.jpg"] and "unparsable bbox" in bad[0].reason
    assert [s.path.name for s in samples if not isinstance(s, BadSample)] == ["w2.jpg"]


def test_a_negative_box_width_is_called_negative_not_zero_area(tmp_path):
    _image(tmp_path / "a.png", 0)
    reason, _ = check_detection_sample(DetectionSample(tmp_path / "a.png", [[10, 1, -5, 3]], ["circle"], "s", "g"))
    assert reason == "negative box width or height [10, 1, -5, 3]"
    reason, _ = check_detection_sample(DetectionSample(tmp_path / "gone.png", [], [], "s", "g"))
    assert reason == "missing file"


def test_a_float_clip_over_full_scale_is_scaled_and_reported_never_clipped(tmp_path):
    comp = tmp_path / "comp"
    (comp / "clips").mkdir(parents=True)
    loud = (1.5 * np.sin(np.arange(16000) / 7)).astype(np.float32)
    sf.write(comp / "clips/loud.wav", loud, 16000, subtype="FLOAT")
    (comp / "labels.csv").write_text("fname,label\nloud.wav,yes\n")
    rows, report = merge_audio(
        read_audio_csv(comp / "labels.csv", COMPETITION, None, "fname", comp / "clips"), 16000, tmp_path / "out"
    )
    assert [r["fname"] for r in rows] == ["loud.wav"]
    assert report.rescaled == [{"source": COMPETITION, "file": str(comp / "clips/loud.wav"), "peak": 1.5}]
    written, _ = sf.read(tmp_path / "out/clips/loud.wav")
    assert 0.99 < np.abs(written).max() <= 0.999 + 1e-4  # scaled: the wave's shape is kept, not flattened
    np.testing.assert_allclose(written, loud * (0.999 / 1.5), atol=1e-4)


def test_a_speech_commands_name_without_nohash_is_reported(tmp_path):
    root = tmp_path / "sc"
    (root / "yes").mkdir(parents=True)
    sf.write(root / "yes/recording1.wav", np.full(16000, 0.1, np.float32), 16000)
    rows, report = merge_audio(read_audio_folders(root, "sc", {"yes": "yes"}), 16000, tmp_path / "out")
    assert rows[0]["group"] == "sc:recording1"
    assert report.notes and "speaker is unknown" in report.notes[0]["note"]
