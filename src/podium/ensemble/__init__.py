"""Ensembling: box fusion (WBF, NMS, soft-NMS, NMW), class-probability voting, and their tuning on OOF."""

from podium.ensemble.boxes import (
    CALIBRATIONS,
    CONF_TYPES,
    METHODS,
    fuse_image,
    fuse_sets,
    fuse_views,
    rescore,
    threshold,
)
from podium.ensemble.voting import VOTERS, geometric_mean, hard_vote, soft_vote, vote

__all__ = [
    "CALIBRATIONS",
    "CONF_TYPES",
    "METHODS",
    "VOTERS",
    "fuse_image",
    "fuse_sets",
    "fuse_views",
    "geometric_mean",
    "hard_vote",
    "rescore",
    "soft_vote",
    "threshold",
    "vote",
]
