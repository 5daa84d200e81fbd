"""Preview grids of originals beside their clones, as PNG images `dvc plots show` renders:
images with their boxes drawn, and log-mel spectrograms of clips."""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from podium.clips import read_clip  # noqa: E402

METADATA = {"Software": None}  # no matplotlib version in the file: reruns give the same bytes


def _draw(ax, path: Path, boxes: list, title: str) -> None:
    image = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    ax.imshow(image)
    for x, y, w, h in boxes:
        ax.add_patch(plt.Rectangle((x, y), w, h, fill=False, edgecolor="lime", linewidth=1))
    ax.set_title(title, fontsize=7)
    ax.axis("off")


def detection_grid(rows: list[tuple[dict, list[dict]]], originals: Path, clones: Path, out: Path) -> None:
    """One row per (original job, its clone records): the original, then each clone, boxes in green."""
    cols = 1 + max((len(c) for _, c in rows), default=0)
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.2 * cols, 2.3 * len(rows)), squeeze=False)
    for r, (job, kids) in enumerate(rows):
        _draw(axes[r][0], originals / job["file_name"], job["boxes"], f"{job['file_name']} ({len(job['boxes'])})")
        for c in range(1, cols):
            if c - 1 < len(kids):
                kid = kids[c - 1]
                _draw(axes[r][c], clones / kid["file_name"], kid["boxes"], f"{kid['policy']} ({len(kid['boxes'])})")
            else:
                axes[r][c].axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=80, metadata=METADATA)
    plt.close(fig)


def _logmel(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=audio, sr=sample_rate, n_fft=512, hop_length=160, n_mels=64)
    return librosa.power_to_db(mel, ref=1.0, top_db=80)


def audio_grid(rows: list[tuple[dict, list[dict]]], originals: Path, clones: Path, sample_rate: int, out: Path) -> None:
    """One row per (original row, its clone rows): log-mel spectrograms (64 mels, 10 ms hop), one colour scale."""
    cols = 1 + max((len(c) for _, c in rows), default=0)
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.4 * cols, 1.8 * len(rows)), squeeze=False)
    for r, (job, kids) in enumerate(rows):
        panels = [(originals / job["fname"], f"{job['fname']} ({job['label']})")]
        panels += [(clones / kid["fname"], kid["policy"]) for kid in kids]
        for c in range(cols):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(panels):
                path, title = panels[c]
                ax.imshow(
                    _logmel(read_clip(path, sample_rate), sample_rate),
                    origin="lower",
                    aspect="auto",
                    vmin=-80,
                    vmax=0,
                    cmap="magma",
                )
                ax.set_title(title, fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=80, metadata=METADATA)
    plt.close(fig)
