"""Where and how a stage computes: one rule for every stage's `device` knob (auto | cpu | cuda), and the
numeric environment (`numerics.mode`) pinned before torch computes anything.

Why `exact` (measured, docs/reproducibility.md): torch on CPU picks its kernels by the CPU's widest vector ISA
and splits reductions by its thread count, so the same training gives other weights on an AVX-512 machine than
on an AVX2 one, and other weights at 1 thread than at 2. Three libraries choose a kernel by ISA, each with its
own switch, all read lazily at first use (so setting them after `import torch`, before the first op, holds):
ATen's vectorised ops (`ATEN_CPU_CAPABILITY`), oneDNN's convolutions (`ONEDNN_MAX_CPU_ISA`) and MKL's GEMM
(`MKL_CBWR`, conditional numerical reproducibility). `exact` caps all three at AVX2, which every x86-64 CPU
sold since about 2015 has, and fixes torch's intra-op threads to `numerics.threads` whatever the machine's core
count. On CUDA it also asks for deterministic algorithms (cuDNN, cuBLAS's workspace).
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

from podium.errors import PodiumError
from podium.files import read_json

# exact on x86-64: every ISA-dispatching library capped at AVX2
EXACT_CPU_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's own kernels: reductions, elementwise ops, batch norm, softmax
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN: convolutions (https://uxlfoundation.github.io/oneDNN/dev_guide_cpu_dispatcher_control.html)
    "MKL_CBWR": "AVX2",  # MKL's GEMM (linear layers); measured to matter at 2 threads
}
# cuBLAS is deterministic with a fixed workspace (https://docs.nvidia.com/cuda/cublas/#results-reproducibility)
CUBLAS_WORKSPACE = ":4096:8"


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

    if device == "cuda" and not torch.cuda.is_available():
        raise PodiumError("device is cuda but no CUDA device is visible; set the stage's device to auto or cpu")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and dist.is_initialized():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device(device)


def pin_numerics(numerics) -> None:
    """Pin this process's numeric environment for `numerics` (params' `numerics` section: mode, threads).
    Call it before torch computes anything (importing torch is fine): the environment it sets is inherited by
    torchrun workers and DataLoader workers. In exact mode, a CPU without AVX2, or a torch that has already
    chosen its kernels, is an error rather than a result that silently differs."""
    exact = numerics.mode == "exact"
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    if exact:
        if x86:
            os.environ.update(EXACT_CPU_ENV)
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(numerics.threads)
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
    import torch

    if not exact:
        return
    torch.set_num_threads(numerics.threads)
    # warn_only: a few CUDA ops (e.g. RoIAlign's backward) have no deterministic kernel; they warn, not fail
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    capability = torch.backends.cpu.get_cpu_capability()
    if x86 and capability != "AVX2":
        if not torch.cpu._is_avx2_supported():
            raise PodiumError(
                "numerics.mode is exact, which computes with AVX2, and this CPU has no AVX2; its results would "
                "differ from every AVX2 machine's. Set numerics.mode: fast (podium doctor says what then differs)"
            )
        raise PodiumError(
            f"numerics.mode is exact but torch already chose its {capability} kernels before podium could pin "
            "them: the stage ran a torch operation before devices.pin_numerics (a bug in the stage script)"
        )


def _library_versions(config: str) -> dict:
    """oneDNN's and MKL's versions from torch's build description (`torch.__config__.show()`)."""
    onednn = re.search(r"MKL-DNN v([\w.]+)", config)
    mkl = re.search(r"Math Kernel Library Version ([\w.]+)", config)
    return {"onednn": onednn.group(1) if onednn else None, "mkl": mkl.group(1) if mkl else None}


def numeric_environment(numerics, device) -> dict:
    """What this process computes with, as recorded beside each trained fold and prediction (numerics.json):
    in exact mode everything in it is the same on every machine that reproduces the result (no CPU model, no
    core count); in fast mode it says which kernels and threads this machine used. `device`: a torch.device."""
    import torch

    env = {
        "mode": numerics.mode,
        "arch": platform.machine().lower(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "default"),
        "mkl_cbwr": os.environ.get("MKL_CBWR", "default"),
        "threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
        **_library_versions(torch.__config__.show()),
        "device": device.type,
    }
    if device.type == "cuda":
        env.update(
            gpu=torch.cuda.get_device_name(device),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            deterministic=torch.are_deterministic_algorithms_enabled(),
        )
    return env


def recorded_numerics(folders: list[Path]) -> list[dict]:
    """The distinct numeric environments recorded in `folders` (each a trained fold or a fold's predictions,
    holding numerics.json), in first-seen order: one entry when one machine and mode made them all."""
    seen: list[dict] = []
    for folder in folders:
        env = read_json(folder / "numerics.json")
        if env not in seen:
            seen.append(env)
    return seen


# what must agree for a result to reproduce, and why it matters
_MUST_AGREE = {
    "arch": "another CPU architecture runs other kernels",
    "cpu_capability": "ATen's vector kernels differ",
    "onednn_max_isa": "oneDNN's convolution kernels differ",
    "mkl_cbwr": "MKL's GEMM kernels differ",
    "threads": "reductions are split by thread count",
    "torch": "another torch build has other kernels",
    "onednn": "another oneDNN has other kernels",
    "mkl": "another MKL has other kernels",
    "device": "CPU and GPU kernels differ",
    "gpu": "another GPU model runs other kernels",
    "cuda": "another CUDA runs other kernels",
    "cudnn": "another cuDNN runs other kernels",
}


def reproduction_problems(recorded: dict, here: dict) -> list[str]:
    """Why a result recorded with the numeric environment `recorded` would not come out byte-identical in the
    environment `here` (both from `numeric_environment`); empty when it would."""
    if recorded.get("mode") == "fast":
        return [
            "made in numerics.mode fast: its bytes depend on that machine's kernels and thread count, so only a "
            "machine with the same CPU ISA and cores reproduces it (rerun it in exact mode to make it portable)"
        ]
    problems = []
    if here.get("mode") != recorded.get("mode"):
        problems.append(f"mode: params say {here.get('mode')}, the result was made in {recorded.get('mode')}")
    for key, why in _MUST_AGREE.items():
        if key in recorded and here.get(key) != recorded[key]:
            problems.append(f"{key}: {recorded[key]} there, {here.get(key, 'none')} here ({why})")
    return problems
