"""Augmentation operations by name, each with one strength knob in [0, 1], for images and audio.

An op is `{name: factory}` where the factory maps a strength to library configs: albumentations transform
dicts (`{"type": "RandomRain", ...}`, the form mmdet's `Albu` wrapper builds) for images, audiomentations
transforms for audio. The offline `augment` stage and mmdet's online training pipeline build their image
transforms from the same dicts, so "rain at strength 0.5" means the same thing in both places.

Strength 0 is the mildest form of an op, 1 its strongest; what it scales is stated beside each factory.
Image boxes are `x, y, w, h` pixels (COCO) offline and `x1, y1, x2, y2` pixels inside mmdet: albumentations
moves them with the image either way (`BboxParams`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np


def _odd(x: float) -> int:
    return int(x) // 2 * 2 + 1


def _unit(s: float) -> float:
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"augmentation strength {s} is outside [0, 1]")
    return s


# Image ops: strength -> albumentations config dicts (applied with probability p by the caller).
IMAGE_OPS: dict[str, Callable[[float], dict]] = {
    # streaks: longer, more slanted, darker as strength grows
    "rain": lambda s: dict(
        type="RandomRain",
        slant_range=(-5 - 15 * s, 5 + 15 * s),
        drop_length=int(6 + 14 * s),
        drop_width=1,
        drop_color=(200, 200, 200),
        blur_value=3,
        brightness_coefficient=0.95 - 0.25 * s,
        rain_type="default",
    ),
    "hsv": lambda s: dict(
        type="HueSaturationValue", hue_shift_limit=5 + 25 * s, sat_shift_limit=10 + 40 * s, val_shift_limit=10 + 30 * s
    ),
    "hflip": lambda s: dict(type="HorizontalFlip"),
    "vflip": lambda s: dict(type="VerticalFlip"),
    # scale change up to +-40%, shift up to 15% of the side
    "scale_translate": lambda s: dict(
        type="Affine",
        scale=(1 - 0.4 * s, 1 + 0.4 * s),
        translate_percent=(-0.15 * s, 0.15 * s),
        border_mode=cv2.BORDER_CONSTANT,
    ),
    # up to 5-30% cut from each border (the image gets smaller; training resizes anyway)
    "crop": lambda s: dict(
        type="RandomCropFromBorders",
        crop_left=0.05 + 0.25 * s,
        crop_right=0.05 + 0.25 * s,
        crop_top=0.05 + 0.25 * s,
        crop_bottom=0.05 + 0.25 * s,
    ),
    "rotate": lambda s: dict(type="Rotate", limit=5 + 25 * s, border_mode=cv2.BORDER_CONSTANT),
    "blur_sharpen": lambda s: dict(
        type="OneOf",
        transforms=[
            dict(type="Blur", blur_limit=(3, _odd(3 + 6 * s))),
            dict(type="Sharpen", alpha=(0.1, 0.2 + 0.5 * s)),
        ],
    ),
    "color_jitter": lambda s: dict(
        type="ColorJitter",
        brightness=0.1 + 0.3 * s,
        contrast=0.1 + 0.3 * s,
        saturation=0.1 + 0.3 * s,
        hue=0.02 + 0.08 * s,
    ),
    "posterize": lambda s: dict(type="Posterize", num_bits=(max(2, round(7 - 4 * s)), 7)),
    "equalize": lambda s: dict(type="Equalize"),
    # down- then up-sampling: blocks of up to 1 / (0.6 - 0.4 s) px
    "pixelate": lambda s: dict(
        type="Downscale",
        scale_range=(0.6 - 0.4 * s, 0.8 - 0.3 * s),
        interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_NEAREST},
    ),
    "jpeg": lambda s: dict(type="ImageCompression", quality_range=(max(5, round(80 - 70 * s)), 95)),
}


def image_op(name: str, strength: float, p: float) -> dict:
    """The albumentations config dict of image op `name` at `strength`, applied with probability `p`."""
    if name not in IMAGE_OPS:
        raise ValueError(f"unknown image augmentation {name!r}; valid names are {sorted(IMAGE_OPS)}")
    return {**IMAGE_OPS[name](_unit(strength)), "p": p}


def build_albumentation(cfg: dict):
    """An albumentations transform from a config dict (nested `transforms` for OneOf), as mmdet's Albu does."""
    import albumentations as A

    args = dict(cfg)
    kind = args.pop("type")
    if "transforms" in args:
        args["transforms"] = [build_albumentation(t) for t in args["transforms"]]
    return getattr(A, kind)(**args)


