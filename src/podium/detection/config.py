"""MMDetection configs for podium: mmdet 3.3's own model configs, resized and turned runnable from params.

Boxes in mmdet are `x1, y1, x2, y2` pixels of the resized input; mmdet maps predictions back to the original
image itself (`scale_factor`), so everything podium reads from a model is in original-image pixels.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from mmengine.config import Config, ConfigDict

# podium's model name -> mmdet 3.3 config, relative to mmdet's packaged configs (mmdet/.mim/configs).
BASE_CONFIGS: dict[str, str] = {
    "vfnet": "vfnet/vfnet_r50_fpn_1x_coco.py",
    "cascade_rcnn": "cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py",
    "faster_rcnn": "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
}
STANDARD_NECK = 256  # FPN width in mmdet's configs
STANDARD_FC = 1024  # two-stage heads' fully connected width


def mmdet_config_root() -> str:
    import mmdet

    return os.path.join(os.path.dirname(mmdet.__file__), ".mim", "configs")


def load_base_config(model: str) -> Config:
    """mmdet's own config for one of podium's model names."""
    if model not in BASE_CONFIGS:
        raise ValueError(f"unknown detector {model!r}; valid names are {sorted(BASE_CONFIGS)}")
    return Config.fromfile(os.path.join(mmdet_config_root(), BASE_CONFIGS[model]))


def _walk(node: Any, fn) -> None:
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, list | tuple):
        for value in node:
            _walk(value, fn)


def resize_model(model: ConfigDict, num_classes: int, depth: int, base_channels: int, neck_channels: int,
                 frozen_stages: int) -> ConfigDict:
    """mmdet's model config with a ResNet-`depth` backbone of `base_channels` stem width, an FPN of
    `neck_channels`, every head resized to match, `num_classes` classes, and no pretrained-weight download
    (`init_cfg` cleared: podium loads weights through `load_from`)."""
    model = copy.deepcopy(model)
    if depth not in (18, 34, 50, 101, 152):
        raise ValueError(f"backbone depth {depth} is not a ResNet depth (18, 34, 50, 101, 152)")
    model.backbone.update(depth=depth, base_channels=base_channels, frozen_stages=frozen_stages, init_cfg=None)
    expansion = 1 if depth in (18, 34) else 4  # BasicBlock vs Bottleneck output width
    model.neck.in_channels = [base_channels * expansion * 2**i for i in range(4)]
    model.neck.out_channels = neck_channels
    fc_channels = STANDARD_FC * neck_channels // STANDARD_NECK

    def fix(node: dict) -> None:
        if node.get("type") in ("ResNet", "FPN"):
            return
        for key in ("in_channels", "feat_channels", "out_channels", "conv_out_channels"):
            if node.get(key) == STANDARD_NECK:
                node[key] = neck_channels
        if node.get("fc_out_channels") == STANDARD_FC:
            node["fc_out_channels"] = fc_channels
        if "num_classes" in node:
            node["num_classes"] = num_classes

    _walk(model, fix)
    return model
