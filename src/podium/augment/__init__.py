"""Augmentation: named image/audio ops with a strength knob, offline clones and their previews."""

from podium.augment.clones import (
    AudioCloner,
    AugmentError,
    ImageCloner,
    clone_name,
    clones_to_coco,
    detection_jobs,
    run_cloner,
)
from podium.augment.policy import AUDIO_OP_NAMES, IMAGE_OPS, image_op

__all__ = ["AUDIO_OP_NAMES", "IMAGE_OPS", "AudioCloner", "AugmentError", "ImageCloner",
           "clone_name", "clones_to_coco", "detection_jobs", "image_op", "run_cloner"]
