"""K-fold training of one audio classifier on one fold, with the tricks competitors rely on.

AdamW/SGD; one-cycle, cosine or reduce-on-plateau LR; early stopping on validation accuracy with patience;
keep-best weights; label smoothing; mixup; SpecAugment; random time shift and gain; AMP (bf16) on CUDA;
seeded and deterministic on CPU. Multi-process data parallel (torch DDP) when launched by torchrun: gloo on
CPU, NCCL on CUDA. Validation always scores the fold's original clips only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DataLoader, DistributedSampler

from podium.audio import augment
from podium.audio.features import CHANNELS, create_features
from podium.audio.models import AudioClassifier, create_network
from podium.audio.predict import NO_TTA, ClipDataset, clip_loader, predict_proba
from podium.coverage import training_clones
from podium.errors import PredictionError
from podium.settings import AudioFeatureConfig, AudioTrainConfig


def build_model(
    features: AudioFeatureConfig,
    network: str,
    *,
    num_classes: int,
    sample_rate: int,
    pretrained: str,
    seed: int | None,
) -> AudioClassifier:
    """Features + network; `pretrained` ("" for none) loads the network's weights; with `seed`, the initial
    weights are reproducible."""
    if seed is not None:
        torch.manual_seed(seed)
    feats = create_features(**dataclasses.asdict(features), sample_rate=sample_rate)
    return AudioClassifier(feats, create_network(network, num_classes, CHANNELS[features.kind], pretrained))


# params' train_audio.optimizer -> the torch optimizer it names, built for a model's parameters
OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adamw": lambda params, cfg: torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
    "sgd": lambda params, cfg: torch.optim.SGD(
        params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay
    ),
}


def _onecycle(optimizer, cfg: AudioTrainConfig, steps_per_epoch: int):
    total = cfg.epochs * steps_per_epoch
    if total < 3:  # too short for a warm-up and an annealing phase: constant LR
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    # torch divides by the warm-up's length in steps, pct_start * total - 1: keep it >= 0.5 (5 steps at
    # pct_start 0.2 would make it 0: ZeroDivisionError)
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=cfg.lr, total_steps=total, pct_start=max(0.2, 1.5 / total)
    )


# params' train_audio.schedule -> (optimizer, cfg, steps per epoch) -> LR scheduler. onecycle and cosine step
# per batch, plateau per epoch on validation accuracy. The detectors' schedules of the same names differ
# (podium.detection.config.SCHEDULES: warm-up, per-epoch milestones); the README says how.
SCHEDULES: dict[str, Callable] = {
    "onecycle": _onecycle,
    "cosine": lambda optimizer, cfg, steps: torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=cfg.epochs * steps
    ),
    "plateau": lambda optimizer, cfg, steps: torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=0.5, patience=max(1, cfg.patience // 3)
    ),
}


@dataclass
class TrainResult:
    state_dict: dict[str, torch.Tensor]  # best weights
    val_proba: np.ndarray  # (N_val, classes) from the best weights
    best_epoch: int
    epochs_run: int
    history: list[dict[str, float]]


def _train_loader(train_set: ClipDataset, cfg: AudioTrainConfig, sampler, generator: torch.Generator) -> DataLoader:
    loader = DataLoader(
        train_set,
        cfg.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=True,
        num_workers=cfg.num_workers,
        generator=generator,
    )
    if len(loader) == 0:
        raise ValueError(
            f"the training fold has {len(train_set)} clips, fewer than one batch of "
            f"{cfg.batch_size}: lower train_audio.batch_size"
        )
    return loader


def training_loss(
    net: torch.nn.Module,
    wave: torch.Tensor,
    target: torch.Tensor,
    cfg: AudioTrainConfig,
    *,
    max_shift: int,
    generator: torch.Generator,
    device: torch.device,
) -> torch.Tensor:
    """One batch's training loss (`wave` (B, samples), `target` (B,) class indices, on the CPU): random time
    shift (up to `max_shift` samples) and gain, mixup, SpecAugment inside the network, label-smoothed cross
    entropy; every draw from `generator`. Training and the LR range test share it."""

    def spec_aug(spec: torch.Tensor) -> torch.Tensor:
        return augment.spec_augment(
            spec, cfg.spec_time_masks, cfg.spec_time_width, cfg.spec_freq_masks, cfg.spec_freq_width, generator
        )

    wave = augment.random_gain(augment.time_shift(wave, max_shift, generator), cfg.gain_db, generator)
    wave, target = wave.to(device), target.to(device)
    wave, partner, lam = augment.mixup(wave, cfg.mixup_alpha, generator)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        logits = net(wave, augment=spec_aug).float()
    return lam * F.cross_entropy(logits, target, label_smoothing=cfg.label_smoothing) + (1 - lam) * F.cross_entropy(
        logits, target[partner], label_smoothing=cfg.label_smoothing
    )


def lr_range_test(
    model: AudioClassifier,
    train_set: ClipDataset,
    cfg: AudioTrainConfig,
    lrs: list[float],
    record: Callable[[float, float], bool],
    *,
    sample_rate: int,
    seed: int,
    device: torch.device,
    progress: Callable[[int], Any] | None = None,
) -> None:
    """Train `model` for up to len(`lrs`) steps on `train_set` as `train_fold` does (its optimizer, loader,
    augmentation and loss), the LR of step i set to lrs[i]; `record(lr, loss)` gets each step's loss and says
    whether to go on (podium.lr_range.LrRange.record: False once the loss diverged). The batches cycle through
    the data when `lrs` is longer."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model.to(device).train()
    loader = _train_loader(train_set, cfg, None, torch.Generator().manual_seed(seed))
    optimizer = OPTIMIZERS[cfg.optimizer](model.parameters(), cfg)
    max_shift = int(cfg.time_shift * sample_rate)
    bar = progress(len(lrs)) if progress else None
    batches = iter(loader)
    for lr in lrs:
        try:
            wave, target = next(batches)
        except StopIteration:
            batches = iter(loader)
            wave, target = next(batches)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = training_loss(model, wave, target, cfg, max_shift=max_shift, generator=generator, device=device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if bar is not None:
            bar.update(1)
        if not record(lr, loss.item()):
            break
    if bar is not None:
        bar.close()


def train_fold(
    model: AudioClassifier,
    train_set: ClipDataset,
    val_set: ClipDataset,
    cfg: AudioTrainConfig,
    *,
    sample_rate: int,
    seed: int,
    device: torch.device,
    log_epoch: Callable[[dict[str, float]], None] | None = None,
    progress: Callable[[int], Any] | None = None,
) -> TrainResult:
    """Train `model` on `train_set`, keep the weights with the best accuracy on `val_set` (scored each epoch by
    the one inference path, `podium.audio.predict.predict_proba`, without TTA). Every random draw (shuffling,
    augmentation, mixup, dropout) follows `seed`. `progress(total steps)` returns a bar (update(n), close())."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    distributed = dist.is_initialized()
    model.to(device)
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    sampler = DistributedSampler(train_set, shuffle=True, seed=seed) if distributed else None
    loader_generator = torch.Generator().manual_seed(seed)
    train_loader = _train_loader(train_set, cfg, sampler, loader_generator)
    val_loader = clip_loader(val_set, batch_size=cfg.batch_size, num_workers=cfg.num_workers)
    optimizer = OPTIMIZERS[cfg.optimizer](net.parameters(), cfg)
    scheduler = SCHEDULES[cfg.schedule](optimizer, cfg, len(train_loader))
    max_shift = int(cfg.time_shift * sample_rate)
    targets = torch.tensor(val_set.targets)
    best_acc, best_epoch, best_state, best_proba, history = -1.0, -1, None, None, []
    bar = progress(cfg.epochs * len(train_loader)) if progress else None
    for epoch in range(cfg.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        total, seen = 0.0, 0
        for wave, target in train_loader:
            loss = training_loss(net, wave, target, cfg, max_shift=max_shift, generator=generator, device=device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if cfg.schedule != "plateau":
                scheduler.step()
            total += loss.item() * len(wave)
            seen += len(wave)
            if bar is not None:
                bar.update(1)
        proba = predict_proba(model, val_loader, device, NO_TTA)
        val_loss = float(F.nll_loss(torch.log(torch.from_numpy(proba).clamp_min(1e-8)), targets))
        acc = float((proba.argmax(1) == targets.numpy()).mean())
        if cfg.schedule == "plateau":
            scheduler.step(acc)
        row = {
            "epoch": epoch,
            "train_loss": total / seen,
            "val_loss": val_loss,
            "val_accuracy": acc,
            "lr": optimizer.param_groups[0]["lr"],
        }
        history.append(row)
        if log_epoch:
            log_epoch(row)
        if acc > best_acc:
            best_acc, best_epoch, best_proba = acc, epoch, proba
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= cfg.patience:
            break
    if bar is not None:
        bar.close()
    return TrainResult(best_state, best_proba, best_epoch, len(history), history)


def fold_datasets(
    table, fold: int, *, clips: Path, classes: list[str], sample_rate: int, length: int, clones, clone_clips: Path
) -> tuple[ClipDataset, ClipDataset]:
    """(train, validation) datasets for `fold` from a folds table (fname, label, fold): validation is the
    fold's clips, training every other clip, train-only ones (fold -1) included, plus the augment stage's
    `clones` (a table with the same columns and `parent`, files in `clone_clips`) whose parent trains here."""
    if fold not in set(table.fold):
        raise ValueError(f"fold {fold} is not in the folds table (folds: {sorted(set(table.fold) - {-1})})")
    index = {c: i for i, c in enumerate(classes)}
    train = table[table.fold != fold]
    paths = [clips / f for f in train.fname]
    labels = list(train.label)
    if len(clones):
        kept = training_clones(clones.to_dict("records"), fold)
        paths += [clone_clips / c["fname"] for c in kept]
        labels += [c["label"] for c in kept]
    if unknown := sorted(set(labels) - set(index)):
        raise ValueError(f"clone labels {unknown} are not in the class list {classes}; rerun the augment stage")
    val = table[table.fold == fold]
    return (
        ClipDataset(paths, [index[c] for c in labels], sample_rate, length),
        ClipDataset([clips / f for f in val.fname], [index[c] for c in val.label], sample_rate, length),
    )


def save_checkpoint(path: Path, model: AudioClassifier, meta: dict) -> None:
    """Weights plus everything needed to rebuild and use the model: classes, network name, features,
    sample rate, clip length, fold and the resolved params (`meta`)."""
    torch.save({"state_dict": model.state_dict(), **meta}, path)


def load_checkpoint(path: Path, device: torch.device, model: str, fold: int) -> tuple[AudioClassifier, dict]:
    """(model in eval mode, meta) from a checkpoint written by `save_checkpoint` for `model`'s fold `fold`
    (loaded weights-only: a checkpoint is data, never code)."""
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise PredictionError(f"{path}: checkpoint not found; run train_audio@{model}-{fold}") from None
    except Exception as e:
        raise PredictionError(f"{path}: not a podium audio checkpoint ({e}); rerun train_audio@{model}-{fold}") from e
    missing = {"state_dict", "classes", "network", "features", "sample_rate", "fold"} - set(checkpoint)
    if missing:
        raise PredictionError(
            f"{path}: not a podium audio checkpoint (missing {sorted(missing)}); rerun train_audio@{model}-{fold}"
        )
    if (checkpoint["network"], checkpoint["fold"]) != (model, fold):
        raise PredictionError(
            f"{path}: holds {checkpoint['network']} fold {checkpoint['fold']}, not {model} fold "
            f"{fold}; rerun train_audio@{model}-{fold}"
        )
    model = build_model(  # weights from the checkpoint: nothing pretrained, no seed
        AudioFeatureConfig(**checkpoint["features"]),
        checkpoint["network"],
        num_classes=len(checkpoint["classes"]),
        sample_rate=checkpoint["sample_rate"],
        pretrained="",
        seed=None,
    )
    model.load_state_dict(checkpoint.pop("state_dict"))
    return model.to(device).eval(), checkpoint
