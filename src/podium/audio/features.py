"""Spectrogram features in torch, batched, on whatever device the clips are on.

Input: (B, samples) float32 waveforms at `sample_rate`. Output: (B, C, n_mels or n_mfcc, frames) float32,
where C = 1 for `logmel` and `mfcc`, and 3 for `trimel` (three mel spectrograms with different window and
hop lengths, resized to one shape and stacked like an image's RGB channels).

The mel filterbank is librosa's (Slaney mel scale and area normalisation), and the STFT pads like
librosa >= 0.10 (`center=True`, zero padding), so `logmel` matches `librosa.power_to_db(
librosa.feature.melspectrogram(...))` within float32 precision (tests/audio/test_features.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa's htk=False)."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log_part = hz >= 1000.0
    return np.where(log_part, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, Slaney-normalised (constant energy per band)."""
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(
            f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={fmin}, fmax={fmax}, sample_rate={sample_rate}"
        )
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mel_freqs = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(mel_freqs)
    ramps = mel_freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_freqs[2:] - mel_freqs[:-2]))[:, None]
    return weights.astype(np.float32)


class LogMel(nn.Module):
    """(B, samples) -> (B, 1, n_mels, frames) log-mel power in dB (librosa's power_to_db, ref=1)."""

    def __init__(
        self, sample_rate: int, n_fft: int, hop: int, n_mels: int, fmin: float, fmax: float, top_db: float | None = 80.0
    ):
        super().__init__()
        self.n_fft, self.hop, self.top_db = n_fft, hop, top_db
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)
        self.register_buffer(
            "filters", torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax)), persistent=False
        )

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(
            wave, self.n_fft, self.hop, window=self.window, center=True, pad_mode="constant", return_complex=True
        )  # (B, n_fft//2+1, frames)
        mel = self.filters @ spec.abs().pow(2)  # (B, n_mels, frames)
        db = 10.0 * torch.log10(mel.clamp_min(1e-10))
        if self.top_db is not None:
            db = torch.maximum(db, db.amax(dim=(1, 2), keepdim=True) - self.top_db)
        return db.unsqueeze(1)


class MFCC(nn.Module):
    """(B, samples) -> (B, 1, n_mfcc, frames): orthonormal DCT-II of the log-mel (librosa.feature.mfcc)."""

    def __init__(self, n_mfcc: int, **logmel_kw):
        super().__init__()
        self.logmel = LogMel(**logmel_kw)
        n_mels = self.logmel.filters.shape[0]
        if n_mfcc > n_mels:
            raise ValueError(f"n_mfcc ({n_mfcc}) cannot exceed n_mels ({n_mels})")
        k = torch.arange(n_mfcc, dtype=torch.float64)[:, None]
        n = torch.arange(n_mels, dtype=torch.float64)[None, :]
        dct = torch.cos(math.pi / n_mels * (n + 0.5) * k) * math.sqrt(2.0 / n_mels)
        dct[0] /= math.sqrt(2.0)
        self.register_buffer("dct", dct.float(), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.dct @ self.logmel(wave)


class TriMel(nn.Module):
    """(B, samples) -> (B, 3, n_mels, frames): three log-mels with different (n_fft, hop), each resized
    (bilinear) to the frame count of the middle one and stacked as channels."""

    def __init__(self, windows: list[list[int]], sample_rate: int, n_mels: int, fmin: float, fmax: float):
        super().__init__()
        if len(windows) != 3:
            raise ValueError(f"trimel needs exactly 3 (n_fft, hop) pairs, got {windows}")
        self.mels = nn.ModuleList(LogMel(sample_rate, n_fft, hop, n_mels, fmin, fmax) for n_fft, hop in windows)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        specs = [m(wave) for m in self.mels]
        size = specs[1].shape[-2:]
        return torch.cat([F.interpolate(s, size=size, mode="bilinear", align_corners=False) for s in specs], 1)


FEATURES: dict[str, Callable[..., nn.Module]] = {
    "logmel": lambda sample_rate, n_fft, hop, n_mels, fmin, fmax, **_: LogMel(
        sample_rate, n_fft, hop, n_mels, fmin, fmax
    ),
    "mfcc": lambda sample_rate, n_fft, hop, n_mels, fmin, fmax, n_mfcc, **_: MFCC(
        n_mfcc, sample_rate=sample_rate, n_fft=n_fft, hop=hop, n_mels=n_mels, fmin=fmin, fmax=fmax
    ),
    "trimel": lambda sample_rate, n_mels, fmin, fmax, trimel, **_: TriMel(trimel, sample_rate, n_mels, fmin, fmax),
}
CHANNELS = {"logmel": 1, "mfcc": 1, "trimel": 3}


def create_features(kind: str, **kw) -> nn.Module:
    """A feature module by name: logmel, mfcc or trimel (see FEATURES for the arguments each takes)."""
    if kind not in FEATURES:
        raise ValueError(f"unknown audio feature {kind!r}; valid kinds are {sorted(FEATURES)}")
    return FEATURES[kind](**kw)
