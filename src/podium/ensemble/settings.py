"""The ensemble's params section (no torch import: params.py loads it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class EnsembleConfig:
    box_method: Literal["wbf", "nms", "soft_nms", "nmw"]
    box_iou_thr: float
    box_skip_thr: float  # boxes below this score are ignored by the fusion
    box_conf_type: Literal["avg", "max", "box_and_model_avg", "absent_model_aware_avg"]  # WBF only
    box_score_thr: float  # fused boxes below this are dropped
    box_calibration: Literal["none", "rank"]  # per prediction set, before fusion
    box_weights: dict[str, float]  # model -> weight (missing: 1)
    vote_method: Literal["soft", "geometric", "hard"]
    vote_weights: dict[str, float]
    tune_trials: int  # Optuna trials on OOF; 0 uses the settings above as they are
    workers: int  # processes fusing boxes


@dataclass(frozen=True)
class SubmitConfig:
    empty_prediction: str  # PredictionString of an image without boxes
    max_boxes: int  # per image, highest scores first
