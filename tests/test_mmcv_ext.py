"""mmcv's ops on torchvision's kernels (podium.mmcv_ext): mmcv's own published op-test vectors, gradient checks
in float64, and the import plumbing (every process of the environment gets them, missing ops explain
themselves).

The vectors are copied from open-mmlab/mmcv's tests/test_ops/test_nms.py, test_roi_align.py and
test_deform_conv.py (the numbers mmcv's compiled kernels are tested against).
"""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from podium import mmcv_ext

mmcv_ext.install()
from mmcv import ops  # noqa: E402  (after the finder is in place, as the .pth does it in every process)

# --- mmcv tests/test_ops/test_nms.py
NMS_BOXES = [[6.0, 3.0, 8.0, 7.0], [3.0, 6.0, 9.0, 11.0], [3.0, 7.0, 10.0, 12.0], [1.0, 4.0, 13.0, 7.0]]
NMS_SCORES = [0.6, 0.9, 0.7, 0.2]
NMS_DETS = [[3.0, 6.0, 9.0, 11.0, 0.9], [6.0, 3.0, 8.0, 7.0, 0.6], [1.0, 4.0, 13.0, 7.0, 0.2]]
SOFT_NMS = {  # method -> (dets, inds) for iou 0.3, sigma 0.5, min_score 0.01
    "linear": (
        [[3, 6, 9, 11, 0.9], [6, 3, 8, 7, 0.6], [3, 7, 10, 12, 0.29024392], [1, 4, 13, 7, 0.2]],
        [1, 0, 2, 3],
    ),
    "gaussian": (
        [[3, 6, 9, 11, 0.9], [6, 3, 8, 7, 0.59630775], [3, 7, 10, 12, 0.35275510], [1, 4, 13, 7, 0.18650459]],
        [1, 0, 2, 3],
    ),
    "naive": ([[3, 6, 9, 11, 0.9], [6, 3, 8, 7, 0.6], [1, 4, 13, 7, 0.2]], [1, 0, 3]),
}

# --- mmcv tests/test_ops/test_roi_align.py (pool 2x2, spatial scale 1, sampling ratio 2, aligned)
ROI_CASES = [
    ([[[[1.0, 2.0], [3.0, 4.0]]]], [[0.0, 0.0, 0.0, 1.0, 1.0]]),
    ([[[[1.0, 2.0], [3.0, 4.0]], [[4.0, 3.0], [2.0, 1.0]]]], [[0.0, 0.0, 0.0, 1.0, 1.0]]),
    (
        [[[[1.0, 2.0, 5.0, 6.0], [3.0, 4.0, 7.0, 8.0], [9.0, 10.0, 13.0, 14.0], [11.0, 12.0, 15.0, 16.0]]]],
        [[0.0, 0.0, 0.0, 3.0, 3.0]],
    ),
]
ROI_EXPECTED = [  # (output, gradient of the input for an all-ones output gradient)
    ([[[[1.0, 1.25], [1.5, 1.75]]]], [[[[3.0625, 0.4375], [0.4375, 0.0625]]]]),
    (
        [[[[1.0, 1.25], [1.5, 1.75]], [[4.0, 3.75], [3.5, 3.25]]]],
        [[[[3.0625, 0.4375], [0.4375, 0.0625]], [[3.0625, 0.4375], [0.4375, 0.0625]]]],
    ),
    (
        [[[[1.9375, 4.75], [7.5625, 10.375]]]],
        [
            [
                [
                    [0.47265625, 0.42968750, 0.42968750, 0.04296875],
                    [0.42968750, 0.39062500, 0.39062500, 0.03906250],
                    [0.42968750, 0.39062500, 0.39062500, 0.03906250],
                    [0.04296875, 0.03906250, 0.03906250, 0.00390625],
                ]
            ]
        ],
    ),
]

# --- mmcv tests/test_ops/test_deform_conv.py (DeformConv2dPack, 1 -> 1 channel, kernel 2)
DCN_INPUT = [[[[1.0, 2.0, 3.0], [0.0, 1.0, 2.0], [3.0, 5.0, 2.0]]]]
DCN_OFFSET_WEIGHT = [
    [[0.1, 0.4, 0.6, 0.1]], [[0.3, 0.2, 0.1, 0.3]], [[0.5, 0.5, 0.2, 0.8]], [[0.8, 0.3, 0.9, 0.1]],
    [[0.3, 0.1, 0.2, 0.5]], [[0.3, 0.7, 0.5, 0.3]], [[0.6, 0.2, 0.5, 0.3]], [[0.4, 0.1, 0.8, 0.4]],
]  # fmt: skip
DCN_OFFSET_BIAS = [0.7, 0.1, 0.8, 0.5, 0.6, 0.5, 0.4, 0.7]
DCN_WEIGHT = [[[0.4, 0.2, 0.1, 0.9]]]
DCN_OUT = [[[[1.650, 0.0], [0.000, 0.0]]]]
DCN_X_GRAD = [[[[-0.666, 0.204, 0.000], [0.030, -0.416, 0.012], [0.000, 0.252, 0.129]]]]
DCN_OFFSET_WEIGHT_GRAD = [
    [[[1.44, 2.88], [0.00, 1.44]]], [[[-0.72, -1.44], [0.00, -0.72]]], [[[0.00, 0.00], [0.00, 0.00]]],
    [[[0.00, 0.00], [0.00, 0.00]]], [[[-0.10, -0.20], [0.00, -0.10]]], [[[-0.08, -0.16], [0.00, -0.08]]],
    [[[-0.54, -1.08], [0.00, -0.54]]], [[[-0.54, -1.08], [0.00, -0.54]]],
]  # fmt: skip
DCN_OFFSET_BIAS_GRAD = [1.44, -0.72, 0.0, 0.0, -0.10, -0.08, -0.54, -0.54]
DCN_WEIGHT_GRAD = [[[[3.62, 0.0], [0.40, 0.18]]]]


