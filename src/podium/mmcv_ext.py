"""mmcv 2.1.0's compiled ops (`mmcv._ext`) on torchvision's kernels, so mmcv installs as pure Python.

mmcv 2.1.0 ships only as source, its CUDA build fails on recent torch/CUDA (open-mmlab/mmcv#3308, #3329), and
`import mmcv.ops` loads the compiled `mmcv._ext` at import time. The three detectors podium trains call four
of its ops: `nms` (every detector), `roi_align` (Faster/Cascade R-CNN), `deform_conv` (VFNet's head) and,
when a config asks for it, `softnms`. torchvision, which podium pins, ships compiled CPU and CUDA kernels
(with backward) for the first three; mmcv's own `batched_nms` is adapted from torchvision's and its C++
`roi_align` and deformable im2col are the same algorithms (detectron2's ROIAlign, the original DCN), so
outputs agree to float rounding (tests/test_mmcv_ext.py: mmcv's published op-test vectors, gradient checks,
and a note's comparison against a compiled build). `softnms` is mmcv's CPU algorithm in torch.

`install()` puts an import finder at the end of `sys.meta_path`: when `mmcv.ops` imports `mmcv._ext` and no
compiled module exists (a compiled build is found first and wins), the finder builds the module below.
The set-up writes a `.pth` file that calls `install()` in every Python process of the environment (stages,
torchrun workers, tests, mmdet's own tools), see `write_pth`; podium's detection package calls it too.
`PODIUM_MMCV_EXT` overrides the choice: `torchvision` forces these kernels even next to a compiled build,
a path to a compiled `_ext*.so` loads that file (how the note compared the two on one install).

Every other name mmcv asks for exists and raises, when called, an error naming the op and the mmcv module
that needs it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
from pathlib import Path

MODULE = "mmcv._ext"
ENV = "PODIUM_MMCV_EXT"
PTH_NAME = "podium-mmcv-ext.pth"
# The line the .pth runs at every interpreter start: cheap (no torch), silent if podium is uninstalled.
PTH_LINE = "import importlib.util as _u; _u.find_spec('podium') and __import__('podium.mmcv_ext').mmcv_ext.install()\n"
PROVIDED = (
    "nms",
    "softnms",
    "roi_align_forward",
    "roi_align_backward",
    "deform_conv_forward",
    "deform_conv_backward_input",
    "deform_conv_backward_parameters",
    "get_compiler_version",
    "get_compiling_cuda_version",
)


def _torchvision():
    """torchvision's op namespace (importing torchvision registers its kernels with torch)."""
    import torch
    import torchvision  # noqa: F401

    return torch.ops.torchvision


# ---------------------------------------------------------------------------------------------------------------
# The ops: mmcv's `_ext` signatures (mmcv/ops/{nms,roi_align,deform_conv}.py pass these names), outputs written
# into the tensors mmcv allocates, as the compiled functions do.


def nms(boxes, scores, iou_threshold: float, offset: int = 0):
    """Indices kept, in descending score order. `offset=1` (mmcv's legacy pixel convention: widths are
    x2 - x1 + 1) is the same IoU on boxes whose x2, y2 grow by 1."""
    import torch

    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    if offset:
        boxes = torch.cat([boxes[:, :2], boxes[:, 2:4] + offset], dim=1)
    return _torchvision().nms(boxes.contiguous(), scores.contiguous(), float(iou_threshold))


def softnms(boxes, scores, dets, iou_threshold: float, sigma: float, min_score: float, method: int, offset: int):
    """mmcv's CPU soft-NMS (ops/csrc/pytorch/cpu/nms.cpp, `softnms_cpu`) step for step in float32: pick the
    highest remaining score (first one on ties), decay the rest (0 naive, 1 linear, 2 gaussian), drop those
    under `min_score` by swapping the last box in. Writes the kept boxes and scores into `dets`, returns
    their original indices."""
    import numpy as np
    import torch

    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long)
    b = boxes.detach().cpu().to(torch.float32).numpy()
    x1, y1, x2, y2 = (b[:, k].copy() for k in range(4))
    sc = scores.detach().cpu().to(torch.float32).numpy().copy()
    off = np.float32(offset)
    areas = (x2 - x1 + off) * (y2 - y1 + off)
    inds = np.arange(len(sc), dtype=np.int64)
    cols = [x1, y1, x2, y2, sc, areas, inds]
    out = np.zeros((len(sc), 5), dtype=np.float32)
    n = len(sc)
    thr, sig = np.float32(iou_threshold), np.float32(sigma)
    for i in range(n):
        if i >= n:
            break
        top = i + int(np.argmax(sc[i:n]))  # the first maximum, as the C++ strict `<` scan picks
        for col in cols:
            col[i], col[top] = col[top], col[i]
        out[i] = (x1[i], y1[i], x2[i], y2[i], sc[i])
        rest = slice(i + 1, n)
        w = np.maximum(np.float32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + off)
        h = np.maximum(np.float32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + off)
        inter = w * h
        ovr = inter / (areas[i] + areas[rest] - inter)
        if method == 0:
            weight = np.where(ovr >= thr, np.float32(0), np.float32(1))
        elif method == 1:
            weight = np.where(ovr >= thr, np.float32(1) - ovr, np.float32(1))
        else:
            weight = np.exp(-(ovr * ovr) / sig).astype(np.float32)
        sc[rest] *= weight
        n = _drop_below(cols, i + 1, n, sc, np.float32(min_score))
    dets[:n].copy_(torch.from_numpy(out[:n]))
    return torch.from_numpy(inds[:n].copy())


