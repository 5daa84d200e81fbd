"""Object detection with MMDetection: configs, training, out-of-fold predictions."""

from podium.detection.config import BASE_CONFIGS, load_base_config, resize_model

__all__ = ["BASE_CONFIGS", "load_base_config", "resize_model"]
