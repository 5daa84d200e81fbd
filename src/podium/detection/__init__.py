"""Object detection with MMDetection: configs resized from params, fold training, inference with views.

Imports nothing heavy on purpose: importing a submodule loads mmengine/mmdet, which a CSV check must not pay
for. Predictions are the neutral `podium.boxes.ImagePredictions`. mmcv's compiled ops come from torchvision
(podium.mmcv_ext); the environment's .pth installs them in every process, and this line in any process that
reaches podium's detection code another way (a PYTHONPATH checkout)."""

from podium import mmcv_ext

mmcv_ext.install()
