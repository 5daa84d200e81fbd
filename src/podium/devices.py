"""Where a stage computes: one rule for every stage's `device` knob (auto | cpu | cuda)."""

from __future__ import annotations

import os


def hide_gpus_for_cpu(device: str) -> None:
    """With `device: cpu`, hide every GPU from this process before torch starts (mmengine puts the model on any
    visible GPU by itself)."""
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def pick_device(device: str):
    """The torch device for a `device` knob: auto takes CUDA when visible; under torchrun each process takes
    its LOCAL_RANK's GPU. `cuda` without a visible GPU is an error, not a silent CPU run."""
    import torch
    import torch.distributed as dist

    from podium.errors import PodiumError

    if device == "cuda" and not torch.cuda.is_available():
        raise PodiumError("device is cuda but no CUDA device is visible; set the stage's device to auto or cpu")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and dist.is_initialized():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device(device)
