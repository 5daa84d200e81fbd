"""Offline clones: parents, folds and failure rules, and byte-identical reruns whatever the worker count."""

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from podium.augment.clones import (
    AudioCloner,
    AugmentError,
    ImageCloner,
    clone_name,
    clones_to_coco,
    detection_jobs,
    run_cloner,
)
from podium.clips import write_clip
from podium.params import load_params
from podium.settings import AugmentOp

AUGMENT = load_params(Path(__file__).resolve().parents[2] / "params.yaml")["augment"]

IMAGE_OPS = {"rain": AugmentOp(0.5, 0.3, 0.8), "hflip": AugmentOp(0.5, 0, 0), "crop": AugmentOp(0.5, 0.2, 0.6)}


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    folder.mkdir()
    coco = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "dot"}]}
    for i in range(4):
        cv2.imwrite(str(folder / f"im{i}.png"), rng.integers(0, 255, (32, 48, 3), dtype=np.uint8))
        coco["images"].append({"id": i + 1, "file_name": f"im{i}.png", "width": 48, "height": 32, "group": f"g{i}"})
        coco["annotations"].append({"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [8, 8, 16, 12]})
    return folder, coco


def _clone(images, out, workers=1, **kw):
    folder, coco = images
    out.mkdir()
    cfg = dataclasses.replace(
        AUGMENT,
        **{
            "image_ops": IMAGE_OPS,
            "detection_clones": 2,
            "strong_fraction": 0.5,
            "min_visibility": 0.3,
            "min_box_size": 2.0,
            "retries": 2,
        }
        | kw,
    )
    jobs = detection_jobs(coco, {f"im{i}.png": i % 2 for i in range(4)})
    return jobs, run_cloner(ImageCloner(cfg, seed=7, images=folder, out=out), jobs, workers, "test")


def test_clone_name_keeps_the_suffix():
    assert clone_name("a.b.png", 3) == "a.b__aug3.png" and clone_name("clip.wav", 0) == "clip__aug0.wav"


def test_image_clones_carry_parent_group_and_fold(images, tmp_path):
    jobs, result = _clone(images, tmp_path / "out")
    assert len(result.clones) == 8 and not result.failures
    for rec in result.clones:
        parent = next(j for j in jobs if j["file_name"] == rec["parent"])
        assert (rec["group"], rec["fold"]) == (parent["group"], parent["fold"])
        assert rec["policy"] in ("weak", "strong") and (tmp_path / "out" / rec["file_name"]).exists()
    coco = clones_to_coco(result.clones, images[1]["categories"])
    assert len(coco["images"]) == 8
    assert {a["image_id"] for a in coco["annotations"]} <= {i["id"] for i in coco["images"]}


def test_reruns_are_byte_identical_whatever_the_worker_count(images, tmp_path):
    _, one = _clone(images, tmp_path / "one", workers=1)
    _, two = _clone(images, tmp_path / "two", workers=2)
    assert one.clones == two.clones
    for rec in one.clones:
        assert (tmp_path / "one" / rec["file_name"]).read_bytes() == (tmp_path / "two" / rec["file_name"]).read_bytes()


def test_a_clone_that_loses_every_box_is_reported_and_not_written(images, tmp_path):
    _, result = _clone(images, tmp_path / "out", min_box_size=100.0)  # every box is smaller than 100 px
    assert not result.clones and len(result.failures) == 8
    assert "all boxes lost in 3 draws" in result.failures[0]["reason"]
    assert not any((tmp_path / "out").iterdir())


def _clips(tmp_path, audio):
    folder = tmp_path / "clips"
    folder.mkdir()
    write_clip(folder / "a.wav", audio, 8000)
    return folder, [{"fname": "a.wav", "label": "yes", "source": "competition", "group": "s1", "fold": 1}]


def _audio_cloner(folder, out, ops, clones=2):
    out.mkdir()
    cfg = dataclasses.replace(
        AUGMENT, audio_ops=ops, audio_clones=clones, strong_fraction=0.5, min_rms_db=-60.0, retries=1
    )
    return AudioCloner(cfg, seed=7, sample_rate=8000, noise=None, clips=folder, out=out)


def test_a_silent_audio_clone_is_reported_and_skipped(tmp_path):
    folder, jobs = _clips(tmp_path, np.zeros(8000, dtype=np.float32))
    result = run_cloner(_audio_cloner(folder, tmp_path / "out", {"gain": AugmentOp(1, 0.5, 0.5)}), jobs, 1, "t")
    assert not result.clones and [f["reason"].split(" (")[0] for f in result.failures] == ["silent", "silent"]
    assert not any((tmp_path / "out").iterdir())


def test_a_loud_audio_clone_is_rescaled_never_clipped(tmp_path):
    tone = (0.9 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    folder, jobs = _clips(tmp_path, tone)
    ops = {"gain": AugmentOp(1, 1.0, 1.0), "polarity": AugmentOp(0.5, 0, 0)}
    result = run_cloner(_audio_cloner(folder, tmp_path / "out", ops, clones=6), jobs, 1, "t")
    assert len(result.clones) == 6 and result.rescaled > 0
    assert {c["parent"] for c in result.clones} == {"a.wav"} and {c["fold"] for c in result.clones} == {1}
    import soundfile as sf

    for c in result.clones:
        audio, _ = sf.read(tmp_path / "out" / c["fname"])
        assert np.abs(audio).max() <= 1.0


def test_a_bad_op_in_params_stops_before_any_work(images, tmp_path):
    with pytest.raises(AugmentError, match="augment.image_ops: unknown image augmentation 'snow'"):
        _clone(images, tmp_path / "out", image_ops={"snow": AugmentOp(0.5, 0.1, 0.2)})
    with pytest.raises(AugmentError, match="augment.audio_ops: .*needs noise clips"):
        _audio_cloner(tmp_path, tmp_path / "out2", {"background_noise": AugmentOp(1, 0.2, 0.5)}, clones=1)
