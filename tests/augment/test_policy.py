"""Image and audio ops by name: each builds and runs at both ends of its strength range; boxes follow."""

import numpy as np
import pytest

from podium.augment import policy


def _image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)  # (H, W, 3)


@pytest.mark.parametrize("name", sorted(policy.IMAGE_OPS))
@pytest.mark.parametrize("strength", [0.0, 1.0])
def test_every_image_op_runs_and_keeps_boxes_inside(name, strength):
    compose = policy.image_compose({name: (1.0, strength)}, min_visibility=0.0, min_size=1)
    compose.set_random_seed(3)
    out = compose(image=_image(), bboxes=np.array([[10, 5, 20, 10]], dtype=np.float32), labels=[1])
    h, w = out["image"].shape[:2]
    assert out["image"].dtype == np.uint8 and out["image"].shape[2] == 3
    for x, y, bw, bh in out["bboxes"]:
        assert 0 <= x and 0 <= y and x + bw <= w + 1e-3 and y + bh <= h + 1e-3


def test_hflip_mirrors_a_box_by_hand():
    compose = policy.image_compose({"hflip": (1.0, 0.0)}, min_visibility=0.0, min_size=1)
    out = compose(image=_image(), bboxes=np.array([[10, 5, 20, 10]], dtype=np.float32), labels=[1])
    np.testing.assert_allclose(out["bboxes"], [[60 - 10 - 20, 5, 20, 10]])  # x' = W - x - w


def test_boxes_are_clipped_or_dropped_by_min_visibility():
    # hflip keeps every pixel, so only the clipping of the input box matters: half of box A is inside.
    compose = policy.image_compose({"hflip": (1.0, 0.0)}, min_visibility=0.3, min_size=8)
    boxes = np.array([[50, 0, 20, 10], [0, 0, 4, 4]], dtype=np.float32)  # A: 10 px inside; B: 4 px wide
    out = compose(image=_image(), bboxes=boxes, labels=[1, 2])
    np.testing.assert_allclose(out["bboxes"], [[0, 0, 10, 10]], atol=1e-4)  # A clipped to x 50..60, then mirrored
    assert list(out["labels"]) == [1]  # B is narrower than min_size: dropped


def test_unknown_ops_and_strengths_are_named():
    with pytest.raises(ValueError, match="valid names are .*rain"):
        policy.image_op("snow", 0.5, 1.0)
    with pytest.raises(ValueError, match="outside"):
        policy.image_op("rain", 1.5, 1.0)
    with pytest.raises(ValueError, match="valid names are .*echo"):
        policy.audio_compose({"reverb": (1.0, 0.5)}, None)


def test_background_noise_without_noise_clips_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="needs noise clips"):
        policy.audio_compose({"background_noise": (1.0, 0.5)}, tmp_path)


@pytest.mark.parametrize("name", [n for n in policy.AUDIO_OP_NAMES if n != "background_noise"])
def test_every_audio_op_keeps_length_and_dtype(name):
    rate = 16000
    clip = (0.3 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32)
    np.random.seed(0)
    out = policy.audio_compose({name: (1.0, 1.0)}, None)(samples=clip, sample_rate=rate)
    assert out.shape == clip.shape and out.dtype == np.float32 and np.isfinite(out).all()


def test_echo_adds_a_delayed_copy():
    np.random.seed(0)
    impulse = np.zeros(16000, dtype=np.float32)
    impulse[0] = 1.0
    out = policy._echo(0.1, 0.5)(impulse, 16000)
    echoes = np.flatnonzero(out[1:]) + 1
    assert len(echoes) == 1 and 0.03 * 16000 <= echoes[0] <= 0.1 * 16000 and 0.1 <= out[echoes[0]] <= 0.5
