"""Scores: classification (accuracy, macro-F1, recall) and detection (COCO mAP)."""

from podium.metrics.classification import classification_scores, confusion

__all__ = ["classification_scores", "confusion"]
