"""Fixes for running mmengine 0.10.7 / mmdet 3.3.0 on torch 2.14 and numpy 2, each with a test in
tests/test_compat.py. `apply()` is idempotent; every podium module that drives mmengine calls it first.

1. torch >= 2.6 loads with `weights_only=True` by default, and mmengine's checkpoints hold a `HistoryBuffer`
   and numpy scalars (its message hub, best scores), so `resume` and `load_from` fail with "Unsupported
   global ... HistoryBuffer" (open-mmlab/mmengine#1655). numpy 2 pickles dtypes through `getattr`, so an
   allowlist of safe globals cannot cover them without allowing `getattr` itself. podium therefore restores
   mmengine's pre-2.6 behaviour for *local* files only (the checkpoints a user's own training wrote, or
   weights they put on disk), as upstream's fix does (open-mmlab/mmengine#1650). HTTP(S) checkpoints go
   through `torch.hub.load_state_dict_from_url`, unchanged.
"""

from __future__ import annotations

import os.path as osp

import torch

_applied = False


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's `load_from_local`, with torch < 2.6 semantics (`weights_only=False`)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f"{filename}: checkpoint not found; check load_from / the training output")
    return torch.load(filename, map_location=map_location, weights_only=False)


def apply() -> None:
    global _applied
    if _applied:
        return
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes="", force=True)(load_local_checkpoint)
    _applied = True
