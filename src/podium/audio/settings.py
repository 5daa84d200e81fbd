"""The audio side's params sections, as plain dataclasses (no torch import: params.py loads them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class AudioFeatureConfig:
    kind: Literal["logmel", "mfcc", "trimel"]
    n_fft: int  # samples
    hop: int  # samples between frames
    n_mels: int
    fmin: float  # Hz
    fmax: float  # Hz
    n_mfcc: int  # used by kind: mfcc
    trimel: list[list[int]]  # three [n_fft, hop] pairs, used by kind: trimel


@dataclass(frozen=True)
class AudioTrainConfig:
    models: list[str]  # expanded by dvc.yaml's matrix: one training stage per (model, fold)
    epochs: int
    batch_size: int
    optimizer: Literal["adamw", "sgd"]
    lr: float  # peak learning rate
    weight_decay: float
    schedule: Literal["onecycle", "cosine", "plateau"]
    patience: int  # epochs without a better validation accuracy before stopping
    label_smoothing: float
    mixup_alpha: float  # 0 turns mixup off
    spec_time_masks: int
    spec_time_width: int  # frames
    spec_freq_masks: int
    spec_freq_width: int  # mel bins
    time_shift: float  # seconds, each way
    gain_db: float  # random gain in [-gain_db, +gain_db]
    pretrained: str  # timm weights: local path or URL; "" trains from scratch
    device: Literal["auto", "cpu", "cuda"]
    gpus: int  # processes (one per GPU; on CPU, gloo processes); >1 launches through torchrun
    num_workers: int  # DataLoader workers reading clips
    per_model: dict[str, dict[str, Any]]  # per-model differences from the knobs above, e.g. {resnet18: {lr: 0.001}}



@dataclass(frozen=True)
class AudioPredictConfig:
    tta_shifts: list[float]  # seconds; each clip is also scored shifted by these (0.0 = as is)
    tta_polarity: bool  # also score every view polarity-inverted
    batch_size: int
    device: Literal["auto", "cpu", "cuda"]
