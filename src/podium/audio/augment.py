"""Online audio augmentation on batches, on whatever device they live (CPU or GPU).

Waveform level, (B, samples): random time shift (zero-filled, not wrapped) and random gain.
Spectrogram level, (B, C, F, T): SpecAugment time and frequency masks (set to 0, the standardised mean).
Label level: mixup of pairs within the batch.
"""

from __future__ import annotations

import torch


def time_shift(wave: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each clip by a random number of samples in [-max_shift, max_shift], zero-filling the gap."""
    if max_shift <= 0:
        return wave
    length = wave.shape[-1]
    shifts = torch.randint(-max_shift, max_shift + 1, (wave.shape[0],), generator=generator).to(wave.device)
    index = torch.arange(length, device=wave.device)[None, :] - shifts[:, None]  # source sample per output
    valid = (index >= 0) & (index < length)
    return torch.where(valid, wave.gather(1, index.clamp(0, length - 1)), torch.zeros_like(wave))


def random_gain(wave: torch.Tensor, max_db: float, generator: torch.Generator) -> torch.Tensor:
    if max_db <= 0:
        return wave
    db = (torch.rand(wave.shape[0], 1, generator=generator) * 2 - 1) * max_db
    return wave * (10 ** (db / 20)).to(wave.device)


def spec_augment(
    spec: torch.Tensor, time_masks: int, time_width: int, freq_masks: int, freq_width: int, generator: torch.Generator
) -> torch.Tensor:
    """Zero `time_masks` bands of up to `time_width` frames and `freq_masks` of up to `freq_width` bins."""
    b, _, n_freq, n_time = spec.shape
    keep = torch.ones(b, 1, n_freq, n_time, dtype=torch.bool)
    for count, width, size, axis in ((time_masks, time_width, n_time, 3), (freq_masks, freq_width, n_freq, 2)):
        for _ in range(count):
            w = torch.randint(0, width + 1, (b,), generator=generator)
            start = (torch.rand(b, generator=generator) * (size - w + 1).clamp_min(1)).long()
            pos = torch.arange(size)[None, :]
            band = (pos >= start[:, None]) & (pos < (start + w)[:, None])  # (B, size)
            keep &= ~(band[:, None, None, :] if axis == 3 else band[:, None, :, None])
    return spec * keep.to(spec.device)


def mixup(wave: torch.Tensor, alpha: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(mixed batch, partner index, lambda): loss = lam * loss(y) + (1 - lam) * loss(y[partner])."""
    if alpha <= 0:
        return wave, torch.arange(wave.shape[0], device=wave.device), 1.0
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    partner = torch.randperm(wave.shape[0], generator=generator).to(wave.device)
    return lam * wave + (1 - lam) * wave[partner], partner, lam
