"""Audio inference, the one path for every prediction podium makes: a fold's validation scores in training (each
epoch, no TTA) and OOF and test probabilities in predict_audio (with TTA). Same batching and autocast in both.

TTA: each clip is also scored time-shifted (zero-filled, not wrapped) and, optionally, polarity-inverted; the
views' probabilities are averaged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from podium.clips import fit_length, read_clip

NO_TTA = [(0, 1)]  # one view: no shift (samples), polarity kept


class ClipDataset(Dataset):
    """(waveform (samples,), class index) pairs read on demand, centre-fitted to `length` samples."""

    def __init__(self, paths: list[Path], targets: list[int], sample_rate: int, length: int):
        self.paths, self.targets, self.sample_rate, self.length = paths, targets, sample_rate, length

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(fit_length(read_clip(self.paths[i], self.sample_rate), self.length)), self.targets[i]


def shift(wave: torch.Tensor, samples: int) -> torch.Tensor:
    """(B, T) waves moved `samples` later (negative: earlier), the gap zero-filled."""
    if samples == 0:
        return wave
    out = torch.zeros_like(wave)
    if samples > 0:
        out[:, samples:] = wave[:, :-samples]
    else:
        out[:, :samples] = wave[:, -samples:]
    return out


def tta_views(shifts: list[float], polarity: bool, sample_rate: int) -> list[tuple[int, int]]:
    """(shift in samples, sign) per view: every shift (seconds), and with `polarity` each one inverted too."""
    return [(round(s * sample_rate), sign) for s in shifts for sign in ((1, -1) if polarity else (1,))]


@torch.no_grad()
def predict_proba(
    model: torch.nn.Module,
    loader: DataLoader,
    device: torch.device,
    views: list[tuple[int, int]],
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """(N, classes) softmax probabilities in loader order, averaged over `views` (see `tta_views`); bf16
    autocast on CUDA."""
    model.eval().to(device)
    out = []
    for wave, _ in loader:
        wave = wave.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            proba = sum(model(shift(wave, n) * sign).float().softmax(dim=1) for n, sign in views) / len(views)
        out.append(proba.float().cpu())
        if progress:
            progress(len(wave))
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def clip_loader(dataset: ClipDataset, *, batch_size: int, num_workers: int) -> DataLoader:
    """Batches of `dataset` in order, as every prediction reads them."""
    return DataLoader(dataset, batch_size, shuffle=False, num_workers=num_workers)