def test_mmcv_ops_run_on_podiums_module():
    assert mmcv_ext.source() == "torchvision"
    assert sys.modules["mmcv._ext"].nms is mmcv_ext.nms


def test_nms_matches_mmcvs_vectors():
    dets, inds = ops.nms(torch.tensor(NMS_BOXES), torch.tensor(NMS_SCORES), iou_threshold=0.3, offset=0)
    assert inds.tolist() == [1, 0, 3]
    np.testing.assert_allclose(dets.numpy(), NMS_DETS, atol=1e-6)


def test_nms_offset_one_is_the_pixel_inclusive_iou():
    """offset=1: areas (x2 - x1 + 1)(y2 - y1 + 1); two 2x2-pixel boxes one pixel apart overlap 1/3 there,
    not at all with offset 0."""
    boxes, scores = torch.tensor([[0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 2.0, 1.0]]), torch.tensor([0.9, 0.8])
    assert ops.nms(boxes, scores, iou_threshold=0.3, offset=0)[1].tolist() == [0, 1]
    assert ops.nms(boxes, scores, iou_threshold=0.3, offset=1)[1].tolist() == [0]
    assert ops.nms(boxes, scores, iou_threshold=0.34, offset=1)[1].tolist() == [0, 1]


def test_nms_of_nothing_is_nothing():
    dets, inds = ops.nms(torch.zeros((0, 4)), torch.zeros(0), iou_threshold=0.5)
    assert dets.shape == (0, 5) and inds.shape == (0,)


def test_batched_nms_keeps_classes_apart():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    scores, labels = torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0, 0, 1])
    _, keep = ops.batched_nms(boxes, scores, labels, dict(type="nms", iou_threshold=0.5))
    assert keep.tolist() == [0, 2]


@pytest.mark.parametrize("method", sorted(SOFT_NMS))
def test_soft_nms_matches_mmcvs_vectors(method):
    dets, inds = ops.soft_nms(
        torch.tensor(NMS_BOXES), torch.tensor(NMS_SCORES), iou_threshold=0.3, sigma=0.5, min_score=0.01, method=method
    )
    expected_dets, expected_inds = SOFT_NMS[method]
    assert inds.tolist() == expected_inds
    np.testing.assert_allclose(dets.numpy(), expected_dets, atol=1e-6)


def test_soft_nms_drops_boxes_under_min_score_and_keeps_indices_straight():
    """Many overlapping boxes: the swap-with-last removal must keep each kept box next to its own index."""
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=gen) * 50
    boxes = torch.cat([xy, xy + 20], dim=1)
    scores = torch.rand(200, generator=gen)
    dets, inds = ops.soft_nms(boxes, scores, iou_threshold=0.3, min_score=0.2, method="linear")
    assert 0 < len(inds) < 200 and len(set(inds.tolist())) == len(inds)
    np.testing.assert_array_equal(dets[:, :4].numpy(), boxes[inds].numpy())
    assert (dets[:, 4] >= 0.2).all() and (dets[:, 4] <= scores[inds]).all()
    assert dets[0, 4] == scores.max()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", range(len(ROI_CASES)))
def test_roi_align_matches_mmcvs_vectors(case, dtype):
    features, rois = ROI_CASES[case]
    x = torch.tensor(features, dtype=dtype, requires_grad=True)
    out = ops.roi_align(x, torch.tensor(rois, dtype=dtype), (2, 2), 1.0, 2, "avg", True)
    out.backward(torch.ones_like(out))
    expected, expected_grad = ROI_EXPECTED[case]
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, atol=1e-6)


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sampling_ratio", [0, 2])
def test_roi_align_gradcheck(aligned, sampling_ratio):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 7, dtype=torch.float64, generator=gen, requires_grad=True)
    rois = [[0, 0.3, 0.7, 4.2, 5.1], [1, 1.1, 0.2, 6.3, 3.9], [0, 2.5, 2.5, 3.0, 3.1]]
    rois = torch.tensor(rois, dtype=torch.float64)
    layer = ops.RoIAlign((3, 2), spatial_scale=0.9, sampling_ratio=sampling_ratio, aligned=aligned)
    assert gradcheck(lambda t: layer(t, rois), (x,), eps=1e-6, atol=1e-5)


