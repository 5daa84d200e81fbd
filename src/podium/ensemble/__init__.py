"""Ensembling: box fusion (WBF, NMS, soft-NMS, NMW) and class-probability voting."""

from podium.ensemble.boxes import CONF_TYPES, METHODS, fuse_image, fuse_sets, rescore, threshold
from podium.ensemble.voting import VOTERS, geometric_mean, hard_vote, soft_vote, vote

__all__ = ["CONF_TYPES", "METHODS", "VOTERS", "fuse_image", "fuse_sets", "geometric_mean", "hard_vote", "rescore",
           "soft_vote", "threshold", "vote"]
