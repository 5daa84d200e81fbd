"""The installed stack works on this CPU: mmcv's ops (torchvision kernels), a real mmdet detector that learns."""

import pytest
import torch

from podium.detection.config import BASE_CONFIGS, load_base_config, resize_model


def test_mmcv_ops_run_on_cpu():
    from mmcv.ops import DeformConv2d, RoIAlign, nms

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=torch.float32)
    kept, index = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert index.tolist() == [0, 2]  # IoU(box0, box1) = 81/119 > 0.5
    feature = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)
    pooled = RoIAlign((1, 1), spatial_scale=1.0, sampling_ratio=1, aligned=False)(
        feature, torch.tensor([[0, 0.0, 0.0, 2.0, 2.0]])
    )
    assert pooled.item() == pytest.approx(feature[0, 0, 1, 1].item())  # centre of the 2x2 box: (1, 1)
    conv = DeformConv2d(1, 1, 3, padding=1, bias=False)
    torch.nn.init.constant_(conv.weight, 1.0)
    out = conv(torch.ones(1, 1, 5, 5), torch.zeros(1, 18, 5, 5))  # zero offsets: a plain 3x3 box sum
    assert out[0, 0, 2, 2].item() == pytest.approx(9.0) and out[0, 0, 0, 0].item() == pytest.approx(4.0)


@pytest.mark.parametrize("name", sorted(BASE_CONFIGS))
def test_tiny_mmdet_detector_takes_training_steps(name):
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.utils import register_all_modules
    from mmengine.optim import build_optim_wrapper
    from mmengine.structures import InstanceData

    register_all_modules()
    torch.manual_seed(0)
    cfg = resize_model(
        load_base_config(name).model, num_classes=3, depth=18, base_channels=8, neck_channels=32, frozen_stages=-1
    )
    model = MODELS.build(cfg)
    model.init_weights()
    optim = build_optim_wrapper(model, dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)))
    size = 64
    samples = []
    for i in range(2):
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                scale_factor=(1, 1),
                pad_shape=(size, size),
                batch_input_shape=(size, size),
            )
        )
        sample.gt_instances = InstanceData(bboxes=torch.tensor([[8.0, 8.0, 40.0, 44.0]]), labels=torch.tensor([i]))
        samples.append(sample)
    data = dict(
        inputs=[torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(2)], data_samples=samples
    )
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    losses = model.train_step(data, optim)
    assert torch.isfinite(losses["loss"])
    changed = sum(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters(), strict=True))
    assert changed > 0.5 * len(before)  # the optimiser really updated the network