def image_compose(ops: dict[str, tuple[float, float]], min_visibility: float, min_size: float):
    """An albumentations Compose of `ops` ({name: (p, strength)}), in the order given, for an image with
    COCO boxes (`bboxes`, pixels) and their `labels`. Boxes are clipped to the image; boxes keeping less than
    `min_visibility` of their area, or narrower/shorter than `min_size` px, are dropped."""
    import albumentations as A

    transforms = [build_albumentation(image_op(name, s, p)) for name, (p, s) in ops.items()]
    boxes = A.BboxParams(
        format="coco",
        label_fields=["labels"],
        min_visibility=min_visibility,
        min_width=min_size,
        min_height=min_size,
        clip=True,
        filter_invalid_bboxes=True,
    )
    with warnings.catch_warnings():  # pixel-only policies: "Got processor for bboxes, but no transform..."
        warnings.filterwarnings("ignore", message="Got processor for bboxes")
        return A.Compose(transforms, bbox_params=boxes)


def _echo(max_delay: float, max_decay: float):
    """One reflection: the clip delayed by 30 ms..`max_delay` s and scaled by 0.1..`max_decay`, added back.
    audiomentations has no echo; its `RoomSimulator` needs pyroomacoustics and room geometry."""

    def apply(samples: np.ndarray, sample_rate: int) -> np.ndarray:
        delay = int(np.random.uniform(0.03, max_delay) * sample_rate)
        decay = np.random.uniform(0.1, max_decay)
        out = samples.copy()
        if 0 < delay < len(samples):
            out[delay:] += decay * samples[:-delay]
        return out

    return apply


def _audio_ops(noise_dir: Path | None) -> dict[str, Callable[[float, float], object]]:
    import audiomentations as M

    def background(s: float, p: float):
        if noise_dir is None or not any(noise_dir.glob("*.wav")):
            raise ValueError(
                "audio op background_noise needs noise clips (<raw>/audio/noise/*.wav); "
                "add some or drop the op from augment.audio_ops"
            )
        return M.AddBackgroundNoise(sounds_path=noise_dir, min_snr_db=25 - 22 * s, max_snr_db=30 - 15 * s, p=p)

    return {
        "polarity": lambda s, p: M.PolarityInversion(p=p),
        "gaussian_noise": lambda s, p: M.AddGaussianSNR(min_snr_db=35 - 25 * s, max_snr_db=40 - 15 * s, p=p),
        "background_noise": background,  # SNR 25-30 dB at strength 0, 3-15 dB at 1
        "echo": lambda s, p: M.Lambda(transform=_echo(0.06 + 0.19 * s, 0.3 + 0.5 * s), p=p),
        "gain": lambda s, p: M.Gain(min_gain_db=-3 - 9 * s, max_gain_db=3 + 9 * s, p=p),
        "time_stretch": lambda s, p: M.TimeStretch(
            min_rate=1 - 0.05 - 0.2 * s, max_rate=1 + 0.05 + 0.2 * s, leave_length_unchanged=True, p=p
        ),
        "pitch_shift": lambda s, p: M.PitchShift(min_semitones=-0.5 - 2.5 * s, max_semitones=0.5 + 2.5 * s, p=p),
        "band_pass": lambda s, p: M.BandPassFilter(
            min_center_freq=300.0,
            max_center_freq=3000.0,
            min_bandwidth_fraction=1.9 - 1.2 * s,
            max_bandwidth_fraction=1.99,
            p=p,
        ),
        "time_shift": lambda s, p: M.Shift(
            min_shift=-0.05 - 0.15 * s, max_shift=0.05 + 0.15 * s, shift_unit="fraction", rollover=False, p=p
        ),
    }


AUDIO_OP_NAMES = (
    "polarity",
    "gaussian_noise",
    "background_noise",
    "echo",
    "gain",
    "time_stretch",
    "pitch_shift",
    "band_pass",
    "time_shift",
)


def audio_compose(ops: dict[str, tuple[float, float]], noise_dir: Path | None):
    """An audiomentations Compose of `ops` ({name: (p, strength)}) in the order given. Input and output:
    mono float32 (samples,) at the caller's sample rate; the random state is numpy's global one."""
    import audiomentations as M

    factories = _audio_ops(noise_dir)
    if unknown := sorted(set(ops) - set(factories)):
        raise ValueError(f"unknown audio augmentation(s) {unknown}; valid names are {sorted(factories)}")
    return M.Compose([factories[name](_unit(s), p) for name, (p, s) in ops.items()])
