"""Audio features: clips/s of podium's batched torch log-mel and tri-mel against librosa computing the same
features one clip at a time (what a per-clip Dataset would do), in one run on this machine.

    .venv/bin/python benchmarks/audio_features.py [--clips 256] [--threads 2]
"""

import argparse
import time

import librosa
import numpy as np
import torch
from scipy.ndimage import zoom

from podium.audio.features import create_features

SR = 16000
KW = dict(
    sample_rate=SR,
    n_fft=512,
    hop=160,
    n_mels=64,
    fmin=20.0,
    fmax=4000.0,
    n_mfcc=40,
    trimel=[[256, 80], [512, 160], [1024, 320]],
)


def librosa_logmel(clip: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    mel = librosa.feature.melspectrogram(y=clip, sr=SR, n_fft=n_fft, hop_length=hop, n_mels=64, fmin=20.0, fmax=4000.0)
    return librosa.power_to_db(mel, top_db=80.0)


def librosa_trimel(clip: np.ndarray) -> np.ndarray:
    specs = [librosa_logmel(clip, n_fft, hop) for n_fft, hop in KW["trimel"]]
    frames = specs[1].shape[1]
    return np.stack([zoom(s, (1, frames / s.shape[1]), order=1) for s in specs])


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    clips = (rng.normal(size=(args.clips, SR)) * 0.1).astype(np.float32)
    batch = torch.from_numpy(clips)
    rows = []
    for kind, reference in (("logmel", lambda c: librosa_logmel(c, 512, 160)), ("trimel", librosa_trimel)):
        feats = create_features(kind, **KW)
        with torch.no_grad():
            ours = best_of(lambda f=feats: f(batch))
        reference(clips[0])  # warm-up: librosa builds and caches its filters on the first call
        theirs = best_of(lambda r=reference: [r(c) for c in clips], repeats=2)
        rows.append((kind, args.clips / ours, args.clips / theirs))
    print(f"{args.clips} clips of 1 s at {SR} Hz, {args.threads} torch threads, CPU")
    print(f"{'feature':8} {'podium batched (clips/s)':>26} {'librosa per clip (clips/s)':>28} {'ratio':>7}")
    for kind, ours, theirs in rows:
        print(f"{kind:8} {ours:26.0f} {theirs:28.0f} {ours / theirs:6.1f}x")


if __name__ == "__main__":
    main()