def _drop_below(cols, start: int, end: int, sc, min_score) -> int:
    """The C++ loop's removal: scanning from `start`, a box under `min_score` is replaced by the last box of
    the range (whose own score is then checked), and the range shrinks. Returns the new end."""
    pos = start
    while pos < end:
        if sc[pos] < min_score:
            end -= 1
            for col in cols:
                col[pos] = col[end]
        else:
            pos += 1
    return end


def _no_pool_max(pool_mode: int) -> None:
    if pool_mode == 0:
        raise NotImplementedError(
            "mmcv RoIAlign with pool_mode='max' has no torchvision kernel (torchvision's roi_align averages): "
            "set pool_mode='avg' in the roi_layer of your config, as mmdet's configs do"
        )


def roi_align_forward(
    input, rois, output, argmax_y, argmax_x, aligned_height, aligned_width, spatial_scale, sampling_ratio, pool_mode,
    aligned,
):  # fmt: skip

    _no_pool_max(pool_mode)
    pooled = _torchvision().roi_align(
        input, rois.to(input.dtype), float(spatial_scale), aligned_height, aligned_width, sampling_ratio, aligned
    )
    output.copy_(pooled)


def roi_align_backward(
    grad_output, rois, argmax_y, argmax_x, grad_input, aligned_height, aligned_width, spatial_scale, sampling_ratio,
    pool_mode, aligned,
):  # fmt: skip

    _no_pool_max(pool_mode)
    n, c, h, w = grad_input.shape
    grad = _torchvision()._roi_align_backward(
        grad_output, rois.to(grad_output.dtype), float(spatial_scale), aligned_height, aligned_width, n, c, h, w,
        sampling_ratio, aligned,
    )  # fmt: skip
    grad_input.add_(grad.to(grad_input.dtype))


def _deform_args(input, weight, offset, kW, kH, dW, dH, padW, padH, dilationW, dilationH, group, deformable_group):
    """torchvision's deform_conv2d arguments for mmcv's: no bias (mmcv's DeformConv2d has none) and no mask
    (DCNv1; torchvision wants a (N, 1) zeros mask then, not an empty one)."""
    import torch

    mask = torch.zeros((input.shape[0], 1), dtype=input.dtype, device=input.device)
    bias = torch.zeros(weight.shape[0], dtype=input.dtype, device=input.device)
    assert weight.shape[2:] == (kH, kW), f"deform_conv: weight {tuple(weight.shape)} is not a {kH}x{kW} kernel"
    return (input, weight, offset, mask, bias, dH, dW, padH, padW, dilationH, dilationW, group, deformable_group, False)


def deform_conv_forward(
    input, weight, offset, output, columns, ones, kW, kH, dW, dH, padW, padH, dilationW, dilationH, group,
    deformable_group, im2col_step,
):  # fmt: skip

    sizes = (kW, kH, dW, dH, padW, padH, dilationW, dilationH, group, deformable_group)
    output.copy_(_torchvision().deform_conv2d(*_deform_args(input, weight, offset, *sizes)))


# torchvision computes the gradients of input, offset and weight in one call; mmcv asks for them in two
# (input+offset, then weight), one after the other in the same backward: the second reuses the first's. The
# pending entry holds the very tensors it was computed from (so their memory cannot be reused by others) and
# is matched by identity.
_pending_weight_grad: tuple | None = None


def _same_call(pending, tensors, sizes) -> bool:
    return pending is not None and pending[1] == sizes and all(a is b for a, b in zip(pending[0], tensors, strict=True))


