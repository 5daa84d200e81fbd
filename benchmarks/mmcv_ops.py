"""podium's torchvision-backed mmcv ops (podium.mmcv_ext) against a compiled mmcv 2.1.0 `_ext`, side by side in
one process: max abs difference of every output and gradient, and the time of each, on random inputs of the
sizes the detectors see (RPN NMS over a few thousand proposals, RoIAlign of 512 RoIs on a stride-8 map,
VFNet's 3x3 deformable conv on a 256-channel level).

    .venv/bin/python benchmarks/mmcv_ops.py --compiled PATH/TO/mmcv/_ext.cpython-311-x86_64-linux-gnu.so

A compiled `_ext` comes from a wheel built with MMCV_WITH_OPS=1 (unzip it to get the .so). Without one it
prints the torchvision-backed timings only.
"""

import argparse
import importlib.util
import time

import torch

from podium import mmcv_ext


def load_compiled(path: str):
    spec = importlib.util.spec_from_file_location("_ext", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn, repeat: int = 5) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def boxes(n: int, size: float, gen: torch.Generator) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=gen) * size * 0.8
    wh = torch.rand(n, 2, generator=gen) * size * 0.2 + 1
    return torch.cat([xy, xy + wh], dim=1)


def case_nms(ext, gen):
    b, s = boxes(4000, 512, gen), torch.rand(4000, generator=gen)
    return lambda: [ext.nms(b, s, iou_threshold=0.7, offset=0), ext.nms(b, s, iou_threshold=0.5, offset=1)]


def case_softnms(ext, gen):
    b, s = boxes(600, 512, gen), torch.rand(600, generator=gen)

    def run():
        out = []
        for method in (0, 1, 2):
            dets = b.new_empty((len(b), 5))
            inds = ext.softnms(b, s, dets, iou_threshold=0.3, sigma=0.5, min_score=0.05, method=method, offset=0)
            out += [inds, dets[: len(inds)]]
        return out

    return run


def case_roi_align(ext, gen):
    feats = torch.randn(2, 64, 64, 64, generator=gen)
    rois = torch.cat([torch.randint(0, 2, (512, 1), generator=gen).float(), boxes(512, 512, gen)], dim=1)
    grad = torch.randn(512, 64, 7, 7, generator=gen)
    kw = dict(aligned_height=7, aligned_width=7, spatial_scale=0.125, sampling_ratio=0, pool_mode=1, aligned=True)

    def run():
        out = feats.new_zeros(512, 64, 7, 7)
        empty = feats.new_zeros(0)
        ext.roi_align_forward(feats, rois, out, empty, empty, **kw)
        grad_in = torch.zeros_like(feats)
        ext.roi_align_backward(grad, rois, empty, empty, grad_in, **kw)
        return [out, grad_in]

    return run


def case_deform_conv(ext, gen):
    x = torch.randn(2, 64, 32, 32, generator=gen)
    w = torch.randn(64, 64, 3, 3, generator=gen) * 0.05
    off = torch.randn(2, 18, 32, 32, generator=gen) * 2
    grad = torch.randn(2, 64, 32, 32, generator=gen)
    kw = dict(kW=3, kH=3, dW=1, dH=1, padW=1, padH=1, dilationW=1, dilationH=1, group=1, deformable_group=1)

    def run():
        out = x.new_empty(2, 64, 32, 32)
        cols, ones = x.new_empty(0), x.new_empty(0)
        ext.deform_conv_forward(x, w, off, out, cols, ones, **kw, im2col_step=2)
        g_x, g_off, g_w = torch.zeros_like(x), torch.zeros_like(off), torch.zeros_like(w)
        ext.deform_conv_backward_input(x, off, grad, g_x, g_off, w, cols, **kw, im2col_step=2)
        ext.deform_conv_backward_parameters(x, off, grad, g_w, cols, ones, **kw, scale=1, im2col_step=2)
        return [out, g_x, g_off, g_w]

    return run


CASES = {
    "nms (4,000 boxes; offset 0 and 1)": (case_nms, ["keep@0.7", "keep@0.5,offset1"]),
    "softnms (600 boxes; naive, linear, gaussian)": (
        case_softnms,
        ["naive inds", "naive dets", "linear inds", "linear dets", "gaussian inds", "gaussian dets"],
    ),
    "roi_align (512 RoIs, 7x7, stride 8)": (case_roi_align, ["forward", "grad input"]),
    "deform_conv (64->64, 3x3, 32x32, batch 2)": (
        case_deform_conv,
        ["forward", "grad input", "grad offset", "grad weight"],
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compiled", help="a compiled mmcv 2.1.0 _ext*.so to compare with")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    compiled = load_compiled(args.compiled) if args.compiled else None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; compiled: {args.compiled or 'none'}")
    print(f"{'op':46} {'output':20} {'max |diff|':>12} {'torchvision s':>14} {'compiled s':>11} {'ratio':>6}")
    for title, (case, names) in CASES.items():
        ours = case(mmcv_ext, torch.Generator().manual_seed(0))
        t_ours = timed(ours)
        theirs = case(compiled, torch.Generator().manual_seed(0)) if compiled else None
        t_theirs = timed(theirs) if theirs else float("nan")
        a = ours()
        b = theirs() if theirs else [None] * len(a)
        for i, (name, x, y) in enumerate(zip(names, a, b, strict=True)):
            if y is None:
                diff = "-"
            elif x.dtype == torch.long:
                diff = "identical" if torch.equal(x, y) else f"differ ({(x != y).sum()} of {x.numel()})"
            else:
                diff = f"{(x - y).abs().max().item():.2e}" if x.shape == y.shape else f"shape {x.shape} vs {y.shape}"
            times = f"{t_ours:14.4f} {t_theirs:11.4f} {t_ours / t_theirs:6.2f}" if i == 0 else ""
            print(f"{title if i == 0 else '':46} {name:20} {diff:>12} {times}")


if __name__ == "__main__":
    main()
