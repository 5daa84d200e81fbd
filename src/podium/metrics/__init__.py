"""Scores: classification (accuracy, macro-F1, recall) and detection (COCO mAP)."""

from podium.metrics.classification import classification_scores

__all__ = ["classification_scores"]