def test_roi_align_max_pooling_says_what_to_change():
    x = torch.ones(1, 1, 4, 4)
    with pytest.raises(NotImplementedError, match="pool_mode='avg'"):
        ops.roi_align(x, torch.tensor([[0.0, 0, 0, 2, 2]]), (2, 2), 1.0, 2, "max", True)


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-3), (torch.float32, 1e-3)])
def test_deform_conv_matches_mmcvs_vectors(dtype, atol):
    batch = 10  # as mmcv's test: a batch of the same image, gradients of the shared weights divided back
    x = torch.tensor(np.repeat(DCN_INPUT, batch, axis=0), dtype=dtype, requires_grad=True)
    layer = ops.DeformConv2dPack(1, 1, kernel_size=2, stride=1, padding=0, im2col_step=2)
    layer.conv_offset.weight.data = torch.tensor(DCN_OFFSET_WEIGHT).reshape(8, 1, 2, 2)
    layer.conv_offset.bias.data = torch.tensor(DCN_OFFSET_BIAS)
    layer.weight.data = torch.tensor(DCN_WEIGHT).reshape(1, 1, 2, 2)
    layer.type(dtype)
    out = layer(x)
    out.backward(torch.ones_like(out))
    np.testing.assert_allclose(out.detach().numpy(), np.repeat(DCN_OUT, batch, axis=0), atol=atol)
    np.testing.assert_allclose(x.grad.numpy(), np.repeat(DCN_X_GRAD, batch, axis=0), atol=atol)
    np.testing.assert_allclose(layer.conv_offset.weight.grad.numpy() / batch, DCN_OFFSET_WEIGHT_GRAD, atol=atol)
    np.testing.assert_allclose(layer.conv_offset.bias.grad.numpy() / batch, DCN_OFFSET_BIAS_GRAD, atol=atol)
    np.testing.assert_allclose(layer.weight.grad.numpy() / batch, DCN_WEIGHT_GRAD, atol=atol)


@pytest.mark.parametrize(
    "stride, padding, dilation, groups, deform_groups",
    [(1, 1, 1, 1, 1), (2, 0, 1, 2, 1), (1, 2, 2, 1, 2)],
)
def test_deform_conv_gradcheck(stride, padding, dilation, groups, deform_groups):
    """Input, offset and weight gradients together (the backward's two mmcv calls share one torchvision one)."""
    gen = torch.Generator().manual_seed(1)
    c_in, c_out, k = 4, 2, 3
    x = torch.randn(2, c_in, 7, 6, dtype=torch.float64, generator=gen, requires_grad=True)
    out_h = (7 + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    out_w = (6 + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    # offsets away from integers: the bilinear sampling is not differentiable at grid points
    offset = torch.rand(2, 2 * deform_groups * k * k, out_h, out_w, dtype=torch.float64, generator=gen) * 0.8 + 0.1
    offset.requires_grad_(True)
    weight = torch.randn(c_out, c_in // groups, k, k, dtype=torch.float64, generator=gen, requires_grad=True)

    def conv(x, offset, weight):
        return ops.deform_conv2d(x, offset, weight, stride, padding, dilation, groups, deform_groups, False, 2)

    assert gradcheck(conv, (x, offset, weight), eps=1e-6, atol=1e-5)


def test_deform_conv_weight_gradient_alone():
    """Frozen input and offset: only backward_parameters runs, without a pending input pass to reuse."""
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64, generator=gen)
    offset = torch.rand(1, 18, 5, 5, dtype=torch.float64, generator=gen) * 0.8 + 0.1
    weight = torch.randn(3, 2, 3, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    assert gradcheck(lambda w: ops.deform_conv2d(x, offset, w, 1, 1, 1, 1, 1, False, 1), (weight,), eps=1e-6, atol=1e-5)


def test_an_op_podium_lacks_names_itself_and_its_mmcv_module():
    logits, targets = torch.zeros(2, 3), torch.zeros(2, dtype=torch.long)
    with pytest.raises(NotImplementedError, match=r"sigmoid_focal_loss_forward.*mmcv/ops/focal_loss\.py"):
        ops.sigmoid_focal_loss(logits, targets, 2.0, 0.25)


def test_every_process_of_the_environment_has_the_ops_without_importing_podium():
    """The set-up's .pth file: a plain `import mmcv.ops` in a new interpreter (a torchrun worker, mmdet's own
    tools) finds podium's module."""
    code = "import sys, mmcv.ops; print(sys.modules['mmcv._ext'].__spec__.origin)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "torchvision"


def test_the_environment_variable_can_point_at_a_compiled_build(tmp_path, monkeypatch):
    code = "import mmcv.ops"
    env = {"PODIUM_MMCV_EXT": str(tmp_path / "missing.so"), "PATH": "/usr/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode != 0 and "PODIUM_MMCV_EXT" in result.stderr and "missing.so" in result.stderr


def test_the_pth_line_is_what_write_pth_writes(tmp_path):
    path = mmcv_ext.write_pth(str(tmp_path))
    assert path.read_text() == mmcv_ext.PTH_LINE and path.name.endswith(".pth")
