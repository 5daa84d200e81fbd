"""The mmdet -> podium adapter, TTA views mapped back, and the image reader."""

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from podium.boxes import ImagePredictions, PredictionError
from podium.detection.inference import VIEWS, from_det_data_sample, unflip


def _sample(boxes, scores, labels, shape=(100, 200)):
    sample = DetDataSample(metainfo={"ori_shape": shape})
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32), scores=torch.tensor(scores), labels=torch.tensor(labels)
    )
    return sample


def test_adapter_keeps_original_pixels_and_clips_to_the_image():
    pred = from_det_data_sample(
        _sample([[10.0, 20.0, 50.0, 60.0], [190.0, 90.0, 205.5, 101.0]], [0.9, 0.3], [1, 0]), "a.png"
    )
    assert (pred.width, pred.height) == (200, 100) and pred.file_name == "a.png"
    np.testing.assert_allclose(pred.boxes, [[10, 20, 50, 60], [190, 90, 200, 100]])
    assert pred.labels.tolist() == [1, 0]


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_a_box_seen_in_a_view_maps_back_to_the_original(view):
    image = np.zeros((100, 200, 3), np.uint8)
    image[20:60, 10:50] = 255  # the object: x 10..50, y 20..60
    seen = VIEWS[view][0](image)
    ys, xs = np.nonzero(seen[..., 0])
    box = [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]]
    back = unflip(ImagePredictions("a.png", 200, 100, box, [0.9], [0]), view)
    np.testing.assert_allclose(back.boxes, [[10, 20, 50, 60]])


def test_tta_image_reader_names_missing_and_corrupt_files(tmp_path):
    from podium.detection.inference import read_image

    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(PredictionError, match="bad.png: unreadable image"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(PredictionError, match="gone.png: image not found"):
        read_image(tmp_path / "gone.png")