def deform_conv_backward_input(
    input, offset, gradOutput, gradInput, gradOffset, weight, columns, kW, kH, dW, dH, padW, padH, dilationW,
    dilationH, group, deformable_group, im2col_step,
):  # fmt: skip

    global _pending_weight_grad
    sizes = (kW, kH, dW, dH, padW, padH, dilationW, dilationH, group, deformable_group)
    args = _deform_args(input, weight, offset, *sizes)
    g_input, g_weight, g_offset, _, _ = _torchvision()._deform_conv2d_backward(gradOutput, *args)
    gradInput.add_(g_input)
    gradOffset.add_(g_offset)
    _pending_weight_grad = ((input, offset, gradOutput), sizes + tuple(weight.shape), g_weight)


def deform_conv_backward_parameters(
    input, offset, gradOutput, gradWeight, columns, ones, kW, kH, dW, dH, padW, padH, dilationW, dilationH, group,
    deformable_group, scale, im2col_step,
):  # fmt: skip

    global _pending_weight_grad
    sizes = (kW, kH, dW, dH, padW, padH, dilationW, dilationH, group, deformable_group)
    pending, _pending_weight_grad = _pending_weight_grad, None
    if _same_call(pending, (input, offset, gradOutput), sizes + tuple(gradWeight.shape)):
        g_weight = pending[2]
    else:
        args = _deform_args(input, gradWeight, offset, *sizes)  # only its shape matters for this gradient
        g_weight = _torchvision()._deform_conv2d_backward(gradOutput, *args)[1]
    gradWeight.add_(g_weight, alpha=float(scale))


def get_compiler_version() -> str:
    """What mmcv's environment report (mmcv.utils.collect_env, mmdet's tools) prints as "MMCV Compiler"."""
    return "none: ops on torchvision's kernels (podium.mmcv_ext)"


def get_compiling_cuda_version() -> str:
    import torchvision

    return f"torchvision {torchvision.__version__}, CUDA {torchvision.version.cuda or 'not built'}"


def _missing(name: str):
    def op(*args, **kwargs):
        caller = sys._getframe(1).f_code.co_filename
        where = f"mmcv/ops/{Path(caller).name}" if "mmcv" in caller else "mmcv.ops"
        raise NotImplementedError(
            f"mmcv op '{name}' (used by {where}) is not available: podium installs mmcv without compiled ops "
            f"and provides only {', '.join(PROVIDED)} on torchvision's kernels (what VFNet, Cascade R-CNN and "
            f"Faster R-CNN use). The model in your config needs '{name}': pick a layer without it, or build mmcv "
            f"with ops yourself and set {ENV}=<path to its _ext .so> (README, 'On a GPU server')"
        )

    op.__name__ = name
    return op


def _ext_getattr(name: str):
    """`mmcv._ext`'s module __getattr__: any other op name  mmcv's ext_loader asks for exists and raises when
    called. Dunder names stay missing (mmengine's registry inspects modules for `__file__` and the like)."""
    if name.startswith("__"):
        raise AttributeError(name)
    return _missing(name)


# ---------------------------------------------------------------------------------------------------------------
# Making it `mmcv._ext`.


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        ops = globals()
        for name in PROVIDED:
            setattr(module, name, ops[name])
        module.__getattr__ = _ext_getattr
        module.__doc__ = f"mmcv's compiled ops on torchvision's kernels ({__name__})"


class _Finder(importlib.abc.MetaPathFinder):
    """Answers for `mmcv._ext` only; at the end of sys.meta_path unless forced, so a compiled build wins."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != MODULE:
            return None
        choice = os.environ.get(ENV, "")
        if choice and choice != "torchvision":
            if not Path(choice).is_file():
                raise ImportError(f"{ENV}={choice}: no such file; point it at a compiled mmcv _ext*.so or unset it")
            return importlib.util.spec_from_file_location(MODULE, choice)
        return importlib.machinery.ModuleSpec(MODULE, _Loader(), origin="torchvision")


def install() -> None:
    """Idempotent; cheap (imports nothing heavy). Forced to the front when PODIUM_MMCV_EXT is set."""
    if any(isinstance(f, _Finder) for f in sys.meta_path):
        return
    if os.environ.get(ENV):
        sys.meta_path.insert(0, _Finder())
    else:
        sys.meta_path.append(_Finder())


def source() -> str:
    """Where `mmcv._ext` comes from in this process: 'torchvision', or the compiled file's path."""
    import mmcv.ops  # noqa: F401  (imports mmcv._ext)

    module = sys.modules[MODULE]
    return "torchvision" if isinstance(module.__spec__.loader, _Loader) else str(module.__file__)


def write_pth(site_packages: str | None = None) -> Path:
    """Write the .pth file that installs the finder in every process of this environment."""
    folder = Path(site_packages or sysconfig.get_paths()["purelib"])
    path = folder / PTH_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(PTH_LINE)
    tmp.replace(path)
    return path
