"""Fixes for running mmengine 0.10.7 / mmdet 3.3.0 on torch 2.14 and numpy 2, each with a test in
tests/test_compat.py. `apply()` is idempotent; every podium module that drives mmengine calls it first.
(mmcv without compiled ops is podium.mmcv_ext, installed when this module loads.)

1. torch >= 2.6 loads with `weights_only=True` by default, and mmengine's checkpoints hold a `HistoryBuffer`
   and numpy scalars (its message hub, best scores), so `resume` and `load_from` fail with "Unsupported
   global ... HistoryBuffer" (open-mmlab/mmengine#1655). numpy 2 pickles dtypes through `getattr`, so an
   allowlist of safe globals cannot cover them without allowing `getattr` itself. podium therefore restores
   mmengine's pre-2.6 behaviour only for files podium trusts: the resumable checkpoints its own training
   wrote into a work folder (`trust`), as upstream's fix does (open-mmlab/mmengine#1650), and a `load_from`
   file the user opted in for (`train_detector.load_from_full_pickle`). Every other checkpoint mmengine loads,
   local or HTTP(S), is loaded weights-only (podium.weights): a pickle that would run code is refused.
"""

from __future__ import annotations

from pathlib import Path

import torch

from podium import mmcv_ext
from podium.weights import load_weights

mmcv_ext.install()  # mmcv's compiled ops on torchvision's kernels (podium/detection/__init__ does it first)

_applied = False
_trusted: set[Path] = set()


def trust(path: str | Path) -> None:
    """Allow full pickle for checkpoints at `path` (a file) or under it (a folder): what podium's own training
    wrote there, or a file the user opted in for."""
    _trusted.add(Path(path).expanduser().resolve())


def _is_trusted(path: Path) -> bool:
    return any(path == t or t in path.parents for t in _trusted)


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's `load_from_local`: full pickle (torch < 2.6 semantics) for trusted files, weights-only
    for any other."""
    path = Path(filename).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{filename}: checkpoint not found; check load_from / the training output")
    if _is_trusted(path):
        return torch.load(path, map_location=map_location, weights_only=False)
    return load_weights(str(path), "train_detector.load_from")


def load_url_checkpoint(url: str, map_location=None):
    """mmengine's `load_from_http`, weights-only (torch.hub's default would unpickle anything)."""
    return load_weights(url, "train_detector.load_from")


def apply() -> None:
    global _applied
    if _applied:
        return
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes="", force=True)(load_local_checkpoint)
    CheckpointLoader.register_scheme(prefixes=("http://", "https://"), force=True)(load_url_checkpoint)
    _applied = True
