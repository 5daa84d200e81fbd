"""Object detection with MMDetection: configs resized from params, fold training, inference with views.

Kept empty on purpose: importing a submodule loads mmengine/mmdet, which a CSV check must not pay for.
Predictions are the neutral `podium.boxes.ImagePredictions`."""
