"""The embedded competition: deterministic, boxes valid, and test data really differs from training."""

import numpy as np
import pytest

from podium.clips import read_clip
from podium.data import synthetic_audio, synthetic_detection


def test_detection_is_deterministic_and_boxes_lie_inside_images():
    a = synthetic_detection.generate_train_images(np.random.default_rng(3), 10, 64, 6, 0.1)
    b = synthetic_detection.generate_train_images(np.random.default_rng(3), 10, 64, 6, 0.1)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.image, y.image) and np.array_equal(x.boxes, y.boxes)
    boxes = np.concatenate([img.boxes for img in a])
    assert len(boxes) > 0
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 64).all()
    assert (boxes[:, 1] + boxes[:, 3] <= 64).all() and (boxes[:, 2:] >= 3).all()


def test_near_duplicate_frames_share_a_group():
    images = synthetic_detection.generate_train_images(np.random.default_rng(0), 40, 64, 4, 0.0)
    groups = [img.group for img in images]
    assert len(set(groups)) < len(groups)  # some scenes came as several frames


def test_test_images_are_corrupted_versions_of_the_training_distribution():
    rng = np.random.default_rng(0)
    clean = synthetic_detection.render_scene(rng, 128, [("circle", 64.0, 64.0, 20.0, 0.0)], "g")
    corrupted = synthetic_detection.corrupt_test_image(np.random.default_rng(1), clean.image)
    assert corrupted.shape == clean.image.shape
    assert np.abs(corrupted.astype(int) - clean.image).mean() > 5


def test_coco_export_round_trips_boxes_and_classes():
    images = synthetic_detection.generate_train_images(np.random.default_rng(1), 4, 64, 5, 0.0)
    coco = synthetic_detection.to_coco(images, [f"{i}.png" for i in range(4)])
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert [names[a["category_id"]] for a in coco["annotations"]] == [label for img in images for label in img.labels]
    assert len(coco["annotations"]) == sum(len(img.boxes) for img in images)


@pytest.fixture(scope="module")
def spoken():
    train, test = synthetic_audio.generate(np.random.default_rng(0), 1, 1, 0.5, 16000, 1.0)
    return train, test


def test_clips_are_one_second_at_the_project_rate_within_full_scale(spoken):
    train, test = spoken
    assert len(train) == len(test) == len(synthetic_audio.WORDS)
    for clip in train + test:
        assert clip.audio.shape == (16000,) and clip.audio.dtype == np.float32
        assert np.abs(clip.audio).max() <= 1.0 and np.abs(clip.audio).max() > 0.01


def test_test_clips_are_noisier_than_training_clips(spoken):
    def silence_floor(a):  # RMS of the quietest 10% of 20 ms frames: ~0 for clean speech
        frames = a[: len(a) // 320 * 320].reshape(-1, 320)
        rms = np.sort(np.sqrt((frames**2).mean(1)))
        return rms[: len(rms) // 10].mean() / (np.abs(a).max() + 1e-9)

    train, test = spoken
    assert np.median([silence_floor(c.audio) for c in test]) > 10 * np.median([silence_floor(c.audio) for c in train])


def test_some_test_voices_are_never_heard_in_training():
    seen, unseen = synthetic_audio.split_voices(np.random.default_rng(0))
    assert unseen and not set(seen) & set(unseen)


def test_noise_clips_written_by_download_read_back(tmp_path):
    from podium.clips import write_clip

    clips = synthetic_audio.generate_noise_clips(np.random.default_rng(0), 3, 16000, seconds=0.5)
    for name, clip in clips.items():
        write_clip(tmp_path / name, clip, 16000)
        assert read_clip(tmp_path / name, 16000).shape == (8000,)
