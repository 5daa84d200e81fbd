"""Reading and shaping audio clips: the one place where a wav file becomes a (samples,) float32 array.

Contract: clips are mono float32 in [-1, 1] at the project's sample rate. Stereo is averaged to mono, other
rates are resampled (polyphase, scipy), and lengths are fitted to the target by stated rules: shorter clips
are zero-padded at the end, longer ones are cropped (centre crop by default, random crop in training).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from podium.errors import PodiumError


class AudioError(PodiumError, ValueError):
    """A clip that cannot be used; the message names the file and the fix."""


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of a (samples,) array; exact ratio, no drift."""
    if rate_in == rate_out:
        return audio
    ratio = Fraction(rate_out, rate_in)
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def load_clip(path: str | Path, sample_rate: int) -> tuple[np.ndarray, float]:
    """(mono float32 at `sample_rate`, the source's peak) of a wav/flac/ogg file, nothing clipped; raise
    AudioError on unusable audio. A float file may peak above full scale: the caller decides (`read_clip`
    refuses it, merge_external scales it down and reports it)."""
    path = Path(path)
    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)  # (samples, channels)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError, EOFError) as e:
        raise AudioError(f"{path}: unreadable audio ({e}); re-export it as 16-bit PCM wav or remove it") from e
    if audio.shape[0] == 0:
        raise AudioError(f"{path}: empty clip (0 samples); remove it or replace it with a real recording")
    if not np.isfinite(audio).all():
        raise AudioError(f"{path}: contains NaN or infinite samples; re-export it or remove it")
    peak = float(np.abs(audio).max())
    audio = resample(audio.mean(axis=1), rate, sample_rate)
    if peak <= 1.0:  # polyphase filtering can overshoot full scale by a hair on a full-scale input: only that
        audio = np.clip(audio, -1.0, 1.0)
    return audio, peak


def read_clip(path: str | Path, sample_rate: int) -> np.ndarray:
    """A clip as mono float32 in [-1, 1] at `sample_rate`; AudioError on unusable audio, and on a float file
    peaking above full scale (never silently clipped: merge_external scales such files and reports them)."""
    audio, peak = load_clip(path, sample_rate)
    if peak > 1.0:
        raise AudioError(
            f"{path}: peak {peak:.3f} exceeds full scale; scale it down (merge_external does, and "
            "reports it) or re-export it"
        )
    return audio


def scale_to_full_scale(audio: np.ndarray, peak: float = 0.999) -> np.ndarray:
    """`audio` scaled so that its largest magnitude is `peak` (the rule for clips over full scale: scaled, never
    clipped)."""
    return (audio * (peak / float(np.abs(audio).max()))).astype(np.float32)


def fit_length(audio: np.ndarray, length: int, offset: int | None = None) -> np.ndarray:
    """Zero-pad at the end or crop to `length` samples; `offset` picks the crop start (default: centre)."""
    if len(audio) < length:
        return np.pad(audio, (0, length - len(audio)))
    if offset is None:
        offset = (len(audio) - length) // 2
    if not 0 <= offset <= len(audio) - length:
        raise ValueError(f"crop offset {offset} outside 0..{len(audio) - length}")
    return audio[offset : offset + length]


def write_clip(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write mono 16-bit PCM. Peaks above full scale are an error, never silently clipped."""
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if peak > 1.0:
        raise AudioError(f"{path}: peak {peak:.3f} exceeds full scale; scale the clip down before writing")
    sf.write(path, audio, sample_rate, subtype="PCM_16")
