"""Audio inference with test-time augmentation: each clip is also scored time-shifted (zero-filled, not
wrapped) and, optionally, polarity-inverted; the views' probabilities are averaged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from podium.audio.clips import fit_length, read_clip


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


@torch.no_grad()
def predict_clips(model: torch.nn.Module, paths: list[Path], sample_rate: int, clip_samples: int,
                  shifts: list[float], polarity: bool, batch_size: int, device: torch.device,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
    """(N, classes) probabilities, averaged over every shift (seconds) and, with `polarity`, its inversion."""
    model.eval().to(device)
    views = [(round(s * sample_rate), sign) for s in shifts for sign in ((1, -1) if polarity else (1,))]
    out = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        wave = torch.from_numpy(np.stack([fit_length(read_clip(p, sample_rate), clip_samples) for p in chunk]))
        wave = wave.to(device)
        proba = sum(model(shift(wave, n) * sign).float().softmax(dim=1) for n, sign in views) / len(views)
        out.append(proba.cpu().numpy())
        if progress:
            progress(len(chunk))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
