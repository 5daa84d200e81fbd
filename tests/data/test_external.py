"""merge_external: readers for each format, bad samples, duplicates, provenance; audio conversion."""

import json

import cv2
import numpy as np
import pytest
import soundfile as sf

from podium.data.external import (
    COMPETITION,
    DETECTION_READERS,
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
    assert reasons["gone.png"] == "missing file" and reasons["corrupt.png"] == "unreadable image"
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
